/* SPDX-License-Identifier: MIT */
/*
 * t-fmt-pprof.c - the pprof, collapsed and flame-graph formatters and the
 * index/metrics pages on hand-made snapshots and sets, where every case is
 * known: a profile is gunzipped with zlib and decoded with protobuf-c, and
 * its locations (inline lines, a traceback cut inside an address's inline
 * frames, an address outside every module), mappings, labels, the delta
 * (merged, zero samples dropped) and filters are checked field by field;
 * the folded stacks are compared byte for byte; names that could break a
 * page or a label are escaped.  (t-pprof.sh reads real profiles with go
 * tool pprof.)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fmt_flame.h"
#include "fmt_page.h"
#include "fmt_pprof.h"
#include "profile.pb-c.h"
#include "stats.h"
#include "tap.h"

typedef Perftools__Profiles__Profile pb_profile;

/* ---------------------------------------------------- hand-made snaps */

struct fake {
	struct snap_header h;
	struct snap_module mod;
	struct snap_trace tr[3];
	uint64_t frames[6];
	char strings[16];
	struct snap snap;
};

/* Snapshot of pid: module /bin/a at [0x1000, 0x2000) with build-id ab cd;
 * traces (most recent first):
 *   0: 0x1010 0x1020            size s0, 3 blocks
 *   1: 0x1030 0x1020            50 bytes, 1 block
 *   2: 0x5000 (no module)       7 bytes, 1 block */
static void
fake_init(struct fake *f, int32_t pid, uint64_t s0)
{
	memset(f, 0, sizeof(*f));
	f->h.pid = pid;
	f->h.frames = 8;
	f->h.time_ns = 1000;
	f->h.n_modules = 1;
	f->h.n_traces = 3;
	f->h.n_frames = 5;
	f->mod.lo = 0x1000;
	f->mod.hi = 0x2000;
	f->mod.path_off = 0;
	f->mod.path_len = 6;
	f->mod.build_id_len = 2;
	f->mod.build_id[0] = 0xab;
	f->mod.build_id[1] = 0xcd;
	strcpy(f->strings, "/bin/a");
	f->frames[0] = 0x1010;
	f->frames[1] = 0x1020;
	f->frames[2] = 0x1030;
	f->frames[3] = 0x1020;
	f->frames[4] = 0x5000;
	f->tr[0] = (struct snap_trace){ .size = s0, .count = 3,
					.frame_first = 0, .nframes = 2 };
	f->tr[1] = (struct snap_trace){ .size = 50, .count = 1,
					.frame_first = 2, .nframes = 2 };
	f->tr[2] = (struct snap_trace){ .size = 7, .count = 1,
					.frame_first = 4, .nframes = 1 };
	f->snap.h = &f->h;
	f->snap.modules = &f->mod;
	f->snap.traces = f->tr;
	f->snap.frames = f->frames;
	f->snap.strings = f->strings;
}

/* The traces of fake f as the responder hands them to the builder while
 * reading the snapshot: 0x1010 expands to two frames (inl inlined into
 * outer), 0x1030 to two (x2 inlined into x1) but trace 1 is cut to one
 * frame by a traceback limit of 1, the others to one. */
static int
add_traces(struct fmt_pprof_build *b, struct st_set *set,
	   const struct fake *f, enum st_gen gen)
{
	int t = st_target(set, f->h.pid), err;
	uint32_t ids[3], nl[2];
	uint64_t addrs[2];

	ids[0] = (uint32_t)st_frame_intern(set, "a.c", 10, "inl", "/bin/a");
	ids[1] = (uint32_t)st_frame_intern(set, "a.c", 20, "outer", "/bin/a");
	ids[2] = (uint32_t)st_frame_intern(set, "main.c", 5, "main",
					   "/bin/a");
	addrs[0] = 0x1010;
	nl[0] = 2;
	addrs[1] = 0x1020;
	nl[1] = 1;
	err = fmt_pprof_add(b, &f->snap, (uint32_t)t, gen, addrs, nl, 2, ids,
			    f->tr[0].size, 3);
	ids[0] = (uint32_t)st_frame_intern(set, "x.c", 1, "x2", "/bin/a");
	addrs[0] = 0x1030;
	nl[0] = 1;
	err = err ? err : fmt_pprof_add(b, &f->snap, (uint32_t)t, gen, addrs,
					nl, 1, ids, 50, 1);
	ids[0] = (uint32_t)st_frame_intern(set, "<unknown>", 0, "", "");
	addrs[0] = 0x5000;
	err = err ? err : fmt_pprof_add(b, &f->snap, (uint32_t)t, gen, addrs,
					nl, 1, ids, 7, 1);
	return err;
}

