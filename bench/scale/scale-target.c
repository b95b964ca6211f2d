/* SPDX-License-Identifier: MIT */
/*
 * scale-target.c - the scale benchmark's target, run under libhawk: a
 * production-sized live heap (default 10,000,000 live blocks over
 * 1,000,000 distinct 30-frame tracebacks), one thread allocating and
 * freeing continuously, and a probe thread timing its own allocations.
 *
 *   scale-target DIR [BLOCKS [TRACEBACKS [quiet]]]
 * Writes DIR/ready; on DIR/go allocates the live set and writes DIR/done,
 * then starts the churn thread (frees a random block of its own 65,536 and
 * allocates another, without pause).  The probe thread allocates and frees
 * 64 bytes every ~100 us and times each malloc+free pair; on DIR/probe-on
 * it forgets what it measured, on DIR/probe-off it writes DIR/lat
 * ("samples p50 p90 p99 p99.9 max" in microseconds, the churn's
 * operations during the window, then p99.99, the samples over 1 ms and
 * over 5 ms, and - when libhawk was built with -DBLOCKS_HOLD_STATS - the
 * collection walks' lock holds in the window: how many, the longest and
 * the mean in microseconds, the most CPU time one used, how many over 1 ms
 * and over 5 ms, else "- - - - - -"), then how many of the
 * samples over 1 ms saw the probe switched out involuntarily (preempted,
 * or yielding in a spinlock), voluntarily (slept), or fault, and removes
 * both files.
 * SCALE_PROBE_NICE=N runs the probe thread at nice N (root for N < 0):
 * on a busy machine its latencies are then less the scheduler's delays
 * and more the waits for the tracer's locks, which are what we measure.  Exits on
 * DIR/quit (or after an hour).  With `quiet` (the tests) neither thread
 * runs: the live set is exactly BLOCKS / TRACEBACKS * TRACEBACKS blocks
 * and 520 bytes per ten of them.
 *
 * Traceback of code c (0 .. TRACEBACKS-1), most recent first: leafL
 * (L = c % 100, the malloc call site), then 20 levels, level k being a
 * frame of lvl0 or lvl1 after bit k of c, then start and pad frames: 30
 * frames or more, every traceback distinct raw and symbolized.  Block j of
 * a code has 16 + 8 * (j % 16) bytes.  The live set's pointer array and
 * the probe's samples live in mmap'd memory (not traced).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define LEVELS 20
#define CHURN_LIVE 65536u
#define PROBE_MAX (1u << 24)

static void **blocks;
static size_t nblocks, per_code;
static char dir[4000];

static int
has(const char *name)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void
put(const char *name, const char *text)
{
	char p[4200], q[4300];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(q, sizeof(q), "%s.tmp", p);
	f = fopen(q, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
	rename(q, p);
}

static void
drop(const char *name)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

typedef void (*leaf_fn)(void);
static leaf_fn leaves[100];

#define LEAF(n) NOIPA static void leaf##n(void) { size_t j; \
	for (j = 0; j < per_code; j++) \
		blocks[nblocks++] = malloc(16 + 8 * (j % 16)); }
#define L10(a) LEAF(a##0) LEAF(a##1) LEAF(a##2) LEAF(a##3) LEAF(a##4) \
	LEAF(a##5) LEAF(a##6) LEAF(a##7) LEAF(a##8) LEAF(a##9)
LEAF(0) LEAF(1) LEAF(2) LEAF(3) LEAF(4) LEAF(5) LEAF(6) LEAF(7) LEAF(8)
LEAF(9)
L10(1) L10(2) L10(3) L10(4) L10(5) L10(6) L10(7) L10(8) L10(9)

typedef void (*lvl_fn)(int, unsigned, unsigned);
static lvl_fn lvls[2];

NOIPA static void
lvl0(int d, unsigned c, unsigned leaf)
{
	if (d == 0)
		leaves[leaf]();
	else
		lvls[c & 1](d - 1, c >> 1, leaf);
}

NOIPA static void
lvl1(int d, unsigned c, unsigned leaf)
{
	if (d == 0)
		leaves[leaf]();
	else
		lvls[c & 1](d - 1, c >> 1, leaf);
}

NOIPA static void
pad(int n, unsigned c)
{
	if (n > 0)
		pad(n - 1, c);
	else
		lvls[c & 1](LEVELS - 1, c >> 1, c % 100);
}

static void
init_tables(void)
{
	leaf_fn l[100] = {
#define E(n) leaf##n
#define E10(a) E(a##0), E(a##1), E(a##2), E(a##3), E(a##4), E(a##5), \
	E(a##6), E(a##7), E(a##8), E(a##9)
		E(0), E(1), E(2), E(3), E(4), E(5), E(6), E(7), E(8), E(9),
		E10(1), E10(2), E10(3), E10(4), E10(5), E10(6), E10(7),
		E10(8), E10(9)
	};

	memcpy(leaves, l, sizeof(l));
	lvls[0] = lvl0;
	lvls[1] = lvl1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t churn_ops;

NOIPA static void *
churn_alloc(uint64_t r)
{
	return malloc(16 + (r >> 40) % 1008);
}

static void *
churn(void *arg)
{
	static void *live[CHURN_LIVE];
	uint64_t r = 88172645463325252u;
	unsigned i;

	(void)arg;
	for (i = 0; i < CHURN_LIVE; i++)
		live[i] = churn_alloc(r += 0x9e3779b97f4a7c15u);
	for (;;) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		i = (unsigned)(r % CHURN_LIVE);
		free(live[i]);
		live[i] = churn_alloc(r);
		churn_ops++;
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

NOIPA static void *
probe_alloc(void)
{
	return malloc(64);
}

/* libhawk's hold statistics, when it was built with them (bench only):
 * struct blocks_hold of tracer/blocks.h */
