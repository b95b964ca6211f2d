/* SPDX-License-Identifier: MIT */
/*
 * fmt_page.c - the HTML index of the targets and their Prometheus metrics.
 *
 * - Both are made from status alone (a target list refreshed with
 *   CMD_STATUS): cheap enough to be scraped every few seconds.
 * - A target's name comes from its segment, so it is untrusted text: it is
 *   escaped for HTML or for a Prometheus label value, and a byte that is
 *   not part of valid UTF-8 becomes '?' (Prometheus rejects a scrape with
 *   invalid UTF-8 in a label).
 * - The index changes nothing by itself: its buttons are GET forms on the
 *   existing start/ and stop/ routes, so it offers no protection beyond the
 *   web server's access rules (hawk-fcgi(8)).
 * Nothing here knows HTTP or FastCGI.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fmt_page.h"

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

enum esc { ESC_HTML, ESC_LABEL };

/* s (at most max bytes) escaped for HTML text/attributes or a label. */
static void
put_text(struct sink *out, const char *s, size_t max, enum esc how)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < max && p[i]) {
		k = utf8_len(p + i);
		if (k == 0 || i + k > max) {
			sink_write(out, "?", 1);
			i++;
			continue;
		}
		if (k > 1) {
			sink_write(out, p + i, k);
		} else if (how == ESC_HTML && strchr("&<>\"'", p[i])) {
			sink_printf(out, "&#%d;", p[i]);
		} else if (how == ESC_LABEL && (p[i] == '\\' || p[i] == '"')) {
			sink_printf(out, "\\%c", p[i]);
		} else if (how == ESC_LABEL && p[i] == '\n') {
			sink_puts(out, "\\n");
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			sink_write(out, "?", 1);
		} else {
			sink_write(out, p + i, 1);
		}
		i += k;
	}
}

static void
labels(struct sink *out, const struct seg_info *t)
{
	sink_printf(out, "{pid=\"%d\",name=\"", (int)t->pid);
	put_text(out, t->name, sizeof(t->name), ESC_LABEL);
	sink_puts(out, "\"}");
}

void
fmt_page_metrics(const struct seg_info *v, const int *responding,
		 size_t n, const struct fmt_page_count *counts, size_t nc,
		 struct sink *out)
{
	static const struct {
		const char *name, *help;
	} g[] = {
		{ "hawk_target_alive", "Whether the target process is alive "
		  "(1) or its segment is left from a dead one (0)." },
		{ "hawk_target_responding", "Whether the target answered a "
		  "status request just now (1) or not (0)." },
		{ "hawk_tracing", "Whether the target is tracing its "
		  "allocations (1) or not (0)." },
		{ "hawk_traced_current_bytes", "Traced memory now: bytes of "
		  "the live blocks allocated since tracing started." },
		{ "hawk_traced_peak_bytes", "Peak of the traced memory since "
		  "tracing started." },
		{ "hawk_tracer_memory_bytes", "Memory the tracer itself uses "
		  "in the target." },
		{ "hawk_dropped_allocations", "Allocations the tracer could "
		  "not record since tracing started." },
	};
	size_t k, i;
	uint64_t val;

	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		sink_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name,
			    g[k].help, g[k].name);
		for (i = 0; i < n; i++) {
			switch (k) {
			case 0: val = v[i].alive != 0; break;
			case 1: val = responding && responding[i]; break;
			case 2: val = v[i].tracing != 0; break;
			case 3: val = v[i].traced_current; break;
			case 4: val = v[i].traced_peak; break;
			case 5: val = v[i].tracer_memory; break;
			default: val = v[i].dropped; break;
			}
			sink_puts(out, g[k].name);
			labels(out, &v[i]);
			sink_printf(out, " %llu\n", (unsigned long long)val);
		}
	}
	sink_puts(out, "# HELP hawk_responder_requests_total Requests this "
		  "responder process answered, by route and status (each "
		  "responder process counts its own).\n"
		  "# TYPE hawk_responder_requests_total counter\n");
	for (i = 0; i < nc; i++)
		sink_printf(out, "hawk_responder_requests_total{route=\"%s\","
			    "status=\"%d\"} %llu\n", counts[i].route,
			    counts[i].status,
			    (unsigned long long)counts[i].n);
}

