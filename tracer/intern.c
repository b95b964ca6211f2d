/* SPDX-License-Identifier: MIT */
/*
 * intern.c - traceback interning: hash of frames -> index of one shared
 * copy, as tracemalloc's traceback table and heaptrack's trace tree do.
 *
 * Concurrency: INTERN_SHARDS shards chosen by the top bits of the
 * traceback's hash, each with its own spinlock; two threads allocating
 * from different sites almost always take different locks (1 in 64 share
 * one), and no lock is held while unwinding.  Each shard owns an
 * open-addressing table of (hash high 32 bits, local index + 1) words,
 * grown at half load, a bump allocator of CHUNK_SIZE (8 KiB) chunks for
 * trace records, and a directory local index -> record in 1024-entry
 * pages.  An index is (local << INTERN_SHARD_BITS | shard), so no counter
 * is shared between shards.
 *
 * Invariants
 *  - memory from arena_map only; nothing is freed before intern_reset;
 *  - a record is complete before its index is stored in the table, and
 *    the table is only read under the shard lock;
 *  - the identity of a traceback is (frames, nframes, total), as in
 *    tracemalloc's traceback_hash_table_compare.
 */
#include "config.h"

#include "intern.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "guard.h"

#define CHUNK_SIZE   8192u
#define DIR_PAGE     1024u          /* records per directory page */
#define LOCAL_MAX    (INTERN_IDX_MAX >> INTERN_SHARD_BITS)
#define DIR_PAGES    (LOCAL_MAX / DIR_PAGE)
#define TABLE_MIN    256u

struct shard {
	struct lock lock;          /* protects the fields below; lock
				      order: LOCK_RANK_INTERN (guard.h) */
	uint32_t gen;
	uint32_t count;            /* records in this shard */
	uint32_t cap;              /* table slots (power of two) or 0 */
	uint64_t *table;           /* hash_hi << 32 | (local + 1); 0 empty */
	char *chunk;               /* current chunk; first word links older */
	uint32_t chunk_used;
	uint64_t bytes;            /* mapped by this shard */
	struct trace **dir[DIR_PAGES];
} __attribute__((aligned(64)));

static struct shard shards[INTERN_SHARDS];
_Static_assert(INTERN_SHARDS <= 64, "the lock-order check's bitmap (guard.h)");
#define SHARD_IDX(s) ((unsigned)((s) - shards))

static void
shard_free(struct shard *s)
{
	char *c, *next;
	uint32_t i;

	arena_unmap(s->table, (size_t)s->cap * sizeof(uint64_t));
	for (c = s->chunk; c; c = next) {
		memcpy(&next, c, sizeof(next));
		arena_unmap(c, CHUNK_SIZE);
	}
	for (i = 0; i < DIR_PAGES && s->dir[i]; i++)
		arena_unmap(s->dir[i], DIR_PAGE * sizeof(struct trace *));
	memset(s->dir, 0, sizeof(s->dir));
	s->table = NULL;
	s->chunk = NULL;
	s->cap = s->count = s->chunk_used = 0;
	s->bytes = 0;
}

void
intern_reset(uint32_t gen)
{
	uint32_t i;

	for (i = 0; i < INTERN_SHARDS; i++) {
		lock_take(&shards[i].lock, LOCK_RANK_INTERN, i);
		shard_free(&shards[i]);
		shards[i].gen = gen;
		lock_give(&shards[i].lock, LOCK_RANK_INTERN, i);
	}
}

