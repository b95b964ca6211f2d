/* SPDX-License-Identifier: MIT */
/*
 * symbols.c - the libdw symbolizer: return addresses of a target process
 * become (file, line, function, module) frames, inlined calls included;
 * and source lines become their stripped text.  API in symbols.h.
 *
 * Caches, from the request side down (all protected by one mutex, because
 * libdw lookups on one Dwfl are not thread-safe; the cold path lets it go
 * while it opens and parses a target's files, with the target's rights,
 * sym_cred.c, and commits what it made under it):
 *  - memos: the last few snapshots seen, each with the rights of its
 *    process and an array that maps its module index to an instance, so
 *    the hot path neither hashes a path nor calls stat();
 *  - instances: one per (rights, pid, start time, range, bias, build-id,
 *    path) of a loaded module, naming the file entry that serves it, or
 *    none (file unreadable) or "stale" (the file on disk has another
 *    build-id: it was rebuilt, so no line of it is served);
 *  - files: one Dwfl per (rights, module file identity: build-id, else
 *    device, inode, mtime and size of what was opened), reported at bias 0
 *    so that its addresses are ELF virtual addresses; with, per CU, its
 *    functions sorted by address (a lookup then walks one function's DIEs,
 *    not the CU's).  Keyed by the rights that opened it: a build-id a
 *    snapshot claims never serves a file its owner could not open;
 *  - results: an open-addressing table (file id, ELF address) -> frames.
 *    A frame without a line is stored with file NULL and gets its file,
 *    "MODULE(SYMBOL+0xOFF)" of the instance's path, when copied out, so
 *    processes that see one file under two paths share results;
 *  - strings: every string handed out is interned here and lives until
 *    sym_free(), so the other caches can be flushed when they reach their
 *    bounds without invalidating frames callers still hold.
 *  - sources (sym_source.c): per source path, the file's lines, keyed by
 *    device, inode, mtime and size so that an edit is noticed; a frame's
 *    source path is interned per rights, so that its line is read with the
 *    rights of the target whose DWARF named it.
 *
 * Never invents a line: line numbers come only from the DWARF line table
 * (innermost frame) and DW_AT_call_line (outer inline frames).  Debuginfod
 * is never consulted (it may block a request for minutes).  A frame
 * without a line keeps its own identity, module and offset (symbols.h):
 *   no DWARF line for the address   "MODULE(symbol+0xOFF)", 0,
 *                                   "symbol+0xOFF" (OFF of the return
 *                                   address), or "MODULE(+0xREL)", 0, ""
 *                                   when no symbol covers it
 *   file has another build-id,      "MODULE(+0xREL)", 0, ""  (nothing of
 *   or cannot be read                another file is served)
 *   no module                       "<unknown>", 0, "", ""
 * A module deleted or replaced since the target loaded it is read through
 * /proc/<pid>/map_files when that can be opened.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_int.h"

__thread bool sym_hash_oom;

/* ------------------------------------------------------------ strings */

/* Intern s[0..len); NULL only when out of memory.  Caller holds lock. */
const char *
sym_intern_n(struct symbolizer *s, const char *str, size_t len)
{
	struct sym_str *e;

	HASH_FIND(hh, s->strings, str, len, e);
	if (e)
		return e->s;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->s, str, len);
	e->s[len] = '\0';
	sym_hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->strings, e->s, len, e);
	if (sym_hash_oom) {
		free(e);
		return NULL;
	}
	return e->s;
}

const char *
sym_intern(struct symbolizer *s, const char *str)
{
	return sym_intern_n(s, str, strlen(str));
}

/* ------------------------------------------------------------- caches */

static void
results_clear(struct symbolizer *s)
{
	free(s->res);
	free(s->pool);
	s->res = NULL;
	s->pool = NULL;
	s->res_cap = s->res_n = s->pool_n = s->pool_cap = 0;
}

static void
memos_clear(struct symbolizer *s)
{
	for (unsigned i = 0; i < SYM_MEMOS; i++) {
		free(s->memos[i].inst);
		memset(&s->memos[i], 0, sizeof(s->memos[i]));
	}
}

