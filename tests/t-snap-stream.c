/* SPDX-License-Identifier: MIT */
/*
 * t-snap-stream.c - unit test of ipc/snap_stream.c, the snapshot reader
 * that reads through bounded windows.
 *
 * Builds snapshot files by hand from segment.h alone: a small one whose
 * every value is checked as the stream yields it (sizes read in pieces of
 * one), a large one whose arrays span many windows, then corrupted copies
 * of the small one, one field at a time: each is refused with -EPROTO and
 * a reason naming the file and the field, before or while the traces are
 * read, and snap_stream_check finds it before any trace is used.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_read.h"
#include "tap.h"

#define BAIL_OUT(...) do { printf("Bail out! " __VA_ARGS__); \
	printf("\n"); exit(1); } while (0)

static char dir[PATH_MAX];
static char err[8192];

#define N_MOD 2
#define N_TR 3
#define N_FR 6
#define N_SZ 6
static const char strings[] = "/usr/bin/prog\0/lib/libc.so.6\0\0\0";
#define OFF_MOD  sizeof(struct snap_header)
#define OFF_TR   (OFF_MOD + N_MOD * sizeof(struct snap_module))
#define OFF_FR   (OFF_TR + N_TR * sizeof(struct snap_trace))
#define OFF_SZ   (OFF_FR + N_FR * 8)
#define OFF_STR  (OFF_SZ + N_SZ * 8)
#define SNAP_LEN (OFF_STR + sizeof(strings))

#define HDR(b)   ((struct snap_header *)(b))
#define MOD(b)   ((struct snap_module *)((char *)(b) + OFF_MOD))
#define TR(b)    ((struct snap_trace *)((char *)(b) + OFF_TR))
#define SZ(b)    ((uint64_t *)((char *)(b) + OFF_SZ))

static const uint64_t frames_v[N_FR] = {
	0x555555555123, 0x7f0000001000,
	0x555555556000, 0x55555555f000, 0x7f00000ff000,
	0x1234,
};
static const uint64_t sizes_v[N_SZ] = { 100, 28, 4096, 1, 2, 3 };

static void
header(struct snap_header *h, uint64_t len)
{
	h->magic = SNAP_MAGIC;
	h->version = SNAP_VERSION;
	h->header_size = sizeof(*h);
	h->file_size = len;
	h->pid = 4242;
	h->frames = 3;
	strcpy(h->name, "prog");
}

static void *
good_snap(void)
{
	char *b = calloc(1, SNAP_LEN);
	struct snap_header *h = HDR(b);
	struct snap_module *m = MOD(b);
	struct snap_trace *t = TR(b);
	int i;

	header(h, SNAP_LEN);
	h->traced_current = 4230;
	h->n_modules = N_MOD; h->modules_off = OFF_MOD;
	h->n_traces = N_TR; h->traces_off = OFF_TR;
	h->n_frames = N_FR; h->frames_off = OFF_FR;
	h->n_sizes = N_SZ; h->sizes_off = OFF_SZ;
	h->strings_size = sizeof(strings); h->strings_off = OFF_STR;
	m[0] = (struct snap_module){ .lo = 0x555555554000,
		.hi = 0x555555560000, .path_off = 0, .path_len = 13 };
	m[1] = (struct snap_module){ .lo = 0x7f0000000000,
		.hi = 0x7f0000100000, .path_off = 14, .path_len = 14 };
	t[0] = (struct snap_trace){ .size = 128, .count = 2,
		.block_first = 0, .frame_first = 0, .nframes = 2,
		.total_nframe = 2 };
	t[1] = (struct snap_trace){ .size = 4096, .count = 1,
		.block_first = 2, .frame_first = 2, .nframes = 3,
		.total_nframe = 5 };
	t[2] = (struct snap_trace){ .size = 6, .count = 3,
		.block_first = 3, .frame_first = 5, .nframes = 1,
		.total_nframe = 1 };
	for (i = 0; i < N_TR; i++) {       /* exact: estimates = figures */
		t[i].est_count = t[i].count;
		t[i].est_size = t[i].size;
	}
	memcpy(b + OFF_FR, frames_v, sizeof(frames_v));
	memcpy(SZ(b), sizes_v, sizeof(sizes_v));
	memcpy(b + OFF_STR, strings, sizeof(strings));
	return b;
}

static void
write_file(uint32_t seq, const void *buf, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/4242.snap.%u", dir, seq);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		BAIL_OUT("writing %s", path);
	close(fd);
}

