/* SPDX-License-Identifier: MIT */
/*
 * defer.h - each thread hands its small traced frees to glibc a few frees
 * late.
 *
 * Why: a free of a long-lived block misses the cache twice, on our table
 * slot and on glibc's chunk header.  Without a tracer the processor hides
 * much of glibc's miss behind the application's next operations; with one,
 * the recording work in between leaves it nothing to overlap, and the miss
 * was the largest single cost of a traced free (measured on bench/churn:
 * bench/README).  So a traced free does its
 * bookkeeping at once (the record is removed and current/peak lowered
 * exactly as before), prefetches the chunk header, and queues the block;
 * the block glibc receives is the one queued DEFER_N frees ago, whose
 * header has arrived meanwhile.
 *
 * Bounds: only blocks of at most DEFER_SIZE_MAX bytes are queued, so a
 * thread holds at most DEFER_N x DEFER_SIZE_MAX bytes that the
 * application has freed (glibc's own per-thread cache keeps far more).
 * A queue is released entirely by a stop (every thread's), when its
 * thread exits, and in the parent before a fork.  Only blocks the
 * tracer recorded are queued: the block of a malloc made while not
 * tracing is freed at once, as is anything larger.
 *
 * Double free: a second free, in the same thread, of a block still queued
 * releases the queued one first, so that glibc sees both frees in the
 * application's order and reports the error as it would without libhawk.
 *
 * Concurrency: a queue is its thread's, except that a stop or a fork
 * drains every thread's queue; each slot is therefore swapped with an
 * atomic exchange, so every queued block reaches glibc exactly once.  A
 * registry of the queues (a mutex; a thread joins it at its first queued
 * free and leaves it when it exits) lets the drainer reach them.
 */
#ifndef HAWK_TRACER_DEFER_H
#define HAWK_TRACER_DEFER_H

#include <stdint.h>

#include "guard.h"

#define DEFER_N        8u       /* a power of two */
#define DEFER_SIZE_MAX 1024u

enum { DEFER_NEW, DEFER_LIVE, DEFER_OFF };

struct defer_q {
	void *slot[DEFER_N];       /* __atomic builtins only */
	uint32_t next;             /* the owner's next slot */
	int32_t state;             /* DEFER_*; owner only */
	struct defer_q *prev, *succ;  /* the registry, under its lock */
};

extern __thread struct defer_q defer_q
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Once at load (core_init). */
void defer_init(void) __attribute__((visibility("hidden")));

/* What a queued block is finally handed to: glibc's free, or the free of
 * the allocator the program brings (set once at load by interpose.c,
 * before anything is queued). */
extern void (*defer_release)(void *) __attribute__((visibility("hidden")));

/* Join the registry; -1 if this thread cannot queue (it then frees at
 * once). */
int defer_join(void) __attribute__((visibility("hidden")));

/*
 * Queue `p` (a block the tracer recorded, of at most DEFER_SIZE_MAX
 * bytes) and return the block to hand to glibc now: the one queued
 * DEFER_N frees ago, NULL, or `p` itself when this thread cannot queue.
 * The caller holds the guard.
 */
static inline void *
defer_push(void *p)
{
	struct defer_q *q = &defer_q;
	void *old;

	if (unlikely(q->state != DEFER_LIVE) && defer_join() < 0)
		return p;
	old = __atomic_exchange_n(&q->slot[q->next], p, __ATOMIC_SEQ_CST);
	q->next = (q->next + 1) & (DEFER_N - 1);
	return old;
}

/* `p` was not traced: if this thread has it queued (a double free),
 * release the queued one now. */
void defer_take(void *p) __attribute__((visibility("hidden")));

/* Release every block of this thread's queue / of every queue. */
void defer_drain_self(void) __attribute__((visibility("hidden")));
void defer_drain_all(void) __attribute__((visibility("hidden")));

/* fork (fork.c): prepare drains every queue and keeps the registry
 * locked; the parent unlocks it; the child keeps only its own queue. */
void defer_prepare(void) __attribute__((visibility("hidden")));
void defer_parent(void) __attribute__((visibility("hidden")));
void defer_child(void) __attribute__((visibility("hidden")));

#endif /* HAWK_TRACER_DEFER_H */