static void
insts_clear(struct symbolizer *s)
{
	struct sym_inst *e, *tmp;

	memos_clear(s);
	HASH_ITER(hh, s->insts, e, tmp) {
		HASH_DEL(s->insts, e);
		free(e->key);
		free(e);
	}
	s->ninsts = 0;
}

static void
files_clear(struct symbolizer *s)
{
	struct sym_file *f, *tmp;

	insts_clear(s);
	results_clear(s);
	HASH_ITER(hh, s->files, f, tmp) {
		HASH_DEL(s->files, f);
		sym_file_destroy(f);
	}
	s->nfiles = 0;
	s->copied = 0;
}


struct symbolizer *
sym_new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto err_free;
	s->next_file_id = 1;
	s->s_unknown = sym_intern(s, "<unknown>");
	s->s_empty = sym_intern(s, "");
	if (!s->s_unknown || !s->s_empty)
		goto err_strings;
	return s;

err_strings:
	sym_free(s);
	return NULL;
err_free:
	free(s);
	return NULL;
}

void
sym_free(struct symbolizer *s)
{
	struct sym_str *e, *tmp;
	struct sym_credent *c, *ctmp;

	if (!s)
		return;
	files_clear(s);
	sym_source_clear(s, true);
	HASH_ITER(hh, s->creds, c, ctmp) {
		HASH_DEL(s->creds, c);
		free(c);
	}
	HASH_ITER(hh, s->strings, e, tmp) {
		HASH_DEL(s->strings, e);
		free(e);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The interned copy of c (lives until sym_free); NULL when out of
 * memory.  Lock held. */
static const struct sym_cred *
cred_intern(struct symbolizer *s, const struct sym_cred *c)
{
	struct sym_credent *e;

	HASH_FIND_STR(s->creds, c->key, e);
	if (e)
		return &e->c;
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	e->c = *c;
	sym_hash_oom = false;
	HASH_ADD_STR(s->creds, c.key, e);
	if (sym_hash_oom) {
		free(e);
		return NULL;
	}
	return &e->c;
}

/* ------------------------------------------------------- the cold path */

/*
 * What the cold path found for one module of a snapshot, made with the
 * target's rights and without the lock, then committed under the lock.
 */
struct pending {
	char key[sizeof(((struct sym_cred *)0)->key) + 2 * SNAP_BUILD_ID_MAX +
		 80];              /* of the file entry */
	struct sym_file *file;     /* new, not in the cache yet */
	bool cached;               /* else: an entry of `key` serves it */
	enum sym_inst_state state;
};

static void
key_build_id(char *key, size_t len, const struct sym_cred *c,
	     const uint8_t *id, uint32_t idlen)
{
	int o = snprintf(key, len, "%s|b:", c->key);

	sym_hex(key + o, id, idlen);
}

/* Open a debug file by build-id: the target runs a file whose path now
 * holds another.  Lock not held, target's rights taken. */
static struct sym_file *
debug_by_build_id(const char *key, const uint8_t *id, uint32_t idlen)
{
	char path[64 + 2 * SNAP_BUILD_ID_MAX];
	struct sym_file *f;
	struct stat st;
	int o, fd;

	o = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/",
		     id[0]);
	sym_hex(path + o, id + 1, idlen - 1);
	strcat(path, ".debug");
	fd = sym_open_untrusted(path, &st);
	if (fd < 0)
		return NULL;
	f = sym_file_report(key, path, fd, &st);
	if (f && !sym_build_id_is(f->mod, id, idlen)) {
		sym_file_destroy(f);
		return NULL;
	}
	return f;
}

/*
 * Find what serves module m (path `path`) of process pid, opening files
 * with the rights `cred`.  Called WITHOUT the lock: every path here is
 * the target's.  Sets p->state, and p->file (new) or p->cached.
 */
static void
pending_open(struct symbolizer *s, const struct sym_cred *cred, int32_t pid,
	     const struct snap_module *m, const char *path, struct pending *p)
{
	uint32_t idlen = m->build_id_len <= SNAP_BUILD_ID_MAX ?
			 m->build_id_len : 0;
	struct sym_cred_saved saved;
	char used[4096 + 64];
	struct sym_file *f = NULL;
	struct stat st;
	int fd, mfd;

	p->state = INST_UNREADABLE;
	if (sym_cred_enter(cred, &saved) != 0)
		return;
	if (idlen)
		key_build_id(p->key, sizeof(p->key), cred, m->build_id, idlen);
	fd = sym_open_module(pid, path, used, sizeof(used), &st);
	if (fd >= 0 && idlen) {
		f = sym_file_report(p->key, used, fd, &st);
		fd = -1;
		if (f && !sym_build_id_is(f->mod, m->build_id, idlen)) {
			sym_file_destroy(f);
			f = NULL;
			p->state = INST_STALE;
		}
	}
	if (!f) {
		/* deleted or replaced since the target loaded it: the file
		 * it maps, if its owner may read it there */
		mfd = sym_open_mapped(pid, m->lo, m->hi, used, sizeof(used),
				      &st);
		if (mfd >= 0) {
			if (fd >= 0)
				close(fd);
			fd = mfd;
		}
	}
	if (!f && fd >= 0 && !idlen) {
		snprintf(p->key, sizeof(p->key), "%s|f:%ju:%ju:%jd.%09ld:%jd",
			 cred->key, (uintmax_t)st.st_dev,
			 (uintmax_t)st.st_ino, (intmax_t)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (intmax_t)st.st_size);
		pthread_mutex_lock(&s->lock);
		HASH_FIND_STR(s->files, p->key, f);
		pthread_mutex_unlock(&s->lock);
		if (f) {
			close(fd);
			p->cached = true;
			p->state = INST_OK;
			goto out;
		}
	}
	if (!f && fd >= 0) {
		f = sym_file_report(p->key, used, fd, &st);
		if (f && idlen && !sym_build_id_is(f->mod, m->build_id,
						   idlen)) {
			sym_file_destroy(f);
			f = NULL;
			p->state = INST_STALE;
		}
	}
	if (!f && idlen) {
		/* rebuilt since the target loaded it: the debug file of the
		 * build-id the target runs, else serve nothing stale */
		p->state = INST_STALE;
		f = debug_by_build_id(p->key, m->build_id, idlen);
	}
	if (f) {
		f->cred = cred;
		p->file = f;
		p->state = INST_OK;
	}
out:
	sym_cred_leave(&saved);
}

static int
file_add(struct symbolizer *s, struct sym_file *f)
{
	sym_hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->files, f->key, strlen(f->key), f);
	if (sym_hash_oom)
		return -ENOMEM;
	f->id = s->next_file_id++;
	s->nfiles++;
	s->copied += f->copied;
	return 0;
}