struct hold {
	uint64_t holds, max_ns, sum_ns, max_cpu_ns, over_1ms, over_5ms;
};
typedef void (*hold_get_fn)(struct hold *);
typedef void (*hold_reset_fn)(void);

static void *
probe(void *arg)
{
	uint32_t *lat = mmap(NULL, PROBE_MAX * sizeof(uint32_t),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec nap = { 0, 100000 };
	size_t n = 0;
	uint64_t ops0 = 0, k = 0, slow_iv = 0, slow_v = 0, slow_flt = 0;
	int on = 0;
	const char *nice_s = getenv("SCALE_PROBE_NICE");
	hold_get_fn hold_get = (hold_get_fn)dlsym(RTLD_DEFAULT,
						  "blocks_hold_get");
	hold_reset_fn hold_reset = (hold_reset_fn)dlsym(RTLD_DEFAULT,
							"blocks_hold_reset");

	(void)arg;
	if (lat == MAP_FAILED)
		return NULL;
	if (nice_s && setpriority(PRIO_PROCESS, (id_t)gettid(),
				  atoi(nice_s)) < 0)
		perror("scale-target: probe nice");
	for (;; k++) {
		struct rusage r0, r1;
		uint64_t t0, t;
		void *p;

		getrusage(RUSAGE_THREAD, &r0);
		t0 = now_ns();
		p = probe_alloc();
		free(p);
		t = now_ns() - t0;
		getrusage(RUSAGE_THREAD, &r1);
		if (on && n < PROBE_MAX)
			lat[n++] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
		if (on && t > 1000000) {
			/* a slow one: was the probe switched out, did it
			 * fault?  (a yield in the tracer's spinlock counts as
			 * an involuntary switch too) */
			slow_iv += r1.ru_nivcsw != r0.ru_nivcsw;
			slow_v += r1.ru_nvcsw != r0.ru_nvcsw;
			slow_flt += r1.ru_minflt != r0.ru_minflt ||
				    r1.ru_majflt != r0.ru_majflt;
		}
		if (k % 64 == 0) {
			if (!on && has("probe-on")) {
				on = 1;
				n = 0;
				ops0 = churn_ops;
				slow_iv = slow_v = slow_flt = 0;
				if (hold_reset)
					hold_reset();
			} else if (on && has("probe-off")) {
				char text[512], holds[128] = "- - - - - -";
				double q[6] = { .5, .9, .99, .999, 1, .9999 };
				double v[6] = { 0 };
				size_t over1 = 0, over5 = 0, i;

				qsort(lat, n, sizeof(*lat), cmp_u32);
				for (i = 0; i < 6 && n; i++) {
					size_t at = (size_t)(q[i] * (double)n);

					v[i] = lat[at < n ? at : n - 1] / 1e3;
				}
				for (i = 0; i < n; i++) {
					over1 += lat[i] > 1000000;
					over5 += lat[i] > 5000000;
				}
				if (hold_get) {
					struct hold h;

					hold_get(&h);
					snprintf(holds, sizeof(holds),
						 "%llu %.1f %.2f %.1f %llu %llu",
						 (unsigned long long)h.holds,
						 h.max_ns / 1e3,
						 h.holds ? h.sum_ns / 1e3 /
							   (double)h.holds :
							   0.0,
						 h.max_cpu_ns / 1e3,
						 (unsigned long long)h.over_1ms,
						 (unsigned long long)h.over_5ms);
				}
				snprintf(text, sizeof(text),
					 "%zu %.1f %.1f %.1f %.1f %.1f %llu "
					 "%.1f %zu %zu %s %llu %llu %llu\n",
					 n, v[0], v[1], v[2], v[3], v[4],
					 (unsigned long long)(churn_ops - ops0),
					 v[5], over1, over5, holds,
					 (unsigned long long)slow_iv,
					 (unsigned long long)slow_v,
					 (unsigned long long)slow_flt);
				drop("probe-on");
				drop("probe-off");
				put("lat", text);
				on = 0;
			}
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	size_t nb = 10000000, nt = 1000000, c;
	pthread_t th;
	int i;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: scale-target DIR [BLOCKS [TRACEBACKS "
			"[quiet]]]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	if (argc > 2)
		nb = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		nt = strtoul(argv[3], NULL, 10);
	if (!nt || nt > (1u << LEVELS) || nb < nt) {
		fprintf(stderr, "scale-target: need 1 <= TRACEBACKS <= %u <= BLOCKS\n",
			1u << LEVELS);
		return 2;
	}
	per_code = nb / nt;
	init_tables();
	blocks = mmap(NULL, nt * per_code * sizeof(void *),
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (blocks == MAP_FAILED)
		return 1;
	put("ready", "");
	for (i = 0; !has("go"); i++) {
		if (i > 36000 || has("quit"))
			return 0;
		usleep(100000);
	}
	for (c = 0; c < nt; c++)
		pad(8, (unsigned)c);
	put("done", "");
	if (argc > 4 && strcmp(argv[4], "quiet") == 0)
		;
	else if (pthread_create(&th, NULL, churn, NULL) ||
	    pthread_create(&th, NULL, probe, NULL))
		return 1;
	for (i = 0; i < 36000 && !has("quit"); i++)
		usleep(100000);
	return 0;
}
