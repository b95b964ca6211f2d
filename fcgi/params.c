/* SPDX-License-Identifier: MIT */
/*
 * params.c - query string decoding and validation (whitelist by key,
 * character class and range, in the spirit of lighttpd's jsonp check).
 *
 * Contract:
 *  - the whole query is validated before anything acts on it: a bad value
 *    is a 400 that names the parameter and the accepted values, and the
 *    request changes no state;
 *  - integers are plain decimal digits (no sign, no space, no hex), in
 *    range; booleans are true/false/1/0/yes/no in any case;
 *  - an empty value of a known key is an error ("frames=" is not 30);
 *  - unknown keys are ignored, the last value of a repeated key wins,
 *    include= and exclude= accumulate (up to PARAMS_PATTERNS_MAX each).
 * Defaults are the seed page's: duration 5, format lineno, frames 30,
 * count 10, gc true, cumulative false (all_frames false); hawk's own:
 * sampling 0 (exact), view live.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"
#include "estimate.h"
#include "segment.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
params_decode(char *s, int plus_space)
{
	char *w = s;
	int hi, lo;

	for (; *s; s++) {
		if (*s == '%') {
			hi = hexval((unsigned char)s[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else if (*s == '+' && plus_space) {
			*w++ = ' ';
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

__attribute__((format(printf, 4, 5)))
static int
bad(struct params_error *e, const char *param, const char *accepted,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->param, sizeof(e->param), "%s", param);
	snprintf(e->accepted, sizeof(e->accepted), "%s", accepted);
	return -EINVAL;
}

/* Decimal digits only, value in [lo, hi]. */
static int
parse_uint(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return -EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > hi)
			return -EINVAL;
	}
	if (n < lo)
		return -EINVAL;
	*out = n;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const t[] = { "true", "1", "yes" };
	static const char *const f[] = { "false", "0", "no" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(v, t[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, f[i]) == 0)
			return *out = 0, 0;
	}
	return -EINVAL;
}

#define BOOLS "true, false, 1, 0, yes, no"

