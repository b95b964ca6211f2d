/* SPDX-License-Identifier: MIT */
/*
 * fmt_pprof.c - a trace set as pprof's profile.proto, gzip-compressed.
 *
 * The statistics formats group by (file, line); pprof wants more: a
 * location is an address in a mapping, carrying the inlined calls at that
 * address as several lines.  The set keeps frames, not addresses, so the
 * profile is built as the snapshots are read (fmt_pprof_add, one call per
 * snapshot trace): each trace comes with its return addresses and how
 * many of its frames each one gave, and becomes a sample of locations at
 * once; nothing per trace is kept but the sample.  The frames themselves
 * (function, file, line) are the set's, so pprof shows exactly what the
 * JSON formats show.
 *
 * Encoding is protobuf-c's (the message types come from profile.proto);
 * the packed message streams through zlib's gzip deflate into the sink,
 * so the uncompressed profile is never held whole.  Nothing here knows
 * HTTP, FastCGI or the symbolizer.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <zlib.h>

#include "grow.h"
#include "fmt_pprof.h"
#include "keymap.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__ValueType pb_value_type;

#define NVALUES 2                  /* inuse_objects, inuse_space */

struct str_ent {
	const char *s;             /* key (content) */
	int64_t idx;
	UT_hash_handle hh;
};

struct fn_key {
	int64_t name, file;
};
struct fn_ent {
	struct fn_key k;
	uint64_t id;
	UT_hash_handle hh;
};

struct map_key {
	uint32_t target;
	uint32_t pad;
	uint64_t lo, hi;
};
struct map_ent {
	struct map_key k;
	uint64_t id;
	UT_hash_handle hh;
};

struct smp_ent {
	uint64_t *locs;            /* key: n location ids, leaf first */
	size_t n;
	uint64_t hash;
	int32_t pid;
	int dropped;               /* its target failed: left out */
	int64_t v[NVALUES];
};

/* Strings made here (build-ids in hex), freed at the end. */
struct owned {
	struct owned *next;
	char s[];
};

struct builder {
	const struct fmt_pprof *p;
	struct str_ent *strs;
	const char **str_v;
	size_t n_str, cap_str;
	struct fn_ent *fns;
	pb_function **fn_v;
	size_t n_fn, cap_fn;
	struct map_ent *maps;
	pb_mapping **map_v;
	size_t n_map, cap_map;
	struct keymap locs;        /* (addr, target << 32 | lines) -> id */
	pb_location **loc_v;
	size_t n_loc, cap_loc;
	struct smp_ent *smp_v;     /* in the order first seen */
	size_t n_smp, cap_smp;
	uint32_t *smp_tab;         /* open addressing: index + 1, 0 = free */
	size_t smp_size;
	struct owned *owned;
	uint64_t *tmp;             /* location ids of the trace at hand */
	size_t cap_tmp;
	uint8_t *verdict;          /* per interned file, as st_filter_eval;
				      NULL = no filter */
	size_t n_verdict, cap_verdict;
};

/* Index of s in the string table (added when new), or -ENOMEM.  s must
 * outlive the builder. */
