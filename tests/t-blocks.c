/* SPDX-License-Identifier: MIT */
/*
 * t-blocks.c - unit test of tracer/blocks.c: insert/remove/lookup, exact
 * current and peak, generations, packing limits, memory per block,
 * collection for snapshots, and concurrent use from 4 threads.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "tap.h"
#include "arena.h"
#include "blocks.h"

#define N 100000u

static struct block_rec recs[4 * N + 100];

static void *
ptr(uint64_t i)
{
	return (void *)(uintptr_t)(0x10000000u + i * 48);
}

static void *
worker(void *arg)
{
	uint64_t t = (uintptr_t)arg, i, base = (t + 1) * 10 * N;
	uint64_t sz;
	uint32_t idx;

	for (i = 0; i < N; i++)
		blocks_insert(1, ptr(base + i), 10 + t, (uint32_t)t);
	/* remove the odd ones */
	for (i = 1; i < N; i += 2)
		if (blocks_remove(1, ptr(base + i), &sz, &idx) != 0 ||
		    sz != 10 + t || idx != t)
			return (void *)1;
	return NULL;
}

int
main(void)
{
	uint64_t i, sz, n, missed, bad = 0, worst = 0;
	uint32_t idx;
	pthread_t th[4];
	void *res;

	blocks_reset(1);
	is_int(blocks_insert(1, ptr(1), 100, 7), 0, "insert");
	is_int(blocks_remove(1, ptr(2), NULL, NULL), -ENOENT,
	       "an unknown pointer is not found");
	is_int(blocks_remove(1, ptr(1), &sz, &idx), 0, "remove");
	ok(sz == 100 && idx == 7, "the record comes back: size and index");
	is_int(blocks_remove(1, ptr(1), NULL, NULL), -ENOENT,
	       "removed twice: not found");
	is_int(blocks_insert(2, ptr(1), 1, 1), -ESTALE,
	       "another generation is refused");
	is_int(blocks_insert(1, ptr(1), BLOCKS_SIZE_MAX + 1, 1), -E2BIG,
	       "a size beyond the packed field is refused");
	is_int(blocks_insert(1, ptr(1), 1, 1u << 24), -E2BIG,
	       "an index beyond the packed field is refused");
	is_int(blocks_current(), 0, "current back to 0");
	is_int(blocks_peak(), 100, "peak kept at 100");

	for (i = 0; i < N; i++) {
		if (blocks_insert(1, ptr(i), i % 1000 + 1, (uint32_t)(i % 77)))
			bad++;
		if (i >= 60000 && blocks_bytes() * 1000 / (i + 1) > worst)
			worst = blocks_bytes() * 1000 / (i + 1);
	}
	is_int(bad, 0, "100000 blocks inserted");
	is_int(blocks_count(), N, "count");
	ok(worst <= 32000, "at most 32 bytes per live block from 60000 "
	   "blocks on (worst %.1f)", worst / 1000.0);
	diag("table bytes per block at %u blocks: %.1f", N,
	     (double)blocks_bytes() / N);
	for (i = 0, bad = 0; i < N; i += 3)
		if (blocks_remove(1, ptr(i), &sz, &idx) ||
		    sz != i % 1000 + 1 ||
		    idx != i % 77)
			bad++;
	is_int(bad, 0, "every third block found with its size and index");
	{
		uint64_t want = 0, peak = 0;

		for (i = 0; i < N; i++) {
			peak += i % 1000 + 1;
			if (i % 3)
				want += i % 1000 + 1;
		}
		is_int(blocks_current(), want, "current is exact");
		is_int(blocks_peak(), peak, "peak is the exact maximum");
		blocks_collect_range(0, UINT32_MAX, recs, 4 * N, &n, &missed);
		is_int(n, blocks_count(), "collect copies every live block");
		is_int(missed, 0, "none missed");
		for (i = 0, sz = 0; i < n; i++)
			sz += recs[i].size;
		is_int(sz, want, "collected sizes add up to current");
		blocks_collect_range(0, UINT32_MAX, recs, 10, &n, &missed);
		ok(n == 10 && missed == blocks_count() - 10,
		   "a short buffer: the rest is counted as missed");
	}

	blocks_reset(3);
	is_int(blocks_count(), 0, "reset forgets");
	is_int(arena_bytes(), 0, "reset returns every byte");
	blocks_reset(1);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (i = 0, bad = 0; i < 4; i++) {
		pthread_join(th[i], &res);
		if (res)
			bad++;
	}
	is_int(bad, 0, "4 threads: every record found with its own data");
	is_int(blocks_count(), 4 * N / 2, "4 threads: count exact");
	is_int(blocks_current(), (N / 2) * (10 + 11 + 12 + 13),
	       "4 threads: current exact");
	blocks_reset(5);
	return done_testing();
}
