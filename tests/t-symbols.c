/* SPDX-License-Identifier: MIT */
/*
 * t-symbols.c - the symbolizer (fcgi/symbols.c) against a real program.
 *
 * tests/fixtures/sy-fix prints its module table and return addresses taken
 * at known lines (see that file); we build a snapshot module table from it
 * as the tracer would and check every frame exactly: file, line, demangled
 * function (a >4 KiB template name whole), module, inline expansion order;
 * the same with a position-dependent build (sy-fix-nopie).  Then the
 * fallbacks: copies of the fixture stripped of DWARF (symbol+0xOFF, line
 * 0) or of everything (.dynsym), a .gnu_debuglink to a separate debug
 * file, debug info by build-id under /usr/lib/debug (libc6-dbg, skipped
 * without it), a rebuilt binary (build-id mismatch, or a new file without
 * build-id) that must not be served stale lines, a target in another
 * mount namespace (unshare -rm; read through /proc/<pid>/root), addresses
 * outside every module, an unreadable module; source lines as Python's
 * linecache + str.strip() give them; and several threads resolving at once
 * (run it in the sanitizer build).  t-symbols-flush is this file again
 * with the symbolizer's caches bounded to a few entries (-DSYM_TINY).
 * Every temporary file lives in a private mktemp -d directory.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc-stat.h"
#include "sym_int.h"
#include "symbols.h"
#include "tap.h"

#define MAXMOD 64
#define MAXREC 16

struct rec {
	char label[32];
	uint64_t addr, fn;
	int nlines;
	int lines[4];
};

/* One run of the fixture (alive until run_end) and its snapshot. */
struct run {
	pid_t pid;
	int in_fd;                 /* its stdin: closing it ends it */
	int nmod, nrec;
	char *path;                /* the binary that was run */
	struct rec recs[MAXREC];
	struct snap_header h;
	struct snap_module mods[MAXMOD];
	char strings[MAXMOD * PATH_MAX];
	struct snap snap;
	char buf[1];               /* snap.buf: identity only */
};

static char tmpdir[PATH_MAX];
static char fixture[PATH_MAX];
static char fixture_nopie[PATH_MAX];
static char srcfile[PATH_MAX];  /* realpath of sy-fix.c */
static char srccxx[PATH_MAX];   /* realpath of sy-fix-cxx.cc */
static uint64_t snap_clock = 1;

/* sym_cred_hook for snapshots of made-up processes (a new process of the
 * same file, without the file having to run again): the test's own
 * rights. */
static int
cred_self(int32_t pid, uint64_t start_time, struct sym_cred *c)
{
	(void)pid;
	(void)start_time;
	memset(c, 0, sizeof(*c));
	c->mode = SYM_CRED_SELF;
	strcpy(c->key, "self");
	return 0;
}

static void
die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
run_cmd(const char *fmt, ...)
{
	char cmd[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* (Re)build r->snap from its modules; pid/start_time name the process. */
static void
run_snap(struct run *r, int32_t pid, uint64_t start_time, int with_ids)
{
	r->h.pid = pid;
	r->h.start_time = start_time;
	r->h.time_ns = snap_clock++;
	r->h.n_modules = (uint64_t)r->nmod;
	for (int i = 0; i < r->nmod && !with_ids; i++)
		r->mods[i].build_id_len = 0;
	r->snap.buf = r->buf;
	r->snap.h = &r->h;
	r->snap.modules = r->mods;
	r->snap.strings = r->strings;
}

/* Run argv (NULL: just `path`), which must end up exec'ing the fixture
 * in the same process. */
static void
run_start_argv(struct run *r, const char *path, char *const *argv)
{
	int in[2], out[2];
	size_t soff = 0;
	char line[PATH_MAX + 256];
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (pipe(in) < 0 || pipe(out) < 0)
		die("pipe");
	r->pid = fork();
	if (r->pid < 0)
		die("fork");
	if (r->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		if (argv)
			execvp(argv[0], argv);
		else
			execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	r->in_fd = in[1];
	f = fdopen(out[0], "r");
	if (!f)
		die("fdopen");
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "E") == 0)
			break;
		if (line[0] == 'M' && r->nmod < MAXMOD) {
			struct snap_module *m = &r->mods[r->nmod];
			char id[80];
			int pos = 0;

			if (sscanf(line, "M %" SCNx64 " %" SCNx64 " %" SCNx64
				   " %79s %n", &m->lo, &m->hi, &m->bias, id,
				   &pos) < 4 || !pos)
				continue;
			if (strcmp(id, "-") != 0)
				for (unsigned i = 0; id[2 * i] &&
				     i < SNAP_BUILD_ID_MAX; i++) {
					unsigned v;

					sscanf(id + 2 * i, "%2x", &v);
					m->build_id[i] = (uint8_t)v;
					m->build_id_len = i + 1;
				}
			m->path_off = (uint32_t)soff;
			m->path_len = (uint32_t)strlen(line + pos);
			memcpy(r->strings + soff, line + pos, m->path_len + 1);
			soff += m->path_len + 1;
			r->nmod++;
		} else if (line[0] == 'R' && r->nrec < MAXREC) {
			struct rec *c = &r->recs[r->nrec];

			if (sscanf(line, "R %31s %" SCNx64 " %" SCNx64
				   " %d %d %d %d %d", c->label, &c->addr,
				   &c->fn, &c->nlines, &c->lines[0],
				   &c->lines[1], &c->lines[2],
				   &c->lines[3]) >= 4)
				r->nrec++;
		}
	}
	fclose(f);
	run_snap(r, r->pid, proc_start_time(r->pid), 1);
}

