/* SPDX-License-Identifier: MIT */
/*
 * churn.c - allocation-churn workload for bench/run.sh.
 *
 *   churn [THREADS [OPS_PER_THREAD [LIVE_PER_THREAD]]]
 *
 * Each thread keeps a live set of LIVE blocks and OPS times replaces a
 * random one: free the old block, allocate a new one of 16 B .. 1 KiB
 * through one of 64 generated call sites reached through 1 to 13 levels
 * of recursion (stack depth 2 to 14 below the thread's entry), so there
 * are many distinct tracebacks.  The live set is left allocated at exit
 * (so HAWK_STATS=1 reports the tables at their full size).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SITES 64

typedef void *(*site_fn)(size_t);

#define SITE(n)								\
	static __attribute__((noinline)) void *site_##n(size_t sz)	\
	{								\
		void *p = malloc(sz);					\
		__asm__ volatile("" : : "r"(p) : "memory");		\
		return p;						\
	}
#define S8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3)		\
	      SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
S8(1) S8(2) S8(3) S8(4) S8(5) S8(6) S8(7) S8(8)
#define R8(a) site_##a##0, site_##a##1, site_##a##2, site_##a##3,	\
	      site_##a##4, site_##a##5, site_##a##6, site_##a##7
static const site_fn sites[SITES] = {
	R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7), R8(8)
};

static __attribute__((noinline)) void *
descend(int depth, int site, size_t sz)
{
	void *p;

	if (depth <= 0)
		return sites[site](sz);
	p = descend(depth - 1, site, sz);
	__asm__ volatile("" : : "r"(p) : "memory");   /* no tail call */
	return p;
}

static long ops = 2000000, live = 20000;

static void *
worker(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15u * ((uintptr_t)arg + 1);
	void **slots = calloc((size_t)live, sizeof(void *));
	long i;

	for (i = 0; i < ops; i++) {
		uint64_t r, k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x;
		k = r % (uint64_t)live;
		free(slots[k]);
		slots[k] = descend((int)(r >> 20) % 13,
				   (int)((r >> 32) % SITES),
				   16 + (size_t)((r >> 40) % 1009));
		*(char *)slots[k] = 1;
	}
	return slots;   /* the live set stays allocated */
}

int
main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1, i;
	pthread_t t[64];

	if (argc > 2)
		ops = atol(argv[2]);
	if (argc > 3)
		live = atol(argv[3]);
	if (threads < 1 || threads > 64 || ops < 1 || live < 1) {
		fprintf(stderr, "usage: churn [THREADS [OPS [LIVE]]]\n");
		return 2;
	}
	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
