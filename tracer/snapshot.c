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
 * Views (segment.h): the live set (sampled mode: the sampled table, with
 * each trace's estimates), the copy kept at the peak (sampled mode only),
 * or the allocation totals per traceback (no block sizes).
 * Nothing is dropped unless mmap fails or blocks appear between counting
 * and copying; the header says how many (dropped_blocks/dropped_traces).
 */
#include "config.h"

#include "snapshot.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "blocks.h"
#include "control.h"
#include "estimate.h"
#include "intern.h"
#include "modules.h"
#include "sample.h"

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

/* Estimates of the sampled blocks a[0..n) (rate > 0). */
static void
estimate(const struct block_rec *a, uint64_t n, uint64_t rate,
	 uint64_t *count, uint64_t *bytes)
{
	double c = 0, b = 0;
	uint64_t i;

	for (i = 0; i < n; i++) {
		double w = snap_weight(a[i].size, rate);

		c += w;
		b += w * (double)a[i].size;
	}
	*count = (uint64_t)llround(c);
	*bytes = (uint64_t)llround(b);
}

/*
 * The allocated view: one record per traceback with totals, as
 * block_rec's {size = index into tot[]}: tot[i] = the shared totals of
 * traceback i plus what threads still hold (core_totals_pending).
 */
static int
collect_totals(struct intern_totals **tot, uint64_t *end_out, size_t *map)
{
	uint32_t end = intern_idx_end(), i;

	*map = arena_round(((size_t)end + 1) * sizeof(struct intern_totals));
	*tot = arena_map(*map);
	if (!*tot)
		return -ENOMEM;
	for (i = 0; i < end; i++)
		intern_totals_get(i, &(*tot)[i]);
	core_totals_pending(*tot, end);
	*end_out = end;
	return 0;
}

int
snapshot_write(struct seg_writer *w, uint32_t *seq, uint32_t view)
{
	struct snap_header sh;
	struct snap_writer sw;
	struct modules mods;
	struct control_status st;
	struct block_rec *recs = NULL, *tmp = NULL, *sorted = NULL;
	struct intern_totals *tot = NULL;
	uint64_t cap, n = 0, missed = 0, i, j, ntraces = 0, nframes = 0;
	uint64_t est_sum = 0, est_cnt = 0, end = 0;
	uint64_t dropped_traces = 0, dropped_blocks = 0, first, peak_ns = 0;
	size_t map = 0, tot_map = 0;
	struct timespec ts;
	int rc;

	control_get_status(&st);
	if (view > SNAP_VIEW_MAX)
		return -EINVAL;
	if (view == SNAP_VIEW_PEAK && !st.sampling)
		return -EOPNOTSUPP;
	if (view == SNAP_VIEW_ALLOCATED) {
		rc = collect_totals(&tot, &end, &tot_map);
		if (rc < 0)
			goto fail_map;
	} else {
		cap = (st.sampling ? sample_collect_count(view ==
							  SNAP_VIEW_PEAK) :
		       blocks_count()) + 4096;
		map = arena_round(cap * sizeof(struct block_rec));
		recs = arena_map(map);
		tmp = arena_map(map);
		if (!recs || !tmp) {
			rc = -ENOMEM;
			goto fail_map;
		}
		if (st.sampling)
			sample_collect(view == SNAP_VIEW_PEAK, recs, cap, &n,
				       &missed, &peak_ns);
		else
			blocks_collect(recs, cap, &n, &missed);
		dropped_blocks = missed;
		sorted = sort_by_idx(recs, tmp, n);
	}

	/* count the traces and frames to write */
	if (tot) {
		for (i = 0; i < end; i++) {
			const struct trace *t;

			if (!tot[i].count)
				continue;
			t = intern_get((uint32_t)i);
			if (!t) {
				dropped_traces++;
				continue;
			}
			ntraces++;
			nframes += t->nframes;
		}
	}
	for (i = 0; i < n; i = j) {
		const struct trace *t = intern_get(sorted[i].idx);

		for (j = i; j < n && sorted[j].idx == sorted[i].idx; j++)
			;
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
	sh.tracer_memory = st.memory;
	sh.dropped_allocs = st.dropped;
	sh.dropped_traces = dropped_traces;
	sh.sampling_bytes = st.sampling;
	sh.view = view;
	sh.peak_time_ns = peak_ns;

	out_len = 0;
	out(&sw, &sh, sizeof(sh));
	sh.modules_off = out_align(&sw);
	sh.n_modules = mods.n;
	out(&sw, mods.mods, mods.n * sizeof(struct snap_module));

	sh.traces_off = out_align(&sw);
	first = 0;
	nframes = 0;
	for (i = 0; tot && i < end; i++) {
		const struct trace *t;
		struct snap_trace tr;

		if (!tot[i].count || !(t = intern_get((uint32_t)i)))
			continue;
		memset(&tr, 0, sizeof(tr));
		tr.count = tot[i].count;
		tr.size = tot[i].bytes;
		if (st.sampling) {
			tr.est_count = (tot[i].est_count +
					SNAP_WEIGHT_ONE / 2) / SNAP_WEIGHT_ONE;
			tr.est_size = tot[i].est_bytes;
		} else {
			tr.est_count = tr.count;
			tr.est_size = tr.size;
		}
		tr.frame_first = nframes;
		tr.nframes = t->nframes;
		tr.total_nframe = t->total;
		nframes += t->nframes;
		est_cnt += tr.est_count;
		est_sum += tr.est_size;
		out(&sw, &tr, sizeof(tr));
	}
	for (i = 0; i < n; i = j) {
		const struct trace *t = intern_get(sorted[i].idx);
		struct snap_trace tr;

		memset(&tr, 0, sizeof(tr));
		for (j = i; j < n && sorted[j].idx == sorted[i].idx; j++)
			tr.size += sorted[j].size;
		if (!t)
			continue;
		tr.count = j - i;
		tr.block_first = first;
		tr.frame_first = nframes;
		tr.nframes = t->nframes;
		tr.total_nframe = t->total;
		if (st.sampling) {
			estimate(sorted + i, j - i, st.sampling, &tr.est_count,
				 &tr.est_size);
		} else {
			tr.est_count = tr.count;
			tr.est_size = tr.size;
		}
		first += tr.count;
		nframes += t->nframes;
		est_cnt += tr.est_count;
		est_sum += tr.est_size;
		out(&sw, &tr, sizeof(tr));
	}
	sh.n_traces = ntraces;
	if (tot) {
		/* the live figures stay those of the status */
		sh.traced_current = st.current;
		sh.alloc_count = est_cnt;
		sh.alloc_bytes = est_sum;
	} else {
		sh.traced_current = est_sum;
	}
	sh.traced_peak = st.peak > sh.traced_current ? st.peak :
			 sh.traced_current;

	sh.frames_off = out_align(&sw);
	sh.n_frames = nframes;
	for (i = 0; tot && i < end; i++) {
		const struct trace *t;

		if (tot[i].count && (t = intern_get((uint32_t)i)))
			out(&sw, t->frames, t->nframes * sizeof(uint64_t));
	}
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
	arena_unmap(tot, tot_map);
	return rc;
}
