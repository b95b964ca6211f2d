/* SPDX-License-Identifier: MIT */
/*
 * t-cmd.c - unit test of ipc/cmd.c, the client side of the command
 * protocol, against a fake agent written here from segment.h's protocol
 * description alone (not ipc/seg_write.c).
 *
 * The agent runs as a thread of this test (modes: normal, never answers,
 * takes without finishing) and, for the stopped/killed target cases, as a
 * real child process, so the shared futex is exercised across processes.
 * Clients racing each other are forked processes with their own open file
 * descriptions.  Segments live in a private mkdtemp directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>   /* FUTEX_WAIT, FUTEX_WAKE */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>   /* SYS_futex */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seg_read.h"
#include "proc-stat.h"
#include "snap-build.h"
#include "tap.h"

static char dir[PATH_MAX];
static char err[8192];

enum agent_mode { AGENT_NORMAL, AGENT_NEVER, AGENT_TAKE_ONLY, AGENT_QUIT };

struct agent {
	struct seg_header *h;
	int32_t pid;
	uint32_t seq;
	int mode;                  /* enum agent_mode, atomic */
	int executed;              /* commands executed, atomic */
	int lfd;                   /* snapshot socket to serve, or -1 */
	char snap_path[PATH_MAX + 64];
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Create "<pid>.seg" for process `pid` (the caller), hold its alive lock
 * and map it: what a target does.  Returns the lock descriptor.
 */
static int
make_target(int32_t pid, struct seg_header **hp)
{
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET,
		.l_start = SEG_LOCK_ALIVE, .l_len = 1,
	};
	char path[PATH_MAX + 64];
	struct seg_header *h;
	int fd;

	snprintf(path, sizeof(path), "%s/%" PRId32 ".seg", dir, pid);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, SEG_HEADER_SIZE) < 0) {
		perror(path);
		exit(99);
	}
	h = mmap(NULL, SEG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (h == MAP_FAILED) {
		perror("mmap");
		exit(99);
	}
	/* The mapping keeps its open file description (and any OFD lock on
	 * it) alive: lock through a description of its own, so that closing
	 * the lock descriptor is the target's death. */
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		perror(path);
		exit(99);
	}
	h->magic = SEG_MAGIC;
	h->version = SEG_VERSION;
	h->header_size = SEG_HEADER_SIZE;
	h->pid = pid;
	h->start_time = proc_start_time(pid);
	strcpy(h->name, "fake");
	h->max_frames = 256;
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	*hp = h;
	return fd;
}

/* A snapshot's socket (segment.h, SNAPSHOT STREAM), listening before
 * the agent answers; serve_snapshot then serves it. */
static int
listen_snapshot(struct agent *a, uint32_t seq)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(a->snap_path, sizeof(a->snap_path), "%s/%" PRId32
		 ".snap.%" PRIu32, dir, a->pid, seq);
	if (strlen(a->snap_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, a->snap_path);
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sa,
			       sizeof(sa)) < 0 || listen(a->lfd, 4) < 0) {
		if (a->lfd >= 0)
			close(a->lfd);
		a->lfd = -1;
		return -errno;
	}
	return 0;
}

/* A minimal valid stream: header and trailer, nothing live; the tracer
 * memory tells the snapshots apart.  To the first client that sends the
 * command's token (within 5 s), then the name goes. */
static void
serve_snapshot(struct agent *a, uint32_t seq)
{
	struct snap_header h;
	struct snap_bytes b;
	struct pollfd pf = { .fd = a->lfd, .events = POLLIN };
	uint64_t token = 0;
	int fd = -1;

	if (poll(&pf, 1, 5000) == 1)
		fd = accept(a->lfd, NULL, NULL);
	if (fd >= 0 && (recv(fd, &token, sizeof(token), MSG_WAITALL) !=
			(ssize_t)sizeof(token) || token != a->h->cmd_token)) {
		close(fd);
		fd = -1;
	}
	unlink(a->snap_path);
	close(a->lfd);
	a->lfd = -1;
	if (fd < 0)
		return;
	memset(&h, 0, sizeof(h));
	h.pid = a->pid;
	h.frames = a->h->frames;
	h.start_time = a->h->start_time;
	strcpy(h.name, "fake");
	h.tracer_memory = seq * 1000;
	snap_build(&b, &h, NULL, "", NULL, 0, NULL, NULL, 0);
	if (send(fd, b.buf, b.len, MSG_NOSIGNAL) < 0)
		diag("fake agent: send: %s", strerror(errno));
	free(b.buf);
	close(fd);
}

