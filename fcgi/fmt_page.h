/* SPDX-License-Identifier: MIT */
/*
 * fmt_page.h - the pages about the targets rather than their heap: the
 * HTML index (<prefix>/prof/mem/) and the Prometheus metrics
 * (<prefix>/prof/mem/metrics).  Both take a target list with fresh status
 * (no snapshot is ever taken for them).
 */
#ifndef HAWK_FCGI_FMT_PAGE_H
#define HAWK_FCGI_FMT_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "seg_read.h"
#include "sink.h"

/* Requests this responder process served for one route with one status. */
struct fmt_page_count {
	const char *route;
	int status;
	uint64_t n;
};

/*
 * Prometheus text exposition format 0.0.4: per target (labels pid, name)
 * the gauges hawk_target_alive, hawk_target_responding, hawk_tracing,
 * hawk_traced_current_bytes, hawk_traced_peak_bytes,
 * hawk_tracer_memory_bytes, hawk_dropped_allocations; and the counter
 * hawk_responder_requests_total{route,status} of this responder process
 * (counts[0..nc)).  responding may be NULL (none answered).
 */
void fmt_page_metrics(const struct seg_info *v, const int *responding,
		      size_t n, const struct fmt_page_count *counts,
		      size_t nc, struct sink *out);

/*
 * The HTML index: one row per target (pid, name, state, mode, current and
 * peak), links to each view and format under `prefix` (the routes'
 * prefix, e.g. "/debug"), and start/stop buttons that are plain GET forms
 * on the existing routes.  Self-contained (no external resource).
 */
void fmt_page_index(const struct seg_info *v, const int *responding,
		    size_t n, const char *prefix, struct sink *out);

#endif /* HAWK_FCGI_FMT_PAGE_H */
