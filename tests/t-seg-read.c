/* SPDX-License-Identifier: MIT */
/*
 * t-seg-read.c - unit test of ipc/'s validating reader (seg_read.c,
 * seg_list.c, seg_client.c, seg_remove.c, snap_read.c, seg_proc.c).
 *
 * Builds segment and snapshot files by hand from segment.h alone (no
 * writer), checks that they parse to exactly the values written, then
 * corrupts one field at a time and checks for a clean error with the exact
 * message.  Liveness is exercised with a real OFD lock held by this test
 * and a real dead child.  Everything lives in a private mkdtemp directory,
 * removed at the end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seg_read.h"
#include "seg_live.h"
#include "proc-stat.h"
#include "tap.h"

static char dir[PATH_MAX];
static char err[8192];

/* ------------------------------------------------------------- helpers */

static void
write_file(const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		perror(path);
		exit(99);
	}
	close(fd);
}

static int
exists(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
good_header(struct seg_header *h, int32_t pid, uint64_t start_time)
{
	memset(h, 0, sizeof(*h));
	h->magic = SEG_MAGIC;
	h->version = SEG_VERSION;
	h->header_size = SEG_HEADER_SIZE;
	h->ready = 1;
	h->pid = pid;
	h->start_time = start_time;
	strcpy(h->name, "my app");
	h->max_frames = 256;
	h->tracing = 1;
	h->frames = 30;
	h->traced_current = 4096000;
	h->traced_peak = 5000000;
	h->tracer_memory = 123456;
	h->dropped = 7;
	h->heartbeat_ns = 99;
}

/* Write "<pid>.seg" (a full 4096-byte page) from h, or only len bytes. */
static void
write_seg(const struct seg_header *h, int32_t pid, size_t len)
{
	static char page[SEG_HEADER_SIZE];
	char name[32];

	memset(page, 0, sizeof(page));
	memcpy(page, h, sizeof(*h));
	snprintf(name, sizeof(name), "%" PRId32 ".seg", pid);
	write_file(name, page, len ? len : sizeof(page));
}

static int
read_seg(int32_t pid, struct seg_info *info)
{
	char name[32];
	int dfd, rc;

	snprintf(name, sizeof(name), "%" PRId32 ".seg", pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	rc = seg_info_read(dfd, name, info, err, sizeof(err));
	close(dfd);
	return rc;
}

/* The alive lock, as the target holds it. */
static int
hold_alive_lock(int32_t pid)
{
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET,
		.l_start = SEG_LOCK_ALIVE, .l_len = 1,
	};
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%" PRId32 ".seg", dir, pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		perror("alive lock");
		exit(99);
	}
	return fd;
}

static pid_t
dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

/* One corrupted header: -EPROTO with "reading DIR/PID.seg: <why>". */
static void
seg_bad(const struct seg_header *h, size_t len, const char *why)
{
	struct seg_info info;
	char want[PATH_MAX + 256];
	int rc;

	write_seg(h, 4242, len);
	rc = read_seg(4242, &info);
	snprintf(want, sizeof(want), "reading %s/4242.seg: %s", dir, why);
	is_int(rc, -EPROTO, "segment %s: -EPROTO", why);
	is_str(err, want, "segment %s: message", why);
}

/* ---------------------------------------------------------- segments */

struct listed {
	int32_t pids[8];
	int n;
	char bad[4][256];
	int nbad;
};

static int
list_cb(const struct seg_info *i, void *arg)
{
	struct listed *l = arg;

	if (l->n < 8)
		l->pids[l->n++] = i->pid;
	return 0;
}

static void
list_bad(const char *file, const char *reason, void *arg)
{
	struct listed *l = arg;

	if (l->nbad < 4)
		snprintf(l->bad[l->nbad++], sizeof(l->bad[0]), "%s|%s", file,
			 strrchr(reason, ':') + 2);
}

