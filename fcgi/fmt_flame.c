/* SPDX-License-Identifier: MIT */
/*
 * fmt_flame.c - folded stacks and the flame-graph page of a trace set.
 *
 * Both read the set's ST_NEW traces that pass the filter, oldest frame
 * first (the set keeps them most recent first).  Several targets are
 * merged, as the JSON statistics are: the same stack in two workers is one
 * stack.  The page is fcgi/flame.html, compiled in as a string
 * (flame_html.c); the call tree goes where its data marker is, as JSON in
 * a <script type="application/json"> element, with '<' escaped so that no
 * string can close the element.  Nothing here knows HTTP or FastCGI.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "grow.h"
#include "fmt_flame.h"
#include "keymap.h"

#define DATA_MARKER "/*HAWK-DATA*/"

/* A frame's name in a stack: its function, else its file. */
static const char *
frame_name(const struct st_frame *f)
{
	return f->function[0] ? f->function : f->file;
}

/* ------------------------------------------------------------ the page */

/* A node is a function (name and file) under its parent; its line is the
 * frames' line when they all agree, else 0 (shown as the file alone). */
struct node {
	uint32_t parent, name, file, line;
	uint64_t bytes, blocks;
};

#define LINE_MIXED UINT32_MAX

struct str {
	const char *s;
	uint32_t idx;
	UT_hash_handle hh;
};

struct tree {
	struct node *v;
	size_t n, cap;
	struct keymap children;    /* (parent, name << 32 | file) -> node */
	uint64_t *frame_key;       /* per set frame id: name << 32 | file,
				      UINT64_MAX until first seen */
	struct str *strs;
	const char **str_v;
	size_t n_str, cap_str;
};

static int64_t str_idx(struct tree *tr, const char *s);

/* The child of `parent` for frame `id` of set (made when new); -1 on
 * ENOMEM. */
static int64_t
child(struct tree *tr, const struct st_set *set, uint32_t parent,
      uint32_t id)
{
	const struct st_frame *f = &set->frames[id];
	uint64_t key = tr->frame_key[id], node;
	int64_t name, file;

	if (key == UINT64_MAX) {
		name = str_idx(tr, frame_name(f));
		file = str_idx(tr, f->file);
		if (name < 0 || file < 0)
			return -1;
		key = tr->frame_key[id] = (uint64_t)name << 32 |
					  (uint64_t)file;
	}
	if (keymap_get(&tr->children, parent, key, &node)) {
		if (tr->v[node].line != f->line)
			tr->v[node].line = LINE_MIXED;
		return (int64_t)node;
	}
	if (grow_array((void **)&tr->v, &tr->cap, tr->n + 1, sizeof(*tr->v)) ||
	    keymap_put(&tr->children, parent, key, tr->n))
		return -1;
	memset(&tr->v[tr->n], 0, sizeof(tr->v[tr->n]));
	tr->v[tr->n].parent = parent;
	tr->v[tr->n].name = (uint32_t)(key >> 32);
	tr->v[tr->n].file = (uint32_t)key;
	tr->v[tr->n].line = f->line;
	return (int64_t)tr->n++;
}

static int64_t
str_idx(struct tree *tr, const char *s)
{
	struct str *e;
	size_t l = strlen(s);

	HASH_FIND(hh, tr->strs, s, l, e);
	if (e)
		return e->idx;
	if (grow_array((void **)&tr->str_v, &tr->cap_str, tr->n_str + 1,
		 sizeof(*tr->str_v)) || !(e = calloc(1, sizeof(*e))))
		return -1;
	e->s = s;
	e->idx = (uint32_t)tr->n_str;
	tr->str_v[tr->n_str++] = s;
	HASH_ADD_KEYPTR(hh, tr->strs, e->s, l, e);
	return e->idx;
}