static int
execute(struct agent *a, uint32_t *seq)
{
	struct seg_header *h = a->h;

	switch (h->cmd_op) {
	case CMD_START:
		if (h->tracing)
			return -EALREADY;
		if (h->cmd_frames < 1 || h->cmd_frames > h->max_frames)
			return -EINVAL;
		h->frames = h->cmd_frames;
		__atomic_store_n(&h->tracing, 1, __ATOMIC_RELEASE);
		return 0;
	case CMD_STOP:
		if (!h->tracing)
			return -ENOTCONN;
		__atomic_store_n(&h->tracing, 0, __ATOMIC_RELEASE);
		h->frames = 0;
		return 0;
	case CMD_SNAPSHOT:
		if (!h->tracing)
			return -ENOTCONN;
		*seq = ++a->seq;
		return listen_snapshot(a, *seq);
	case CMD_STATUS:
		h->traced_current = 1234;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The agent side of the protocol, as segment.h describes it. */
static void
agent_loop(struct agent *a)
{
	struct seg_header *h = a->h;
	int mode;

	while ((mode = __atomic_load_n(&a->mode, __ATOMIC_ACQUIRE)) !=
	       AGENT_QUIT) {
		struct timespec ts = { 0, 20 * 1000000L };
		uint32_t st = __atomic_load_n(&h->cmd_state, __ATOMIC_ACQUIRE);
		uint32_t expect = CMD_POSTED, seq = 0;
		int rc;

		if (st != CMD_POSTED || mode == AGENT_NEVER) {
			syscall(SYS_futex, &h->cmd_state, FUTEX_WAIT, st, &ts,
				NULL, 0);
			continue;
		}
		if (!__atomic_compare_exchange_n(&h->cmd_state, &expect,
						 CMD_TAKEN, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			continue;
		while (__atomic_load_n(&a->mode, __ATOMIC_ACQUIRE) ==
		       AGENT_TAKE_ONLY)
			sleep_ms(5);
		rc = execute(a, &seq);
		h->cmd_result = rc;
		h->snap_seq = seq;
		h->cmd_count++;
		__atomic_add_fetch(&a->executed, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&h->cmd_state, CMD_DONE, __ATOMIC_RELEASE);
		syscall(SYS_futex, &h->cmd_state, FUTEX_WAKE, INT_MAX, NULL,
			NULL, 0);
		if (a->lfd >= 0)
			serve_snapshot(a, seq);
	}
}

static void *
agent_thread(void *arg)
{
	agent_loop(arg);
	return NULL;
}

static void
set_mode(struct agent *a, int mode)
{
	__atomic_store_n(&a->mode, mode, __ATOMIC_RELEASE);
}

/* A snapshot command, then its stream read whole into *s. */
static int
run_snap(int32_t pid, uint32_t *seq, struct snap *s)
{
	struct seg_client c;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = seg_client_open(&c, dir, pid, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = cmd_run(&c, CMD_SNAPSHOT, 0, 0, 5000, seq, err, sizeof(err));
	if (rc == 0)
		rc = snap_load(s, &c, *seq, 0, err, sizeof(err));
	seg_client_close(&c);
	return rc;
}

static int
run(int32_t pid, enum seg_cmd_op op, uint32_t frames, int timeout,
    uint32_t *seq)
{
	struct seg_client c;
	int rc;

	rc = seg_client_open(&c, dir, pid, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = cmd_run(&c, op, frames, 0, timeout, seq, err, sizeof(err));
	seg_client_close(&c);
	return rc;
}

/* Two processes race to start; returns how many won (exit 0) and how
 * many were told "already started" (exit 3). */
static void
race(int32_t pid, int *won, int *already)
{
	int gate[2], i, status;
	pid_t kids[2];
	char c;

	*won = *already = 0;
	if (pipe(gate) < 0)
		exit(99);
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct seg_client cl;
			int rc;

			close(gate[1]);
			/* each client its own open file description */
			if (seg_client_open(&cl, dir, pid, err, sizeof(err)))
				_exit(1);
			if (read(gate[0], &c, 1) < 0)
				_exit(1);
			rc = cmd_run(&cl, CMD_START, 10, 0, 5000, NULL, err,
				     sizeof(err));
			_exit(rc == 0 ? 0 : rc == -EALREADY ? 3 : 1);
		}
	}
	close(gate[0]);
	close(gate[1]);     /* both clients go */
	for (i = 0; i < 2; i++) {
		waitpid(kids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			(*won)++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			(*already)++;
	}
}

struct killer {
	struct agent *a;
	int lockfd;
};

/* The target "dies" (drops its alive lock) once a command is posted. */
static void *
die_when_posted(void *arg)
{
	struct killer *k = arg;

	while (__atomic_load_n(&k->a->h->cmd_state, __ATOMIC_ACQUIRE) !=
	       CMD_POSTED)
		sleep_ms(2);
	close(k->lockfd);
	return NULL;
}

static void
test_thread_agent(void)
{
	struct agent a = { .pid = (int32_t)getpid(), .lfd = -1 };
	int lockfd, rc, won, already, i, all = 1;
	char want[256];
	pthread_t th;
	uint32_t seq = 0;
	struct snap s;

	lockfd = make_target(a.pid, &a.h);
	pthread_create(&th, NULL, agent_thread, &a);

	rc = run(a.pid, CMD_START, 30, 5000, NULL);
	is_int(rc, 0, "start -> 0");
	is_int(a.h->tracing, 1, "tracing on");
	is_int(a.h->frames, 30, "frames 30");
	is_int(a.h->cmd_state, CMD_IDLE, "state back to IDLE");
	rc = run(a.pid, CMD_START, 30, 5000, NULL);
	is_int(rc, -EALREADY, "second start -> -EALREADY");
	snprintf(want, sizeof(want), "start pid %" PRId32
		 ": already started", a.pid);
	is_str(err, want, "already started: message");

	rc = run_snap(a.pid, &seq, &s);
	is_int(rc, 0, "snapshot -> 0, its stream read");
	is_int(seq, 1, "snapshot seq 1");
	if (rc == 0) {
		is_int(s.h->tracer_memory, 1000, "it is snapshot 1");
		snap_free(&s);
	}
	rc = run_snap(a.pid, &seq, &s);
	is_int(seq, 2, "next snapshot seq 2");
	is_int(rc, 0, "snapshot 2 read");
	if (rc == 0) {
		is_int(s.h->tracer_memory, 2000, "it is snapshot 2");
		snap_free(&s);
	}

	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, 0, "status -> 0");
	is_int(a.h->traced_current, 1234, "status refreshed by the agent");
	rc = run(a.pid, CMD_STOP, 0, 5000, NULL);
	is_int(rc, 0, "stop -> 0");
	rc = run(a.pid, CMD_STOP, 0, 5000, NULL);
	is_int(rc, -ENOTCONN, "second stop -> -ENOTCONN");
	rc = run(a.pid, CMD_SNAPSHOT, 0, 5000, &seq);
	is_int(rc, -ENOTCONN, "snapshot when stopped -> -ENOTCONN");
	rc = run(a.pid, CMD_START, 0, 5000, NULL);
	is_int(rc, -EINVAL, "start frames 0 -> -EINVAL");
	rc = run(a.pid, CMD_START, 257, 5000, NULL);
	is_int(rc, -EINVAL, "start frames 257 -> -EINVAL");

	/* racing clients in two processes: exactly one winner, 20 times */
	for (i = 0; i < 20; i++) {
		race(a.pid, &won, &already);
		if (won != 1 || already != 1) {
			all = 0;
			diag("race %d: %d won, %d already", i, won, already);
		}
		run(a.pid, CMD_STOP, 0, 5000, NULL);
	}
	ok(all, "20 races of two starting clients: one winner each");

	/* an agent that never answers: withdrawn, nothing changed */
	set_mode(&a, AGENT_NEVER);
	i = __atomic_load_n(&a.executed, __ATOMIC_RELAXED);
	rc = run(a.pid, CMD_START, 5, 300, NULL);
	is_int(rc, -ETIMEDOUT, "agent never answers -> -ETIMEDOUT");
	snprintf(want, sizeof(want), "start pid %" PRId32 ": the target did "
		 "not answer within 300 ms (command withdrawn, nothing "
		 "changed)", a.pid);
	is_str(err, want, "timeout: message");
	is_int(a.h->cmd_state, CMD_IDLE, "withdrawn: state IDLE");
	set_mode(&a, AGENT_NORMAL);
	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, 0, "agent back: status -> 0");
	is_int(a.h->tracing, 0, "the withdrawn start never ran");
	is_int(__atomic_load_n(&a.executed, __ATOMIC_RELAXED), i + 1,
	       "only the status ran");

	/* a dead client's POSTED leftover: killed while waiting */
	set_mode(&a, AGENT_NEVER);
	{
		pid_t kid = fork();

		if (kid == 0) {
			run(a.pid, CMD_START, 7, 60000, NULL);
			_exit(0);
		}
		while (__atomic_load_n(&a.h->cmd_state, __ATOMIC_ACQUIRE) !=
		       CMD_POSTED)
			sleep_ms(2);
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
	}
	is_int(a.h->cmd_state, CMD_POSTED, "dead client left POSTED");
	rc = run(a.pid, CMD_STATUS, 0, 300, NULL);
	is_int(rc, -ETIMEDOUT, "next client gets the lock, times out");
	is_int(a.h->cmd_state, CMD_IDLE, "leftover and own command withdrawn");
	is_int(a.h->cmd_op, CMD_STATUS, "the leftover was replaced");
	set_mode(&a, AGENT_NORMAL);
	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, 0, "status after recovery -> 0");
	is_int(a.h->tracing, 0, "the dead client's start never ran");

	/* taken but not finished: -EINPROGRESS, then recovered */
	set_mode(&a, AGENT_TAKE_ONLY);
	/* generous: the agent thread must get to take it (a loaded machine) */
	rc = run(a.pid, CMD_START, 8, 3000, NULL);
	is_int(rc, -EINPROGRESS, "taken, not finished -> -EINPROGRESS");
	is_int(a.h->cmd_state, CMD_TAKEN, "state left TAKEN");
	rc = run(a.pid, CMD_STATUS, 0, 200, NULL);
	is_int(rc, -ETIMEDOUT, "previous command still running -> -ETIMEDOUT");
	set_mode(&a, AGENT_NORMAL);
	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, 0, "once it finishes, the next command runs");
	is_int(a.h->tracing, 1, "the taken start did run");
	is_int(a.h->frames, 8, "with its frames");

	/* uncollected snapshot of a timed-out client is removed */
	set_mode(&a, AGENT_TAKE_ONLY);
	rc = run(a.pid, CMD_SNAPSHOT, 0, 3000, &seq);
	is_int(rc, -EINPROGRESS, "snapshot taken, not finished");
	set_mode(&a, AGENT_NORMAL);
	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, 0, "status after it");
	{
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%" PRId32 ".snap.%" PRIu32,
			 dir, a.pid, a.seq);
		ok(access(path, F_OK) != 0,
		   "uncollected snapshot %" PRIu32 " removed", a.seq);
	}

	/* other clients hold the lock for the whole timeout */
	{
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = SEG_LOCK_CMD, .l_len = 1,
		};
		char path[PATH_MAX + 64];
		int fd;

		snprintf(path, sizeof(path), "%s/%" PRId32 ".seg", dir, a.pid);
		fd = open(path, O_RDWR);
		fcntl(fd, F_OFD_SETLK, &fl);
		rc = run(a.pid, CMD_STATUS, 0, 200, NULL);
		is_int(rc, -EBUSY, "command lock held elsewhere -> -EBUSY");
		close(fd);
		rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
		is_int(rc, 0, "lock released -> 0");
	}

	/* the target dies while a client waits */
	{
		struct killer k = { &a, lockfd };
		pthread_t kt;

		set_mode(&a, AGENT_NEVER);
		pthread_create(&kt, NULL, die_when_posted, &k);
		rc = run(a.pid, CMD_STOP, 0, 60000, NULL);
		pthread_join(kt, NULL);
		is_int(rc, -ESRCH, "target dies while waiting -> -ESRCH");
		is_int(a.h->cmd_state, CMD_IDLE, "and the command is withdrawn");
	}
	/* dead from the start */
	rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, -ESRCH, "no alive lock -> -ESRCH");
	snprintf(want, sizeof(want), "status pid %" PRId32
		 ": target is not running", a.pid);
	is_str(err, want, "dead: message");
	/* alive lock held, but by a process with another start time */
	lockfd = -1;
	{
		struct flock fl = {
			.l_type = F_RDLCK, .l_whence = SEEK_SET,
			.l_start = SEG_LOCK_ALIVE, .l_len = 1,
		};
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%" PRId32 ".seg", dir, a.pid);
		lockfd = open(path, O_RDONLY);
		fcntl(lockfd, F_OFD_SETLK, &fl);
		a.h->start_time += 1;
		set_mode(&a, AGENT_NORMAL);
		rc = run(a.pid, CMD_STATUS, 0, 5000, NULL);
		is_int(rc, -ESRCH, "start time mismatch (pid reuse) -> -ESRCH");
		close(lockfd);
		unlink(path);
	}

	set_mode(&a, AGENT_QUIT);
	pthread_join(th, NULL);
	munmap(a.h, SEG_HEADER_SIZE);
}

