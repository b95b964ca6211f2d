/* SPDX-License-Identifier: MIT */
/*
 * t-tbtrie.c - the traceback statistics of the trie (fcgi/tbtrie.c) are
 * st_group's: random tracebacks (shared prefixes, prefixes of each other,
 * recursion, the same traceback in several targets and both generations,
 * many ties of size and count so that the traceback order decides) go
 * both into a plain trace set and into the trie; for statistics and
 * diffs, with and without filters, for several counts, the first `count`
 * statistics of st_group over the trie's selection equal those of
 * st_group over every trace: key, figures, targets, order.  Also a
 * dropped target.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "tbtrie.h"
#include "tap.h"

#define NFRAMES 12
#define NTRACES 400

static const int32_t pids[3] = { 10, 20, 30 };
static uint64_t rng = 88172645463325252u;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

struct tr {
	uint32_t target, gen, n;
	uint32_t ids[6];
	uint64_t size, count;
};

static struct tr trs[NTRACES];

/* The same frames with the same ids in every set, and the targets. */
static void
set_make(struct st_set *s)
{
	static const char *const files[3] = { "b.c", "a.c", "lib/c.c" };
	char fn[16];
	int i;

	st_set_init(s);
	for (i = 0; i < NFRAMES; i++) {
		snprintf(fn, sizeof(fn), "f%d", i);
		/* (file, line) pairs out of id order, so that the order of
		 * tracebacks is not that of the ids */
		if (st_frame_intern(s, files[(i * 7) % 3], 1 + (uint32_t)(i * 5) % 4,
				    "fn", "mod") != i)
			abort();
	}
	for (i = 0; i < 3; i++)
		st_target(s, pids[i]);
}