static void
run_start(struct run *r, const char *path)
{
	run_start_argv(r, path, NULL);
}

static void
run_end(struct run *r)
{
	int st;

	if (r->pid > 0) {
		close(r->in_fd);
		waitpid(r->pid, &st, 0);
		r->pid = 0;
	}
	free(r->path);
	r->path = NULL;
}

static const struct rec *
rec_get(const struct run *r, const char *label)
{
	for (int i = 0; i < r->nrec; i++)
		if (strcmp(r->recs[i].label, label) == 0)
			return &r->recs[i];
	printf("Bail out! fixture %s printed no record %s\n", r->path, label);
	exit(1);
}

/* Is frame file `got` the fixture source file `want` (same file)? */
static int
same_file(const char *got, const char *want)
{
	char a[PATH_MAX];

	return got && realpath(got, a) && strcmp(a, want) == 0;
}

static void
check_frame(const struct sym_frame *f, const char *file, int line,
	    const char *function, const char *module, const char *what)
{
	if (file == srcfile)
		ok(same_file(f->file, srcfile), "%s: file %s is %s", what,
		   f->file, srcfile);
	else
		is_str(f->file, file, "%s: file", what);
	is_int(f->line, line, "%s: line", what);
	is_str(f->function, function, "%s: function", what);
	is_str(f->module, module, "%s: module", what);
}

/* The demangled name of hawk_fx::templated<Nest<60>::type>. */
static char *
template_name(void)
{
	char *t = strdup("int"), *out;

	for (int i = 0; i < 60; i++) {
		char *n;

		if (asprintf(&n, "hawk_fx::Wrapper_with_a_rather_long_name<%s%s",
			     t, t[strlen(t) - 1] == '>' ? " >" : ">") < 0)
			die("asprintf");
		free(t);
		t = n;
	}
	if (asprintf(&out, "void hawk_fx::templated<%s >(%s*)", t, t) < 0)
		die("asprintf");
	free(t);
	return out;
}

static void
test_dwarf(struct symbolizer *s, struct run *r)
{
	const struct rec *c;
	struct sym_frame f[8], g[8];
	char *tname;
	int n;

	diag("DWARF frames of %s (pid %d)", r->path, (int)r->pid);
	c = rec_get(r, "plain");
	n = sym_resolve(s, &r->snap, c->addr, f, 8);
	is_int(n, 1, "plain call: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", r->path,
		    "plain call");
	is_str(sym_source_line(s, f[0].file, f[0].line),
	       "sy_rec(\"plain\", sy_probe(), (void *)sy_plain, 1, __LINE__);",
	       "plain call: source line");
	n = sym_resolve(s, &r->snap, c->addr, g, 8);
	ok(n == 1 && g[0].file == f[0].file && g[0].function == f[0].function
	   && g[0].module == f[0].module && g[0].line == f[0].line,
	   "plain call again: the cached frame, same interned pointers");

	c = rec_get(r, "inline");
	n = sym_resolve(s, &r->snap, c->addr, f, 8);
	is_int(n, 3, "two always_inline levels: three frames");
	check_frame(&f[0], srcfile, c->lines[0], "sy_in2", r->path,
		    "inline frame 0 (innermost)");
	check_frame(&f[1], srcfile, c->lines[1], "sy_in1", r->path,
		    "inline frame 1");
	check_frame(&f[2], srcfile, c->lines[2], "sy_outer", r->path,
		    "inline frame 2 (physical function)");
	ok(f[0].file == f[1].file && f[1].file == f[2].file,
	   "inline frames: one interned file string");
	is_str(sym_source_line(s, f[1].file, f[1].line),
	       "sy_in2(__LINE__, l2);", "inline frame 1: source line");
	n = sym_resolve(s, &r->snap, c->addr, g, 2);
	ok(n == 2 && g[0].line == f[0].line && g[1].line == f[1].line,
	   "max 2 keeps the 2 innermost frames");

	c = rec_get(r, "recursive");
	n = sym_resolve(s, &r->snap, c->addr, f, 8);
	is_int(n, 1, "recursive call: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_recurse", r->path,
		    "recursive call");

	c = rec_get(r, "namespace");
	n = sym_resolve(s, &r->snap, c->addr, f, 8);
	is_int(n, 1, "C++ namespace: one frame");
	ok(same_file(f[0].file, srccxx), "C++ namespace: file %s is %s",
	   f[0].file, srccxx);
	is_int(f[0].line, c->lines[0], "C++ namespace: line");
	is_str(f[0].function, "hawk_fx::in_namespace(int)",
	       "C++ namespace: demangled");

	c = rec_get(r, "template");
	n = sym_resolve(s, &r->snap, c->addr, f, 8);
	tname = template_name();
	is_int(n, 1, "C++ template: one frame");
	is_int(f[0].line, c->lines[0], "C++ template: line");
	ok(strlen(f[0].function) >= 4096, "C++ template: name is %zu bytes",
	   strlen(f[0].function));
	ok(strcmp(f[0].function, tname) == 0,
	   "C++ template: demangled whole (%zu bytes expected)",
	   strlen(tname));
	free(tname);
}

