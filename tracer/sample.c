/* SPDX-License-Identifier: MIT */
/*
 * sample.c - sampled tracing (byte-based Poisson sampling, as Go's
 * MemProfileRate, tcmalloc and jemalloc's lg_prof_sample do it).
 *
 * Countdown: each thread keeps the bytes until its next sample.  An
 * allocation of s < R bytes subtracts s; when the countdown runs out the
 * block is sampled and a new gap is drawn from an exponential distribution
 * of mean R (per-thread xorshift64* generator; the gap restarts at the
 * block's end, which memorylessness makes exact: every block of s bytes
 * is sampled with probability 1 - exp(-s/R), independently).  A block of
 * s >= R bytes is always sampled and does not touch the countdown.  The
 * gap is held as sample_left (at most R) plus sample_rest: the hot path
 * subtracts from sample_left alone, so a block of at least R always
 * reaches sample_decide (one compare, not two), which moves on to the
 * rest.  A restart with a smaller rate leaves a thread's first part as it
 * was (another thread's TLS is not ours to reset): until that part runs
 * out, a block between the new rate and the old one may go unsampled.  HAWK_SAMPLE_SEED (or the linking API) fixes the
 * seed: thread k of a session (in the order threads first reach the slow
 * path) starts from splitmix64(seed + k), so a single-threaded program is
 * reproducible.
 *
 * The sampled live set is small (a 1 GiB heap at 512 KiB holds ~2000
 * sampled blocks) and sampled operations are rare (one per R bytes
 * allocated), so it is one table under one spinlock: open addressing,
 * linear probing, backward-shift deletion, power-of-two capacity grown at
 * half load; a record is 16 bytes (address, size << 24 | traceback).
 *
 * Free filter: a free in sampled mode must not probe that table.  Sampled
 * blocks are placed (sample.h: bits 5..9 of the address 0), so most
 * unsampled frees are told apart by their address (interpose_sample.c);
 * the rest (1 in 32 by chance, more where the chunks of freed sampled
 * blocks are reused) read a bitmap of 2^16 bits (8 KiB), bit h(p) set
 * while some sampled live block maps to it (h: the block's 1 KiB unit
 * modulo 2^16, sample.h); a 16-bit counter per bit (128 KiB, touched only
 * under the lock, by sampled inserts and removes) says when to clear it.
 * False positives (another sampled block on the same bit: ~n/65536, 3%
 * for 2000 sampled blocks) take the lock and miss in the small table.
 * While a sampled block that is not placed is live (counted here), free
 * reads the bitmap for every block (sample_free_switch).  Both arrays are
 * static: a reset clears them only if a block has been recorded since
 * the last one.
 *
 * Current and peak are estimated bytes: each sampled block adds
 * round(w(s) * s) (snap_weight).  The kept copy at the peak is replaced
 * whenever the estimated current exceeds the last kept value by more than
 * 1/32 of it, so it is always within 3.2% (and one block) of the peak.
 */
#include "config.h"

#include "sample.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "estimate.h"
#include "segment.h"

#define CAP_MIN 256u
#define IDX_BITS 24u
#define NBITS (1u << SAMPLE_FILTER_BITS)

uint64_t sample_rate;
__thread int64_t sample_left __attribute__((tls_model("initial-exec")));
/* the rest of the gap beyond sample_left */
static __thread uint64_t sample_rest __attribute__((tls_model("initial-exec")));
uint64_t sample_filter[NBITS / 64];

static __thread uint64_t rng __attribute__((tls_model("initial-exec")));
static __thread uint32_t rng_session
	__attribute__((tls_model("initial-exec")));

struct sent {
	uint64_t ptr;              /* 0 = empty */
	uint64_t meta;             /* size << IDX_BITS | idx */
};

static struct {
	struct lock lock;          /* protects the fields below */
	uint32_t gen;
	uint64_t cap, count;
	struct sent *tab;
	uint64_t current, peak, kept;
	struct block_rec *copy;    /* the live set when `kept` was reached */
	uint64_t copy_n, copy_cap;
	uint64_t copy_time_ns;
	uint64_t unplaced;         /* live blocks not sample_placed */
	struct {
		uint64_t p, usable;
	} keep[SAMPLE_KEEP_N];     /* chunks kept for samples (sample.h) */
	uint32_t keep_n;
	uint64_t keep_bytes;
	uint64_t keep_mask;        /* bit KEEP_H(p) set while some kept p */
	uint8_t keep_hits[64];     /*   maps there: how many */
	int dirty;                 /* counts/filter written since reset */
} ss __attribute__((aligned(64)));

static uint16_t counts[NBITS];    /* under ss.lock */

/* session of the countdowns: a thread whose rng_session differs draws a
 * fresh gap; seed and thread ordinal of the session */
