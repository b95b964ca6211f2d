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
 * A change made behind our back (a raw syscall, which changes only the
 * calling thread) is caught by the agent at its tick (agent.c).
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
#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent.h"
#include "guard.h"

/* protects the retire/restart sequence below; lock order:
 * LOCK_RANK_CREDS, before core_ctl_lock (guard.h) */
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

/* 1 if the segment was retired and must be re-created after the call. */
static int
before(void)
{
	if (!agent_seg.h || agent_seg.pid != (int32_t)getpid())
		return 0;
	mutex_take(&creds_lock, LOCK_RANK_CREDS);
	if (!agent_seg.h) {
		mutex_give(&creds_lock, LOCK_RANK_CREDS);
		return 0;
	}
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
 * One interposed function: resolve the real one once, retire, call,
 * re-create, and give the caller the real call's errno.
 */
#define CREDS_WRAP(name, params, args)					\
	HAWK_EXPORT int							\
	name params							\
	{								\
		static int (*real) params;				\
		int rc, err, retired;					\
									\
		if (!real)						\
			real = (int (*) params)next_sym(#name);		\
		if (!real) {						\
			errno = ENOSYS;					\
			return -1;					\
		}							\
		retired = before();					\
		rc = real args;						\
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
