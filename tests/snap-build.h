/* SPDX-License-Identifier: MIT */
/*
 * snap-build.h - tests: the bytes of a snapshot stream (segment.h,
 * SNAPSHOT STREAM, version 3) from its parts, as the agent sends them:
 * header (totals left 0), modules, strings padded to 8, one record per
 * trace (frames, then sizes when h->flags has SNAP_F_SIZES), trailer with
 * the totals computed from the parts.  Tests then break what they want.
 */
#ifndef HAWK_TESTS_SNAP_BUILD_H
#define HAWK_TESTS_SNAP_BUILD_H

#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

struct snap_bytes {
	char *buf;
	size_t len, cap;
	size_t trailer_off;        /* where the trailer starts */
	size_t trace_off[16];      /* where the first 16 records start */
};

static inline void
sb_put(struct snap_bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->buf = realloc(b->buf, cap);
		if (!b->buf)
			abort();
		b->cap = cap;
	}
	if (n && p)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/*
 * h: identity, frames, view, sampling, flags (totals ignored); n_modules
 * modules; strings of h->strings_size bytes; n traces t[] (tag, and
 * frame_first/block_first, are filled in here) whose frames are frames[]
 * in order and sizes sizes[] in order.  traced_peak: the trailer's (at
 * least the current value).  Returns the bytes in *b (free b->buf).
 */
static inline void
snap_build(struct snap_bytes *b, const struct snap_header *h0,
	   const struct snap_module *mods, const char *strings,
	   const struct snap_trace *t0, size_t n, const uint64_t *frames,
	   const uint64_t *sizes, uint64_t traced_peak)
{
	static const char zero[8];
	struct snap_header h = *h0;
	struct snap_trailer tr;
	uint64_t nf = 0, nz = 0, ec = 0, es = 0;
	size_t i;

	memset(b, 0, sizeof(*b));
	h.magic = h.magic ? h.magic : SNAP_MAGIC;
	h.version = h.version ? h.version : SNAP_VERSION;
	h.header_size = h.header_size ? h.header_size : sizeof(h);
	h.file_size = h.traced_current = h.traced_peak = 0;
	h.dropped_traces = h.dropped_blocks = 0;
	h.n_traces = h.n_frames = h.n_sizes = 0;
	h.alloc_count = h.alloc_bytes = 0;
	sb_put(b, &h, sizeof(h));
	sb_put(b, mods, h.n_modules * sizeof(*mods));
	sb_put(b, strings, h.strings_size);
	if (b->len % 8)
		sb_put(b, zero, 8 - b->len % 8);
	for (i = 0; i < n; i++) {
		struct snap_trace t = t0[i];

		if (i < 16)
			b->trace_off[i] = b->len;
		t.tag = SNAP_TAG_TRACE;
		t.frame_first = nf;
		t.block_first = (h.flags & SNAP_F_SIZES) ? nz : 0;
		sb_put(b, &t, sizeof(t));
		sb_put(b, frames + nf, t.nframes * sizeof(uint64_t));
		nf += t.nframes;
		if (h.flags & SNAP_F_SIZES) {
			sb_put(b, sizes + nz, t.count * sizeof(uint64_t));
			nz += t.count;
		}
		ec += t.est_count;
		es += t.est_size;
	}
	b->trailer_off = b->len;
	memset(&tr, 0, sizeof(tr));
	tr.tag = SNAP_TAG_END;
	tr.n_traces = n;
	tr.n_frames = nf;
	tr.n_sizes = nz;
	if (h.view == SNAP_VIEW_ALLOCATED) {
		tr.alloc_count = ec;
		tr.alloc_bytes = es;
	} else {
		tr.traced_current = es;
	}
	tr.traced_peak = traced_peak > tr.traced_current ? traced_peak :
			 tr.traced_current;
	tr.bytes = b->len + sizeof(tr);
	tr.magic = SNAP_MAGIC;
	sb_put(b, &tr, sizeof(tr));
}

static inline int
sb_program_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct snap_module *m = arg;
	int i;

	(void)size;
	m->lo = UINT64_MAX;
	m->hi = 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uint64_t start = info->dlpi_addr + p->p_vaddr;

		if (p->p_type != PT_LOAD)
			continue;
		if (start < m->lo)
			m->lo = start;
		if (start + p->p_memsz > m->hi)
			m->hi = start + p->p_memsz;
	}
	m->bias = info->dlpi_addr;
	return 1;                       /* the first object is the program */
}

/* The test program's own module range and bias (lo, hi, bias of *m), as
 * the tracer publishes them. */
static inline void
snap_program_module(struct snap_module *m)
{
	dl_iterate_phdr(sb_program_cb, m);
}

#endif /* HAWK_TESTS_SNAP_BUILD_H */