/* The file entry of a pending lookup, added to the cache if new (which
 * may flush every cache but strings).  Lock held. */
static struct sym_file *
pending_commit(struct symbolizer *s, struct pending *p)
{
	struct sym_file *f = NULL;

	if (p->state != INST_OK)
		return NULL;
	HASH_FIND_STR(s->files, p->key, f);
	if (f || !p->file) {
		/* another thread was quicker, or ours is the cached one
		 * (gone if flushed meanwhile: unreadable this time) */
		if (p->file)
			sym_file_destroy(p->file);
		p->file = NULL;
		if (!f)
			p->state = INST_UNREADABLE;
		return f;
	}
	if (s->nfiles >= SYM_FILES_MAX ||
	    s->copied + p->file->copied > SYM_COPY_BYTES)
		files_clear(s);
	f = p->file;
	p->file = NULL;
	if (file_add(s, f) < 0) {
		sym_file_destroy(f);
		p->state = INST_UNREADABLE;
		return NULL;
	}
	return f;
}

/* The key of the instance for module index i, or NULL (out of memory). */
static char *
inst_key(const struct snap *snap, uint64_t i, const struct sym_cred *cred)
{
	const struct snap_module *m = &snap->modules[i];
	uint32_t idlen = m->build_id_len <= SNAP_BUILD_ID_MAX ?
			 m->build_id_len : 0;
	char id[2 * SNAP_BUILD_ID_MAX + 1], *key;

	sym_hex(id, m->build_id, idlen);
	if (asprintf(&key, "%s|%" PRId32 ":%" PRIu64 ":%" PRIx64 ":%" PRIx64
		     ":%" PRIx64 ":%s:%s", cred->key, snap->h->pid,
		     snap->h->start_time, m->lo, m->hi, m->bias, id,
		     snap_module_path(snap, i)) < 0)
		return NULL;
	return key;
}

