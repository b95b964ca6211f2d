/* SPDX-License-Identifier: MIT */
/*
 * stats.c - grouping of symbolized traces into tracemalloc statistics.
 *
 * Mirrors Lib/tracemalloc.py (Python 3.11) line by line where it matters:
 *  - _group_by: 'lineno' keys by the most recent frame, 'traceback' by all
 *    frames; cumulative adds a trace under every frame of its traceback, a
 *    recursive frame as often as it occurs (no dedup, as tracemalloc).
 *  - statistics(): sort reverse by (size, count, traceback);
 *    compare_to(): by (|size_diff|, size, |count_diff|, count, traceback);
 *    a Traceback compares by its frames oldest first, as tuples of
 *    (filename, lineno) (strcmp on UTF-8 is code point order).
 *  - _compare_grouped_stats: a key only in the old snapshot gives
 *    size 0, count 0 and negative diffs.
 *  - Filter: fnmatch on normalised filenames (".pyc" -> ".py"), most recent
 *    frame only unless all_frames.
 *  - _format_size and Statistic/StatisticDiff.__str__, byte-identical.
 * Keys are compared by frame ids: frames are interned by (file, line).
 * Nothing here allocates per trace beyond amortised array growth.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "stats.h"

static uint64_t
hash_bytes(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t
hash_u64(uint64_t x, uint64_t h)
{
	h ^= x + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
	h *= UINT64_C(0xff51afd7ed558ccd);
	return h ^ (h >> 33);
}

void
st_set_init(struct st_set *set)
{
	memset(set, 0, sizeof(*set));
}

void
st_set_free(struct st_set *set)
{
	free(set->frames);
	free(set->frame_hash);
	free(set->files);
	free(set->file_hash);
	free(set->traces);
	free(set->ids);
	free(set->pids);
	memset(set, 0, sizeof(*set));
}

void
st_set_drop_traces(struct st_set *set)
{
	set->n_traces = 0;
	set->n_ids = 0;
}

int
st_reserve(struct st_set *set, size_t n_traces, size_t n_ids)
{
	size_t nt = set->n_traces + n_traces, ni = set->n_ids + n_ids;
	void *p;

	if (nt > set->cap_traces) {
		p = realloc(set->traces, nt * sizeof(*set->traces));
		if (!p)
			return -ENOMEM;
		set->traces = p;
		set->cap_traces = nt;
	}
	if (ni > set->cap_ids) {
		p = realloc(set->ids, ni * sizeof(*set->ids));
		if (!p)
			return -ENOMEM;
		set->ids = p;
		set->cap_ids = ni;
	}
	return 0;
}

int
st_target(struct st_set *set, int32_t pid)
{
	size_t i;

	for (i = 0; i < set->n_pids; i++)
		if (set->pids[i] == pid)
			return (int)i;
	if (grow_array((void **)&set->pids, &set->cap_pids, set->n_pids + 1,
		 sizeof(*set->pids)))
		return -ENOMEM;
	set->pids[set->n_pids] = pid;
	return (int)set->n_pids++;
}

/* Rebuild an open-addressing table of `n` entries (id + 1) twice as big. */
static int
rehash(uint32_t **tab, size_t *size, size_t n,
       uint64_t (*hash)(const struct st_set *, uint32_t),
       const struct st_set *set)
{
	size_t ns = *size ? *size * 2 : 1024, i, j;
	uint32_t *t = calloc(ns, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		j = hash(set, (uint32_t)i) & (ns - 1);
		while (t[j])
			j = (j + 1) & (ns - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(*tab);
	*tab = t;
	*size = ns;
	return 0;
}

static uint64_t
file_hash_of(const struct st_set *set, uint32_t id)
{
	return hash_bytes(set->files[id], UINT64_C(0xcbf29ce484222325));
}

static uint64_t
frame_hash_of(const struct st_set *set, uint32_t id)
{
	return hash_u64(set->frames[id].line,
			hash_u64(set->frames[id].file_id, 7));
}

static int64_t
file_intern(struct st_set *set, const char *file)
{
	uint64_t h = hash_bytes(file, UINT64_C(0xcbf29ce484222325));
	size_t j;

	if (set->file_hash_size) {
		for (j = h & (set->file_hash_size - 1); set->file_hash[j];
		     j = (j + 1) & (set->file_hash_size - 1))
			if (strcmp(set->files[set->file_hash[j] - 1],
				   file) == 0)
				return set->file_hash[j] - 1;
	}
	if (grow_array((void **)&set->files, &set->cap_files, set->n_files + 1,
		 sizeof(*set->files)))
		return -ENOMEM;
	set->files[set->n_files++] = file;
	if (set->n_files * 2 > set->file_hash_size)
		return rehash(&set->file_hash, &set->file_hash_size,
			      set->n_files, file_hash_of, set) ?
			-ENOMEM : (int64_t)set->n_files - 1;
	for (j = h & (set->file_hash_size - 1); set->file_hash[j];
	     j = (j + 1) & (set->file_hash_size - 1))
		;
	set->file_hash[j] = (uint32_t)set->n_files;
	return (int64_t)set->n_files - 1;
}

int64_t
st_frame_intern(struct st_set *set, const char *file, uint32_t line,
		const char *function, const char *module)
{
	return st_frame_intern_at(set, file, line, function, module, 0, NULL);
}

int64_t
st_frame_intern_at(struct st_set *set, const char *file, uint32_t line,
		   const char *function, const char *module, uint64_t offset,
		   const char *build_id)
{
	int64_t fid = file_intern(set, file);
	uint64_t h;
	size_t j;
	struct st_frame *f;

	if (fid < 0)
		return fid;
	h = hash_u64(line, hash_u64((uint64_t)fid, 7));
	if (set->frame_hash_size) {
		for (j = h & (set->frame_hash_size - 1); set->frame_hash[j];
		     j = (j + 1) & (set->frame_hash_size - 1)) {
			f = &set->frames[set->frame_hash[j] - 1];
			if (f->file_id == fid && f->line == line)
				return set->frame_hash[j] - 1;
		}
	}
	if (grow_array((void **)&set->frames, &set->cap_frames, set->n_frames + 1,
		 sizeof(*set->frames)))
		return -ENOMEM;
	f = &set->frames[set->n_frames++];
	f->file = set->files[fid];
	f->line = line;
	f->file_id = (uint32_t)fid;
	f->function = function ? function : "";
	f->module = module ? module : "";
	f->offset = offset;
	f->build_id = build_id ? build_id : "";
	if (set->n_frames * 2 > set->frame_hash_size)
		return rehash(&set->frame_hash, &set->frame_hash_size,
			      set->n_frames, frame_hash_of, set) ?
			-ENOMEM : (int64_t)set->n_frames - 1;
	for (j = h & (set->frame_hash_size - 1); set->frame_hash[j];
	     j = (j + 1) & (set->frame_hash_size - 1))
		;
	set->frame_hash[j] = (uint32_t)set->n_frames;
	return (int64_t)set->n_frames - 1;
}

const char *
st_view_name(uint32_t view)
{
	static const char *const name[] = { "live", "allocated", "peak" };

	return view < 3 ? name[view] : "live";
}

uint64_t
st_pickle_traces(const struct st_set *set)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < set->n_traces; i++)
		if (set->traces[i].gen == ST_NEW)
			n += set->traces[i].count ? set->traces[i].count : 1;
	return n;
}

