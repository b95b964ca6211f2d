/* SPDX-License-Identifier: MIT */
/*
 * symbols.c - the libdw symbolizer: return addresses of a target process
 * become (file, line, function, module) frames, inlined calls included;
 * and source lines become their stripped text.  API in symbols.h.
 *
 * Caches, from the request side down (all protected by one mutex, because
 * libdw lookups on one Dwfl are not thread-safe and the cold path is short
 * compared with a request):
 *  - memos: the last few snapshots seen, each with an array that maps its
 *    module index to an instance, so the hot path neither hashes a path nor
 *    calls stat();
 *  - instances: one per (pid, start time, range, bias, build-id, path) of a
 *    loaded module, naming the file entry that serves it, or none (file
 *    unreadable) or "stale" (the file on disk has another build-id: it was
 *    rebuilt, so no line of it is served);
 *  - files: one Dwfl per module file identity (build-id, else device,
 *    inode, mtime and size of what was opened), reported at bias 0 so that
 *    its addresses are ELF virtual addresses; with, per CU, its functions
 *    sorted by address (a lookup then walks one function's DIEs, not the
 *    CU's);
 *  - results: an open-addressing table (file id, ELF address) -> frames.
 *    A frame whose file is the module path (no line info) is stored with
 *    file NULL and gets the instance's path when copied out, so processes
 *    that see one file under two paths share results;
 *  - strings: every string handed out is interned here and lives until
 *    sym_free(), so the other caches can be flushed when they reach their
 *    bounds without invalidating frames callers still hold.
 *  - sources: per source path, the file's lines, keyed by device, inode,
 *    mtime and size so that an edit is noticed.
 *
 * Never invents a line: line numbers come only from the DWARF line table
 * (innermost frame) and DW_AT_call_line (outer inline frames).  Debuginfod
 * is never consulted (it may block a request for minutes).  What a frame
 * says when less is known:
 *   no DWARF line for the address   module path, 0, "symbol+0xOFF" (OFF of
 *                                   the return address; "" if no symbol)
 *   file has another build-id       module path, 0, ""  (rebuilt: nothing
 *                                   of the new file is served)
 *   file unreadable, no module      "<unknown>", 0, "", module path or ""
 */
#include <config.h>

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

/* uthash exit()s when out of memory unless told otherwise (uthash >= 2.1):
 * then an insertion that fails leaves the element out and sets hash_oom,
 * which every HASH_ADD here checks. */
static __thread bool hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
#include <uthash.h>

#include "symbols.h"
#include "utf8.h"

/* libstdc++ / libsupc++ (C linkage): the Itanium C++ ABI demangler */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);

/* Bounds: when a cache reaches its bound it is flushed (strings stay).
 * tests/t-symbols-flush builds this file with tiny bounds (-DSYM_TINY) so
 * that every flush path runs under the same assertions. */
#ifndef SYM_TINY
#define SYM_RESULTS_MAX   (1u << 19)   /* cached addresses */
#define SYM_INSTANCES_MAX 65536u       /* cached (process, module) pairs */
#define SYM_FILES_MAX     256u         /* Dwfl sessions (<= 2 fds each) */
#define SYM_SOURCES_BYTES (64u << 20)  /* source bytes cached in all */
#else
#define SYM_RESULTS_MAX   3u
#define SYM_INSTANCES_MAX 2u
#define SYM_FILES_MAX     1u
#define SYM_SOURCES_BYTES 1u
#endif
#define SYM_MEMOS         4u           /* snapshots remembered */
#define SYM_SOURCE_MAX    (16u << 20)  /* largest source file read */
#define SYM_FRAMES_MAX    256u         /* inline depth kept per address */

struct sym_str {
	UT_hash_handle hh;
	char s[];
};

/* A function's code range in a CU: [lo, hi) in DWARF addresses. */
struct sym_fn {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;             /* its DW_TAG_subprogram */
};

/* The functions of one CU sorted by address, built on first use so that a
 * lookup descends from one function instead of walking the whole CU (as
 * dwarf_getscopes and dwarf_getscopes_die do: O(CU) per address). */
struct sym_cu {
	UT_hash_handle hh;
	Dwarf_Off off;             /* CU DIE offset: the key */
	struct sym_fn *fns;
	size_t n, cap;
};