static _Atomic uint32_t session;
static uint64_t session_seed;
static _Atomic uint64_t session_threads;

static uint64_t
splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* A gap of mean `rate` bytes, >= 1. */
static int64_t
draw(uint64_t rate)
{
	double u, g;

	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	/* uniform in (0, 1]: never log(0) */
	u = (double)(((rng * UINT64_C(0x2545f4914f6cdd1d)) >> 11) + 1) *
	    0x1.0p-53;
	g = -log(u) * (double)rate;
	if (g > 0x1.0p62)
		g = 0x1.0p62;
	return (int64_t)g + 1;
}

/* Load the countdown with `gap` bytes: at most the rate in sample_left,
 * the rest in sample_rest. */
static void
load_gap(uint64_t gap, uint64_t rate)
{
	uint64_t part = gap < rate ? gap : rate;

	sample_left = (int64_t)part;
	sample_rest = gap - part;
}

int
sample_decide(size_t size)
{
	uint64_t rate = __atomic_load_n(&sample_rate, __ATOMIC_RELAXED);
	uint32_t ses = atomic_load_explicit(&session, memory_order_acquire);
	uint64_t total;

	if (!rate)
		return 0;
	if (rng_session != ses) {
		uint64_t k = atomic_fetch_add(&session_threads, 1);

		rng = splitmix64(session_seed + k);
		if (!rng)
			rng = 1;
		rng_session = ses;
		load_gap((uint64_t)draw(rate), rate);
	}
	if (size >= rate)
		return 1;                /* always; the countdown untouched */
	/* a checkpoint: the block is sampled only if the whole gap is
	 * used up (sample_left > 0 here, and <= rate) */
	total = (uint64_t)sample_left + sample_rest;
	if (size < total) {
		load_gap(total - size, rate);
		return 0;
	}
	load_gap((uint64_t)draw(rate), rate);
	return 1;
}

static uint64_t
est_bytes(uint64_t size)
{
	return (uint64_t)llround(snap_weight(size, sample_rate) *
				 (double)size);
}

void
sample_reset(uint32_t gen, uint64_t rate, uint64_t seed)
{
	struct timespec ts;

	if (rate)
		sample_hooks_prepare();
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	arena_unmap(ss.tab, ss.cap * sizeof(struct sent));
	arena_unmap(ss.copy, ss.copy_cap * sizeof(struct block_rec));
	ss.tab = NULL;
	ss.copy = NULL;
	ss.cap = ss.count = ss.copy_n = ss.copy_cap = 0;
	ss.current = ss.peak = ss.kept = 0;
	ss.copy_time_ns = 0;
	ss.gen = gen;
	ss.unplaced = 0;
	/* static, so zero until the first sampled block (a start at load
	 * does not pay for clearing 136 KiB) */
	if (ss.dirty) {
		memset(counts, 0, sizeof(counts));
		memset(sample_filter, 0, sizeof(sample_filter));
		ss.dirty = 0;
	}
	if (!seed) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30;
	}
	session_seed = seed;
	atomic_store(&session_threads, 0);
	__atomic_store_n(&sample_rate, rate, __ATOMIC_RELAXED);
	atomic_fetch_add_explicit(&session, 1, memory_order_release);
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	/* the kept chunks' bits were cleared above: back to the allocator */
	sample_hooks_release();
}

static inline uint64_t
home(uint64_t p, uint64_t cap)
{
	return ((p >> 4) * UINT64_C(0x9e3779b97f4a7c15)) >> 32 & (cap - 1);
}

static void
place(struct sent *tab, uint64_t cap, uint64_t p, uint64_t meta)
{
	uint64_t j = home(p, cap);

	while (tab[j].ptr)
		j = (j + 1) & (cap - 1);
	tab[j].ptr = p;
	tab[j].meta = meta;
}

static int
grow(void)
{
	uint64_t ncap = ss.cap ? ss.cap * 2 : CAP_MIN, i;
	struct sent *nt = arena_map(ncap * sizeof(struct sent));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < ss.cap; i++)
		if (ss.tab[i].ptr)
			place(nt, ncap, ss.tab[i].ptr, ss.tab[i].meta);
	arena_unmap(ss.tab, ss.cap * sizeof(struct sent));
	ss.tab = nt;
	ss.cap = ncap;
	return 0;
}