static int64_t
str_idx(struct builder *b, const char *s)
{
	struct str_ent *e;
	size_t l = strlen(s);

	HASH_FIND(hh, b->strs, s, l, e);
	if (e)
		return e->idx;
	if (grow_array((void **)&b->str_v, &b->cap_str, b->n_str + 1,
		 sizeof(*b->str_v)) || !(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	e->s = s;
	e->idx = (int64_t)b->n_str;
	b->str_v[b->n_str++] = s;
	HASH_ADD_KEYPTR(hh, b->strs, e->s, l, e);
	return e->idx;
}

static const char *
owned_str(struct builder *b, size_t len)
{
	struct owned *o = calloc(1, sizeof(*o) + len + 1);

	if (!o)
		return NULL;
	o->next = b->owned;
	b->owned = o;
	return o->s;
}

static const char *
owned_copy(struct builder *b, const char *s)
{
	size_t n = strlen(s);
	char *c = (char *)owned_str(b, n);

	if (c)
		memcpy(c, s, n + 1);
	return c;
}

/* The function id of a frame, or 0 when out of memory. */
static uint64_t
fn_id(struct builder *b, const struct st_frame *f)
{
	struct fn_key k;
	struct fn_ent *e;
	pb_function *pf;
	int64_t name = str_idx(b, f->function[0] ? f->function :
			       "<unknown>");
	int64_t file = str_idx(b, f->file);

	if (name < 0 || file < 0)
		return 0;
	memset(&k, 0, sizeof(k));
	k.name = name;
	k.file = file;
	HASH_FIND(hh, b->fns, &k, sizeof(k), e);
	if (e)
		return e->id;
	if (grow_array((void **)&b->fn_v, &b->cap_fn, b->n_fn + 1,
		 sizeof(*b->fn_v)) || !(e = calloc(1, sizeof(*e))))
		return 0;
	pf = malloc(sizeof(*pf));
	if (!pf) {
		free(e);
		return 0;
	}
	perftools__profiles__function__init(pf);
	e->k = k;
	e->id = b->n_fn + 1;
	pf->id = e->id;
	pf->name = name;
	pf->system_name = name;
	pf->filename = file;
	b->fn_v[b->n_fn++] = pf;
	HASH_ADD(hh, b->fns, k, sizeof(k), e);
	return e->id;
}

/* The mapping of return address addr of snapshot snap (target index t),
 * 0 when no loaded object holds it; -1 when out of memory. */
static int64_t
map_id(struct builder *b, const struct snap *snap, uint32_t t, uint64_t addr)
{
	const struct snap_module *m = NULL;
	struct map_key k;
	struct map_ent *e;
	pb_mapping *pm;
	const char *path;
	char *hex;
	uint64_t i;
	uint32_t j;

	for (i = 0; i < snap->h->n_modules; i++)
		if (addr >= snap->modules[i].lo && addr < snap->modules[i].hi) {
			m = &snap->modules[i];
			break;
		}
	if (!m)
		return 0;
	memset(&k, 0, sizeof(k));
	k.target = t;
	k.lo = m->lo;
	k.hi = m->hi;
	HASH_FIND(hh, b->maps, &k, sizeof(k), e);
	if (e)
		return (int64_t)e->id;
	if (grow_array((void **)&b->map_v, &b->cap_map, b->n_map + 1,
		 sizeof(*b->map_v)) || !(e = calloc(1, sizeof(*e))))
		return -1;
	pm = malloc(sizeof(*pm));
	hex = (char *)owned_str(b, 2 * SNAP_BUILD_ID_MAX);
	if (!pm || !hex) {
		free(pm);
		free(e);
		return -1;
	}
	perftools__profiles__mapping__init(pm);
	for (j = 0; j < m->build_id_len && j < SNAP_BUILD_ID_MAX; j++)
		snprintf(hex + 2 * j, 3, "%02x", m->build_id[j]);
	/* a copy: the snapshot's strings go with its stream */
	path = snap_module_path(snap, (uint64_t)(m - snap->modules));
	path = owned_copy(b, path);
	if (!path) {
		free(pm);
		free(e);
		return -1;
	}
	e->k = k;
	e->id = b->n_map + 1;
	pm->id = e->id;
	pm->memory_start = m->lo;
	pm->memory_limit = m->hi;
	pm->filename = str_idx(b, path);
	pm->build_id = str_idx(b, hex);
	if (pm->filename < 0 || pm->build_id < 0) {
		free(pm);
		free(e);
		return -1;
	}
	b->map_v[b->n_map++] = pm;
	HASH_ADD(hh, b->maps, k, sizeof(k), e);
	return (int64_t)e->id;
}

/* The has_* flags of a mapping, from one of its frames. */
static void
map_flags(struct builder *b, uint64_t id, const struct st_frame *f,
	  uint32_t nlines)
{
	pb_mapping *pm = b->map_v[id - 1];

	if (f->function[0])
		pm->has_functions = 1;
	if (f->line) {
		/* a file and line come from DWARF, which is also where
		 * inlined calls are found: they are expanded */
		pm->has_filenames = 1;
		pm->has_line_numbers = 1;
		pm->has_inline_frames = 1;
	}
	(void)nlines;
}

/* The location of (target t, return address addr) whose frames are
 * ids[0..n), most recent first; 0 when out of memory. */
static uint64_t
loc_id(struct builder *b, const struct snap *snap, uint32_t t,
       uint64_t addr, const uint32_t *ids, uint32_t n)
{
	const struct st_frame *f;
	uint64_t id, k2 = (uint64_t)t << 32 | n;
	pb_location *pl;
	pb_line *lines;
	int64_t mid;
	uint32_t i;

	if (keymap_get(&b->locs, addr, k2, &id))
		return id;
	mid = map_id(b, snap, t, addr ? addr - 1 : 0);
	if (mid < 0 || grow_array((void **)&b->loc_v, &b->cap_loc, b->n_loc + 1,
			    sizeof(*b->loc_v)))
		return 0;
	/* one allocation: the location, its line pointers, its lines */
	pl = calloc(1, sizeof(*pl) + n * (sizeof(pb_line *) +
					  sizeof(pb_line)));
	if (!pl)
		return 0;
	perftools__profiles__location__init(pl);
	pl->line = (pb_line **)(pl + 1);
	lines = (pb_line *)(pl->line + n);
	for (i = 0; i < n; i++) {
		f = &b->p->set->frames[ids[i]];
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = fn_id(b, f);
		lines[i].line = f->line;
		if (!lines[i].function_id) {
			free(pl);
			return 0;
		}
		pl->line[i] = &lines[i];
		if (mid)
			map_flags(b, (uint64_t)mid, f, n);
	}
	pl->n_line = n;
	pl->id = b->n_loc + 1;
	pl->mapping_id = (uint64_t)mid;
	pl->address = addr ? addr - 1 : 0;
	if (keymap_put(&b->locs, addr, k2, pl->id)) {
		free(pl);
		return 0;
	}
	b->loc_v[b->n_loc++] = pl;
	return pl->id;
}

/* Add (or merge into) the sample of locations b->tmp[0..n). */
static int
add_sample(struct builder *b, size_t n, int32_t pid, int sign,
	   uint64_t bytes, uint64_t count)
{
	struct smp_ent *e = NULL;
	size_t kl = n * sizeof(uint64_t), i, j;
	uint64_t h = n;

	for (i = 0; i < n; i++) {
		h = (h ^ b->tmp[i]) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 29;
	}
	if ((b->n_smp + 1) * 2 > b->smp_size) {
		size_t size = b->smp_size ? b->smp_size * 2 : 4096;
		uint32_t *tab = calloc(size, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		for (i = 0; i < b->n_smp; i++) {
			for (j = b->smp_v[i].hash & (size - 1); tab[j];
			     j = (j + 1) & (size - 1))
				;
			tab[j] = (uint32_t)i + 1;
		}
		free(b->smp_tab);
		b->smp_tab = tab;
		b->smp_size = size;
	}
	for (j = h & (b->smp_size - 1); b->smp_tab[j];
	     j = (j + 1) & (b->smp_size - 1)) {
		e = &b->smp_v[b->smp_tab[j] - 1];
		if (e->hash == h && e->n == n &&
		    memcmp(e->locs, b->tmp, kl) == 0)
			break;
		e = NULL;
	}
	if (!e) {
		if (grow_array((void **)&b->smp_v, &b->cap_smp, b->n_smp + 1,
			 sizeof(*b->smp_v)))
			return -ENOMEM;
		e = &b->smp_v[b->n_smp];
		memset(e, 0, sizeof(*e));
		if (!(e->locs = malloc(kl ? kl : 1)))
			return -ENOMEM;
		memcpy(e->locs, b->tmp, kl);
		e->n = n;
		e->hash = h;
		e->pid = pid;
		b->smp_tab[j] = (uint32_t)++b->n_smp;
	}
	e->v[0] += sign * (int64_t)count;
	e->v[1] += sign * (int64_t)bytes;
	return 0;
}

/* Whether the trace of frames ids[0..n) passes the filter (the verdicts
 * of files interned since the last call computed now); -ENOMEM. */
static int
kept(struct builder *b, const uint32_t *ids, uint32_t n)
{
	const struct fmt_pprof *p = b->p;
	const struct st_set *set = p->set;

	if (!p->filter || (!p->filter->n_include && !p->filter->n_exclude))
		return 1;
	if (grow_array((void **)&b->verdict, &b->cap_verdict, set->n_files + 1, 1))
		return -ENOMEM;
	for (; b->n_verdict < set->n_files; b->n_verdict++)
		b->verdict[b->n_verdict] =
			st_filter_file(p->filter, set->files[b->n_verdict]);
	return st_ids_kept(set, ids, n, p->filter, b->verdict);
}

int
fmt_pprof_add(struct fmt_pprof_build *fb, const struct snap *snap,
	      uint32_t target, enum st_gen gen, const uint64_t *addrs,
	      const uint32_t *nl, uint32_t naddrs, const uint32_t *ids,
	      uint64_t size, uint64_t count)
{
	struct builder *b = (struct builder *)fb;
	const struct st_set *set = b->p->set;
	uint32_t k, used = 0, nids = 0;
	int rc;

	if (gen == ST_OLD && !b->p->delta)
		return 0;
	for (k = 0; k < naddrs; k++)
		nids += nl[k];
	if (naddrs == 0 || target >= set->n_pids)
		return -EINVAL;
	rc = kept(b, ids, nids);
	if (rc <= 0)
		return rc;
	if (grow_array((void **)&b->tmp, &b->cap_tmp, naddrs, sizeof(*b->tmp)))
		return -ENOMEM;
	for (k = 0; k < naddrs; k++) {
		b->tmp[k] = loc_id(b, snap, target, addrs[k], ids + used,
				   nl[k]);
		if (!b->tmp[k])
			return -ENOMEM;
		used += nl[k];
	}
	return add_sample(b, naddrs, set->pids[target],
			  gen == ST_OLD ? -1 : 1, size, count);
}

void
fmt_pprof_drop(struct fmt_pprof_build *fb, uint32_t target)
{
	struct builder *b = (struct builder *)fb;
	int32_t pid;
	size_t i;

	if (target >= b->p->set->n_pids)
		return;
	pid = b->p->set->pids[target];
	for (i = 0; i < b->n_smp; i++)
		if (b->smp_v[i].pid == pid)
			b->smp_v[i].dropped = 1;
}

/* protobuf-c output through gzip into the sink. */
struct gz_buf {
	ProtobufCBuffer base;
	z_stream z;
	struct sink *out;
	int err;
	unsigned char chunk[16384];
};

static void
gz_pump(struct gz_buf *g, int flush)
{
	int rc;

	do {
		g->z.next_out = g->chunk;
		g->z.avail_out = sizeof(g->chunk);
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = -EIO;
			return;
		}
		sink_write(g->out, g->chunk, sizeof(g->chunk) -
			   g->z.avail_out);
	} while (g->z.avail_out == 0);
}

static void
gz_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
	struct gz_buf *g = (struct gz_buf *)buf;

	while (len && !g->err) {
		uInt n = len > (1u << 30) ? 1u << 30 : (uInt)len;

		g->z.next_in = (Bytef *)data;
		g->z.avail_in = n;
		gz_pump(g, Z_NO_FLUSH);
		data += n;
		len -= n;
	}
}

static int
write_gz(const pb_profile *prof, struct sink *out)
{
	struct gz_buf *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	g->base.append = gz_append;
	g->out = out;
	/* windowBits 15 + 16: a gzip header and trailer (zlib.h) */
	if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return -ENOMEM;
	}
	protobuf_c_message_pack_to_buffer(&prof->base, &g->base);
	if (!g->err) {
		g->z.next_in = NULL;
		g->z.avail_in = 0;
		gz_pump(g, Z_FINISH);
	}
	err = g->err;
	deflateEnd(&g->z);
	free(g);
	return err;
}

