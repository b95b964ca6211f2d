/* SPDX-License-Identifier: MIT */
/*
 * snapstat.c - the bridge from a snapshot to a statistics set: symbolize
 * each return address of a snapshot once per request (a private address ->
 * frames table), on top of the symbolizer's own cache that lives as long
 * as the process, and add every trace to the set as the snapshot is read,
 * once and forward, through bounded buffers (snapstat_add_stream), already
 * aggregated as the request needs it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
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

/* ---------------------------------------------------------------------- */
/* Streaming: the traces of a snapshot read through bounded buffers and
 * aggregated as they are read (see target.h). */

/* (target, gen, frame id) -> index of the aggregate trace in the set */
struct agg {
	uint64_t *key;             /* 0 = empty */
	uint32_t *trace;
	size_t size, used;
};

static uint64_t
agg_key(uint32_t target, uint32_t gen, uint32_t id)
{
	return ((uint64_t)id << 32 | (uint64_t)(target & 0x7fffffu) << 1 |
		gen) + 1;
}

static int
agg_add(struct agg *a, struct st_set *set, uint32_t target, uint32_t gen,
	uint32_t id, uint64_t size, uint64_t count)
{
	uint64_t k = agg_key(target, gen, id), h;
	size_t j;
	int err;

	if ((a->used + 1) * 2 > a->size) {
		struct agg b = { 0 };
		size_t i;

		b.size = a->size ? a->size * 2 : 1024;
		b.key = calloc(b.size, sizeof(*b.key));
		b.trace = calloc(b.size, sizeof(*b.trace));
		if (!b.key || !b.trace) {
			free(b.key);
			free(b.trace);
			return -ENOMEM;
		}
		for (i = 0; i < a->size; i++) {
			if (!a->key[i])
				continue;
			h = a->key[i] * UINT64_C(0x9e3779b97f4a7c15);
			for (j = (size_t)(h >> 20) & (b.size - 1); b.key[j];
			     j = (j + 1) & (b.size - 1))
				;
			b.key[j] = a->key[i];
			b.trace[j] = a->trace[i];
		}
		free(a->key);
		free(a->trace);
		b.used = a->used;
		*a = b;
	}
	h = k * UINT64_C(0x9e3779b97f4a7c15);
	for (j = (size_t)(h >> 20) & (a->size - 1); a->key[j];
	     j = (j + 1) & (a->size - 1)) {
		if (a->key[j] == k) {
			struct st_trace *t = &set->traces[a->trace[j]];

			t->size += size;
			t->count += count;
			return 0;
		}
	}
	err = st_trace_add(set, target, gen, &id, 1, 1, size, count, NULL);
	if (err)
		return err;
	a->key[j] = k;
	a->trace[j] = (uint32_t)(set->n_traces - 1);
	a->used++;
	return 0;
}

#define PICKLE_SIZES (1u << 20)    /* block sizes held per chunk (8 MiB) */