/* Keep a copy of the live set (caller holds the lock). */
static void
keep_copy(void)
{
	struct timespec ts;
	uint64_t i, n = 0;

	if (ss.count > ss.copy_cap) {
		uint64_t ncap = ss.count * 2;
		struct block_rec *nc = arena_map(ncap *
						 sizeof(struct block_rec));

		if (!nc)
			return;          /* keep the older copy */
		arena_unmap(ss.copy, ss.copy_cap * sizeof(struct block_rec));
		ss.copy = nc;
		ss.copy_cap = ncap;
	}
	for (i = 0; i < ss.cap; i++) {
		if (!ss.tab[i].ptr)
			continue;
		ss.copy[n].size = ss.tab[i].meta >> IDX_BITS;
		ss.copy[n].idx = (uint32_t)(ss.tab[i].meta &
					    ((1u << IDX_BITS) - 1));
		ss.copy[n].pad = 0;
		n++;
	}
	ss.copy_n = n;
	ss.kept = ss.current;
	clock_gettime(CLOCK_REALTIME, &ts);
	ss.copy_time_ns = (uint64_t)ts.tv_sec * 1000000000u +
			  (uint64_t)ts.tv_nsec;
}

#define KEEP_H(p) ((uint32_t)((uintptr_t)(p) >> SAMPLE_ALIGN_BITS) & 63u)

/* Add / remove kept entry i's chunk (caller holds the lock). */
static void
keep_add(void *p, uint64_t usable)
{
	uint32_t h = KEEP_H(p);

	ss.keep[ss.keep_n].p = (uint64_t)(uintptr_t)p;
	ss.keep[ss.keep_n].usable = usable;
	ss.keep_n++;
	ss.keep_bytes += usable;
	if (ss.keep_hits[h]++ == 0)
		__atomic_store_n(&ss.keep_mask, ss.keep_mask | UINT64_C(1) << h,
				 __ATOMIC_RELAXED);
}

static void *
keep_del(uint32_t i)
{
	void *p = (void *)(uintptr_t)ss.keep[i].p;
	uint32_t h = KEEP_H(p);

	ss.keep_bytes -= ss.keep[i].usable;
	ss.keep[i] = ss.keep[--ss.keep_n];
	if (--ss.keep_hits[h] == 0)
		__atomic_store_n(&ss.keep_mask, ss.keep_mask & ~(UINT64_C(1) << h),
				 __ATOMIC_RELAXED);
	return p;
}

/* The filter's count of bit b up / down (caller holds the lock). */
static void
bit_up(uint32_t b)
{
	if (counts[b] != UINT16_MAX && counts[b]++ == 0)
		__atomic_fetch_or(&sample_filter[b / 64], UINT64_C(1) << (b % 64),
				  __ATOMIC_RELAXED);
}

static void
bit_down(uint32_t b)
{
	if (counts[b] != UINT16_MAX && --counts[b] == 0)
		__atomic_fetch_and(&sample_filter[b / 64],
				   ~(UINT64_C(1) << (b % 64)), __ATOMIC_RELAXED);
}

void *
sample_keep_take(size_t size)
{
	uint64_t best = UINT64_MAX, max = 2 * (uint64_t)size + 64;
	uint32_t i, at = 0;
	void *p = NULL;

	if (!__atomic_load_n(&ss.keep_n, __ATOMIC_RELAXED))
		return NULL;
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	for (i = 0; i < ss.keep_n; i++)
		if (ss.keep[i].usable >= size && ss.keep[i].usable <= max &&
		    ss.keep[i].usable < best) {
			best = ss.keep[i].usable;
			at = i;
		}
	if (best != UINT64_MAX) {
		p = keep_del(at);
		bit_down(sample_fhash(p));
	}
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return p;
}

int
sample_keep_put(void *p, size_t usable)
{
	int ok = 0;

	if (usable > SAMPLE_KEEP_MAX || !sample_placed(p) || !p)
		return 0;
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	if (__atomic_load_n(&sample_rate, __ATOMIC_RELAXED) &&
	    ss.keep_n < SAMPLE_KEEP_N) {
		keep_add(p, usable);
		ss.dirty = 1;
		bit_up(sample_fhash(p));
		ok = 1;
	}
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return ok;
}

int
sample_keep_drop(void *p, void **out)
{
	uint32_t i;
	int found = 0;

	/* the common case, a block the filter let through that is not
	 * kept: one load */
	if (p ? !(__atomic_load_n(&ss.keep_mask, __ATOMIC_RELAXED) >>
		  KEEP_H(p) & 1) :
		!__atomic_load_n(&ss.keep_n, __ATOMIC_RELAXED))
		return 0;
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	for (i = 0; i < ss.keep_n; i++)
		if (!p || ss.keep[i].p == (uint64_t)(uintptr_t)p) {
			void *q = keep_del(i);

			bit_down(sample_fhash(q));
			if (out)
				*out = q;
			found = 1;
			break;
		}
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return found;
}