int
st_trace_add(struct st_set *set, uint32_t target, enum st_gen gen,
	     const uint32_t *ids, uint32_t n, uint32_t total_nframe,
	     uint64_t size, uint64_t count, const uint64_t *sizes)
{
	struct st_trace *t;

	if (n == 0)
		return -EINVAL;
	if (grow_array((void **)&set->ids, &set->cap_ids, set->n_ids + n,
		 sizeof(*set->ids)) ||
	    grow_array((void **)&set->traces, &set->cap_traces, set->n_traces + 1,
		 sizeof(*set->traces)))
		return -ENOMEM;
	t = &set->traces[set->n_traces++];
	t->size = size;
	t->count = count;
	t->sizes = sizes;
	t->ids_off = set->n_ids;
	t->nframes = n;
	t->total_nframe = total_nframe < n ? n : total_nframe;
	t->target = target;
	t->gen = gen;
	memcpy(set->ids + set->n_ids, ids, n * sizeof(*ids));
	set->n_ids += n;
	if (n > set->traceback_limit)
		set->traceback_limit = n;
	return 0;
}

/* tracemalloc._normalize_filename: os.path.normcase is the identity on
 * POSIX; a trailing ".pyc" loses its "c". */
static const char *
normalize(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (n >= 4 && strcmp(name + n - 4, ".pyc") == 0 && n < len) {
		memcpy(buf, name, n - 1);
		buf[n - 1] = '\0';
		return buf;
	}
	return name;
}

