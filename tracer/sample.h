/* SPDX-License-Identifier: MIT */
/*
 * sample.h - sampled tracing: the per-thread byte countdown that decides
 * which allocations are recorded, the table of sampled live blocks with
 * the filter that lets a free of an unsampled block skip it, and the copy
 * of the sampled live set kept at the peak.  The estimator itself is in
 * ipc/estimate.c (snap_weight).
 */
#ifndef HAWK_TRACER_SAMPLE_H
#define HAWK_TRACER_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "blocks.h"
#include "guard.h"

/* Mean bytes between samples while tracing sampled; 0 = exact.  Written
 * by start/stop only (control lock), read relaxed by the hot path. */
extern uint64_t sample_rate __attribute__((visibility("hidden")));

/*
 * Bytes left before the next checkpoint, per thread: the gap to the next
 * sample is split into a part of at most the rate kept here and the rest
 * (sample.c), so that a block of at least the rate always reaches the slow
 * half without a second compare on the hot path.
 */
extern __thread int64_t sample_left
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/*
 * Hot path of every allocation in sampled mode: 1 when the allocation of
 * `size` bytes is not sampled (it consumed the countdown, nothing else to
 * do), 0 when sample_decide must decide (a checkpoint is reached, which
 * every block of at least the rate reaches).  No lock, no call: a load,
 * a subtraction, a branch and a store of initial-exec TLS.
 */
static inline int
sample_skip(size_t size)
{
	int64_t left = sample_left - (int64_t)size;

	if (unlikely(left <= 0))
		return 0;
	sample_left = left;
	return 1;
}

/* The slow half: 1 when the block is sampled (a new gap is drawn), 0 when
 * not (only a checkpoint, or the countdown was initialised for this thread
 * or session).  The countdown is as sample_skip left it. */
int sample_decide(size_t size);

/*
 * Where sampled blocks go: the sampled mode's malloc, calloc and realloc
 * decide before allocating and place a sampled block at an address whose
 * bits 5 to SAMPLE_ALIGN_BITS - 1 are 0 (the allocator's memalign: any
 * address is a valid malloc result; a block the allocator mmaps, at 16
 * bytes past a page, is already there), so that the free of an unsampled
 * block is rejected by those bits alone (interpose_sample.c: a test and a
 * branch).  1 in 32 unsampled blocks has them too, and the chunks freed
 * sampled blocks leave behind are reused; those go on to the filter
 * below.  A sampled block that ended up elsewhere (another allocation
 * function, a large calloc or realloc, a failed memalign) is counted
 * while it lives, and while any is live free checks the filter for every
 * block (sample_free_switch).
 */
#define SAMPLE_ALIGN_BITS 10
#define SAMPLE_ALIGN ((size_t)1 << SAMPLE_ALIGN_BITS)
#define SAMPLE_PLACE_MASK (SAMPLE_ALIGN - 32)

static inline int
sample_placed(const void *p)
{
	return ((uintptr_t)p & SAMPLE_PLACE_MASK) == 0;
}

/*
 * interpose_sample.c: point free at the filter for every block (filtered
 * = 1: some sampled live block is not placed) or at the test of the
 * address bits (0).  Changes only a free entry that is the other of the
 * two, and is called under the sampled table's lock only: at each insert
 * of an unplaced block (1), and at each insert of a placed one or remove
 * of the last unplaced one while none is live (0).  A start installs the
 * filter (control.c copies interpose_sample), so that an unplaced block
 * recorded before the jump table is switched is never missed; the first
 * placed sample moves free to the short test.
 */
void sample_free_switch(int filtered);
/*
 * Chunks kept for the next samples: the allocator's memalign is slow for
 * this (it carves a chunk of size + SAMPLE_ALIGN, frees the two ends and
 * disturbs the bins the program's own allocations use), so the placed
 * chunk of a freed sampled block of at most SAMPLE_KEEP_MAX usable bytes
 * is kept (up to SAMPLE_KEEP_N of them) and handed to the next sample it
 * fits (usable size between the request and twice it plus 64).  A kept
 * chunk's filter bit stays set, so that a second free of it (the
 * program's double free) is seen (sample_keep_drop) and passed on to the
 * allocator twice, as the program did.  Kept chunks are the program's
 * heap memory, counted in sample_bytes, and all go back to the allocator
 * at every reset (sample_hooks_release).
 */