static void
test_unknown(struct symbolizer *s, struct run *r)
{
	struct sym_frame f[4];
	int n;

	n = sym_resolve(s, &r->snap, 0x10, f, 4);
	is_int(n, 1, "address outside every module: one frame");
	check_frame(&f[0], "<unknown>", 0, "", "", "outside every module");
	n = sym_resolve(s, &r->snap, 0, f, 4);
	is_int(n, 1, "address 0: one frame");
	check_frame(&f[0], "<unknown>", 0, "", "", "address 0");
}

/* A module whose file cannot be read: <unknown> but its path. */
static void
test_unreadable(struct symbolizer *s)
{
	struct snap_header h = { .pid = 1, .start_time = 7, .n_modules = 1,
				 .time_ns = snap_clock++ };
	struct snap_module m = { .lo = 0x10000, .hi = 0x20000, .bias = 0x10000,
				 .path_off = 0 };
	const char *p = "/nonexistent/hawk/libnope.so";
	struct snap snap = { .buf = &h, .h = &h, .modules = &m,
			     .strings = p };
	struct sym_frame f[4];
	int n;

	m.path_len = (uint32_t)strlen(p);
	n = sym_resolve(s, &snap, 0x12345, f, 4);
	is_int(n, 1, "unreadable module: one frame");
	check_frame(&f[0], "/nonexistent/hawk/libnope.so(+0x2345)", 0, "", p,
		    "unreadable module: module and offset");
	ok(f[0].offset == 0x2345 && strcmp(f[0].build_id, "") == 0,
	   "unreadable module: offset 0x2345, no build-id");
	n = sym_resolve(s, &snap, 0x12346, f + 1, 3);
	ok(n == 1 && strcmp(f[1].file, "/nonexistent/hawk/libnope.so(+0x2346)")
	   == 0, "unreadable module: the next address is another frame");
}

static void
check_symoff(struct symbolizer *s, struct run *r, const char *label,
	     const char *name, const char *what)
{
	const struct rec *c = rec_get(r, label);
	struct sym_frame f[4];
	char want[256];
	char file[PATH_MAX + 300];
	int n;

	snprintf(want, sizeof(want), "%s+0x%" PRIx64, name, c->addr - c->fn);
	snprintf(file, sizeof(file), "%s(%s)", r->path, want);
	n = sym_resolve(s, &r->snap, c->addr, f, 4);
	is_int(n, 1, "%s %s: one frame", what, label);
	check_frame(&f[0], file, 0, want, r->path, what);
	ok(f[0].offset == c->addr - r->mods[0].bias &&
	   strlen(f[0].build_id) == 2u * r->mods[0].build_id_len &&
	   f[0].build_id[0], "%s %s: offset and build-id", what, label);
}

/*
 * Copies without DWARF: symbol+offset from .symtab, then .dynsym.  With a
 * fresh symbolizer: `warm` has seen the unstripped file of the same
 * build-id and rightly serves its DWARF for the stripped copy too.
 */
static void
test_stripped(struct symbolizer *warm)
{
	struct symbolizer *s = sym_new();
	char path[PATH_MAX + 32];
	struct sym_frame f[4];
	const struct rec *c;
	struct run r;

	snprintf(path, sizeof(path), "%s/fx-nodebug", tmpdir);
	if (run_cmd("objcopy --strip-debug '%s' '%s'", fixture, path) != 0) {
		skip("objcopy --strip-debug failed (binutils missing?)");
		sym_free(s);
		return;
	}
	run_start(&r, path);
	check_symoff(s, &r, "plain", "sy_plain", "strip-debug");
	for (int k = 0; k < 2; k++) {
		/* two local functions "sy_same": the file says which */
		char want[PATH_MAX + 128];

		c = rec_get(&r, k ? "same1" : "same0");
		snprintf(want, sizeof(want), "%s(sy_same+0x%" PRIx64
			 ") [+0x%" PRIx64 "]", path, c->addr - c->fn,
			 c->addr - r.mods[0].bias);
		ok(sym_resolve(s, &r.snap, c->addr, f, 4) == 1 &&
		   strcmp(f[0].file, want) == 0,
		   "strip-debug, a symbol name of two addresses: %s is %s",
		   f[0].file, want);
	}
	check_symoff(s, &r, "namespace", "hawk_fx::in_namespace(int)",
		     "strip-debug");
	c = rec_get(&r, "plain");
#ifndef SYM_TINY
	is_int(sym_resolve(warm, &r.snap, c->addr, f, 4), 1,
	       "strip-debug, same build-id as a file seen: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", path,
		    "strip-debug, DWARF of the same build-id");
#else
	(void)warm;
	(void)f;
	(void)c;
	skip("tiny caches: the unstripped file of this build-id is gone");
#endif
	run_end(&r);

	snprintf(path, sizeof(path), "%s/fx-stripped", tmpdir);
	if (run_cmd("strip -o '%s' '%s'", path, fixture) != 0) {
		skip("strip failed (binutils missing?)");
		sym_free(s);
		return;
	}
	run_start(&r, path);
	check_symoff(s, &r, "plain", "sy_plain", "strip-all (.dynsym)");
	check_symoff(s, &r, "namespace", "hawk_fx::in_namespace(int)",
		     "strip-all (.dynsym)");
	run_end(&r);
	sym_free(s);
}

