/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the tracer's per-thread reentrancy flag and its spinlock.
 *
 * guard_active is set for as long as a thread is inside the tracer,
 * including its call into the real allocator, into libunwind and into the
 * tables: any allocation made meanwhile (by libunwind, pthread_setspecific,
 * dl_iterate_phdr, stdio in the agent) goes straight to the real allocator
 * and is not traced.  It lives in initial-exec TLS so that touching it
 * never allocates (a global-dynamic access may call __tls_get_addr, which
 * can malloc).  The agent thread keeps it set for its whole life.
 *
 * struct lock is a test-and-test-and-set spinlock that yields after a few
 * spins.  It is used instead of pthread_mutex_t because it is a plain word:
 * the fork child handler re-initialises it with a store, and nothing ever
 * sleeps while holding one (tables only, no system call except mmap when
 * a table grows).
 */
#ifndef HAWK_TRACER_GUARD_H
#define HAWK_TRACER_GUARD_H

#include <sched.h>
#include <stdatomic.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define HAWK_EXPORT __attribute__((visibility("default")))

extern __thread int guard_active __attribute__((tls_model("initial-exec")));

struct lock {
	atomic_int held;
};

#define LOCK_INIT { 0 }

static inline void
lock_take(struct lock *l)
{
	int spins = 0;

	for (;;) {
		if (!atomic_exchange_explicit(&l->held, 1,
					      memory_order_acquire))
			return;
		while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
			if (++spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

static inline void
lock_give(struct lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* Fork child: the threads that held locks are gone. */
static inline void
lock_reset(struct lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_relaxed);
}

#endif /* HAWK_TRACER_GUARD_H */