int
snapstat_add_stream(struct symbolizer *sym, struct snap_stream *ss,
		    enum st_gen gen, enum snapstat_agg mode,
		    struct st_set *set, struct textpool *pool,
		    const struct snapstat_hooks *hk, char *errmsg,
		    size_t errlen)
{
	const struct snap_header *h = &ss->h;
	uint32_t limit = h->frames ? h->frames : SEG_FRAMES_MAX;
	struct res r = { 0 };
	struct agg a = { 0 };
	uint32_t *tmp, *nl = NULL, len, k, extra, naddr;
	uint64_t *sizes = NULL, *addrs = NULL;
	size_t n_sizes = 0;
	const struct addr_ent *e;
	const uint64_t *frames;
	struct snap_trace t;
	uint64_t size, count;
	int target, err = 0, rc = 0, est = snap_stream_estimated(ss);

	target = st_target(set, h->pid);
	tmp = malloc(limit * sizeof(*tmp));
	if (mode == SNAPSTAT_PICKLE)
		sizes = malloc(PICKLE_SIZES * sizeof(*sizes));
	if (mode == SNAPSTAT_TRACE) {
		addrs = malloc(limit * sizeof(*addrs));
		nl = malloc(limit * sizeof(*nl));
	}
	if (target < 0 || !tmp || (mode == SNAPSTAT_PICKLE && !sizes) ||
	    (mode == SNAPSTAT_TRACE && (!addrs || !nl))) {
		free(tmp);
		free(sizes);
		free(addrs);
		free(nl);
		snprintf(errmsg, errlen, "symbolizing: out of memory");
		return -ENOMEM;
	}
	while (!err && (rc = snap_stream_next(ss, &t, &frames, errmsg,
					      errlen)) == 1) {
		if (mode == SNAPSTAT_CHECK)
			continue;          /* its sizes are checked next */
		len = 0;
		extra = 0;
		naddr = 0;
		for (k = 0; k < t.nframes; k++) {
			e = resolve(&r, sym, &ss->snap, frames[k], set, pool);
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
				if (mode == SNAPSTAT_TRACE) {
					addrs[naddr] = frames[k];
					nl[naddr++] = m;
				}
			}
			/* lineno needs the most recent frame only */
			if (mode == SNAPSTAT_FRAME0)
				break;
		}
		if (err)
			break;
		/* sampled or allocated: the estimates, no per-block sizes
		 * (the pickle spreads est_size over est_count traces) */
		size = est ? t.est_size : t.size;
		count = est ? t.est_count : t.count;
		switch (mode) {
		case SNAPSTAT_CHECK:
			break;
		case SNAPSTAT_FRAME0:
			err = agg_add(&a, set, (uint32_t)target, gen, tmp[0],
				      size, count);
			break;
		case SNAPSTAT_EACH_FRAME:
			for (k = 0; k < len && !err; k++)
				err = agg_add(&a, set, (uint32_t)target, gen,
					      tmp[k], size, count);
			break;
		case SNAPSTAT_FULL:
			err = st_trace_add(set, (uint32_t)target, gen, tmp,
					   len, t.total_nframe + extra,
					   size, count, NULL);
			break;
		case SNAPSTAT_TRACE: {
			struct snapstat_trace st = {
				.snap = &ss->snap, .target = (uint32_t)target,
				.gen = gen, .addrs = addrs, .nl = nl,
				.naddrs = naddr, .ids = tmp, .nids = len,
				.total_nframe = t.total_nframe + extra,
				.size = size, .count = count,
			};

			err = hk->trace(hk->arg, &st);
			break;
		}
		case SNAPSTAT_PICKLE:
			if (est) {
				if (set->n_traces >= 65536) {
					err = hk->flush(hk->arg, set);
					st_set_drop_traces(set);
					n_sizes = 0;
					if (err)
						break;
				}
				err = st_trace_add(set, (uint32_t)target, gen,
						   tmp, len,
						   t.total_nframe + extra,
						   size, count, NULL);
				break;
			}
			/* the blocks in parts of at most PICKLE_SIZES, each
			 * a trace of its own (the pickle has one entry per
			 * block either way), flushed when the chunk fills */
			for (;;) {
				long got;
				uint64_t sum = 0;
				size_t i;

				if (n_sizes == PICKLE_SIZES ||
				    set->n_traces >= 65536) {
					err = hk->flush(hk->arg, set);
					st_set_drop_traces(set);
					n_sizes = 0;
					if (err)
						break;
				}
				got = snap_stream_sizes(ss, sizes + n_sizes,
							PICKLE_SIZES - n_sizes,
							errmsg, errlen);
				if (got <= 0) {
					err = (int)got;
					break;
				}
				for (i = 0; i < (size_t)got; i++)
					sum += sizes[n_sizes + i];
				err = st_trace_add(set, (uint32_t)target, gen,
						   tmp, len,
						   t.total_nframe + extra, sum,
						   (uint64_t)got,
						   sizes + n_sizes);
				n_sizes += (size_t)got;
				if (err)
					break;
			}
			break;
		}
		if (err == -ENOMEM)
			snprintf(errmsg, errlen, "symbolizing: out of memory");
	}
	if (!err && rc < 0)
		err = rc;
	if (!err && mode == SNAPSTAT_PICKLE)
		err = hk->flush(hk->arg, set);
	if (mode == SNAPSTAT_PICKLE)
		st_set_drop_traces(set);
	else if (err)
		st_drop_target(set, (uint32_t)target);
	free(sizes);
	free(addrs);
	free(nl);
	free(tmp);
	free(r.tab);
	free(r.ids);
	free(a.key);
	free(a.trace);
	return err;
}
