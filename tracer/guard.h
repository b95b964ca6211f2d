/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the tracer's per-thread reentrancy flag, its spinlock and the
 * lock order (guard.c defines the flag and, in a debug build, checks the
 * order).  The leaf of tracer/: every other file may include it, it
 * includes nothing of ours.
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

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define HAWK_EXPORT __attribute__((visibility("default")))

extern __thread int guard_active __attribute__((tls_model("initial-exec")));

/*
 * The lock order, one rank per lock, lowest taken first.  A thread may
 * take a lock only if it holds none of a higher rank, and, among the
 * shards of one rank, none of a higher index (lock_all takes 0..63).
 * Each lock's declaration names its rank.
 *
 *   LOCK_RANK_CREDS   creds_lock (creds.c): held across a change of
 *                     identity, while the agent is retired and restarted
 *   LOCK_RANK_CTL     control_lock (control.h): start, stop, snapshot,
 *                     status and fork
 *   LOCK_RANK_DEFER   the registry of deferred-free queues (defer.c)
 *   LOCK_RANK_INTERN  intern shards 0..63 (intern.c)
 *   LOCK_RANK_BLOCKS  blocks shards 0..63 (blocks.c)
 *   LOCK_RANK_SAMPLE  the sampled-block table (sample.c)
 *   LOCK_RANK_TCREG   the registry of traceback caches (core.c)
 *
 * The hot path never holds two at once; start/stop/snapshot and the fork
 * handlers (fork.c) take them in this order, so that fork's prepare, which
 * takes all of them, cannot deadlock.  In a debug build (configure
 * --enable-debug: HAWK_DEBUG) every take and give is checked against the
 * order with a per-thread bitmap of held locks (jemalloc's witness, with
 * ranks and nothing else); a violation prints the two locks and aborts.
 * In a release build the checks compile to nothing.
 */
enum lock_rank {
	LOCK_RANK_CREDS,
	LOCK_RANK_CTL,
	LOCK_RANK_DEFER,
	LOCK_RANK_INTERN,
	LOCK_RANK_BLOCKS,
	LOCK_RANK_SAMPLE,
	LOCK_RANK_TCREG,
	LOCK_RANK_N
};

#ifdef HAWK_DEBUG
/* held[rank]: bit i set while this thread holds shard i of that rank */
extern __thread uint64_t guard_witness_held[LOCK_RANK_N]
	__attribute__((tls_model("initial-exec")));
void guard_witness_fail(unsigned rank, unsigned idx, unsigned held_rank)
	__attribute__((noreturn));

static inline void
witness_take(unsigned rank, unsigned idx)
{
	unsigned r;

	for (r = rank + 1; r < LOCK_RANK_N; r++)
		if (guard_witness_held[r])
			guard_witness_fail(rank, idx, r);
	if (idx >= 64 || guard_witness_held[rank] >> idx)
		guard_witness_fail(rank, idx, rank);
	guard_witness_held[rank] |= (uint64_t)1 << idx;
}

static inline void
witness_give(unsigned rank, unsigned idx)
{
	guard_witness_held[rank] &= ~((uint64_t)1 << idx);
}

/* Fork child: the locks were re-initialised, this thread holds none. */
static inline void
witness_reset(void)
{
	unsigned r;

	for (r = 0; r < LOCK_RANK_N; r++)
		guard_witness_held[r] = 0;
}
#else
static inline void witness_take(unsigned rank, unsigned idx)
{ (void)rank; (void)idx; }
static inline void witness_give(unsigned rank, unsigned idx)
{ (void)rank; (void)idx; }
static inline void witness_reset(void) {}
#endif

/* A pthread mutex of rank `rank` (the ctl lock, the defer registry). */
static inline void
mutex_take(pthread_mutex_t *m, unsigned rank)
{
	witness_take(rank, 0);
	pthread_mutex_lock(m);
}

static inline void
mutex_give(pthread_mutex_t *m, unsigned rank)
{
	pthread_mutex_unlock(m);
	witness_give(rank, 0);
}

struct lock {
	atomic_int held;
};

#define LOCK_INIT { 0 }

static inline void
lock_spin(struct lock *l)
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
lock_release(struct lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

/*
 * Take / give shard `idx` of rank `rank`.  The rank and the index only
 * feed the debug build's order check; in a release build they are not
 * even evaluated (macros), so that the hot path's code is the plain
 * spinlock's, instruction for instruction.
 */
#ifdef HAWK_DEBUG
#define lock_take(l, rank, idx) \
	(witness_take((rank), (idx)), lock_spin(l))
#define lock_give(l, rank, idx) \
	(lock_release(l), witness_give((rank), (idx)))
#else
#define lock_take(l, rank, idx) lock_spin(l)
#define lock_give(l, rank, idx) lock_release(l)
#endif

/* Fork child: the threads that held locks are gone. */
static inline void
lock_reset(struct lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_relaxed);
}

#endif /* HAWK_TRACER_GUARD_H */
