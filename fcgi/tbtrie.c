/* SPDX-License-Identifier: MIT */
/*
 * tbtrie.c - traceback statistics in bounded memory (see tbtrie.h).
 *
 * A traceback is a path from the root of the trie, outermost frame first,
 * to the node of its outer frames, plus its most recent frame, kept in its
 * entry (most tracebacks end in a frame no other one passes through: a
 * node for it would cost 13 bytes more); (node, frame) names it, so equal
 * tracebacks - of several targets, of both generations, or several raw
 * tracebacks that symbolized alike - have equal names.  The index that finds a child
 * by (parent, frame) is only needed while tracebacks are added and is
 * freed before grouping.  Grouping sorts a permutation of the entries by
 * name, sums each run, and keeps the first `count` statistics in a heap
 * ordered as tracemalloc orders them (Statistic/StatisticDiff sort keys,
 * ties broken by the traceback, compared oldest frame first); only those
 * become traces of the set.  Nothing here knows snapshots or HTTP.
 *
 * The arrays that grow with the tracebacks (nodes, entries) are mapped
 * and grown with mremap: no copy and no second array while one grows
 * (realloc may copy: for a moment both, which is what the peak measures).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "grow.h"
#include "tbtrie.h"

/* Room for `need` elements of `elem` bytes in the mapping *v of *cap
 * elements (doubling, at least a page); 0 or -ENOMEM. */
static int
map_grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), c = *cap, old, nb;
	void *p;

	if (need <= *cap)
		return 0;
	if (!c)
		c = page / elem;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		c *= 2;
	}
	nb = (c * elem + page - 1) / page * page;
	old = (*cap * elem + page - 1) / page * page;
	p = *v ? mremap(*v, old, nb, MREMAP_MAYMOVE) :
		 mmap(NULL, nb, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*v = p;
	*cap = nb / elem;
	return 0;
}

static void
map_free(void *v, size_t cap, size_t elem)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (v)
		munmap(v, (cap * elem + page - 1) / page * page);
}

void
tbtrie_init(struct tbtrie *t)
{
	memset(t, 0, sizeof(*t));
}

void
tbtrie_free(struct tbtrie *t)
{
	map_free(t->nodes, t->cap_nodes, sizeof(*t->nodes));
	free(t->index);
	map_free(t->parent, t->cap_parent, sizeof(*t->parent));
	map_free(t->leaf, t->cap_leaf, sizeof(*t->leaf));
	map_free(t->size, t->cap_size, sizeof(*t->size));
	map_free(t->count, t->cap_count, sizeof(*t->count));
	map_free(t->count64, t->cap_count64, sizeof(*t->count64));
	free(t->ranges);
	memset(t, 0, sizeof(*t));
}

static uint32_t
hash_of(uint32_t parent, uint32_t frame)
{
	uint64_t h = ((uint64_t)parent << 32 | frame) *
		     UINT64_C(0x9e3779b97f4a7c15);

	return (uint32_t)(h >> 32);
}

/* The home slot of a hash in a table of `size` slots (any size). */
static size_t
home(uint32_t h, size_t size)
{
	return (size_t)(((uint64_t)h * size) >> 32);
}

/* The index grows by half when 4/5 full: slots are 4 bytes, so a node
 * costs 8 bytes plus 5 to 7.5 of index. */
static int
index_grow(struct tbtrie *t)
{
	size_t size = t->index_size ? t->index_size + t->index_size / 2 :
		      4096, i, j;
	uint32_t *ix;

	if (size > UINT32_MAX)
		return -ENOMEM;
	ix = calloc(size, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	for (i = 1; i < t->n_nodes; i++) {
		for (j = home(hash_of(t->nodes[i].parent, t->nodes[i].frame),
			      size); ix[j]; j = j + 1 == size ? 0 : j + 1)
			;
		ix[j] = (uint32_t)i;
	}
	free(t->index);
	t->index = ix;
	t->index_size = size;
	return 0;
}

/* The child of `parent` for `frame` (made when new), or -ENOMEM. */
static int64_t
child(struct tbtrie *t, uint32_t parent, uint32_t frame)
{
	size_t j;
	uint32_t v;

	if ((t->n_nodes + 1) * 5 > t->index_size * 4 && index_grow(t))
		return -ENOMEM;
	for (j = home(hash_of(parent, frame), t->index_size);
	     (v = t->index[j]); j = j + 1 == t->index_size ? 0 : j + 1)
		if (t->nodes[v].parent == parent && t->nodes[v].frame == frame)
			return v;
	if (t->n_nodes >= UINT32_MAX ||
	    map_grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes + 1,
		     sizeof(*t->nodes)))
		return -ENOMEM;
	v = (uint32_t)t->n_nodes++;
	t->nodes[v].parent = parent;
	t->nodes[v].frame = frame;
	t->index[j] = v;
	return v;
}

