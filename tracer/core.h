/* SPDX-License-Identifier: MIT */
/*
 * core.h - the tracer's state and the recording core shared by the
 * interposed functions (LD_PRELOAD and -lhawk alike), the agent and the
 * public API.
 */
#ifndef HAWK_TRACER_CORE_H
#define HAWK_TRACER_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "blocks.h"
#include "guard.h"
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
 * nothing stale.  Entries are written with relaxed atomic stores by
 * core_set_on only.
 */
struct core_hot {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
};
extern struct core_hot core_hot __attribute__((visibility("hidden")));

/* Point core_hot at the recording functions (on) or at the allocator's
 * (off); defined in interpose.c. */
void interpose_set(int on) __attribute__((visibility("hidden")));

/*
 * The functions every interposed one forwards to: glibc's, or those of
 * the allocator the program brings (interpose.c).  Before interpose_bind
 * they are glibc's, through wrappers that note each block.
 */
struct interpose_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable_size)(void *);
};
extern struct interpose_real interpose_real
	__attribute__((visibility("hidden")));

/* Once at load, before anything is traced (boot.c): find the next
 * definition of malloc; sets interpose_mode and interpose_provider and
 * says on stderr when nothing can be traced. */
void interpose_bind(void) __attribute__((visibility("hidden")));
/* SEG_ALLOC_* (segment.h): glibc's, a foreign one traced, bypassed */
extern int interpose_mode __attribute__((visibility("hidden")));
/* the module of the allocator when it is not glibc's, else "" */
extern char interpose_provider[SEG_ALLOC_PATH_MAX]
	__attribute__((visibility("hidden")));

/* Serialises start, stop, snapshot and fork (taken first, see fork.c). */
extern pthread_mutex_t core_ctl_lock;

/* Once at load, before anything is traced. */
void core_init(void);

/* The session: odd while tracing; and the frames limit (core.c). */
extern _Atomic uint32_t core_gen __attribute__((visibility("hidden")));
extern _Atomic uint32_t core_frames __attribute__((visibility("hidden")));

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
core_alloc(void *p, size_t size)
{
	uint64_t buf[UNWIND_BUF];
	const uint64_t *frames;
	uint32_t g = atomic_load_explicit(&core_gen, memory_order_acquire);
	uint32_t max = atomic_load_explicit(&core_frames,
					    memory_order_relaxed);
	uint32_t n, total;

	if (!(g & 1))
		return;
	blocks_prefetch(p);      /* hidden behind the unwinding */
	n = unwind_capture(buf, max, &frames, &total);
	core_record(g, p, size, frames, n, total);
}

/* free's bookkeeping; returns the block to hand to glibc's free now
 * (`p`, an older one this thread queued, or NULL: defer.h). */
void *core_free(void *p);
/* realloc's first half: forget `old`, remembering its record so that
 * core_realloc_failed can put it back if the real realloc fails. */
struct core_moved {
	int found;
	uint32_t gen;
	uint32_t idx;
	uint64_t size;
};
void core_realloc_take(void *old, struct core_moved *m);
void core_realloc_failed(void *old, const struct core_moved *m);

/* Control (caller holds core_ctl_lock).  Return 0 or -errno:
 * -EALREADY, -ENOTCONN, -EINVAL as in segment.h's command results. */
int core_start(uint32_t frames, uint32_t flags);
int core_stop(void);
/* After an internal error stopped recording: finish the stop (free the
 * tables) and keep the error for the segment.  Caller holds the lock. */
void core_reap_error(void);

struct core_status {
	int tracing;
	uint32_t frames;
	uint64_t current, peak, memory, dropped;
	int32_t last_error;
};
void core_get_status(struct core_status *st);

/* gc hooks (api.c) run by a start with CMD_FLAG_GC. */
void core_run_gc_hooks(void);

#endif /* HAWK_TRACER_CORE_H */
