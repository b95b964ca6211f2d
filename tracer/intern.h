/* SPDX-License-Identifier: MIT */
/*
 * intern.h - traceback interning: one copy of each distinct traceback,
 * named by a 24-bit index that live-block records carry.
 */
#ifndef HAWK_TRACER_INTERN_H
#define HAWK_TRACER_INTERN_H

#include <stdint.h>

#define INTERN_SHARD_BITS 6u
#define INTERN_SHARDS     (1u << INTERN_SHARD_BITS)
#define INTERN_IDX_BITS   24u      /* index = local << 6 | shard */
#define INTERN_IDX_MAX    (1u << INTERN_IDX_BITS)

/* Allocation totals of a traceback since start (view=allocated): blocks
 * and bytes recorded, and in sampled mode the estimates (est_count in
 * units of 1/SNAP_WEIGHT_ONE block). */
struct intern_totals {
	uint64_t count, bytes;
	uint64_t est_count, est_bytes;
};

struct trace {
	uint64_t hash;
	uint32_t nframes;          /* frames[] length, 1 .. SEG_FRAMES_MAX */
	uint32_t total;            /* depth before truncation */
	struct intern_totals tot;  /* under the shard lock */
	uint64_t frames[];         /* raw return addresses, innermost first */
};

/*
 * Drop every traceback and give the memory back; the tables then accept
 * only calls made with generation `gen`.  Takes every shard lock in index
 * order.  Called by start/stop (under the tracer's control lock).
 */
void intern_reset(uint32_t gen);

/*
 * Find or add the traceback frames[0..n) with depth `total`; store its
 * index in *idx.  Returns 0, -ESTALE when `gen` is no longer the tables'
 * generation (tracing was stopped meanwhile: record nothing), -ENOMEM when
 * mmap failed, -ENOSPC when the index space is exhausted.
 * Hot path: one shard lock, no allocation except mmap when a shard grows.
 */
int intern_trace(uint32_t gen, const uint64_t *frames, uint32_t n,
		 uint32_t total, uint32_t *idx);

/* The same with the hash already computed by intern_hash. */
int intern_trace_hashed(uint32_t gen, uint64_t hash, const uint64_t *frames,
			uint32_t n, uint32_t total, uint32_t *idx);
uint64_t intern_hash(const uint64_t *frames, uint32_t n, uint32_t total);

/* The traceback of an index returned by intern_trace (same generation).
 * Caller must exclude intern_reset (tracer control lock). */
const struct trace *intern_get(uint32_t idx);

/*
 * Add to the totals of traceback `idx` (generation `gen`, else nothing:
 * -ESTALE).  Takes the index's shard lock.  Not on the hot path: the
 * recording core accumulates per thread and adds here when a per-thread
 * entry is evicted or its thread exits, and sampled allocations add here
 * directly.
 */
int intern_totals_add(uint32_t gen, uint32_t idx,
		      const struct intern_totals *add);
/* Copy the totals of `idx` (0 if none); caller holds the control lock. */
void intern_totals_get(uint32_t idx, struct intern_totals *out);
/* One more than the largest index in use (indexes below it may be
 * unused: intern_get answers NULL for those). */
uint32_t intern_idx_end(void);

/* Number of distinct tracebacks and the bytes they take (tables, trace
 * records, index directory). */
uint64_t intern_count(void);
uint64_t intern_bytes(void);

/* fork: take every shard lock in index order / release / re-initialise. */
void intern_lock_all(void);
void intern_unlock_all(void);
void intern_reset_locks(void);

#endif /* HAWK_TRACER_INTERN_H */