/* Separate debug info found through .gnu_debuglink (fresh symbolizer). */
static void
test_debuglink(void)
{
	struct symbolizer *s = sym_new();
	char path[PATH_MAX + 32];
	struct sym_frame f[4];
	const struct rec *c;
	struct run r;

	snprintf(path, sizeof(path), "%s/fx-dl", tmpdir);
	if (run_cmd("cd '%s' && objcopy --only-keep-debug '%s' fx-dl.debug &&"
		    " objcopy --strip-debug --add-gnu-debuglink=fx-dl.debug"
		    " '%s' fx-dl", tmpdir, fixture, fixture) != 0) {
		skip("objcopy --add-gnu-debuglink failed");
		sym_free(s);
		return;
	}
	run_start(&r, path);
	c = rec_get(&r, "plain");
	is_int(sym_resolve(s, &r.snap, c->addr, f, 4), 1,
	       "debuglink: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", path,
		    "debuglink");
	run_end(&r);
	sym_free(s);
}

/*
 * A target in another mount namespace: its binary exists only on a tmpfs
 * mounted inside it (unshare -rm), so it can only be read through
 * /proc/<pid>/root.
 */
static void
test_mntns(void)
{
	char dir[PATH_MAX + 32], path[PATH_MAX + 64], cmd[6 * PATH_MAX];
	char *argv[] = { "unshare", "-rm", "sh", "-c", cmd, NULL };
	struct symbolizer *s;
	struct sym_frame f[4];
	const struct rec *c;
	struct run r;

	if (run_cmd("unshare -rm true 2>/dev/null") != 0) {
		skip("unshare -rm not permitted here (user namespaces)");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/ns", tmpdir);
	snprintf(path, sizeof(path), "%s/fx", dir);
	if (mkdir(dir, 0700) != 0)
		die(dir);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs none '%s' && "
		 "cp '%s' '%s' && exec '%s'", dir, fixture, path, path);
	run_start_argv(&r, path, argv);
	if (r.nrec == 0) {
		skip("could not run the fixture in a mount namespace");
		run_end(&r);
		return;
	}
	ok(access(path, F_OK) != 0, "mount namespace: %s invisible here",
	   path);
	s = sym_new();
	c = rec_get(&r, "plain");
	is_int(sym_resolve(s, &r.snap, c->addr, f, 4), 1,
	       "mount namespace: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", path,
		    "mount namespace, through /proc/<pid>/root");
	sym_free(s);
	run_end(&r);
}

/*
 * Debug info by build-id under /usr/lib/debug/.build-id (Debian's -dbg
 * packages, e.g. libc6-dbg), both when the module file has no DWARF (libc)
 * and when the file at the module's path has another build-id (rebuilt or
 * replaced): the target's build-id names the right debug file, so frames
 * must be the same as with the right file.
 */
static void
test_debug_by_build_id(struct run *r)
{
	static struct run w;
	char dbg[PATH_MAX], wrong[PATH_MAX + 32];
	struct sym_frame a[16], b[16];
	struct symbolizer *s1, *s2;
	const struct snap_module *m = NULL;
	const struct rec *c = rec_get(r, "libc");
	int na, nb, same, i, o;
	size_t soff;

	for (i = 0; i < r->nmod; i++)
		if (c->addr > r->mods[i].lo && c->addr <= r->mods[i].hi)
			m = &r->mods[i];
	if (!m || m->build_id_len < 2) {
		skip("libc has no build-id");
		return;
	}
	o = snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%02x/",
		     m->build_id[0]);
	for (uint32_t k = 1; k < m->build_id_len; k++)
		o += snprintf(dbg + o, sizeof(dbg) - (size_t)o, "%02x",
			      m->build_id[k]);
	snprintf(dbg + o, sizeof(dbg) - (size_t)o, ".debug");
	if (access(dbg, R_OK) != 0) {
		skip("no debug file for libc (install libc6-dbg)");
		return;
	}
	diag("libc %s, debug file %s", r->strings + m->path_off, dbg);
	s1 = sym_new();
	na = sym_resolve(s1, &r->snap, c->addr, a, 16);
	ok(na >= 1 && a[na - 1].line > 0 && a[0].line > 0 &&
	   strcmp(a[0].file, a[0].module) != 0 && *a[na - 1].function,
	   "libc via .build-id debug file: %d frames, %s:%u in %s", na,
	   a[0].file, a[0].line, a[na - 1].function);

	/* the same process, but its libc path now names another file */
	w = *r;
	snprintf(wrong, sizeof(wrong), "%s/not-libc.so", tmpdir);
	if (run_cmd("cp '%s' '%s'", fixture, wrong) != 0)
		die("cp");
	soff = 0;
	for (i = 0; i < w.nmod; i++)
		if (w.mods[i].path_off + w.mods[i].path_len + 1 > soff)
			soff = w.mods[i].path_off + w.mods[i].path_len + 1;
	i = (int)(m - r->mods);
	w.mods[i].path_off = (uint32_t)soff;
	w.mods[i].path_len = (uint32_t)strlen(wrong);
	memcpy(w.strings + soff, wrong, strlen(wrong) + 1);
	w.h.time_ns = snap_clock++;
	w.snap.buf = w.buf;
	w.snap.h = &w.h;
	w.snap.modules = w.mods;
	w.snap.strings = w.strings;
	s2 = sym_new();
	nb = sym_resolve(s2, &w.snap, c->addr, b, 16);
	same = na == nb;
	for (i = 0; same && i < na; i++)
		same = strcmp(a[i].file, b[i].file) == 0 &&
		       a[i].line == b[i].line &&
		       strcmp(a[i].function, b[i].function) == 0;
	ok(same, "libc path replaced by another file: frames from the "
	   "debug file of the target's build-id (%d frames)", nb);
	is_str(b[0].module, wrong, "libc path replaced: module is the path");
	sym_free(s2);
	sym_free(s1);
}