int
tbtrie_add(struct tbtrie *t, uint32_t target, enum st_gen gen,
	   const uint32_t *ids, uint32_t n, uint64_t size, uint64_t count)
{
	struct tbtrie_range *r;
	int64_t cur = 0;
	size_t k;

	if (n == 0 || (t->n_nodes && !t->index))
		return -EINVAL;
	if (t->n_nodes == 0) {             /* the root */
		if (map_grow((void **)&t->nodes, &t->cap_nodes, 1,
			     sizeof(*t->nodes)))
			return -ENOMEM;
		t->nodes[0].parent = 0;
		t->nodes[0].frame = 0;
		t->n_nodes = 1;
		if (index_grow(t))
			return -ENOMEM;
	}
	/* the outer frames are nodes, the most recent one is the entry's */
	for (k = n; k-- > 1;) {
		cur = child(t, (uint32_t)cur, ids[k]);
		if (cur < 0)
			return (int)cur;
	}
	if (map_grow((void **)&t->parent, &t->cap_parent, t->n_ent + 1,
		     sizeof(*t->parent)) ||
	    map_grow((void **)&t->leaf, &t->cap_leaf, t->n_ent + 1,
		     sizeof(*t->leaf)) ||
	    map_grow((void **)&t->size, &t->cap_size, t->n_ent + 1,
		     sizeof(*t->size)) ||
	    (!t->count64 && map_grow((void **)&t->count, &t->cap_count,
				     t->n_ent + 1, sizeof(*t->count))))
		return -ENOMEM;
	if (!t->count64 && count >= UINT32_MAX) {
		/* a count beyond 32 bits: every count in 64 from now on */
		if (map_grow((void **)&t->count64, &t->cap_count64,
			     t->n_ent + 1, sizeof(*t->count64)))
			return -ENOMEM;
		for (k = 0; k < t->n_ent; k++)
			t->count64[k] = t->count[k];
	}
	if (t->count64 && map_grow((void **)&t->count64, &t->cap_count64,
				   t->n_ent + 1, sizeof(*t->count64)))
		return -ENOMEM;
	r = t->n_ranges ? &t->ranges[t->n_ranges - 1] : NULL;
	if (!r || r->target != target || r->gen != (uint32_t)gen ||
	    r->first + r->n != t->n_ent) {
		if (grow_array((void **)&t->ranges, &t->cap_ranges,
			       t->n_ranges + 1, sizeof(*t->ranges)))
			return -ENOMEM;
		r = &t->ranges[t->n_ranges++];
		r->first = t->n_ent;
		r->n = 0;
		r->target = target;
		r->gen = (uint32_t)gen;
	}
	if (n > t->max_depth)
		t->max_depth = n;
	t->parent[t->n_ent] = (uint32_t)cur;
	t->leaf[t->n_ent] = ids[0];
	t->size[t->n_ent] = size;
	if (t->count64)
		t->count64[t->n_ent] = count;
	else
		t->count[t->n_ent] = (uint32_t)count;
	t->n_ent++;
	r->n++;
	return 0;
}

