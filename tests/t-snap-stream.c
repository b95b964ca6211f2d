/* SPDX-License-Identifier: MIT */
/*
 * t-snap-stream.c - unit test of ipc/snap_stream.c, the one parser of
 * snapshot streams (segment.h, SNAPSHOT STREAM), reading through a
 * bounded buffer.
 *
 * Streams are built by hand (tests/snap-build.h) and fed through pipes,
 * the large one by a child writing while the reader reads: a small one
 * whose every value is checked as the stream yields it (sizes read in
 * pieces of one; the totals known only at the end), a large one of many
 * buffers, then corrupted copies:
 * each is refused with -EPROTO and a reason naming the source and the
 * field, at the point where the bad bytes are read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seg_read.h"
#include "snap-build.h"
#include "tap.h"

#define BAIL_OUT(...) do { printf("Bail out! " __VA_ARGS__); \
	printf("\n"); exit(1); } while (0)

static char err[8192];

#define N_MOD 2
#define N_TR 3
#define N_FR 6
#define N_SZ 6
static const char strings[] = "/usr/bin/prog\0/lib/libc.so.6\0\0\0";
static const uint64_t frames_v[N_FR] = {
	0x555555555123, 0x7f0000001000,
	0x555555556000, 0x55555555f000, 0x7f00000ff000,
	0x1234,
};
static const uint64_t sizes_v[N_SZ] = { 100, 28, 4096, 1, 2, 3 };

struct parts {
	struct snap_header h;
	struct snap_module m[N_MOD];
	struct snap_trace t[N_TR];
	uint64_t sizes[N_SZ];
};

static void
good_parts(struct parts *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	p->h.pid = 4242;
	p->h.frames = 3;
	strcpy(p->h.name, "prog");
	p->h.flags = SNAP_F_SIZES;
	p->h.n_modules = N_MOD;
	p->h.strings_size = sizeof(strings);
	p->m[0] = (struct snap_module){ .lo = 0x555555554000,
		.hi = 0x555555560000, .path_off = 0, .path_len = 13 };
	p->m[1] = (struct snap_module){ .lo = 0x7f0000000000,
		.hi = 0x7f0000100000, .path_off = 14, .path_len = 14 };
	p->t[0] = (struct snap_trace){ .size = 128, .count = 2, .nframes = 2,
		.total_nframe = 2 };
	p->t[1] = (struct snap_trace){ .size = 4096, .count = 1, .nframes = 3,
		.total_nframe = 5 };
	p->t[2] = (struct snap_trace){ .size = 6, .count = 3, .nframes = 1,
		.total_nframe = 1 };
	for (i = 0; i < N_TR; i++) {       /* exact: estimates = figures */
		p->t[i].est_count = p->t[i].count;
		p->t[i].est_size = p->t[i].size;
	}
	memcpy(p->sizes, sizes_v, sizeof(sizes_v));
}

static void
build(struct snap_bytes *b, const struct parts *p)
{
	snap_build(b, &p->h, p->m, strings, p->t, N_TR, frames_v, p->sizes,
		   9000);
}

/* The bytes into a pipe written by a child (as fast as the reader
 * reads); the read end opened as a stream named "pipe". */
static pid_t writer;