static void
builder_free(struct builder *b)
{
	struct str_ent *s, *st;
	struct fn_ent *f, *ft;
	struct map_ent *m, *mt;
	struct owned *o;
	size_t i;

	HASH_ITER(hh, b->strs, s, st) {
		HASH_DEL(b->strs, s);
		free(s);
	}
	HASH_ITER(hh, b->fns, f, ft) {
		HASH_DEL(b->fns, f);
		free(f);
	}
	HASH_ITER(hh, b->maps, m, mt) {
		HASH_DEL(b->maps, m);
		free(m);
	}
	keymap_free(&b->locs);
	free(b->verdict);
	for (i = 0; i < b->n_smp; i++)
		free(b->smp_v[i].locs);
	free(b->smp_v);
	free(b->smp_tab);
	for (i = 0; i < b->n_fn; i++)
		free(b->fn_v[i]);
	for (i = 0; i < b->n_map; i++)
		free(b->map_v[i]);
	for (i = 0; i < b->n_loc; i++)
		free(b->loc_v[i]);
	free(b->fn_v);
	free(b->map_v);
	free(b->loc_v);
	free(b->str_v);
	free(b->tmp);
	while ((o = b->owned)) {
		b->owned = o->next;
		free(o);
	}
}

/* The message around the builder's tables, and out it goes. */
static int
emit(struct builder *b, struct sink *out)
{
	static const char *const names[2][NVALUES][2] = {
		{ { "inuse_objects", "count" }, { "inuse_space", "bytes" } },
		{ { "alloc_objects", "count" }, { "alloc_space", "bytes" } },
	};
	int alloc = b->p->set->view == SNAP_VIEW_ALLOCATED;
	uint64_t rate = b->p->set->sampling_bytes;
	pb_value_type vt[NVALUES], period_type, *vtp[NVALUES];
	pb_profile prof;
	pb_sample *sv = NULL, **svp = NULL;
	pb_label *lv = NULL, **lvp = NULL;
	struct smp_ent *e;
	int64_t pid_key, comment[1];
	size_t i, n = 0;
	int err = -ENOMEM;

	perftools__profiles__profile__init(&prof);
	for (i = 0; i < NVALUES; i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = str_idx(b, names[alloc][i][0]);
		vt[i].unit = str_idx(b, names[alloc][i][1]);
		vtp[i] = &vt[i];
	}
	perftools__profiles__value_type__init(&period_type);
	period_type.type = str_idx(b, "space");
	period_type.unit = str_idx(b, "bytes");
	pid_key = str_idx(b, "pid");
	comment[0] = str_idx(b, rate ?
			     "hawk: sampled tracing, values are unbiased "
			     "estimates" :
			     "hawk: exact tracing (every allocation)");
	if (pid_key < 0 || comment[0] < 0 || period_type.unit < 0 ||
	    vt[NVALUES - 1].unit < 0)
		goto out;
	if (b->n_smp && (!(sv = calloc(b->n_smp, sizeof(*sv))) ||
			 !(svp = calloc(b->n_smp, sizeof(*svp))) ||
			 !(lv = calloc(b->n_smp, sizeof(*lv))) ||
			 !(lvp = calloc(b->n_smp, sizeof(*lvp)))))
		goto out;
	for (i = 0; i < b->n_smp; i++) {
		e = &b->smp_v[i];
		if (e->dropped)
			continue;
		if (b->p->delta && !e->v[0] && !e->v[1])
			continue;          /* as Go's delta drops them */
		perftools__profiles__sample__init(&sv[n]);
		perftools__profiles__label__init(&lv[n]);
		lv[n].key = pid_key;
		lv[n].num = e->pid;
		lvp[n] = &lv[n];
		sv[n].n_location_id = e->n;
		sv[n].location_id = e->locs;
		sv[n].n_value = NVALUES;
		sv[n].value = e->v;
		sv[n].n_label = 1;
		sv[n].label = &lvp[n];
		svp[n] = &sv[n];
		n++;
	}
	prof.n_sample_type = NVALUES;
	prof.sample_type = vtp;
	prof.n_sample = n;
	prof.sample = svp;
	prof.n_mapping = b->n_map;
	prof.mapping = b->map_v;
	prof.n_location = b->n_loc;
	prof.location = b->loc_v;
	prof.n_function = b->n_fn;
	prof.function = b->fn_v;
	prof.n_string_table = b->n_str;
	prof.string_table = (char **)b->str_v;
	prof.time_nanos = b->p->time_ns;
	prof.duration_nanos = b->p->duration_ns;
	prof.period_type = &period_type;
	/* the sampling rate (values are already scaled, as Go's) */
	prof.period = (int64_t)(rate ? rate :
				b->p->period ? b->p->period : 1);
	prof.n_comment = 1;
	prof.comment = comment;
	prof.default_sample_type = vt[1].type;
	err = write_gz(&prof, out);
out:
	free(sv);
	free(svp);
	free(lv);
	free(lvp);
	return err;
}

struct fmt_pprof_build *
fmt_pprof_begin(const struct fmt_pprof *p)
{
	struct builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->p = p;
	if (str_idx(b, "") != 0) {         /* string_table[0] */
		builder_free(b);
		free(b);
		return NULL;
	}
	return (struct fmt_pprof_build *)b;
}

int
fmt_pprof_end(struct fmt_pprof_build *fb, struct sink *out)
{
	struct builder *b = (struct builder *)fb;
	int err = emit(b, out);

	fmt_pprof_free(fb);
	return err;
}

void
fmt_pprof_free(struct fmt_pprof_build *fb)
{
	struct builder *b = (struct builder *)fb;

	if (!b)
		return;
	builder_free(b);
	free(b);
}