uint64_t
intern_hash(const uint64_t *frames, uint32_t n, uint32_t total)
{
	/* two independent multiply chains: half the latency per frame */
	uint64_t a = 0x345678u ^ ((uint64_t)total << 32) ^ n;
	uint64_t b = UINT64_C(0x6a09e667f3bcc909);
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2) {
		a = (a ^ frames[i]) * UINT64_C(0x9e3779b97f4a7c15);
		b = (b ^ frames[i + 1]) * UINT64_C(0xc2b2ae3d27d4eb4f);
		a ^= a >> 29;
		b ^= b >> 31;
	}
	if (i < n)
		a = (a ^ frames[i]) * UINT64_C(0x9e3779b97f4a7c15);
	a ^= b * UINT64_C(0xbf58476d1ce4e5b9);
	a ^= a >> 32;
	a *= UINT64_C(0x94d049bb133111eb);
	a ^= a >> 29;
	return a;
}

static struct trace *
get_local(struct shard *s, uint32_t local)
{
	return s->dir[local / DIR_PAGE][local % DIR_PAGE];
}

/* Double the table (or create it).  Caller holds s->lock. */
static int
grow(struct shard *s)
{
	uint32_t ncap = s->cap ? s->cap * 2 : TABLE_MIN, i, j;
	uint64_t *nt = arena_map((size_t)ncap * sizeof(uint64_t));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++) {
		uint64_t e = s->table[i];
		struct trace *t;

		if (!e)
			continue;
		t = get_local(s, (uint32_t)e - 1);
		for (j = (uint32_t)t->hash & (ncap - 1); nt[j];
		     j = (j + 1) & (ncap - 1))
			;
		nt[j] = e;
	}
	arena_unmap(s->table, (size_t)s->cap * sizeof(uint64_t));
	s->bytes += arena_round((size_t)ncap * sizeof(uint64_t));
	s->bytes -= arena_round((size_t)s->cap * sizeof(uint64_t));
	s->table = nt;
	s->cap = ncap;
	return 0;
}

/* A new record for the traceback; caller holds s->lock. */
static struct trace *
add_record(struct shard *s, uint64_t h, const uint64_t *frames, uint32_t n,
	   uint32_t total)
{
	size_t need = sizeof(struct trace) + (size_t)n * sizeof(uint64_t);
	uint32_t local = s->count;
	struct trace *t;

	if (local >= LOCAL_MAX)
		return NULL;
	if (!s->dir[local / DIR_PAGE]) {
		s->dir[local / DIR_PAGE] =
			arena_map(DIR_PAGE * sizeof(struct trace *));
		if (!s->dir[local / DIR_PAGE])
			return NULL;
		s->bytes += arena_round(DIR_PAGE * sizeof(struct trace *));
	}
	if (!s->chunk || s->chunk_used + need > CHUNK_SIZE) {
		char *c = arena_map(CHUNK_SIZE);

		if (!c)
			return NULL;
		memcpy(c, &s->chunk, sizeof(s->chunk));
		s->chunk = c;
		s->chunk_used = 8;
		s->bytes += CHUNK_SIZE;
	}
	t = (struct trace *)(s->chunk + s->chunk_used);
	s->chunk_used += (uint32_t)((need + 7) & ~(size_t)7);
	t->hash = h;
	t->nframes = n;
	t->total = total;
	memset(&t->tot, 0, sizeof(t->tot));
	memcpy(t->frames, frames, (size_t)n * sizeof(uint64_t));
	s->dir[local / DIR_PAGE][local % DIR_PAGE] = t;
	return t;
}

int
intern_trace(uint32_t gen, const uint64_t *frames, uint32_t n,
	     uint32_t total, uint32_t *idx)
{
	return intern_trace_hashed(gen, intern_hash(frames, n, total), frames,
				   n, total, idx);
}

