/* SPDX-License-Identifier: MIT */
/*
 * t-blocks-scan.c - tracer/blocks.c's sliced collection walks
 * (blocks_sum, blocks_collect_range, blocks_collect_sizes), built with
 * slices of 64 home slots so that a shard takes many lock holds:
 *
 * 1. on a still table, every function's exact figures (sums per index,
 *    records of an index range, sizes grouped by index, what is missed
 *    when the caller's room is short);
 * 2. three threads insert and remove blocks that share pages (so slots
 *    and runs) with a set of blocks left untouched, growing every shard
 *    several times, while a fourth walks the table without pause: every
 *    walk must report each untouched block exactly once - no more, no
 *    less - whatever moved between its slices.  Rounds start from a reset
 *    so that the shards grow again in each.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "arena.h"
#include "blocks.h"

#define NS       40000u        /* untouched blocks: index i, size i % 97 + 1 */
#define CHURNERS 3u
#define OPS      150000u       /* per churner and round */
#define ROUNDS   24u

/* The untouched block i is the first 16 bytes of a 64-byte cell whose
 * other three quarters belong to the churners: they share its page, and
 * so its run of home slots. */
static uint64_t
stable_ptr(uint64_t i)
{
	return 0x200000000u + i * 64;
}

static uint64_t
churn_ptr(uint64_t t, uint64_t i)
{
	return 0x200000000u + i * 64 + (t + 1) * 16;
}

static struct blocks_sum sums[NS];
static uint64_t next_[NS], end_[NS], sizes[NS];
static struct block_rec recs[NS + 1000];

static atomic_int go, stop_;
static uint32_t gen;

