/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - live traces -> a snapshot stream (segment.h, SNAPSHOT
 * STREAM), in the agent thread: the snapshot leaves the process through
 * a socket as it is produced, in memory bounded whatever the heap's size.
 *
 * 1. answer the command with the name of a listening socket, wait for the
 *    client that asked (its token), outside the control lock;
 * 2. under the control lock (the tables cannot be reset meanwhile), but
 *    no table lock while sending, and not even the control lock while
 *    waiting for the client to read (a start or stop meanwhile ends the
 *    stream): the header, modules and strings, then one record per
 *    traceback, then the trailer with the totals;
 * 3. the records of the exact live view: one walk of the block table
 *    (blocks_sum) sums each traceback's blocks and bytes into one entry
 *    per interned traceback; without per-block sizes (every output but
 *    the pickle) the records come from those sums, in index order, and
 *    no block is copied at all.  With sizes (CMD_FLAG_SNAP_SIZES) the
 *    tracebacks are taken in index windows whose blocks fit a buffer of
 *    SIZES_CAP sizes: one walk per window scatters their sizes into
 *    per-traceback groups (blocks_collect_sizes), the window is sent and
 *    the buffer reused.  A traceback that alone has more blocks than
 *    SIZES_CAP (a cache filled from one call site) is sent through the
 *    same buffer in parts, one walk resumed part after part
 *    (blocks_collect_sizes_at), each part a record of its own with the
 *    traceback's frames: consecutive records with the same frames, which
 *    readers add up (segment.h).  A record's count and size are those
 *    of the sizes it carries, so the stream is self-consistent even if
 *    the application was allocating (blocks that appeared since the sums
 *    are counted in dropped_blocks); it is exact whenever it was not.
 * Sampled mode copies its (small) sampled table or the copy kept at the
 * peak, sorts it by traceback and streams it the same way, with each
 * trace's estimates; the allocated view streams the allocation totals
 * per traceback (no block sizes).
 * Memory: the sums (16 bytes per interned traceback), the window's sizes
 * (SIZES_CAP, 8 MiB, whatever one traceback holds), a 64 KiB output
 * buffer, the walk's 68 KiB scratch; all unmapped before returning.  (The
 * sampled views' copy is sized by the sampled table, which the sampling
 * rate keeps small.)
 */
#include "config.h"

#include "snapshot.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "blocks.h"
#include "control.h"
#include "estimate.h"
#include "intern.h"
#include "modules.h"
#include "sample.h"

#define BUF_SIZE 65536u
/* block sizes gathered per window of tracebacks (8 MiB) */
#define SIZES_CAP (UINT64_C(1) << 20)

static char out_buf[BUF_SIZE];    /* agent only */
static size_t out_len;
static struct snap_writer serving = { .lfd = -1, .fd = -1 };
static _Atomic uint32_t linked_seq; /* socket name still in the directory */