/* Copy `from` to `to` with the first byte of build-id `id` flipped. */
static int
copy_flip(const char *from, const char *to, const uint8_t *id, uint32_t len)
{
	FILE *f = fopen(from, "rb");
	char *buf, *hit = NULL;
	long size;
	int ok_ = -1;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size);
	if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size)
		hit = memmem(buf, (size_t)size, id, len);
	fclose(f);
	if (hit) {
		hit[0] ^= 0x5a;
		f = fopen(to, "wb");
		if (f && fwrite(buf, 1, (size_t)size, f) == (size_t)size)
			ok_ = 0;
		if (f && fclose(f) != 0)
			ok_ = -1;
		chmod(to, 0755);
	}
	free(buf);
	return ok_;
}

/* A binary rebuilt after the target loaded it is not served stale lines. */
static void
test_rebuilt(void)
{
	char path[PATH_MAX + 32], next[PATH_MAX + 32];
	struct symbolizer *s = sym_new();
	const struct snap_module *m;
	struct sym_frame f[4];
	const struct rec *c;
	struct run r;

	snprintf(path, sizeof(path), "%s/fx-rb", tmpdir);
	snprintf(next, sizeof(next), "%s/fx-rb.new", tmpdir);
	if (run_cmd("cp '%s' '%s'", fixture, path) != 0)
		die("cp");
	run_start(&r, path);
	m = &r.mods[0];
	ok(r.nmod > 0 && strcmp(r.strings + m->path_off, path) == 0 &&
	   m->build_id_len == 20, "rebuilt: module 0 is the copy, build-id");
	if (copy_flip(path, next, m->build_id, m->build_id_len) != 0 ||
	    rename(next, path) != 0)
		die("rebuilding");
	c = rec_get(&r, "plain");
	/* the running process still maps the file it loaded: read through
	 * /proc/<pid>/map_files, it gives the right lines */
	is_int(sym_resolve(s, &r.snap, c->addr, f, 4), 1,
	       "replaced while running: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", path,
		    "replaced while running, through /proc/<pid>/map_files");
	/* a process whose maps cannot be read (a fresh symbolizer: the
	 * first rightly caches the original under its build-id): the file at
	 * the path has another build-id, so nothing of it is served */
	run_snap(&r, r.pid + 300000, 1, 1);
	{
		struct symbolizer *s2 = sym_new();
		char want[PATH_MAX + 64];

		is_int(sym_resolve(s2, &r.snap, c->addr, f, 4), 1,
		       "build-id mismatch: one frame");

		snprintf(want, sizeof(want), "%s(+0x%" PRIx64 ")", path,
			 c->addr - r.mods[0].bias);
		check_frame(&f[0], want, 0, "", path,
			    "build-id mismatch: module and offset");
		sym_free(s2);
	}

	/* without build-ids the file identity (inode, mtime, size) says a
	 * new file replaced the old one: a new process must not get the
	 * old file's cached lines (made-up processes: the test's rights) */
	sym_cred_hook = cred_self;
	run_snap(&r, r.pid + 100000, 1, 0);
	if (run_cmd("cp '%s' '%s'", fixture, next) != 0 ||
	    rename(next, path) != 0)
		die("cp");
	is_int(sym_resolve(s, &r.snap, c->addr, f, 4), 1,
	       "no build-id: one frame");
	check_frame(&f[0], srcfile, c->lines[0], "sy_plain", path,
		    "no build-id, first file");
	snprintf(next, sizeof(next), "%s/fx-rb.new", tmpdir);
	if (run_cmd("objcopy --strip-debug '%s' '%s'", fixture, next) != 0 ||
	    rename(next, path) != 0)
		die("objcopy");
	run_snap(&r, r.pid + 200000, 1, 0);
	is_int(sym_resolve(s, &r.snap, c->addr, f, 4), 1,
	       "no build-id, file replaced: one frame");
	is_int(f[0].line, 0, "no build-id, file replaced: no stale line");
	{
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "%s(sy_plain+0x%" PRIx64 ")",
			 path, c->addr - c->fn);
		is_str(f[0].file, want,
		       "no build-id, file replaced: the new file's symbol");
	}
	sym_cred_hook = sym_cred_default;
	run_end(&r);
	sym_free(s);
}

/* --------------------------------------------------------- threads */

struct thr {
	struct symbolizer *s;
	struct run *r;
	int bad;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	struct sym_frame f[8];

	for (int it = 0; it < 300; it++)
		for (int i = 0; i < t->r->nrec; i++) {
			const struct rec *c = &t->r->recs[i];
			int n = sym_resolve(t->s, &t->r->snap, c->addr, f, 8);

			if (!c->nlines)
				continue;  /* libc: its frames are its own */
			if (n != c->nlines || (int)f[0].line != c->lines[0] ||
			    (n > 1 && (int)f[n - 1].line !=
			     c->lines[c->nlines - 1]))
				t->bad++;
			if (it % 50 == 0 && n >= 1 &&
			    !*sym_source_line(t->s, f[0].file, f[0].line))
				t->bad++;
		}
	return NULL;
}

