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
 * - commands run under control_lock, shared with the public API and the
 *   fork handlers; a snapshot is answered at once with the name of the
 *   socket it is then served on (snapshot.c): the agent waits for its
 *   client without the lock, and streams it under the lock (the tables
 *   stay as they are) but for the waits for the client to read, ending
 *   early on exit, when the client goes or when tracing is started or
 *   stopped meanwhile;
 * - exit: agent_shutdown sets `quit`, wakes the futex and waits for the
 *   thread, so the segment is never unmapped under it.
 */
#include "config.h"

#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "snapshot.h"

struct seg_writer agent_seg = { .fd = -1, .dirfd = -1 };
int agent_tried;
char agent_dir[4096];
char agent_name[SEG_NAME_MAX];
uint32_t agent_alloc_mode;
char agent_alloc_path[SEG_ALLOC_PATH_MAX];
mode_t agent_mode = 0600;
gid_t agent_gid = (gid_t)-1;

static pthread_t thread;
static int thread_joinable;        /* `thread` was created, not yet joined */
static _Atomic int quit;
static _Atomic int running;
static int said_untraced;          /* the "runs untraced" message was given
				      (inherited by fork children: one per
				      process tree) */

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

/* The process's resident and anonymous memory from /proc/self/statm
 * (raw read: no stdio, no allocation); left as they were if unreadable. */
static void
read_statm(struct seg_status *h)
{
	char buf[256];
	uint64_t v[3] = { 0, 0, 0 };
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	ssize_t n;
	int fd, i = 0, k;

	fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	for (k = 0; k < n && i < 3; k++) {
		if (buf[k] >= '0' && buf[k] <= '9')
			v[i] = v[i] * 10 + (uint64_t)(buf[k] - '0');
		else
			i++;
	}
	if (i < 2)
		return;
	/* size resident shared: shared = RssFile + RssShmem */
	h->rss_bytes = v[1] * page;
	h->anon_bytes = (v[1] > v[2] ? v[1] - v[2] : 0) * page;
}