static void
out(struct snap_writer *sw, const void *p, size_t len)
{
	const char *c = p;

	while (len && snap_writer_ok(sw)) {
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

/* What the records sent so far add up to (the trailer). */
struct totals {
	uint64_t traces, frames, sizes, est_count, est_size;
	uint64_t dropped_traces, dropped_blocks;
};

/* One record: the trace's figures, its frames, its sizes (if any). */
static void
out_trace(struct snap_writer *sw, struct totals *tt, const struct trace *t,
	  uint64_t count, uint64_t size, uint64_t est_count,
	  uint64_t est_size, const uint64_t *sizes, uint64_t n_sizes)
{
	struct snap_trace tr;

	memset(&tr, 0, sizeof(tr));
	tr.tag = SNAP_TAG_TRACE;
	tr.size = size;
	tr.count = count;
	tr.block_first = sizes ? tt->sizes : 0;
	tr.frame_first = tt->frames;
	tr.nframes = t->nframes;
	tr.total_nframe = t->total;
	tr.est_count = est_count;
	tr.est_size = est_size;
	out(sw, &tr, sizeof(tr));
	/* t is read only while the stream goes on: a wait for the client
	 * may have let a stop reset the tables (stream_wait_end) */
	if (snap_writer_ok(sw))
		out(sw, t->frames, tr.nframes * sizeof(uint64_t));
	if (sizes)
		out(sw, sizes, n_sizes * sizeof(uint64_t));
	tt->traces++;
	tt->frames += tr.nframes;
	tt->sizes += sizes ? n_sizes : 0;
	tt->est_count += est_count;
	tt->est_size += est_size;
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
 * The allocated view: the totals of every traceback since start, plus
 * what threads still hold (core_totals_pending).
 */
static int
records_allocated(struct snap_writer *sw, struct totals *tt,
		  uint64_t sampling)
{
	uint32_t end = intern_idx_end(), i;
	size_t map = arena_round(((size_t)end + 1) *
				 sizeof(struct intern_totals));
	struct intern_totals *tot = arena_map(map);

	if (!tot)
		return -ENOMEM;
	for (i = 0; i < end; i++)
		intern_totals_get(i, &tot[i]);
	core_totals_pending(tot, end);
	for (i = 0; i < end && snap_writer_ok(sw); i++) {
		const struct trace *t;
		uint64_t ec, es;

		if (!tot[i].count)
			continue;
		t = intern_get(i);
		if (!t) {
			tt->dropped_traces++;
			continue;
		}
		if (sampling) {
			ec = (tot[i].est_count + SNAP_WEIGHT_ONE / 2) /
			     SNAP_WEIGHT_ONE;
			es = tot[i].est_bytes;
		} else {
			ec = tot[i].count;
			es = tot[i].bytes;
		}
		out_trace(sw, tt, t, tot[i].count, tot[i].bytes, ec, es,
			  NULL, 0);
	}
	arena_unmap(tot, map);
	return 0;
}

/* Sampled mode (live or peak): the sampled records, sorted by index. */
static int
records_sampled(struct snap_writer *sw, struct totals *tt, int peak,
		uint64_t rate, int with_sizes, uint64_t *peak_ns)
{
	uint64_t cap = sample_collect_count(peak) + 4096, n = 0, missed = 0;
	size_t map = arena_round(cap * sizeof(struct block_rec));
	size_t smap = 0;
	struct block_rec *recs = arena_map(map), *tmp = arena_map(map), *a;
	uint64_t *sizes = NULL, i, j, k;
	int rc = 0;

	if (!recs || !tmp) {
		rc = -ENOMEM;
		goto out;
	}
	sample_collect(peak, recs, cap, &n, &missed, peak_ns);
	tt->dropped_blocks += missed;
	a = sort_by_idx(recs, tmp, n);
	if (with_sizes) {
		/* the sizes of one traceback at a time, contiguous */
		smap = arena_round(n * sizeof(uint64_t) + 1);
		sizes = arena_map(smap);
		if (!sizes) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n && snap_writer_ok(sw); i = j) {
		const struct trace *t = intern_get(a[i].idx);
		uint64_t size = 0, ec, es;

		for (j = i; j < n && a[j].idx == a[i].idx; j++)
			size += a[j].size;
		if (!t) {
			tt->dropped_traces++;
			tt->dropped_blocks += j - i;
			continue;
		}
		if (sizes)
			for (k = i; k < j; k++)
				sizes[k - i] = a[k].size;
		estimate(a + i, j - i, rate, &ec, &es);
		out_trace(sw, tt, t, j - i, size, ec, es, sizes, j - i);
	}
out:
	arena_unmap(recs, map);
	arena_unmap(tmp, map);
	arena_unmap(sizes, smap);
	return rc;
}

/*
 * The sizes of the tracebacks [lo, hi), whose counts at the sums' walk
 * are sums[lo .. hi), into `sizes` (room for at least their total), then
 * their records.  The sums of the window are used as the next[]/end[]
 * arrays of blocks_collect_sizes (they are not needed afterwards).
 */
static int
window_sizes(struct snap_writer *sw, struct totals *tt,
	     struct blocks_sum *sums, uint32_t lo, uint32_t hi,
	     uint64_t *sizes)
{
	uint64_t *slot = (uint64_t *)&sums[lo], *next, *end, prefix = 0;
	uint64_t missed = 0, k, n = hi - lo;
	int rc;

	/* slot[k] = count of lo + k (ascending: slot k overwrites the
	 * count of lo + k / 2, already moved) */
	for (k = 0; k < n; k++)
		slot[k] = sums[lo + k].count;
	next = slot;
	end = slot + n;
	for (k = 0; k < n; k++) {
		uint64_t c = next[k];

		next[k] = prefix;
		prefix += c;
		end[k] = prefix;
	}
	rc = blocks_collect_sizes(lo, hi, sizes, next, end, &missed);
	if (rc < 0)
		return rc;
	tt->dropped_blocks += missed;
	for (k = 0; k < n && snap_writer_ok(sw); k++) {
		uint64_t first = k ? end[k - 1] : 0, got = next[k] - first;
		uint64_t size = 0, i;
		const struct trace *t;

		if (!got)
			continue;      /* none, or all freed since the sums */
		t = intern_get(lo + (uint32_t)k);
		if (!t) {
			tt->dropped_traces++;
			tt->dropped_blocks += got;
			continue;
		}
		for (i = first; i < next[k]; i++)
			size += sizes[i];
		out_trace(sw, tt, t, got, size, got, size, sizes + first, got);
	}
	return 0;
}

/*
 * Traceback idx, which had `count` (> SIZES_CAP) blocks at the sums' walk:
 * its sizes in parts of at most SIZES_CAP (blocks_collect_sizes_at, one
 * walk of the table in all), each sent as a record of its own with the
 * traceback's frames, consecutive.  Blocks it gained since the sums are
 * sent too (no group to overflow), those it lost are not.
 */
static int
parts_sizes(struct snap_writer *sw, struct totals *tt, uint32_t idx,
	    uint64_t count, uint64_t *sizes)
{
	const struct trace *t = intern_get(idx);
	struct blocks_cursor cur;
	uint64_t got, missed, size, i;
	int rc;

	if (!t) {
		tt->dropped_traces++;
		tt->dropped_blocks += count;
		return 0;
	}
	memset(&cur, 0, sizeof(cur));
	while (cur.shard < BLOCKS_SHARDS && snap_writer_ok(sw)) {
		rc = blocks_collect_sizes_at(idx, idx + 1, &cur, sizes,
					     SIZES_CAP, &got, &missed);
		if (rc < 0)
			return rc;
		tt->dropped_blocks += missed;
		if (!got)
			continue;
		for (size = 0, i = 0; i < got; i++)
			size += sizes[i];
		out_trace(sw, tt, t, got, size, got, size, sizes, got);
	}
	return 0;
}

/* Exact mode, the live view. */
static int
records_exact(struct snap_writer *sw, struct totals *tt, int with_sizes)
{
	uint32_t end = intern_idx_end(), lo, hi;
	size_t map = arena_round(((size_t)end + 1) * sizeof(struct blocks_sum));
	size_t smap = 0;
	struct blocks_sum *sums = arena_map(map);
	uint64_t *sizes = NULL, missed = 0;
	int rc;

	if (!sums)
		return -ENOMEM;
	rc = blocks_sum(sums, end, &missed);
	if (rc < 0)
		goto out;
	tt->dropped_blocks += missed;
	if (!with_sizes) {
		for (lo = 0; lo < end && snap_writer_ok(sw); lo++) {
			const struct trace *t;

			if (!sums[lo].count)
				continue;
			t = intern_get(lo);
			if (!t) {
				tt->dropped_traces++;
				tt->dropped_blocks += sums[lo].count;
				continue;
			}
			out_trace(sw, tt, t, sums[lo].count, sums[lo].bytes,
				  sums[lo].count, sums[lo].bytes, NULL, 0);
		}
		goto out;
	}
	smap = arena_round(SIZES_CAP * sizeof(uint64_t));
	sizes = arena_map(smap);
	if (!sizes) {
		rc = -ENOMEM;
		goto out;
	}
	for (lo = 0; lo < end && snap_writer_ok(sw); lo = hi) {
		uint64_t n = sums[lo].count;

		if (n > SIZES_CAP) {
			/* one traceback with more blocks than the buffer
			 * holds: several records, through the same buffer */
			hi = lo + 1;
			rc = parts_sizes(sw, tt, lo, n, sizes);
			if (rc < 0)
				goto out;
			continue;
		}
		for (hi = lo + 1; hi < end && n + sums[hi].count <= SIZES_CAP;
		     hi++)
			n += sums[hi].count;
		rc = window_sizes(sw, tt, sums, lo, hi, sizes);
		if (rc < 0)
			goto out;
	}
out:
	arena_unmap(sums, map);
	arena_unmap(sizes, smap);
	return rc;
}

/* While the agent waits for its client to read, the control lock is
 * released (the application's hawk_* calls and fork do not wait for a
 * slow client); a start or stop meanwhile (core_gen) ends the stream. */
static uint32_t stream_gen;

static void
stream_wait_begin(void *arg)
{
	(void)arg;
	control_give();
}

static int
stream_wait_end(void *arg)
{
	(void)arg;
	control_take();
	return atomic_load(&core_gen) != stream_gen;
}

/* The stream, from header to trailer (caller holds the control lock). */
static int
stream(struct snap_writer *sw, struct seg_writer *w, uint32_t view,
       int with_sizes)
{
	struct snap_header sh;
	struct snap_trailer tr;
	struct control_status st;
	struct modules mods;
	struct totals tt;
	struct timespec ts;
	uint64_t peak_ns = 0, pos;
	static const char zero[8];
	int rc;

	control_get_status(&st);
	if (!st.tracing)
		return -ENOTCONN;  /* stopped since the command */
	if (view == SNAP_VIEW_ALLOCATED)
		with_sizes = 0;
	rc = modules_collect(&mods);
	if (rc < 0)
		return rc;
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
	sh.sampling_bytes = st.sampling;
	sh.view = view;
	sh.flags = with_sizes ? SNAP_F_SIZES : 0;
	sh.n_modules = mods.n;
	sh.strings_size = mods.strings_size;
	if (view == SNAP_VIEW_PEAK) {
		/* the kept copy's time (collected again below, under the
		 * same control lock: no other copy can be kept meanwhile
		 * by a reset, and a newer peak only makes it newer) */
		uint64_t none = 0;

		sample_collect(1, NULL, 0, &none, &none, &peak_ns);
		sh.peak_time_ns = peak_ns;
	}
	out_len = 0;
	memset(&tt, 0, sizeof(tt));
	out(sw, &sh, sizeof(sh));
	out(sw, mods.mods, mods.n * sizeof(struct snap_module));
	out(sw, mods.strings, mods.strings_size);
	pos = sizeof(sh) + mods.n * sizeof(struct snap_module) +
	      mods.strings_size;
	if (pos % 8)
		out(sw, zero, 8 - pos % 8);
	modules_free(&mods);

	if (view == SNAP_VIEW_ALLOCATED)
		rc = records_allocated(sw, &tt, st.sampling);
	else if (st.sampling)
		rc = records_sampled(sw, &tt, view == SNAP_VIEW_PEAK,
				     st.sampling, with_sizes, &peak_ns);
	else
		rc = records_exact(sw, &tt, with_sizes);
	if (rc < 0)
		return rc;

	memset(&tr, 0, sizeof(tr));
	tr.tag = SNAP_TAG_END;
	tr.n_traces = tt.traces;
	tr.n_frames = tt.frames;
	tr.n_sizes = tt.sizes;
	tr.dropped_traces = tt.dropped_traces;
	tr.dropped_blocks = tt.dropped_blocks;
	if (view == SNAP_VIEW_ALLOCATED) {
		/* the live figures stay those of the status */
		tr.traced_current = st.current;
		tr.alloc_count = tt.est_count;
		tr.alloc_bytes = tt.est_size;
	} else {
		tr.traced_current = tt.est_size;
	}
	tr.traced_peak = st.peak > tr.traced_current ? st.peak :
			 tr.traced_current;
	tr.bytes = sw->off + out_len + sizeof(tr);
	tr.magic = SNAP_MAGIC;
	out(sw, &tr, sizeof(tr));
	out_flush(sw);
	return sw->err;
}

int
snapshot_serve(struct seg_writer *w, uint32_t flags, uint64_t token,
	       const _Atomic int *cancel)
{
	struct snap_writer *sw = &serving;
	uint32_t view = flags & ~(CMD_FLAG_SNAP_GC | CMD_FLAG_SNAP_SIZES);
	uint32_t seq = 0;
	struct control_status st;
	int rc;

	control_take();
	control_get_status(&st);
	if (!core_tracing())
		rc = -ENOTCONN;
	else if (view > SNAP_VIEW_MAX)
		rc = -EINVAL;
	else if (view == SNAP_VIEW_PEAK && !st.sampling)
		rc = -EOPNOTSUPP;
	else
		rc = 0;
	/* Go's /debug/pprof/heap?gc=1: collect before the snapshot */
	if (rc == 0 && (flags & CMD_FLAG_SNAP_GC))
		control_gc_traced();
	control_give();
	if (rc == 0) {
		rc = snap_writer_listen(sw, w, &seq);
		if (rc == 0)
			atomic_store(&linked_seq, seq);
	}
	seg_agent_done(w, rc, rc < 0 ? 0 : seq);
	if (rc < 0)
		return rc;
	sw->cancel = cancel;
	/* the client's time: no lock held while it connects */
	rc = snap_writer_accept(sw, token);
	atomic_store(&linked_seq, 0);
	if (rc == 0) {
		control_take();
		stream_gen = atomic_load(&core_gen);
		sw->wait_begin = stream_wait_begin;
		sw->wait_end = stream_wait_end;
		rc = stream(sw, w, view, !!(flags & CMD_FLAG_SNAP_SIZES));
		sw->wait_begin = NULL;
		sw->wait_end = NULL;
		control_give();
	}
	out_len = 0;
	snap_writer_close(sw);
	return rc;
}

void
snapshot_unlink(struct seg_writer *w)
{
	uint32_t seq = atomic_load(&linked_seq);

	if (seq)
		snap_writer_unlink(w, seq);
}

void
snapshot_forget(void)
{
	if (serving.lfd >= 0)
		close(serving.lfd);
	if (serving.fd >= 0)
		close(serving.fd);
	serving.lfd = serving.fd = -1;
	serving.name[0] = '\0';
	atomic_store(&linked_seq, 0);
}