static void
test_segments(void)
{
	int32_t me = (int32_t)getpid(), dead = (int32_t)dead_pid();
	uint64_t st = proc_start_time(getpid());
	struct seg_header h, g;
	struct seg_info info;
	struct listed l;
	char path[PATH_MAX + 64];
	int lockfd, rc;

	ok(st > 0, "own start time read from /proc");
	good_header(&h, me, st);
	write_seg(&h, me, 0);

	/* no alive lock: dead */
	rc = read_seg(me, &info);
	is_int(rc, 0, "valid segment reads");
	is_int(info.alive, 0, "no alive lock: dead");

	lockfd = hold_alive_lock(me);
	rc = read_seg(me, &info);
	is_int(rc, 0, "valid segment with lock reads");
	is_int(info.alive, 1, "alive lock + matching start time: alive");
	is_int(info.pid, me, "pid");
	{
		char want[32];

		snprintf(want, sizeof(want), "%" PRId32 ".seg", me);
		is_str(info.file, want, "file name");
	}
	is_int(info.uid, getuid(), "uid is the file owner");
	is_int(info.start_time, st, "start time");
	is_str(info.name, "my app", "name");
	is_int(info.tracing, 1, "tracing");
	is_int(info.frames, 30, "frames");
	is_int(info.max_frames, 256, "max_frames");
	is_int(info.traced_current, 4096000, "traced_current");
	is_int(info.traced_peak, 5000000, "traced_peak");
	is_int(info.tracer_memory, 123456, "tracer_memory");
	is_int(info.dropped, 7, "dropped");
	is_int(info.heartbeat_ns, 99, "heartbeat_ns");

	/* not tracing: frames reported 0 */
	g = h;
	g.tracing = 0;
	write_seg(&g, me, 0);
	close(lockfd);
	lockfd = hold_alive_lock(me);
	rc = read_seg(me, &info);
	is_int(rc, 0, "idle segment reads");
	is_int(info.tracing * 1000 + info.frames, 0, "idle: tracing 0, frames 0");

	/* lock held but the start time is another process's: pid reuse */
	g = h;
	g.start_time = st + 1;
	write_seg(&g, me, 0);
	close(lockfd);
	lockfd = hold_alive_lock(me);
	rc = read_seg(me, &info);
	is_int(rc, 0, "reused pid segment reads");
	is_int(info.alive, 0, "start time mismatch: dead");

	/* restore the live one for the listing */
	write_seg(&h, me, 0);
	close(lockfd);
	lockfd = hold_alive_lock(me);

	/* a dead process's segment, with leftover snapshots */
	g = h;
	g.pid = dead;
	write_seg(&g, dead, 0);
	{
		char name[64];

		snprintf(name, sizeof(name), "%" PRId32 ".snap.1", dead);
		write_file(name, "x", 1);
		snprintf(name, sizeof(name), "%" PRId32 ".snap.22", dead);
		write_file(name, "x", 1);
	}
	g.pid = 1;   /* init: alive but not ours; no lock on this file */
	write_seg(&g, 1, 0);
	write_file("notes.txt", "x", 1);
	write_file("7.seg", "garbage", 7);
	write_file("007.seg", "garbage", 7);

	memset(&l, 0, sizeof(l));
	rc = seg_list(dir, list_cb, list_bad, &l);
	is_int(rc, 0, "seg_list returns 0");
	is_int(l.n, 3, "seg_list: three valid segments");
	ok(l.n == 3 && l.pids[0] == 1 &&
	   l.pids[1] == (dead < me ? dead : me) &&
	   l.pids[2] == (dead < me ? me : dead), "seg_list: in pid order");
	is_int(l.nbad, 1, "seg_list: one invalid file reported");
	is_str(l.bad[0], "7.seg|truncated (7 bytes)",
	       "seg_list: invalid file with its reason");

	/* seg_remove_dead */
	rc = seg_remove_dead(dir, me, err, sizeof(err));
	is_int(rc, -EBUSY, "remove alive: -EBUSY");
	snprintf(path, sizeof(path), "%" PRId32 ".seg", me);
	ok(exists(path), "alive segment still there");
	rc = seg_remove_dead(dir, dead, err, sizeof(err));
	is_int(rc, 0, "remove dead: 0");
	snprintf(path, sizeof(path), "%" PRId32 ".seg", dead);
	ok(!exists(path), "dead segment removed");
	snprintf(path, sizeof(path), "%" PRId32 ".snap.1", dead);
	ok(!exists(path), "its snapshot 1 removed");
	snprintf(path, sizeof(path), "%" PRId32 ".snap.22", dead);
	ok(!exists(path), "its snapshot 22 removed");
	rc = seg_remove_dead(dir, 7, err, sizeof(err));
	is_int(rc, 0, "remove invalid unlocked segment: 0");
	ok(!exists("7.seg"), "invalid dead segment removed");
	unlink(strcat(strcpy(path, dir), "/007.seg"));
	unlink(strcat(strcpy(path, dir), "/notes.txt"));
	unlink(strcat(strcpy(path, dir), "/1.seg"));

	/* client open: maps the header read-write */
	{
		struct seg_client c;

		rc = seg_client_open(&c, dir, me, err, sizeof(err));
		is_int(rc, 0, "seg_client_open");
		ok(rc == 0 && c.h && c.h->magic == SEG_MAGIC &&
		   c.info.alive == 1 && c.info.pid == me,
		   "client maps the live segment");
		if (rc == 0)
			seg_client_close(&c);
		rc = seg_client_open(&c, dir, 4243, err, sizeof(err));
		is_int(rc, -ENOENT, "seg_client_open: missing -> -ENOENT");
	}
	close(lockfd);
	snprintf(path, sizeof(path), "%s/%" PRId32 ".seg", dir, me);
	unlink(path);

	/* corruptions, one field at a time */
	good_header(&h, 4242, 1);
	g = h; g.magic ^= 1;
	seg_bad(&g, 0, "bad magic");
	g = h; g.version = 3;
	seg_bad(&g, 0, "version 3, expected 2");
	g = h; g.header_size = 100;
	seg_bad(&g, 0, "header size 100, expected 4096");
	g = h; g.ready = 0;
	seg_bad(&g, 0, "not ready");
	g = h; g.pid = 4243;
	seg_bad(&g, 0, "pid 4243 does not match the file name");
	g = h; g.pid = -1;
	seg_bad(&g, 0, "pid -1 does not match the file name");
	g = h; memset(g.name, 'a', sizeof(g.name));
	seg_bad(&g, 0, "name not NUL-terminated");
	g = h; g.max_frames = 0;
	seg_bad(&g, 0, "max_frames 0 out of range");
	g = h; g.max_frames = SEG_FRAMES_MAX + 1;
	seg_bad(&g, 0, "max_frames 513 out of range");
	g = h; g.frames = 0;
	write_seg(&g, 4242, 0);
	rc = read_seg(4242, &info);
	is_int(rc, 0, "tracing with frames 0 (a start or stop in progress) "
	       "reads");
	is_int(info.frames, 0, "... as frames 0");
	g = h; g.tracing = 0; g.frames = 257;
	seg_bad(&g, 0, "frames 257 out of range");
	g = h; g.frames = 257;
	seg_bad(&g, 0, "frames 257 out of range");
	g = h; g.tracing = 2;
	seg_bad(&g, 0, "bad tracing flag");
	seg_bad(&h, 100, "truncated (100 bytes)");
	{
		char why[64];

		/* the whole struct, but less than SEG_HEADER_SIZE */
		snprintf(why, sizeof(why), "truncated (%zu bytes)", sizeof(h));
		seg_bad(&h, sizeof(h), why);
	}
	seg_bad(&h, 1, "truncated (1 bytes)");

	/* not a regular file, a symbolic link, a bad name */
	snprintf(path, sizeof(path), "%s/4242.seg", dir);
	unlink(path);
	mkfifo(path, 0600);
	{
		char want[PATH_MAX + 128];

		rc = read_seg(4242, &info);
		snprintf(want, sizeof(want),
			 "reading %s/4242.seg: not a regular file", dir);
		is_int(rc, -EPROTO, "fifo: -EPROTO");
		is_str(err, want, "fifo: message");
		unlink(path);
		write_seg(&h, 4241, 0);
		snprintf(want, sizeof(want), "%s/4241.seg", dir);
		symlink(want, path);
		rc = read_seg(4242, &info);
		snprintf(want, sizeof(want),
			 "reading %s/4242.seg: is a symbolic link", dir);
		is_int(rc, -ELOOP, "symlink: -ELOOP");
		is_str(err, want, "symlink: message");
		unlink(path);
		snprintf(want, sizeof(want), "%s/4241.seg", dir);
		unlink(want);
		mkdir(path, 0700);
		rc = read_seg(4242, &info);
		is_int(rc, -EPROTO, "directory: -EPROTO");
		rmdir(path);
	}
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);

		rc = seg_info_read(dfd, "12x.seg", &info, err, sizeof(err));
		close(dfd);
		is_int(rc, -EINVAL, "bad file name: -EINVAL");
	}
}

