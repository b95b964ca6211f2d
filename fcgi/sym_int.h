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
	struct sym_src *srcs;
	uint64_t src_bytes;
	const char *s_unknown, *s_empty;
};

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
struct sym_file *sym_file_report(struct symbolizer *s, const char *key,
				 const char *name, int fd);
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

/* sym_source.c: forget every cached source file */
void sym_source_clear(struct symbolizer *s);

#endif /* HAWK_FCGI_SYM_INT_H */
