/* SPDX-License-Identifier: MIT */
/*
 * blocks.c - live blocks: pointer -> (size, traceback index).
 *
 * Concurrency: BLOCKS_SHARDS shards chosen by the top bits of a hash of
 * the pointer, each with its own spinlock, so two threads freeing and
 * allocating unrelated blocks rarely meet (1 in 64).  Within a shard,
 * Robin Hood open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a churning live set does not degrade the
 * table, and a miss - every free of an untraced block - stops early).
 *
 * Memory: a record is 16 bytes (pointer with its probe distance in the
 * low 3 bits, then size << 24 | index); the table grows by 1.5x at 3/4
 * load, so it stays between 50% and 75% full:
 * 21.3 to 32 bytes per live block once a shard has outgrown its initial
 * 1024 slots (64 shards: about 60000 blocks).  7/8 would save memory but
 * linear-probing inserts then walk ~30 slots, and the table became a
 * large part of a traced run (bench/README).  Capacities are not powers of
 * two: a home slot is (hash * cap) >> 64.
 *
 * current/peak: one global counter updated with an atomic add under the
 * shard lock, and the peak raised with a compare-exchange only when the
 * new current exceeds it.  The peak is therefore the exact maximum of the
 * current value's history (as tracemalloc's), at the cost of one shared
 * cache line written per traced allocation and free.  Per-shard counters
 * would be cheaper but their sum has no exact peak.
 *
 * Invariants: memory from arena_map only; a shard's table is touched only
 * under its lock and only when the shard's generation is the caller's.
 */
#include "config.h"

#include "blocks.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "arena.h"
#include "guard.h"

#define IDX_BITS  24u
#define CAP_MIN   1024u

/*
 * ptr: the block's address, whose low 3 bits are always 0 (glibc's
 * malloc alignment is 16 on 64-bit targets; jemalloc's, tcmalloc's and
 * mimalloc's smallest size class is 8-aligned), or'ed with the record's
 * distance from its home slot, saturated at DIST_SAT (then recomputed):
 * probing and shifting compare distances without hashing the pointers
 * they pass.  0 = empty.
 */
struct entry {
	uint64_t ptr;
	uint64_t meta;             /* size << IDX_BITS | idx */
};

#define DIST_SAT  7u
#define ADDR(x)   ((x) & ~(uint64_t)DIST_SAT)

struct shard {
	struct lock lock;          /* protects the fields below; lock
				      order: LOCK_RANK_BLOCKS (guard.h) */
	uint32_t gen;
	uint64_t cap;
	uint64_t count;
	struct entry *tab;
} __attribute__((aligned(64)));

static struct shard shards[BLOCKS_SHARDS];
_Static_assert(BLOCKS_SHARDS <= 64, "the lock-order check's bitmap (guard.h)");
#define SHARD_IDX(s) ((unsigned)((s) - shards))

static struct {
	_Atomic uint64_t current;
	_Atomic uint64_t peak;
} counters __attribute__((aligned(64)));

/*
 * A shard is chosen by the block's 4 KiB page (so one thread's recent
 * blocks mostly share a few shards, and two threads' arenas do not).  The
 * home slot keeps locality: the blocks of one page land in one run of 256
 * slots, by their offset in the page, and pages are scattered by a
 * Fibonacci hash.  A program that frees an object it used recently (the
 * common case) then finds its record in a line that its neighbours'
 * operations brought in, instead of taking a cache miss per free
 * (faster on bench/alloc.py than a fully mixing hash, the same on a dense
 * run of 16-byte blocks: bench/README).
 */
static inline uint64_t
page_hash(uint64_t p)
{
	return (p >> 12) * UINT64_C(0x9e3779b97f4a7c15);
}

static inline uint64_t
home_of(uint64_t p, uint64_t cap)
{
	/* the top bits chose the shard: use the ones below */
	uint64_t h = page_hash(p) << BLOCKS_SHARD_BITS;
	uint64_t j = (uint64_t)(((unsigned __int128)h * cap) >> 64) +
		     ((p >> 4) & 255);

	return j >= cap ? j - cap : j;
}

