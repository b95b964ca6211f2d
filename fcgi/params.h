/* SPDX-License-Identifier: MIT */
/*
 * params.h - the query string of a request, decoded and validated.
 */
#ifndef HAWK_FCGI_PARAMS_H
#define HAWK_FCGI_PARAMS_H

#include <stddef.h>
#include <stdint.h>

enum params_format { FORMAT_LINENO = 0, FORMAT_TRACEBACK, FORMAT_PICKLE,
	FORMAT_PPROF, FORMAT_COLLAPSED, FORMAT_FLAMEGRAPH };

#define PARAMS_PATTERNS_MAX 32     /* include= / exclude= values each */
#define PARAMS_NAME_MAX 63         /* name= bytes (SEG_NAME_MAX - 1) */

struct params {
	uint32_t duration;         /* seconds, 1..max_duration, default 5
				      (or max_duration if smaller) */
	enum params_format format; /* default lineno */
	uint32_t frames;           /* 1..SEG_FRAMES_MAX, default 30 */
	uint32_t count;            /* 0 = all, default 10 */
	int gc;                    /* default true */
	int gc_given;              /* gc= was in the query */
	uint32_t seconds;          /* /debug/pprof/heap delta, 0 = none */
	int cumulative;            /* default false */
	int all_frames;            /* default false */
	int32_t pid;               /* 0 = not given */
	char name[PARAMS_NAME_MAX + 1]; /* "" = not given */
	const char *include[PARAMS_PATTERNS_MAX];
	size_t n_include;
	const char *exclude[PARAMS_PATTERNS_MAX];
	size_t n_exclude;
	uint64_t sampling;         /* start/ and profile: mean bytes between
				      samples, 0 = exact (default) */
	uint32_t view;             /* enum snap_view: live (default),
				      allocated, peak */
	char *store;               /* owns the decoded strings */
};

/* Why a query was rejected: the body of the 400. */
struct params_error {
	char msg[256];
	char param[32];
	char accepted[96];
};

/*
 * Decode (percent-escapes, '+' = space) and validate `query` (may be NULL).
 * Keys are case-sensitive; unknown keys are ignored; for a key given twice
 * the last value wins, except include/exclude which accumulate.  Returns 0,
 * -EINVAL with *e filled, or -ENOMEM.  Free with params_free() either way.
 */
int params_parse(struct params *p, const char *query, uint32_t max_duration,
		 struct params_error *e);
void params_free(struct params *p);

/* Decode one percent-encoded component in place; '+' becomes a space when
 * plus_space.  Returns -EINVAL on a bad escape or an embedded NUL. */
int params_decode(char *s, int plus_space);

#endif /* HAWK_FCGI_PARAMS_H */
