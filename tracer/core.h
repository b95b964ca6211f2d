/* SPDX-License-Identifier: MIT */
/*
 * core.h - the recording core (core.c): the hot path shared by the
 * interposed functions (LD_PRELOAD and -lhawk alike) - capture, intern,
 * live-block table - with its switch, its session state and its
 * per-thread traceback cache.  It calls only down (unwind, intern,
 * blocks, defer, arena, guard); starting and stopping, which switch it,
 * are control.h's.
 */
#ifndef HAWK_TRACER_CORE_H
#define HAWK_TRACER_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "blocks.h"
#include "guard.h"
#include "intern.h"
#include "sample.h"
#include "unwind.h"

/*
 * The hot path's switch: a process-global mirror of seg_header.tracing
 * (the segment may not exist yet, and a load from our own .bss is one
 * instruction).  Relaxed: a thread may notice a start or stop late, which
 * is harmless because every table operation re-checks the generation under
 * its lock.
 */
extern uint32_t core_on     /* accessed with __atomic builtins only */
	__attribute__((visibility("hidden")));

static inline int
core_tracing(void)
{
	/* one RIP-relative load (an _Atomic object costs gcc a lea more) */
	return __atomic_load_n(&core_on, __ATOMIC_RELAXED) != 0;
}

/*
 * The hottest functions (malloc, calloc, realloc, free) do not even test
 * the switch: each exported one is a single indirect jump through its
 * entry here (one instruction), which points at glibc's function while
 * tracing is off and at the recording one (interpose.c) while it is on.
 * The recording ones still check core_on and the generation, so a thread
 * that jumps through an entry just before a stop, or after fail(), records
 * nothing stale.  The table is interpose.c's (interpose.h); switching it
 * is control's job (control.c, through the pointer boot.c gives it):
 * fail() on the hot path only clears core_on, and control switches the
 * entries back to glibc when it reaps the error.  Entries are written
 * with relaxed atomic stores.
 */
struct core_hot {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
};
/* Once at load, before anything is traced: the per-thread cache's key
 * and the free queues' (defer.c). */
void core_init(void);

/* The session: odd while tracing; and the frames limit.  Written by
 * control.c only (start, stop), under control_lock. */
extern _Atomic uint32_t core_gen __attribute__((visibility("hidden")));
extern _Atomic uint32_t core_frames __attribute__((visibility("hidden")));
/* Allocations not recorded this session, and the internal error that
 * stopped recording (a negative errno, 0 none): set by the hot path
 * (fail() stops recording by clearing core_on), reset by a start and
 * reaped by control.c within a second. */
extern _Atomic uint64_t core_dropped __attribute__((visibility("hidden")));
extern _Atomic int32_t core_error __attribute__((visibility("hidden")));

/* core_alloc's second half: intern the traceback, record the block. */
void core_record(uint32_t g, void *p, size_t size, const uint64_t *frames,
		 uint32_t n, uint32_t total);

/*
 * Recording entry points: the caller has set guard_active.  `p` non-NULL.
 * core_alloc is inlined into the interposed functions so that the only
 * frames of ours libunwind walks are unw_backtrace's caller's (each frame
 * costs a lookup in libunwind's cache): the capture happens here, the
 * rest out of line.
 */
static inline __attribute__((always_inline)) void
core_capture(uint32_t g, uint32_t max, void *p, size_t size)
{
	uint64_t buf[UNWIND_BUF];
	const uint64_t *frames;
	uint32_t n, total;

	n = unwind_capture(buf, max, &frames, &total);
	core_record(g, p, size, frames, n, total);
}

static inline __attribute__((always_inline)) void
core_alloc(void *p, size_t size)
{
	uint32_t g = atomic_load_explicit(&core_gen, memory_order_acquire);
	uint32_t max = atomic_load_explicit(&core_frames,
					    memory_order_relaxed);

	if (!(g & 1))
		return;
	/* sampled mode: the countdown decides (sample.h) */
	if (unlikely(__atomic_load_n(&sample_rate, __ATOMIC_RELAXED)) &&
	    (sample_skip(size) || !sample_decide(size)))
		return;
	blocks_prefetch(p);      /* hidden behind the unwinding */
	core_capture(g, max, p, size);
}

/* core_alloc for a block the countdown has already chosen (sampled mode:
 * interpose_sample.c decides before allocating, to place the block). */
static inline __attribute__((always_inline)) void
core_alloc_chosen(void *p, size_t size)
{
	uint32_t g = atomic_load_explicit(&core_gen, memory_order_acquire);
	uint32_t max = atomic_load_explicit(&core_frames,
					    memory_order_relaxed);

	if (!(g & 1))
		return;
	core_capture(g, max, p, size);
}

/* free's bookkeeping; returns the block to hand to glibc's free now
 * (`p`, an older one this thread queued, or NULL: defer.h). */
void *core_free(void *p);
/* realloc's first half: forget `old`, remembering its record so that
 * core_realloc_failed can put it back if the real realloc fails. */
struct core_moved {
	int found;
	int sampled;               /* sample_remove'd (sampled mode) */
	uint32_t gen;
	uint32_t idx;
	uint64_t size;
};
void core_realloc_take(void *old, struct core_moved *m);
void core_realloc_failed(void *old, const struct core_moved *m);
/* free's bookkeeping in sampled mode (a block the filter may hold): 1
 * when `p` was a recorded sampled block (now forgotten).  The caller then
 * hands `p` to the allocator (or keeps it: sample_keep_put). */
int core_free_sampled(void *p);

/*
 * Allocation totals the threads have not yet added to the shared ones
 * (each thread counts its exact-mode allocations in its traceback cache
 * entry and adds them to intern_totals when the entry is evicted or the
 * thread exits): add them to tot[0..end) by traceback index.  Caller holds
 * the control lock.  A thread allocating meanwhile may be counted a few
 * blocks early or late (the entry it is moving).
 */
void core_totals_pending(struct intern_totals *tot, uint32_t end);

/* fork: the registry of traceback caches, lock order LOCK_RANK_TCREG
 * (take / release / re-init). */
void core_tcache_lock(void);
void core_tcache_unlock(void);
void core_tcache_reset_lock(void);


#endif /* HAWK_TRACER_CORE_H */