#define SAMPLE_KEEP_N 64u
#define SAMPLE_KEEP_MAX 4096u
/* A kept chunk for a sampled block of `size` bytes, or NULL. */
void *sample_keep_take(size_t size);
/* Keep `p` (`usable` bytes); 0 when refused (full, too big, not tracing
 * sampled): the caller frees it. */
int sample_keep_put(void *p, size_t usable);
/* 1 when `p` was kept (now dropped from the keep); any kept chunk when `p`
 * is NULL (*out gets it) */
int sample_keep_drop(void *p, void **out);

/* interpose_sample.c: a block of `size` bytes for a sampled allocation,
 * placed (a kept chunk or memalign), else anywhere. */
void *sample_place(size_t size);
/* interpose_sample.c: give every kept chunk back to the allocator (after
 * a reset: sample_reset calls it). */
void sample_hooks_release(void);

/* interpose_sample.c: before a sampled start (under the control lock),
 * write the sampled mode's malloc and free for this process once. */
void sample_hooks_prepare(void);

/* The free filter: 2^SAMPLE_FILTER_BITS bits, bit fhash(p) set while any
 * sampled live block hashes to it.  Read without a lock. */
#define SAMPLE_FILTER_BITS 16
extern uint64_t sample_filter[(1u << SAMPLE_FILTER_BITS) / 64]
	__attribute__((visibility("hidden")));

/*
 * The bit of `p`: its 1 KiB unit (SAMPLE_ALIGN), modulo 2^16 (a 64 MiB
 * window of the address space).  A placed sampled block is alone in its
 * unit, so the free of an unsampled block at a multiple of SAMPLE_ALIGN
 * (a chunk a freed sampled block left to the allocator is reused that
 * way) is told apart from it; a direct index saves the multiply of a hash
 * on every free.  The free stub tests this bit in assembly
 * (interpose_sample.c).
 */
static inline uint32_t
sample_fhash(const void *p)
{
	return (uint32_t)((uintptr_t)p >> SAMPLE_ALIGN_BITS) &
	       ((1u << SAMPLE_FILTER_BITS) - 1);
}

/* 0: `p` is certainly not a sampled live block; 1: it may be. */
static inline int
sample_maybe(const void *p)
{
	uint32_t b = sample_fhash(p);

	return (int)(__atomic_load_n(&sample_filter[b / 64],
				     __ATOMIC_RELAXED) >> (b % 64) & 1);
}

/* Start a session of generation `gen` at `rate` (0 = exact: the table
 * stays empty) with `seed` (0 = from the clock): drop every record, clear
 * the filter, current, peak and the kept copy.  Caller holds the control
 * lock. */
void sample_reset(uint32_t gen, uint64_t rate, uint64_t seed);

/* Record / forget a sampled block: as blocks_insert / blocks_remove.
 * Maintains the estimated current and peak and takes the peak copy. */
int sample_insert(uint32_t gen, const void *p, size_t size, uint32_t idx);
int sample_remove(uint32_t gen, const void *p, uint64_t *size,
		  uint32_t *idx);

/* Estimated live and peak bytes (sum of snap_weight(s) * s, rounded per
 * block), sampled live blocks, bytes the sampler holds. */
uint64_t sample_current(void);
uint64_t sample_peak(void);
uint64_t sample_count(void);
uint64_t sample_bytes(void);
/* Bytes of the sampled-block table and the peak copy (arena_map'd). */
uint64_t sample_table_bytes(void);

/* Copy the sampled live blocks (peak = 0) or the kept copy at the peak
 * (peak = 1) as blocks_collect_range does; *time_ns gets the copy's
 * CLOCK_REALTIME (0 for the live set). */
void sample_collect(int peak, struct block_rec *out, uint64_t cap,
		    uint64_t *n, uint64_t *missed, uint64_t *time_ns);
/* Records a collect with `peak` would return. */
uint64_t sample_collect_count(int peak);

/* fork: take / release / re-initialise the lock. */
void sample_lock_all(void);
void sample_unlock_all(void);
void sample_reset_locks(void);

#endif /* HAWK_TRACER_SAMPLE_H */
