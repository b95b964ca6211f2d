/* SPDX-License-Identifier: MIT */
/*
 * snapstat.c - the bridge from a snapshot to a statistics set: symbolize
 * each return address of a snapshot once per request (a private address ->
 * frames table), on top of the symbolizer's own cache that lives as long
 * as the process, and add every trace to the set.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapstat.h"

#define INLINE_MAX 64

struct addr_ent {
	uint64_t addr;
	uint32_t off;              /* into res.ids */
	uint32_t n;                /* frames (>= 1); 0 = empty slot */
};

struct res {
	struct addr_ent *tab;
	size_t size, used;
	uint32_t *ids;
	size_t n_ids, cap_ids;
};

static size_t
slot(const struct res *r, uint64_t addr)
{
	uint64_t h = addr * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h ^ (h >> 29)) & (r->size - 1);
}

static int
res_grow(struct res *r)
{
	struct addr_ent *old = r->tab;
	size_t os = r->size, i, j;

	r->size = os ? os * 2 : 4096;
	r->tab = calloc(r->size, sizeof(*r->tab));
	if (!r->tab) {
		r->tab = old;
		r->size = os;
		return -ENOMEM;
	}
	for (i = 0; i < os; i++) {
		if (!old[i].n)
			continue;
		for (j = slot(r, old[i].addr); r->tab[j].n;
		     j = (j + 1) & (r->size - 1))
			;
		r->tab[j] = old[i];
	}
	free(old);
	return 0;
}

/* The interned frames of addr (resolved on first use). */
static const struct addr_ent *
resolve(struct res *r, struct symbolizer *sym, const struct snap *snap,
	uint64_t addr, struct st_set *set, struct textpool *pool)
{
	struct sym_frame fr[INLINE_MAX];
	struct addr_ent *e;
	const char *file, *fn, *mod, *bid;
	int64_t id;
	size_t j;
	int n, i;

	if ((r->used + 1) * 2 > r->size && res_grow(r))
		return NULL;
	for (j = slot(r, addr); r->tab[j].n; j = (j + 1) & (r->size - 1))
		if (r->tab[j].addr == addr)
			return &r->tab[j];
	n = sym_resolve(sym, snap, addr, fr, INLINE_MAX);
	if (n < 1) {
		fr[0].file = "<unknown>";
		fr[0].line = 0;
		fr[0].function = "";
		fr[0].module = "";
		fr[0].offset = 0;
		fr[0].build_id = "";
		n = 1;
	}
	if (r->n_ids + (size_t)n > r->cap_ids) {
		size_t cap = r->cap_ids ? r->cap_ids * 2 : 65536;
		uint32_t *p = realloc(r->ids, cap * sizeof(*p));

		if (!p)
			return NULL;
		r->ids = p;
		r->cap_ids = cap;
	}
	e = &r->tab[j];
	e->off = (uint32_t)r->n_ids;
	for (i = 0; i < n; i++) {
		file = textpool_utf8(pool, fr[i].file ? fr[i].file : "<unknown>");
		fn = textpool_utf8(pool, fr[i].function ? fr[i].function : "");
		mod = textpool_utf8(pool, fr[i].module ? fr[i].module : "");
		bid = textpool_utf8(pool, fr[i].build_id ? fr[i].build_id :
				    "");
		if (!file || !fn || !mod || !bid)
			return NULL;
		id = st_frame_intern_at(set, file, fr[i].line, fn, mod,
					fr[i].offset, bid);
		if (id < 0)
			return NULL;
		r->ids[r->n_ids++] = (uint32_t)id;
	}
	e->addr = addr;
	e->n = (uint32_t)n;
	r->used++;
	return e;
}

int
snapstat_add(struct symbolizer *sym, const struct snap *snap,
	     enum st_gen gen, struct st_set *set, struct textpool *pool)
{
	const struct snap_header *h = snap->h;
	uint32_t limit = h->frames ? h->frames : SEG_FRAMES_MAX;
	struct res r = { 0 };
	uint32_t *tmp, len, k, extra;
	const struct addr_ent *e;
	const struct snap_trace *t;
	uint64_t i;
	int target, err = 0;

	target = st_target(set, h->pid);
	tmp = malloc(limit * sizeof(*tmp));
	if (target < 0 || !tmp ||
	    st_reserve(set, h->n_traces, h->n_frames)) {
		free(tmp);
		return -ENOMEM;
	}
	for (i = 0; i < h->n_traces && !err; i++) {
		t = &snap->traces[i];
		len = 0;
		extra = 0;
		for (k = 0; k < t->nframes; k++) {
			e = resolve(&r, sym, snap,
				    snap->frames[t->frame_first + k], set,
				    pool);
			if (!e) {
				err = -ENOMEM;
				break;
			}
			extra += e->n - 1;
			if (len < limit) {
				uint32_t m = e->n < limit - len ? e->n :
					limit - len;

				memcpy(tmp + len, r.ids + e->off,
				       m * sizeof(*tmp));
				len += m;
			}
		}
		if (err)
			break;
		/* sampled or allocated: the estimates, no per-block sizes
		 * (the pickle spreads est_size over est_count traces) */
		if (h->sampling_bytes || h->view == SNAP_VIEW_ALLOCATED)
			err = st_trace_add(set, (uint32_t)target, gen, tmp,
					   len, t->total_nframe + extra,
					   t->est_size, t->est_count, NULL);
		else
			err = st_trace_add(set, (uint32_t)target, gen, tmp,
					   len, t->total_nframe + extra,
					   t->size, t->count,
					   snap->sizes + t->block_first);
	}
	free(tmp);
	free(r.tab);
	free(r.ids);
	return err;
}