/* A target in another process: stopped with SIGSTOP, then killed. */
static void
test_process_agent(void)
{
	int ready[2], rc;
	pid_t kid;
	char c;

	if (pipe(ready) < 0)
		exit(99);
	kid = fork();
	if (kid == 0) {
		struct agent a = { .pid = (int32_t)getpid(), .lfd = -1 };

		close(ready[0]);
		make_target(a.pid, &a.h);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		agent_loop(&a);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		ok(0, "child target ready");
		return;
	}
	close(ready[0]);

	rc = run(kid, CMD_START, 12, 5000, NULL);
	is_int(rc, 0, "process target: start -> 0 (shared futex)");
	kill(kid, SIGSTOP);
	waitpid(kid, NULL, WUNTRACED);   /* stopped for sure, not just signalled */
	rc = run(kid, CMD_STATUS, 0, 300, NULL);
	is_int(rc, -ETIMEDOUT, "stopped target -> -ETIMEDOUT");
	kill(kid, SIGCONT);
	rc = run(kid, CMD_START, 12, 5000, NULL);
	is_int(rc, -EALREADY, "continued target answers again");
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	rc = run(kid, CMD_STATUS, 0, 5000, NULL);
	is_int(rc, -ESRCH, "killed target -> -ESRCH");
	rc = seg_remove_dead(dir, kid, err, sizeof(err));
	is_int(rc, 0, "its segment removed");
}