/* Printable for an error message: cut at 64 bytes, controls as '?'. */
static const char *
shown(const char *v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; v[i] && i + 4 < len && i < 64; i++)
		buf[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' :
			v[i];
	if (v[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* one()'s answer for a key it does not know (ignored) */
#define PARAMS_UNKNOWN 1

/* Apply key k = value v: 0, -EINVAL with *e filled, or PARAMS_UNKNOWN. */
static int
one(struct params *p, const char *k, char *v, uint32_t max_duration,
    struct params_error *e)
{
	char acc[64], sv[72];
	uint64_t n;
	size_t i;

	if (strcmp(k, "duration") == 0) {
		snprintf(acc, sizeof(acc), "1..%u", max_duration);
		if (parse_uint(v, 1, max_duration, &n))
			return bad(e, k, acc, "duration must be an integer "
				   "number of seconds in %s, not \"%s\"", acc,
				   shown(v, sv, sizeof(sv)));
		p->duration = (uint32_t)n;
	} else if (strcmp(k, "format") == 0) {
		if (strcmp(v, "lineno") == 0)
			p->format = FORMAT_LINENO;
		else if (strcmp(v, "traceback") == 0)
			p->format = FORMAT_TRACEBACK;
		else if (strcmp(v, "pickle") == 0)
			p->format = FORMAT_PICKLE;
		else if (strcmp(v, "pprof") == 0)
			p->format = FORMAT_PPROF;
		else if (strcmp(v, "collapsed") == 0)
			p->format = FORMAT_COLLAPSED;
		else if (strcmp(v, "flamegraph") == 0)
			p->format = FORMAT_FLAMEGRAPH;
		else
			return bad(e, k, "lineno, traceback, pickle, pprof, "
				   "collapsed, flamegraph",
				   "unknown format \"%s\"",
				   shown(v, sv, sizeof(sv)));
	} else if (strcmp(k, "frames") == 0) {
		snprintf(acc, sizeof(acc), "1..%u", SEG_FRAMES_MAX);
		if (parse_uint(v, 1, SEG_FRAMES_MAX, &n))
			return bad(e, k, acc, "frames must be an integer in "
				   "%s, not \"%s\"", acc,
				   shown(v, sv, sizeof(sv)));
		p->frames = (uint32_t)n;
	} else if (strcmp(k, "count") == 0) {
		if (parse_uint(v, 0, INT32_MAX, &n))
			return bad(e, k, "0..2147483647 (0 = all)",
				   "count must be an integer in "
				   "0..2147483647, not \"%s\"",
				   shown(v, sv, sizeof(sv)));
		p->count = (uint32_t)n;
	} else if (strcmp(k, "gc") == 0 || strcmp(k, "cumulative") == 0 ||
		   strcmp(k, "all_frames") == 0) {
		int *b = k[0] == 'g' ? &p->gc : k[0] == 'c' ?
			&p->cumulative : &p->all_frames;

		if (parse_bool(v, b))
			return bad(e, k, BOOLS, "%s must be a boolean, not "
				   "\"%s\"", k, shown(v, sv, sizeof(sv)));
		if (b == &p->gc)
			p->gc_given = 1;
	} else if (strcmp(k, "seconds") == 0) {
		/* Go's /debug/pprof/heap?seconds=N: a delta profile */
		snprintf(acc, sizeof(acc), "1..%u", max_duration);
		if (parse_uint(v, 1, max_duration, &n))
			return bad(e, k, acc, "seconds must be an integer "
				   "number of seconds in %s, not \"%s\"", acc,
				   shown(v, sv, sizeof(sv)));
		p->seconds = (uint32_t)n;
	} else if (strcmp(k, "pid") == 0) {
		if (parse_uint(v, 1, INT32_MAX, &n))
			return bad(e, k, "1..2147483647", "pid must be a "
				   "process id, not \"%s\"",
				   shown(v, sv, sizeof(sv)));
		p->pid = (int32_t)n;
	} else if (strcmp(k, "name") == 0) {
		for (i = 0; v[i]; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				break;
		if (!*v || v[i] || i > PARAMS_NAME_MAX)
			return bad(e, k, "1..63 bytes, no control "
				   "characters", "bad process name \"%s\"",
				   shown(v, sv, sizeof(sv)));
		memcpy(p->name, v, i + 1);
	} else if (strcmp(k, "sampling") == 0) {
		if (snap_parse_sampling(v, &n))
			return bad(e, k, "0 (exact) or 1..1073741824 bytes, "
				   "k/M/G suffixes", "sampling must be a mean "
				   "number of bytes between samples (0 = "
				   "exact), not \"%s\"",
				   shown(v, sv, sizeof(sv)));
		p->sampling = n;
	} else if (strcmp(k, "view") == 0) {
		if (strcmp(v, "live") == 0)
			p->view = SNAP_VIEW_LIVE;
		else if (strcmp(v, "allocated") == 0)
			p->view = SNAP_VIEW_ALLOCATED;
		else if (strcmp(v, "peak") == 0)
			p->view = SNAP_VIEW_PEAK;
		else
			return bad(e, k, "live, allocated, peak",
				   "unknown view \"%s\"",
				   shown(v, sv, sizeof(sv)));
	} else if (strcmp(k, "include") == 0 || strcmp(k, "exclude") == 0) {
		int inc = k[0] == 'i';
		size_t *np = inc ? &p->n_include : &p->n_exclude;
		const char **arr = inc ? p->include : p->exclude;

		if (!*v || strlen(v) > 4096)
			return bad(e, k, "a file name pattern (fnmatch) of "
				   "1..4096 bytes", "empty or too long %s "
				   "pattern", k);
		if (*np == PARAMS_PATTERNS_MAX)
			return bad(e, k, "at most 32 patterns", "too many %s "
				   "patterns", k);
		arr[(*np)++] = v;
	} else {
		return PARAMS_UNKNOWN;
	}
	return 0;
}

int
params_parse(struct params *p, const char *query, uint32_t max_duration,
	     struct params_error *e)
{
	char *s, *next, *eq;
	int err;

	memset(p, 0, sizeof(*p));
	memset(e, 0, sizeof(*e));
	/* the default, but never above a smaller configured maximum */
	p->duration = max_duration < 5 ? max_duration : 5;
	p->format = FORMAT_LINENO;
	p->frames = SEG_FRAMES_DEFAULT;
	p->count = 10;
	p->gc = 1;
	if (!query || !*query)
		return 0;
	p->store = strdup(query);
	if (!p->store)
		return -ENOMEM;
	for (s = p->store; s; s = next) {
		next = strchr(s, '&');
		if (next)
			*next++ = '\0';
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (eq)
			*eq++ = '\0';
		else
			eq = s + strlen(s);     /* "key" alone: empty value */
		/* unknown keys are ignored with their values: a key that
		 * does not decode is no key we know, and a value that does
		 * not decode is an error only for a key we know */
		if (params_decode(s, 1))
			continue;
		if (params_decode(eq, 1)) {
			struct params scratch;
			struct params_error se;
			char probe[] = "0";

			memset(&scratch, 0, sizeof(scratch));
			if (one(&scratch, s, probe, max_duration, &se) ==
			    PARAMS_UNKNOWN)
				continue;
			return bad(e, s, "percent-encoded value",
				   "bad percent-escape in the value of %s",
				   s);
		}
		err = one(p, s, eq, max_duration, e);
		if (err == PARAMS_UNKNOWN)
			continue;
		if (err)
			return err;
	}
	return 0;
}

void
params_free(struct params *p)
{
	free(p->store);
	p->store = NULL;
}