/* fnmatch.fnmatch: '*' crosses '/', a leading '.' is not special and a
 * backslash is an ordinary character. */
static int
match(const char *pattern, const char *file)
{
	char pb[4096], fb[4096];

	return fnmatch(normalize(pattern, pb, sizeof(pb)),
		       normalize(file, fb, sizeof(fb)), FNM_NOESCAPE) == 0;
}

uint8_t
st_filter_file(const struct st_filter *f, const char *file)
{
	uint8_t v = 0;
	size_t k;

	for (k = 0; k < f->n_include; k++)
		if (match(f->include[k], file)) {
			v |= 1;
			break;
		}
	for (k = 0; k < f->n_exclude; k++)
		if (match(f->exclude[k], file)) {
			v |= 2;
			break;
		}
	return v;
}

int
st_filter_eval(const struct st_set *set, const struct st_filter *f,
	       uint8_t **verdict)
{
	uint8_t *v;
	size_t i;

	*verdict = NULL;
	if (!f || (f->n_include == 0 && f->n_exclude == 0))
		return 0;
	v = calloc(set->n_files ? set->n_files : 1, 1);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < set->n_files; i++)
		v[i] = st_filter_file(f, set->files[i]);
	*verdict = v;
	return 0;
}

/*
 * Snapshot._filter_trace: kept when some include filter matches (if there
 * are include filters) and every exclude filter matches, where an exclude
 * filter "matches" when its pattern does not (Filter._match_frame XORs with
 * not inclusive; with all_frames any matching frame excludes).
 */
int
st_ids_kept(const struct st_set *set, const uint32_t *ids, uint32_t n,
	    const struct st_filter *f, const uint8_t *verdict)
{
	uint32_t i;
	uint8_t any = 0;

	if (!verdict)
		return 1;
	if (!f->all_frames)
		n = 1;
	for (i = 0; i < n; i++)
		any |= verdict[set->frames[ids[i]].file_id];
	if (f->n_include && !(any & 1))
		return 0;
	if (f->n_exclude && (any & 2))
		return 0;
	return 1;
}

int
st_trace_kept(const struct st_set *set, const struct st_trace *t,
	      const struct st_filter *f, const uint8_t *verdict)
{
	return st_ids_kept(set, set->ids + t->ids_off, t->nframes, f,
			   verdict);
}

void
st_drop_target(struct st_set *set, uint32_t target)
{
	size_t i, n = 0;

	for (i = 0; i < set->n_traces; i++)
		if (set->traces[i].target != target)
			set->traces[n++] = set->traces[i];
	set->n_traces = n;
}

/* Traceback.__lt__: tuples of (filename, lineno), oldest frame first. */
static int
cmp_tb(const struct st_set *set, const struct st_stat *a,
       const struct st_stat *b)
{
	uint32_t n = a->key_n < b->key_n ? a->key_n : b->key_n, i;
	const struct st_frame *fa, *fb;
	uint32_t ia, ib;
	int c;

	for (i = 0; i < n; i++) {
		ia = set->ids[a->key_off + a->key_n - 1 - i];
		ib = set->ids[b->key_off + b->key_n - 1 - i];
		if (ia == ib)
			continue;
		fa = &set->frames[ia];
		fb = &set->frames[ib];
		if (fa->file_id != fb->file_id) {
			c = strcmp(fa->file, fb->file);
			if (c)
				return c < 0 ? -1 : 1;
		}
		if (fa->line != fb->line)
			return fa->line < fb->line ? -1 : 1;
	}
	return a->key_n < b->key_n ? -1 : a->key_n > b->key_n;
}

