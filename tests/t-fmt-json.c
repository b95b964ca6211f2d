/* SPDX-License-Identifier: MIT */
/*
 * t-fmt-json.c - exact JSON bodies: lineno (one target, pid), traceback
 * with code lines, a diff with heap_diff, several targets (pids), the
 * target list and errors.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fmt_json.h"
#include "stats.h"
#include "tap.h"

static struct sink s;

static const char *
code(void *arg, const char *file, uint32_t line)
{
	return strcmp(file, "a.c") == 0 && line == 1 ? "p = malloc(n);" : "";
}

static char *
run(const struct st_set *set, enum st_key key, int diff, size_t count,
    int has_code)
{
	struct fmt_json_stats j = { .set = set, .key = key, .count = count,
				    .heap_current = 1536 };
	struct sink_mem m = { 0 };
	struct st_list l;

	if (st_group(set, key, 0, diff, NULL, &l))
		return strdup("(group failed)");
	j.list = &l;
	j.has_diff = diff;
	j.heap_diff = -2048;
	if (has_code)
		j.code = code;
	sink_init(&s, sink_mem_fn, &m);
	if (fmt_json_stats(&j, &s) || sink_flush(&s))
		m.data = strdup("(format failed)");
	st_list_free(&l);
	return m.data;
}

int
main(void)
{
	struct st_set set;
	struct sink_mem m = { 0 };
	struct seg_info ti[2];
	uint32_t ids[2];
	char *got;

	st_set_init(&set);
	ids[0] = (uint32_t)st_frame_intern(&set, "a.c", 1, "fa", "/bin/x");
	ids[1] = (uint32_t)st_frame_intern(&set, "main.c", 9, "main",
					   "/bin/x");
	st_trace_add(&set, (uint32_t)st_target(&set, 42), ST_NEW, ids, 2, 5,
		     1536, 3, NULL);
	st_trace_add(&set, 0, ST_NEW, ids + 1, 1, 1, 100, 1, NULL);

	got = run(&set, ST_LINENO, 0, 0, 1);
	is_str(got, "{\"stats\": [{\"stat\":\"a.c:1: size=1536 B, count=3, "
	       "average=512 B\",\"mem_blocks_count\":3,"
	       "\"mem_blocks_size_bytes\":1536,\"mem_blocks_size\":\"1.5 KB\","
	       "\"filename\":\"a.c\",\"lineno\":1,\"code\":\"p = malloc(n);\","
	       "\"function\":\"fa\",\"module\":\"/bin/x\",\"pid\":42}, "
	       "{\"stat\":\"main.c:9: size=100 B, count=1, average=100 B\","
	       "\"mem_blocks_count\":1,\"mem_blocks_size_bytes\":100,"
	       "\"mem_blocks_size\":\"100.0 B\",\"filename\":\"main.c\","
	       "\"lineno\":9,\"code\":\"\",\"function\":\"main\",\"module\":"
	       "\"/bin/x\",\"pid\":42}], \"heap_current_bytes\": 1536, "
	       "\"heap_current\": \"1.5 KB\", \"view\": \"live\", \"estimated\": false, "
	       "\"sampling_bytes\": 0}\n", "lineno body");
	free(got);

	got = run(&set, ST_LINENO, 0, 1, 0);
	ok(got && strstr(got, "\"stats\": [{\"stat\":\"a.c:1:") &&
	   !strstr(got, "main.c:9"), "count=1 keeps the largest statistic");
	free(got);

	got = run(&set, ST_TRACEBACK, 0, 1, 1);
	is_str(got, "{\"stats\": [{\"stat\":\"main.c:9: size=1536 B, "
	       "count=3, average=512 B\",\"mem_blocks_count\":3,"
	       "\"mem_blocks_size_bytes\":1536,\"mem_blocks_size\":\"1.5 KB\","
	       "\"traceback\":[\"  File \\\"main.c\\\", line 9\","
	       "\"  File \\\"a.c\\\", line 1\",\"    p = malloc(n);\"],"
	       "\"frames\":[{\"filename\":\"main.c\",\"lineno\":9,"
	       "\"function\":\"main\",\"module\":\"/bin/x\"},{\"filename\":"
	       "\"a.c\",\"lineno\":1,\"function\":\"fa\",\"module\":"
	       "\"/bin/x\"}],\"pid\":42}], \"heap_current_bytes\": 1536, "
	       "\"heap_current\": \"1.5 KB\", \"view\": \"live\", \"estimated\": false, "
	       "\"sampling_bytes\": 0}\n",
	       "traceback body: oldest frame first, code line after");
	free(got);

	st_trace_add(&set, 0, ST_OLD, ids + 1, 1, 1, 4096, 2, NULL);
	got = run(&set, ST_LINENO, 1, 0, 0);
	ok(got && strstr(got, "\"stat\":\"main.c:9: size=100 B (-3996 B), "
			 "count=1 (-1), average=100 B\","
			 "\"mem_blocks_count\":1,"
			 "\"mem_blocks_size_bytes\":100,"),
	   "diff: StatisticDiff string, absolute mem_blocks_*");
	ok(got && strstr(got, "\"heap_diff_bytes\": -2048, \"heap_diff\": "
			 "\"-2.0 KB\", \"view\": \"live\""), "diff: heap_diff");
	free(got);

	/* a sampled set says so, with its rate and view */
	set.sampling_bytes = 524288;
	set.view = SNAP_VIEW_ALLOCATED;
	got = run(&set, ST_LINENO, 0, 0, 0);
	ok(got && strstr(got, "\"view\": \"allocated\", \"estimated\": "
			 "true, \"sampling_bytes\": 524288}\n"),
	   "sampled: view, estimated and sampling_bytes");
	free(got);
	set.sampling_bytes = 0;
	set.view = SNAP_VIEW_LIVE;

	st_trace_add(&set, (uint32_t)st_target(&set, 7), ST_NEW, ids, 1, 1,
		     10, 1, NULL);
	got = run(&set, ST_LINENO, 0, 0, 0);
	ok(got && strstr(got, "\"module\":\"/bin/x\",\"pids\":[7,42]}") &&
	   strstr(got, "\"lineno\":9,\"code\":\"\",\"function\":\"main\","
		  "\"module\":\"/bin/x\",\"pids\":[42]}"),
	   "several targets: sorted pids of each statistic");
	free(got);
	st_set_free(&set);

	memset(ti, 0, sizeof(ti));
	ti[0].pid = 12;
	snprintf(ti[0].name, sizeof(ti[0].name), "fc-leak");
	ti[0].alive = 1;
	ti[0].tracing = 1;
	ti[0].frames = 30;
	ti[0].max_frames = 512;
	ti[0].traced_current = 4096000;
	ti[0].traced_peak = 5000000;
	ti[0].tracer_memory = 65536;
	ti[0].rss_bytes = 9000000;
	ti[0].anon_bytes = 6000000;
	ti[0].alloc_mode = SEG_ALLOC_FOREIGN;
	snprintf(ti[0].alloc_path, sizeof(ti[0].alloc_path),
		 "/usr/lib/libjemalloc.so.2");
	ti[1].pid = 13;
	snprintf(ti[1].name, sizeof(ti[1].name), "t\"q");
	sink_init(&s, sink_mem_fn, &m);
	ok(fmt_json_targets(ti, (const int[]){ 1, 0 }, 2, &s) == 0 &&
	   sink_flush(&s) == 0, "targets written");
	is_str(m.data, "[{\"pid\":12,\"name\":\"fc-leak\",\"uid\":0,"
	       "\"alive\":true,\"tracing\":true,\"responding\":true,"
	       "\"frames\":30,"
	       "\"max_frames\":512,\"traced_current_bytes\":4096000,"
	       "\"traced_peak_bytes\":5000000,\"tracer_memory_bytes\":65536,"
	       "\"dropped\":0,\"last_error\":0,\"rss_bytes\":9000000,"
	       "\"anon_bytes\":6000000,\"allocator\":\"foreign\","
	       "\"allocator_path\":\"/usr/lib/libjemalloc.so.2\","
	       "\"lease_expired\":false,\"mode\":\"exact\","
	       "\"sampling_bytes\":0},"
	       "{\"pid\":13,\"name\":"
	       "\"t\\\"q\",\"uid\":0,\"alive\":false,\"tracing\":false,"
	       "\"responding\":false,"
	       "\"frames\":0,\"max_frames\":0,\"traced_current_bytes\":0,"
	       "\"traced_peak_bytes\":0,\"tracer_memory_bytes\":0,"
	       "\"dropped\":0,\"last_error\":0,\"rss_bytes\":0,"
	       "\"anon_bytes\":0,\"allocator\":\"glibc\","
	       "\"lease_expired\":false,\"mode\":\"off\","
	       "\"sampling_bytes\":0}]\n",
	       "targets body");
	sink_mem_free(&m);

	sink_init(&s, sink_mem_fn, &m);
	fmt_json_error(&s, "frames must be an integer in 1..512, not \"0\"",
		       "frames", "1..512", 0);
	sink_flush(&s);
	is_str(m.data, "{\"error\":\"frames must be an integer in 1..512, "
	       "not \\\"0\\\"\",\"parameter\":\"frames\",\"accepted\":"
	       "\"1..512\"}\n", "error body names parameter and range");
	sink_mem_free(&m);
	sink_init(&s, sink_mem_fn, &m);
	fmt_json_error(&s, "target 1234 did not answer within 5000 ms", NULL,
		       NULL, 1234);
	sink_flush(&s);
	is_str(m.data, "{\"error\":\"target 1234 did not answer within "
	       "5000 ms\",\"pid\":1234}\n", "timeout error names the pid");
	sink_mem_free(&m);
	/* bytes that are not UTF-8 (a parameter value echoed, a target's
	 * name): written as Python's backslashreplace shows them, so the
	 * body stays valid UTF-8 JSON */
	sink_init(&s, sink_mem_fn, &m);
	fmt_json_error(&s, "no traced process named \"\xff\xc3(\xed\xa0\x80\"",
		       NULL, NULL, 0);
	sink_flush(&s);
	is_str(m.data, "{\"error\":\"no traced process named \\\"\\\\xff"
	       "\\\\xc3(\\\\xed\\\\xa0\\\\x80\\\"\"}\n",
	       "invalid UTF-8 in an error: \\xNN");
	sink_mem_free(&m);
	return done_testing();
}