/* Build from the fakes fk[0..n) (generation gens[i]), dropping target
 * index `drop` (-1: none), format and decode; NULL when either fails (rc
 * in *err). */
static pb_profile *
run(const struct fmt_pprof *p, struct fake *const *fk, const enum st_gen *gens,
    size_t n, int drop, int *err)
{
	struct sink_mem m = { 0 };
	struct sink *s = malloc(sizeof(*s));
	struct fmt_pprof_build *b = fmt_pprof_begin(p);
	pb_profile *prof = NULL;
	unsigned char *raw = NULL;
	size_t cap = 1 << 20, i;
	z_stream z;

	*err = b ? 0 : -ENOMEM;
	for (i = 0; i < n && !*err; i++)
		*err = add_traces(b, (struct st_set *)p->set, fk[i], gens[i]);
	if (*err) {
		fmt_pprof_free(b);
		free(s);
		return NULL;
	}
	if (drop >= 0)
		fmt_pprof_drop(b, (uint32_t)drop);
	sink_init(s, sink_mem_fn, &m);
	*err = fmt_pprof_end(b, s);
	sink_flush(s);
	free(s);
	if (*err || m.len < 2 || (unsigned char)m.data[0] != 0x1f ||
	    (unsigned char)m.data[1] != 0x8b)
		goto out;
	raw = malloc(cap);
	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 15 + 16);
	z.next_in = (unsigned char *)m.data;
	z.avail_in = (uInt)m.len;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END)
		prof = perftools__profiles__profile__unpack(NULL, z.total_out,
							    raw);
	inflateEnd(&z);
out:
	free(raw);
	sink_mem_free(&m);
	return prof;
}

static const char *
str(const pb_profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ?
		p->string_table[i] : "<bad index>";
}

static const Perftools__Profiles__Location *
loc(const pb_profile *p, uint64_t id)
{
	return id >= 1 && id <= p->n_location ? p->location[id - 1] : NULL;
}

/* "fn@line,fn@line" of a location's lines, innermost first. */
static const char *
lines(const pb_profile *p, uint64_t id, char *buf, size_t len)
{
	const Perftools__Profiles__Location *l = loc(p, id);
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; l && i < l->n_line && o < len; i++) {
		uint64_t f = l->line[i]->function_id;
		const char *name = f >= 1 && f <= p->n_function ?
			str(p, p->function[f - 1]->name) : "?";

		o += (size_t)snprintf(buf + o, len - o, "%s%s@%lld",
				      i ? "," : "", name,
				      (long long)l->line[i]->line);
	}
	return buf;
}

/* The sample whose leaf location's first line is function `fn`. */
static const Perftools__Profiles__Sample *
sample_of(const pb_profile *p, const char *fn)
{
	char b[256];
	size_t i, n = strlen(fn);

	for (i = 0; i < p->n_sample; i++) {
		lines(p, p->sample[i]->location_id[0], b, sizeof(b));
		if (strncmp(b, fn, n) == 0 && b[n] == '@')
			return p->sample[i];
	}
	return NULL;
}