static void
test_threads(struct run *r)
{
	struct symbolizer *s = sym_new();
	struct thr t[4];
	pthread_t tid[4];
	int bad = 0;

	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .s = s, .r = r };
		pthread_create(&tid[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		bad += t[i].bad;
	}
	is_int(bad, 0, "4 threads x 300 rounds, cold cache: every frame right");
	sym_free(s);
}

/* ---------------------------------------------------- source lines */

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* A source line read with the test's own rights (the lines a frame's
 * DWARF names are read with its target's: test_dwarf). */
static const char *
src_self(struct symbolizer *s, const char *file, uint32_t line)
{
	struct sym_cred c;

	cred_self(0, 0, &c);
	return sym_source_text(s, &c, file, line);
}

static void
test_source(struct symbolizer *s)
{
	static const char text[] =
		"\xef\xbb\xbf  first line\t \n"      /* BOM, spaces, tab */
		"\tsecond\r\n"                        /* CRLF */
		"third\rfourth \x0b\x0c\n"            /* lone CR, VT, FF */
		"\xe3\x80\x80 ideographic\xc2\xa0\n"  /* U+3000, U+00A0 */
		"\n"                                  /* empty line */
		"  caf\xc3\xa9 \x1f\n"                /* UTF-8 kept, US strip */
		"last without newline  ";
	char path[PATH_MAX + 32], dir[PATH_MAX + 32];
	const char *a, *b;

	snprintf(path, sizeof(path), "%s/src.c", tmpdir);
	write_file(path, text, sizeof(text) - 1);
	is_str(src_self(s, path, 1), "first line", "source: BOM, tab");
	is_str(sym_source_line(s, path, 1), "",
	       "source: a path no frame of the symbolizer named is not read");
	is_str(src_self(s, path, 2), "second", "source: CRLF");
	is_str(src_self(s, path, 3), "third", "source: lone CR ends");
	is_str(src_self(s, path, 4), "fourth", "source: VT FF strip");
	is_str(src_self(s, path, 5), "ideographic",
	       "source: Unicode white space stripped as str.strip()");
	is_str(src_self(s, path, 6), "", "source: empty line");
	is_str(src_self(s, path, 7), "caf\xc3\xa9",
	       "source: UTF-8 kept, \\x1f stripped");
	is_str(src_self(s, path, 8), "last without newline",
	       "source: last line without newline");
	is_str(src_self(s, path, 9), "", "source: past the end");
	is_str(src_self(s, path, 0), "", "source: line 0");
	a = src_self(s, path, 2);
	b = src_self(s, path, 2);
	ok(a == b, "source: interned, same pointer");

	write_file(path, "edited line one\nsecond line, now longer\n", 40);
	is_str(src_self(s, path, 2), "second line, now longer",
	       "source: an edit is noticed");
	is_str(src_self(s, path, 3), "", "source: edited, past end");

	write_file(path, "abc\ndef\0ghi\n", sizeof("abc\ndef\0ghi\n") - 1);
	is_str(src_self(s, path, 1), "abc",
	       "source: a NUL elsewhere does not spoil the file");
	is_str(src_self(s, path, 2), "",
	       "source: a line holding a NUL reads as \"\"");
	write_file(path, "abc\n\xff\xfe junk\n",
		   sizeof("abc\n\xff\xfe junk\n") - 1);
	is_str(src_self(s, path, 1), "", "source: invalid UTF-8");
	snprintf(path, sizeof(path), "%s/missing.c", tmpdir);
	is_str(src_self(s, path, 1), "", "source: missing file");
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	is_str(src_self(s, dir, 1), "", "source: a directory");
	snprintf(path, sizeof(path), "%s/fifo.c", tmpdir);
	if (mkfifo(path, 0600) != 0)
		die("mkfifo");
	is_str(src_self(s, path, 1), "",
	       "source: a FIFO is not read (and does not block)");
	snprintf(path, sizeof(path), "%s/noperm.c", tmpdir);
	write_file(path, "secret\n", 7);
	chmod(path, 0);
	if (geteuid() == 0)
		skip("running as root: mode 0 files are readable");
	else
		is_str(src_self(s, path, 1), "",
		       "source: unreadable file");
}

/* -------------------------------------------------- the confused deputy */

/* The first line of `path` stripped of its newline, read by the test. */
static void
first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\r\n")] = '\0';
		fclose(f);
	}
}

/* Resolve c in a snapshot of r whose module 0 is replaced by a module at
 * [0x10000, 0x10000 + size of module 0) with path `path`, which the
 * process does not map there: only `path` itself can serve it (or a file
 * of the same build-id, with_id, seen with the same rights). */
