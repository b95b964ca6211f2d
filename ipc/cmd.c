/* SPDX-License-Identifier: MIT */
/*
 * cmd.c - the client side of the command protocol described at struct
 * seg_header's command block (segment.h); the agent side is in
 * seg_write.c.
 *
 * Invariants:
 *  - one client at a time per segment: the OFD write lock on byte
 *    SEG_LOCK_CMD, taken by polling F_OFD_SETLK so the caller's timeout
 *    covers the wait for other clients too (F_OFD_SETLKW cannot time out);
 *    OFD locks belong to the open file description, so two seg_clients in
 *    one process (threads of the responder) exclude each other as well;
 *  - cmd_state is only ever changed by CAS or by its owner of the moment:
 *    POSTED->IDLE (withdrawal) races with the agent's POSTED->TAKEN and
 *    exactly one of them wins, so a withdrawn command never runs;
 *  - the futex is a shared one (no FUTEX_PRIVATE_FLAG): the agent is
 *    another process mapping the same file;
 *  - never waits longer than the caller's timeout in total, whatever the
 *    target does (stopped with SIGSTOP, hung, dead);
 *  - never dies of what the target does to its file: every access to the
 *    shared mapping runs under shmguard_call, so a segment truncated by
 *    its owner mid-command is an error (-EPROTO), not a SIGBUS.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/random.h>
#include <linux/futex.h>   /* FUTEX_WAIT, FUTEX_WAKE */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>   /* SYS_futex */
#include <time.h>
#include <unistd.h>

#include "seg_read.h"
#include "seg_live.h"
#include "shmguard.h"

/* How often a waiting client re-checks that the target is still alive. */
#define CMD_LIVENESS_MS 100
/* Poll interval for the client lock. */
#define CMD_LOCK_POLL_US 1000

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
load_state(const struct seg_client *c)
{
	return __atomic_load_n(&c->h->cmd_state, __ATOMIC_ACQUIRE);
}

static void
futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Wait while *word == val, at most ms milliseconds (spurious wake-ups and
 * EINTR are fine: callers loop). */
static void
futex_wait(uint32_t *word, uint32_t val, int64_t ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000,
	};

	syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

/* Wait until cmd_state leaves the states in mask (bit per state) or the
 * deadline passes; returns the last state seen.  *dead is set when the
 * target is found dead meanwhile. */
static uint32_t
wait_state_change(struct seg_client *c, unsigned mask, int64_t deadline,
		  int *dead)
{
	uint32_t st = load_state(c);

	*dead = 0;
	while (mask & (1u << st)) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			break;
		if (left > CMD_LIVENESS_MS)
			left = CMD_LIVENESS_MS;
		futex_wait(&c->h->cmd_state, st, left);
		st = load_state(c);
		if ((mask & (1u << st)) &&
		    !seg_alive(c->fd, c->info.pid, c->info.start_time)) {
			*dead = 1;
			break;
		}
	}
	return st;
}

static int
lock_cmd(struct seg_client *c, short type, int64_t deadline)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = SEG_LOCK_CMD,
		.l_len = 1,
		.l_pid = 0,
	};

	for (;;) {
		if (fcntl(c->fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			return -errno;
		if (type == F_UNLCK || now_ms() >= deadline)
			return -EBUSY;
		usleep(CMD_LOCK_POLL_US);
	}
}

/*
 * A snapshot that a previous (dead or timed-out) client never collected:
 * its socket waits for that client (SNAP_ACCEPT_MS).  Connect with the
 * token that client posted (still in the command block) and hang up, so
 * that the agent gives up at once rather than at its deadline.
 */
static void
drop_snapshot(struct seg_client *c, uint32_t seq)
{
	struct snap_stream ss;
	char err[64];

	/* a cap of 1 byte: the header is refused before it is waited for */
	c->snap_token = __atomic_load_n(&c->h->cmd_token, __ATOMIC_RELAXED);
	if (snap_stream_open(&ss, c, seq, 1, err, sizeof(err)) == 0)
		snap_stream_close(&ss);
	c->snap_token = 0;
}

/* A token nobody else can guess (getrandom; never 0). */
static uint64_t
new_token(void)
{
	uint64_t t = 0;

	while (!t)
		if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t))
			t = (uint64_t)now_ms() * UINT64_C(0x9e3779b97f4a7c15) ^
			    (uint64_t)getpid();
	return t;
}