/* xorshift64 */
static uint64_t
rnd(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

static void *
churner(void *arg)
{
	uint64_t t = (uintptr_t)arg, r = 0x9e3779b97f4a7c15u * (t + 1), k;
	uint64_t *live = calloc(OPS, sizeof(*live)), nlive = 0, made = 0;
	long bad = 0;

	while (!atomic_load(&go))
		;
	for (k = 0; k < OPS; k++) {
		if (nlive == 0 || rnd(&r) % 10 < 7) {
			/* new cells first fill the untouched blocks' pages,
			 * then go beyond them */
			uint64_t p = churn_ptr(t, made++);

			if (blocks_insert(gen, (void *)(uintptr_t)p,
					  (size_t)(rnd(&r) % 500 + 1),
					  NS + (uint32_t)t))
				bad++;
			live[nlive++] = p;
		} else {
			uint64_t j = rnd(&r) % nlive;

			if (blocks_remove(gen, (void *)(uintptr_t)live[j],
					  NULL, NULL))
				bad++;
			live[j] = live[--nlive];
		}
	}
	free(live);
	return (void *)bad;
}

struct verdict {
	uint64_t walks, wrong, grown;
};

/* One walk of kind w (0 sum, 1 range, 2 sizes): 1 when every untouched
 * block was reported exactly once, with its size. */
static int
walk_once(int w)
{
	uint64_t i, n, missed;

	switch (w) {
	case 0:
		for (i = 0; i < NS; i++)
			sums[i].count = sums[i].bytes = 0;
		if (blocks_sum(sums, NS, &missed))
			return 0;
		for (i = 0; i < NS; i++)
			if (sums[i].count != 1 || sums[i].bytes != i % 97 + 1)
				return 0;
		return 1;
	case 1:
		for (i = 0; i < NS; i++)
			sums[i].count = 0;
		if (blocks_collect_range(0, NS, recs, NS + 1000, &n, &missed) ||
		    missed)
			return 0;
		for (i = 0; i < n; i++) {
			if (recs[i].size != recs[i].idx % 97 + 1)
				return 0;
			sums[recs[i].idx].count++;
		}
		for (i = 0; i < NS; i++)
			if (sums[i].count != 1)
				return 0;
		return n == NS;
	default:
		for (i = 0; i < NS; i++) {
			next_[i] = i;
			end_[i] = i + 1;
		}
		/* a block reported twice finds its place taken: missed */
		if (blocks_collect_sizes(0, NS, sizes, next_, end_, &missed) ||
		    missed)
			return 0;
		for (i = 0; i < NS; i++)
			if (next_[i] != i + 1 || sizes[i] != i % 97 + 1)
				return 0;
		return 1;
	}
}

static void *
walker(void *arg)
{
	struct verdict *v = arg;

	atomic_store(&go, 1);
	while (!atomic_load(&stop_)) {
		uint64_t b0 = blocks_bytes();

		if (!walk_once((int)(v->walks % 3)))
			v->wrong++;
		if (blocks_bytes() != b0)
			v->grown++;
		v->walks++;
	}
	return NULL;
}

static void
still_table(void)
{
	uint64_t i, n, missed, bytes = 0, bad = 0;

	blocks_reset(1);
	for (i = 0; i < 100000; i++)
		if (blocks_insert(1, (void *)(uintptr_t)(0x10000000u + i * 48),
				  i % 1000 + 1, (uint32_t)(i % 77)))
			bad++;
	is_int(bad, 0, "still table: 100000 blocks over 77 indices");

	for (i = 0; i < 77; i++)
		sums[i].count = sums[i].bytes = 0;
	is_int(blocks_sum(sums, 77, &missed), 0, "blocks_sum");
	for (i = 0, bad = 0; i < 77; i++) {
		uint64_t c = 0, b = 0, k;

		for (k = i; k < 100000; k += 77) {
			c++;
			b += k % 1000 + 1;
		}
		if (sums[i].count != c || sums[i].bytes != b)
			bad++;
	}
	is_int(bad, 0, "blocks_sum: each index's exact count and bytes");
	is_int(missed, 0, "blocks_sum: none missed");
	for (i = 0; i < 10; i++)
		sums[i].count = sums[i].bytes = 0;
	blocks_sum(sums, 10, &missed);
	is_int(missed, 100000 - 10 * 1299,
	       "blocks_sum: the blocks of indices beyond the array are missed");

	is_int(blocks_collect_range(10, 20, recs, NS, &n, &missed), 0,
	       "blocks_collect_range");
	for (i = 0, bad = 0; i < n; i++) {
		bytes += recs[i].size;
		if (recs[i].idx < 10 || recs[i].idx >= 20)
			bad++;
	}
	ok(n == 10 * 1299 && missed == 0 && bad == 0,
	   "blocks_collect_range: the blocks of indices 10..19, all of them "
	   "(%llu)", (unsigned long long)n);
	{
		uint64_t want = 0;

		for (i = 0; i < 100000; i++)
			if (i % 77 >= 10 && i % 77 < 20)
				want += i % 1000 + 1;
		is_int(bytes, want, "blocks_collect_range: their sizes");
	}
	blocks_collect_range(10, 20, recs, 1000, &n, &missed);
	ok(n == 1000 && missed == 10 * 1299 - 1000,
	   "blocks_collect_range: a short buffer counts the rest as missed");

	/* sizes of indices 5..7 grouped; index 6's group one short */
	next_[0] = 0;
	end_[0] = 1299;
	next_[1] = 1299;
	end_[1] = 2 * 1299 - 1;
	next_[2] = 2 * 1299 - 1;
	end_[2] = 3 * 1299 - 1;
	is_int(blocks_collect_sizes(5, 8, sizes, next_, end_, &missed), 0,
	       "blocks_collect_sizes");
	ok(next_[0] == 1299 && next_[1] == 2 * 1299 - 1 &&
	   next_[2] == 3 * 1299 - 1 && missed == 1,
	   "blocks_collect_sizes: every group filled, the one that is short "
	   "of room misses one block");
	for (i = 0, bad = 0; i < 3 * 1299 - 1; i++) {
		uint64_t x = i < 1299 ? 5 : i < 2 * 1299 - 1 ? 6 : 7, k, hit = 0;

		/* a block of index x has size k % 1000 + 1, k % 77 == x */
		for (k = x; k < 100000 && !hit; k += 77)
			hit = sizes[i] == k % 1000 + 1;
		if (!hit)
			bad++;
	}
	is_int(bad, 0, "blocks_collect_sizes: each size in its index's group");
}

int
main(void)
{
	struct verdict v = { 0, 0, 0 };
	uint64_t i, bad = 0, churn_bad = 0;
	struct blocks_hold h;
	uint32_t r;

	still_table();

	blocks_hold_reset();
	for (r = 0; r < ROUNDS; r++) {
		pthread_t th[CHURNERS], w;
		void *res;

		gen = 10 + r;
		blocks_reset(gen);
		for (i = 0; i < NS; i++)
			if (blocks_insert(gen, (void *)(uintptr_t)stable_ptr(i),
					  i % 97 + 1, (uint32_t)i))
				bad++;
		atomic_store(&go, 0);
		atomic_store(&stop_, 0);
		for (i = 0; i < CHURNERS; i++)
			pthread_create(&th[i], NULL, churner,
				       (void *)(uintptr_t)i);
		pthread_create(&w, NULL, walker, &v);
		for (i = 0; i < CHURNERS; i++) {
			pthread_join(th[i], &res);
			churn_bad += (uintptr_t)res;
		}
		atomic_store(&stop_, 1);
		pthread_join(w, NULL);
		/* and once more with the table still */
		if (!walk_once(0) || !walk_once(1) || !walk_once(2))
			v.wrong++;
	}
	is_int(bad + churn_bad, 0, "every insert and remove succeeded");
	ok(v.walks >= ROUNDS, "%llu walks ran alongside the churn",
	   (unsigned long long)v.walks);
	is_int(v.wrong, 0, "every walk saw each of the %u untouched blocks "
	       "exactly once, with its size", NS);
	diag("%llu of the walks saw the table grow meanwhile",
	     (unsigned long long)v.grown);
	blocks_hold_get(&h);
	diag("lock holds of the walks (slices of %u home slots): %llu, "
	     "longest %.1f us (on CPU %.1f us), mean %.2f us", BLOCKS_SLICE,
	     (unsigned long long)h.holds, h.max_ns / 1e3, h.max_cpu_ns / 1e3,
	     h.holds ? h.sum_ns / 1e3 / (double)h.holds : 0.0);
	blocks_reset(1000);
	is_int(arena_bytes(), 0, "reset returns every byte");
	return done_testing();
}
