/* SPDX-License-Identifier: MIT */
/*
 * route.c - find the route whatever server sits in front.
 *
 * lighttpd ("/debug" => ...) gives SCRIPT_NAME=/debug and PATH_INFO=the
 * rest; with a "/debug/prof/" key SCRIPT_NAME runs one segment further;
 * mod_fcgid under ScriptAlias gives SCRIPT_NAME=the alias; mod_proxy_fcgi
 * sets no PATH_INFO at all (tests/t-route.c has each layout, the e2e
 * tests run each server).  Joining
 * SCRIPT_NAME and PATH_INFO gives the request path in every one of these
 * layouts; REQUEST_URI (up to '?', percent-decoded) is the fallback when
 * the join does not carry the prefix (a server that rewrote SCRIPT_NAME).
 * Matching is then on what follows the configured prefix, so the responder
 * works mounted at the whole prefix or at exactly the routes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "route.h"

static const struct {
	const char *path;
	enum route_id id;
} routes[] = {
	{ "/prof/mem/tracemalloc", ROUTE_PROFILE },
	{ "/prof/mem/tracemalloc/start", ROUTE_START },
	{ "/prof/mem/tracemalloc/snapshot", ROUTE_SNAPSHOT },
	{ "/prof/mem/tracemalloc/stop", ROUTE_STOP },
	{ "/prof/mem/tracemalloc/targets", ROUTE_TARGETS },
	{ "/pprof/heap", ROUTE_PPROF_HEAP },
	{ "/pprof/allocs", ROUTE_PPROF_ALLOCS },
	{ "/prof/mem", ROUTE_INDEX },
	{ "/prof/mem/metrics", ROUTE_METRICS },
};

/* The route of a full path, ROUTE_NONE when it lacks the prefix or the
 * rest is not a route. */
static enum route_id
match_path(const char *prefix, const char *path)
{
	size_t pl = strlen(prefix), l, i, rl;
	const char *rest;

	if (strncmp(path, prefix, pl) != 0)
		return ROUTE_NONE;
	rest = path + pl;
	l = strlen(rest);
	if (l && rest[l - 1] == '/')
		l--;                       /* one trailing slash is optional */
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rl = strlen(routes[i].path);
		if (rl == l && strncmp(rest, routes[i].path, l) == 0)
			return routes[i].id;
	}
	return ROUTE_NONE;
}

enum route_id
route_match(const char *prefix, const struct route_req *r)
{
	const char *sn = r->script_name ? r->script_name : "";
	const char *pi = r->path_info ? r->path_info : "";
	enum route_id id = ROUTE_NONE;
	char *p;
	size_t l;

	if (*sn || *pi) {
		l = strlen(sn) + strlen(pi) + 1;
		p = malloc(l);
		if (!p)
			return ROUTE_NONE;
		snprintf(p, l, "%s%s", sn, pi);
		id = match_path(prefix, p);
		free(p);
		if (id != ROUTE_NONE)
			return id;
	}
	if (r->request_uri && *r->request_uri) {
		p = strdup(r->request_uri);
		if (!p)
			return ROUTE_NONE;
		p[strcspn(p, "?#")] = '\0';
		if (params_decode(p, 0) == 0)
			id = match_path(prefix, p);
		free(p);
	}
	return id;
}