/* Make the instance `key` (consumed) for module i, served by f in state
 * `state`.  Lock held. */
static struct sym_inst *
inst_add(struct symbolizer *s, const struct snap *snap, uint64_t i,
	 char *key, struct sym_file *f, enum sym_inst_state state)
{
	const struct snap_module *m = &snap->modules[i];
	uint32_t idlen = m->build_id_len <= SNAP_BUILD_ID_MAX ?
			 m->build_id_len : 0;
	char id[2 * SNAP_BUILD_ID_MAX + 1];
	struct sym_inst *e;

	if (s->ninsts >= SYM_INSTANCES_MAX)
		insts_clear(s);
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_key;
	sym_hex(id, m->build_id, idlen);
	e->key = key;
	e->lo = m->lo;
	e->hi = m->hi;
	e->bias = m->bias;
	e->path = sym_intern(s, snap_module_path(snap, i));
	e->build_id = sym_intern(s, id);
	if (!e->path || !e->build_id)
		goto err_e;
	e->file = f;
	e->state = f ? INST_OK : state == INST_OK ? INST_UNREADABLE : state;
	sym_hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->insts, e->key, strlen(e->key), e);
	if (sym_hash_oom)
		goto err_e;
	s->ninsts++;
	return e;

err_e:
	free(e);
err_key:
	free(key);
	return NULL;
}

/*
 * Find or create the instance for module index i of snap, whose process
 * has the rights `cred`.  Called with the lock held; releases it while
 * files are opened (no lock is held across the open of a target's path),
 * so the caller must look its memo up again.
 */
static struct sym_inst *
inst_get(struct symbolizer *s, const struct snap *snap, uint64_t i,
	 const struct sym_cred *cred)
{
	const struct snap_module *m = &snap->modules[i];
	uint32_t idlen = m->build_id_len <= SNAP_BUILD_ID_MAX ?
			 m->build_id_len : 0;
	struct pending p = { .state = INST_UNREADABLE };
	struct sym_file *f = NULL;
	struct sym_inst *e;
	char *key = inst_key(snap, i, cred);

	if (!key)
		return NULL;
	HASH_FIND_STR(s->insts, key, e);
	if (e) {
		free(key);
		return e;
	}
	if (idlen && cred->mode != SYM_CRED_NONE) {
		key_build_id(p.key, sizeof(p.key), cred, m->build_id, idlen);
		HASH_FIND_STR(s->files, p.key, f);
	}
	if (!f) {
		pthread_mutex_unlock(&s->lock);
		pending_open(s, cred, snap->h->pid, m,
			     snap_module_path(snap, i), &p);
		pthread_mutex_lock(&s->lock);
		/* another thread may have made it meanwhile */
		HASH_FIND_STR(s->insts, key, e);
		if (e) {
			if (p.file)
				sym_file_destroy(p.file);
			free(key);
			return e;
		}
		f = pending_commit(s, &p);
	}
	return inst_add(s, snap, i, key, f, p.state);
}

/* The memo of this snapshot, made if needed.  Caller holds lock. */
static struct sym_memo *
memo_get(struct symbolizer *s, const struct snap *snap)
{
	struct sym_memo *m, *victim = &s->memos[0];
	struct sym_cred cred;

	for (unsigned i = 0; i < SYM_MEMOS; i++) {
		m = &s->memos[i];
		if (m->buf == snap->buf && m->h == snap->h && m->inst &&
		    m->time_ns == snap->h->time_ns &&
		    m->pid == snap->h->pid && m->n == snap->h->n_modules) {
			m->stamp = ++s->clock;
			return m;
		}
		if (m->stamp < victim->stamp)
			victim = m;
	}
	free(victim->inst);
	memset(victim, 0, sizeof(*victim));
	/* /proc/<pid>/status and stat only: nothing a target can name */
	sym_cred_of(snap->h->pid, snap->h->start_time, &cred);
	victim->cred = cred_intern(s, &cred);
	if (!victim->cred)
		return NULL;
	victim->inst = calloc(snap->h->n_modules ? snap->h->n_modules : 1,
			      sizeof(*victim->inst));
	if (!victim->inst)
		return NULL;
	victim->buf = snap->buf;
	victim->h = snap->h;
	victim->time_ns = snap->h->time_ns;
	victim->pid = snap->h->pid;
	victim->n = snap->h->n_modules;
	victim->stamp = ++s->clock;
	return victim;
}