static void
test_pprof(void)
{
	struct fake *a = malloc(sizeof(*a)), *old = malloc(sizeof(*old)),
		    *other = malloc(sizeof(*other));
	struct fake *fk[3];
	enum st_gen gens[3] = { ST_NEW, ST_NEW, ST_NEW };
	struct st_set set;
	struct fmt_pprof p = { 0 };
	struct fmt_pprof_build *bld;
	const Perftools__Profiles__Sample *s;
	const Perftools__Profiles__Mapping *m;
	const char *ex[] = { "x.c" };
	struct st_filter f = { .exclude = ex, .n_exclude = 1 };
	pb_profile *prof;
	uint32_t id0 = 0, nl1 = 1;
	uint64_t addr1 = 0x1010;
	char b[256];
	int err;

	fake_init(a, 100, 300);
	st_set_init(&set);
	p.set = &set;
	fk[0] = a;
	p.period = 1;
	p.time_ns = 1000;
	prof = run(&p, fk, gens, 1, -1, &err);
	ok(prof != NULL, "pprof: gzip + protobuf decode (err %d)", err);
	if (!prof)
		return;
	is_str(str(prof, 0), "", "string_table[0] is \"\"");
	is_int(prof->n_sample_type, 2, "two sample types");
	is_str(str(prof, prof->sample_type[0]->type), "inuse_objects",
	       "type 0 inuse_objects");
	is_str(str(prof, prof->sample_type[1]->unit), "bytes",
	       "type 1 unit bytes");
	is_str(str(prof, prof->default_sample_type), "inuse_space",
	       "default sample type inuse_space");
	is_str(str(prof, prof->period_type->type), "space",
	       "period type space");
	is_int(prof->period, 1, "period 1 (exact)");
	is_int(prof->time_nanos, 1000, "time_nanos");
	is_int(prof->n_sample, 3, "three samples");
	s = sample_of(prof, "inl");
	ok(s && s->n_location_id == 2 && s->value[0] == 3 &&
	   s->value[1] == 300, "trace 0: 2 locations, 3 blocks, 300 bytes");
	is_str(s ? lines(prof, s->location_id[0], b, sizeof(b)) : "",
	       "inl@10,outer@20", "0x1010: one location, inl then outer");
	is_str(s ? lines(prof, s->location_id[1], b, sizeof(b)) : "",
	       "main@5", "0x1020: main");
	ok(s && loc(prof, s->location_id[0])->address == 0x100f &&
	   loc(prof, s->location_id[0])->mapping_id == 1,
	   "address = return address - 1, in mapping 1");
	ok(s && s->n_label == 1 && strcmp(str(prof, s->label[0]->key),
					   "pid") == 0 &&
	   s->label[0]->num == 100, "label pid=100");
	s = sample_of(prof, "x2");
	ok(s && s->n_location_id == 1 && s->value[1] == 50,
	   "trace 1 cut by the limit: one location");
	is_str(s ? lines(prof, s->location_id[0], b, sizeof(b)) : "",
	       "x2@1", "the cut location keeps the frame the set kept");
	s = sample_of(prof, "<unknown>");
	ok(s && loc(prof, s->location_id[0])->mapping_id == 0,
	   "an address in no module: mapping 0");
	is_int(prof->n_mapping, 1, "one mapping");
	m = prof->n_mapping ? prof->mapping[0] : NULL;
	ok(m && m->memory_start == 0x1000 && m->memory_limit == 0x2000 &&
	   strcmp(str(prof, m->filename), "/bin/a") == 0 &&
	   strcmp(str(prof, m->build_id), "abcd") == 0,
	   "mapping: range, path, build-id in hex");
	ok(m && m->has_functions && m->has_filenames &&
	   m->has_line_numbers && m->has_inline_frames, "mapping: has_*");
	ok(prof->n_function >= 5 &&
	   prof->function[0]->name == prof->function[0]->system_name,
	   "functions: system name = name");
	perftools__profiles__profile__free_unpacked(prof, NULL);

	p.filter = &f;
	prof = run(&p, fk, gens, 1, -1, &err);
	ok(prof && prof->n_sample == 2 && !sample_of(prof, "x2"),
	   "exclude=x.c drops its sample");
	if (prof)
		perftools__profiles__profile__free_unpacked(prof, NULL);
	p.filter = NULL;

	/* the delta: old snapshot first, as the fixed-duration route adds
	 * them; trace 0 grew by 200 bytes, 1 and 2 did not change */
	fake_init(old, 100, 100);
	st_set_free(&set);
	st_set_init(&set);
	fk[0] = old;
	fk[1] = a;
	gens[0] = ST_OLD;
	p.delta = 1;
	p.duration_ns = 5;
	prof = run(&p, fk, gens, 2, -1, &err);
	ok(prof && prof->n_sample == 1, "delta: unchanged samples left out");
	s = prof ? sample_of(prof, "inl") : NULL;
	ok(s && s->value[0] == 0 && s->value[1] == 200,
	   "delta: trace 0 = +200 bytes, +0 blocks");
	ok(prof && prof->duration_nanos == 5, "delta: duration");
	if (prof)
		perftools__profiles__profile__free_unpacked(prof, NULL);

	p.delta = 0;
	prof = run(&p, fk, gens, 2, -1, &err);
	s = prof ? sample_of(prof, "inl") : NULL;
	ok(s && s->value[1] == 300 && prof->n_sample == 3,
	   "not a delta: the old snapshot is ignored");
	if (prof)
		perftools__profiles__profile__free_unpacked(prof, NULL);

	/* sampled, allocated view: the set's figures are the estimates */
	set.sampling_bytes = 524288;
	set.view = SNAP_VIEW_ALLOCATED;
	prof = run(&p, fk, gens, 2, -1, &err);
	ok(prof && prof->period == 524288 &&
	   strcmp(str(prof, prof->sample_type[0]->type), "alloc_objects") == 0
	   && strcmp(str(prof, prof->default_sample_type), "alloc_space") == 0
	   && prof->n_comment == 1 &&
	   strstr(str(prof, prof->comment[0]), "sampled"),
	   "sampled allocated view: period = rate, alloc_* types, said so");
	if (prof)
		perftools__profiles__profile__free_unpacked(prof, NULL);
	set.sampling_bytes = 0;
	set.view = SNAP_VIEW_LIVE;

	/* a target whose snapshot failed half-way is dropped: its samples
	 * are left out, the other target's stay */
	fake_init(other, 200, 1000);
	fk[0] = a;
	fk[1] = other;
	gens[0] = ST_NEW;
	p.delta = 0;
	prof = run(&p, fk, gens, 2, st_target(&set, 200), &err);
	ok(prof && prof->n_sample == 3 && sample_of(prof, "inl") &&
	   sample_of(prof, "inl")->label[0]->num == 100 &&
	   sample_of(prof, "inl")->value[1] == 300,
	   "dropped target: only the other target's three samples");
	if (prof)
		perftools__profiles__profile__free_unpacked(prof, NULL);

	bld = fmt_pprof_begin(&p);
	is_int(bld ? fmt_pprof_add(bld, &a->snap, 7, ST_NEW, &addr1, &nl1, 1,
				   &id0, 1, 1) : 0, -EINVAL,
	       "a trace of an unknown target: EINVAL");
	fmt_pprof_free(bld);
	st_set_free(&set);
	free(a);
	free(old);
	free(other);
}

