/* SPDX-License-Identifier: MIT */
/*
 * t-params.c - query parsing: defaults, every accepted form, every bad
 * value (and the parameter and range the 400 names), percent-decoding,
 * repeated and unknown keys.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "params.h"
#include "segment.h"
#include "tap.h"

static struct params p;
static struct params_error e;

/* A bad query: -EINVAL naming `param` with accepted values `acc`. */
static void
bad(const char *q, const char *param, const char *acc)
{
	int r = params_parse(&p, q, 60, &e);

	ok(r == -EINVAL && strcmp(e.param, param) == 0 &&
	   strcmp(e.accepted, acc) == 0 && e.msg[0],
	   "\"%s\" -> 400 parameter %s accepted \"%s\"", q, param, acc);
	if (r != -EINVAL || strcmp(e.param, param) || strcmp(e.accepted, acc))
		diag("got %d param \"%s\" accepted \"%s\" msg \"%s\"", r,
		     e.param, e.accepted, e.msg);
	params_free(&p);
}

static int
good(const char *q)
{
	int r;

	params_free(&p);        /* the previous good()'s, if the caller kept it */
	r = params_parse(&p, q, 60, &e);

	if (r)
		diag("\"%s\": %d %s", q, r, e.msg);
	return r == 0;
}

int
main(void)
{
	char s[64];

	ok(good(NULL) && p.duration == 5 && p.format == FORMAT_LINENO &&
	   p.frames == 30 && p.count == 10 && p.gc == 1 && p.cumulative == 0 &&
	   p.all_frames == 0 && p.pid == 0 && p.name[0] == 0 &&
	   p.n_include == 0 && p.n_exclude == 0, "defaults (seed page)");
	params_free(&p);
	ok(good("") && p.duration == 5, "empty query");
	params_free(&p);
	ok(good("duration=60&format=traceback&frames=512&count=0&gc=no&"
		"cumulative=YES&all_frames=1&pid=4194304&name=fc%2Dleak"),
	   "every parameter at a bound");
	ok(p.duration == 60 && p.format == FORMAT_TRACEBACK &&
	   p.frames == 512 && p.count == 0 && p.gc == 0 &&
	   p.cumulative == 1 && p.all_frames == 1 && p.pid == 4194304 &&
	   strcmp(p.name, "fc-leak") == 0, "values");
	params_free(&p);
	ok(good("format=pickle&frames=1&duration=1&gc=False&cumulative=0") &&
	   p.format == FORMAT_PICKLE && p.frames == 1 && p.duration == 1 &&
	   p.gc == 0 && p.cumulative == 0, "lower bounds, False");
	params_free(&p);
	ok(good("gc=TRUE&cumulative=true&all_frames=Yes") && p.gc &&
	   p.cumulative && p.all_frames, "booleans in any case");
	params_free(&p);
	ok(good("frames=7&frames=9&count=3") && p.frames == 9,
	   "last value of a repeated key wins");
	params_free(&p);
	ok(good("include=%2Fsrc%2F*.c&exclude=*libc*&include=a+b.c&"
		"exclude=x") && p.n_include == 2 && p.n_exclude == 2 &&
	   strcmp(p.include[0], "/src/*.c") == 0 &&
	   strcmp(p.include[1], "a b.c") == 0 &&
	   strcmp(p.exclude[0], "*libc*") == 0, "include/exclude repeat, "
	   "decode %%XX and +");
	params_free(&p);
	ok(good("foo=bar&&x&Duration=abc&secs=99999") && p.duration == 5,
	   "unknown keys (keys are case-sensitive) ignored");
	params_free(&p);
	ok(good("name=%C3%A9t%C3%A9") && strcmp(p.name, "\xc3\xa9t\xc3\xa9")
	   == 0, "UTF-8 name");
	params_free(&p);

#define FORMATS "lineno, traceback, pickle, pprof, collapsed, flamegraph"
	bad("duration=0", "duration", "1..60");
	bad("duration=61", "duration", "1..60");
	bad("duration=-1", "duration", "1..60");
	bad("duration=1.5", "duration", "1..60");
	bad("duration=", "duration", "1..60");
	bad("duration", "duration", "1..60");
	bad("duration=+5", "duration", "1..60");
	bad("duration=%205", "duration", "1..60");
	bad("duration=0x10", "duration", "1..60");
	bad("duration=99999999999999999999999", "duration", "1..60");
	bad("format=json", "format", FORMATS);
	bad("format=LINENO", "format", FORMATS);
	bad("format=", "format", FORMATS);
	ok(good("format=pprof") && p.format == FORMAT_PPROF, "format=pprof");
	params_free(&p);
	ok(good("format=collapsed") && p.format == FORMAT_COLLAPSED,
	   "format=collapsed");
	params_free(&p);
	ok(good("format=flamegraph") && p.format == FORMAT_FLAMEGRAPH,
	   "format=flamegraph");
	params_free(&p);
	ok(good("seconds=60&gc=1") && p.seconds == 60 && p.gc &&
	   p.gc_given, "seconds=60, gc=1 given");
	params_free(&p);
	ok(good("") && p.seconds == 0 && p.gc && !p.gc_given,
	   "no seconds, gc true by default but not given");
	params_free(&p);
	bad("seconds=0", "seconds", "1..60");
	bad("seconds=61", "seconds", "1..60");
	bad("frames=0", "frames", "1..512");
	bad("frames=513", "frames", "1..512");
	bad("frames=abc", "frames", "1..512");
	bad("frames=", "frames", "1..512");
	bad("count=-1", "count", "0..2147483647 (0 = all)");
	bad("count=2147483648", "count", "0..2147483647 (0 = all)");
	bad("count=ten", "count", "0..2147483647 (0 = all)");
	bad("gc=2", "gc", "true, false, 1, 0, yes, no");
	bad("gc=", "gc", "true, false, 1, 0, yes, no");
	bad("gc=on", "gc", "true, false, 1, 0, yes, no");
	bad("cumulative=maybe", "cumulative", "true, false, 1, 0, yes, no");
	bad("all_frames=t", "all_frames", "true, false, 1, 0, yes, no");

	/* sampling= and view= */
	ok(good("") && p.sampling == 0 && p.view == SNAP_VIEW_LIVE,
	   "defaults: exact, view live");
	ok(good("sampling=524288") && p.sampling == 524288, "sampling=524288");
	ok(good("sampling=512k") && p.sampling == 524288, "sampling=512k");
	ok(good("sampling=2M") && p.sampling == 2097152, "sampling=2M");
	ok(good("sampling=1024m") && p.sampling == 1073741824,
	   "sampling=1024m (the largest)");
	ok(good("sampling=0") && p.sampling == 0, "sampling=0: exact");
	ok(good("view=allocated") && p.view == SNAP_VIEW_ALLOCATED,
	   "view=allocated");
	ok(good("view=peak&view=live") && p.view == SNAP_VIEW_LIVE,
	   "view: the last one wins");
	ok(good("view=peak") && p.view == SNAP_VIEW_PEAK, "view=peak");
#define SAMPLING_ACC "0 (exact) or 1..1073741824 bytes, k/M/G suffixes"
	bad("sampling=", "sampling", SAMPLING_ACC);
	bad("sampling=k", "sampling", SAMPLING_ACC);
	bad("sampling=12x", "sampling", SAMPLING_ACC);
	ok(good("sampling=1G") && p.sampling == 1073741824, "sampling=1G");
	bad("sampling=2G", "sampling", SAMPLING_ACC);
	bad("sampling=1025M", "sampling", SAMPLING_ACC);
	bad("sampling=1073741825", "sampling", SAMPLING_ACC);
	bad("sampling=-1", "sampling", SAMPLING_ACC);
	bad("sampling=99999999999999999999999", "sampling", SAMPLING_ACC);
	bad("sampling=512kk", "sampling", SAMPLING_ACC);
	bad("view=Live", "view", "live, allocated, peak");
	bad("view=", "view", "live, allocated, peak");
	bad("pid=0", "pid", "1..2147483647");
	bad("pid=-5", "pid", "1..2147483647");
	bad("pid=2147483648", "pid", "1..2147483647");
	bad("pid=12ab", "pid", "1..2147483647");
	bad("name=", "name", "1..63 bytes, no control characters");
	bad("name=a%0Ab", "name", "1..63 bytes, no control characters");
	bad("name=0123456789012345678901234567890123456789012345678901234567"
	    "890123", "name", "1..63 bytes, no control characters");
	bad("include=", "include", "a file name pattern (fnmatch) of "
	    "1..4096 bytes");
	bad("exclude", "exclude", "a file name pattern (fnmatch) of "
	    "1..4096 bytes");
	bad("frames=%zz", "frames", "percent-encoded value");
	bad("frames=%4", "frames", "percent-encoded value");
	bad("frames=%00", "frames", "percent-encoded value");
	/* unknown keys are ignored even when they do not decode, and so
	 * is a value that does not decode of an unknown key */
	ok(good("fr%ames=3&%zz=1&%00=2&x=%4&y=%00&count=7") && p.count == 7 &&
	   p.frames == 30, "an undecodable unknown key or value is ignored");
	params_free(&p);
	/* the default duration never exceeds a smaller max_duration */
	ok(params_parse(&p, "", 3, &e) == 0 && p.duration == 3,
	   "default duration clamped to max_duration 3");
	params_free(&p);
	ok(params_parse(&p, "count=1", 300, &e) == 0 && p.duration == 5,
	   "default duration 5 under max_duration 300");
	params_free(&p);
	bad("count=5&frames=0&duration=3", "frames", "1..512");
	ok(params_parse(&p, "x=1&include=a&include=b&include=c&include=d&"
			"include=e&include=f&include=g&include=h&include=i&"
			"include=j&include=k&include=l&include=m&include=n&"
			"include=o&include=p&include=q&include=r&include=s&"
			"include=t&include=u&include=v&include=w&include=x&"
			"include=y&include=z&include=A&include=B&include=C&"
			"include=D&include=E&include=F&include=G", 60, &e) ==
	   -EINVAL && strcmp(e.param, "include") == 0,
	   "33 include patterns -> 400");
	params_free(&p);

	strcpy(s, "a%2Fb+c%25");
	ok(params_decode(s, 1) == 0 && strcmp(s, "a/b c%") == 0,
	   "params_decode with plus_space");
	strcpy(s, "a+b%2B");
	ok(params_decode(s, 0) == 0 && strcmp(s, "a+b+") == 0,
	   "params_decode in a path keeps '+'");
	return done_testing();
}