void
tbtrie_drop(struct tbtrie *t, uint32_t target)
{
	size_t i, k, o = 0, nr = 0;

	for (i = 0; i < t->n_ranges; i++) {
		struct tbtrie_range r = t->ranges[i];

		if (r.target == target)
			continue;
		for (k = 0; k < r.n; k++) {
			t->parent[o + k] = t->parent[r.first + k];
			t->leaf[o + k] = t->leaf[r.first + k];
			t->size[o + k] = t->size[r.first + k];
			if (t->count64)
				t->count64[o + k] = t->count64[r.first + k];
			else
				t->count[o + k] = t->count[r.first + k];
		}
		r.first = o;
		o += r.n;
		t->ranges[nr++] = r;
	}
	t->n_ent = o;
	t->n_ranges = nr;
}

/* ------------------------------------------------------------ grouping */

struct cand {
	uint32_t parent, leaf;     /* the traceback (see tbtrie.h) */
	size_t run, run_n;         /* its entries: perm[run .. run + run_n) */
	uint64_t size, count, old_size, old_count;
};

struct sel {
	const struct tbtrie *t;
	const struct st_set *set;
	int diff;
	uint32_t *pa, *pb;         /* paths, max_depth each */
	size_t max_depth;
};

/* The frames of the traceback (parent, leaf), most recent first, into p;
 * how many. */
static uint32_t
path_of(const struct tbtrie *t, uint32_t v, uint32_t leaf, uint32_t *p)
{
	uint32_t n = 0;

	p[n++] = leaf;
	for (; v; v = t->nodes[v].parent)
		p[n++] = t->nodes[v].frame;
	return n;
}

static uint64_t
count_of(const struct tbtrie *t, size_t e)
{
	return t->count64 ? t->count64[e] : t->count[e];
}

/* Traceback.__lt__ of the tracebacks of candidates a and b: tuples of
 * (filename, lineno), oldest frame first (stats.c cmp_tb). */
static int
cmp_path(struct sel *s, const struct cand *a, const struct cand *b)
{
	uint32_t na, nb, n, i, ia, ib;
	const struct st_frame *fa, *fb;
	int c;

	if (a->parent == b->parent && a->leaf == b->leaf)
		return 0;
	na = path_of(s->t, a->parent, a->leaf, s->pa);
	nb = path_of(s->t, b->parent, b->leaf, s->pb);
	n = na < nb ? na : nb;
	for (i = 0; i < n; i++) {
		ia = s->pa[na - 1 - i];
		ib = s->pb[nb - 1 - i];
		if (ia == ib)
			continue;
		fa = &s->set->frames[ia];
		fb = &s->set->frames[ib];
		if (fa->file_id != fb->file_id) {
			c = strcmp(fa->file, fb->file);
			if (c)
				return c < 0 ? -1 : 1;
		}
		if (fa->line != fb->line)
			return fa->line < fb->line ? -1 : 1;
	}
	return na < nb ? -1 : na > nb;
}

#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? 1 : -1; } while (0)

static uint64_t
absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* < 0 when a comes before b in st_group's order (stats.c cmp_stat,
 * cmp_diff). */
static int
cmp_cand(struct sel *s, const struct cand *a, const struct cand *b)
{
	if (s->diff) {
		CMP(absdiff(a->size, a->old_size),
		    absdiff(b->size, b->old_size));
		CMP(a->size, b->size);
		CMP(absdiff(a->count, a->old_count),
		    absdiff(b->count, b->old_count));
		CMP(a->count, b->count);
	} else {
		CMP(a->size, b->size);
		CMP(a->count, b->count);
	}
	return -cmp_path(s, a, b);
}

/* A heap whose root is the candidate that comes last. */
static void
sift_down(struct sel *s, struct cand *h, size_t n, size_t i)
{
	struct cand tmp;
	size_t l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < n && cmp_cand(s, &h[l], &h[m]) > 0)
			m = l;
		if (r < n && cmp_cand(s, &h[r], &h[m]) > 0)
			m = r;
		if (m == i)
			return;
		tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static void
sift_up(struct sel *s, struct cand *h, size_t i)
{
	struct cand tmp;
	size_t p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (cmp_cand(s, &h[i], &h[p]) <= 0)
			return;
		tmp = h[i];
		h[i] = h[p];
		h[p] = tmp;
		i = p;
	}
}

