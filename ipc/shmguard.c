/* SPDX-License-Identifier: MIT */
/*
 * shmguard.c - turn the SIGBUS of a truncated shared mapping into an
 * error return.
 *
 * A segment is a file of the target's owner, mapped MAP_SHARED by the
 * client because the command protocol needs atomic compare-and-swap and a
 * shared futex on its command word (segment.h).  The owner can ftruncate
 * the file at any time; the client's next access to the page then raises
 * SIGBUS, which would kill the responder and every request in it.  So
 * every access to a client's mapping runs inside shmguard_call: a
 * thread-local jump buffer is armed around it, and the process's SIGBUS
 * handler jumps back to it when the fault happened in an armed thread
 * (SIGBUS from a memory access is synchronous: it is delivered to the
 * thread that faulted).  A SIGBUS in an unarmed thread is passed on to the
 * previous handler, or the default action is restored and the faulting
 * access repeats, which ends the process as it would have without us.
 *
 * The futex system call on a vanished page fails with EFAULT rather than
 * raising a signal, so it needs nothing more.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "shmguard.h"

static __thread sigjmp_buf *armed;
static struct sigaction prev;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = armed;

	if (jb) {
		armed = NULL;
		siglongjmp(*jb, 1);
	}
	if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
		prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler != SIG_DFL &&
	    prev.sa_handler != SIG_IGN) {
		prev.sa_handler(sig);
		return;
	}
	/* not ours: back to the default, and the access faults again */
	signal(SIGBUS, SIG_DFL);
}

static void
install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &prev);
}

int
shmguard_call(int (*fn)(void *), void *arg)
{
	sigjmp_buf jb;
	int rc;

	pthread_once(&once, install);
	if (sigsetjmp(jb, 1))
		return -EFAULT;
	armed = &jb;
	rc = fn(arg);
	armed = NULL;
	return rc;
}
