/* SPDX-License-Identifier: MIT */
/*
 * t-fmt-pickle.c - the tracemalloc pickle and the JSON formats against the
 * machine's python3: a small snapshot must give exactly the expected bytes;
 * a large generated one (two targets, recursion, UTF-8 and 300-byte file
 * names, sizes beyond 2^32, more than 1000 blocks, more than 256 memoized
 * objects) must load with pickle.load and tracemalloc.Snapshot.load, and
 * its statistics('lineno'), statistics('traceback'), cumulative statistics
 * and compare_to() must equal our JSON numbers and stat strings
 * (tests/fmt_pickle_check.py does the comparing).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt_json.h"
#include "fmt_pickle.h"
#include "stats.h"
#include "tap.h"

static const unsigned char small_want[] =
	"\x80\x04\x8c\x0btracemalloc\x94\x8c\x08Snapshot\x94\x93\x94)\x81\x94"
	"}\x94(\x8c\x06traces\x94h\x00\x8c\x07_Traces\x94\x93\x94)\x81\x94}"
	"\x94\x8c\x07_traces\x94]\x94((K\x07K\x0a\x8c\x03" "a.c\x94K\x01\x86"
	"\x94\x85\x94K\x01t(K\x07M\x00\x01h\x0eK\x01tesb\x8c\x0f"
	"traceback_limit\x94K\x05ub.";

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static char names[400][400];
static uint64_t sizes[200000];
static size_t n_sizes;

/* Fill `set` with generation `gen` of a pseudo-random snapshot. */
static void
generate(struct st_set *set, enum st_gen gen, uint64_t seed)
{
	uint32_t ids[12], n, i, k, t;
	uint64_t count, sum, b, sz;
	int64_t id;
	int target;

	rng = seed;
	for (t = 0; t < 500; t++) {
		n = 1 + (uint32_t)rnd(10);
		for (i = 0; i < n; i++) {
			if (i >= 2 && rnd(5) == 0) {
				ids[i] = ids[rnd(i)];  /* recursion */
				continue;
			}
			k = (uint32_t)rnd(302);
			id = st_frame_intern(set, names[k],
					     (uint32_t)rnd(40), "fn", "mod");
			if (id < 0)
				abort();
			ids[i] = (uint32_t)id;
		}
		count = t == 7 ? 1500 : 1 + rnd(5);
		sum = 0;
		for (b = 0; b < count; b++) {
			sz = rnd(4) == 0 ? rnd(200000) : 8 + rnd(64);
			if (t == 3 && b == 0)
				sz = UINT64_C(3000000000);
			if (t == 4 && b == 0)
				sz = UINT64_C(1) << 40;
			sizes[n_sizes + b] = sz;
			sum += sz;
		}
		target = st_target(set, t % 3 ? 100 : 200);
		if (target < 0 || st_trace_add(set, (uint32_t)target, gen,
					       ids, n, n + (uint32_t)rnd(3),
					       sum, count,
					       sizes + n_sizes))
			abort();
		n_sizes += count;
	}
}

static int
to_file(const char *dir, const char *name, const struct sink_mem *m)
{
	char path[4096];
	FILE *f;
	size_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	w = fwrite(m->data, 1, m->len, f);
	return fclose(f) == 0 && w == m->len ? 0 : -EIO;
}

static int
write_json(const char *dir, const char *name, const struct st_set *set,
	   enum st_key key, int cumulative, int diff,
	   const struct st_filter *f)
{
	struct fmt_json_stats j = { .set = set, .key = key };
	static struct sink s;
	struct sink_mem m = { 0 };
	struct st_list l;
	int err;

	err = st_group(set, key, cumulative, diff, f, &l);
	if (err)
		return err;
	j.list = &l;
	sink_init(&s, sink_mem_fn, &m);
	err = fmt_json_stats(&j, &s);
	err = err ? err : sink_flush(&s);
	err = err ? err : to_file(dir, name, &m);
	st_list_free(&l);
	sink_mem_free(&m);
	return err;
}

