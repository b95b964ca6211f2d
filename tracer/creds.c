/* SPDX-License-Identifier: MIT */
/*
 * creds.c - the credential-changing calls, interposed, so that a process
 * that drops (or regains) privileges stays traceable as whoever it is now.
 *
 * A server started as root that becomes www-data (in-process like
 * lighttpd's server.username and memcached -u, or in a fork child like
 * Apache prefork, nginx and php-fpm workers) calls one of setuid,
 * seteuid, setreuid, setresuid, the gid family, setgroups, initgroups or
 * capset.  Around each of them:
 *
 *   before  (still privileged): agent_retire - the agent thread is
 *           stopped and joined, the segment and any uncollected snapshot
 *           are unlinked (the old owner may unlink them; the new one might
 *           not be able to);
 *   call    the real glibc function, whatever its result;
 *   after   agent_start - a new segment owned by the current filesystem
 *           uid/gid, and a new agent thread created by the caller, so it
 *           inherits exactly the caller's credentials and capabilities.
 *
 * Why the thread is stopped rather than left running: glibc applies a
 * set*id call to every thread of the process (SIGSETXID) and aborts the
 * process if any thread fails.  A thread that did not keep its
 * capabilities (PR_SET_KEEPCAPS and capset are per thread) fails the
 * second call of a keepcaps daemon, so during the call the agent must not
 * exist.  Tracing itself (the tables) is untouched: the process keeps its
 * profile across the change, only its segment is new.
 *
 * If the new identity cannot create a segment (a HAWK_DIR it cannot
 * write), agent_start says so once, naming the directory and the uid, and
 * the process runs on untraced.
 *
 * A change made behind our back (a raw system call, which changes only
 * the calling thread) is caught by the agent at its tick: it compares the
 * main thread's credentials (/proc/self/status) with its own, and when
 * they differ it removes the segment, takes the main thread's uids, gids
 * and groups for itself (raw calls: this thread only) and makes a new
 * segment (creds_check_*).  A change made by another thread than the
 * main one that way is not seen.
 *
 * Nothing here runs in a vfork child (it shares the parent's memory: the
 * pid differs from the segment's) or before the tracer is initialised:
 * then the real function is called and nothing else.  Calls are
 * serialised by creds_lock (glibc serialises set*id calls the same way).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent.h"
#include "guard.h"

/* protects the retire/restart sequence below; lock order:
 * LOCK_RANK_CREDS, before control_lock (guard.h) */
static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;

/* The next definition of `name` (glibc's); NULL if there is none. */
static void *
next_sym(const char *name)
{
	int saved = guard_active;
	void *p;

	guard_active = 1;          /* dlsym may allocate: not traced */
	p = dlsym(RTLD_NEXT, name);
	guard_active = saved;
	return p;
}

/*
 * 1 if the segment was retired (or there was none: a directory the
 * previous identity could not write) and one must be made after the
 * call.  0 before the tracer is initialised and in a vfork child.
 */
static int
before(void)
{
	if (!agent_tried || agent_seg.pid != (int32_t)getpid())
		return 0;
	mutex_take(&creds_lock, LOCK_RANK_CREDS);
	guard_active++;
	agent_retire();
	guard_active--;
	return 1;
}

static void
after(int retired)
{
	if (!retired)
		return;
	guard_active++;
	agent_start();
	guard_active--;
	mutex_give(&creds_lock, LOCK_RANK_CREDS);
}

/*
 * One interposed function: the real one (resolved at load by creds_init,
 * else on first use), retire, call, re-create, and the caller gets the
 * real call's errno.
 */
