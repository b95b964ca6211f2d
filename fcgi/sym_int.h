/* SPDX-License-Identifier: MIT */
/*
 * sym_int.h - what the files of the symbolizer share and nobody else may
 * see: its caches' structures, their bounds, the string table and the
 * functions one file of it offers another.
 *
 *   symbols.c     lifecycle, strings, the caches, sym_resolve
 *   sym_open.c    opening module and debug files, one Dwfl per file
 *   sym_dwarf.c   DWARF: the inline chain and the names at an address
 *   sym_source.c  source lines, as Python's linecache gives them
 *   sym_cred.c    whose rights a target's files are opened with
 *
 * Everything here that touches struct symbolizer runs with its lock held
 * unless its comment says otherwise.
 */
#ifndef HAWK_FCGI_SYM_INT_H
#define HAWK_FCGI_SYM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

/* uthash exit()s when out of memory unless told otherwise (uthash >= 2.1):
 * then an insertion that fails leaves the element out and sets
 * sym_hash_oom, which every HASH_ADD of the symbolizer checks. */
extern __thread bool sym_hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (sym_hash_oom = true)
#include <uthash.h>

#include "symbols.h"


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
#define SYM_COPY_MAX      (1ull << 30) /* largest file copied */
#define SYM_COPY_BYTES    (2ull << 30) /* private copies kept in all */
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

/* A name of the symbol table and whether it names several addresses. */
struct sym_name {
	UT_hash_handle hh;
	const char *name;          /* libdw's, lives as long as the Dwfl */
	GElf_Addr addr;
	bool ambiguous;
};

struct sym_file {
	UT_hash_handle hh;
	char *key;                 /* "b:<hex build-id>" or "f:dev:ino:..." */
	uint32_t id;               /* 1.. : key of the result table */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct sym_cu *cus;
	struct sym_name *names;    /* symbol names, built on first use */
	uint64_t copied;           /* bytes of private copies it holds */
	const struct sym_cred *cred;  /* whose rights opened it (interned) */
	bool names_built;
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
	const char *build_id;      /* interned hex, "" when none */
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
	const struct sym_cred *cred;  /* the process's rights (interned) */
};

/* A cached result: frames pool[first .. first + n).  A frame without a
 * line is stored with file NULL (its file is made from the instance's
 * path when copied out) and offset 1 when its symbol name is ambiguous in
 * the module, else 0; offset and build_id are filled in when copied out. */
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
	uint64_t copied;           /* sum of the files' copies */
	struct sym_credent *creds; /* interned credentials, never freed */
	struct sym_srcname *srcnames;  /* source paths, per credentials */
	struct sym_srcname *srcnames_by_ptr;
	struct sym_src *srcs;
	uint64_t src_bytes;
	const char *s_unknown, *s_empty;
};

/* sym_cred.c: whose rights a target's files are opened with. */
enum sym_cred_mode {
	SYM_CRED_NONE = 0,         /* open nothing */
	SYM_CRED_SELF,             /* the responder's own rights suffice */
	SYM_CRED_AS,               /* take the target's fs credentials */
};
#define SYM_CRED_GROUPS 64
struct sym_cred {
	enum sym_cred_mode mode;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[SYM_CRED_GROUPS];
	char key[32 + 12 * SYM_CRED_GROUPS];  /* "none", "self", "uU:gG:..." */
};
struct sym_credent {
	UT_hash_handle hh;
	struct sym_cred c;         /* key: c.key */
};
/* A source path as named by the DWARF of files opened with `cred`: the
 * frames' file strings are these `path` pointers, so that reading the
 * source later is done with the rights of whoever's DWARF named it. */
struct sym_srcname {
	UT_hash_handle hh;         /* by key: cred->key "\n" path */
	UT_hash_handle hp;         /* by the path pointer */
	const struct sym_cred *cred;
	const char *path;          /* inside key */
	char key[];
};
struct sym_cred_saved {
	bool active;
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[SYM_CRED_GROUPS];
};

