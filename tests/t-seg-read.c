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
#include <sys/socket.h>
#include <sys/un.h>
#include "snap-build.h"
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

/* The hand-made snapshot's parts: 2 modules, 3 traces, 6 frames, 6 sizes;
 * bytes made by snap_build (tests/snap-build.h), as the agent sends them. */
#define N_MOD 2
#define N_TR 3
#define N_FR 6
#define N_SZ 6
static const char strings[] = "/usr/bin/prog\0/lib/libc.so.6\0\0\0";

static const uint64_t frames_v[N_FR] = {
	0x555555555123, 0x7f0000001000,                 /* trace 0 */
	0x555555556000, 0x55555555f000, 0x7f00000ff000, /* trace 1 */
	0x1234,                                         /* trace 2 */
};
static const uint64_t sizes_v[N_SZ] = { 100, 28, 4096, 1, 2, 3 };

struct parts {
	struct snap_header h;
	struct snap_module m[N_MOD];
	char strings[sizeof(strings)];
	struct snap_trace t[N_TR];
	uint64_t frames[N_FR], sizes[N_SZ];
	uint64_t peak;
};

static void
good_parts(struct parts *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	p->h.pid = 4242;
	p->h.frames = 3;
	p->h.start_time = 777;
	strcpy(p->h.name, "prog");
	p->h.time_ns = 1;
	p->h.tracer_memory = 65536;
	p->h.dropped_allocs = 1;
	p->h.flags = SNAP_F_SIZES;
	p->h.n_modules = N_MOD;
	p->h.strings_size = sizeof(strings);
	p->m[0] = (struct snap_module){ .lo = 0x555555554000,
		.hi = 0x555555560000, .bias = 0x555555554000,
		.path_off = 0, .path_len = 13 };
	p->m[1] = (struct snap_module){ .lo = 0x7f0000000000,
		.hi = 0x7f0000100000, .bias = 0x7f0000000000,
		.path_off = 14, .path_len = 14, .build_id_len = 20 };
	for (i = 0; i < 20; i++)
		p->m[1].build_id[i] = (uint8_t)(0xa0 + i);
	memcpy(p->strings, strings, sizeof(strings));
	p->t[0] = (struct snap_trace){ .size = 128, .count = 2, .nframes = 2,
		.total_nframe = 2, .est_count = 2, .est_size = 128 };
	p->t[1] = (struct snap_trace){ .size = 4096, .count = 1, .nframes = 3,
		.total_nframe = 5, .est_count = 1, .est_size = 4096 };
	p->t[2] = (struct snap_trace){ .size = 6, .count = 3, .nframes = 1,
		.total_nframe = 1, .est_count = 3, .est_size = 6 };
	memcpy(p->frames, frames_v, sizeof(frames_v));
	memcpy(p->sizes, sizes_v, sizeof(sizes_v));
	p->peak = 9000;
}

static void
build(struct snap_bytes *b, const struct parts *p)
{
	snap_build(b, &p->h, p->m, p->strings, p->t, N_TR, p->frames,
		   p->sizes, p->peak);
}

/* The stream's trailer, and trace i's record, in the bytes. */
#define TRAILER(b) ((struct snap_trailer *)((b)->buf + (b)->trailer_off))
#define REC(b, i)  ((struct snap_trace *)((b)->buf + (b)->trace_off[i]))

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
	is_int(s->h->n_sizes, 6, "%s: sizes", how);
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
snap_bad(struct snap_bytes *b, const char *why)
{
	char want[512];
	struct snap s;
	int rc;

	rc = snap_parse(&s, b->buf, b->len, err, sizeof(err));
	snprintf(want, sizeof(want), "snapshot: %s", why);
	is_int(rc, -EPROTO, "snapshot %s: -EPROTO", why);
	is_str(err, want, "snapshot %s: message", why);
	ok(s.buf == NULL, "snapshot %s: nothing kept", why);
	free(b->buf);
}

