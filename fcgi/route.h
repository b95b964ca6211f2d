/* SPDX-License-Identifier: MIT */
/*
 * route.h - request path -> route (route.c).  errno -> HTTP status is
 * route_status.h.
 */
#ifndef HAWK_FCGI_ROUTE_H
#define HAWK_FCGI_ROUTE_H

#include <stddef.h>

enum route_id {
	ROUTE_NONE = 0,            /* 404 */
	ROUTE_PROFILE,             /* .../tracemalloc/ fixed duration */
	ROUTE_START,
	ROUTE_SNAPSHOT,
	ROUTE_STOP,
	ROUTE_TARGETS,
	ROUTE_PPROF_HEAP,          /* /pprof/heap, Go's path */
	ROUTE_PPROF_ALLOCS,        /* /pprof/allocs, Go's path */
	ROUTE_INDEX,               /* /prof/mem/, the HTML index */
	ROUTE_METRICS,             /* /prof/mem/metrics, Prometheus */
	ROUTE_COUNT                /* number of routes (not a route) */
};

/* The CGI variables that locate a request (any may be NULL). */
struct route_req {
	const char *method;        /* REQUEST_METHOD */
	const char *script_name;   /* SCRIPT_NAME */
	const char *path_info;     /* PATH_INFO */
	const char *request_uri;   /* REQUEST_URI (with the query) */
	const char *query;         /* QUERY_STRING */
};

/*
 * The route of `r` under `prefix` ("" or "/debug"-like, no trailing
 * slash).  The path is SCRIPT_NAME + PATH_INFO when that starts with the
 * prefix, else REQUEST_URI up to '?' (percent-decoded) when that does; what
 * follows the prefix must be one of prof/mem/tracemalloc/{,start/,
 * snapshot/,stop/,targets/}, prof/mem/{,metrics}, pprof/{heap,allocs},
 * the trailing slash optional.
 */
enum route_id route_match(const char *prefix, const struct route_req *r);

#endif /* HAWK_FCGI_ROUTE_H */