static int
resolve_as_path(struct symbolizer *s, struct run *r, const struct rec *c,
		const char *path, int with_id, struct sym_frame *f)
{
	struct run q = *r;
	struct snap_module *m = &q.mods[0];
	uint64_t rel = c->addr - r->mods[0].bias;

	m->hi = 0x10000 + (m->hi - m->lo);
	m->lo = 0x10000;
	m->bias = 0x10000 - (r->mods[0].lo - r->mods[0].bias);
	m->path_off = (uint32_t)(sizeof(q.strings) - PATH_MAX);
	m->path_len = (uint32_t)strlen(path);
	m->build_id_len = with_id ? m->build_id_len : 0;
	snprintf(q.strings + m->path_off, PATH_MAX, "%s", path);
	q.h.time_ns = snap_clock++;
	q.snap.buf = q.buf;
	q.snap.h = &q.h;
	q.snap.modules = q.mods;
	q.snap.strings = q.strings;
	return sym_resolve(s, &q.snap, m->bias + rel, f, 4);
}

/*
 * A target's debug info and module paths name files; a root responder
 * reads them only as the target's owner could.  sy-fix's record "shadow"
 * is a call whose DWARF names /etc/shadow, line 1.  As root (the owner is
 * root) the line is read; run as an unprivileged user, whose rights the
 * responder takes, it is not, and a module path of a root-only copy of
 * the fixture gives nothing of it.
 */
static void
test_deputy(struct run *root)
{
	static const char user[] = "hawk-t-symbols";
	char want[1024], priv[PATH_MAX + 32], runnable[PATH_MAX + 32];
	char uid[32], gid[32], reuid[64], regid[64];
	char *argv[] = { "setpriv", reuid, regid, "--clear-groups", runnable,
			 NULL };
	const struct rec *c = rec_get(root, "shadow");
	struct symbolizer *s = sym_new();
	struct sym_frame f[4];
	struct passwd *pw;
	struct run r;
	int n;

	first_line("/etc/shadow", want, sizeof(want));
	if (geteuid() != 0 || !*want) {
		skip("not root, or no /etc/shadow: no deputy to confuse");
		sym_free(s);
		return;
	}
	n = sym_resolve(s, &root->snap, c->addr, f, 4);
	ok(n == 1 && strcmp(f[0].file, "/etc/shadow") == 0 && f[0].line == 1,
	   "deputy: the fixture's DWARF names /etc/shadow:1");
	/* ok(), not is_str(): a failure must not print the file */
	ok(strcmp(sym_source_line(s, f[0].file, 1), want) == 0,
	   "deputy, root target: /etc/shadow's line 1 (its owner may)");

	if (!getpwnam(user))
		run_cmd("useradd -r -M -d /nonexistent -s /usr/sbin/nologin "
			"%s >/dev/null 2>&1", user);
	pw = getpwnam(user);
	if (!pw || run_cmd("command -v setpriv >/dev/null") != 0) {
		skip("cannot create user hawk-t-symbols, or no setpriv");
		sym_free(s);
		return;
	}
	snprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)pw->pw_gid);
	snprintf(reuid, sizeof(reuid), "--reuid=%s", uid);
	snprintf(regid, sizeof(regid), "--regid=%s", gid);
	/* a copy the user can run, and a copy only root can read */
	snprintf(runnable, sizeof(runnable), "%s/pub/fx", tmpdir);
	snprintf(priv, sizeof(priv), "%s/priv/fx", tmpdir);
	if (run_cmd("chmod 755 '%s' && mkdir -m 755 '%s/pub' && "
		    "mkdir -m 700 '%s/priv' && cp '%s' '%s' && cp '%s' '%s'",
		    tmpdir, tmpdir, tmpdir, fixture, runnable, fixture,
		    priv) != 0)
		die("copying the fixture");
	run_start_argv(&r, runnable, argv);
	c = rec_get(&r, "shadow");
	n = sym_resolve(s, &r.snap, c->addr, f, 4);
	ok(n == 1 && strcmp(f[0].file, "/etc/shadow") == 0 && f[0].line == 1,
	   "deputy, target of %s: its DWARF (readable) names /etc/shadow:1",
	   user);
	ok(!*sym_source_line(s, f[0].file, 1),
	   "deputy, target of %s: /etc/shadow is not read for it", user);
	c = rec_get(&r, "plain");
	n = resolve_as_path(s, &r, c, priv, 0, f);
	ok(n == 1 && f[0].line == 0 && strcmp(f[0].function, "") == 0,
	   "deputy, target of %s: a module only root can read gives no "
	   "symbol (%s:%u %s)", user, f[0].file, f[0].line, f[0].function);
	{
		/* root has read it under its build-id: not for the user */
		struct symbolizer *s2 = sym_new();
		const struct rec *rc = rec_get(root, "plain");

		n = resolve_as_path(s2, root, rc, priv, 1, f);
		ok(n == 1 && f[0].line == (uint32_t)rc->lines[0],
		   "deputy, root target: the same module path is read "
		   "(line %u)", f[0].line);
		n = resolve_as_path(s2, &r, c, priv, 1, f);
		ok(n == 1 && f[0].line == 0 && !*f[0].function,
		   "deputy, target of %s claiming its build-id: not served "
		   "from root's cache (%s:%u %s)", user, f[0].file, f[0].line,
		   f[0].function);
		sym_free(s2);
	}
	/* a pid that is not the snapshot's process: nothing is opened */
	run_snap(&r, 1, 12345, 1);
	n = sym_resolve(s, &r.snap, rec_get(&r, "plain")->addr, f, 4);
	ok(n == 1 && f[0].line == 0 && strcmp(f[0].function, "") == 0,
	   "deputy: pid 1 with another start time: nothing opened");
	run_end(&r);
	sym_free(s);
}

