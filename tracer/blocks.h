/* SPDX-License-Identifier: MIT */
/*
 * blocks.h - the live-block table: pointer -> (exact size, traceback
 * index), plus the current and peak traced bytes.
 */
#ifndef HAWK_TRACER_BLOCKS_H
#define HAWK_TRACER_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define BLOCKS_SHARD_BITS 6u
#define BLOCKS_SHARDS     (1u << BLOCKS_SHARD_BITS)
#define BLOCKS_SIZE_BITS  40u       /* sizes up to 1 TiB - 1 */
#define BLOCKS_SIZE_MAX   ((UINT64_C(1) << BLOCKS_SIZE_BITS) - 1)
/* Home slots per lock hold of a collection walk (tests build smaller). */
#ifndef BLOCKS_SLICE
#define BLOCKS_SLICE      4096u
#endif

/* One live block as collected for a snapshot. */
struct block_rec {
	uint64_t size;
	uint32_t idx;              /* traceback index (intern.h) */
	uint32_t pad;
};

/* Drop every record, zero current and peak; then accept only `gen`.
 * Takes every shard lock in index order. */
void blocks_reset(uint32_t gen);

/*
 * Record a live block.  Returns 0, -ESTALE (generation is over: record
 * nothing), -ENOMEM (mmap failed), -E2BIG (size or index does not fit
 * the packed record).  Updates current and peak.  Hot path: one shard
 * lock, no allocation except mmap when the shard grows.
 */
int blocks_insert(uint32_t gen, const void *ptr, size_t size, uint32_t idx);

/* Start fetching the table slot of `ptr` into the cache (no lock): the
 * record is then inserted or removed without waiting on memory. */
void blocks_prefetch(const void *ptr);

/*
 * Forget a block; its size and index go to *size / *idx (may be NULL).
 * Returns 0, -ENOENT (not traced: ignore), -ESTALE.
 */
int blocks_remove(uint32_t gen, const void *ptr, uint64_t *size,
		  uint32_t *idx);

/* Current and peak traced bytes.  The peak is the exact maximum of the
 * current value since the last reset. */
uint64_t blocks_current(void);
uint64_t blocks_peak(void);
/* Live blocks and the bytes the table takes. */
uint64_t blocks_count(void);
uint64_t blocks_bytes(void);

/*
 * Collection for snapshots (the agent; any thread may call them, each
 * call uses its own 68 KiB of scratch memory, mapped and unmapped).
 *
 * Each walks every shard in slices of about BLOCKS_SLICE slots: it holds
 * the shard's lock for one slice at a time, only to copy the slice's
 * records (8 bytes each) into its scratch, and works on the copy after
 * releasing it, so an allocating thread waits at most one slice's copy
 * (tens of microseconds) however large the table.  Blocks inserted or
 * removed during the walk may be reported or not; a block that is live
 * and unchanged for the whole walk is reported exactly once, even if the
 * table grows between slices (blocks.c: the walk's order).  So a walk is
 * exact whenever the application is not allocating.  Each returns 0, or
 * -ENOMEM when its scratch could not be mapped (then nothing is reported,
 * the outputs are untouched, *missed excepted: set to the blocks' count).
 */

/* One traceback index's live blocks (blocks_sum). */
struct blocks_sum {
	uint64_t count;
	uint64_t bytes;
};

/*
 * For every live block: sums[idx].count += 1 and sums[idx].bytes += its
 * size when idx < n (the caller's array, one entry per interned index,
 * zeroed or holding sums to add to); blocks with idx >= n are counted in
 * *missed (set, not added to).
 */
int blocks_sum(struct blocks_sum *sums, uint32_t n, uint64_t *missed);

/*
 * A walk in parts, for one traceback with more blocks than a buffer
 * holds: the sizes of the live blocks with lo <= idx < hi into
 * sizes[0 .. cap), in the walk's order, from where the last call with the
 * same cursor stopped (a cursor starts zeroed); *n gets how many.  The
 * call stops when the next slice's blocks would not fit, so a call that
 * stores fewer than cap is not the end: the walk is over when
 * cur->shard == BLOCKS_SHARDS.  Across the calls of one walk, a block
 * live and unchanged throughout is reported exactly once; *missed (set)
 * counts blocks left out (none unless one slice alone holds more than cap
 * of them).  Returns 0 or -ENOMEM (nothing stored, the cursor unchanged).
 */
struct blocks_cursor {
	uint32_t shard;            /* BLOCKS_SHARDS: the walk is over */
	uint32_t pad;
	uint64_t from;             /* the key its next slice starts at */
};

int blocks_collect_sizes_at(uint32_t lo, uint32_t hi,
			    struct blocks_cursor *cur, uint64_t *sizes,
			    uint64_t cap, uint64_t *n, uint64_t *missed);

/*
 * The records of the live blocks with lo <= idx < hi, in no particular
 * order, into out[0 .. cap): the number stored goes to *n, the number of
 * those that did not fit to *missed.
 */
int blocks_collect_range(uint32_t lo, uint32_t hi, struct block_rec *out,
			 uint64_t cap, uint64_t *n, uint64_t *missed);

/*
 * The same blocks' sizes scattered into groups by index, for a writer
 * that lays out every traceback's sizes contiguously: the size of a block
 * with index i (lo <= i < hi) is stored at sizes[next[i - lo]++] while
 * next[i - lo] < end[i - lo], else counted in *missed.  A caller that got
 * the counts from blocks_sum sets next[] to their prefix sums and end[] to
 * next[] + count; a traceback that lost blocks since then is left with
 * next[i - lo] < end[i - lo] (its group's tail is not written), one that
 * gained some reports them as missed.
 */
int blocks_collect_sizes(uint32_t lo, uint32_t hi, uint64_t *sizes,
			 uint64_t *next, const uint64_t *end,
			 uint64_t *missed);

#ifdef BLOCKS_HOLD_STATS
/*
 * Benchmarks and tests (built with -DBLOCKS_HOLD_STATS; libhawk then
 * exports these two for bench/scale/scale-target): the collection walks'
 * lock holds since the last reset.  max_cpu_ns is the most CPU time
 * (CLOCK_THREAD_CPUTIME_ID) one hold used: the walk's own cost; the
 * wall-clock figures also count the time the holder spent switched out.
 */
struct blocks_hold {
	uint64_t holds, max_ns, sum_ns, max_cpu_ns, over_1ms, over_5ms;
};
void blocks_hold_get(struct blocks_hold *h);
void blocks_hold_reset(void);
#endif

/* fork: take every shard lock in index order / release / re-initialise. */
void blocks_lock_all(void);
void blocks_unlock_all(void);
void blocks_reset_locks(void);

#endif /* HAWK_TRACER_BLOCKS_H */