/* The credentials of process pid started at start_time (field 22 of
 * /proc/<pid>/stat); c->mode SYM_CRED_NONE when they cannot be had.
 * Reads only /proc.  Returns 0.  Tests replace sym_cred_hook (fake pids). */
int sym_cred_of(int32_t pid, uint64_t start_time, struct sym_cred *c);
extern int (*sym_cred_hook)(int32_t pid, uint64_t start_time,
			    struct sym_cred *c);
int sym_cred_default(int32_t pid, uint64_t start_time, struct sym_cred *c);
/* Take c's rights for the calling thread until sym_cred_leave (which must
 * follow on the same thread).  -EACCES for SYM_CRED_NONE, -errno when the
 * switch fails: then open nothing. */
int sym_cred_enter(const struct sym_cred *c, struct sym_cred_saved *saved);
void sym_cred_leave(struct sym_cred_saved *saved);
/* Open an untrusted path read-only without blocking; only a regular file:
 * its fd (and *st) or -errno (-ENOEXEC: not a regular file). */
int sym_open_untrusted(const char *path, struct stat *st);

/* symbols.c: intern s[0..len) (or a C string); NULL only when out of
 * memory.  The string lives until sym_free(). */
const char *sym_intern_n(struct symbolizer *s, const char *str, size_t len);
const char *sym_intern(struct symbolizer *s, const char *str);

/* sym_open.c */
int sym_open_module(int32_t pid, const char *path, char *used,
		    size_t usedlen, struct stat *st);
/* The file mapped at [lo, hi) in process pid, through
 * /proc/<pid>/map_files (a binary replaced or deleted since it was loaded):
 * an fd of a regular file or -errno; *used names the path opened. */
int sym_open_mapped(int32_t pid, uint64_t lo, uint64_t hi, char *used,
		    size_t usedlen, struct stat *st);
/* A new file entry (not yet in the cache) for fd (consumed), its stat
 * st, named `name`; NULL when it does not parse or out of memory.  Runs
 * with the target's rights and no lock. */
struct sym_file *sym_file_report(const char *key, const char *name, int fd,
				 const struct stat *st);
/* fd itself when only root can change its size (see sym_open.c), else a
 * private copy (fd closed, *copied its size); -errno (fd closed). */
int sym_private_fd(int fd, const struct stat *st, uint64_t *copied);
void sym_file_destroy(struct sym_file *f);
void sym_hex(char *out, const uint8_t *id, uint32_t len);
bool sym_build_id_is(Dwfl_Module *mod, const uint8_t *want, uint32_t len);

/* sym_dwarf.c: demangle (when mangled) and intern name + suffix */
const char *sym_dwarf_symbol(struct symbolizer *s, const char *name,
			     const char *suffix);
/* Frames from the DWARF of the CU covering `rel` in f; how many (0: no
 * line info there, use the symbol table). */
uint32_t sym_dwarf_frames(struct symbolizer *s, struct sym_file *f,
			  uint64_t rel, struct sym_frame *out, uint32_t max);

/* sym_dwarf.c: whether `name` is the name of symbols at two or more
 * addresses of f's symbol table (local symbols of the same name). */
bool sym_dwarf_name_ambiguous(struct sym_file *f, const char *name);

/* sym_source.c: forget every cached source file (and source names when
 * `names`: only sym_free may, frames hold them) */
void sym_source_clear(struct symbolizer *s, bool names);
/* The interned source path `path` as named for `cred`; NULL when out of
 * memory.  Lock held. */
const char *sym_source_name(struct symbolizer *s, const struct sym_cred *cred,
			    const char *path);
/* sym_source_line with explicit rights (no lock held). */
const char *sym_source_text(struct symbolizer *s, const struct sym_cred *cred,
			    const char *file, uint32_t line);

#endif /* HAWK_FCGI_SYM_INT_H */