static int
exists(uint32_t seq)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/4242.snap.%u", dir, seq);
	return access(path, F_OK) == 0;
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
	const uint64_t *f;
	uint64_t v[8], nt, nb, bytes;
	int rc, i, fr_ok = 1;
	void *b = good_snap();

	write_file(1, b, SNAP_LEN);
	rc = snap_stream_open(&ss, dir, 4242, 1, getuid(), 0, err, sizeof(err));
	is_int(rc, 0, "valid snapshot opens");
	if (rc) {
		diag("%s", err);
		free(b);
		return;
	}
	ok(!exists(1), "opening unlinks the file");
	is_int(ss.h.traced_current, 4230, "header: current");
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
	is_int(snap_stream_check(&ss, err, sizeof(err)), 0, "check: valid");
	rc = drain(&ss, &nt, &nb, &bytes);
	ok(rc == 0 && nt == 3 && nb == 6 && bytes == 4230,
	   "rewound: 3 traces, 6 blocks, 4230 bytes");
	snap_stream_close(&ss);

	write_file(2, b, SNAP_LEN);
	is_int(snap_stream_open(&ss, dir, 4242, 2, getuid() + 1, 0, err,
				sizeof(err)), -EPERM, "other owner: -EPERM");
	ok(exists(2), "another owner's file is left alone");
	write_file(2, b, SNAP_LEN - 8);
	is_int(snap_stream_open(&ss, dir, 4242, 2, getuid(), 0, err,
				sizeof(err)), -EPROTO, "truncated: -EPROTO");
	ok(strstr(err, "/4242.snap.2: file size") != NULL,
	   "truncated: the reason names the file");
	ok(!exists(2), "an invalid snapshot is unlinked too");
	free(b);
}

/* A snapshot whose arrays span many windows: 50000 traces of 1..3 frames,
 * 7 blocks each. */
static void
test_large(void)
{
	const uint64_t nt = 50000, per = 7;
	uint64_t nf = 0, i, j, k, off_tr, off_fr, off_sz, len, got_t, got_b,
		 bytes, want = 0;
	struct snap_trace *t;
	struct snap_stream ss;
	char *b;
	int rc;

	for (i = 0; i < nt; i++)
		nf += 1 + i % 3;
	off_tr = sizeof(struct snap_header);
	off_fr = off_tr + nt * sizeof(*t);
	off_sz = off_fr + nf * 8;
	len = off_sz + nt * per * 8 + 8;
	b = calloc(1, len);
	header(HDR(b), len);
	HDR(b)->n_traces = nt; HDR(b)->traces_off = off_tr;
	HDR(b)->n_frames = nf; HDR(b)->frames_off = off_fr;
	HDR(b)->n_sizes = nt * per; HDR(b)->sizes_off = off_sz;
	HDR(b)->strings_size = 1; HDR(b)->strings_off = len - 8;
	t = (struct snap_trace *)(b + off_tr);
	for (i = 0, k = 0; i < nt; i++) {
		t[i].count = per;
		t[i].block_first = i * per;
		t[i].frame_first = k;
		t[i].nframes = t[i].total_nframe = (uint32_t)(1 + i % 3);
		for (j = 0; j < t[i].nframes; j++)
			((uint64_t *)(b + off_fr))[k++] = 0x1000 + i;
		for (j = 0; j < per; j++) {
			uint64_t s = 16 + (i * per + j) % 1000;

			((uint64_t *)(b + off_sz))[i * per + j] = s;
			t[i].size += s;
			want += s;
		}
	}
	for (i = 0; i < nt; i++) {
		t[i].est_count = t[i].count;
		t[i].est_size = t[i].size;
	}
	write_file(3, b, len);
	free(b);
	rc = snap_stream_open(&ss, dir, 4242, 3, getuid(), 0, err, sizeof(err));
	is_int(rc, 0, "large snapshot opens");
	if (rc)
		return;
	ok(len > 8 * SNAP_WINDOW, "large: %llu bytes, many windows",
	   (unsigned long long)len);
	rc = snap_stream_check(&ss, err, sizeof(err));
	is_int(rc, 0, "large: check");
	rc = drain(&ss, &got_t, &got_b, &bytes);
	ok(rc == 0 && got_t == nt && got_b == nt * per && bytes == want,
	   "large: every trace, block and byte");
	snap_stream_close(&ss);
}