static int
open_pipe(struct snap_stream *ss, const struct snap_bytes *b)
{
	int fds[2];

	if (pipe(fds) < 0)
		BAIL_OUT("pipe");
	writer = fork();
	if (writer == 0) {
		size_t off = 0;

		close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		while (off < b->len) {
			ssize_t n = write(fds[1], b->buf + off, b->len - off);

			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	return snap_stream_fdopen(ss, fds[0], 0, "pipe", err, sizeof(err));
}

static void
close_pipe(struct snap_stream *ss)
{
	snap_stream_close(ss);
	if (writer > 0) {
		kill(writer, SIGKILL);
		waitpid(writer, NULL, 0);
	}
	writer = 0;
}

/* Read every trace (sizes one at a time); 0 at the end or the error. */
static int
drain(struct snap_stream *ss, uint64_t *n_traces, uint64_t *n_blocks,
      uint64_t *bytes)
{
	struct snap_trace t;
	const uint64_t *f;
	uint64_t v;
	long got;
	int rc;

	*n_traces = *n_blocks = *bytes = 0;
	while ((rc = snap_stream_next(ss, &t, &f, err, sizeof(err))) == 1) {
		(*n_traces)++;
		while ((got = snap_stream_sizes(ss, &v, 1, err,
						sizeof(err))) == 1) {
			(*n_blocks)++;
			*bytes += v;
		}
		if (got < 0)
			return (int)got;
	}
	return rc;
}

static void
test_good(void)
{
	struct snap_stream ss;
	struct snap_trace t;
	struct snap_bytes b;
	struct parts p;
	const uint64_t *f;
	uint64_t v[8], nt, nb, bytes;
	int rc, i, fr_ok = 1;

	good_parts(&p);
	build(&b, &p);
	rc = open_pipe(&ss, &b);
	is_int(rc, 0, "valid stream opens");
	if (rc) {
		diag("%s", err);
		close_pipe(&ss);
		free(b.buf);
		return;
	}
	is_int(ss.h.n_traces, 0, "header: totals unknown before the end");
	is_str(snap_module_path(&ss.snap, 1), "/lib/libc.so.6", "module 1");
	rc = snap_stream_next(&ss, &t, &f, err, sizeof(err));
	is_int(rc, 1, "trace 0");
	is_int(t.size, 128, "trace 0 size");
	for (i = 0; i < 2; i++)
		fr_ok &= f[i] == frames_v[i];
	ok(fr_ok, "trace 0 frames");
	is_int(snap_stream_sizes(&ss, v, 8, err, sizeof(err)), 2,
	       "trace 0: its 2 sizes");
	ok(v[0] == 100 && v[1] == 28, "trace 0: 100 and 28");
	is_int(snap_stream_sizes(&ss, v, 8, err, sizeof(err)), 0,
	       "trace 0: no more sizes");
	rc = snap_stream_next(&ss, &t, &f, err, sizeof(err));
	ok(rc == 1 && t.total_nframe == 5 && f[2] == frames_v[4],
	   "trace 1 (its sizes left unread)");
	rc = snap_stream_next(&ss, &t, &f, err, sizeof(err));
	ok(rc == 1 && t.count == 3 && f[0] == 0x1234, "trace 2");
	is_int(snap_stream_sizes(&ss, v, 1, err, sizeof(err)), 1,
	       "trace 2: one size at a time");
	is_int(snap_stream_next(&ss, &t, &f, err, sizeof(err)), 0,
	       "end after trace 2");
	ok(ss.h.n_traces == 3 && ss.h.n_sizes == 6 && ss.h.n_frames == 6 &&
	   ss.h.traced_current == 4230 && ss.h.traced_peak == 9000 &&
	   ss.h.file_size == b.len, "after the end: the trailer's totals");
	is_int(snap_stream_next(&ss, &t, &f, err, sizeof(err)), 0,
	       "and the end again");
	close_pipe(&ss);

	/* without sizes: the figures, no sizes to read */
	p.h.flags = 0;
	free(b.buf);
	build(&b, &p);
	rc = open_pipe(&ss, &b);
	rc = rc ? rc : drain(&ss, &nt, &nb, &bytes);
	ok(rc == 0 && nt == 3 && nb == 0 && ss.h.traced_current == 4230,
	   "no sizes: 3 traces, no blocks to read, 4230 bytes");
	close_pipe(&ss);
	free(b.buf);
}

/* A stream of many buffers: 50000 traces of 1..3 frames, 7 blocks each,
 * read while a child writes it. */
static void
test_large(void)
{
	const uint64_t nt = 50000, per = 7;
	struct snap_trace *t = calloc(nt, sizeof(*t));
	uint64_t *fr = calloc(nt * 3, 8), *sz = calloc(nt * per, 8);
	uint64_t nf = 0, i, j, got_t, got_b, bytes, want = 0;
	struct snap_header h;
	struct snap_stream ss;
	struct snap_bytes b;
	int rc;

	memset(&h, 0, sizeof(h));
	h.pid = 4242;
	h.frames = 3;
	h.flags = SNAP_F_SIZES;
	h.strings_size = 1;
	for (i = 0; i < nt; i++) {
		t[i].count = per;
		t[i].nframes = t[i].total_nframe = (uint32_t)(1 + i % 3);
		for (j = 0; j < t[i].nframes; j++)
			fr[nf++] = 0x1000 + i;
		for (j = 0; j < per; j++) {
			uint64_t s = 16 + (i * per + j) % 1000;

			sz[i * per + j] = s;
			t[i].size += s;
			want += s;
		}
		t[i].est_count = t[i].count;
		t[i].est_size = t[i].size;
	}
	snap_build(&b, &h, NULL, "", t, nt, fr, sz, 0);
	free(t);
	free(fr);
	free(sz);
	ok(b.len > 64 * SNAP_WINDOW, "large: %zu bytes, many buffers", b.len);
	rc = open_pipe(&ss, &b);
	is_int(rc, 0, "large stream opens");
	rc = rc ? rc : drain(&ss, &got_t, &got_b, &bytes);
	ok(rc == 0 && got_t == nt && got_b == nt * per && bytes == want &&
	   ss.h.traced_current == want,
	   "large: every trace, block and byte");
	close_pipe(&ss);
	free(b.buf);
}

/* A corrupted stream: -EPROTO with `why` in the reason, which names the
 * source, by the time the stream has been read to its end. */
static void
bad(struct snap_bytes *b, const char *why)
{
	struct snap_stream ss;
	uint64_t a, c, d;
	int rc;

	err[0] = '\0';
	rc = open_pipe(&ss, b);
	if (rc == 0)
		rc = drain(&ss, &a, &c, &d);
	close_pipe(&ss);
	free(b->buf);
	is_int(rc, -EPROTO, "%s: -EPROTO", why);
	ok(strstr(err, why) && strncmp(err, "pipe: ", 6) == 0,
	   "%s: reason names the source and the field", why);
	if (!strstr(err, why))
		diag("got: %s", err);
}

static void
test_bad(void)
{
	struct snap_bytes b;
	struct parts p;

#define BAD(stmt, why) do { good_parts(&p); stmt; build(&b, &p); \
	bad(&b, why); } while (0)
#define BADB(stmt, why) do { good_parts(&p); build(&b, &p); stmt; \
	bad(&b, why); } while (0)
#define REC(i) ((struct snap_trace *)(b.buf + b.trace_off[i]))
#define TRL ((struct snap_trailer *)(b.buf + b.trailer_off))
	BAD(p.h.magic = 1, "bad magic");
	BAD(p.h.version = 99, "version 99");
	BAD(p.h.header_size = 8, "header size 8");
	BAD(p.h.pid = 0, "bad pid 0");
	BAD(p.h.frames = 513, "frames 513 out of range");
	BAD(memset(p.h.name, 'x', SEG_NAME_MAX), "name not NUL-terminated");
	BADB(((struct snap_header *)b.buf)->n_modules = UINT64_MAX / 8,
	     "modules, too many");
	BAD(p.m[1].lo = p.m[1].hi + 1, "module 1: lo > hi");
	BAD(p.m[0].build_id_len = 33, "module 0: build-id length");
	BAD(p.m[1].path_off = UINT32_MAX, "module 1: path out of range");
	BAD(p.m[0].path_len = 12, "module 0: path not NUL-terminated");
	BAD(p.t[1].nframes = 0, "trace 1: nframes 0 out of range");
	BAD(p.t[1].total_nframe = 2, "trace 1: total_nframe < nframes");
	BADB(REC(2)->frame_first = 6, "trace 2: frames start at 6, not 5");
	BADB(REC(2)->block_first = 2, "trace 2: blocks start at 2, not 3");
	BADB(REC(0)->tag = 0, "trace 0: bad record tag");
	BAD((p.t[2].count = p.t[2].est_count = 0,
	     p.t[2].size = p.t[2].est_size = 0), "trace 2: no blocks");
	BAD((p.t[1].size = p.t[1].est_size = 4095),
	    "trace 1: size 4095 is not the sum");
	BAD(p.t[1].est_size = 4095, "trace 1: estimate of");
	BAD(p.h.view = 3, "view 3 unknown");
	BAD(p.h.sampling_bytes = (1ull << 30) + 1, "sampling rate");
	BAD(p.h.view = SNAP_VIEW_ALLOCATED, "block sizes in an allocated view");
	BAD((p.sizes[0] = UINT64_MAX, p.sizes[1] = 129),
	    "trace 0: size overflows");
	BADB(TRL->n_sizes = 7, "trailer: 3 traces, 6 frames, 7 sizes");
	BADB(TRL->traced_current = 1, "trailer: traced memory 1 is not");
	BADB(b.len -= 8, "trailer: stream ends early");
	BADB(b.len = b.trace_off[1] + sizeof(struct snap_trace) + 8,
	     "frames: stream ends early");
#undef BAD
#undef BADB
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_good();
	test_large();
	test_bad();
	return done_testing();
}