static inline uint64_t
dist(uint64_t slot, uint64_t home, uint64_t cap)
{
	return slot >= home ? slot - home : slot + cap - home;
}

/* The distance from its home of the record in slot j (not empty). */
static inline uint64_t
dist_of(const struct entry *tab, uint64_t j, uint64_t cap)
{
	uint64_t x = tab[j].ptr, d = x & DIST_SAT;

	return d < DIST_SAT ? d : dist(j, home_of(ADDR(x), cap), cap);
}

static inline uint64_t
tagged(uint64_t p, uint64_t d)
{
	return p | (d < DIST_SAT ? d : DIST_SAT);
}

void
blocks_reset(uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++) {
		struct shard *s = &shards[i];

		lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		arena_unmap(s->tab, s->cap * sizeof(struct entry));
		s->tab = NULL;
		s->cap = s->count = 0;
		s->gen = gen;
		lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	}
	/* no caller of the old generation can touch them any more, and none
	 * of the new one can start before our caller publishes `gen` */
	atomic_store(&counters.current, 0);
	atomic_store(&counters.peak, 0);
}

/*
 * Place (ptr, meta) into tab (Robin Hood); the caller ensured a free slot.
 * Scalars, not a struct entry: gcc moves a struct through an SSE register
 * and the first load of it then misses store forwarding.
 */
static void
place(struct entry *tab, uint64_t cap, uint64_t ptr, uint64_t meta)
{
	uint64_t j = home_of(ptr, cap), d = 0;

	for (;;) {
		struct entry *x = &tab[j];
		uint64_t xp = x->ptr, xd;

		if (!xp) {
			x->ptr = tagged(ptr, d);
			x->meta = meta;
			return;
		}
		xd = dist_of(tab, j, cap);
		if (xd < d) {
			uint64_t xm = x->meta;

			x->ptr = tagged(ptr, d);
			x->meta = meta;
			ptr = ADDR(xp);
			meta = xm;
			d = xd;
		}
		j = j + 1 == cap ? 0 : j + 1;
		d++;
	}
}

static int
grow(struct shard *s)
{
	uint64_t ncap = s->cap ? s->cap + s->cap / 2 : CAP_MIN, i;
	struct entry *nt = arena_map(ncap * sizeof(struct entry));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->tab[i].ptr)
			place(nt, ncap, ADDR(s->tab[i].ptr), s->tab[i].meta);
	arena_unmap(s->tab, s->cap * sizeof(struct entry));
	s->tab = nt;
	s->cap = ncap;
	return 0;
}

static inline struct shard *
shard_of(uint64_t p)
{
	return &shards[page_hash(p) >> (64 - BLOCKS_SHARD_BITS)];
}

void
blocks_prefetch(const void *ptr)
{
	uint64_t p = (uint64_t)(uintptr_t)ptr;
	struct shard *s = shard_of(p);
	/* racy on purpose: a prefetch of a stale or unmapped slot is
	 * harmless, and the lookup proper happens under the lock */
	struct entry *tab = __atomic_load_n(&s->tab, __ATOMIC_RELAXED);
	uint64_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);

	if (tab) {
		const char *x = (const char *)&tab[home_of(p, cap)];

		/* the probe and the shift often go on into the next line */
		__builtin_prefetch(x, 1);
		__builtin_prefetch(x + 64, 1);
	}
}

