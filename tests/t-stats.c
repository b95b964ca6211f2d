/* SPDX-License-Identifier: MIT */
/*
 * t-stats.c - statistic grouping (lineno, traceback, cumulative with
 * recursion, diff, filters, several targets) and the size formats, with
 * expected values worked out by hand from Lib/tracemalloc.py.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "tap.h"

static struct st_set set;
static uint32_t A, B, C;

static void
add(int32_t pid, enum st_gen gen, const uint32_t *ids, uint32_t n,
    uint64_t size, uint64_t count)
{
	int t = st_target(&set, pid);

	if (t < 0 || st_trace_add(&set, (uint32_t)t, gen, ids, n, n, size,
				  count, NULL))
		abort();
}

static const char *
str(const struct st_list *l, size_t i)
{
	static char buf[512];

	if (i >= l->n)
		return "(missing)";
	if (st_stat_str(&set, l, i, buf, sizeof(buf)))
		return "(error)";
	return buf;
}

static void
fmt_size(double v, int sign, const char *want)
{
	char b[64];

	st_format_size(b, sizeof(b), v, sign);
	is_str(b, want, "_format_size(%.0f, %d)", v, sign);
}

static void
fmt_bytes(double v, const char *want)
{
	char b[64];

	st_format_bytes(b, sizeof(b), v);
	is_str(b, want, "format_bytes(%.0f)", v);
}

int
main(void)
{
	struct st_list l;
	struct st_filter f;
	const char *pat[2];
	uint32_t t1[] = { 0, 0, 0 }, t2[2], t3[1], t4[1];

	st_set_init(&set);
	A = (uint32_t)st_frame_intern(&set, "a.c", 1, "fa", "/bin/x");
	B = (uint32_t)st_frame_intern(&set, "b.c", 2, "fb", "/bin/x");
	C = (uint32_t)st_frame_intern(&set, "c.c", 3, "fc", "/lib/y.so");
	is_int(st_frame_intern(&set, "a.c", 1, "other", "z"), A,
	       "equal (file, line) intern to the same frame");
	ok(st_frame_intern(&set, "a.c", 2, "", "") != A, "another line, "
	   "another frame");
	is_int(st_trace_add(&set, 0, ST_NEW, t1, 0, 0, 1, 1, NULL), -EINVAL,
	       "an empty traceback is refused");
	/* T1 recursion a.c:1 -> b.c:2 -> a.c:1 (most recent first) */
	t1[0] = A; t1[1] = B; t1[2] = A;
	t2[0] = B; t2[1] = C;
	t3[0] = A;
	add(100, ST_NEW, t1, 3, 10, 1);
	add(100, ST_NEW, t2, 2, 1536, 3);
	add(100, ST_NEW, t3, 1, 10, 1);

	ok(st_group(&set, ST_LINENO, 0, 0, NULL, &l) == 0, "lineno");
	is_int(l.n, 2, "two lineno statistics");
	is_str(str(&l, 0), "b.c:2: size=1536 B, count=3, average=512 B",
	       "largest first");
	is_str(str(&l, 1), "a.c:1: size=20 B, count=2, average=10 B",
	       "a.c:1 gathers two traces");
	is_int(l.v[1].size, 20, "size");
	is_int(l.v[1].count, 2, "count");
	st_list_free(&l);

	ok(st_group(&set, ST_LINENO, 1, 0, NULL, &l) == 0, "cumulative");
	is_int(l.n, 3, "three frames");
	is_str(str(&l, 0), "b.c:2: size=1546 B, count=4, average=386 B",
	       "cumulative b.c:2");
	is_str(str(&l, 1), "c.c:3: size=1536 B, count=3, average=512 B",
	       "cumulative c.c:3");
	is_str(str(&l, 2), "a.c:1: size=30 B, count=3, average=10 B",
	       "recursive frame counted as often as it occurs");
	st_list_free(&l);

	ok(st_group(&set, ST_TRACEBACK, 1, 0, NULL, &l) == 0,
	   "traceback (cumulative ignored)");
	is_int(l.n, 3, "three tracebacks");
	is_int(l.v[0].key_n, 2, "T2 first");
	is_int(l.v[1].key_n, 3, "T1 before T3: (a,b,a) > (a,) as tuples");
	is_int(l.v[2].key_n, 1, "T3 last");
	is_str(str(&l, 1), "a.c:1: size=10 B, count=1, average=10 B",
	       "str(Traceback) is the oldest frame");
	is_str(str(&l, 0), "c.c:3: size=1536 B, count=3, average=512 B",
	       "oldest frame of T2 is c.c:3");
	st_list_free(&l);

	/* filters */
	memset(&f, 0, sizeof(f));
	pat[0] = "a*";
	f.include = pat;
	f.n_include = 1;
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 1 &&
	   l.v[0].size == 20, "include=a* keeps traces whose most recent "
	   "frame is a.c");
	st_list_free(&l);
	f.n_include = 0;
	pat[0] = "b.c";
	f.exclude = pat;
	f.n_exclude = 1;
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 1 &&
	   l.v[0].size == 20, "exclude=b.c drops T2 only");
	st_list_free(&l);
	f.all_frames = 1;
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 1 &&
	   l.v[0].size == 10, "exclude=b.c all_frames drops T1 and T2");
	st_list_free(&l);
	f.n_exclude = 0;
	pat[0] = "*/c.c";
	f.include = pat;
	f.n_include = 1;
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 0,
	   "a pattern must match the whole name");
	st_list_free(&l);
	pat[0] = "[c]*";
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 1 &&
	   l.v[0].size == 1536, "include=[c]* all_frames keeps T2");
	st_list_free(&l);
	pat[1] = "a.?";
	f.n_include = 2;
	f.all_frames = 0;
	ok(st_group(&set, ST_LINENO, 0, 0, &f, &l) == 0 && l.n == 1 &&
	   l.v[0].size == 20, "any include pattern may match");
	st_list_free(&l);

	/* diff: the old snapshot */
	t4[0] = C;
	add(100, ST_OLD, t2, 2, 2048, 4);
	add(100, ST_OLD, t4, 1, 100, 1);
	ok(st_group(&set, ST_LINENO, 0, 1, NULL, &l) == 0, "compare_to");
	is_int(l.n, 3, "three keys");
	is_str(str(&l, 0), "b.c:2: size=1536 B (-512 B), count=3 (-1), "
	       "average=512 B", "in both");
	is_str(str(&l, 1), "c.c:3: size=0 B (-100 B), count=0 (-1)",
	       "old only: no average");
	is_str(str(&l, 2), "a.c:1: size=20 B (+20 B), count=2 (+2), "
	       "average=10 B", "new only");
	st_list_free(&l);
	ok(st_group(&set, ST_LINENO, 0, 0, NULL, &l) == 0 && l.n == 2,
	   "statistics() ignores the old snapshot");
	st_list_free(&l);

	/* several targets */
	add(200, ST_NEW, t3, 1, 5, 1);
	ok(st_group(&set, ST_LINENO, 0, 0, NULL, &l) == 0, "two targets");
	is_str(str(&l, 1), "a.c:1: size=25 B, count=3, average=8 B",
	       "merged over targets (8.33 -> 8)");
	ok(st_stat_has_target(&l, 1, 0) && st_stat_has_target(&l, 1, 1),
	   "a.c:1 has both pids");
	ok(st_stat_has_target(&l, 0, 0) && !st_stat_has_target(&l, 0, 1),
	   "b.c:2 has pid 100 only");
	st_list_free(&l);
	st_set_free(&set);

	/* _format_size (values verified against Python 3.11) */
	fmt_size(0, 0, "0 B");
	fmt_size(0, 1, "+0 B");
	fmt_size(99, 0, "99 B");
	fmt_size(1023, 0, "1023 B");
	fmt_size(10239, 0, "10239 B");
	fmt_size(10240, 0, "10.0 KiB");
	fmt_size(102399, 0, "100.0 KiB");
	fmt_size(102400, 0, "100 KiB");
	fmt_size(1048575, 0, "1024 KiB");
	fmt_size(10485760, 0, "10.0 MiB");
	fmt_size(5497558138880.0, 0, "5120 GiB");
	fmt_size(1152921504606846976.0, 0, "1048576 TiB");
	fmt_size(-2048, 1, "-2048 B");
	fmt_size(-20480, 1, "-20.0 KiB");
	fmt_size(4096000, 0, "4000 KiB");
	fmt_size(4096000, 1, "+4000 KiB");
	/* Hawk's format_bytes */
	fmt_bytes(0, "0.0 B");
	fmt_bytes(512, "512.0 B");
	fmt_bytes(1536, "1.5 KB");
	fmt_bytes(-2097152, "-2.0 MB");
	fmt_bytes(1023, "1023.0 B");
	fmt_bytes(1024, "1.0 KB");
	fmt_bytes(4096000, "3.9 MB");
	fmt_bytes(1180591620717411303424.0, "1024.0 EB");
	return done_testing();
}