/* Do the first `count` statistics (all when 0) of a equal those of b? */
static int
same(const struct st_set *sa, const struct st_list *a,
     const struct st_set *sb, const struct st_list *b, size_t count)
{
	size_t n = count && count < a->n ? count : a->n, i, k;

	if (b->n != n) {
		diag("%zu statistics, expected %zu", b->n, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct st_stat *x = &a->v[i], *y = &b->v[i];

		if (x->key_n != y->key_n ||
		    memcmp(sa->ids + x->key_off, sb->ids + y->key_off,
			   x->key_n * sizeof(uint32_t)) != 0 ||
		    x->size != y->size || x->count != y->count ||
		    x->old_size != y->old_size || x->old_count != y->old_count) {
			diag("statistic %zu differs", i);
			return 0;
		}
		for (k = 0; k < 3; k++)
			if (st_stat_has_target(a, i, k) !=
			    st_stat_has_target(b, i, k)) {
				diag("statistic %zu: targets differ", i);
				return 0;
			}
	}
	return 1;
}

static void
check(struct tbtrie *t, int diff, const struct st_filter *f,
      const char *what, int32_t skip_pid)
{
	static const size_t counts[] = { 1, 3, 10, 0 };
	struct st_set ref, got;
	struct st_list lr, lg;
	size_t i, c;
	int ok_all = 1;

	set_make(&ref);
	for (i = 0; i < NTRACES; i++)
		if (pids[trs[i].target] != skip_pid &&
		    st_trace_add(&ref, trs[i].target, trs[i].gen, trs[i].ids,
				 trs[i].n, trs[i].n, trs[i].size, trs[i].count,
				 NULL))
			abort();
	if (st_group(&ref, ST_TRACEBACK, 0, diff, f, &lr))
		abort();
	for (c = 0; c < sizeof(counts) / sizeof(*counts); c++) {
		set_make(&got);
		if (tbtrie_select(t, &got, diff, f, counts[c]) ||
		    st_group(&got, ST_TRACEBACK, 0, diff, f, &lg))
			abort();
		if (!same(&ref, &lr, &got, &lg, counts[c])) {
			diag("%s, count %zu", what, counts[c]);
			ok_all = 0;
		}
		if (counts[c] == 3 && lr.n < 10)
			ok_all = 0;        /* the case must be a real one */
		st_list_free(&lg);
		st_set_free(&got);
	}
	ok(ok_all, "%s: the first 1, 3, 10 and all statistics are st_group's",
	   what);
	st_list_free(&lr);
	st_set_free(&ref);
}

int
main(void)
{
	const char *inc[] = { "a.c" }, *exc[] = { "lib/*" };
	struct st_filter fi = { .include = inc, .n_include = 1,
				.all_frames = 1 };
	struct st_filter fe = { .exclude = exc, .n_exclude = 1 };
	struct st_set s;
	struct tbtrie t;
	size_t i, k;

	for (i = 0; i < NTRACES; i++) {
		struct tr *r = &trs[i];

		if (i >= 8 && rnd(4) == 0) {
			/* an earlier traceback again, or a prefix of it */
			*r = trs[rnd(i)];
			if (r->n > 1 && rnd(2))
				r->n -= 1 + (uint32_t)rnd(r->n - 1);
		} else {
			r->n = 1 + (uint32_t)rnd(6);
			for (k = 0; k < r->n; k++)
				r->ids[k] = (uint32_t)rnd(NFRAMES);
		}
		r->target = (uint32_t)rnd(3);
		r->gen = rnd(3) == 0 ? ST_OLD : ST_NEW;
		/* mostly equal figures: the traceback order decides */
		r->size = rnd(16) ? 8 : 16;
		r->count = 1;
	}
	set_make(&s);
	tbtrie_init(&t);
	for (i = 0; i < NTRACES; i++)
		if (tbtrie_add(&t, trs[i].target, trs[i].gen, trs[i].ids,
			       trs[i].n, trs[i].size, trs[i].count))
			abort();
	is_int(tbtrie_add(&t, 0, ST_NEW, trs[0].ids, 0, 1, 1), -EINVAL,
	       "an empty traceback: EINVAL");
	check(&t, 0, NULL, "statistics", 0);
	check(&t, 1, NULL, "diff", 0);
	check(&t, 0, &fi, "include a.c, all frames", 0);
	check(&t, 1, &fe, "diff, exclude lib/*", 0);
	is_int(tbtrie_add(&t, 0, ST_NEW, trs[0].ids, trs[0].n, 1, 1), -EINVAL,
	       "no traceback added after grouping");
	tbtrie_drop(&t, 1);
	check(&t, 0, NULL, "target 20 dropped", 20);
	check(&t, 1, NULL, "diff, target 20 dropped", 20);
	tbtrie_free(&t);

	/* counts beyond 32 bits, after some that fit, and one-frame
	 * tracebacks (no node of their own) */
	{
		uint32_t a[2] = { 3, 4 }, b[1] = { 5 };
		struct st_set g;
		struct st_list l;

		tbtrie_init(&t);
		tbtrie_add(&t, 0, ST_NEW, a, 2, 10, 2);
		tbtrie_add(&t, 0, ST_NEW, b, 1, 20, 1);
		tbtrie_add(&t, 1, ST_NEW, a, 2, UINT64_C(50000000000),
			   UINT64_C(5000000000));
		tbtrie_add(&t, 2, ST_NEW, b, 1, 7, 3);
		set_make(&g);
		ok(tbtrie_select(&t, &g, 0, NULL, 0) == 0 &&
		   st_group(&g, ST_TRACEBACK, 0, 0, NULL, &l) == 0 &&
		   l.n == 2 && l.v[0].key_n == 2 &&
		   l.v[0].count == UINT64_C(5000000002) &&
		   l.v[0].size == UINT64_C(50000000010) &&
		   l.v[1].key_n == 1 && l.v[1].count == 4 &&
		   l.v[1].size == 27, "a count of 5e9 kept whole; one-frame "
		   "tracebacks");
		st_list_free(&l);
		st_set_free(&g);
		tbtrie_free(&t);
	}
	st_set_free(&s);
	return done_testing();
}