static char *
render_collapsed(const struct st_set *set)
{
	struct sink_mem m = { 0 };
	struct sink *s = malloc(sizeof(*s));

	sink_init(s, sink_mem_fn, &m);
	fmt_collapsed(set, NULL, s);
	sink_flush(s);
	free(s);
	return m.data ? m.data : strdup("");
}

static void
test_flame(void)
{
	struct st_set set;
	struct fmt_flame fl = { .title = "t" };
	struct sink_mem m = { 0 };
	struct sink *s = malloc(sizeof(*s));
	uint32_t ids[3];
	char *c;
	int t;

	st_set_init(&set);
	t = st_target(&set, 1);
	ids[0] = (uint32_t)st_frame_intern(&set, "a.c", 3, "leaf", "m");
	ids[1] = (uint32_t)st_frame_intern(&set, "a.c", 9, "mid;dle", "m");
	ids[2] = (uint32_t)st_frame_intern(&set, "a.c", 1, "main", "m");
	st_trace_add(&set, (uint32_t)t, ST_NEW, ids, 3, 3, 30, 3, NULL);
	st_trace_add(&set, (uint32_t)t, ST_OLD, ids, 3, 3, 99, 9, NULL);
	ids[0] = (uint32_t)st_frame_intern(&set, "b.c", 4, "", "m");
	ids[1] = (uint32_t)st_frame_intern(&set, "a.c", 2, "operator<",
					   "m");
	st_trace_add(&set, (uint32_t)t, ST_NEW, ids, 3, 3, 5, 1, NULL);
	t = st_target(&set, 2);
	ids[0] = (uint32_t)st_frame_intern(&set, "a.c", 3, "leaf", "m");
	ids[1] = (uint32_t)st_frame_intern(&set, "a.c", 9, "mid;dle", "m");
	st_trace_add(&set, (uint32_t)t, ST_NEW, ids, 3, 3, 12, 2, NULL);
	c = render_collapsed(&set);
	is_str(c, "main;mid_dle;leaf 42\nmain;operator<;b.c 5\n",
	       "collapsed: oldest first, targets merged, ';' replaced, an "
	       "unknown function named by its file, ST_OLD ignored");
	free(c);

	fl.set = &set;
	sink_init(s, sink_mem_fn, &m);
	fmt_flamegraph(&fl, s);
	sink_flush(s);
	ok(m.data && strncmp(m.data, "<!DOCTYPE html>", 15) == 0 &&
	   !strstr(m.data, "/*HAWK-DATA*/"), "flame graph: the page, its "
	   "data marker replaced");
	ok(m.data && strstr(m.data, "\"operator\\u003c\"") &&
	   !strstr(m.data, "operator<"), "flame graph: '<' escaped in data");
	ok(m.data && strstr(m.data, "[0,0,0,0,47,6]") &&
	   strstr(m.data, "2 processes (merged)"),
	   "flame graph: root holds 47 bytes in 6 blocks, 2 targets merged");
	free(s);
	sink_mem_free(&m);
	st_set_free(&set);
}