void
agent_cat(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

/* Decimal form of v in buf (at least 12 bytes). */
static const char *
fmt_u32(char *buf, uint32_t v)
{
	char tmp[12];
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

/* No segment: nobody can ever see or stop this process's tracing, so it
 * does not pay for it (the program itself is not affected). */
static void
untraced(int locked)
{
	if (!locked)
		control_take();
	control_stop();
	if (!locked)
		control_give();
}

/* The lease of the current tracing session (cmd_lease_ns of its start),
 * CLOCK_MONOTONIC ns, 0 = none.  Agent thread only. */
static uint64_t lease;

void
agent_publish_status(void)
{
	struct seg_status ss;
	struct control_status st;

	if (!agent_seg.h)
		return;
	control_get_status(&st);
	ss.flags = agent_seg.flags;
	ss.rss_bytes = ss.anon_bytes = 0;
	read_statm(&ss);
	ss.alloc_mode = agent_alloc_mode;
	ss.alloc_path = agent_alloc_path;
	ss.sampling = st.sampling;
	if (st.last_error)
		ss.flags |= SEG_F_TRACER_ERROR;
	ss.tracing = (uint32_t)st.tracing;
	ss.frames = st.frames;
	ss.traced_current = st.current;
	ss.traced_peak = st.peak;
	ss.tracer_memory = st.memory;
	ss.dropped = st.dropped;
	ss.last_error = st.last_error;
	ss.lease_ns = lease;
	seg_writer_publish(&agent_seg, &ss);
}

/* A fixed-duration profile whose client never stopped it (the responder
 * died, or could not reach us in time): stop tracing ourselves once the
 * lease plus its grace has passed.  Caller holds the control lock. */
static void
check_lease(void)
{
	struct timespec ts;
	uint64_t now;

	if (!lease)
		return;
	if (!core_tracing()) {
		lease = 0;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now < lease || now - lease < SEG_LEASE_GRACE_NS)
		return;
	control_stop();
	lease = 0;
	agent_seg.flags |= SEG_F_LEASE_EXPIRED;   /* published next */
}

static int
execute(uint32_t op, uint32_t frames, uint32_t flags, uint64_t sampling)
{
	int rc;

	switch (op) {
	case CMD_START:
		rc = control_start_sampled(frames, flags, sampling);
		if (rc == 0) {
			agent_seg.flags &= ~(SEG_F_TRACER_ERROR |
					     SEG_F_LEASE_EXPIRED);
			lease = agent_seg.cmd_lease_ns;
		}
		return rc;
	case CMD_STOP:
		rc = control_stop();
		lease = 0;
		return rc;
	case CMD_STATUS:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Create the segment, with the message and consequences of a failure
 * (agent_start's contract).  `locked`: the caller holds control_lock. */
static int
create_segment(int locked)
{
	int rc;

	rc = seg_writer_create(&agent_seg, agent_dir, agent_name,
			       SEG_FRAMES_MAX, agent_mode, agent_gid);
	if (rc < 0) {
		/* strerrordesc_np: a constant string, no locale, no malloc */
		const char *why = agent_seg.why[0] ? agent_seg.why :
				  rc == -ELOOP || rc == -ENOTDIR ?
				  "not a directory (a symlink?)" :
				  strerrordesc_np(-rc);
		char in[4400], uid[12];
		size_t len = 0;

		/* "<dir> as uid N": who failed where, for a process that may
		 * have changed its credentials since it was started */
		agent_cat(in, sizeof(in), &len, agent_dir);
		agent_cat(in, sizeof(in), &len, " as uid ");
		agent_cat(in, sizeof(in), &len, fmt_u32(uid, geteuid()));
		agent_cat(in, sizeof(in), &len, ": ");
		agent_cat(in, sizeof(in), &len, why ? why : "unknown error");
		if (!said_untraced)
			agent_msg2(agent_seg.why[0] ?
				   "refusing the segment directory " :
				   "cannot create the segment in ", in,
				   "; this process runs untraced", "");
		said_untraced = 1;
		untraced(locked);
	}
	return rc;
}

/*
 * At the agent's tick: make a new segment when ours was truncated,
 * removed or overwritten (by a group member, an operator's clean-up, a
 * race with another process's clean-up), or when the process's
 * credentials were changed behind glibc's back (creds_check).  Caller
 * holds control_lock.  Returns 0, or -errno when the process has no
 * segment any more (the agent then ends).
 */
static int
renew_if_needed(void)
{
	int changed = creds_check_prepare();

	if (!changed && seg_writer_check(&agent_seg) == 0)
		return 0;
	seg_writer_remove(&agent_seg);
	if (changed)
		creds_check_apply();
	return create_segment(1);
}

static void *
agent_main(void *arg)
{
	guard_active = 1;
	while (!atomic_load(&quit)) {
		int rc;

		control_take();
		rc = renew_if_needed();
		control_reap_error();
		check_lease();
		if (core_tracing())
			fu_refresh();      /* modules loaded since */
		agent_publish_status();
		control_give();
		if (rc < 0)
			break;

		rc = seg_agent_wait(&agent_seg, 1000);
		if (atomic_load(&quit))
			break;
		if (rc == 1 && agent_seg.cmd_op == CMD_SNAPSHOT) {
			/* answers the command itself, then serves the
			 * stream; ends early when we must quit */
			snapshot_serve(&agent_seg, agent_seg.cmd_flags,
				       agent_seg.cmd_token, &quit);
		} else if (rc == 1) {
			control_take();
			control_reap_error();
			rc = execute(agent_seg.cmd_op, agent_seg.cmd_frames,
				     agent_seg.cmd_flags, agent_seg.cmd_sampling);
			agent_publish_status();
			control_give();
			seg_agent_done(&agent_seg, rc, 0);
		}
		/* rc < 0: the file is not what it was; the next turn's
		 * check makes a new one */
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
	thread_joinable = 1;
	return 0;
}


int
agent_start(void)
{
	int rc;

	agent_tried = 1;
	rc = create_segment(0);
	if (rc < 0)
		return rc;
	agent_publish_status();
	rc = spawn();
	if (rc < 0) {
		agent_msg("cannot start the agent thread", "", "");
		seg_writer_remove(&agent_seg);
	}
	return rc;
}

/*
 * Stop the thread and wait for it, however long its command takes (a
 * snapshot).  Not from the agent itself (a gc hook changing credentials).
 */
static void
stop_thread(void)
{
	struct timespec ts = { 0, 20000 };

	if (!thread_joinable || pthread_equal(pthread_self(), thread))
		return;
	atomic_store(&quit, 1);
	/* kicked until it leaves: a wake-up sent before the thread was in
	 * its futex wait would be lost, and the wait lasts a second */
	while (atomic_load(&running)) {
		if (agent_seg.h)
			seg_agent_kick(&agent_seg);
		nanosleep(&ts, NULL);
	}
	pthread_join(thread, NULL);
	thread_joinable = 0;
	atomic_store(&running, 0);
}

void
agent_retire(void)
{
	stop_thread();
	snapshot_unlink(&agent_seg);
	seg_writer_remove(&agent_seg);
}

void
agent_shutdown(void)
{
	struct timespec ts = { 0, 20000 };
	int i;

	if (!agent_seg.h)
		return;
	atomic_store(&quit, 1);
	/* kicked at each turn: a wake-up sent before the thread was in its
	 * futex wait would be lost (stop_thread) */
	for (i = 0; i < 100 && atomic_load(&running); i++) {
		seg_agent_kick(&agent_seg);
		nanosleep(&ts, NULL);
	}
	/* a snapshot's socket still waiting for its client goes with the
	 * segment */
	snapshot_unlink(&agent_seg);
	if (!atomic_load(&running)) {
		/* not joined: the process is exiting, and waiting until a
		 * busy machine schedules the thread once more costs every
		 * short-lived program milliseconds */
		if (thread_joinable)
			pthread_detach(thread);
		thread_joinable = 0;
		/* a master outliving its killed workers removes their files */
		seg_writer_clean(&agent_seg);
		seg_writer_remove(&agent_seg);
		return;
	}
	/*
	 * The agent is busy (a snapshot) or missed the wake-up: unlink the
	 * file's name, but keep the descriptors and the mapping it may still
	 * use (a closed descriptor's number could be reused by a file opened
	 * later in the exit, which the agent would then write into) - the
	 * process is exiting anyway.
	 */
	seg_writer_unlink(&agent_seg);
}

void
agent_exit_now(void)
{
	if (!agent_seg.h || agent_seg.pid != (int32_t)getpid())
		return;
	/* the agent may be using them: names only, no munmap, no join */
	snapshot_unlink(&agent_seg);
	seg_writer_unlink(&agent_seg);
}

void
agent_after_fork_child(void)
{
	seg_writer_forget(&agent_seg);
	snapshot_forget();
	thread_joinable = 0;       /* the parent's thread is not ours */
	atomic_store(&running, 0);
	if (agent_start() < 0)
		return;
}
