/* SPDX-License-Identifier: MIT */
/*
 * t-snapstat.c - symbolization of a snapshot into a statistics set
 * (fcgi/snapstat.c): return addresses of this very program, one of them
 * inside an inlined call, go through the real symbolizer; the traceback is
 * expanded (the inlined call is a frame of its own, innermost first), then
 * cut to the traceback limit keeping the most recent frames, and
 * total_nframe grows by the inline frames found.  The snapshot is a file
 * read once through snap_stream, as the responder reads one.  Also the
 * UTF-8 repair of names (fcgi/textpool.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapstat.h"
#include "proc-stat.h"
#include "snap-build.h"
#include "tap.h"

#define NOIPA __attribute__((noipa))

static uint64_t site_inl, site_plain;
static const int line_probe = __LINE__ + 12, line_inl_call = __LINE__ + 18;
static const int line_plain = __LINE__ + 24;

NOIPA static void
probe(uint64_t *where)
{
	*where = (uintptr_t)__builtin_return_address(0);
}

static inline __attribute__((always_inline)) void
inl(void)
{
	probe(&site_inl);
}

NOIPA static void
outer(void)
{
	inl();
	__asm__ volatile("" ::: "memory");
}

NOIPA static void
plain(void)
{
	probe(&site_plain);
	__asm__ volatile("" ::: "memory");
}

/* The main program's module entry, as the tracer publishes it. */
static struct snap_module prog;  /* snap_program_module */


/* A snapshot stream (tests/snap-build.h), saved as "<dir>/<pid>.snap.1",
 * of two traces with traceback
 * limit `limit`:
 *   0: [site_inl, site_plain], total_nframe 5, blocks 100 + 28
 *   1: [site_inl], total_nframe 1, one block of 7 */