struct sym_file {
	UT_hash_handle hh;
	char *key;                 /* "b:<hex build-id>" or "f:dev:ino:..." */
	uint32_t id;               /* 1.. : key of the result table */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct sym_cu *cus;
};

enum sym_inst_state {
	INST_OK = 0,               /* file serves it */
	INST_UNREADABLE = 1,       /* no file: "<unknown>" frames */
	INST_STALE = 2,            /* file has another build-id */
};

struct sym_inst {
	UT_hash_handle hh;
	char *key;
	const char *path;          /* interned module path */
	uint64_t lo, hi, bias;     /* checked on every memo hit */
	struct sym_file *file;     /* INST_OK only */
	enum sym_inst_state state;
};

/* What sym_resolve needs of one module of a snapshot, by module index. */
struct sym_memo {
	const void *buf;           /* snap->buf, h: identity of the snapshot */
	const struct snap_header *h;
	uint64_t time_ns;
	int32_t pid;
	uint64_t n;                /* n_modules */
	struct sym_inst **inst;    /* [n], NULL until first used */
	uint64_t hint;             /* module index of the last hit */
	uint64_t stamp;            /* last use, for replacement */
};

/* A cached result: frames pool[first .. first + n). */
struct sym_res {
	uint64_t rel;
	uint32_t file_id;          /* 0: empty slot */
	uint32_t n;
	uint64_t first;
};

struct sym_src {
	UT_hash_handle hh;
	char *path;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	char *buf;                 /* NULL: unreadable or not text */
	uint32_t nlines;
	uint32_t *start;           /* [nlines + 1] offsets into buf */
	const char **text;         /* [nlines] interned, NULL until asked */
};

struct symbolizer {
	/* protects every field below */
	pthread_mutex_t lock;
	struct sym_str *strings;
	struct sym_file *files;
	uint32_t nfiles, next_file_id;
	struct sym_inst *insts;
	uint32_t ninsts;
	struct sym_memo memos[SYM_MEMOS];
	uint64_t clock;
	struct sym_res *res;       /* [res_cap], power of two */
	uint64_t res_cap, res_n;
	struct sym_frame *pool;    /* result frames */
	uint64_t pool_n, pool_cap;
	struct sym_src *srcs;
	uint64_t src_bytes;
	const char *s_unknown, *s_empty;
};

/* ------------------------------------------------------------ strings */

/* Intern s[0..len); NULL only when out of memory.  Caller holds lock. */
static const char *
intern_n(struct symbolizer *s, const char *str, size_t len)
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
	hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->strings, e->s, len, e);
	if (hash_oom) {
		free(e);
		return NULL;
	}
	return e->s;
}