/* ------------------------------------------------------------ results */

static uint64_t
res_hash(uint32_t file_id, uint64_t rel)
{
	uint64_t h = rel ^ ((uint64_t)file_id << 47) ^ file_id;

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

static struct sym_res *
res_find(struct symbolizer *s, uint32_t file_id, uint64_t rel)
{
	uint64_t mask = s->res_cap - 1;

	if (!s->res)
		return NULL;
	for (uint64_t i = res_hash(file_id, rel) & mask;; i = (i + 1) & mask) {
		struct sym_res *r = &s->res[i];

		if (!r->file_id)
			return NULL;
		if (r->file_id == file_id && r->rel == rel)
			return r;
	}
}

static int
res_grow(struct symbolizer *s)
{
	uint64_t cap = s->res_cap ? 2 * s->res_cap : 4096, mask = cap - 1;
	struct sym_res *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint64_t j = 0; j < s->res_cap; j++) {
		struct sym_res *r = &s->res[j];
		uint64_t i;

		if (!r->file_id)
			continue;
		for (i = res_hash(r->file_id, r->rel) & mask; t[i].file_id;
		     i = (i + 1) & mask)
			;
		t[i] = *r;
	}
	free(s->res);
	s->res = t;
	s->res_cap = cap;
	return 0;
}

/* Store frames fr[0..n) for (file_id, rel); NULL when out of memory. */
static struct sym_res *
res_add(struct symbolizer *s, uint32_t file_id, uint64_t rel,
	const struct sym_frame *fr, uint32_t n)
{
	struct sym_res *r;
	uint64_t i, mask;

	if (s->res_n >= SYM_RESULTS_MAX)
		results_clear(s);
	if (2 * (s->res_n + 1) > s->res_cap && res_grow(s) < 0)
		return NULL;
	if (s->pool_n + n > s->pool_cap) {
		uint64_t cap = s->pool_cap ? 2 * s->pool_cap : 4096;
		struct sym_frame *p;

		while (cap < s->pool_n + n)
			cap *= 2;
		p = realloc(s->pool, cap * sizeof(*p));
		if (!p)
			return NULL;
		s->pool = p;
		s->pool_cap = cap;
	}
	mask = s->res_cap - 1;
	for (i = res_hash(file_id, rel) & mask; s->res[i].file_id;
	     i = (i + 1) & mask)
		;
	r = &s->res[i];
	r->file_id = file_id;
	r->rel = rel;
	r->n = n;
	r->first = s->pool_n;
	memcpy(s->pool + s->pool_n, fr, n * sizeof(*fr));
	s->pool_n += n;
	s->res_n++;
	return r;
}


/* Resolve rel in file f into the result table.  Caller holds lock. */
static struct sym_res *
res_compute(struct symbolizer *s, struct sym_file *f, uint64_t rel)
{
	struct sym_frame fr[SYM_FRAMES_MAX];
	struct sym_res *r;
	uint32_t n;

	memset(fr, 0, sizeof(fr[0]));
	n = sym_dwarf_frames(s, f, rel, fr, SYM_FRAMES_MAX);
	for (uint32_t k = 0; k < n; k++) {
		fr[k].offset = 0;
		fr[k].build_id = NULL;
	}
	if (!n) {
		GElf_Off off = 0;
		GElf_Sym sym;
		const char *name;
		char suffix[32];

		name = dwfl_module_addrinfo(f->mod, rel, &off, &sym, NULL,
					    NULL, NULL);
		fr[0].file = NULL; /* made from the module path */
		fr[0].line = 0;
		fr[0].module = NULL;
		if (name && *name) {
			/* offset of the return address, as backtrace(3)
			 * prints it (the lookup used the byte before it) */
			snprintf(suffix, sizeof(suffix), "+0x%" PRIx64,
				 (uint64_t)off + 1);
			fr[0].function = sym_dwarf_symbol(s, name, suffix);
			fr[0].offset = sym_dwarf_name_ambiguous(f, name);
		} else {
			fr[0].function = s->s_empty;
		}
		if (!fr[0].function)
			return NULL;
		n = 1;
	}
	r = res_add(s, f->id, rel, fr, n);
	return r;
}

