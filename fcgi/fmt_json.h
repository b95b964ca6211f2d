/* SPDX-License-Identifier: MIT */
/*
 * fmt_json.h - the JSON bodies: lineno and traceback statistics (Hawk's
 * shapes plus function, module and pid/pids), the target list and errors.
 */
#ifndef HAWK_FCGI_FMT_JSON_H
#define HAWK_FCGI_FMT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "seg_read.h"
#include "sink.h"
#include "stats.h"

/* Source line lookup: stripped text of file:line or "" (never NULL). */
typedef const char *(*fmt_code_fn)(void *arg, const char *file,
				   uint32_t line);

/* A target that failed in a request over several (serve.c). */
struct fmt_json_failure {
	int32_t pid;
	int status;                /* its HTTP status, as if alone */
	char error[512];           /* what failed */
};

struct fmt_json_stats {
	const struct st_set *set;
	const struct st_list *list;
	enum st_key key;
	size_t count;              /* first `count` statistics; 0 = all */
	uint64_t heap_current;
	int has_diff;              /* fixed-duration route: heap_diff_* */
	int64_t heap_diff;
	fmt_code_fn code;          /* NULL: every code line is "" */
	void *code_arg;
	const struct fmt_json_failure *failed; /* targets left out */
	size_t n_failed;
};

/*
 * {"stats": [...], "heap_current_bytes": N, "heap_current": "...",
 *  ["heap_diff_bytes": N, "heap_diff": "..."],
 *  ["failed": [{"pid": N, "status": N, "error": "..."}, ...]]}.  Each statistic is printed
 * by cJSON on its own, so memory stays bounded by one statistic.
 * Returns 0 or -ENOMEM (sink errors stay in the sink).
 */
int fmt_json_stats(const struct fmt_json_stats *j, struct sink *out);

/*
 * [{"pid":..,"name":..,"alive":..,"tracing":..,"responding":..,
 *   "frames":..,...}, ...]; responding[i] (or NULL: all false) says whether
 * target i answered a status command just now (its figures are fresh).
 */
int fmt_json_targets(const struct seg_info *v, const int *responding,
		     size_t n, struct sink *out);

/* {"error": msg} plus "parameter"/"accepted" when not NULL, and "pid"
 * when pid > 0. */
int fmt_json_error(struct sink *out, const char *msg, const char *param,
		   const char *accepted, int32_t pid);

/* {key: msg, "failed": [{"pid": N, "status": N, "error": "..."}, ...]}
 * (key "message" for a partial success, "error" when all failed). */
int fmt_json_partial(struct sink *out, const char *key, const char *msg,
		     const struct fmt_json_failure *v, size_t n);

#endif /* HAWK_FCGI_FMT_JSON_H */