static int
write_pickle(const char *dir, const char *name, const struct st_set *set,
	     const struct st_filter *f)
{
	static struct sink s;
	struct sink_mem m = { 0 };
	int err;

	sink_init(&s, sink_mem_fn, &m);
	err = fmt_pickle_snapshot(set, f, 10, &s);
	err = err ? err : sink_flush(&s);
	err = err ? err : to_file(dir, name, &m);
	sink_mem_free(&m);
	return err;
}

int
main(void)
{
	static struct sink s;
	struct sink_mem m = { 0 };
	struct st_set set, old, both;
	struct st_filter filt = { 0 };
	const char *pat[] = { "src/f1*" };
	const char *py = getenv("PYTHON3"), *top = getenv("top_srcdir");
	char dir[] = "/tmp/hawk-t-fmt-pickle.XXXXXX", cmd[8192];
	uint64_t one_sizes[] = { 10, 256 };
	uint32_t id;
	int i, rc;

	/* exact bytes of a small snapshot */
	st_set_init(&set);
	id = (uint32_t)st_frame_intern(&set, "a.c", 1, "f", "m");
	st_trace_add(&set, (uint32_t)st_target(&set, 7), ST_NEW, &id, 1, 1,
		     266, 2, one_sizes);
	sink_init(&s, sink_mem_fn, &m);
	ok(fmt_pickle_snapshot(&set, NULL, 5, &s) == 0 && sink_flush(&s) ==
	   0, "small pickle written");
	is_int(m.len, sizeof(small_want) - 1, "small pickle length");
	ok(m.len == sizeof(small_want) - 1 &&
	   memcmp(m.data, small_want, m.len) == 0,
	   "small pickle: exact bytes (frames tuple memoized, BINGET 14)");
	sink_mem_free(&m);
	st_set_free(&set);

	for (i = 0; i < 300; i++)
		snprintf(names[i], sizeof(names[i]), "src/f%03d.c", i);
	snprintf(names[300], sizeof(names[300]), "src/\xc3\xa9t\xc3\xa9.c");
	memset(names[301], 'x', 300);
	memcpy(names[301], "/long/", 6);

	st_set_init(&set);
	st_set_init(&old);
	st_set_init(&both);
	generate(&set, ST_NEW, 12345);
	generate(&old, ST_NEW, 777);
	generate(&both, ST_OLD, 777);
	generate(&both, ST_NEW, 12345);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	filt.include = pat;
	filt.n_include = 1;
	ok(write_pickle(dir, "new.pkl", &set, NULL) == 0, "new.pkl");
	ok(write_pickle(dir, "old.pkl", &old, NULL) == 0, "old.pkl");
	ok(write_pickle(dir, "filtered.pkl", &set, &filt) == 0,
	   "filtered.pkl (include=src/f1*)");
	ok(write_json(dir, "lineno.json", &set, ST_LINENO, 0, 0, NULL) == 0,
	   "lineno.json");
	ok(write_json(dir, "cumulative.json", &set, ST_LINENO, 1, 0, NULL) ==
	   0, "cumulative.json");
	ok(write_json(dir, "traceback.json", &set, ST_TRACEBACK, 0, 0,
		      NULL) == 0, "traceback.json");
	ok(write_json(dir, "filtered.json", &set, ST_LINENO, 0, 0, &filt) ==
	   0, "filtered.json");
	ok(write_json(dir, "diff-lineno.json", &both, ST_LINENO, 0, 1,
		      NULL) == 0, "diff-lineno.json");
	ok(write_json(dir, "diff-cumulative.json", &both, ST_LINENO, 1, 1,
		      NULL) == 0, "diff-cumulative.json");
	ok(write_json(dir, "diff-traceback.json", &both, ST_TRACEBACK, 0, 1,
		      NULL) == 0, "diff-traceback.json");
	st_set_free(&set);
	st_set_free(&old);
	st_set_free(&both);

	if (!py || !*py || !top) {
		skip("python3 not found by configure");
	} else {
		snprintf(cmd, sizeof(cmd), "'%s' "
			 "'%s/tests/fmt_pickle_check.py' '%s'", py, top, dir);
		fflush(stdout);
		rc = system(cmd);
		/* the script prints its own TAP lines; count them */
		tap_n += 14;
		if (rc != 0) {
			tap_failed++;
			diag("fmt_pickle_check.py exited with %d", rc);
		}
	}
	if (getenv("KEEP")) return done_testing();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