/* ------------------------------------------------------------ resolve */

/*
 * The file of a frame without a line: its identity, module and offset,
 * with its symbol when one covers it (see symbols.h).  Falls back to the
 * module path when out of memory.
 */
static const char *
lineless_file(struct symbolizer *s, const char *path, const char *function,
	      bool ambiguous, uint64_t rel)
{
	const char *out;
	char *cat;
	int n;

	if (*function && !ambiguous)
		n = asprintf(&cat, "%s(%s)", path, function);
	else if (*function)
		n = asprintf(&cat, "%s(%s) [+0x%" PRIx64 "]", path, function,
			     rel);
	else
		n = asprintf(&cat, "%s(+0x%" PRIx64 ")", path, rel);
	if (n < 0)
		return path;
	out = sym_intern(s, cat);
	free(cat);
	return out ? out : path;
}

/* A frame of nothing known: "<unknown>", line 0. */
static int
frame_unknown(struct symbolizer *s, struct sym_frame *out)
{
	out->file = s->s_unknown;
	out->line = 0;
	out->function = s->s_empty;
	out->module = s->s_empty;
	out->offset = 0;
	out->build_id = s->s_empty;
	return 1;
}

/* A frame of module instance `inst` that cannot be read (or is stale):
 * module and offset only. */
static int
frame_module(struct symbolizer *s, struct sym_frame *out,
	     const struct sym_inst *inst, uint64_t rel)
{
	out->file = lineless_file(s, inst->path, "", false, rel);
	out->line = 0;
	out->function = s->s_empty;
	out->module = inst->path;
	out->offset = rel;
	out->build_id = inst->build_id;
	return 1;
}

int
sym_resolve(struct symbolizer *s, const struct snap *snap, uint64_t addr,
	    struct sym_frame *out, int max)
{
	uint64_t pc = addr ? addr - 1 : 0, n = snap->h->n_modules, i, rel;
	struct sym_memo *memo;
	struct sym_inst *inst;
	struct sym_res *r;
	int ret;

	if (max < 1)
		return 0;
	pthread_mutex_lock(&s->lock);
	memo = memo_get(s, snap);
	if (!memo) {
		ret = frame_unknown(s, out);
		goto out;
	}
	i = memo->hint;
	if (i >= n || pc < snap->modules[i].lo || pc >= snap->modules[i].hi) {
		for (i = 0; i < n; i++)
			if (pc >= snap->modules[i].lo &&
			    pc < snap->modules[i].hi)
				break;
	}
	if (!addr || i == n) {
		ret = frame_unknown(s, out);
		goto out;
	}
	memo->hint = i;
	inst = memo->inst[i];
	if (inst && (inst->lo != snap->modules[i].lo ||
		     inst->hi != snap->modules[i].hi ||
		     inst->bias != snap->modules[i].bias))
		inst = NULL;       /* not the snapshot the memo was made for */
	if (!inst) {
		inst = inst_get(s, snap, i, memo->cred);
		if (!inst) {
			ret = frame_unknown(s, out);
			goto out;
		}
		/* inst_get let the lock go: the memos may have changed */
		memo = memo_get(s, snap);
		if (memo)
			memo->inst[i] = inst;
	}
	pc -= snap->modules[i].bias;
	rel = pc + 1;              /* the return address's */
	if (inst->state != INST_OK) {
		ret = frame_module(s, out, inst, rel);
		goto out;
	}
	r = res_find(s, inst->file->id, pc);
	if (!r)
		r = res_compute(s, inst->file, pc);
	if (!r) {
		ret = frame_module(s, out, inst, rel);
		goto out;
	}
	ret = r->n < (uint32_t)max ? (int)r->n : max;
	for (int k = 0; k < ret; k++) {
		const struct sym_frame *f = &s->pool[r->first + k];

		out[k].file = f->file ? f->file :
			lineless_file(s, inst->path, f->function,
				      f->offset != 0, rel);
		out[k].line = f->line;
		out[k].function = f->function;
		out[k].module = inst->path;
		out[k].offset = rel;
		out[k].build_id = inst->build_id;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}