/* s as a JSON string; '<' escaped (we are inside a <script> element). */
static void
json_str(struct sink *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;

	sink_write(out, "\"", 1);
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != '<' &&
		    *p != '>' && *p != '&') {
			run++;
			continue;
		}
		sink_write(out, (const char *)p - run, run);
		run = 0;
		if (*p == '"' || *p == '\\')
			sink_printf(out, "\\%c", *p);
		else
			sink_printf(out, "\\u%04x", *p);
	}
	sink_write(out, (const char *)p - run, run);
	sink_write(out, "\"", 1);
}

static void
tree_free(struct tree *tr)
{
	struct str *s, *st;

	keymap_free(&tr->children);
	free(tr->frame_key);
	HASH_ITER(hh, tr->strs, s, st) {
		HASH_DEL(tr->strs, s);
		free(s);
	}
	free(tr->v);
	free(tr->str_v);
}

static int
build(struct tree *tr, const struct st_set *set, const struct st_filter *f)
{
	const struct st_trace *t;
	const uint32_t *ids;
	uint8_t *verdict = NULL;
	int64_t cur;
	size_t i;
	uint32_t k;
	int err = st_filter_eval(set, f, &verdict);

	if (!err && grow_array((void **)&tr->v, &tr->cap, 1, sizeof(*tr->v)))
		err = -ENOMEM;
	if (!err && !(tr->frame_key = malloc((set->n_frames + 1) *
					     sizeof(*tr->frame_key))))
		err = -ENOMEM;
	if (!err)
		memset(tr->frame_key, 0xff, (set->n_frames + 1) *
		       sizeof(*tr->frame_key));
	if (!err) {
		memset(&tr->v[0], 0, sizeof(tr->v[0]));   /* the root */
		tr->n = 1;
	}
	for (i = 0; i < set->n_traces && !err; i++) {
		t = &set->traces[i];
		if (t->gen != ST_NEW || !st_trace_kept(set, t, f, verdict))
			continue;
		ids = set->ids + t->ids_off;
		tr->v[0].bytes += t->size;
		tr->v[0].blocks += t->count;
		cur = 0;
		for (k = t->nframes; k-- > 0;) {
			cur = child(tr, set, (uint32_t)cur, ids[k]);
			if (cur < 0) {
				err = -ENOMEM;
				break;
			}
			tr->v[cur].bytes += t->size;
			tr->v[cur].blocks += t->count;
		}
	}
	free(verdict);
	return err;
}

int
fmt_flamegraph(const struct fmt_flame *fl, struct sink *out)
{
	const char *mark = strstr(fmt_flame_html, DATA_MARKER);
	struct tree tr;
	const struct node *nd;
	char sub[128];
	size_t i;
	int err;

	if (!mark)
		return -EINVAL;
	memset(&tr, 0, sizeof(tr));
	/* string 0 is "": the root's name and file */
	err = str_idx(&tr, "") == 0 ? 0 : -ENOMEM;
	if (!err)
		err = build(&tr, fl->set, fl->filter);
	if (err) {
		tree_free(&tr);
		return err;
	}
	sink_write(out, fmt_flame_html, (size_t)(mark - fmt_flame_html));
	sink_puts(out, "{\"title\":");
	json_str(out, "hawk: traced heap memory");
	snprintf(sub, sizeof(sub), "%s, %zu process%s", fl->title,
		 fl->set->n_pids, fl->set->n_pids == 1 ? "" : "es (merged)");
	sink_puts(out, ",\"subtitle\":");
	json_str(out, sub);
	sink_puts(out, ",\"strings\":[");
	for (i = 0; i < tr.n_str; i++) {
		if (i)
			sink_write(out, ",", 1);
		json_str(out, tr.str_v[i]);
	}
	sink_puts(out, "],\n\"nodes\":[");
	for (i = 0; i < tr.n; i++) {
		nd = &tr.v[i];
		sink_printf(out, "%s[%u,%u,%u,%u,%llu,%llu]", i ? ",\n" : "",
			    nd->parent, nd->name, nd->file,
			    nd->line == LINE_MIXED ? 0 : nd->line,
			    (unsigned long long)nd->bytes,
			    (unsigned long long)nd->blocks);
	}
	sink_puts(out, "]}");
	sink_puts(out, mark + strlen(DATA_MARKER));
	tree_free(&tr);
	return 0;
}