static int
make_snap_bad(const char *dir, char *exe, uint32_t limit, int bad)
{
	struct snap_header h = { 0 };
	struct snap_module m = { 0 };
	struct snap_trace t[2] = { { 0 } };
	uint64_t frames[3], sizes[3] = { 100, 28, 7 };
	struct snap_bytes bytes;
	char path[PATH_MAX];
	size_t plen = strlen(exe);
	int fd, rc;

	h.pid = getpid();
	/* the symbolizer reads a process's files only with its rights,
	 * known only for the process the pid and start time name */
	h.start_time = proc_start_time(getpid());
	h.frames = limit;
	m.lo = prog.lo;
	m.hi = prog.hi;
	m.bias = prog.bias;
	m.path_off = 0;
	m.path_len = (uint32_t)plen;
	frames[0] = site_inl;
	frames[1] = site_plain;
	frames[2] = site_inl;
	t[0] = (struct snap_trace){ .size = 128, .count = 2, .block_first = 0,
				    .frame_first = 0, .nframes = 2,
				    .total_nframe = 5, .est_count = 2,
				    .est_size = 128 };
	t[1] = (struct snap_trace){ .size = 7, .count = 1, .block_first = 2,
				    .frame_first = 2, .nframes = 1,
				    .total_nframe = 1, .est_count = 1,
				    .est_size = 7 };
	if (bad)       /* trace 1 malformed: no frame */
		t[1].nframes = 0;
	h.n_modules = 1;
	h.strings_size = plen + 1;
	h.flags = SNAP_F_SIZES;
	snap_build(&bytes, &h, &m, exe, t, 2, frames, sizes, 0);
	snprintf(path, sizeof(path), "%s/%d.snap.1", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = fd >= 0 && write(fd, bytes.buf, bytes.len) ==
	     (ssize_t)bytes.len ? 0 : -1;
	if (fd >= 0)
		close(fd);
	free(bytes.buf);
	return rc;
}

static int
make_snap(const char *dir, char *exe, uint32_t limit)
{
	return make_snap_bad(dir, exe, limit, 0);
}

/* The file make_snap wrote, unlinked, as a stream in *ss; 0 or -errno. */
static int
open_snap(const char *dir, struct snap_stream *ss, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d.snap.1", dir, (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	if (fd < 0)
		return -errno;
	return snap_stream_fdopen(ss, fd, 0, path, err, errlen);
}

/* Open the file make_snap wrote, read it once into a fresh set in
 * SNAPSTAT_PICKLE mode (the mode that keeps every block's size), whose
 * flush hands the set over to `check`; 0 or the error. */
static int
stream_into(const char *dir, struct symbolizer *sym, struct textpool *pool,
	    int (*check)(void *, struct st_set *))
{
	struct snapstat_hooks hk = { .flush = check };
	struct snap_stream ss;
	struct st_set set;
	char err[256];
	int rc;

	rc = open_snap(dir, &ss, err, sizeof(err));
	if (rc) {
		diag("snap_stream_fdopen: %s", err);
		return rc;
	}
	st_set_init(&set);
	rc = snapstat_add_stream(sym, &ss, ST_NEW, SNAPSTAT_PICKLE, &set,
				 pool, &hk, err, sizeof(err));
	if (rc)
		diag("snapstat_add_stream: %s", err);
	snap_stream_close(&ss);
	st_set_free(&set);
	return rc;
}

static const struct st_frame *
fr(const struct st_set *set, size_t t, uint32_t i)
{
	return &set->frames[set->ids[set->traces[t].ids_off + i]];
}

static const char *exe_path;
static int flushes;

/* The set of the limit-2 snapshot, as the pickle's chunk gets it. */
static int
check_limit2(void *arg, struct st_set *set)
{
	(void)arg;
	flushes++;
	is_int(set->n_traces, 2, "two traces");
	is_int(set->n_pids, 1, "one target");
	is_int(set->pids[0], getpid(), "target is this pid");
	is_int(set->traces[0].nframes, 2, "trace 0 cut to the limit (2)");
	is_str(fr(set, 0, 0)->function, "inl", "frame 0: the inlined call");
	is_int(fr(set, 0, 0)->line, line_probe, "frame 0 line");
	is_str(fr(set, 0, 1)->function, "outer", "frame 1: its caller");
	is_int(fr(set, 0, 1)->line, line_inl_call, "frame 1 line");
	ok(strstr(fr(set, 0, 0)->file, "t-snapstat.c") != NULL,
	   "file from DWARF");
	is_str(fr(set, 0, 0)->module, exe_path, "module is the program");
	is_int(set->traces[0].total_nframe, 6,
	       "total_nframe 5 + 1 inline frame");
	is_int(set->traces[0].count, 2, "two blocks");
	ok(set->traces[0].sizes && set->traces[0].sizes[0] == 100 &&
	   set->traces[0].sizes[1] == 28, "block sizes as read");
	is_int(set->traces[1].nframes, 2, "trace 1: one address, two frames");
	is_int(set->traces[1].total_nframe, 2, "trace 1 total_nframe 1 + 1");
	ok(set->ids[set->traces[1].ids_off] == set->ids[set->traces[0].ids_off],
	   "same address, same interned frame");
	return 0;
}

static int
check_limit3(void *arg, struct st_set *set)
{
	(void)arg;
	flushes++;
	ok(set->traces[0].nframes == 3 &&
	   strcmp(fr(set, 0, 2)->function, "plain") == 0 &&
	   fr(set, 0, 2)->line == (uint32_t)line_plain,
	   "limit 3: inl, outer, plain");
	return 0;
}

int
main(void)
{
	struct textpool pool = { 0 };
	struct symbolizer *sym;
	char exe[PATH_MAX], dir[] = "/tmp/t-snapstat.XXXXXX";
	ssize_t l;
	const char *r;

	outer();
	plain();
	snap_program_module(&prog);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0 || !mkdtemp(dir))
		return 1;
	exe[l] = '\0';
	exe_path = exe;
	if (make_snap(dir, exe, 2)) {
		ok(0, "snapshot built");
		rmdir(dir);
		return done_testing();
	}
	sym = sym_new();
	ok(stream_into(dir, sym, &pool, check_limit2) == 0 && flushes == 1,
	   "snapstat_add_stream, read once");

	/* a larger limit keeps the third frame */
	flushes = 0;
	ok(make_snap(dir, exe, 3) == 0 &&
	   stream_into(dir, sym, &pool, check_limit3) == 0 && flushes == 1,
	   "limit 3 read once");

	/* trace 1 malformed: the stream fails after trace 0 was added, and
	 * the set is left as it was (another target's trace only), in every
	 * mode that adds to it */
	{
		static const enum snapstat_agg modes[] = {
			SNAPSTAT_FULL, SNAPSTAT_FRAME0, SNAPSTAT_EACH_FRAME,
		};
		struct snap_stream ss;
		struct st_set set;
		char err[256];
		uint32_t id;
		size_t m;
		int rc, other, good = 1;

		for (m = 0; m < 3; m++) {
			st_set_init(&set);
			other = st_target(&set, 4242);
			id = (uint32_t)st_frame_intern(&set, "o.c", 1, "o", "");
			st_trace_add(&set, (uint32_t)other, ST_NEW, &id, 1, 1, 5,
				     1, NULL);
			rc = make_snap_bad(dir, exe, 2, 1);
			if (!rc)
				rc = open_snap(dir, &ss, err, sizeof(err));
			if (!rc) {
				rc = snapstat_add_stream(sym, &ss, ST_NEW,
							 modes[m], &set, &pool,
							 NULL, err,
							 sizeof(err));
				snap_stream_close(&ss);
			}
			if (rc != -EPROTO || set.n_traces != 1 ||
			    set.traces[0].target != (uint32_t)other ||
			    set.traces[0].size != 5) {
				diag("mode %zu: rc %d, %zu traces", m, rc,
				     set.n_traces);
				good = 0;
			}
			st_set_free(&set);
		}
		ok(good, "a snapshot malformed half-way: -EPROTO, and what its "
		   "target added is dropped again (full, lineno, cumulative)");
	}
	sym_free(sym);
	rmdir(dir);

	r = textpool_utf8(&pool, "plain/ascii.c");
	is_str(r, "plain/ascii.c", "valid text kept");
	r = textpool_utf8(&pool, "caf\xc3\xa9/\xe2\x82\xac.c");
	is_str(r, "caf\xc3\xa9/\xe2\x82\xac.c", "valid UTF-8 kept");
	r = textpool_utf8(&pool, "bad\xff" "x\xc3" "y\xed\xa0\x80.c");
	/* what python3 -c "print(b'bad\\xffx\\xc3y\\xed\\xa0\\x80.c'.decode(
	 * 'utf-8', 'backslashreplace'))" prints */
	is_str(r, "bad\\xffx\\xc3y\\xed\\xa0\\x80.c", "each bad byte "
	       "becomes \\xNN, as Python's backslashreplace (surrogates are "
	       "bad)");
	textpool_free(&pool);
	return done_testing();
}
