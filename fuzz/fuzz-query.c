/* SPDX-License-Identifier: MIT */
/*
 * fuzz-query.c - libFuzzer target: the request parsers.  The input is
 * split at its first newline into a request URI (path and query) and a
 * query string; the route is matched under the default prefix and the
 * query parsed and validated as hawk-fcgi does (params_parse), with an
 * error body formatted for a rejected one.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_json.h"
#include "params.h"
#include "route.h"
#include "sink.h"

static int
discard(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_req r = { .method = "GET", .script_name = "" };
	struct params_error e;
	struct params p;
	struct sink out;
	char *s = malloc(size + 1), *nl;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	nl = strchr(s, '\n');
	if (nl)
		*nl++ = '\0';
	r.request_uri = s;
	r.path_info = s;
	r.query = nl ? nl : "";
	route_match("/debug", &r);
	route_match("", &r);
	if (params_parse(&p, r.query, 1 + (size % 300), &e) == -EINVAL) {
		sink_init(&out, discard, NULL);
		fmt_json_error(&out, e.msg, e.param, e.accepted, p.pid);
		sink_flush(&out);
	}
	params_free(&p);
	free(s);
	return 0;
}