/*
 * A hostile target truncates its segment while a command is in flight
 * (and another between open and command): the client gets an error, it
 * is not killed by SIGBUS.
 */
static void
test_truncating_target(void)
{
	int ready[2], go[2], rc, when;
	pid_t kid;
	char c;

	for (when = 0; when < 2; when++) {
		if (pipe(ready) < 0 || pipe(go) < 0)
			exit(99);
		kid = fork();
		if (kid == 0) {
			struct agent a = { .pid = (int32_t)getpid(), .lfd = -1 };
			char path[PATH_MAX + 64];
			int fd;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ready[0]);
			close(go[1]);
			make_target(a.pid, &a.h);
			snprintf(path, sizeof(path), "%s/%" PRId32 ".seg",
				 dir, a.pid);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0 || write(ready[1], "x", 1) != 1)
				_exit(1);
			if (when == 0 && read(go[0], &c, 1) != 1)
				_exit(1);
			while (when == 1 &&
			       __atomic_load_n(&a.h->cmd_state,
					       __ATOMIC_ACQUIRE) != CMD_POSTED)
				sleep_ms(1);
			if (ftruncate(fd, 0) < 0)
				_exit(1);
			if (write(ready[1], "t", 1) != 1)
				_exit(1);
			/* never touch the mapping again: hold the alive
			 * lock until killed */
			for (;;)
				pause();
		}
		close(ready[1]);
		close(go[0]);
		if (read(ready[0], &c, 1) != 1) {
			ok(0, "truncating target ready");
			return;
		}
		if (when == 0) {
			struct seg_client cl;

			rc = seg_client_open(&cl, dir, kid, err, sizeof(err));
			is_int(rc, 0, "open before the truncation");
			if (write(go[1], "g", 1) != 1 ||
			    read(ready[0], &c, 1) != 1)
				exit(99);
			rc = cmd_run(&cl, CMD_STATUS, 0, 0, 2000, NULL, err,
				     sizeof(err));
			is_int(rc, -EPROTO, "segment truncated after open: "
			       "-EPROTO, no SIGBUS");
			seg_client_close(&cl);
		} else {
			rc = run(kid, CMD_START, 12, 2000, NULL);
			is_int(rc, -EPROTO, "segment truncated while the "
			       "command is in flight: -EPROTO, no SIGBUS");
		}
		ok(strstr(err, "truncated") != NULL, "the error says so: %s",
		   err);
		close(ready[0]);
		close(go[1]);
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		rc = seg_remove_dead(dir, kid, err, sizeof(err));
		is_int(rc, 0, "its segment removed");
	}
}

int
main(void)
{
	char tmpl[] = "/tmp/hawk-t-cmd.XXXXXX";
	char *real;

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 99;
	}
	real = realpath(tmpl, NULL);
	snprintf(dir, sizeof(dir), "%s", real);
	free(real);

	test_thread_agent();
	test_process_agent();
	test_truncating_target();

	rmdir(dir);
	ok(access(dir, F_OK) != 0, "temp dir empty and removed");
	return done_testing();
}