static void
test_pages(void)
{
	struct seg_info v[1];
	struct fmt_page_count c[1] = { { "metrics", 200, 7 } };
	struct sink_mem m = { 0 };
	struct sink *s = malloc(sizeof(*s));
	int resp[1] = { 1 };

	memset(v, 0, sizeof(v));
	v[0].pid = 42;
	v[0].alive = 1;
	v[0].tracing = 1;
	v[0].frames = 30;
	v[0].traced_current = 4096;
	strcpy(v[0].name, "a\"b\\c\n<x>\xff");
	sink_init(s, sink_mem_fn, &m);
	fmt_page_metrics(v, resp, 1, c, 1, s);
	sink_flush(s);
	ok(m.data && strstr(m.data, "hawk_traced_current_bytes{pid=\"42\","
			    "name=\"a\\\"b\\\\c\\n<x>?\"} 4096\n"),
	   "metrics: label value escaped, invalid UTF-8 replaced");
	ok(m.data && strstr(m.data, "# TYPE hawk_responder_requests_total "
			    "counter\nhawk_responder_requests_total{route="
			    "\"metrics\",status=\"200\"} 7\n"),
	   "metrics: request counter");
	sink_mem_free(&m);
	memset(&m, 0, sizeof(m));
	sink_init(s, sink_mem_fn, &m);
	fmt_page_index(v, resp, 1, "/debug", s);
	sink_flush(s);
	ok(m.data && strstr(m.data, "a&#34;b\\c?&#60;x&#62;?") &&
	   !strstr(m.data, "<x>"), "index: name escaped for HTML");
	ok(m.data && strstr(m.data, "action=\"/debug/prof/mem/tracemalloc/"
			    "stop/\"><input type=\"hidden\" name=\"pid\" "
			    "value=\"42\">"), "index: Stop is a GET form");
	sink_mem_free(&m);
	free(s);
}

int
main(void)
{
	test_pprof();
	test_flame();
	test_pages();
	return done_testing();
}