#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? 1 : -1; } while (0)

static uint64_t
absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Descending by Statistic._sort_key. */
static int
cmp_stat(const void *pa, const void *pb, void *arg)
{
	const struct st_stat *a = pa, *b = pb;

	CMP(a->size, b->size);
	CMP(a->count, b->count);
	return -cmp_tb(arg, a, b);
}

/* Descending by StatisticDiff._sort_key. */
static int
cmp_diff(const void *pa, const void *pb, void *arg)
{
	const struct st_stat *a = pa, *b = pb;

	CMP(absdiff(a->size, a->old_size), absdiff(b->size, b->old_size));
	CMP(a->size, b->size);
	CMP(absdiff(a->count, a->old_count), absdiff(b->count, b->old_count));
	CMP(a->count, b->count);
	return -cmp_tb(arg, a, b);
}

struct group {
	const struct st_set *set;
	struct st_list *l;
	size_t cap;
	uint32_t *hash;            /* stat index + 1 */
	size_t hash_size;
};

static uint64_t
key_hash(const struct st_set *set, uint64_t off, uint32_t n)
{
	uint64_t h = n;
	uint32_t i;

	for (i = 0; i < n; i++)
		h = hash_u64(set->ids[off + i], h);
	return h;
}

static uint64_t
stat_hash_of(const struct group *g, uint32_t i)
{
	return key_hash(g->set, g->l->v[i].key_off, g->l->v[i].key_n);
}

static int
group_rehash(struct group *g)
{
	size_t ns = g->hash_size ? g->hash_size * 2 : 1024, i, j;
	uint32_t *t = calloc(ns, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < g->l->n; i++) {
		j = stat_hash_of(g, (uint32_t)i) & (ns - 1);
		while (t[j])
			j = (j + 1) & (ns - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(g->hash);
	g->hash = t;
	g->hash_size = ns;
	return 0;
}

/* Add one trace's size and count under key ids[off..off+n). */
static int
group_add(struct group *g, uint64_t off, uint32_t n,
	  const struct st_trace *t)
{
	const struct st_set *set = g->set;
	struct st_list *l = g->l;
	uint64_t h = key_hash(set, off, n);
	struct st_stat *s = NULL;
	size_t j, idx, cap;

	for (j = h & (g->hash_size - 1); g->hash[j];
	     j = (j + 1) & (g->hash_size - 1)) {
		s = &l->v[g->hash[j] - 1];
		if (s->key_n == n && (s->key_off == off ||
		    memcmp(set->ids + s->key_off, set->ids + off,
			   n * sizeof(uint32_t)) == 0))
			break;
		s = NULL;
	}
	if (!s) {
		cap = g->cap;
		if (grow_array((void **)&l->v, &g->cap, l->n + 1, sizeof(*l->v)))
			return -ENOMEM;
		if (g->cap != cap) {
			uint64_t *pb = realloc(l->pid_bits, g->cap *
					       l->pid_words * sizeof(*pb));
			if (!pb)
				return -ENOMEM;
			l->pid_bits = pb;
		}
		idx = l->n++;
		s = &l->v[idx];
		memset(s, 0, sizeof(*s));
		memset(l->pid_bits + idx * l->pid_words, 0,
		       l->pid_words * sizeof(uint64_t));
		s->key_off = off;
		s->key_n = n;
		s->slot = idx;
		g->hash[j] = (uint32_t)idx + 1;
		if (l->n * 2 > g->hash_size && group_rehash(g))
			return -ENOMEM;
		s = &l->v[idx];
	}
	if (t->gen == ST_OLD) {
		s->old_size += t->size;
		s->old_count += t->count;
	} else {
		s->size += t->size;
		s->count += t->count;
	}
	idx = (size_t)(s - l->v);
	l->pid_bits[idx * l->pid_words + t->target / 64] |=
		UINT64_C(1) << (t->target % 64);
	return 0;
}

int
st_group(const struct st_set *set, enum st_key key, int cumulative,
	 int diff, const struct st_filter *f, struct st_list *out)
{
	struct group g = { .set = set, .l = out };
	uint8_t *verdict = NULL;
	const struct st_trace *t;
	size_t i;
	uint32_t k;
	int err;

	memset(out, 0, sizeof(*out));
	out->diff = diff;
	out->pid_words = set->n_pids / 64 + 1;
	if (key == ST_TRACEBACK)
		cumulative = 0;
	err = st_filter_eval(set, f, &verdict);
	if (err || (err = group_rehash(&g)))
		goto out;
	for (i = 0; i < set->n_traces; i++) {
		t = &set->traces[i];
		if ((!diff && t->gen != ST_NEW) ||
		    !st_trace_kept(set, t, f, verdict))
			continue;
		if (key == ST_TRACEBACK)
			err = group_add(&g, t->ids_off, t->nframes, t);
		else if (!cumulative)
			err = group_add(&g, t->ids_off, 1, t);
		else
			for (k = 0; k < t->nframes && !err; k++)
				err = group_add(&g, t->ids_off + k, 1, t);
		if (err)
			goto out;
	}
	if (out->n)
		qsort_r(out->v, out->n, sizeof(*out->v),
			diff ? cmp_diff : cmp_stat, (void *)set);
out:
	free(verdict);
	free(g.hash);
	if (err)
		st_list_free(out);
	return err;
}

void
st_list_free(struct st_list *l)
{
	free(l->v);
	free(l->pid_bits);
	memset(l, 0, sizeof(*l));
}

void
st_format_size(char *buf, size_t len, double size, int sign)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
					     "TiB" };
	size_t i;

	for (i = 0; i < 5; i++) {
		if (fabs(size) < 100 && i != 0) {
			snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s",
				 size, units[i]);
			return;
		}
		if (fabs(size) < 10 * 1024 || i == 4) {
			snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s",
				 size, units[i]);
			return;
		}
		size /= 1024;
	}
}

