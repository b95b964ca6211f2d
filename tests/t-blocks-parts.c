/* SPDX-License-Identifier: MIT */
/*
 * t-blocks-parts.c - blocks_collect_sizes_at (tracer/blocks.c): one
 * index's sizes taken in parts that resume where the last stopped, as the
 * snapshot writer takes a traceback with more blocks than its buffer
 * (tracer/snapshot.c).  Built with slices of 64 home slots, so that a
 * part ends on many slices that do not fit:
 *
 * 1. on a still table: every block of the index exactly once over the
 *    parts, none of another index, no part over its room, parts that stop
 *    short of it (a slice taken back whole) and an empty last one; a
 *    room smaller than one slice's blocks takes what fits and counts the
 *    rest as missed, never more than the room;
 * 2. three threads insert and remove blocks of other indices that share
 *    pages (so slots and runs) with the index's blocks, growing every
 *    shard several times, while a fourth takes the index in parts without
 *    pause: every walk must report each of its blocks exactly once,
 *    whatever moved between the parts and between the slices.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "arena.h"
#include "blocks.h"

#define NS       40000u        /* index 0's blocks: block i has size i + 1 */
#define ROOM     700u          /* sizes per part */
#define CHURNERS 3u
#define OPS      150000u       /* per churner and round */
#define ROUNDS   12u

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

static uint64_t part[ROOM];
static uint8_t seen[NS];
static atomic_int go, stop_;
static uint32_t gen;

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
			uint64_t p = churn_ptr(t, made++);

			if (blocks_insert(gen, (void *)(uintptr_t)p,
					  (size_t)(rnd(&r) % 500 + 1),
					  1 + (uint32_t)t))
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

struct tally {
	uint64_t parts, short_parts, got, missed, over, foreign;
	int rc;
};

/* Index 0 in parts of `room`, from a fresh cursor to the walk's end;
 * seen[] counts each block (by its size). */
static void
take(uint64_t room, struct tally *t)
{
	struct blocks_cursor cur;
	uint64_t n, missed, i;

	memset(t, 0, sizeof(*t));
	memset(seen, 0, sizeof(seen));
	memset(&cur, 0, sizeof(cur));
	while (cur.shard < BLOCKS_SHARDS) {
		t->rc |= blocks_collect_sizes_at(0, 1, &cur, part, room, &n,
						 &missed);
		t->parts++;
		t->got += n;
		t->missed += missed;
		if (n > room)
			t->over++;
		else if (n < room && cur.shard < BLOCKS_SHARDS)
			t->short_parts++;
		for (i = 0; i < n && i < room; i++) {
			if (part[i] < 1 || part[i] > NS)
				t->foreign++;
			else if (seen[part[i] - 1] < 255)
				seen[part[i] - 1]++;
		}
	}
}

static uint64_t
seen_once(void)
{
	uint64_t i, k = 0;

	for (i = 0; i < NS; i++)
		k += seen[i] == 1;
	return k;
}

static void *
walker(void *arg)
{
	uint64_t *wrong = arg, walks = 0;
	struct tally t;

	atomic_store(&go, 1);
	while (!atomic_load(&stop_) || !walks) {
		take(ROOM, &t);
		if (t.rc || t.over || t.foreign || t.missed ||
		    t.got != NS || seen_once() != NS)
			(*wrong)++;
		walks++;
	}
	wrong[1] += walks;
	return NULL;
}

int
main(void)
{
	uint64_t i, bad = 0, churn_bad = 0, wrong[2] = { 0, 0 };
	struct tally t;
	uint32_t r;

	/* 1. still: index 0's NS blocks among 3 * NS of indices 1..3 */
	gen = 1;
	blocks_reset(gen);
	for (i = 0; i < NS; i++) {
		bad += blocks_insert(gen, (void *)(uintptr_t)stable_ptr(i),
				     i + 1, 0) != 0;
		bad += blocks_insert(gen, (void *)(uintptr_t)churn_ptr(0, i),
				     7, 1) != 0;
		bad += blocks_insert(gen, (void *)(uintptr_t)churn_ptr(1, i),
				     9, 2) != 0;
	}
	is_int(bad, 0, "still table: %u blocks of index 0 among others", NS);
	take(ROOM, &t);
	is_int(t.rc, 0, "blocks_collect_sizes_at");
	ok(t.got == NS && seen_once() == NS && !t.foreign && !t.missed,
	   "every block of the index exactly once over %llu parts, no other",
	   (unsigned long long)t.parts);
	is_int(t.over, 0, "no part over its room");
	ok(t.parts >= NS / ROOM + 1 && t.short_parts > 0,
	   "parts stop short of their room rather than split a slice (%llu "
	   "of %llu)", (unsigned long long)t.short_parts,
	   (unsigned long long)t.parts);
	{
		struct blocks_cursor cur;
		uint64_t n = 1, missed = 1;

		memset(&cur, 0, sizeof(cur));
		cur.shard = BLOCKS_SHARDS;
		ok(blocks_collect_sizes_at(0, 1, &cur, part, ROOM, &n,
					   &missed) == 0 && n == 0 &&
		   missed == 0, "a walk that is over gives nothing");
	}
	take(3, &t);
	ok(t.rc == 0 && !t.over && t.got + t.missed == NS && t.missed > 0 &&
	   !t.foreign, "a room smaller than a slice's blocks: what fits, "
	   "the rest missed (%llu taken, %llu missed)",
	   (unsigned long long)t.got, (unsigned long long)t.missed);

	/* 2. the same while other indices' blocks come and go */
	bad = 0;
	for (r = 0; r < ROUNDS; r++) {
		pthread_t th[CHURNERS], w;
		void *res;

		gen = 10 + r;
		blocks_reset(gen);
		for (i = 0; i < NS; i++)
			bad += blocks_insert(gen,
					     (void *)(uintptr_t)stable_ptr(i),
					     i + 1, 0) != 0;
		atomic_store(&go, 0);
		atomic_store(&stop_, 0);
		for (i = 0; i < CHURNERS; i++)
			pthread_create(&th[i], NULL, churner,
				       (void *)(uintptr_t)i);
		pthread_create(&w, NULL, walker, wrong);
		for (i = 0; i < CHURNERS; i++) {
			pthread_join(th[i], &res);
			churn_bad += (uintptr_t)res;
		}
		atomic_store(&stop_, 1);
		pthread_join(w, NULL);
	}
	is_int(bad + churn_bad, 0, "every insert and remove succeeded");
	ok(wrong[1] >= ROUNDS, "%llu walks in parts ran alongside the churn",
	   (unsigned long long)wrong[1]);
	is_int(wrong[0], 0, "every walk took each of the index's %u blocks "
	       "exactly once, in parts of at most %u", NS, ROOM);
	blocks_reset(1000);
	is_int(arena_bytes(), 0, "reset returns every byte");
	return done_testing();
}