static uint64_t
key_of(const struct tbtrie *t, uint32_t e)
{
	return (uint64_t)t->parent[e] << 32 | t->leaf[e];
}

static int
cmp_ent(const void *pa, const void *pb, void *arg)
{
	const struct tbtrie *t = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint64_t ka = key_of(t, a), kb = key_of(t, b);

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The range of entry e (ranges are in entry order). */
static const struct tbtrie_range *
range_of(const struct tbtrie *t, size_t e)
{
	size_t lo = 0, hi = t->n_ranges, mid;

	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (t->ranges[mid].first <= e)
			lo = mid;
		else
			hi = mid;
	}
	return &t->ranges[lo];
}

/* The traces of candidate c into the set. */
static int
materialize(struct sel *s, const uint32_t *perm, const struct cand *c,
	    struct st_set *set)
{
	const struct tbtrie *t = s->t;
	const struct tbtrie_range *r;
	uint32_t n = path_of(t, c->parent, c->leaf, s->pa);
	size_t i, e;
	int err;

	for (i = 0; i < c->run_n; i++) {
		e = perm[c->run + i];
		r = range_of(t, e);
		err = st_trace_add(set, r->target, (enum st_gen)r->gen, s->pa,
				   n, n, t->size[e], count_of(t, e), NULL);
		if (err)
			return err;
	}
	return 0;
}

int
tbtrie_select(struct tbtrie *t, struct st_set *set, int diff,
	      const struct st_filter *f, size_t count)
{
	struct sel s = { .t = t, .set = set, .diff = diff };
	uint32_t *perm = NULL;
	uint8_t *verdict = NULL;
	struct cand *heap = NULL, c;
	size_t i, j, n_heap = 0, cap = 0;
	int err = -ENOMEM, has_new;

	free(t->index);
	t->index = NULL;
	t->index_size = 0;
	if (t->n_ent == 0)
		return 0;
	s.max_depth = t->max_depth;
	s.pa = malloc(s.max_depth * sizeof(*s.pa));
	s.pb = malloc(s.max_depth * sizeof(*s.pb));
	perm = malloc(t->n_ent * sizeof(*perm));
	if (count) {
		cap = count < t->n_ent ? count : t->n_ent;
		heap = malloc(cap * sizeof(*heap));
	}
	if (!s.pa || !s.pb || !perm || (count && !heap) ||
	    st_filter_eval(set, f, &verdict))
		goto out;
	for (i = 0; i < t->n_ent; i++)
		perm[i] = (uint32_t)i;
	qsort_r(perm, t->n_ent, sizeof(*perm), cmp_ent, t);
	err = 0;
	for (i = 0; i < t->n_ent && !err; i = j) {
		memset(&c, 0, sizeof(c));
		c.parent = t->parent[perm[i]];
		c.leaf = t->leaf[perm[i]];
		c.run = i;
		has_new = 0;
		for (j = i; j < t->n_ent && t->parent[perm[j]] == c.parent &&
		     t->leaf[perm[j]] == c.leaf; j++) {
			if (range_of(t, perm[j])->gen == ST_OLD) {
				c.old_size += t->size[perm[j]];
				c.old_count += count_of(t, perm[j]);
			} else {
				c.size += t->size[perm[j]];
				c.count += count_of(t, perm[j]);
				has_new = 1;
			}
		}
		c.run_n = j - i;
		if (!diff && !has_new)
			continue;
		if (verdict) {
			uint32_t n = path_of(t, c.parent, c.leaf, s.pa);

			if (!st_ids_kept(set, s.pa, n, f, verdict))
				continue;
		}
		if (!count) {
			err = materialize(&s, perm, &c, set);
		} else if (n_heap < cap) {
			heap[n_heap] = c;
			sift_up(&s, heap, n_heap++);
		} else if (cmp_cand(&s, &c, &heap[0]) < 0) {
			heap[0] = c;
			sift_down(&s, heap, n_heap, 0);
		}
	}
	for (i = 0; i < n_heap && !err; i++)
		err = materialize(&s, perm, &heap[i], set);
out:
	free(verdict);
	free(heap);
	free(perm);
	free(s.pa);
	free(s.pb);
	return err;
}