/* ------------------------------------------------------- folded stacks */

/* A distinct stack: the name indices of its frames, oldest first. */
struct fold {
	uint32_t *key;
	size_t n;
	uint64_t bytes;
	UT_hash_handle hh;
};

/* Append name to *buf at *len, ';' and line breaks replaced by '_'. */
static int
append(char **buf, size_t *len, size_t *cap, const char *name, int sep)
{
	size_t n = strlen(name), i;
	char *p;

	if (*len + n + 2 > *cap) {
		size_t c = *cap ? *cap : 256;

		while (c < *len + n + 2)
			c *= 2;
		p = realloc(*buf, c);
		if (!p)
			return -ENOMEM;
		*buf = p;
		*cap = c;
	}
	if (sep)
		(*buf)[(*len)++] = ';';
	for (i = 0; i < n; i++)
		(*buf)[(*len)++] = name[i] == ';' || name[i] == '\n' ||
				   name[i] == '\r' ? '_' : name[i];
	(*buf)[*len] = '\0';
	return 0;
}

int
fmt_collapsed(const struct st_set *set, const struct st_filter *f,
	      struct sink *out)
{
	struct fold *folds = NULL, *e, *tmp;
	const struct st_trace *t;
	const uint32_t *ids;
	struct tree names;         /* only its string table */
	uint32_t *name_of = NULL, *key = NULL;
	uint8_t *verdict = NULL;
	char *buf = NULL;
	size_t len, cap = 0, i, cap_key = 0, n;
	int64_t x;
	uint32_t k;
	int err = st_filter_eval(set, f, &verdict);

	memset(&names, 0, sizeof(names));
	if (!err && !(name_of = malloc((set->n_frames + 1) *
				       sizeof(*name_of))))
		err = -ENOMEM;
	if (!err)
		memset(name_of, 0xff, (set->n_frames + 1) * sizeof(*name_of));
	/* aggregate by the frames' name indices (short keys, no strings) */
	for (i = 0; i < set->n_traces && !err; i++) {
		t = &set->traces[i];
		if (t->gen != ST_NEW || !st_trace_kept(set, t, f, verdict))
			continue;
		ids = set->ids + t->ids_off;
		if (grow_array((void **)&key, &cap_key, t->nframes, sizeof(*key))) {
			err = -ENOMEM;
			break;
		}
		for (n = 0, k = t->nframes; k-- > 0; n++) {
			if (name_of[ids[k]] == UINT32_MAX) {
				x = str_idx(&names,
					    frame_name(&set->frames[ids[k]]));
				if (x < 0) {
					err = -ENOMEM;
					break;
				}
				name_of[ids[k]] = (uint32_t)x;
			}
			key[n] = name_of[ids[k]];
		}
		if (err)
			break;
		HASH_FIND(hh, folds, key, n * sizeof(*key), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e || !(e->key = malloc(n * sizeof(*key)))) {
				free(e);
				err = -ENOMEM;
				break;
			}
			memcpy(e->key, key, n * sizeof(*key));
			e->n = n;
			HASH_ADD_KEYPTR(hh, folds, e->key, n * sizeof(*key), e);
		}
		e->bytes += t->size;
	}
	/* in the order the stacks first appear (the tools sort as they
	 * need) */
	for (e = folds; e && !err; e = e->hh.next) {
		len = 0;
		for (n = 0; n < e->n && !err; n++)
			err = append(&buf, &len, &cap, names.str_v[e->key[n]],
				     n != 0);
		if (!err)
			sink_printf(out, "%s %llu\n", buf,
				    (unsigned long long)e->bytes);
	}
	HASH_ITER(hh, folds, e, tmp) {
		HASH_DEL(folds, e);
		free(e->key);
		free(e);
	}
	tree_free(&names);
	free(name_of);
	free(key);
	free(buf);
	free(verdict);
	return err;
}
