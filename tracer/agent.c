/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the command thread: waits on the segment's command word,
 * executes start/stop/snapshot/status, refreshes the status fields and
 * the heartbeat at least once a second.
 *
 * - created with every signal blocked, so the application's signals are
 *   never delivered to it;
 * - guard_active is set for its whole life: whatever it allocates (loader,
 *   stdio in gc hooks) is never traced;
 * - commands run under core_ctl_lock, shared with the public API and the
 *   fork handlers; an acknowledgement is immediate except for a snapshot,
 *   which takes time proportional to the live blocks;
 * - exit: agent_shutdown sets `quit`, wakes the futex and waits for the
 *   thread, so the segment is never unmapped under it.
 */
#include "config.h"

#include "agent.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "snapshot.h"

struct seg_writer agent_seg = { .fd = -1, .dirfd = -1 };
char agent_dir[4096];
char agent_name[SEG_NAME_MAX];
mode_t agent_mode = 0600;
gid_t agent_gid = (gid_t)-1;

static pthread_t thread;
static _Atomic int quit;
static _Atomic int running;
static uint32_t snap_seq;          /* last snapshot written */

void
agent_msg(const char *a, const char *b, const char *c)
{
	agent_msg2(a, b, c, NULL);
}

void
agent_msg2(const char *a, const char *b, const char *c, const char *d)
{
	char line[512];
	size_t len = 0;
	const char *parts[5] = { "hawk: ", a, b, c, d };
	int i;

	for (i = 0; i < 5; i++) {
		const char *s = parts[i] ? parts[i] : "";
		size_t k = strlen(s);

		if (k > sizeof(line) - 2 - len)
			k = sizeof(line) - 2 - len;
		memcpy(line + len, s, k);
		len += k;
	}
	line[len++] = '\n';
	if (write(2, line, len) < 0)
		return;
}

void
agent_publish_status(void)
{
	struct seg_header *h = agent_seg.h;
	struct core_status st;

	if (!h)
		return;
	core_get_status(&st);
	h->frames = st.frames;
	h->traced_current = st.current;
	h->traced_peak = st.peak;
	h->tracer_memory = st.memory;
	h->dropped = st.dropped;
	h->last_error = st.last_error;
	h->sampling = st.sampling;
	if (st.last_error)
		h->flags |= SEG_F_TRACER_ERROR;
	atomic_store_explicit((_Atomic uint32_t *)&h->tracing,
			      (uint32_t)st.tracing, memory_order_release);
}

static int
execute(uint32_t op, uint32_t frames, uint32_t flags, uint64_t sampling,
	uint32_t *seq)
{
	int rc;

	switch (op) {
	case CMD_START:
		rc = core_start_sampled(frames, flags, sampling);
		if (rc == 0)
			agent_seg.h->flags &= ~SEG_F_TRACER_ERROR;
		return rc;
	case CMD_STOP:
		return core_stop();
	case CMD_STATUS:
		return 0;
	case CMD_SNAPSHOT:
		if (!core_tracing())
			return -ENOTCONN;
		if (flags > SNAP_VIEW_MAX)
			return -EINVAL;
		/* the previous one, if its client never collected it */
		if (snap_seq)
			snap_writer_unlink(&agent_seg, snap_seq);
		*seq = ++snap_seq;
		if (*seq == 0)
			*seq = snap_seq = 1;
		rc = snapshot_write(&agent_seg, *seq, flags);
		if (rc < 0)
			*seq = 0;
		return rc;
	default:
		return -EINVAL;
	}
}

static void *
agent_main(void *arg)
{
	guard_active = 1;
	while (!atomic_load(&quit)) {
		int rc;

		core_ctl_take();
		core_reap_error();
		if (core_tracing())
			fu_refresh();      /* modules loaded since */
		agent_publish_status();
		core_ctl_give();

		rc = seg_agent_wait(&agent_seg, 1000);
		if (atomic_load(&quit))
			break;
		if (rc == 1) {
			struct seg_header *h = agent_seg.h;
			uint32_t seq = 0;

			core_ctl_take();
			core_reap_error();
			rc = execute(h->cmd_op, h->cmd_frames, h->cmd_flags,
				     h->cmd_sampling, &seq);
			agent_publish_status();
			core_ctl_give();
			seg_agent_done(&agent_seg, rc, seq);
		} else if (rc < 0) {
			/* the mapping is unusable: nothing more to serve */
			break;
		}
	}
	atomic_store(&running, 0);
	return NULL;
}

static int
spawn(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	atomic_store(&quit, 0);
	atomic_store(&running, 1);
	rc = pthread_create(&thread, &attr, agent_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		atomic_store(&running, 0);
		return -rc;
	}
	return 0;
}

int
agent_start(void)
{
	int rc;

	rc = seg_writer_create(&agent_seg, agent_dir, agent_name,
			       SEG_FRAMES_MAX, agent_mode, agent_gid);
	if (rc < 0) {
		/* strerrordesc_np: a constant string, no locale, no malloc */
		const char *why = rc == -ELOOP || rc == -ENOTDIR ?
				  "not a directory (a symlink?)" :
				  strerrordesc_np(-rc);

		agent_msg2("cannot create the segment in ", agent_dir, ": ",
			   why ? why : "unknown error");
		return rc;
	}
	agent_publish_status();
	rc = spawn();
	if (rc < 0) {
		agent_msg("cannot start the agent thread", "", "");
		seg_writer_remove(&agent_seg);
	}
	return rc;
}

void
agent_shutdown(void)
{
	struct timespec ts = { 0, 20000 };
	struct seg_writer copy;
	int i;

	if (!agent_seg.h)
		return;
	atomic_store(&quit, 1);
	syscall(SYS_futex, &agent_seg.h->cmd_state, FUTEX_WAKE, 1 << 30,
		NULL, NULL, 0);
	for (i = 0; i < 100 && atomic_load(&running); i++)
		nanosleep(&ts, NULL);
	/* an uncollected snapshot (its client died) goes with the segment */
	if (snap_seq)
		snap_writer_unlink(&agent_seg, snap_seq);
	if (!atomic_load(&running)) {
		seg_writer_remove(&agent_seg);
		return;
	}
	/*
	 * The agent is busy (a snapshot) or missed the wake-up: unlink the
	 * file and close the descriptors, but keep the mapping it may still
	 * use - the process is exiting anyway.
	 */
	copy = agent_seg;
	copy.h = NULL;
	seg_writer_remove(&copy);
}

void
agent_after_fork_child(void)
{
	seg_writer_forget(&agent_seg);
	snap_seq = 0;
	atomic_store(&running, 0);
	if (agent_start() < 0)
		return;
}