/* Run fn(arg) in a child; 0 when it exits 0 within `secs` seconds, else
 * the signal that ended it, or -1 on time out (the child is killed). */
static int
in_child(void (*fn)(void *), void *arg, int secs)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		alarm((unsigned)secs + 5);
		fn(arg);
		_exit(0);
	}
	for (int i = 0; i < secs * 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFSIGNALED(st) ? WTERMSIG(st) :
			       WEXITSTATUS(st) ? -2 : 0;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

struct fifo_arg {
	struct run *r;
	const char *path;
};

static void
fifo_resolve(void *arg)
{
	struct fifo_arg *a = arg;
	struct symbolizer *s = sym_new();
	struct sym_frame f[4];
	int n = resolve_as_path(s, a->r, rec_get(a->r, "plain"), a->path, 0,
				f);

	sym_free(s);
	_exit(n == 1 ? 0 : 3);
}

/* Module paths naming a FIFO or a device: never opened, never blocking. */
static void
test_untrusted_paths(struct run *r)
{
	char fifo[PATH_MAX + 32];
	struct fifo_arg a = { r, fifo };

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	if (mkfifo(fifo, 0666) != 0)
		die("mkfifo");
	is_int(in_child(fifo_resolve, &a, 20), 0,
	       "a module path naming a FIFO: resolved at once, no block");
	a.path = "/dev/zero";
	is_int(in_child(fifo_resolve, &a, 20), 0,
	       "a module path naming a device: resolved, nothing read");
}

struct trunc_arg {
	struct run *r;
	const char *path;
};

/* Resolve the plain call, cut the module file to nothing, resolve the
 * other records: with the file mapped by libdw, SIGBUS. */
static void
trunc_resolve(void *arg)
{
	struct trunc_arg *a = arg;
	struct symbolizer *s = sym_new();
	const struct rec *c = rec_get(a->r, "namespace");
	struct sym_frame f[4];
	int n;

	resolve_as_path(s, a->r, rec_get(a->r, "plain"), a->path, 0, f);
	if (truncate(a->path, 0) != 0)
		_exit(4);
	for (int i = 0; i < a->r->nrec; i++)
		resolve_as_path(s, a->r, &a->r->recs[i], a->path, 0, f);
	n = resolve_as_path(s, a->r, c, a->path, 0, f);
	/* the private copy still has the DWARF */
	if (n == 1 && (int)f[0].line == c->lines[0])
		_exit(0);
	printf("# after the cut: %d frames, %s:%u %s\n", n, f[0].file,
	       f[0].line, f[0].function);
	fflush(stdout);
	_exit(3);
}

/*
 * A module file whose owner (not root) cuts it after libdw opened it: the
 * responder must not die of SIGBUS.  The module is a copy of the fixture
 * owned by nobody (so it is given to libdw as a private copy, not mapped).
 */
static void
test_truncated(struct run *r)
{
	char path[PATH_MAX + 32];
	struct trunc_arg a = { r, path };

	snprintf(path, sizeof(path), "%s/fx-trunc", tmpdir);
	if (run_cmd("cp '%s' '%s' && chown 65534 '%s'", fixture, path,
		    path) != 0)
		die("cp");
	is_int(in_child(trunc_resolve, &a, 30), 0,
	       "module file truncated under the symbolizer: no SIGBUS, "
	       "its DWARF still served");
}

int
main(void)
{
	const char *b = getenv("top_builddir"), *src = getenv("top_srcdir");
	struct symbolizer *s;
	struct run r;
	char p[PATH_MAX + 64];

	signal(SIGPIPE, SIG_IGN);
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/sy-fix",
		 b ? b : ".");
	snprintf(p, sizeof(p), "%s/tests/fixtures/sy-fix.c", src ? src : ".");
	if (!realpath(p, srcfile))
		die(p);
	snprintf(p, sizeof(p), "%s/tests/fixtures/sy-fix-cxx.cc",
		 src ? src : ".");
	if (!realpath(p, srccxx))
		die(p);
	if (access(fixture, X_OK) != 0)
		die(fixture);
	snprintf(fixture_nopie, sizeof(fixture_nopie),
		 "%s/tests/fixtures/sy-fix-nopie", b ? b : ".");
	snprintf(tmpdir, sizeof(tmpdir), "%s/hawk-t-symbols.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");

	s = sym_new();
	ok(s != NULL, "sym_new");
	run_start(&r, fixture);
	ok(r.nmod >= 2 && r.nrec == 9, "fixture: %d modules, %d records",
	   r.nmod, r.nrec);
	test_dwarf(s, &r);
	test_unknown(s, &r);
	{
		struct run np;

		/* position-dependent: bias 0, ELF addresses at run time */
		run_start(&np, fixture_nopie);
		ok(np.nmod >= 2 && np.mods[0].bias == 0,
		   "no-PIE fixture: load bias 0");
		test_dwarf(s, &np);
		run_end(&np);
	}
	test_unreadable(s);
	test_stripped(s);
	test_debuglink();
	test_rebuilt();
	test_mntns();
	test_debug_by_build_id(&r);
	test_threads(&r);
	test_source(s);
	test_deputy(&r);
	test_untrusted_paths(&r);
	test_truncated(&r);
	run_end(&r);
	sym_free(s);

	run_cmd("rm -rf '%s'", tmpdir);
	return done_testing();
}
