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
 * Copy up to `cap` live records into out, one shard at a time under its
 * lock; the number copied goes to *n and the number left out to *missed.
 */
void blocks_collect(struct block_rec *out, uint64_t cap, uint64_t *n,
		    uint64_t *missed);

/* fork: take every shard lock in index order / release / re-initialise. */
void blocks_lock_all(void);
void blocks_unlock_all(void);
void blocks_reset_locks(void);

#endif /* HAWK_TRACER_BLOCKS_H */