#define CREDS_WRAP(name, params, args)					\
	static int (*real_##name) params;				\
	static void							\
	resolve_##name(void)						\
	{								\
		if (!real_##name)					\
			real_##name = (int (*) params)next_sym(#name);	\
	}								\
	HAWK_EXPORT int							\
	name params							\
	{								\
		int rc, err, retired;					\
									\
		resolve_##name();					\
		if (!real_##name) {					\
			errno = ENOSYS;					\
			return -1;					\
		}							\
		retired = before();					\
		rc = real_##name args;					\
		err = errno;						\
		after(retired);						\
		errno = err;						\
		return rc;						\
	}

CREDS_WRAP(setuid, (uid_t u), (u))
CREDS_WRAP(seteuid, (uid_t u), (u))
CREDS_WRAP(setreuid, (uid_t r, uid_t e), (r, e))
CREDS_WRAP(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CREDS_WRAP(setgid, (gid_t g), (g))
CREDS_WRAP(setegid, (gid_t g), (g))
CREDS_WRAP(setregid, (gid_t r, gid_t e), (r, e))
CREDS_WRAP(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
CREDS_WRAP(setgroups, (size_t n, const gid_t *list), (n, list))
CREDS_WRAP(initgroups, (const char *user, gid_t g), (user, g))
/* capset changes only the calling thread: the agent is re-created by it
 * so that it holds the same capabilities for the next set*id broadcast */
CREDS_WRAP(capset, (void *hdr, const void *data), (hdr, data))

void
creds_init(void)
{
	resolve_setuid();
	resolve_seteuid();
	resolve_setreuid();
	resolve_setresuid();
	resolve_setgid();
	resolve_setegid();
	resolve_setregid();
	resolve_setresgid();
	resolve_setgroups();
	resolve_initgroups();
	resolve_capset();
}

/* ----------------------------------------------------------------------- */
/* The agent's check for changes made behind glibc's back. */

#define CREDS_GROUPS_MAX 256

struct ids {
	uint32_t uid[3], gid[3];   /* real, effective, saved */
	int ngroups;
	gid_t groups[CREDS_GROUPS_MAX];
};

static struct ids wanted;          /* agent thread only */

/* Parse up to n decimal numbers after "Key:" in buf; count parsed. */
static int
status_nums(const char *buf, const char *key, uint32_t *out, int n)
{
	const char *p = strstr(buf, key);
	int k = 0;

	if (!p)
		return -1;
	p += strlen(key);
	while (k < n) {
		uint32_t v = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		for (; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint32_t)(*p - '0');
		out[k++] = v;
	}
	return k;
}

/* The main thread's credentials, from /proc/self/status. */
static int
read_process_ids(struct ids *id)
{
	char buf[4096];
	uint32_t g[CREDS_GROUPS_MAX];
	ssize_t n;
	int fd, i;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (status_nums(buf, "\nUid:", id->uid, 3) != 3 ||
	    status_nums(buf, "\nGid:", id->gid, 3) != 3)
		return -1;
	id->ngroups = status_nums(buf, "\nGroups:", g, CREDS_GROUPS_MAX);
	if (id->ngroups < 0)
		return -1;
	for (i = 0; i < id->ngroups; i++)
		id->groups[i] = g[i];
	return 0;
}

/* The calling thread's own (raw system calls: glibc's would be the same
 * here, but say what is meant). */
static int
read_thread_ids(struct ids *id)
{
	uid_t u[3];
	gid_t g[3];
	long n;
	int i;

	if (syscall(SYS_getresuid, &u[0], &u[1], &u[2]) < 0 ||
	    syscall(SYS_getresgid, &g[0], &g[1], &g[2]) < 0)
		return -1;
	n = syscall(SYS_getgroups, CREDS_GROUPS_MAX, id->groups);
	if (n < 0)
		return -1;
	id->ngroups = (int)n;
	for (i = 0; i < 3; i++) {
		id->uid[i] = u[i];
		id->gid[i] = g[i];
	}
	return 0;
}

int
creds_check_prepare(void)
{
	struct ids mine;
	int i;

	if (read_process_ids(&wanted) < 0 || read_thread_ids(&mine) < 0)
		return 0;
	if (memcmp(wanted.uid, mine.uid, sizeof(mine.uid)) ||
	    memcmp(wanted.gid, mine.gid, sizeof(mine.gid)) ||
	    wanted.ngroups != mine.ngroups)
		return 1;
	for (i = 0; i < mine.ngroups; i++)
		if (wanted.groups[i] != mine.groups[i])
			return 1;
	return 0;
}

void
creds_check_apply(void)
{
	/* groups and gids first: once the uid is dropped they cannot be */
	syscall(SYS_setgroups, wanted.ngroups, wanted.groups);
	syscall(SYS_setresgid, wanted.gid[0], wanted.gid[1], wanted.gid[2]);
	syscall(SYS_setresuid, wanted.uid[0], wanted.uid[1], wanted.uid[2]);
}