static const char *
intern(struct symbolizer *s, const char *str)
{
	return intern_n(s, str, strlen(str));
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
file_destroy(struct sym_file *f)
{
	struct sym_cu *c, *tmp;

	HASH_ITER(hh, f->cus, c, tmp) {
		HASH_DEL(f->cus, c);
		free(c->fns);
		free(c);
	}
	if (f->dwfl)
		dwfl_end(f->dwfl);
	free(f->key);
	free(f);
}

static void
files_clear(struct symbolizer *s)
{
	struct sym_file *f, *tmp;

	insts_clear(s);
	results_clear(s);
	HASH_ITER(hh, s->files, f, tmp) {
		HASH_DEL(s->files, f);
		file_destroy(f);
	}
	s->nfiles = 0;
}

static void
srcs_clear(struct symbolizer *s)
{
	struct sym_src *e, *tmp;

	HASH_ITER(hh, s->srcs, e, tmp) {
		HASH_DEL(s->srcs, e);
		free(e->path);
		free(e->buf);
		free(e->start);
		free(e->text);
		free(e);
	}
	s->src_bytes = 0;
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
	s->s_unknown = intern(s, "<unknown>");
	s->s_empty = intern(s, "");
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

	if (!s)
		return;
	files_clear(s);
	srcs_clear(s);
	HASH_ITER(hh, s->strings, e, tmp) {
		HASH_DEL(s->strings, e);
		free(e);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ------------------------------------------------------- opening files */

/*
 * Separate debug info, without debuginfod: the standard callback looks in
 * /usr/lib/debug/.build-id and follows .gnu_debuglink, but in elfutils it
 * also asks debuginfod when DEBUGINFOD_URLS is set, which may block for
 * minutes (heaptrack turns it off for the same reason).  So when that
 * variable is set we do the local part ourselves.
 */
static char *debuginfo_path;

static int
open_debug(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int
find_debuginfo(Dwfl_Module *mod, void **user, const char *modname,
	       Dwarf_Addr base, const char *file_name,
	       const char *debuglink, GElf_Word crc, char **debug_name)
{
	const char *url = getenv("DEBUGINFOD_URLS");
	const unsigned char *id;
	GElf_Addr vaddr;
	char buf[4096];
	int len, fd;

	if (!url || !*url)
		return dwfl_standard_find_debuginfo(mod, user, modname, base,
						    file_name, debuglink, crc,
						    debug_name);
	len = dwfl_module_build_id(mod, &id, &vaddr);
	if (len > 1) {
		int o = snprintf(buf, sizeof(buf),
				 "/usr/lib/debug/.build-id/%02x/", id[0]);

		for (int i = 1; i < len && o < (int)sizeof(buf) - 8; i++)
			o += snprintf(buf + o, sizeof(buf) - o, "%02x", id[i]);
		snprintf(buf + o, sizeof(buf) - o, ".debug");
		fd = open_debug(buf);
		if (fd >= 0)
			goto found;
	}
	if (debuglink && file_name && !strchr(debuglink, '/')) {
		const char *slash = strrchr(file_name, '/');
		int dlen = slash ? (int)(slash - file_name) : 0;

		for (unsigned i = 0; i < 3; i++) {
			if (i == 0)
				snprintf(buf, sizeof(buf), "%.*s/%s", dlen,
					 file_name, debuglink);
			else if (i == 1)
				snprintf(buf, sizeof(buf), "%.*s/.debug/%s",
					 dlen, file_name, debuglink);
			else
				snprintf(buf, sizeof(buf),
					 "/usr/lib/debug%.*s/%s", dlen,
					 file_name, debuglink);
			if (strcmp(buf, file_name) == 0)
				continue;
			fd = open_debug(buf);
			if (fd >= 0)
				goto found;
		}
	}
	return -1;
found:
	*debug_name = strdup(buf);
	return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = NULL,          /* we report each ELF with its fd */
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/*
 * Open a module file: through /proc/<pid>/root when the target's root is
 * readable (another mount namespace), else by its path.  Returns an fd of a
 * regular file or -errno; *used names the path opened (static buffer of the
 * caller).
 */
static int
open_module(int32_t pid, const char *path, char *used, size_t usedlen,
	    struct stat *st)
{
	int fd = -ENOENT;

	if (path[0] != '/')
		return -ENOENT;
	if (pid > 0 && snprintf(used, usedlen, "/proc/%" PRId32 "/root%s",
				pid, path) < (int)usedlen)
		fd = open(used, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (snprintf(used, usedlen, "%s", path) >= (int)usedlen)
			return -ENAMETOOLONG;
		fd = open(used, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

/* Report `fd` (consumed) as the only module of a new Dwfl, at bias 0. */
static struct sym_file *
file_report(struct symbolizer *s, const char *key, const char *name, int fd)
{
	struct sym_file *f = calloc(1, sizeof(*f));

	if (!f)
		goto err_fd;
	f->key = strdup(key);
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!f->key || !f->dwfl)
		goto err_free;
	dwfl_report_begin(f->dwfl);
	f->mod = dwfl_report_elf(f->dwfl, name, name, fd, 0, false);
	fd = -1;                   /* libdwfl owns it now, even on failure */
	if (dwfl_report_end(f->dwfl, NULL, NULL) != 0 || !f->mod)
		goto err_free;
	return f;

err_free:
	file_destroy(f);
err_fd:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int
file_add(struct symbolizer *s, struct sym_file *f)
{
	hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->files, f->key, strlen(f->key), f);
	if (hash_oom)
		return -ENOMEM;
	f->id = s->next_file_id++;
	s->nfiles++;
	return 0;
}

static void
hex(char *out, const uint8_t *id, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	out[2 * len] = '\0';
}

static bool
build_id_is(Dwfl_Module *mod, const uint8_t *want, uint32_t len)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);

	return n > 0 && (uint32_t)n == len && memcmp(id, want, len) == 0;
}

/*
 * Find or create the file entry serving module `m` of process `pid`.
 * Sets *state.  Caller holds lock.
 */
static struct sym_file *
file_get(struct symbolizer *s, int32_t pid, const struct snap_module *m,
	 const char *path, enum sym_inst_state *state)
{
	char key[2 * SNAP_BUILD_ID_MAX + 64], used[4096 + 32];
	uint32_t idlen = m->build_id_len;
	struct sym_file *f = NULL;
	struct stat st;
	int fd;

	*state = INST_UNREADABLE;
	if (idlen > SNAP_BUILD_ID_MAX)
		idlen = 0;
	if (idlen) {
		strcpy(key, "b:");
		hex(key + 2, m->build_id, idlen);
		HASH_FIND_STR(s->files, key, f);
		if (f) {
			*state = INST_OK;
			return f;
		}
	}
	if (s->nfiles >= SYM_FILES_MAX)
		files_clear(s);
	fd = open_module(pid, path, used, sizeof(used), &st);
	if (fd < 0)
		return NULL;
	if (!idlen) {
		snprintf(key, sizeof(key), "f:%ju:%ju:%jd.%09ld:%jd",
			 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
			 (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (intmax_t)st.st_size);
		HASH_FIND_STR(s->files, key, f);
		if (f) {
			close(fd);
			*state = INST_OK;
			return f;
		}
	}
	f = file_report(s, key, used, fd);
	if (f && idlen && !build_id_is(f->mod, m->build_id, idlen)) {
		/* rebuilt since the target loaded it: try the debug file of
		 * the build-id the target runs, else serve nothing stale */
		int o;

		file_destroy(f);
		f = NULL;
		*state = INST_STALE;
		o = snprintf(used, sizeof(used),
			     "/usr/lib/debug/.build-id/%02x/", m->build_id[0]);
		hex(used + o, m->build_id + 1, idlen - 1);
		strcat(used, ".debug");
		fd = open(used, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		f = file_report(s, key, used, fd);
		if (f && !build_id_is(f->mod, m->build_id, idlen)) {
			file_destroy(f);
			return NULL;
		}
	}
	if (!f)
		return NULL;
	if (file_add(s, f) < 0) {
		file_destroy(f);
		*state = INST_UNREADABLE;
		return NULL;
	}
	*state = INST_OK;
	return f;
}

/* Find or create the instance for module index i.  Caller holds lock. */
static struct sym_inst *
inst_get(struct symbolizer *s, const struct snap *snap, uint64_t i)
{
	const struct snap_module *m = &snap->modules[i];
	const char *path = snap_module_path(snap, i);
	uint32_t idlen = m->build_id_len <= SNAP_BUILD_ID_MAX ?
			 m->build_id_len : 0;
	char id[2 * SNAP_BUILD_ID_MAX + 1];
	struct sym_inst *e;
	char *key;

	hex(id, m->build_id, idlen);
	if (asprintf(&key, "%" PRId32 ":%" PRIu64 ":%" PRIx64 ":%" PRIx64
		     ":%" PRIx64 ":%s:%s", snap->h->pid, snap->h->start_time,
		     m->lo, m->hi, m->bias, id, path) < 0)
		return NULL;
	HASH_FIND_STR(s->insts, key, e);
	if (e) {
		free(key);
		return e;
	}
	if (s->ninsts >= SYM_INSTANCES_MAX)
		insts_clear(s);
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_key;
	e->key = key;
	e->lo = m->lo;
	e->hi = m->hi;
	e->bias = m->bias;
	e->path = intern(s, path);
	if (!e->path)
		goto err_e;
	e->file = file_get(s, snap->h->pid, m, path, &e->state);
	hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->insts, e->key, strlen(e->key), e);
	if (hash_oom)
		goto err_e;
	s->ninsts++;
	return e;

err_e:
	free(e);
err_key:
	free(key);
	return NULL;
}

/* The memo of this snapshot, made if needed.  Caller holds lock. */
static struct sym_memo *
memo_get(struct symbolizer *s, const struct snap *snap)
{
	struct sym_memo *m, *victim = &s->memos[0];

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

/* -------------------------------------------------------------- DWARF */

/* Demangle (when mangled) and intern; whole, however long. */
static const char *
intern_symbol(struct symbolizer *s, const char *name, const char *suffix)
{
	char *dem = NULL, *cat = NULL;
	const char *out;
	int status = -1;

	if (name[0] == '_' && name[1] == 'Z')
		dem = __cxa_demangle(name, NULL, NULL, &status);
	if (status == 0 && dem)
		name = dem;
	if (suffix) {
		if (asprintf(&cat, "%s%s", name, suffix) < 0)
			cat = NULL;
		out = cat ? intern(s, cat) : NULL;
	} else {
		out = intern(s, name);
	}
	free(cat);
	free(dem);
	return out;
}

/* The function name of a subprogram or inlined-subroutine DIE. */
static const char *
die_function(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
						     &attr));
	if (!name)
		name = dwarf_formstring(
			dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name,
					     &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name,
							     &attr));
	return name ? intern_symbol(s, name, NULL) : s->s_empty;
}

static int
fn_cmp(const void *a, const void *b)
{
	const struct sym_fn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Collect the code ranges of the functions below `parent` (descending
 * into namespaces and classes, where C++ compilers put some). */
static int
cu_collect(struct sym_cu *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;

	if (depth > 32 || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;

			while ((off = dwarf_ranges(&child, off, &base, &lo,
						   &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (c->n == c->cap) {
					size_t cap = c->cap ? 2 * c->cap : 64;
					struct sym_fn *t;

					t = realloc(c->fns, cap * sizeof(*t));
					if (!t)
						return -ENOMEM;
					c->fns = t;
					c->cap = cap;
				}
				c->fns[c->n++] = (struct sym_fn){
					lo, hi, dwarf_dieoffset(&child) };
			}
		} else if (tag == DW_TAG_namespace ||
			   tag == DW_TAG_class_type ||
			   tag == DW_TAG_structure_type ||
			   tag == DW_TAG_union_type ||
			   tag == DW_TAG_module) {
			if (cu_collect(c, &child, depth + 1) < 0)
				return -ENOMEM;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static struct sym_cu *
cu_get(struct sym_file *f, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	struct sym_cu *c;

	HASH_FIND(hh, f->cus, &off, sizeof(off), c);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->off = off;
	if (cu_collect(c, cudie, 0) < 0) {
		free(c->fns);
		free(c);
		return NULL;
	}
	qsort(c->fns, c->n, sizeof(*c->fns), fn_cmp);
	hash_oom = false;
	HASH_ADD(hh, f->cus, off, sizeof(c->off), c);
	if (hash_oom) {
		free(c->fns);
		free(c);
		return NULL;
	}
	return c;
}

/* Innermost-last chain of the scopes below chain[depth - 1] containing
 * pc: lexical blocks and inlined subroutines.  Returns the new depth.
 * GCC may give a lexical block ranges that miss code of an inline inside
 * it, so when no child contains pc the blocks are searched too (as
 * dwarf_getscopes walks the whole tree); still O(function), not O(CU). */
static int
descend(Dwarf_Die *chain, int depth, int max, Dwarf_Addr pc)
{
	Dwarf_Die child;

	if (depth >= max || dwarf_child(&chain[depth - 1], &child) != 0)
		return depth;
	do {
		int tag = dwarf_tag(&child);

		if (tag != DW_TAG_lexical_block &&
		    tag != DW_TAG_inlined_subroutine &&
		    tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
			continue;
		if (dwarf_haspc(&child, pc) > 0) {
			chain[depth] = child;
			return descend(chain, depth + 1, max, pc);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	if (dwarf_child(&chain[depth - 1], &child) != 0)
		return depth;
	do {
		int tag = dwarf_tag(&child), d;

		if (tag != DW_TAG_lexical_block &&
		    tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
			continue;
		chain[depth] = child;
		d = descend(chain, depth + 1, max, pc);
		if (d > depth + 1)
			return d;
	} while (dwarf_siblingof(&child, &child) == 0);
	return depth;
}

/*
 * The scopes containing pc, innermost first, in *scopes (malloc'd), from
 * the CU index; falls back to dwarf_getscopes + dwarf_getscopes_die (as
 * eu-addr2line -i: dwarf_getscopes alone continues from an inline into its
 * abstract definition, not into its caller).  Returns the count or <= 0.
 */
static int
scopes_at(struct sym_file *f, Dwarf_Die *cudie, Dwarf_Addr pc,
	  Dwarf_Die **scopes)
{
	struct sym_cu *c = cu_get(f, cudie);
	Dwarf_Die chain[SYM_FRAMES_MAX], inner;
	int n;

	*scopes = NULL;
	if (c && c->n) {
		size_t lo = 0, hi = c->n;

		/* the last function starting at or before pc */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (c->fns[mid].lo <= pc)
				lo = mid;
			else
				hi = mid;
		}
		if (c->fns[lo].lo <= pc && pc < c->fns[lo].hi &&
		    dwarf_offdie(dwarf_cu_getdwarf(cudie->cu), c->fns[lo].die,
				 &chain[0])) {
			n = descend(chain, 1, SYM_FRAMES_MAX, pc);
			*scopes = malloc((size_t)n * sizeof(**scopes));
			if (!*scopes)
				return -1;
			for (int i = 0; i < n; i++)
				(*scopes)[i] = chain[n - 1 - i];
			return n;
		}
	}
	n = dwarf_getscopes(cudie, pc, scopes);
	if (n <= 0)
		return n;
	inner = (*scopes)[0];
	free(*scopes);
	*scopes = NULL;
	return dwarf_getscopes_die(&inner, scopes);
}

/* Intern a source path from the line table: a relative one is relative
 * to the CU's DW_AT_comp_dir (DWARF 5, 6.2.4; eu-addr2line joins them the
 * same way), even if that is relative too (-fdebug-prefix-map). */
static const char *
intern_src(struct symbolizer *s, const char *src, const char *comp_dir)
{
	const char *out;
	char *cat;

	if (src[0] == '/' || !comp_dir || !*comp_dir)
		return intern(s, src);
	if (asprintf(&cat, "%s%s%s", comp_dir,
		     comp_dir[strlen(comp_dir) - 1] == '/' ? "" : "/",
		     src) < 0)
		return NULL;
	out = intern(s, cat);
	free(cat);
	return out;
}

/*
 * Frames from the DWARF of the CU covering `rel`; returns how many (0: no
 * line info or no function scope there, use the symbol table).
 */
static uint32_t
dwarf_frames(struct symbolizer *s, struct sym_file *f, uint64_t rel,
	     struct sym_frame *out, uint32_t max)
{
	Dwarf_Die *cudie, *scopes = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Addr dbias = 0;
	Dwarf_Attribute cattr;
	const char *src, *comp_dir;
	Dwfl_Line *line;
	uint32_t n = 0;
	int nscopes, lineno = 0;

	cudie = dwfl_module_addrdie(f->mod, rel, &dbias);
	if (!cudie)
		return 0;
	line = dwfl_module_getsrc(f->mod, rel);
	src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
		   : NULL;
	if (!src || lineno <= 0)
		return 0;
	comp_dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir,
					       &cattr));
	nscopes = scopes_at(f, cudie, rel - dbias, &scopes);
	if (nscopes > 0)
		dwarf_getsrcfiles(cudie, &files, NULL);
	for (int i = 0; i < nscopes && n < max; i++) {
		Dwarf_Die *die = &scopes[i];
		int tag = dwarf_tag(die);
		Dwarf_Attribute attr;
		Dwarf_Word val;

		if (tag != DW_TAG_subprogram &&
		    tag != DW_TAG_inlined_subroutine)
			continue;
		out[n].file = intern_src(s, src, comp_dir);
		out[n].line = (uint32_t)lineno;
		out[n].function = die_function(s, die);
		out[n].module = NULL;
		if (!out[n].file || !out[n].function)
			break;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
		/* the caller's location is the call site of this inline */
		src = NULL;
		lineno = 0;
		if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file,
							&attr), &val) == 0)
			src = dwarf_filesrc(files, val, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr),
				    &val) == 0 && val <= UINT32_MAX)
			lineno = (int)val;
		if (!src || lineno <= 0) {
			/* cannot place the caller: stop rather than guess */
			break;
		}
	}
	free(scopes);
	if (!n && max) {
		/* a line but no function DIE around it (padding after a
		 * noreturn call, code from a CU without DIEs for it): keep
		 * the line, name the function from the symbol table */
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(f->mod, rel, &off,
							&sym, NULL, NULL,
							NULL);

		out[0].file = intern_src(s, src, comp_dir);
		out[0].line = (uint32_t)lineno;
		out[0].function = name ? intern_symbol(s, name, NULL)
				       : s->s_empty;
		out[0].module = NULL;
		if (out[0].file && out[0].function)
			n = 1;
	}
	return n;
}

/* Resolve rel in file f into the result table.  Caller holds lock. */
static struct sym_res *
res_compute(struct symbolizer *s, struct sym_file *f, uint64_t rel)
{
	struct sym_frame fr[SYM_FRAMES_MAX];
	struct sym_res *r;
	uint32_t n;

	n = dwarf_frames(s, f, rel, fr, SYM_FRAMES_MAX);
	if (!n) {
		GElf_Off off = 0;
		GElf_Sym sym;
		const char *name;
		char suffix[32];

		name = dwfl_module_addrinfo(f->mod, rel, &off, &sym, NULL,
					    NULL, NULL);
		fr[0].file = NULL; /* the module path */
		fr[0].line = 0;
		fr[0].module = NULL;
		if (name && *name) {
			/* offset of the return address, as backtrace(3)
			 * prints it (the lookup used the byte before it) */
			snprintf(suffix, sizeof(suffix), "+0x%" PRIx64,
				 (uint64_t)off + 1);
			fr[0].function = intern_symbol(s, name, suffix);
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

static int
frame_fixed(struct sym_frame *out, const char *file, const char *function,
	    const char *module)
{
	out->file = file;
	out->line = 0;
	out->function = function;
	out->module = module;
	return 1;
}

int
sym_resolve(struct symbolizer *s, const struct snap *snap, uint64_t addr,
	    struct sym_frame *out, int max)
{
	uint64_t pc = addr ? addr - 1 : 0, n = snap->h->n_modules, i;
	struct sym_memo *memo;
	struct sym_inst *inst;
	struct sym_res *r;
	int ret;

	if (max < 1)
		return 0;
	pthread_mutex_lock(&s->lock);
	memo = memo_get(s, snap);
	if (!memo) {
		ret = frame_fixed(out, s->s_unknown, s->s_empty, s->s_empty);
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
		ret = frame_fixed(out, s->s_unknown, s->s_empty, s->s_empty);
		goto out;
	}
	memo->hint = i;
	inst = memo->inst[i];
	if (inst && (inst->lo != snap->modules[i].lo ||
		     inst->hi != snap->modules[i].hi ||
		     inst->bias != snap->modules[i].bias))
		inst = NULL;       /* not the snapshot the memo was made for */
	if (!inst) {
		inst = inst_get(s, snap, i);
		if (!inst) {
			ret = frame_fixed(out, s->s_unknown, s->s_empty,
					  s->s_empty);
			goto out;
		}
		/* inst_get may have flushed the memos */
		memo = memo_get(s, snap);
		if (memo)
			memo->inst[i] = inst;
	}
	if (inst->state == INST_UNREADABLE) {
		ret = frame_fixed(out, s->s_unknown, s->s_empty, inst->path);
		goto out;
	}
	if (inst->state == INST_STALE) {
		ret = frame_fixed(out, inst->path, s->s_empty, inst->path);
		goto out;
	}
	pc -= snap->modules[i].bias;
	r = res_find(s, inst->file->id, pc);
	if (!r)
		r = res_compute(s, inst->file, pc);
	if (!r) {
		ret = frame_fixed(out, inst->path, s->s_empty, inst->path);
		goto out;
	}
	ret = r->n < (uint32_t)max ? (int)r->n : max;
	for (int k = 0; k < ret; k++) {
		const struct sym_frame *f = &s->pool[r->first + k];

		out[k].file = f->file ? f->file : inst->path;
		out[k].line = f->line;
		out[k].function = f->function;
		out[k].module = inst->path;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* -------------------------------------------------------- source lines */

/* Python's str.isspace() for one code point. */
static bool
py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
	       c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

/*
 * Read and split a source file as Python's linecache does (tokenize.open:
 * UTF-8, a BOM dropped; universal newlines).  Text that is not valid UTF-8
 * counts as unreadable, as linecache gives no lines for a file it cannot
 * decode; a line holding a NUL reads as "" (a C string cannot carry it).
 * Returns 0 or -errno.
 */
static int
src_load(struct sym_src *e, int fd)
{
	const unsigned char *p, *end;
	size_t got = 0, size = (size_t)e->size, cap;
	uint32_t n = 0;
	char *buf;

	if (e->size < 0 || (uint64_t)e->size > SYM_SOURCE_MAX)
		return -EFBIG;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	p = (const unsigned char *)buf;
	end = p + got;
	if (got >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (const unsigned char *q = p; q < end;) {
		uint32_t cp;
		size_t l = utf8_seq(q, (size_t)(end - q), &cp);

		if (!l) {
			free(buf);
			return -EILSEQ;
		}
		q += l;
	}
	cap = 64;
	e->start = malloc(cap * sizeof(*e->start));
	if (!e->start) {
		free(buf);
		return -ENOMEM;
	}
	/* start[i] is where line i+1 begins; start[n] is past the end of
	 * the last one (its terminator is stripped anyway) */
	while (p < end) {
		const unsigned char *q = p;

		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (n + 2 > cap) {
			uint32_t *t;

			cap *= 2;
			t = realloc(e->start, cap * sizeof(*t));
			if (!t) {
				free(buf);
				return -ENOMEM;
			}
			e->start = t;
		}
		e->start[n++] = (uint32_t)(p - (const unsigned char *)buf);
		if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
			q++;
		p = q < end ? q + 1 : q;
	}
	e->start[n] = (uint32_t)got;
	e->text = calloc(n ? n : 1, sizeof(*e->text));
	if (!e->text) {
		free(buf);
		return -ENOMEM;
	}
	e->buf = buf;
	e->nlines = n;
	return 0;
}

/* The stripped text of line `line` (1-based) of a loaded entry. */
static const char *
src_text(struct symbolizer *s, struct sym_src *e, uint32_t line)
{
	const unsigned char *p, *q;
	uint32_t cp;

	if (e->text[line - 1])
		return e->text[line - 1];
	p = (const unsigned char *)e->buf + e->start[line - 1];
	q = (const unsigned char *)e->buf + e->start[line];
	/* the line's own terminator (and anything after it) lies within
	 * [p, q): cut at the first \r or \n */
	for (const unsigned char *t = p; t < q; t++) {
		if (*t == '\n' || *t == '\r') {
			q = t;
			break;
		}
		if (!*t) {
			q = p;
			break;
		}
	}
	for (;;) {
		size_t l = p < q ? utf8_seq(p, (size_t)(q - p), &cp) : 0;

		if (!l || !py_space(cp))
			break;
		p += l;
	}
	while (q > p) {
		const unsigned char *b = q - 1;

		while (b > p && (*b & 0xc0) == 0x80 && q - b < 4)
			b--;
		if (!utf8_seq(b, (size_t)(q - b), &cp) || !py_space(cp))
			break;
		q = b;
	}
	e->text[line - 1] = intern_n(s, (const char *)p, (size_t)(q - p));
	return e->text[line - 1];
}

static void
src_reset(struct symbolizer *s, struct sym_src *e)
{
	if (e->buf)
		s->src_bytes -= (uint64_t)e->size;
	free(e->buf);
	free(e->start);
	free(e->text);
	e->buf = NULL;
	e->start = NULL;
	e->text = NULL;
	e->nlines = 0;
}

const char *
sym_source_line(struct symbolizer *s, const char *file, uint32_t line)
{
	const char *ret = s->s_empty;
	struct sym_src *e;
	struct stat st;
	int fd;

	if (!file || !*file || line == 0)
		return ret;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return ret;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out_fd;
	pthread_mutex_lock(&s->lock);
	HASH_FIND_STR(s->srcs, file, e);
	if (e && (e->dev != st.st_dev || e->ino != st.st_ino ||
		  e->size != st.st_size ||
		  e->mtime.tv_sec != st.st_mtim.tv_sec ||
		  e->mtime.tv_nsec != st.st_mtim.tv_nsec)) {
		HASH_DEL(s->srcs, e);
		src_reset(s, e);
		free(e->path);
		free(e);
		e = NULL;
	}
	if (!e) {
		if (s->src_bytes + (uint64_t)st.st_size > SYM_SOURCES_BYTES)
			srcs_clear(s);
		e = calloc(1, sizeof(*e));
		if (!e)
			goto out_unlock;
		e->path = strdup(file);
		if (!e->path) {
			free(e);
			goto out_unlock;
		}
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		e->size = st.st_size;
		e->mtime = st.st_mtim;
		if (src_load(e, fd) == 0)
			s->src_bytes += (uint64_t)e->size;
		else
			src_reset(s, e);
		hash_oom = false;
		HASH_ADD_KEYPTR(hh, s->srcs, e->path, strlen(e->path), e);
		if (hash_oom) {
			src_reset(s, e);
			free(e->path);
			free(e);
			goto out_unlock;
		}
	}
	if (e->buf && line <= e->nlines) {
		const char *t = src_text(s, e, line);

		if (t)
			ret = t;
	}
out_unlock:
	pthread_mutex_unlock(&s->lock);
out_fd:
	close(fd);
	return ret;
}
