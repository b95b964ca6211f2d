/* SPDX-License-Identifier: MIT */
/*
 * target.c - select targets, run commands, symbolize snapshots.
 *
 * Only segments whose owner the configuration allows are listed, opened or
 * commanded; the owner is checked again on the opened segment (a file
 * replaced between listing and opening is refused) and the snapshot file
 * must have the same owner (snap_load checks it).  Symbolization resolves
 * each distinct return address of a snapshot once per request (a private
 * address -> frames table), on top of the symbolizer's own cache that lives
 * as long as the process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

struct select_arg {
	const struct config *c;
	int32_t pid;
	const char *name;
	int live_only;
	struct target_list *out;
	int err;
	int dirfd;                 /* c->dir, for select_unreadable */
};

static int
select_one(const struct seg_info *info, void *arg)
{
	struct select_arg *a = arg;
	struct target_list *l = a->out;
	size_t cap;
	void *p;

	if ((a->pid && info->pid != a->pid) ||
	    (a->name[0] && strcmp(info->name, a->name) != 0) ||
	    (a->live_only && !info->alive))
		return 0;
	if (!config_uid_allowed(a->c, info->uid)) {
		if (!l->n_refused++) {
			l->refused_pid = info->pid;
			l->refused_uid = info->uid;
		}
		return 0;
	}
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		p = realloc(l->v, cap * sizeof(*l->v));
		if (!p) {
			a->err = -ENOMEM;
			return 1;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *info;
	return 0;
}

/* A segment the responder could not read (typically 0600, another
 * uid's): for pid= of that very file, note its owner when allow_uids does
 * not admit it, so that the answer is 403 rather than 404. */
static void
select_unreadable(const char *file, const char *reason, void *arg)
{
	struct select_arg *a = arg;
	struct target_list *l = a->out;
	char want[32];
	struct stat st;

	(void)reason;
	if (!a->pid)
		return;
	snprintf(want, sizeof(want), "%d.seg", (int)a->pid);
	if (strcmp(file, want) != 0 || fstatat(a->dirfd, file, &st,
					       AT_SYMLINK_NOFOLLOW) != 0 ||
	    config_uid_allowed(a->c, st.st_uid))
		return;
	if (!l->n_refused++) {
		l->refused_pid = a->pid;
		l->refused_uid = st.st_uid;
	}
}

int
target_select(const struct config *c, int32_t pid, const char *name,
	      int live_only, struct target_list *out)
{
	struct select_arg a = { c, pid, name ? name : "", live_only, out, 0,
				-1 };
	int rc;

	memset(out, 0, sizeof(*out));
	a.dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = seg_list(c->dir, select_one, select_unreadable, &a);
	if (a.dirfd >= 0)
		close(a.dirfd);
	if (a.err)
		return a.err;
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 0;
}

void
target_list_free(struct target_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* target_cmd, the snapshot read whole (snap) or streamed (ss). */
static int
cmd_any(const struct config *c, const struct seg_info *t,
	enum seg_cmd_op op, uint32_t frames, uint32_t flags,
	struct snap *snap, struct snap_stream *ss, char *err, size_t errlen)
{
	struct seg_client cl;
	uint32_t seq = 0;
	int rc;

	rc = seg_client_open(&cl, c->dir, t->pid, err, errlen);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	if (!config_uid_allowed(c, cl.info.uid) || cl.info.uid != t->uid) {
		snprintf(err, errlen, "target %d: segment owner changed",
			 (int)t->pid);
		seg_client_close(&cl);
		return -EACCES;
	}
	rc = cmd_run(&cl, op, frames, flags, (int)c->timeout_ms, &seq, err,
		     errlen);
	if (rc == -ETIMEDOUT || rc == -EINPROGRESS || rc == -EBUSY)
		snprintf(err, errlen, "target %d did not answer within %u ms",
			 (int)t->pid, c->timeout_ms);
	else if (rc == -ESRCH)
		snprintf(err, errlen, "target %d exited", (int)t->pid);
	else if (rc == -EALREADY)
		snprintf(err, errlen, "memory profiling already started in "
			 "target %d", (int)t->pid);
	else if (rc == -ENOTCONN)
		snprintf(err, errlen, "memory profiling not started in "
			 "target %d", (int)t->pid);
	if (rc == 0 && op == CMD_SNAPSHOT && snap)
		rc = snap_load(snap, c->dir, t->pid, seq, cl.info.uid, err,
			       errlen);
	if (rc == -ESRCH && op == CMD_SNAPSHOT) {
		/* died while writing it: leave nothing behind (its segment
		 * and partial snapshot; best effort, dead targets only) */
		char e2[256];

		seg_remove_dead(c->dir, t->pid, e2, sizeof(e2));
	}
	if (rc == 0 && op == CMD_SNAPSHOT && !snap && ss)
		rc = snap_stream_open(ss, c->dir, t->pid, seq, cl.info.uid,
				      err, errlen);
	seg_client_close(&cl);
	return rc;
}

int
target_cmd(const struct config *c, const struct seg_info *t,
	   enum seg_cmd_op op, uint32_t frames, uint32_t flags,
	   struct snap *snap, char *err, size_t errlen)
{
	return cmd_any(c, t, op, frames, flags, snap, NULL, err, errlen);
}

int
target_snapshot_stream(const struct config *c, const struct seg_info *t,
		       struct snap_stream *ss, char *err, size_t errlen)
{
	return cmd_any(c, t, CMD_SNAPSHOT, 0, 0, NULL, ss, err, errlen);
}

int
target_refresh(const struct config *c, struct seg_info *t)
{
	struct seg_client cl;
	struct seg_info fresh;
	char err[256];
	unsigned ms = c->timeout_ms < TARGET_REFRESH_MS ? c->timeout_ms :
		      TARGET_REFRESH_MS;
	int dirfd, rc;

	rc = seg_client_open(&cl, c->dir, t->pid, err, sizeof(err));
	if (rc)
		return rc;
	rc = cl.info.uid == t->uid ?
	     cmd_run(&cl, CMD_STATUS, 0, 0, (int)ms, NULL, err, sizeof(err)) :
	     -EACCES;
	seg_client_close(&cl);
	if (rc)
		return rc;
	dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = seg_info_read(dirfd, t->file, &fresh, err, sizeof(err));
	close(dirfd);
	if (rc == 0 && fresh.uid == t->uid)
		*t = fresh;
	return rc;
}

/* ---------------------------------------------------------- string pool */

struct target_chunk {
	struct target_chunk *next;
	char s[];
};

void
target_pool_free(struct target_pool *p)
{
	struct target_chunk *c, *n;

	for (c = p->head; c; c = n) {
		n = c->next;
		free(c);
	}
	p->head = NULL;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid (RFC 3629). */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[0] == 0xe0 && s[1] < 0xa0) ||
		    (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
		    (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* s itself when valid UTF-8, else a repaired copy in the pool (NULL when
 * out of memory). */
static const char *
utf8_text(struct target_pool *p, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	struct target_chunk *c;
	size_t i, k, bad = 0, n = strlen(s), o = 0;

	for (i = 0; i < n; i += k ? k : 1) {
		k = utf8_len(u + i);
		if (!k)
			bad++;
	}
	if (!bad)
		return s;
	c = malloc(sizeof(*c) + n + 2 * bad + 1);
	if (!c)
		return NULL;
	for (i = 0; i < n; i += k ? k : 1) {
		k = utf8_len(u + i);
		if (k) {
			memcpy(c->s + o, s + i, k);
			o += k;
		} else {
			memcpy(c->s + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	c->s[o] = '\0';
	c->next = p->head;
	p->head = c;
	return c->s;
}

/* ------------------------------------------------------- symbolization */

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
	uint64_t addr, struct st_set *set, struct target_pool *pool)
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
		file = utf8_text(pool, fr[i].file ? fr[i].file : "<unknown>");
		fn = utf8_text(pool, fr[i].function ? fr[i].function : "");
		mod = utf8_text(pool, fr[i].module ? fr[i].module : "");
		bid = utf8_text(pool, fr[i].build_id ? fr[i].build_id : "");
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
target_symbolize(struct symbolizer *sym, const struct snap *snap,
		 enum st_gen gen, struct st_set *set,
		 struct target_pool *pool)
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
		err = st_trace_add(set, (uint32_t)target, gen, tmp, len,
				   t->total_nframe + extra, t->size, t->count,
				   snap->sizes + t->block_first);
	}
	free(tmp);
	free(r.tab);
	free(r.ids);
	return err;
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
target_symbolize_stream(struct symbolizer *sym, struct snap_stream *ss,
			enum st_gen gen, enum target_agg mode,
			struct st_set *set, struct target_pool *pool,
			int (*flush)(void *, struct st_set *), void *arg,
			char *errmsg, size_t errlen)
{
	const struct snap_header *h = &ss->h;
	uint32_t limit = h->frames ? h->frames : SEG_FRAMES_MAX;
	struct res r = { 0 };
	struct agg a = { 0 };
	uint32_t *tmp, len, k, extra;
	uint64_t *sizes = NULL;
	size_t n_sizes = 0;
	const struct addr_ent *e;
	const uint64_t *frames;
	struct snap_trace t;
	int target, err = 0, rc;

	snap_stream_rewind(ss);
	target = st_target(set, h->pid);
	tmp = malloc(limit * sizeof(*tmp));
	if (mode == TARGET_AGG_PICKLE)
		sizes = malloc(PICKLE_SIZES * sizeof(*sizes));
	if (target < 0 || !tmp || (mode == TARGET_AGG_PICKLE && !sizes)) {
		free(tmp);
		free(sizes);
		snprintf(errmsg, errlen, "symbolizing: out of memory");
		return -ENOMEM;
	}
	while (!err && (rc = snap_stream_next(ss, &t, &frames, errmsg,
					      errlen)) == 1) {
		len = 0;
		extra = 0;
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
			}
			/* lineno needs the most recent frame only */
			if (mode == TARGET_AGG_FRAME0)
				break;
		}
		if (err)
			break;
		switch (mode) {
		case TARGET_AGG_FRAME0:
			err = agg_add(&a, set, (uint32_t)target, gen, tmp[0],
				      t.size, t.count);
			break;
		case TARGET_AGG_EACH_FRAME:
			for (k = 0; k < len && !err; k++)
				err = agg_add(&a, set, (uint32_t)target, gen,
					      tmp[k], t.size, t.count);
			break;
		case TARGET_AGG_FULL:
			err = st_trace_add(set, (uint32_t)target, gen, tmp,
					   len, t.total_nframe + extra,
					   t.size, t.count, NULL);
			break;
		case TARGET_AGG_PICKLE:
			/* the blocks in parts of at most PICKLE_SIZES, each
			 * a trace of its own (the pickle has one entry per
			 * block either way), flushed when the chunk fills */
			for (;;) {
				long got;
				uint64_t sum = 0;
				size_t i;

				if (n_sizes == PICKLE_SIZES ||
				    set->n_traces >= 65536) {
					err = flush(arg, set);
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
	if (!err && mode == TARGET_AGG_PICKLE) {
		err = flush(arg, set);
		st_set_drop_traces(set);
	}
	free(sizes);
	free(tmp);
	free(r.tab);
	free(r.ids);
	free(a.key);
	free(a.trace);
	return err;
}