static void
test_snapshots(void)
{
	struct snap_bytes b;
	struct parts p;
	struct snap s;
	char want[512];
	int rc;

	ok(sizeof(struct snap_header) % 8 == 0, "snap_header is 8-aligned");
	ok(sizeof(struct snap_trace) % 8 == 0 &&
	   sizeof(struct snap_trailer) % 8 == 0, "records are 8-aligned");
	good_parts(&p);
	build(&b, &p);
	/* what the trailer says that the parts do not */
	TRAILER(&b)->dropped_blocks = 3;
	TRAILER(&b)->dropped_traces = 2;
	rc = snap_parse(&s, b.buf, b.len, err, sizeof(err));
	is_int(rc, 0, "valid snapshot parses (%s)", rc ? err : "");
	if (rc == 0) {
		check_values(&s, "parse");
		is_int(s.h->file_size, b.len, "parse: bytes counted");
		snap_free(&s);
	}
	free(b.buf);

	/* header fields */
#define BAD(stmt, why) do { good_parts(&p); stmt; build(&b, &p); \
	snap_bad(&b, why); } while (0)
	/* the bytes, after building */
#define BADB(stmt, why) do { good_parts(&p); build(&b, &p); stmt; \
	snap_bad(&b, why); } while (0)
	BAD(p.h.magic = 1, "bad magic");
	BAD(p.h.version = 2, "version 2, expected 3");
	snprintf(want, sizeof(want), "header size 8, expected %zu",
		 sizeof(struct snap_header));
	BAD(p.h.header_size = 8, want);
	BAD(p.h.pid = 0, "bad pid 0");
	BAD(p.h.frames = 0, "frames 0 out of range");
	BAD(p.h.frames = 513, "frames 513 out of range");
	BAD(memset(p.h.name, 'x', SEG_NAME_MAX), "name not NUL-terminated");
	BAD(p.h.flags = 2, "unknown flags 0x2");
	BADB(((struct snap_header *)b.buf)->n_traces = 3,
	     "totals in the header");
	BADB(((struct snap_header *)b.buf)->traced_current = 1,
	     "totals in the header");
	BADB(((struct snap_header *)b.buf)->n_modules = 65537,
	     "65537 modules, too many");
	BADB(((struct snap_header *)b.buf)->strings_size = (16u << 20) + 1,
	     "16777217 bytes of strings, too many");
	/* padding after the strings (31 bytes of them: one byte) */
	good_parts(&p);
	p.h.strings_size = sizeof(strings) - 1;
	build(&b, &p);
	b.buf[sizeof(struct snap_header) + N_MOD * sizeof(struct snap_module) +
	      sizeof(strings) - 1] = 1;
	snap_bad(&b, "padding not zero");

	/* modules */
	BAD(p.m[1].lo = p.m[1].hi + 1, "module 1: lo > hi");
	BAD(p.m[0].build_id_len = 33,
	    "module 0: build-id length 33 out of range");
	BAD(p.m[1].path_off = 32, "module 1: path out of range");
	BAD(p.m[1].path_off = UINT32_MAX, "module 1: path out of range");
	BAD((p.m[1].path_off = UINT32_MAX - 1, p.m[1].path_len = 4),
	    "module 1: path out of range");
	BAD(p.m[0].path_len = 12, "module 0: path not NUL-terminated");
	BAD(p.m[0].path_len = 20, "module 0: path not NUL-terminated");
	BAD((p.m[1].path_off = 30, p.m[1].path_len = 1, p.strings[31] = 'x'),
	    "module 1: path not NUL-terminated");

	/* traces */
	BAD(p.t[1].nframes = 0, "trace 1: nframes 0 out of range");
	BAD(p.t[1].nframes = 4, "trace 1: nframes 4 out of range");
	BAD(p.t[1].total_nframe = 2, "trace 1: total_nframe < nframes");
	BADB(REC(&b, 1)->frame_first = 0,
	     "trace 1: frames start at 0, not 2");
	BADB(REC(&b, 2)->frame_first = UINT64_MAX,
	     "trace 2: frames start at 18446744073709551615, not 5");
	BADB(REC(&b, 2)->block_first = 4,
	     "trace 2: blocks start at 4, not 3");
	BADB(REC(&b, 1)->tag = 7, "trace 1: bad record tag");
	BAD((p.t[2].count = 0, p.t[2].size = 0, p.t[2].est_count = 0,
	     p.t[2].est_size = 0), "trace 2: no blocks");
	/* a count the stream does not hold: its sizes run into the next
	 * record, which the sums then refuse */
	BADB(REC(&b, 0)->count = REC(&b, 0)->est_count = 3,
	     "trace 0: size 128 is not the sum of its blocks");
	BAD((p.t[1].size = 4095, p.t[1].est_size = 4095),
	    "trace 1: size 4095 is not the sum of its blocks");
	BAD((p.sizes[0] = UINT64_MAX, p.sizes[1] = 129),
	    "trace 0: size overflows");
	BADB(REC(&b, 2)->count = UINT64_MAX,
	     "trace 2: too many blocks");

	/* views, sampling, estimates */
	BAD(p.h.view = 3, "view 3 unknown");
	BAD(p.h.sampling_bytes = (UINT64_C(1) << 30) + 1,
	    "sampling rate 1073741825 out of range");
	BAD(p.h.view = SNAP_VIEW_ALLOCATED, "block sizes in an allocated view");
	BAD(p.t[1].est_count = 2, "trace 1: estimate of 2 blocks, 4096 "
	    "bytes impossible for 1 blocks of 4096 bytes");
	BAD(p.t[2].est_size = 7, "trace 2: estimate of 3 blocks, 7 bytes "
	    "impossible for 3 blocks of 6 bytes");
	BAD((p.h.sampling_bytes = 1024, p.t[1].est_size = 4000),
	    "trace 1: estimate of 1 blocks, 4000 bytes impossible for 1 "
	    "blocks of 4096 bytes");
	BAD((p.h.sampling_bytes = 1024, p.t[2].est_size = 3082),
	    "trace 2: estimate of 3 blocks, 3082 bytes impossible for 3 "
	    "blocks of 6 bytes");
	BAD((p.h.sampling_bytes = 1024, p.t[0].est_count = 1),
	    "trace 0: estimate of 1 blocks, 128 bytes impossible for 2 "
	    "blocks of 128 bytes");
	BAD((p.h.sampling_bytes = 1024, p.t[2].est_count = 3001,
	     p.t[2].est_size = 3000), "trace 2: estimate of 3001 blocks, "
	    "3000 bytes impossible for 3 blocks of 6 bytes");

	/* the trailer, checked against what was read */
	BADB(TRAILER(&b)->n_traces = 2, "trailer: 2 traces, 6 frames, 6 "
	     "sizes, but 3, 6 and 6 were sent");
	BADB(TRAILER(&b)->n_frames = 7, "trailer: 3 traces, 7 frames, 6 "
	     "sizes, but 3, 6 and 6 were sent");
	BADB(TRAILER(&b)->n_sizes = 5, "trailer: 3 traces, 6 frames, 5 "
	     "sizes, but 3, 6 and 6 were sent");
	BADB(TRAILER(&b)->traced_current = 4231, "trailer: traced memory "
	     "4231 is not the sum of the traces, 4230");
	BADB(TRAILER(&b)->traced_peak = 4229,
	     "trailer: peak below the current value");
	BADB(TRAILER(&b)->alloc_count = 1,
	     "trailer: allocation totals in a view of live blocks");
	BADB(TRAILER(&b)->magic = 0, "trailer: bad magic");
	good_parts(&p);
	build(&b, &p);
	TRAILER(&b)->bytes += 8;
	snprintf(want, sizeof(want), "trailer: %zu bytes, but %zu were sent",
		 b.len + 8, b.len);
	snap_bad(&b, want);
	BADB((b.buf = realloc(b.buf, b.len + 1), b.buf[b.len++] = 0),
	     "bytes after the trailer");
	/* cut anywhere: the stream ends early */
	{
		size_t cuts[] = { 0, 7, sizeof(struct snap_header) + 3,
				  sizeof(struct snap_header) +
				  N_MOD * sizeof(struct snap_module) + 1,
				  0, 0, 0 }, i;

		good_parts(&p);
		build(&b, &p);
		cuts[4] = b.trace_off[1] + 3;
		cuts[5] = b.trailer_off;
		cuts[6] = b.len - 1;
		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			rc = snap_parse(&s, b.buf, cuts[i], err, sizeof(err));
			ok(rc == -EPROTO && strstr(err, "stream ends early"),
			   "cut at byte %zu: -EPROTO, ends early (%s)", cuts[i],
			   err);
		}
		free(b.buf);
	}

	/* a sampled snapshot: estimates within the bounds */
	good_parts(&p);
	p.h.sampling_bytes = 1024;
	p.t[0].est_count = 20;
	p.t[0].est_size = 2000;
	p.t[2].est_count = 3;
	p.t[2].est_size = 6 + 3 * 1025;
	build(&b, &p);
	rc = snap_parse(&s, b.buf, b.len, err, sizeof(err));
	is_int(rc, 0, "sampled snapshot with estimates parses (%s)", err);
	if (rc == 0) {
		is_int(s.traces[0].est_count, 20, "sampled: est_count read");
		is_int(s.h->traced_current, 2000 + 4096 + 6 + 3 * 1025,
		       "sampled: current is the sum of the estimates");
		snap_free(&s);
	}
	free(b.buf);
	/* an allocated view: totals, no block sizes */
	good_parts(&p);
	p.h.view = SNAP_VIEW_ALLOCATED;
	p.h.flags = 0;
	p.t[0].count = p.t[0].est_count = 1000000;
	build(&b, &p);
	rc = snap_parse(&s, b.buf, b.len, err, sizeof(err));
	is_int(rc, 0, "allocated view without sizes parses (%s)", err);
	if (rc == 0) {
		is_int(s.h->alloc_count, 1000000 + 1 + 3,
		       "allocated: alloc_count from the trailer");
		is_int(s.h->n_sizes, 0, "allocated: no sizes");
		snap_free(&s);
	}
	TRAILER(&b)->alloc_bytes = 1;
	snap_bad(&b, "trailer: allocation totals are not the sums of the "
		 "traces");
	/* a live view without sizes (what every output but the pickle
	 * asks for): the figures, no sizes */
	good_parts(&p);
	p.h.flags = 0;
	build(&b, &p);
	rc = snap_parse(&s, b.buf, b.len, err, sizeof(err));
	is_int(rc, 0, "live view without sizes parses (%s)", err);
	if (rc == 0) {
		is_int(s.h->n_sizes, 0, "without sizes: none");
		is_int(s.traces[2].count, 3, "without sizes: counts");
		is_int(s.h->traced_current, 4230, "without sizes: current");
		snap_free(&s);
	}
	free(b.buf);
	/* an empty snapshot (tracing, nothing live) is valid */
	{
		struct snap_header h;

		memset(&h, 0, sizeof(h));
		h.pid = 4242;
		h.frames = 3;
		snap_build(&b, &h, NULL, "", NULL, 0, NULL, NULL, 0);
		rc = snap_parse(&s, b.buf, b.len, err, sizeof(err));
		is_int(rc, 0, "empty snapshot parses");
		if (rc == 0)
			snap_free(&s);
		free(b.buf);
	}
	/* the reader's cap */
	{
		struct snap_stream ss;
		int fds[2];

		good_parts(&p);
		build(&b, &p);
		ok(pipe(fds) == 0 && write(fds[1], b.buf, b.len) ==
		   (ssize_t)b.len, "the stream into a pipe");
		close(fds[1]);
		rc = snap_stream_fdopen(&ss, fds[0], 512, "pipe", err,
					sizeof(err));
		if (rc == 0) {
			struct snap_trace t;
			const uint64_t *f;

			while ((rc = snap_stream_next(&ss, &t, &f, err,
						      sizeof(err))) == 1)
				;
			snap_stream_close(&ss);
		}
		is_int(rc, -EFBIG, "512-byte cap: -EFBIG");
		is_str(err, "pipe: more than the 512 bytes allowed "
		       "(max_snapshot_mb)", "the cap's message");
		free(b.buf);
	}
}