void
st_format_bytes(char *buf, size_t len, double size)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB",
					     "PB", "EB" };
	size_t i;

	for (i = 0; i < 6 && fabs(size) >= 1024.0; i++)
		size /= 1024.0;
	snprintf(buf, len, "%3.1f %s", size, units[i]);
}

int
st_stat_str(const struct st_set *set, const struct st_list *l, size_t s,
	    char *buf, size_t len)
{
	const struct st_stat *st = &l->v[s];
	/* str(Traceback) is str(self[0]): the oldest frame */
	const struct st_frame *f =
		&set->frames[set->ids[st->key_off + st->key_n - 1]];
	char size[64], sdiff[64], avg[64];
	int n;

	st_format_size(size, sizeof(size), (double)st->size, 0);
	avg[0] = '\0';
	if (st->count) {
		memcpy(avg, ", average=", 10);
		st_format_size(avg + 10, sizeof(avg) - 10,
			       (double)st->size / (double)st->count, 0);
	}
	if (!l->diff) {
		n = snprintf(buf, len, "%s:%" PRIu32 ": size=%s, count=%"
			     PRIu64 "%s", f->file, f->line, size, st->count,
			     avg);
	} else {
		/* differences of unsigned figures taken from the targets:
		 * as a magnitude and a sign, never a signed subtraction that
		 * can overflow */
		int up = st->count >= st->old_count;
		uint64_t dc = up ? st->count - st->old_count :
			      st->old_count - st->count;

		st_format_size(sdiff, sizeof(sdiff),
			       st->size >= st->old_size ?
			       (double)(st->size - st->old_size) :
			       -(double)(st->old_size - st->size), 1);
		n = snprintf(buf, len, "%s:%" PRIu32 ": size=%s (%s), count=%"
			     PRIu64 " (%c%" PRIu64 ")%s", f->file, f->line,
			     size, sdiff, st->count, up ? '+' : '-', dc, avg);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