/* DONE -> IDLE, reading the result; removes an uncollected snapshot when
 * `collect` is 0. */
static int
finish(struct seg_client *c, int collect, uint32_t *snap_seq)
{
	uint32_t op = __atomic_load_n(&c->h->cmd_op, __ATOMIC_RELAXED);
	int32_t result = __atomic_load_n(&c->h->cmd_result, __ATOMIC_RELAXED);
	uint32_t seq = __atomic_load_n(&c->h->snap_seq, __ATOMIC_RELAXED);

	__atomic_store_n(&c->h->cmd_state, CMD_IDLE, __ATOMIC_RELEASE);
	if (op == CMD_SNAPSHOT && result == 0) {
		if (collect && snap_seq)
			*snap_seq = seq;
		else if (!collect)
			drop_snapshot(c, seq);
	}
	return result;
}

static const char *
op_name(enum seg_cmd_op op)
{
	switch (op) {
	case CMD_START: return "start";
	case CMD_STOP: return "stop";
	case CMD_SNAPSHOT: return "snapshot";
	case CMD_STATUS: return "status";
	default: return "command";
	}
}

struct run {
	struct seg_client *c;
	enum seg_cmd_op op;
	uint32_t frames, flags;
	int timeout_ms;
	uint32_t *snap_seq;
	char *err;
	size_t errlen;
	int64_t deadline;
};

/* Steps 1 to 4 of the protocol, holding the command lock; every access to
 * the mapping happens in here (under shmguard_call). */
static int
run_locked(void *arg)
{
	struct run *r = arg;
	struct seg_client *c = r->c;
	int32_t pid = c->info.pid;
	const char *name = op_name(r->op);
	char *err = r->err;
	size_t errlen = r->errlen;
	int timeout_ms = r->timeout_ms;
	int64_t deadline = r->deadline;
	uint32_t st, expect;
	int rc, dead;

	/* 1. Recover what a dead or timed-out client left behind. */
	st = load_state(c);
	if (st == CMD_POSTED) {
		expect = CMD_POSTED;
		if (__atomic_compare_exchange_n(&c->h->cmd_state, &expect,
						CMD_IDLE, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			st = CMD_IDLE;
		else
			st = expect;
	}
	if (st == CMD_TAKEN) {
		st = wait_state_change(c, 1u << CMD_TAKEN, deadline, &dead);
		if (dead)
			goto dead;
		if (st == CMD_TAKEN) {
			seg_seterr(err, errlen, "%s pid %" PRId32 ": the target "
			       "did not finish a previous command within %d "
			       "ms (nothing done)", name, pid, timeout_ms);
			return -ETIMEDOUT;
		}
	}
	if (st == CMD_DONE) {
		finish(c, 0, NULL);
		st = CMD_IDLE;
	}
	if (st != CMD_IDLE) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": bad command state %"
		       PRIu32, name, pid, st);
		return -EPROTO;
	}

	/* 2. Post. */
	__atomic_store_n(&c->h->cmd_op, (uint32_t)r->op, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->cmd_frames, r->frames, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->cmd_flags, r->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->cmd_lease_ns,
			 r->op == CMD_START ? c->lease_ns : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->cmd_sampling,
			 r->op == CMD_START ? c->sampling : 0,
			 __ATOMIC_RELAXED);
	c->snap_token = r->op == CMD_SNAPSHOT ? new_token() : 0;
	__atomic_store_n(&c->h->cmd_token, c->snap_token, __ATOMIC_RELAXED);
	__atomic_store_n(&c->h->cmd_state, CMD_POSTED, __ATOMIC_RELEASE);
	futex_wake(&c->h->cmd_state);

	/* 3. Wait for DONE. */
	st = wait_state_change(c, 1u << CMD_POSTED | 1u << CMD_TAKEN,
			       deadline, &dead);
	if (st == CMD_POSTED) {
		expect = CMD_POSTED;
		if (__atomic_compare_exchange_n(&c->h->cmd_state, &expect,
						CMD_IDLE, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			if (dead || !seg_alive(c->fd, pid,
					       c->info.start_time))
				goto dead;
			seg_seterr(err, errlen, "%s pid %" PRId32 ": the target "
			       "did not answer within %d ms (command "
			       "withdrawn, nothing changed)", name, pid,
			       timeout_ms);
			return -ETIMEDOUT;
		}
		st = expect;
	}
	if (st == CMD_TAKEN) {
		if (dead || !seg_alive(c->fd, pid, c->info.start_time))
			goto dead;
		seg_seterr(err, errlen, "%s pid %" PRId32 ": the target took the "
		       "command but did not finish within %d ms", name, pid,
		       timeout_ms);
		return -EINPROGRESS;
	}
	if (st != CMD_DONE) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": bad command state %"
		       PRIu32, name, pid, st);
		return -EPROTO;
	}

	/* 4. Collect. */
	rc = finish(c, 1, r->snap_seq);
	if (rc < 0) {
		switch (rc) {
		case -EALREADY:
			seg_seterr(err, errlen, "%s pid %" PRId32 ": already "
			       "started", name, pid);
			break;
		case -ENOTCONN:
			seg_seterr(err, errlen, "%s pid %" PRId32 ": not started",
			       name, pid);
			break;
		default:
			seg_seterr(err, errlen, "%s pid %" PRId32 ": %s", name,
			       pid, strerror(-rc));
			break;
		}
	}
	return rc;