/*
 * A child serving the parts' stream on the socket "<P>.snap.<seq>" of the
 * directory, P = name_pid, or the child's own pid when 0; with `own` the
 * stream names the child's pid.  It serves one client that sends `token`
 * and exits 0 then, 1 otherwise.  Returns its pid once it listens.
 */
static pid_t
serve_child(struct parts *p, int32_t name_pid, uint32_t seq, int own,
	    uint64_t token)
{
	int pp[2];
	pid_t kid;
	char c;

	if (pipe(pp) < 0)
		return -1;
	kid = fork();
	if (kid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct snap_bytes b;
		uint64_t got = 0;
		int lfd, fd;

		if (own)
			p->h.pid = (int32_t)getpid();
		build(&b, p);
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%d.snap.%u", dir,
			 name_pid ? (int)name_pid : (int)getpid(),
			 (unsigned)seq);
		if (strlen(path) >= sizeof(sa.sun_path))
			_exit(2);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, 1) < 0 || write(pp[1], "r", 1) != 1)
			_exit(2);
		fd = accept(lfd, NULL, NULL);
		unlink(sa.sun_path);
		if (fd < 0 || recv(fd, &got, 8, MSG_WAITALL) != 8 ||
		    got != token)
			_exit(1);
		if (send(fd, b.buf, b.len, MSG_NOSIGNAL) != (ssize_t)b.len)
			_exit(1);
		_exit(0);
	}
	close(pp[1]);
	if (kid < 0 || read(pp[0], &c, 1) != 1)
		kid = -1;
	close(pp[0]);
	return kid;
}

