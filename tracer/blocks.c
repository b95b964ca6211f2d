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
 * Collection (snapshots): walks that hold a shard's lock for one slice
 * of ~BLOCKS_SLICE slots at a time, ordered by a key that no insert,
 * deletion or grow changes (see "The collection walk" below); they leave
 * the hot path as it was.  A grow maps and faults in the new table and
 * unmaps the old one without the lock; it still rehashes under it (at
 * 10 M blocks a shard of ~150,000 records: ~0.7 ms of CPU), only while
 * the live set grows past a shard's 3/4 mark, never for a snapshot.
 *
 * Invariants: memory from arena_map only; a shard's table is touched only
 * under its lock and only when the shard's generation is the caller's;
 * nothing but memory accesses and mmap/munmap under a lock.
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
		struct entry *tab;
		uint64_t cap;

		lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		tab = s->tab;
		cap = s->cap;
		s->tab = NULL;
		s->cap = s->count = 0;
		s->gen = gen;
		lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		/* unmapped without the lock: nobody can reach it now (the
		 * prefetch reads the old pointer racily, harmlessly) */
		arena_unmap(tab, cap * sizeof(struct entry));
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

/* Add a record's size to current, and raise the peak if it passed it. */
static inline void
account(uint64_t size)
{
	uint64_t cur = atomic_fetch_add_explicit(&counters.current, size,
						 memory_order_relaxed) + size;
	uint64_t pk = atomic_load_explicit(&counters.peak,
					   memory_order_relaxed);

	while (cur > pk &&
	       !atomic_compare_exchange_weak_explicit(&counters.peak, &pk, cur,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/*
 * blocks_insert's slow path: the shard s (locked, generation gen) is
 * full.  The new table is mapped and its pages faulted in with the lock
 * given back, and the old one unmapped after it is given again: under
 * the lock only the rehash (at 10 M blocks a 150,000-record shard: 0.7-0.9
 * ms of CPU, where the whole grow under the lock took 2.5-2.7 ms, 1.5 of
 * them faulting the new table's pages in).  Another
 * thread may have grown or reset the shard meanwhile: then the table
 * mapped here is dropped and the state looked at again.  Gives the lock.
 */
static __attribute__((noinline, cold)) int
insert_grow(struct shard *s, uint32_t gen, uint64_t p, uint64_t meta,
	    uint64_t size)
{
	for (;;) {
		uint64_t cap = s->cap, ncap = cap ? cap + cap / 2 : CAP_MIN;
		uint64_t i, ocap = 0;
		size_t bytes = ncap * sizeof(struct entry);
		struct entry *nt, *old = NULL;
		int rc = 0;

		lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		nt = arena_map(bytes);
		if (!nt)
			return -ENOMEM;
		for (i = 0; i < bytes; i += 4096)
			((volatile char *)nt)[i] = 0;
		lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		if (s->gen != gen) {
			rc = -ESTALE;
		} else if (s->cap == cap) {
			for (i = 0; i < cap; i++)
				if (s->tab[i].ptr)
					place(nt, ncap, ADDR(s->tab[i].ptr),
					      s->tab[i].meta);
			old = s->tab;
			ocap = cap;
			s->tab = nt;
			s->cap = ncap;
			nt = NULL;
		}
		if (rc == 0 && (s->count + 1) * 4 <= s->cap * 3) {
			place(s->tab, s->cap, p, meta);
			s->count++;
			account(size);
			rc = 1;
		}
		lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		arena_unmap(old, ocap * sizeof(struct entry));
		arena_unmap(nt, bytes);
		if (rc)
			return rc < 0 ? rc : 0;
		/* grown by another thread, and full again: once more */
		lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
		if (s->gen != gen) {
			lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
			return -ESTALE;
		}
		if ((s->count + 1) * 4 <= s->cap * 3) {
			place(s->tab, s->cap, p, meta);
			s->count++;
			account(size);
			lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
			return 0;
		}
	}
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
	uint64_t p = (uint64_t)(uintptr_t)ptr;
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
	if (unlikely((s->count + 1) * 4 > s->cap * 3))
		return insert_grow(s, gen, p,
				   (uint64_t)size << IDX_BITS | idx, size);
	place(s->tab, s->cap, p, (uint64_t)size << IDX_BITS | idx);
	s->count++;
	account(size);
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

/*
 * The collection walk.  A shard's records are visited in slices, the lock
 * held for one slice at a time, and the table may change between slices:
 * inserts shift records forward (wrapping past the end), backward-shift
 * deletions move them back, a grow rehashes all of them into a table of
 * another size.  A cursor that is a slot number is therefore unsound (a
 * record shifted across it is seen twice or never, and a grow moves
 * everything).  The cursor is a key instead: key(p) = the page hash's bits
 * below the shard's, a function of the pointer alone, whatever the
 * table's size.  A slice takes the records whose key is in [from, to),
 * and the next slice starts at `to`, so the slices' key ranges partition
 * the key space and a record that stays put is in exactly one of them.
 *
 * Finding a key range's records under the lock: home_of's first term,
 * base = (key * cap) >> 64, grows with the key, and the in-page offset
 * adds 0..255, so the records of keys [from, to) have their home slots in
 * the span of cyclic offsets [0, b1 - b0 + 256) from b0 = base(from)
 * (b1 = base(to - 1)).  Linear probing puts a record at or after its home
 * with every slot in between occupied, so visiting every slot of the span
 * and then on until an empty slot sees each of them - and each slot once
 * (at most cap slots); the key test then keeps exactly the range's.  The
 * range's width is chosen, from the current cap, to cover BLOCKS_SLICE
 * home slots: a hold visits about BLOCKS_SLICE + 256 slots plus a run's
 * tail, at most 3/4 full.  A walk costs one page hash per record more than
 * a plain sweep, and each record is visited ~1.06 times.
 *
 * Under the lock a slice only copies the kept records' packed size and
 * index into the walker's scratch; sums and copies into the caller's
 * memory (random access into a traceback array: cache misses) happen
 * after the lock is given back.  If a slice ever holds more records than
 * the scratch (a run's tail far longer than a 3/4-full table makes), the
 * scratch is handed over under the lock and refilled: correct, longer.
 */
#define SCRATCH   (2 * BLOCKS_SLICE + 512)

typedef void (*visit_fn)(void *arg, const uint64_t *meta, size_t n);

static inline uint64_t
key_of(uint64_t p)
{
	return page_hash(p) << BLOCKS_SHARD_BITS;
}

#ifdef BLOCKS_HOLD_STATS
#include <time.h>

static struct {
	_Atomic uint64_t holds, max_ns, sum_ns, max_cpu_ns, over_1ms,
		over_5ms;
} hold;

static uint64_t
hold_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
hold_max(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t o = atomic_load_explicit(m, memory_order_relaxed);

	while (v > o && !atomic_compare_exchange_weak_explicit(
		       m, &o, v, memory_order_relaxed, memory_order_relaxed))
		;
}

static void
hold_note(uint64_t t0, uint64_t c0)
{
	uint64_t ns = hold_now(CLOCK_MONOTONIC) - t0;

	hold_max(&hold.max_cpu_ns, hold_now(CLOCK_THREAD_CPUTIME_ID) - c0);
	hold_max(&hold.max_ns, ns);
	atomic_fetch_add_explicit(&hold.holds, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hold.sum_ns, ns, memory_order_relaxed);
	if (ns > 1000000)
		atomic_fetch_add_explicit(&hold.over_1ms, 1,
					  memory_order_relaxed);
	if (ns > 5000000)
		atomic_fetch_add_explicit(&hold.over_5ms, 1,
					  memory_order_relaxed);
}

HAWK_EXPORT void
blocks_hold_get(struct blocks_hold *h)
{
	h->holds = atomic_load(&hold.holds);
	h->max_ns = atomic_load(&hold.max_ns);
	h->sum_ns = atomic_load(&hold.sum_ns);
	h->max_cpu_ns = atomic_load(&hold.max_cpu_ns);
	h->over_1ms = atomic_load(&hold.over_1ms);
	h->over_5ms = atomic_load(&hold.over_5ms);
}

HAWK_EXPORT void
blocks_hold_reset(void)
{
	atomic_store(&hold.holds, 0);
	atomic_store(&hold.max_ns, 0);
	atomic_store(&hold.sum_ns, 0);
	atomic_store(&hold.max_cpu_ns, 0);
	atomic_store(&hold.over_1ms, 0);
	atomic_store(&hold.over_5ms, 0);
}
#define HOLD_START() uint64_t hold_t0 = hold_now(CLOCK_MONOTONIC), \
			     hold_c0 = hold_now(CLOCK_THREAD_CPUTIME_ID)
#define HOLD_END()   hold_note(hold_t0, hold_c0)
#else
#define HOLD_START() do { } while (0)
#define HOLD_END()   do { } while (0)
#endif

/*
 * One slice of shard s: the records whose key is in [*from, to) go to fn
 * (through buf, SCRATCH entries); *from becomes `to`.  Returns 1 when the
 * slice reached the end of the key space (the shard is done), else 0.
 */
static int
walk_slice(struct shard *s, uint64_t *from, uint64_t *buf, visit_fn fn,
	   void *arg)
{
	uint64_t f0 = *from, f1 = 0, cap, step, b0, b1, span, j, k;
	size_t n = 0;
	int last = 1;
	const struct entry *tab;

	lock_take(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	HOLD_START();
	cap = s->cap;
	tab = s->tab;
	if (!s->count)
		goto out;          /* nothing left to see in this shard */
	/* keys per slice: 2^64 * BLOCKS_SLICE / cap (0: the rest at once) */
	step = cap <= BLOCKS_SLICE ? 0 :
	       (uint64_t)(((unsigned __int128)BLOCKS_SLICE << 64) / cap);
	if (step && f0 + step > f0) {
		f1 = f0 + step;
		last = 0;
	}
	b0 = (uint64_t)(((unsigned __int128)f0 * cap) >> 64);
	b1 = last ? cap - 1 :
	     (uint64_t)(((unsigned __int128)(f1 - 1) * cap) >> 64);
	span = b1 - b0 + 256;
	for (k = 0, j = b0; k < cap; k++) {
		uint64_t x = tab[j].ptr;

		if (x) {
			uint64_t key = key_of(ADDR(x));

			if (key >= f0 && (last || key < f1)) {
				if (unlikely(n == SCRATCH)) {
					fn(arg, buf, n);
					n = 0;
				}
				buf[n++] = tab[j].meta;
			}
		} else if (k >= span) {
			break;
		}
		j = j + 1 == cap ? 0 : j + 1;
	}
out:
	HOLD_END();
	lock_give(&s->lock, LOCK_RANK_BLOCKS, SHARD_IDX(s));
	if (n)
		fn(arg, buf, n);
	*from = f1;
	return last;
}

/* Every live record's meta to fn, shard by shard, slice by slice. */
static int
walk(visit_fn fn, void *arg)
{
	size_t bytes = arena_round(SCRATCH * sizeof(uint64_t));
	uint64_t *buf = arena_map(bytes);
	uint32_t i;

	if (!buf)
		return -ENOMEM;
	/* fault its pages in now, not under a lock */
	for (i = 0; i < bytes; i += 4096)
		((volatile char *)buf)[i] = 0;
	for (i = 0; i < BLOCKS_SHARDS; i++) {
		uint64_t from = 0;

		while (!walk_slice(&shards[i], &from, buf, fn, arg))
			;
	}
	arena_unmap(buf, bytes);
	return 0;
}

#define META_IDX(m)  ((uint32_t)((m) & ((1u << IDX_BITS) - 1)))
#define META_SIZE(m) ((m) >> IDX_BITS)

struct sum_arg {
	struct blocks_sum *sums;
	uint32_t n;
	uint64_t missed;
};

static void
sum_visit(void *arg, const uint64_t *meta, size_t n)
{
	struct sum_arg *a = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t idx = META_IDX(meta[i]);

		if (idx < a->n) {
			a->sums[idx].count++;
			a->sums[idx].bytes += META_SIZE(meta[i]);
		} else {
			a->missed++;
		}
	}
}

int
blocks_sum(struct blocks_sum *sums, uint32_t n, uint64_t *missed)
{
	struct sum_arg a = { sums, n, 0 };
	int rc = walk(sum_visit, &a);

	*missed = rc < 0 ? blocks_count() : a.missed;
	return rc;
}

struct range_arg {
	uint32_t lo, hi;
	struct block_rec *out;     /* records, or NULL: sizes by index */
	uint64_t cap, n;
	uint64_t *sizes, *next;
	const uint64_t *end;
	uint64_t missed;
};

static void
range_visit(void *arg, const uint64_t *meta, size_t n)
{
	struct range_arg *a = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t idx = META_IDX(meta[i]);

		if (idx < a->lo || idx >= a->hi)
			continue;
		if (a->out) {
			struct block_rec *r;

			if (a->n == a->cap) {
				a->missed++;
				continue;
			}
			r = &a->out[a->n++];
			r->size = META_SIZE(meta[i]);
			r->idx = idx;
			r->pad = 0;
		} else {
			uint64_t *at = &a->next[idx - a->lo];

			if (*at < a->end[idx - a->lo])
				a->sizes[(*at)++] = META_SIZE(meta[i]);
			else
				a->missed++;
		}
	}
}

int
blocks_collect_range(uint32_t lo, uint32_t hi, struct block_rec *out,
		     uint64_t cap, uint64_t *n, uint64_t *missed)
{
	struct range_arg a = { .lo = lo, .hi = hi, .out = out, .cap = cap };
	int rc = walk(range_visit, &a);

	*n = a.n;
	*missed = rc < 0 ? blocks_count() : a.missed;
	return rc;
}

struct chunk_arg {
	uint32_t lo, hi;
	uint64_t *sizes, cap, n;
	uint64_t over;             /* the slice's blocks that did not fit */
};

static void
chunk_visit(void *arg, const uint64_t *meta, size_t n)
{
	struct chunk_arg *a = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t idx = META_IDX(meta[i]);

		if (idx < a->lo || idx >= a->hi)
			continue;
		if (a->n < a->cap)
			a->sizes[a->n++] = META_SIZE(meta[i]);
		else
			a->over++;
	}
}

/*
 * The walk of blocks_collect_sizes_at: slice after slice from the cursor,
 * as walk() does.  A slice whose blocks do not all fit is taken back (the
 * sizes it stored are left to be overwritten) and the cursor left at its
 * first key, so the next call takes it whole: slices are never split, and
 * a block that stays put is taken by exactly one call, however the table
 * changes in between (the cursor is a key, as walk_slice's).  Only a
 * slice that alone holds more than `cap` of the range's blocks (not seen
 * with cap >= SCRATCH: a slice visits about BLOCKS_SLICE + 256 slots) is
 * taken in part, the rest missed.
 */
int
blocks_collect_sizes_at(uint32_t lo, uint32_t hi, struct blocks_cursor *cur,
			uint64_t *sizes, uint64_t cap, uint64_t *n,
			uint64_t *missed)
{
	size_t bytes = arena_round(SCRATCH * sizeof(uint64_t)), i;
	uint64_t *buf;
	struct chunk_arg a = { .lo = lo, .hi = hi, .sizes = sizes,
			       .cap = cap };

	*n = 0;
	*missed = 0;
	if (cur->shard >= BLOCKS_SHARDS)
		return 0;          /* the walk is over */
	buf = arena_map(bytes);
	if (!buf) {
		*missed = blocks_count();
		return -ENOMEM;
	}
	/* fault its pages in now, not under a lock (as walk()) */
	for (i = 0; i < bytes; i += 4096)
		((volatile char *)buf)[i] = 0;
	while (cur->shard < BLOCKS_SHARDS && a.n < cap) {
		uint64_t n0 = a.n, from0 = cur->from;
		int last;

		a.over = 0;
		last = walk_slice(&shards[cur->shard], &cur->from, buf,
				  chunk_visit, &a);
		if (a.over && n0) {
			a.n = n0;  /* the next call takes this slice */
			cur->from = from0;
			break;
		}
		*missed += a.over;
		if (last) {
			cur->shard++;
			cur->from = 0;
		}
	}
	arena_unmap(buf, bytes);
	*n = a.n;
	return 0;
}

int
blocks_collect_sizes(uint32_t lo, uint32_t hi, uint64_t *sizes,
		     uint64_t *next, const uint64_t *end, uint64_t *missed)
{
	struct range_arg a = { .lo = lo, .hi = hi, .sizes = sizes,
			       .next = next, .end = end };
	int rc = walk(range_visit, &a);

	*missed = rc < 0 ? blocks_count() : a.missed;
	return rc;
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