dead:
	seg_seterr(err, errlen, "%s pid %" PRId32 ": target is not running",
	       name, pid);
	return -ESRCH;
}

int
cmd_run(struct seg_client *c, enum seg_cmd_op op, uint32_t frames,
	uint32_t flags, int timeout_ms, uint32_t *snap_seq,
	char *err, size_t errlen)
{
	int32_t pid = c->info.pid;
	const char *name = op_name(op);
	struct run r = {
		.c = c, .op = op, .frames = frames, .flags = flags,
		.timeout_ms = timeout_ms, .snap_seq = snap_seq, .err = err,
		.errlen = errlen,
	};
	int rc;

	if (!c->h || c->fd < 0 || timeout_ms < 0 ||
	    op < CMD_START || op > CMD_STATUS ||
	    c->sampling > SNAP_SAMPLING_MAX) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": invalid arguments",
		       name, pid);
		return -EINVAL;
	}
	r.deadline = now_ms() + timeout_ms;
	if (!seg_alive(c->fd, pid, c->info.start_time)) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": target is not running",
		       name, pid);
		return -ESRCH;
	}
	rc = lock_cmd(c, F_WRLCK, r.deadline);
	if (rc == -EBUSY) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": other clients held "
		       "the command lock for %d ms", name, pid, timeout_ms);
		return rc;
	} else if (rc < 0) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": command lock: %s",
		       name, pid, strerror(-rc));
		return rc;
	}
	rc = shmguard_call(run_locked, &r);
	if (rc == -EFAULT) {
		seg_seterr(err, errlen, "%s pid %" PRId32 ": segment truncated "
		       "under the command (by its owner)", name, pid);
		rc = -EPROTO;
	}
	lock_cmd(c, F_UNLCK, 0);
	return rc;
}

int
cmd_run_sampled(struct seg_client *c, enum seg_cmd_op op, uint32_t frames,
		uint32_t flags, uint64_t sampling, int timeout_ms,
		uint32_t *snap_seq, char *err, size_t errlen)
{
	c->sampling = sampling;
	return cmd_run(c, op, frames, flags, timeout_ms, snap_seq, err,
		       errlen);
}