/* A corrupted copy: -EPROTO with `why` in the reason, at open or by the
 * check (before any trace is used). */
static void
bad(void *b, const char *why)
{
	struct snap_stream ss;
	int rc;

	write_file(9, b, SNAP_LEN);
	free(b);
	err[0] = '\0';
	rc = snap_stream_open(&ss, dir, 4242, 9, getuid(), 0, err, sizeof(err));
	if (rc == 0) {
		rc = snap_stream_check(&ss, err, sizeof(err));
		snap_stream_close(&ss);
	}
	is_int(rc, -EPROTO, "%s: -EPROTO", why);
	ok(strstr(err, why) && strstr(err, "/4242.snap.9: "),
	   "%s: reason names the file and the field", why);
	if (!strstr(err, why))
		diag("got: %s", err);
	ok(!exists(9), "%s: unlinked", why);
}

static void
test_bad(void)
{
	void *b;

#define BAD(stmt, why) do { b = good_snap(); stmt; bad(b, why); } while (0)
	BAD(HDR(b)->magic = 0, "bad magic");
	BAD(HDR(b)->version = 99, "version 99");
	BAD(HDR(b)->header_size = 8, "header size 8");
	BAD(HDR(b)->file_size = SNAP_LEN + 8, "file size");
	BAD(HDR(b)->pid = 0, "bad pid 0");
	BAD(HDR(b)->frames = 513, "frames 513 out of range");
	BAD(memset(HDR(b)->name, 'x', SEG_NAME_MAX), "name not NUL-terminated");
	BAD(HDR(b)->n_modules = UINT64_MAX / 8, "modules out of range");
	BAD(HDR(b)->traces_off = OFF_TR + 4, "traces out of range");
	BAD(HDR(b)->n_frames = 1ull << 61, "frames out of range");
	BAD(HDR(b)->n_sizes = 17, "sizes out of range");
	BAD(HDR(b)->strings_size = 33, "strings out of range");
	BAD(MOD(b)[1].lo = MOD(b)[1].hi + 1, "module 1: lo > hi");
	BAD(MOD(b)[0].build_id_len = 33, "module 0: build-id length");
	BAD(MOD(b)[1].path_off = UINT32_MAX, "module 1: path out of range");
	BAD(MOD(b)[0].path_len = 12, "module 0: path not NUL-terminated");
	BAD(TR(b)[1].nframes = 0, "trace 1: nframes out of range");
	BAD(TR(b)[1].nframes = 4, "trace 1: nframes out of range");
	BAD(TR(b)[1].total_nframe = 2, "trace 1: total_nframe < nframes");
	BAD(TR(b)[2].frame_first = 6, "trace 2: frames out of range");
	BAD(TR(b)[0].frame_first = UINT64_MAX, "trace 0: frames out of range");
	BAD(TR(b)[2].block_first = UINT64_MAX - 1,
	    "trace 2: blocks out of range");
	BAD(TR(b)[2].count = UINT64_MAX, "trace 2: blocks out of range");
	BAD((TR(b)[2].count = TR(b)[2].est_count = 0,
	     TR(b)[2].size = TR(b)[2].est_size = 0), "trace 2: no blocks");
	BAD((TR(b)[0].count = TR(b)[0].est_count = 1),
	    "trace 0: size is not the sum");
	BAD((TR(b)[1].size = TR(b)[1].est_size = 4095),
	    "trace 1: size is not the sum");
	BAD(TR(b)[1].est_size = 4095, "trace 1: estimate of");
	BAD(HDR(b)->view = 3, "view 3 unknown");
	BAD(HDR(b)->sampling_bytes = (1ull << 30) + 1, "sampling rate");
	BAD(HDR(b)->view = SNAP_VIEW_ALLOCATED,
	    "block sizes in an allocated view");
	BAD((SZ(b)[0] = UINT64_MAX, SZ(b)[1] = 129),
	    "trace 0: size overflows");
	/* in range, but not in file order: another trace's frames */
	BAD(TR(b)[1].frame_first = 1, "trace 1: frames out of range or out "
	    "of order");
#undef BAD
}

int
main(void)
{
	char tmpl[] = "/tmp/hawk-t-snap-stream.XXXXXX";

	if (!mkdtemp(tmpl))
		BAIL_OUT("mkdtemp");
	snprintf(dir, sizeof(dir), "%s", tmpl);
	test_good();
	test_large();
	test_bad();
	rmdir(dir);
	return done_testing();
}