/* A snapshot's socket must be the target's (its peer's pid and uid), and
 * the stream must name the target (pid, start time). */
static void
test_snapshot_peer(void)
{
	struct seg_client c;
	struct parts p;
	struct snap s;
	char want[PATH_MAX + 512];
	pid_t kid;
	int rc, st;

	memset(&c, 0, sizeof(c));
	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	c.info.uid = getuid();
	c.info.start_time = 777;
	c.snap_token = UINT64_C(0x1122334455667788);

	/* a socket under our pid's name, served by another process */
	good_parts(&p);
	kid = serve_child(&p, (int32_t)getpid(), 1, 0, c.snap_token);
	c.info.pid = (int32_t)getpid();
	rc = snap_load(&s, &c, 1, 0, err, sizeof(err));
	is_int(rc, -EPERM, "a socket that is not the target's -> -EPERM");
	snprintf(want, sizeof(want), "reading %s/%d.snap.1: the socket is not "
		 "pid %d's (peer pid %d, uid %u)", dir, (int)getpid(),
		 (int)getpid(), (int)kid, (unsigned)getuid());
	is_str(err, want, "not the target's socket: message");
	waitpid(kid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 1,
	   "its server never got the token");

	/* the target's socket, but its stream names pid 4242 */
	good_parts(&p);
	kid = serve_child(&p, 0, 2, 0, c.snap_token);
	c.info.pid = kid;
	rc = snap_load(&s, &c, 2, 0, err, sizeof(err));
	is_int(rc, -EPROTO, "a stream of another pid -> -EPROTO");
	snprintf(want, sizeof(want), "reading %s/%d.snap.2: pid 4242 inside, "
		 "not %d", dir, (int)kid, (int)kid);
	is_str(err, want, "a stream of another pid: message");
	waitpid(kid, NULL, 0);

	/* ... or another start time */
	good_parts(&p);
	kid = serve_child(&p, 0, 3, 1, c.snap_token);
	c.info.pid = kid;
	c.info.start_time = 778;
	rc = snap_load(&s, &c, 3, 0, err, sizeof(err));
	is_int(rc, -EPROTO, "a stream of another start time -> -EPROTO");
	snprintf(want, sizeof(want), "reading %s/%d.snap.3: start time 777 "
		 "inside, not 778", dir, (int)kid);
	is_str(err, want, "another start time: message");
	waitpid(kid, NULL, 0);
	c.info.start_time = 777;

	/* the target's own: loads, token sent, name gone */
	good_parts(&p);
	kid = serve_child(&p, 0, 4, 1, c.snap_token);
	c.info.pid = kid;
	rc = snap_load(&s, &c, 4, 0, err, sizeof(err));
	is_int(rc, 0, "the target's stream loads (%s)", rc ? err : "");
	if (rc == 0) {
		is_int(s.h->n_traces, 3, "with its 3 traces");
		is_int(s.h->traced_current, 4230, "and its total");
		snap_free(&s);
	}
	waitpid(kid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server got the token");
	snprintf(want, sizeof(want), "%d.snap.4", (int)kid);
	ok(!exists(want), "and removed its name");

	/* a name nobody listens on */
	c.info.pid = 4242;
	rc = snap_load(&s, &c, 5, 0, err, sizeof(err));
	is_int(rc, -ESRCH, "no socket -> -ESRCH");
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
	pid_t kid;
	int lock, rc, fd;

	test_snapshot_peer();

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
