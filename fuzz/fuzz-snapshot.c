/* SPDX-License-Identifier: MIT */
/*
 * fuzz-snapshot.c - libFuzzer target: snapshot stream bytes through the
 * reader (snap_parse: the stream parser, fed through an in-memory file;
 * every count, range, sum and the trailer), then, when it validates,
 * into statistics (each return address as a frame of its module, as the
 * symbolizer's fallback names it) grouped every way (lineno, traceback,
 * cumulative, a diff against itself) and written in both formats (JSON
 * and pickle) into memory.  The symbolizer itself is left out: it opens
 * files named by the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_json.h"
#include "fmt_pickle.h"
#include "seg_read.h"
#include "sink.h"
#include "stats.h"
#include "textpool.h"

static int
discard(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

/* The module of addr, as the symbolizer's fallback would name it. */
static const char *
module_of(const struct snap *s, uint64_t addr)
{
	uint64_t i;

	for (i = 0; i < s->h->n_modules; i++)
		if (addr >= s->modules[i].lo && addr < s->modules[i].hi)
			return snap_module_path(s, i);
	return "";
}

static int
add_snap(const struct snap *s, enum st_gen gen, struct st_set *set,
	 struct textpool *pool)
{
	uint32_t ids[SEG_FRAMES_MAX];
	uint64_t i, k;
	int target = st_target(set, s->h->pid);

	if (target < 0)
		return -1;
	for (i = 0; i < s->h->n_traces; i++) {
		const struct snap_trace *t = &s->traces[i];

		for (k = 0; k < t->nframes; k++) {
			uint64_t a = s->frames[t->frame_first + k];
			const char *mod = textpool_utf8(pool, module_of(s, a));
			int64_t id;

			if (!mod)
				return -1;
			id = st_frame_intern_at(set, mod[0] ? mod :
						"<unknown>", (uint32_t)(a & 0xff),
						"", mod, a, "");
			if (id < 0)
				return -1;
			ids[k] = (uint32_t)id;
		}
		if (st_trace_add(set, (uint32_t)target, gen, ids, t->nframes,
				 t->total_nframe, t->size, t->count,
				 s->h->n_sizes ? s->sizes + t->block_first :
				 NULL))
			return -1;
	}
	return 0;
}

static void
render(const struct st_set *set, int diff, const struct snap *s)
{
	static const char *const inc[] = { "*lib*" };
	struct st_filter none = { 0 }, some = {
		.include = inc, .n_include = 1, .all_frames = 1,
	};
	struct fmt_json_stats j = { 0 };
	struct sink out;
	struct st_list l;
	int key, cum;

	sink_init(&out, discard, NULL);
	for (key = 0; key < 2; key++)
		for (cum = 0; cum < 2; cum++) {
			if (st_group(set, key, cum, diff, cum ? &some : &none,
				     &l))
				continue;
			j.set = set;
			j.list = &l;
			j.key = key;
			j.count = key ? 0 : 10;
			j.heap_current = s->h->traced_current;
			j.has_diff = diff;
			j.heap_diff = diff ? 1 : 0;
			fmt_json_stats(&j, &out);
			st_list_free(&l);
		}
	fmt_pickle_snapshot(set, &none, s->h->frames, &out);
	sink_flush(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct textpool pool = { 0 };
	struct st_set set;
	struct snap s;
	char err[512];

	if (snap_parse(&s, data, size, err, sizeof(err)))
		return 0;
	st_set_init(&set);
	if (add_snap(&s, ST_NEW, &set, &pool) == 0) {
		render(&set, 0, &s);
		/* the same snapshot as the old generation: a diff */
		if (add_snap(&s, ST_OLD, &set, &pool) == 0)
			render(&set, 1, &s);
	}
	st_set_free(&set);
	textpool_free(&pool);
	snap_free(&s);
	return 0;
}