int
blocks_insert(uint32_t gen, const void *ptr, size_t size, uint32_t idx)
{
	uint64_t p = (uint64_t)(uintptr_t)ptr, cur, pk;
	struct shard *s = shard_of(p);
	int rc = 0;

	if (unlikely(size > BLOCKS_SIZE_MAX || idx >= (1u << IDX_BITS) ||
		     (p & DIST_SAT) || !p))
		return -E2BIG;
	lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	if (unlikely(s->gen != gen)) {
		rc = -ESTALE;
		goto out;
	}
	if (unlikely((s->count + 1) * 4 > s->cap * 3) && (rc = grow(s)) < 0)
		goto out;
	place(s->tab, s->cap, p, (uint64_t)size << IDX_BITS | idx);
	s->count++;
	cur = atomic_fetch_add_explicit(&counters.current, size,
					memory_order_relaxed) + size;
	pk = atomic_load_explicit(&counters.peak, memory_order_relaxed);
	while (cur > pk &&
	       !atomic_compare_exchange_weak_explicit(&counters.peak, &pk, cur,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
out:
	lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	return rc;
}

int
blocks_remove(uint32_t gen, const void *ptr, uint64_t *size, uint32_t *idx)
{
	uint64_t p = (uint64_t)(uintptr_t)ptr, j, d, cap;
	struct shard *s = shard_of(p);
	struct entry *tab;
	int rc = -ENOENT;

	if (unlikely(!p))
		return rc;
	lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	if (unlikely(s->gen != gen)) {
		rc = -ESTALE;
		goto out;
	}
	cap = s->cap;
	tab = s->tab;
	if (!s->count)
		goto out;
	for (j = home_of(p, cap), d = 0;; d++) {
		uint64_t xp = tab[j].ptr;

		if (ADDR(xp) == p)       /* p != 0: never an empty slot */
			break;
		if (!xp || dist_of(tab, j, cap) < d)
			goto out;
		j = j + 1 == cap ? 0 : j + 1;
	}
	{
		uint64_t sz = tab[j].meta >> IDX_BITS, k;

		if (size)
			*size = sz;
		if (idx)
			*idx = (uint32_t)(tab[j].meta &
					  ((1u << IDX_BITS) - 1));
		/* backward shift */
		for (;;) {
			uint64_t kd;

			k = j + 1 == cap ? 0 : j + 1;
			if (!tab[k].ptr || (kd = dist_of(tab, k, cap)) == 0)
				break;
			tab[j].ptr = tagged(ADDR(tab[k].ptr), kd - 1);
			tab[j].meta = tab[k].meta;
			j = k;
		}
		tab[j].ptr = 0;
		tab[j].meta = 0;
		s->count--;
		atomic_fetch_sub_explicit(&counters.current, sz,
					  memory_order_relaxed);
		rc = 0;
	}
out:
	lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	return rc;
}

uint64_t
blocks_current(void)
{
	return atomic_load_explicit(&counters.current, memory_order_relaxed);
}

uint64_t
blocks_peak(void)
{
	return atomic_load_explicit(&counters.peak, memory_order_relaxed);
}

uint64_t
blocks_count(void)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++)
		n += __atomic_load_n(&shards[i].count, __ATOMIC_RELAXED);
	return n;
}

uint64_t
blocks_bytes(void)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++) {
		uint64_t cap = __atomic_load_n(&shards[i].cap,
					       __ATOMIC_RELAXED);

		n += arena_round(cap * sizeof(struct entry));
	}
	return n;
}

void
blocks_collect(struct block_rec *out, uint64_t cap, uint64_t *n,
	       uint64_t *missed)
{
	uint64_t got = 0, miss = 0, j;
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++) {
		struct shard *s = &shards[i];

		lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		for (j = 0; j < s->cap; j++) {
			struct entry *x = &s->tab[j];

			if (!x->ptr)
				continue;
			if (got == cap) {
				miss++;
				continue;
			}
			out[got].size = x->meta >> IDX_BITS;
			out[got].idx = (uint32_t)(x->meta &
						  ((1u << IDX_BITS) - 1));
			out[got].pad = 0;
			got++;
		}
		lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	}
	*n = got;
	*missed = miss;
}

void
blocks_lock_all(void)
{
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++)
		lock_take(&shards[i].lock, LOCK_RANK_BLOCKS, i);
}

void
blocks_unlock_all(void)
{
	uint32_t i;

	for (i = BLOCKS_SHARDS; i-- > 0;)
		lock_give(&shards[i].lock, LOCK_RANK_BLOCKS, i);
}

void
blocks_reset_locks(void)
{
	uint32_t i;

	for (i = 0; i < BLOCKS_SHARDS; i++)
		lock_reset(&shards[i].lock);
}