int
intern_trace_hashed(uint32_t gen, uint64_t h, const uint64_t *frames,
		    uint32_t n, uint32_t total, uint32_t *idx)
{
	uint32_t si = (uint32_t)(h >> (64 - INTERN_SHARD_BITS));
	struct shard *s = &shards[si];
	uint32_t mask, j, local;
	uint64_t e, tag = (h >> 32) << 32;
	int rc = 0;

	lock_take(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
	if (unlikely(s->gen != gen)) {
		rc = -ESTALE;
		goto out;
	}
	if (unlikely((s->count + 1) * 2 > s->cap) && (rc = grow(s)) < 0)
		goto out;
	mask = s->cap - 1;
	for (j = (uint32_t)h & mask; (e = s->table[j]); j = (j + 1) & mask) {
		struct trace *t;

		if ((e & ~UINT64_C(0xffffffff)) != tag)
			continue;
		t = get_local(s, (uint32_t)e - 1);
		if (t->hash == h && t->nframes == n && t->total == total &&
		    !memcmp(t->frames, frames, (size_t)n * sizeof(uint64_t))) {
			*idx = ((uint32_t)e - 1) << INTERN_SHARD_BITS | si;
			goto out;
		}
	}
	local = s->count;
	if (local >= LOCAL_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	if (!add_record(s, h, frames, n, total)) {
		rc = -ENOMEM;
		goto out;
	}
	s->count++;
	s->table[j] = tag | (local + 1);
	*idx = local << INTERN_SHARD_BITS | si;
out:
	lock_give(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
	return rc;
}

const struct trace *
intern_get(uint32_t idx)
{
	struct shard *s = &shards[idx & (INTERN_SHARDS - 1)];
	uint32_t local = idx >> INTERN_SHARD_BITS;

	if (local >= s->count)
		return NULL;
	return get_local(s, local);
}

int
intern_totals_add(uint32_t gen, uint32_t idx, const struct intern_totals *a)
{
	struct shard *s = &shards[idx & (INTERN_SHARDS - 1)];
	uint32_t local = idx >> INTERN_SHARD_BITS;
	int rc = -ESTALE;

	lock_take(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
	if (s->gen == gen && local < s->count) {
		struct trace *t = get_local(s, local);

		t->tot.count += a->count;
		t->tot.bytes += a->bytes;
		t->tot.est_count += a->est_count;
		t->tot.est_bytes += a->est_bytes;
		rc = 0;
	}
	lock_give(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
	return rc;
}

void
intern_totals_get(uint32_t idx, struct intern_totals *out)
{
	struct shard *s = &shards[idx & (INTERN_SHARDS - 1)];
	uint32_t local = idx >> INTERN_SHARD_BITS;

	memset(out, 0, sizeof(*out));
	lock_take(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
	if (local < s->count)
		*out = get_local(s, local)->tot;
	lock_give(&s->lock, LOCK_RANK_INTERN, SHARD_IDX(s));
}

uint32_t
intern_idx_end(void)
{
	uint32_t i, end = 0;

	for (i = 0; i < INTERN_SHARDS; i++) {
		uint32_t c = __atomic_load_n(&shards[i].count,
					     __ATOMIC_RELAXED);

		if (c && ((c - 1) << INTERN_SHARD_BITS | i) + 1 > end)
			end = ((c - 1) << INTERN_SHARD_BITS | i) + 1;
	}
	return end;
}

uint64_t
intern_count(void)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < INTERN_SHARDS; i++)
		n += __atomic_load_n(&shards[i].count, __ATOMIC_RELAXED);
	return n;
}

uint64_t
intern_bytes(void)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < INTERN_SHARDS; i++)
		n += __atomic_load_n(&shards[i].bytes, __ATOMIC_RELAXED);
	return n;
}

void
intern_lock_all(void)
{
	uint32_t i;

	for (i = 0; i < INTERN_SHARDS; i++)
		lock_take(&shards[i].lock, LOCK_RANK_INTERN, i);
}

void
intern_unlock_all(void)
{
	uint32_t i;

	for (i = INTERN_SHARDS; i-- > 0;)
		lock_give(&shards[i].lock, LOCK_RANK_INTERN, i);
}

void
intern_reset_locks(void)
{
	uint32_t i;

	for (i = 0; i < INTERN_SHARDS; i++)
		lock_reset(&shards[i].lock);
}