int
sample_insert(uint32_t gen, const void *ptr, size_t size, uint32_t idx)
{
	uint64_t p = (uint64_t)(uintptr_t)ptr;
	uint32_t b = sample_fhash(ptr);
	int rc = 0;

	if (unlikely(size > BLOCKS_SIZE_MAX || idx >= (1u << IDX_BITS) || !p))
		return -E2BIG;
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	if (unlikely(ss.gen != gen)) {
		rc = -ESTALE;
		goto out;
	}
	if ((ss.count + 1) * 2 > ss.cap && (rc = grow()) < 0)
		goto out;
	place(ss.tab, ss.cap, p, (uint64_t)size << IDX_BITS | idx);
	ss.count++;
	ss.dirty = 1;
	if (!sample_placed(ptr))
		ss.unplaced++;
	sample_free_switch(ss.unplaced != 0);
	bit_up(b);
	ss.current += est_bytes(size);
	if (ss.current > ss.peak)
		ss.peak = ss.current;
	if (ss.current > ss.kept + ss.kept / 32)
		keep_copy();
out:
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return rc;
}

int
sample_remove(uint32_t gen, const void *ptr, uint64_t *size, uint32_t *idx)
{
	uint64_t p = (uint64_t)(uintptr_t)ptr, j, k, sz;
	uint32_t b = sample_fhash(ptr);
	int rc = -ENOENT;

	if (unlikely(!p))
		return rc;
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	if (unlikely(ss.gen != gen)) {
		rc = -ESTALE;
		goto out;
	}
	if (!ss.count)
		goto out;
	for (j = home(p, ss.cap); ss.tab[j].ptr != p;
	     j = (j + 1) & (ss.cap - 1))
		if (!ss.tab[j].ptr)
			goto out;
	sz = ss.tab[j].meta >> IDX_BITS;
	if (size)
		*size = sz;
	if (idx)
		*idx = (uint32_t)(ss.tab[j].meta & ((1u << IDX_BITS) - 1));
	/* backward shift: move back every record of the run that may live
	 * at j (its home is not in (j, k]) */
	for (k = (j + 1) & (ss.cap - 1); ss.tab[k].ptr;
	     k = (k + 1) & (ss.cap - 1)) {
		uint64_t h = home(ss.tab[k].ptr, ss.cap);

		if (j <= k ? (h > j && h <= k) : (h > j || h <= k))
			continue;
		ss.tab[j] = ss.tab[k];
		j = k;
	}
	ss.tab[j].ptr = 0;
	ss.tab[j].meta = 0;
	ss.count--;
	if (!sample_placed(ptr) && --ss.unplaced == 0)
		sample_free_switch(0);
	bit_down(b);
	ss.current -= est_bytes(sz);
	rc = 0;
out:
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return rc;
}

uint64_t
sample_current(void)
{
	return __atomic_load_n(&ss.current, __ATOMIC_RELAXED);
}

uint64_t
sample_peak(void)
{
	return __atomic_load_n(&ss.peak, __ATOMIC_RELAXED);
}

uint64_t
sample_count(void)
{
	return __atomic_load_n(&ss.count, __ATOMIC_RELAXED);
}

uint64_t
sample_bytes(void)
{
	uint64_t n;

	/* the table and the copy come from arena_map (counted there); the
	 * filter and its counters are static: count the pages in use */
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	n = ss.cap || ss.copy_cap ? sizeof(sample_filter) + sizeof(counts) :
	    0;
	n += ss.keep_bytes;
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return n;
}

uint64_t
sample_table_bytes(void)
{
	uint64_t n;

	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	n = arena_round(ss.cap * sizeof(struct sent)) +
	    arena_round(ss.copy_cap * sizeof(struct block_rec));
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return n;
}

uint64_t
sample_collect_count(int peak)
{
	uint64_t n;

	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	n = peak ? ss.copy_n : ss.count;
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	return n;
}

void
sample_collect(int peak, struct block_rec *out, uint64_t cap, uint64_t *n,
	       uint64_t *missed, uint64_t *time_ns)
{
	uint64_t got = 0, miss = 0, i;

	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
	if (peak) {
		for (i = 0; i < ss.copy_n; i++) {
			if (got == cap) {
				miss++;
				continue;
			}
			out[got++] = ss.copy[i];
		}
		*time_ns = ss.copy_time_ns;
	} else {
		for (i = 0; i < ss.cap; i++) {
			if (!ss.tab[i].ptr)
				continue;
			if (got == cap) {
				miss++;
				continue;
			}
			out[got].size = ss.tab[i].meta >> IDX_BITS;
			out[got].idx = (uint32_t)(ss.tab[i].meta &
						  ((1u << IDX_BITS) - 1));
			out[got].pad = 0;
			got++;
		}
		*time_ns = 0;
	}
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
	*n = got;
	*missed = miss;
}

void
sample_lock_all(void)
{
	lock_take(&ss.lock, LOCK_RANK_SAMPLE, 0);
}

void
sample_unlock_all(void)
{
	lock_give(&ss.lock, LOCK_RANK_SAMPLE, 0);
}

void
sample_reset_locks(void)
{
	lock_reset(&ss.lock);
}
