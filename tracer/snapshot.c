/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - live traces -> snapshot file, in the agent thread.
 *
 * 1. copy every live record (size, traceback index) out of the block
 *    table, one shard at a time under its lock, into mmap'd memory (the
 *    application keeps running; a snapshot is exact whenever it is not
 *    allocating meanwhile);
 * 2. radix-sort the copies by traceback index, so that the blocks of a
 *    trace are contiguous, as the format requires;
 * 3. stream header, modules, traces, frames, sizes and strings through a
 *    64 KiB buffer, then patch the header.
 * The trace sizes and traced_current are the sums of the copied sizes, so
 * the file is self-consistent even if the application was allocating.
 * Nothing is dropped unless mmap fails or blocks appear between counting
 * and copying; the header says how many (dropped_blocks/dropped_traces).
 */
#include "config.h"

#include "snapshot.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "blocks.h"
#include "control.h"
#include "intern.h"
#include "modules.h"

#define BUF_SIZE 65536u

static char out_buf[BUF_SIZE];    /* agent only (control lock) */
static size_t out_len;

static void
out(struct snap_writer *sw, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		size_t k = BUF_SIZE - out_len;

		if (k > len)
			k = len;
		memcpy(out_buf + out_len, c, k);
		out_len += k;
		c += k;
		len -= k;
		if (out_len == BUF_SIZE) {
			snap_writer_write(sw, out_buf, out_len);
			out_len = 0;
		}
	}
}

static void
out_flush(struct snap_writer *sw)
{
	snap_writer_write(sw, out_buf, out_len);
	out_len = 0;
}

static uint64_t
out_align(struct snap_writer *sw)
{
	static const char zero[8];
	uint64_t pos = sw->off + out_len;

	if (pos % 8) {
		out(sw, zero, 8 - pos % 8);
		pos += 8 - pos % 8;
	}
	return pos;
}

/* LSD radix sort of n records by idx (24 bits), tmp of the same size. */
static struct block_rec *
sort_by_idx(struct block_rec *a, struct block_rec *tmp, uint64_t n)
{
	static uint64_t cnt[256];
	uint32_t shift;
	uint64_t i;

	for (shift = 0; shift < 24; shift += 8) {
		uint64_t sum = 0;

		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(a[i].idx >> shift) & 255]++;
		for (i = 0; i < 256; i++) {
			uint64_t c = cnt[i];

			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[cnt[(a[i].idx >> shift) & 255]++] = a[i];
		{
			struct block_rec *t = a;

			a = tmp;
			tmp = t;
		}
	}
	return a;
}

int
snapshot_write(struct seg_writer *w, uint32_t *seq)
{
	struct snap_header sh;
	struct snap_writer sw;
	struct modules mods;
	struct core_status st;
	struct block_rec *recs, *tmp, *sorted;
	uint64_t cap, n, missed, i, j, ntraces = 0, nframes = 0, sum = 0;
	uint64_t dropped_traces = 0, dropped_blocks = 0, first;
	size_t map;
	struct timespec ts;
	int rc;

	core_get_status(&st);
	cap = blocks_count() + 4096;
	map = arena_round(cap * sizeof(struct block_rec));
	recs = arena_map(map);
	tmp = arena_map(map);
	if (!recs || !tmp) {
		rc = -ENOMEM;
		goto fail_map;
	}
	blocks_collect(recs, cap, &n, &missed);
	dropped_blocks = missed;
	sorted = sort_by_idx(recs, tmp, n);

	/* traces with a valid record (always, unless tables are corrupt) */
	for (i = 0; i < n; i = j) {
		const struct trace *t = intern_get(sorted[i].idx);

		for (j = i; j < n && sorted[j].idx == sorted[i].idx; j++)
			sum += sorted[j].size;
		if (!t) {
			dropped_traces++;
			dropped_blocks += j - i;
			continue;
		}
		ntraces++;
		nframes += t->nframes;
	}

	rc = modules_collect(&mods);
	if (rc < 0)
		goto fail_map;
	rc = snap_writer_open(&sw, w, seq);
	if (rc < 0)
		goto fail_mods;

	memset(&sh, 0, sizeof(sh));
	sh.magic = SNAP_MAGIC;
	sh.version = SNAP_VERSION;
	sh.header_size = sizeof(sh);
	sh.pid = w->pid;
	sh.frames = st.frames;
	sh.start_time = w->start_time;
	memcpy(sh.name, w->name, SEG_NAME_MAX);
	clock_gettime(CLOCK_REALTIME, &ts);
	sh.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	sh.traced_peak = st.peak > sum ? st.peak : sum;
	sh.tracer_memory = st.memory;
	sh.dropped_allocs = st.dropped;
	sh.dropped_traces = dropped_traces;

	out_len = 0;
	out(&sw, &sh, sizeof(sh));
	sh.modules_off = out_align(&sw);
	sh.n_modules = mods.n;
	out(&sw, mods.mods, mods.n * sizeof(struct snap_module));

	sh.traces_off = out_align(&sw);
	first = 0;
	nframes = 0;
	for (i = 0; i < n; i = j) {
		const struct trace *t = intern_get(sorted[i].idx);
		struct snap_trace tr;

		memset(&tr, 0, sizeof(tr));
		for (j = i; j < n && sorted[j].idx == sorted[i].idx; j++)
			tr.size += sorted[j].size;
		if (!t) {
			sum -= tr.size;
			continue;
		}
		tr.count = j - i;
		tr.block_first = first;
		tr.frame_first = nframes;
		tr.nframes = t->nframes;
		tr.total_nframe = t->total;
		first += tr.count;
		nframes += t->nframes;
		out(&sw, &tr, sizeof(tr));
	}
	sh.n_traces = ntraces;
	sh.traced_current = sum;
	if (sh.traced_peak < sum)
		sh.traced_peak = sum;

	sh.frames_off = out_align(&sw);
	sh.n_frames = nframes;
	for (i = 0; i < n; i = j) {
		const struct trace *t = intern_get(sorted[i].idx);

		for (j = i; j < n && sorted[j].idx == sorted[i].idx; j++)
			;
		if (t)
			out(&sw, t->frames, t->nframes * sizeof(uint64_t));
	}

	sh.sizes_off = out_align(&sw);
	sh.n_sizes = first;
	for (i = 0; i < n; i++)
		if (intern_get(sorted[i].idx))
			out(&sw, &sorted[i].size, sizeof(uint64_t));

	sh.strings_off = out_align(&sw);
	sh.strings_size = mods.strings_size;
	out(&sw, mods.strings, mods.strings_size);
	sh.file_size = out_align(&sw);
	sh.dropped_blocks = dropped_blocks;
	out_flush(&sw);
	snap_writer_pwrite(&sw, &sh, sizeof(sh), 0);
	rc = snap_writer_close(&sw);
	if (rc < 0)
		snap_writer_unlink(w, *seq);
fail_mods:
	modules_free(&mods);
fail_map:
	arena_unmap(recs, map);
	arena_unmap(tmp, map);
	return rc;
}