/* comm may contain spaces and parentheses: field 22 is counted from the
 * last ')'.  A child renames itself and must keep its start time. */
static void
test_proc_stat(void)
{
	int go[2], done[2];
	uint64_t before = 0, after = 0;
	pid_t kid;
	char c;

	if (pipe(go) < 0 || pipe(done) < 0)
		exit(99);
	kid = fork();
	if (kid == 0) {
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		prctl(PR_SET_NAME, "x) 1 2 (y) z", 0, 0, 0);
		if (write(done[1], "x", 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	is_int(seg_proc_start_time(kid, &before), 0, "start time of a child");
	if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
		exit(99);
	is_int(seg_proc_start_time(kid, &after), 0,
	       "start time of a child named \"x) 1 2 (y) z\"");
	ok(before == after && before > 0, "same start time after the rename "
	   "(%" PRIu64 ")", after);
	close(go[1]);
	waitpid(kid, NULL, 0);
	close(go[0]);
	close(done[0]);
	close(done[1]);
	is_int(seg_proc_start_time(kid, &after), -ENOENT,
	       "no start time for a reaped pid");
}

/* ---------------------------------------------------------- snapshots */

/* Layout of the hand-made snapshot: header, 2 modules, 3 traces, 6 frames,
 * 6 sizes, strings. */
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
#define FR(b)    ((uint64_t *)((char *)(b) + OFF_FR))
#define SZ(b)    ((uint64_t *)((char *)(b) + OFF_SZ))
#define STR(b)   ((char *)(b) + OFF_STR)

static const uint64_t frames_v[N_FR] = {
	0x555555555123, 0x7f0000001000,                 /* trace 0 */
	0x555555556000, 0x55555555f000, 0x7f00000ff000, /* trace 1 */
	0x1234,                                         /* trace 2 */
};
static const uint64_t sizes_v[N_SZ] = { 100, 28, 4096, 1, 2, 3 };

static void *
good_snap(void)
{
	char *b = calloc(1, SNAP_LEN);
	struct snap_header *h = HDR(b);
	struct snap_module *m = MOD(b);
	struct snap_trace *t = TR(b);
	int i;

	h->magic = SNAP_MAGIC;
	h->version = SNAP_VERSION;
	h->header_size = sizeof(*h);
	h->file_size = SNAP_LEN;
	h->pid = 4242;
	h->frames = 3;
	h->start_time = 777;
	strcpy(h->name, "prog");
	h->time_ns = 1;
	h->traced_current = 4230;
	h->traced_peak = 9000;
	h->tracer_memory = 65536;
	h->dropped_allocs = 1;
	h->dropped_traces = 2;
	h->dropped_blocks = 3;
	h->n_modules = N_MOD; h->modules_off = OFF_MOD;
	h->n_traces = N_TR; h->traces_off = OFF_TR;
	h->n_frames = N_FR; h->frames_off = OFF_FR;
	h->n_sizes = N_SZ; h->sizes_off = OFF_SZ;
	h->strings_size = sizeof(strings); h->strings_off = OFF_STR;
	m[0] = (struct snap_module){ .lo = 0x555555554000,
		.hi = 0x555555560000, .bias = 0x555555554000,
		.path_off = 0, .path_len = 13 };
	m[1] = (struct snap_module){ .lo = 0x7f0000000000,
		.hi = 0x7f0000100000, .bias = 0x7f0000000000,
		.path_off = 14, .path_len = 14, .build_id_len = 20 };
	for (i = 0; i < 20; i++)
		m[1].build_id[i] = (uint8_t)(0xa0 + i);
	t[0] = (struct snap_trace){ .size = 128, .count = 2,
		.block_first = 0, .frame_first = 0, .nframes = 2,
		.total_nframe = 2, .est_count = 2, .est_size = 128 };
	t[1] = (struct snap_trace){ .size = 4096, .count = 1,
		.block_first = 2, .frame_first = 2, .nframes = 3,
		.total_nframe = 5, .est_count = 1, .est_size = 4096 };
	t[2] = (struct snap_trace){ .size = 6, .count = 3,
		.block_first = 3, .frame_first = 5, .nframes = 1,
		.total_nframe = 1, .est_count = 3, .est_size = 6 };
	memcpy(FR(b), frames_v, sizeof(frames_v));
	memcpy(SZ(b), sizes_v, sizeof(sizes_v));
	memcpy(STR(b), strings, sizeof(strings));
	return b;
}

static void
check_values(const struct snap *s, const char *how)
{
	int i, fr_ok = 1, sz_ok = 1;

	is_int(s->h->pid, 4242, "%s: pid", how);
	is_int(s->h->frames, 3, "%s: frames", how);
	is_str(s->h->name, "prog", "%s: name", how);
	is_int(s->h->traced_current, 4230, "%s: current", how);
	is_int(s->h->traced_peak, 9000, "%s: peak", how);
	is_int(s->h->dropped_blocks, 3, "%s: dropped_blocks", how);
	is_int(s->h->n_traces, 3, "%s: traces", how);
	is_str(snap_module_path(s, 0), "/usr/bin/prog", "%s: module 0", how);
	is_str(snap_module_path(s, 1), "/lib/libc.so.6", "%s: module 1", how);
	is_int(s->modules[1].build_id[19], 0xa0 + 19, "%s: build-id", how);
	is_int(s->traces[1].size, 4096, "%s: trace 1 size", how);
	is_int(s->traces[2].count, 3, "%s: trace 2 count", how);
	is_int(s->traces[1].total_nframe, 5, "%s: trace 1 total", how);
	for (i = 0; i < N_FR; i++)
		fr_ok &= s->frames[i] == frames_v[i];
	for (i = 0; i < N_SZ; i++)
		sz_ok &= s->sizes[i] == sizes_v[i];
	ok(fr_ok, "%s: every frame", how);
	ok(sz_ok, "%s: every block size", how);
}

/* Parse a corrupted copy: -EPROTO and "snapshot: <why>". */
static void
snap_bad(void *b, size_t len, const char *why)
{
	char want[512];
	struct snap s;
	int rc;

	rc = snap_parse(&s, b, len, err, sizeof(err));
	snprintf(want, sizeof(want), "snapshot: %s", why);
	is_int(rc, -EPROTO, "snapshot %s: -EPROTO", why);
	is_str(err, want, "snapshot %s: message", why);
	ok(s.buf == NULL, "snapshot %s: nothing kept", why);
}

static void
test_snapshots(void)
{
	char path[PATH_MAX + 64], want[PATH_MAX + 256];
	struct snap s;
	void *b;
	int rc;

	ok(sizeof(struct snap_header) % 8 == 0, "snap_header is 8-aligned");
	b = good_snap();
	rc = snap_parse(&s, b, SNAP_LEN, err, sizeof(err));
	is_int(rc, 0, "valid snapshot parses");
	if (rc == 0) {
		check_values(&s, "parse");
		snap_free(&s);
	}

	/* snap_load from a file, unlinked after */
	b = good_snap();
	write_file("4242.snap.5", b, SNAP_LEN);
	rc = snap_load(&s, dir, 4242, 5, getuid(), 0, err, sizeof(err));
	is_int(rc, 0, "snap_load: valid file");
	if (rc == 0) {
		check_values(&s, "load");
		snap_free(&s);
	} else {
		diag("%s", err);
	}
	ok(!exists("4242.snap.5"), "snap_load unlinks the file");
	rc = snap_load(&s, dir, 4242, 5, getuid(), 0, err, sizeof(err));
	is_int(rc, -ENOENT, "snap_load: missing -> -ENOENT");

	write_file("4242.snap.6", b, SNAP_LEN);
	rc = snap_load(&s, dir, 4242, 6, getuid() + 1, 0, err, sizeof(err));
	is_int(rc, -EPERM, "snap_load: other owner -> -EPERM");
	ok(exists("4242.snap.6"), "another owner's file is left alone");
	snprintf(path, sizeof(path), "%s/4242.snap.6", dir);
	unlink(path);

	/* truncated file: the header says more than there is */
	write_file("4242.snap.7", b, SNAP_LEN - 8);
	rc = snap_load(&s, dir, 4242, 7, getuid(), 0, err, sizeof(err));
	snprintf(want, sizeof(want), "reading %s/4242.snap.7: file size %zu "
		 "declared but the file has %zu bytes", dir, (size_t)SNAP_LEN,
		 (size_t)SNAP_LEN - 8);
	is_int(rc, -EPROTO, "snap_load: truncated -> -EPROTO");
	is_str(err, want, "snap_load: truncated message");
	ok(!exists("4242.snap.7"), "invalid snapshot unlinked too");
	write_file("4242.snap.8", b, 10);
	rc = snap_load(&s, dir, 4242, 8, getuid(), 0, err, sizeof(err));
	snprintf(want, sizeof(want), "reading %s/4242.snap.8: truncated "
		 "(10 bytes)", dir);
	is_str(err, want, "snap_load: 10-byte file");

	/* a sparse 4 GiB file that declares it: refused by the cap before
	 * one byte beyond the header is read (it used to cost 4 GiB) */
	{
		struct snap_header *h = HDR(b);
		uint64_t big = UINT64_C(1) << 32;
		int fd;

		h->file_size = big;
		write_file("4242.snap.10", b, SNAP_LEN);
		snprintf(path, sizeof(path), "%s/4242.snap.10", dir);
		fd = open(path, O_WRONLY);
		ok(fd >= 0 && ftruncate(fd, (off_t)big) == 0,
		   "a sparse 4 GiB snapshot file");
		if (fd >= 0)
			close(fd);
		rc = snap_load(&s, dir, 4242, 10, getuid(), 1 << 20, err,
			       sizeof(err));
		is_int(rc, -EFBIG, "snap_load: above max_size -> -EFBIG");
		snprintf(want, sizeof(want), "reading %s/4242.snap.10: "
			 "4294967296 bytes, more than the 1048576 allowed "
			 "(max_snapshot_mb)", dir);
		is_str(err, want, "snap_load: the cap's message");
		ok(!exists("4242.snap.10"), "the oversized file is removed");
		h->file_size = SNAP_LEN;
	}

	/* symlink and fifo */
	write_file("target", b, SNAP_LEN);
	snprintf(path, sizeof(path), "%s/4242.snap.9", dir);
	snprintf(want, sizeof(want), "%s/target", dir);
	symlink(want, path);
	rc = snap_load(&s, dir, 4242, 9, getuid(), 0, err, sizeof(err));
	is_int(rc, -ELOOP, "snap_load: symlink -> -ELOOP");
	snprintf(want, sizeof(want), "reading %s/4242.snap.9: is a symbolic "
		 "link", dir);
	is_str(err, want, "snap_load: symlink message");
	unlink(path);
	snprintf(want, sizeof(want), "%s/target", dir);
	unlink(want);
	mkfifo(path, 0600);
	rc = snap_load(&s, dir, 4242, 9, getuid(), 0, err, sizeof(err));
	is_int(rc, -EPROTO, "snap_load: fifo -> -EPROTO");
	snprintf(want, sizeof(want), "reading %s/4242.snap.9: not a regular "
		 "file", dir);
	is_str(err, want, "snap_load: fifo message");
	unlink(path);
	free(b);

	/* header fields */
#define BAD(stmt, why) do { b = good_snap(); stmt; snap_bad(b, SNAP_LEN, why); } while (0)
	BAD(HDR(b)->magic = 0, "bad magic");
	BAD(HDR(b)->version = 3, "version 3, expected 2");
	BAD(HDR(b)->header_size = 8, "header size 8, expected 280");
	BAD(HDR(b)->file_size = SNAP_LEN + 8,
	    "file size 728 but 720 bytes read (truncated?)");
	BAD(HDR(b)->pid = 0, "bad pid 0");
	BAD(HDR(b)->frames = 0, "frames 0 out of range");
	BAD(HDR(b)->frames = 513, "frames 513 out of range");
	BAD(memset(HDR(b)->name, 'x', SEG_NAME_MAX), "name not NUL-terminated");
	b = good_snap();
	snap_bad(b, 100, "truncated (100 bytes)");

	/* arrays: beyond the end, overflowing, misaligned, in the header */
	BAD(HDR(b)->modules_off = SNAP_LEN, "modules out of range (2 at 720)");
	BAD(HDR(b)->n_modules = UINT64_MAX / 8,
	    "modules out of range (2305843009213693951 at 280)");
	BAD(HDR(b)->traces_off = UINT64_MAX - 7,
	    "traces out of range (3 at 18446744073709551608)");
	BAD(HDR(b)->traces_off = OFF_TR + 4, "traces out of range (3 at 428)");
	BAD(HDR(b)->n_frames = 1ull << 61,
	    "frames out of range (2305843009213693952 at 592)");
	BAD(HDR(b)->frames_off = 8, "frames out of range (6 at 8)");
	BAD(HDR(b)->n_sizes = 17, "sizes out of range (17 at 640)");
	BAD(HDR(b)->sizes_off = UINT64_MAX, "sizes out of range "
	    "(6 at 18446744073709551615)");
	BAD(HDR(b)->strings_size = 33, "strings out of range (33 at 688)");
	BAD(HDR(b)->strings_off = UINT64_MAX - 10,
	    "strings out of range (32 at 18446744073709551605)");

	/* modules */
	BAD(MOD(b)[1].lo = MOD(b)[1].hi + 1, "module 1: lo > hi");
	BAD(MOD(b)[0].build_id_len = 33,
	    "module 0: build-id length 33 out of range");
	BAD(MOD(b)[1].path_off = 32, "module 1: path out of range");
	BAD(MOD(b)[1].path_off = UINT32_MAX, "module 1: path out of range");
	BAD((MOD(b)[1].path_off = UINT32_MAX - 1, MOD(b)[1].path_len = 4),
	    "module 1: path out of range");
	BAD(MOD(b)[0].path_len = 12, "module 0: path not NUL-terminated");
	BAD(MOD(b)[0].path_len = 20, "module 0: path not NUL-terminated");
	BAD((MOD(b)[1].path_off = 30, MOD(b)[1].path_len = 1,
	     STR(b)[31] = 'x'), "module 1: path not NUL-terminated");

	/* traces */
	BAD(TR(b)[1].nframes = 0, "trace 1: nframes 0 out of range");
	BAD(TR(b)[1].nframes = 4, "trace 1: nframes 4 out of range");
	BAD(TR(b)[1].total_nframe = 2, "trace 1: total_nframe 2 < nframes");
	BAD(TR(b)[2].frame_first = 6, "trace 2: frames out of range");
	BAD(TR(b)[1].frame_first = 4, "trace 1: frames out of range");
	BAD(TR(b)[0].frame_first = UINT64_MAX,
	    "trace 0: frames out of range");
	BAD(TR(b)[2].block_first = 4, "trace 2: blocks out of range");
	BAD(TR(b)[2].block_first = UINT64_MAX - 1,
	    "trace 2: blocks out of range");
	BAD(TR(b)[2].count = UINT64_MAX, "trace 2: blocks out of range");
	BAD((TR(b)[2].count = 0, TR(b)[2].size = 0), "trace 2: no blocks");
	/* overlapping, gapped or unused ranges (overlaps made validation
	 * quadratic and a pickle's output unbounded) */
	BAD(TR(b)[1].frame_first = 0, "trace 1: frames start at 0, not 2 "
	    "(ranges must be contiguous)");
	BAD((TR(b)[2].block_first = 0, TR(b)[2].count = 1,
	     TR(b)[2].size = SZ(b)[0]), "trace 2: blocks start at 0, not 3 "
	    "(ranges must be contiguous)");
	BAD(HDR(b)->n_sizes = 7, "6 frames and 7 blocks, but the traces use 6 "
	    "and 6");
	BAD(TR(b)[0].count = 1, "trace 0: size 128 is not the sum of its "
	    "blocks");
	BAD(TR(b)[1].size = 4095, "trace 1: size 4095 is not the sum of its "
	    "blocks");
	BAD((SZ(b)[0] = UINT64_MAX, SZ(b)[1] = 129, TR(b)[0].size = 128),
	    "trace 0: size 128 is not the sum of its blocks");

	/* version 2: views, sampling, estimates */
	BAD(HDR(b)->view = 3, "view 3 unknown");
	BAD(HDR(b)->sampling_bytes = (UINT64_C(1) << 30) + 1,
	    "sampling rate 1073741825 out of range");
	BAD(HDR(b)->view = SNAP_VIEW_ALLOCATED,
	    "block sizes in an allocated view");
	BAD(TR(b)[1].est_count = 2, "trace 1: estimate of 2 blocks, 4096 "
	    "bytes impossible for 1 blocks of 4096 bytes");
	BAD(TR(b)[2].est_size = 7, "trace 2: estimate of 3 blocks, 7 bytes "
	    "impossible for 3 blocks of 6 bytes");
	BAD((HDR(b)->sampling_bytes = 1024, TR(b)[1].est_size = 4000),
	    "trace 1: estimate of 1 blocks, 4000 bytes impossible for 1 "
	    "blocks of 4096 bytes");
	BAD((HDR(b)->sampling_bytes = 1024, TR(b)[2].est_size = 3082),
	    "trace 2: estimate of 3 blocks, 3082 bytes impossible for 3 "
	    "blocks of 6 bytes");
	BAD((HDR(b)->sampling_bytes = 1024, TR(b)[0].est_count = 1),
	    "trace 0: estimate of 1 blocks, 128 bytes impossible for 2 "
	    "blocks of 128 bytes");
	BAD((HDR(b)->sampling_bytes = 1024, TR(b)[2].est_count = 3001,
	     TR(b)[2].est_size = 3000), "trace 2: estimate of 3001 blocks, "
	    "3000 bytes impossible for 3 blocks of 6 bytes");
	BAD((HDR(b)->view = SNAP_VIEW_ALLOCATED, HDR(b)->n_sizes = 0,
	     TR(b)[1].block_first = 0, TR(b)[2].block_first = 1),
	    "trace 2: blocks in an allocated view");
#undef BAD
	/* a sampled snapshot: estimates within the bounds */
	b = good_snap();
	HDR(b)->sampling_bytes = 1024;
	TR(b)[0].est_count = 20;
	TR(b)[0].est_size = 2000;
	TR(b)[2].est_count = 3;
	TR(b)[2].est_size = 6 + 3 * 1025;
	rc = snap_parse(&s, b, SNAP_LEN, err, sizeof(err));
	is_int(rc, 0, "sampled snapshot with estimates parses (%s)", err);
	if (rc == 0) {
		is_int(s.traces[0].est_count, 20, "sampled: est_count read");
		snap_free(&s);
	}
	/* an allocated view: totals, no block sizes */
	b = good_snap();
	HDR(b)->view = SNAP_VIEW_ALLOCATED;
	HDR(b)->n_sizes = 0;
	TR(b)[1].block_first = TR(b)[2].block_first = 0;
	TR(b)[0].count = TR(b)[0].est_count = 1000000;
	rc = snap_parse(&s, b, SNAP_LEN, err, sizeof(err));
	is_int(rc, 0, "allocated view without sizes parses (%s)", err);
	if (rc == 0)
		snap_free(&s);
	/* an empty snapshot (tracing, nothing live) is valid */
	b = good_snap();
	HDR(b)->n_modules = HDR(b)->n_traces = HDR(b)->n_frames = 0;
	HDR(b)->n_sizes = HDR(b)->strings_size = 0;
	rc = snap_parse(&s, b, SNAP_LEN, err, sizeof(err));
	is_int(rc, 0, "empty snapshot parses");
	if (rc == 0)
		snap_free(&s);
}

/*
 * Identity: a segment naming a live process must be owned by one of that
 * process's uids (anyone can write a file naming any pid and start time
 * and hold its lock); a snapshot must carry its file's pid; a segment
 * directory that another user controls is refused.
 */
static void
test_identity(void)
{
	struct seg_header h;
	struct seg_info info;
	char path[PATH_MAX + 64], want[PATH_MAX + 512], sub[PATH_MAX + 16];
	uint64_t st;
	void *b;
	pid_t kid;
	int lock, rc, fd;
	struct snap s;

	/* a snapshot whose pid is not its file's */
	b = good_snap();
	((struct snap_header *)b)->pid = 4343;
	write_file("4242.snap.11", b, SNAP_LEN);
	rc = snap_load(&s, dir, 4242, 11, getuid(), 0, err, sizeof(err));
	is_int(rc, -EPROTO, "snapshot of another pid -> -EPROTO");
	snprintf(want, sizeof(want), "reading %s/4242.snap.11: pid 4343 "
		 "inside, not 4242", dir);
	is_str(err, want, "snapshot of another pid: message");
	ok(!exists("4242.snap.11"), "and it is removed");
	free(b);

	/* directories: writable by others without the sticky bit, owned by
	 * another user */
	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0700);
	chmod(sub, 0777);
	fd = seg_dir_open(sub, err, sizeof(err));
	is_int(fd, -EPERM, "a 0777 directory is refused");
	snprintf(want, sizeof(want), "segment directory %s has mode 0777: "
		 "writable by everybody without the sticky bit: refused "
		 "(give it mode 1777, 2770 or 0700)", sub);
	is_str(err, want, "a 0777 directory: message");
	is_int(seg_list(sub, list_cb, NULL, NULL), -EPERM,
	       "seg_list refuses it too");
	chmod(sub, 01777);
	fd = seg_dir_open(sub, err, sizeof(err));
	ok(fd >= 0, "a 1777 directory of ours is accepted");
	if (fd >= 0)
		close(fd);
	chmod(sub, 02770);
	fd = seg_dir_open(sub, err, sizeof(err));
	ok(fd >= 0, "a 2770 directory of ours (its group trusted) is accepted");
	if (fd >= 0)
		close(fd);
	if (geteuid() != 0) {
		skip("not root: a directory owned by another user");
		skip("not root: a directory owned by another user (message)");
	} else {
		if (chown(sub, 65534, 65534) < 0)
			diag("chown: %s", strerror(errno));
		fd = seg_dir_open(sub, err, sizeof(err));
		is_int(fd, -EPERM, "a directory owned by uid 65534 is refused");
		snprintf(want, sizeof(want), "segment directory %s is owned "
			 "by uid 65534, not by uid 0 or root: refused (its "
			 "owner can replace or remove what is in it); create "
			 "it as root with mode 1777", sub);
		is_str(err, want, "owned by another user: message");
	}
	rmdir(sub);

	/* an impostor: a file owned by uid 65534 naming a live process of
	 * ours, with a matching start time and its lock held */
	kid = fork();
	if (kid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	while (seg_proc_start_time(kid, &st) < 0)
		usleep(1000);
	good_header(&h, kid, st);
	write_seg(&h, kid, 0);
	lock = hold_alive_lock(kid);
	rc = read_seg(kid, &info);
	ok(rc == 0 && info.alive, "our own file for our process: alive");
	snprintf(path, sizeof(path), "%s/%d.seg", dir, (int)kid);
	if (geteuid() != 0) {
		skip("not root: a segment owned by another user");
		skip("not root: a segment owned by another user (message)");
	} else {
		if (chown(path, 65534, 65534) < 0)
			diag("chown: %s", strerror(errno));
		rc = read_seg(kid, &info);
		is_int(rc, -EPERM, "an impostor's segment -> -EPERM");
		snprintf(want, sizeof(want), "reading %s: owned by uid 65534, "
			 "but process %d does not run as that uid: not its "
			 "segment", path, (int)kid);
		is_str(err, want, "an impostor's segment: message");
	}
	close(lock);
	unlink(path);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

int
main(void)
{
	char tmpl[] = "/tmp/hawk-t-seg-read.XXXXXX";
	char *real;

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 99;
	}
	real = realpath(tmpl, NULL);
	snprintf(dir, sizeof(dir), "%s", real);
	free(real);

	test_proc_stat();
	test_segments();
	test_snapshots();
	test_identity();

	rmdir(dir);
	ok(access(dir, F_OK) != 0, "temp dir empty and removed");
	return done_testing();
}
