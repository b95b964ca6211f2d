/* SPDX-License-Identifier: MIT */
/*
 * t-route.c - route matching under the variable layouts of lighttpd
 * mod_fastcgi, Apache mod_fcgid and mod_proxy_fcgi (as each server
 * sets SCRIPT_NAME, PATH_INFO and REQUEST_URI), plus the errno -> status
 * table.
 */
#include "config.h"

#include <errno.h>

#include "route.h"
#include "route_status.h"
#include "tap.h"

static void
m(const char *prefix, const char *sn, const char *pi, const char *uri,
  enum route_id want, const char *what)
{
	struct route_req r = { .method = "GET", .script_name = sn,
			       .path_info = pi, .request_uri = uri };

	is_int(route_match(prefix, &r), want, "%s", what);
}

int
main(void)
{
	const char *P = "/debug";

	/* lighttpd "/debug" => (...), check-local disable */
	m(P, "/debug", "/prof/mem/tracemalloc/start/",
	  "/debug/prof/mem/tracemalloc/start/?frames=5", ROUTE_START,
	  "lighttpd /debug key: start/");
	m(P, "/debug", "/prof/mem/tracemalloc/",
	  "/debug/prof/mem/tracemalloc/", ROUTE_PROFILE, "lighttpd: fixed-duration route");
	m(P, "/debug", "/prof/mem/tracemalloc", NULL, ROUTE_PROFILE,
	  "without trailing slash");
	m(P, "/debug", "/prof/mem/tracemalloc/snapshot", NULL, ROUTE_SNAPSHOT,
	  "snapshot without slash");
	m(P, "/debug", "/prof/mem/tracemalloc/stop/", NULL, ROUTE_STOP,
	  "stop/");
	m(P, "/debug", "/prof/mem/tracemalloc/targets/", NULL, ROUTE_TARGETS,
	  "targets/");
	/* lighttpd "/debug/prof/" key: SCRIPT_NAME one segment further */
	m(P, "/debug/prof/mem", "/tracemalloc/snapshot/",
	  "/debug/prof/mem/tracemalloc/snapshot/", ROUTE_SNAPSHOT,
	  "lighttpd /debug/prof/ key");
	/* lighttpd "/" with fix-root-scriptname */
	m(P, "", "/debug/prof/mem/tracemalloc/stop/", NULL, ROUTE_STOP,
	  "lighttpd root key: empty SCRIPT_NAME");
	/* mod_fcgid ScriptAlias /debug/prof */
	m(P, "/debug/prof", "/mem/tracemalloc/start/",
	  "/debug/prof/mem/tracemalloc/start/", ROUTE_START,
	  "mod_fcgid ScriptAlias");
	/* mod_proxy_fcgi: no PATH_INFO */
	m(P, "/debug/prof/mem/tracemalloc/snapshot/", NULL,
	  "/debug/prof/mem/tracemalloc/snapshot/?format=pickle",
	  ROUTE_SNAPSHOT, "mod_proxy_fcgi: SCRIPT_NAME only");
	m(P, NULL, NULL, "/debug/prof/mem/tracemalloc/targets?pid=3",
	  ROUTE_TARGETS, "REQUEST_URI only, query stripped");
	m(P, "/proxy:fcgi://localhost", "/", "/debug/prof/mem/tracemalloc/",
	  ROUTE_PROFILE, "SCRIPT_NAME without prefix: REQUEST_URI decides");
	m(P, NULL, NULL, "/debug/prof/mem/tracemalloc/st%6Fp/", ROUTE_STOP,
	  "REQUEST_URI is percent-decoded");
	/* not routes */
	m(P, "/debug", "/prof/mem/tracemalloc/start//", NULL, ROUTE_NONE,
	  "two trailing slashes");
	m(P, "/debug", "/prof/mem/tracemalloc/startx/", NULL, ROUTE_NONE,
	  "unknown route");
	m(P, "/debug", "/prof/mem/tracemalloc/start/extra", NULL, ROUTE_NONE,
	  "extra segment");
	m(P, "/other", "/prof/mem/tracemalloc/start/",
	  "/other/prof/mem/tracemalloc/start/", ROUTE_NONE, "other prefix");
	m(P, "/debugx", "/prof/mem/tracemalloc/", NULL, ROUTE_NONE,
	  "prefix must end at a path segment");
	m(P, NULL, NULL, NULL, ROUTE_NONE, "no variables at all");
	m(P, "/debug", "", NULL, ROUTE_NONE, "the prefix alone");
	/* Go's scrape paths, the index page and the metrics */
	m(P, "/debug", "/pprof/heap", "/debug/pprof/heap?seconds=5",
	  ROUTE_PPROF_HEAP, "lighttpd: /debug/pprof/heap");
	m(P, "/debug/pprof", "/allocs", NULL, ROUTE_PPROF_ALLOCS,
	  "mod_fcgid ScriptAlias /debug/pprof: allocs");
	m(P, "/debug/pprof/heap", NULL, "/debug/pprof/heap", ROUTE_PPROF_HEAP,
	  "mod_proxy_fcgi: /debug/pprof/heap");
	m(P, "/debug/prof/mem", "/", NULL, ROUTE_INDEX,
	  "mod_fcgid ScriptAlias /debug/prof/mem: the index");
	m(P, "/debug", "/prof/mem", NULL, ROUTE_INDEX, "the index, no slash");
	m(P, "/debug/prof/mem", "/metrics", NULL, ROUTE_METRICS, "metrics");
	m(P, "/debug/prof/mem", "/tracemalloc/start/", NULL, ROUTE_START,
	  "mod_fcgid ScriptAlias /debug/prof/mem: start/");
	m(P, "/debug", "/pprof/profile", NULL, ROUTE_NONE,
	  "Go's CPU profile is not ours");
	m(P, "/debug", "/pprof/heapx", NULL, ROUTE_NONE, "pprof/heapx");
	/* other prefixes */
	m("", "", "/prof/mem/tracemalloc/start/", NULL, ROUTE_START,
	  "empty prefix (mounted at the root)");
	m("/a/b", "/a/b", "/prof/mem/tracemalloc/stop", NULL, ROUTE_STOP,
	  "deeper prefix");

	is_int(route_status(0), 200, "0 -> 200");
	is_int(route_status(-EINVAL), 400, "EINVAL -> 400");
	is_int(route_status(-ESRCH), 404, "ESRCH -> 404");
	is_int(route_status(-EALREADY), 409, "EALREADY -> 409");
	is_int(route_status(-ENOTCONN), 409, "ENOTCONN -> 409");
	is_int(route_status(-EPROTO), 502, "EPROTO (a malformed target) -> 502");
	is_int(route_status(-EFBIG), 502, "EFBIG (snapshot above the cap) -> 502");
	is_str(route_reason(207), "Multi-Status", "207 reason");
	is_str(route_reason(502), "Bad Gateway", "502 reason");
	is_int(route_status(-ETIMEDOUT), 504, "ETIMEDOUT -> 504");
	is_int(route_status(-EINPROGRESS), 504, "EINPROGRESS -> 504");
	is_int(route_status(-EIO), 500, "EIO -> 500");
	is_str(route_reason(409), "Conflict", "reason phrase");
	return done_testing();
}