/* Hawk's format_bytes, 1024-based ("3.9 MB"). */
static void
put_bytes(struct sink *out, uint64_t b)
{
	static const char *const u[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double d = (double)b;
	size_t k = 0;

	while (d >= 1024 && k + 1 < sizeof(u) / sizeof(u[0])) {
		d /= 1024;
		k++;
	}
	sink_printf(out, "%.1f %s", d, u[k]);
}

static const char index_head[] =
"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
"<title>hawk: traced processes</title>\n<style>\n"
"body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }\n"
"table { border-collapse: collapse; margin: 8px 0; }\n"
"th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; "
"vertical-align: top; }\n"
"th { background: #f4f1ea; }\n"
"td.num { text-align: right; font-variant-numeric: tabular-nums; }\n"
"form { display: inline; margin: 0 4px 0 0; }\n"
"a { margin-right: 6px; }\n"
".off { color: #777; }\n.on { color: #0a6e2c; font-weight: 600; }\n"
"p.note { color: #555; max-width: 60em; }\n"
"</style>\n</head>\n<body>\n<h1>hawk: traced processes</h1>\n";

/* One link: href = prefix + path, then the query. */
static void
link(struct sink *out, const char *prefix, const char *path,
     const char *query, int32_t pid, const char *text)
{
	sink_printf(out, "<a href=\"%s%s?%s%spid=%d\">%s</a>", prefix, path,
		    query, *query ? "&amp;" : "", (int)pid, text);
}

static void
button(struct sink *out, const char *prefix, const char *route,
       int32_t pid, const char *text, int enabled)
{
	sink_printf(out, "<form method=\"get\" action=\"%s/prof/mem/"
		    "tracemalloc/%s/\"><input type=\"hidden\" name=\"pid\" "
		    "value=\"%d\"><button type=\"submit\" class=\"%s\"%s>%s"
		    "</button></form>", prefix, route, (int)pid, route,
		    enabled ? "" : " disabled", text);
}

void
fmt_page_index(const struct seg_info *v, const int *responding,
	       size_t n, const char *prefix, struct sink *out)
{
	const char *tm = "/prof/mem/tracemalloc/snapshot/";
	size_t i;

	sink_puts(out, index_head);
	sink_printf(out, "<p>%zu process%s this responder may read. "
		    "<a href=\"%s/prof/mem/tracemalloc/targets/\">targets "
		    "(JSON)</a> <a href=\"%s/prof/mem/metrics\">metrics "
		    "(Prometheus)</a></p>\n", n, n == 1 ? "" : "es", prefix,
		    prefix);
	sink_puts(out, "<table id=\"targets\">\n<thead><tr><th>pid</th>"
		  "<th>name</th><th>state</th><th>mode</th><th>current</th>"
		  "<th>peak</th><th>views (snapshot now)</th><th>tracing</th>"
		  "</tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		const struct seg_info *t = &v[i];

		sink_printf(out, "<tr data-pid=\"%d\" data-tracing=\"%d\">"
			    "<td class=\"num\">%d</td><td class=\"name\">",
			    (int)t->pid, t->tracing ? 1 : 0, (int)t->pid);
		put_text(out, t->name, sizeof(t->name), ESC_HTML);
		sink_printf(out, "</td><td class=\"state\">%s%s</td>",
			    !t->alive ? "dead" : t->tracing ?
			    "<span class=\"on\">tracing</span>" :
			    "<span class=\"off\">not tracing</span>",
			    t->alive && !(responding && responding[i]) ?
			    " (not responding)" : "");
		if (t->tracing && t->sampling)
			sink_printf(out, "<td class=\"mode\">sampled every "
				    "%llu bytes, %u frames</td>",
				    (unsigned long long)t->sampling,
				    t->frames);
		else if (t->tracing)
			sink_printf(out, "<td class=\"mode\">exact, %u "
				    "frames</td>", t->frames);
		else
			sink_puts(out, "<td class=\"mode off\">off</td>");
		sink_printf(out, "<td class=\"num current\" data-bytes="
			    "\"%llu\">", (unsigned long long)t->traced_current);
		put_bytes(out, t->traced_current);
		sink_printf(out, "</td><td class=\"num peak\" data-bytes="
			    "\"%llu\">", (unsigned long long)t->traced_peak);
		put_bytes(out, t->traced_peak);
		sink_puts(out, "</td><td class=\"views\">");
		if (t->alive && t->tracing) {
			link(out, prefix, tm, "format=flamegraph", t->pid,
			     "flame graph");
			link(out, prefix, tm, "format=flamegraph&amp;"
			     "view=allocated", t->pid, "flame graph (allocated)");
			link(out, prefix, tm, "count=0", t->pid, "lineno");
			link(out, prefix, tm, "format=traceback&amp;count=0",
			     t->pid, "traceback");
			link(out, prefix, tm, "format=pprof", t->pid, "pprof");
			link(out, prefix, tm, "format=collapsed", t->pid,
			     "collapsed");
			link(out, prefix, tm, "format=pickle", t->pid,
			     "pickle");
			link(out, prefix, "/pprof/heap", "", t->pid,
			     "/pprof/heap");
			link(out, prefix, "/pprof/allocs", "", t->pid,
			     "/pprof/allocs");
		} else if (t->alive) {
			sink_puts(out, "<span class=\"off\">start tracing "
				  "first, or take a fixed-duration "
				  "profile:</span> ");
			link(out, prefix, "/prof/mem/tracemalloc/", "", t->pid,
			     "5 s lineno");
			link(out, prefix, "/prof/mem/tracemalloc/",
			     "format=flamegraph", t->pid, "5 s flame graph");
		}
		sink_puts(out, "</td><td class=\"buttons\">");
		if (t->alive) {
			button(out, prefix, "start", t->pid, "Start",
			       !t->tracing);
			button(out, prefix, "stop", t->pid, "Stop",
			       t->tracing);
		}
		sink_puts(out, "</td></tr>\n");
	}
	sink_puts(out, "</tbody>\n</table>\n<p class=\"note\">The buttons "
		  "and links are plain GET requests on hawk's routes: this "
		  "page adds no protection of its own. Whoever can open it "
		  "can start and stop tracing and read profiles, as the web "
		  "server's access rules allow.</p>\n</body>\n</html>\n");
}
