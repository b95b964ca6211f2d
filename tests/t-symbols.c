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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	run_snap(r, r->pid, 1000, 1);
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
	 * old file's cached lines */
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
	is_str(sym_source_line(s, path, 1), "first line", "source: BOM, tab");
	is_str(sym_source_line(s, path, 2), "second", "source: CRLF");
	is_str(sym_source_line(s, path, 3), "third", "source: lone CR ends");
	is_str(sym_source_line(s, path, 4), "fourth", "source: VT FF strip");
	is_str(sym_source_line(s, path, 5), "ideographic",
	       "source: Unicode white space stripped as str.strip()");
	is_str(sym_source_line(s, path, 6), "", "source: empty line");
	is_str(sym_source_line(s, path, 7), "caf\xc3\xa9",
	       "source: UTF-8 kept, \\x1f stripped");
	is_str(sym_source_line(s, path, 8), "last without newline",
	       "source: last line without newline");
	is_str(sym_source_line(s, path, 9), "", "source: past the end");
	is_str(sym_source_line(s, path, 0), "", "source: line 0");
	a = sym_source_line(s, path, 2);
	b = sym_source_line(s, path, 2);
	ok(a == b, "source: interned, same pointer");

	write_file(path, "edited line one\nsecond line, now longer\n", 40);
	is_str(sym_source_line(s, path, 2), "second line, now longer",
	       "source: an edit is noticed");
	is_str(sym_source_line(s, path, 3), "", "source: edited, past end");

	write_file(path, "abc\ndef\0ghi\n", sizeof("abc\ndef\0ghi\n") - 1);
	is_str(sym_source_line(s, path, 1), "abc",
	       "source: a NUL elsewhere does not spoil the file");
	is_str(sym_source_line(s, path, 2), "",
	       "source: a line holding a NUL reads as \"\"");
	write_file(path, "abc\n\xff\xfe junk\n",
		   sizeof("abc\n\xff\xfe junk\n") - 1);
	is_str(sym_source_line(s, path, 1), "", "source: invalid UTF-8");
	snprintf(path, sizeof(path), "%s/missing.c", tmpdir);
	is_str(sym_source_line(s, path, 1), "", "source: missing file");
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	is_str(sym_source_line(s, dir, 1), "", "source: a directory");
	snprintf(path, sizeof(path), "%s/fifo.c", tmpdir);
	if (mkfifo(path, 0600) != 0)
		die("mkfifo");
	is_str(sym_source_line(s, path, 1), "",
	       "source: a FIFO is not read (and does not block)");
	snprintf(path, sizeof(path), "%s/noperm.c", tmpdir);
	write_file(path, "secret\n", 7);
	chmod(path, 0);
	if (geteuid() == 0)
		skip("running as root: mode 0 files are readable");
	else
		is_str(sym_source_line(s, path, 1), "",
		       "source: unreadable file");
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
	ok(r.nmod >= 2 && r.nrec == 6, "fixture: %d modules, %d records",
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
	run_end(&r);
	sym_free(s);

	run_cmd("rm -rf '%s'", tmpdir);
	return done_testing();
}
