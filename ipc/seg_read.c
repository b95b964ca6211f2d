/* SPDX-License-Identifier: MIT */
/*
 * seg_read.c - the validating reader: the only code that parses segment
 * files ("<pid>.seg") and snapshot files ("<pid>.snap.<seq>").
 *
 * Every byte taken from a file is untrusted input.  Invariants:
 *  - files are opened O_NOFOLLOW|O_CLOEXEC and must be regular files;
 *  - a segment header is copied with pread (never dereferenced through a
 *    mapping that the target could change between check and use) and
 *    checked field by field before anything is returned;
 *  - a snapshot is read whole into private memory, then every offset,
 *    count and length is checked with overflow-safe arithmetic before one
 *    array element is touched; after snap_parse succeeds, every index a
 *    consumer takes from the snapshot (frame and block ranges, module
 *    strings) is known to be in bounds;
 *  - failures return a negative errno (-EPROTO for a malformed file) and a
 *    one-line reason naming the file: "reading /dev/shm/hawk/1234.seg: bad
 *    magic".
 * The command protocol lives in cmd.c, the writer in seg_write.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg.h"
#include "seg_live.h"

void
seg_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- liveness */

int
seg_proc_start_time(int32_t pid, uint64_t *start_time)
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%" PRId32 "/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')' itself, so
	 * the fields start after the last ')'.  Field 3 (state) is the first
	 * token after it; field 22 (starttime) the 20th. */
	p = strrchr(buf, ')');
	if (!p)
		return -EPROTO;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -EPROTO;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -EPROTO;
	errno = 0;
	*start_time = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EPROTO;
	return 0;
}

int
seg_alive(int fd, int32_t pid, uint64_t start_time)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = SEG_LOCK_ALIVE,
		.l_len = 1,
		.l_pid = 0,
	};
	uint64_t st;

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	if (seg_proc_start_time(pid, &st) < 0)
		return 0;
	return st == start_time;
}

/* ----------------------------------------------------------------- segment */

/* Parse "<pid>.seg" (decimal, no sign, no leading zero): pid or -1. */
static int32_t
seg_file_pid(const char *file)
{
	const char *p = file;
	int64_t v = 0;

	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return -1;
	}
	if (strcmp(p, SEG_SUFFIX) != 0)
		return -1;
	return (int32_t)v;
}

/* "<dir>/<file>" for messages, from a directory descriptor. */
static void
fd_path(int dirfd, const char *file, char *out, size_t outlen)
{
	char link[64], dir[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, dir, sizeof(dir) - 1);
	if (n <= 0) {
		snprintf(out, outlen, "%s", file);
		return;
	}
	dir[n] = '\0';
	snprintf(out, outlen, "%s/%s", dir, file);
}

/*
 * Validate the segment open as fd (named `path` in messages, expected to
 * belong to `pid`) and fill *out (except alive).  Optionally returns the
 * header copy.
 */
static int
seg_check(int fd, const char *path, const char *file, int32_t pid,
	  struct seg_info *out, char *err, size_t errlen)
{
	struct seg_header h;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		seg_seterr(err, errlen, "reading %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		seg_seterr(err, errlen, "reading %s: not a regular file", path);
		return -EPROTO;
	}
	if (st.st_size < (off_t)sizeof(h)) {
		seg_seterr(err, errlen, "reading %s: truncated (%jd bytes)", path,
		       (intmax_t)st.st_size);
		return -EPROTO;
	}
	do
		n = pread(fd, &h, sizeof(h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		seg_seterr(err, errlen, "reading %s: %s", path, strerror(e));
		return -e;
	}
	if ((size_t)n < sizeof(h)) {
		seg_seterr(err, errlen, "reading %s: truncated", path);
		return -EPROTO;
	}
	if (h.magic != SEG_MAGIC) {
		seg_seterr(err, errlen, "reading %s: bad magic", path);
		return -EPROTO;
	}
	if (h.version != SEG_VERSION) {
		seg_seterr(err, errlen, "reading %s: version %" PRIu32
		       ", expected %u", path, h.version, SEG_VERSION);
		return -EPROTO;
	}
	if (h.header_size != SEG_HEADER_SIZE) {
		seg_seterr(err, errlen, "reading %s: header size %" PRIu32
		       ", expected %u", path, h.header_size, SEG_HEADER_SIZE);
		return -EPROTO;
	}
	if (st.st_size < (off_t)SEG_HEADER_SIZE) {
		seg_seterr(err, errlen, "reading %s: truncated (%jd bytes)", path,
		       (intmax_t)st.st_size);
		return -EPROTO;
	}
	if (h.ready != 1) {
		seg_seterr(err, errlen, "reading %s: not ready", path);
		return -EPROTO;
	}
	if (h.pid <= 0 || (pid > 0 && h.pid != pid)) {
		seg_seterr(err, errlen, "reading %s: pid %" PRId32
		       " does not match the file name", path, h.pid);
		return -EPROTO;
	}
	if (!memchr(h.name, '\0', sizeof(h.name))) {
		seg_seterr(err, errlen, "reading %s: name not NUL-terminated",
		       path);
		return -EPROTO;
	}
	if (h.max_frames < 1 || h.max_frames > SEG_FRAMES_MAX) {
		seg_seterr(err, errlen, "reading %s: max_frames %" PRIu32
		       " out of range", path, h.max_frames);
		return -EPROTO;
	}
	if (h.tracing > 1) {
		seg_seterr(err, errlen, "reading %s: bad tracing flag", path);
		return -EPROTO;
	}
	/* The status fields change under us (relaxed stores by the target):
	 * reject only what no moment can show.  frames 0 while tracing is
	 * the instant between two stores of a start or stop. */
	if (h.frames > h.max_frames) {
		seg_seterr(err, errlen, "reading %s: frames %" PRIu32
		       " out of range", path, h.frames);
		return -EPROTO;
	}

	memset(out, 0, sizeof(*out));
	snprintf(out->file, sizeof(out->file), "%s", file);
	out->pid = h.pid;
	out->uid = st.st_uid;
	out->start_time = h.start_time;
	memcpy(out->name, h.name, sizeof(out->name));
	out->tracing = (int)h.tracing;
	out->frames = h.tracing ? h.frames : 0;
	out->max_frames = h.max_frames;
	out->traced_current = h.traced_current;
	out->traced_peak = h.traced_peak;
	out->tracer_memory = h.tracer_memory;
	out->dropped = h.dropped;
	out->last_error = h.last_error;
	out->sampling = h.tracing ? h.sampling : 0;
	out->heartbeat_ns = h.heartbeat_ns;
	return 0;
}

/* Open and validate <dirfd>/<file>; on success the descriptor is kept in
 * *fdp when fdp is not NULL (else closed). */
static int
seg_open_check(int dirfd, const char *file, int flags, struct seg_info *out,
	       int *fdp, char *err, size_t errlen)
{
	char path[4200];
	int32_t pid;
	int fd, rc;

	fd_path(dirfd, file, path, sizeof(path));
	pid = seg_file_pid(file);
	if (pid < 0) {
		seg_seterr(err, errlen, "reading %s: not a segment file name",
		       path);
		return -EINVAL;
	}
	fd = openat(dirfd, file, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			seg_seterr(err, errlen, "reading %s: is a symbolic link",
			       path);
		else
			seg_seterr(err, errlen, "reading %s: %s", path,
			       strerror(e));
		return -e;
	}
	rc = seg_check(fd, path, file, pid, out, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	out->alive = seg_alive(fd, out->pid, out->start_time);
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return 0;
}

int
seg_info_read(int dirfd, const char *file, struct seg_info *out,
	      char *err, size_t errlen)
{
	return seg_open_check(dirfd, file, O_RDONLY, out, NULL, err, errlen);
}

static int
pid_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

int
seg_list(const char *dir, seg_list_fn fn, seg_bad_fn bad_fn, void *arg)
{
	int32_t *pids = NULL, *grown;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dp;
	int dirfd, rc = 0;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	dp = fdopendir(dirfd);
	if (!dp) {
		rc = -errno;
		close(dirfd);
		return rc;
	}
	while ((d = readdir(dp))) {
		int32_t pid = seg_file_pid(d->d_name);

		if (pid < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(pids, cap * sizeof(*pids));
			if (!grown) {
				rc = -ENOMEM;
				goto out;
			}
			pids = grown;
		}
		pids[n++] = pid;
	}
	if (n)
		qsort(pids, n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n; i++) {
		char file[32], why[4400];
		struct seg_info info;
		int r;

		snprintf(file, sizeof(file), "%" PRId32 "%s", pids[i],
			 SEG_SUFFIX);
		r = seg_info_read(dirfd, file, &info, why, sizeof(why));
		if (r == -ENOENT)
			continue;       /* removed since readdir: not an error */
		if (r < 0) {
			if (bad_fn)
				bad_fn(file, why, arg);
			continue;
		}
		rc = fn(&info, arg);
		if (rc)
			break;
	}
out:
	free(pids);
	closedir(dp);
	return rc;
}

/* Unlink "<pid>.snap.*" leftovers in dirfd. */
static void
remove_snaps(int dirfd, int32_t pid)
{
	char prefix[32];
	struct dirent *d;
	size_t plen;
	DIR *dp;
	int fd;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%" PRId32 "%s",
				pid, SNAP_INFIX);
	fd = dup(dirfd);
	if (fd < 0)
		return;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return;
	}
	rewinddir(dp);
	while ((d = readdir(dp)))
		if (strncmp(d->d_name, prefix, plen) == 0 &&
		    d->d_name[plen] >= '0' && d->d_name[plen] <= '9')
			unlinkat(dirfd, d->d_name, 0);
	closedir(dp);
}

int
seg_remove_dead(const char *dir, int32_t pid, char *err, size_t errlen)
{
	struct seg_info info;
	struct stat before, now;
	char file[32], path[4200];
	int dirfd, fd, rc;

	if (pid <= 0) {
		seg_seterr(err, errlen, "removing segment: bad pid %" PRId32,
		       pid);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%" PRId32 "%s", pid, SEG_SUFFIX);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "removing %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = seg_open_check(dirfd, file, O_RDONLY, &info, &fd, err, errlen);
	if (rc == -EPROTO) {
		/* Invalid header: dead when nobody holds the alive lock. */
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = SEG_LOCK_ALIVE, .l_len = 1,
		};

		fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
		if (fd < 0) {
			rc = -errno;
			seg_seterr(err, errlen, "removing %s: %s", path,
			       strerror(-rc));
			goto out_dir;
		}
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
			info.alive = 1;
		else
			info.alive = 0;
		rc = 0;
	} else if (rc < 0) {
		goto out_dir;
	}
	if (info.alive) {
		seg_seterr(err, errlen, "removing %s: the target is alive", path);
		rc = -EBUSY;
		goto out_fd;
	}
	/* Unlink only the file we checked: a new process of the same pid
	 * may have renamed its own segment into place meanwhile. */
	if (fstat(fd, &before) < 0 ||
	    fstatat(dirfd, file, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    before.st_ino != now.st_ino || before.st_dev != now.st_dev) {
		seg_seterr(err, errlen, "removing %s: replaced meanwhile", path);
		rc = -EAGAIN;
		goto out_fd;
	}
	if (unlinkat(dirfd, file, 0) < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "removing %s: %s", path, strerror(-rc));
		goto out_fd;
	}
	remove_snaps(dirfd, pid);
	rc = 0;
out_fd:
	close(fd);
out_dir:
	close(dirfd);
	return rc;
}

int
seg_client_open(struct seg_client *c, const char *dir, int32_t pid,
		char *err, size_t errlen)
{
	char file[32];
	void *map;
	int dirfd, rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(dir) >= sizeof(c->dir)) {
		seg_seterr(err, errlen, "opening segment: directory name too long");
		return -ENAMETOOLONG;
	}
	if (pid <= 0) {
		seg_seterr(err, errlen, "opening segment: bad pid %" PRId32, pid);
		return -EINVAL;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(file, sizeof(file), "%" PRId32 "%s", pid, SEG_SUFFIX);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "reading %s/%s: %s", dir, file,
		       strerror(-rc));
		return rc;
	}
	rc = seg_open_check(dirfd, file, O_RDWR, &c->info, &c->fd, err,
			    errlen);
	close(dirfd);
	if (rc < 0) {
		c->fd = -1;
		return rc;
	}
	map = mmap(NULL, SEG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   c->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		seg_seterr(err, errlen, "mapping %s/%s: %s", dir, file,
		       strerror(-rc));
		close(c->fd);
		c->fd = -1;
		return rc;
	}
	c->h = map;
	return 0;
}

void
seg_client_close(struct seg_client *c)
{
	if (c->h)
		munmap(c->h, SEG_HEADER_SIZE);
	if (c->fd >= 0)
		close(c->fd);
	c->h = NULL;
	c->fd = -1;
}

/* ---------------------------------------------------------------- snapshot */

/*
 * Check that an array of n elements of `elem` bytes at `off` lies inside a
 * file of `size` bytes, after the header, 8-byte aligned.
 */
static int
range_ok(uint64_t off, uint64_t n, uint64_t elem, uint64_t hdr, uint64_t size)
{
	uint64_t len, end;

	if (__builtin_mul_overflow(n, elem, &len) ||
	    __builtin_add_overflow(off, len, &end))
		return 0;
	if (n == 0)
		return off <= size;
	return off % 8 == 0 && off >= hdr && end <= size;
}

/*
 * Whether a trace's estimates can come from its sampled figures: exact
 * mode repeats them; a sampled block of size s stands for w(s) >= 1 blocks
 * and w(s) * s <= R + s bytes (snap_weight), so est_count >= count (the
 * tracer rounds sums that are at least the count), est_size in [size,
 * size + count * (R + 1)] and, as no sampled block is empty, est_count <=
 * est_size.
 */
static int
est_ok(const struct snap_trace *t, uint64_t rate)
{
	uint64_t hi;

	if (!rate)
		return t->est_count == t->count && t->est_size == t->size;
	if (t->est_count < t->count || t->est_size < t->size)
		return 0;
	if (__builtin_mul_overflow(t->count, rate + 1, &hi) ||
	    __builtin_add_overflow(hi, t->size, &hi))
		hi = UINT64_MAX;
	return t->est_size <= hi && (t->est_count <= t->est_size || !t->size);
}

static int
snap_check(struct snap *s, const char *what, char *err, size_t errlen)
{
	const struct snap_header *h = s->h;
	uint64_t i;

	if (s->size < sizeof(*h)) {
		seg_seterr(err, errlen, "%s: truncated (%zu bytes)", what, s->size);
		return -EPROTO;
	}
	if (h->magic != SNAP_MAGIC) {
		seg_seterr(err, errlen, "%s: bad magic", what);
		return -EPROTO;
	}
	if (h->version != SNAP_VERSION) {
		seg_seterr(err, errlen, "%s: version %" PRIu32 ", expected %u",
		       what, h->version, SNAP_VERSION);
		return -EPROTO;
	}
	if (h->header_size != sizeof(*h)) {
		seg_seterr(err, errlen, "%s: header size %" PRIu32
		       ", expected %zu", what, h->header_size, sizeof(*h));
		return -EPROTO;
	}
	if (h->file_size != s->size) {
		seg_seterr(err, errlen, "%s: file size %" PRIu64
		       " but %zu bytes read (truncated?)", what, h->file_size,
		       s->size);
		return -EPROTO;
	}
	if (h->pid <= 0) {
		seg_seterr(err, errlen, "%s: bad pid %" PRId32, what, h->pid);
		return -EPROTO;
	}
	if (h->frames < 1 || h->frames > SEG_FRAMES_MAX) {
		seg_seterr(err, errlen, "%s: frames %" PRIu32 " out of range",
		       what, h->frames);
		return -EPROTO;
	}
	if (!memchr(h->name, '\0', sizeof(h->name))) {
		seg_seterr(err, errlen, "%s: name not NUL-terminated", what);
		return -EPROTO;
	}
	if (h->view > SNAP_VIEW_MAX) {
		seg_seterr(err, errlen, "%s: view %" PRIu32 " unknown", what,
		       h->view);
		return -EPROTO;
	}
	if (h->sampling_bytes > SNAP_SAMPLING_MAX) {
		seg_seterr(err, errlen, "%s: sampling rate %" PRIu64
		       " out of range", what, h->sampling_bytes);
		return -EPROTO;
	}
	if (h->view == SNAP_VIEW_ALLOCATED && h->n_sizes) {
		seg_seterr(err, errlen, "%s: block sizes in an allocated view",
		       what);
		return -EPROTO;
	}
#define ARRAY(n, off, elem, label)                                          \
	if (!range_ok(h->off, h->n, (elem), sizeof(*h), s->size)) {          \
		seg_seterr(err, errlen, "%s: " label " out of range (%" PRIu64   \
		       " at %" PRIu64 ")", what, h->n, h->off);              \
		return -EPROTO;                                              \
	}
	ARRAY(n_modules, modules_off, sizeof(struct snap_module), "modules")
	ARRAY(n_traces, traces_off, sizeof(struct snap_trace), "traces")
	ARRAY(n_frames, frames_off, sizeof(uint64_t), "frames")
	ARRAY(n_sizes, sizes_off, sizeof(uint64_t), "sizes")
	ARRAY(strings_size, strings_off, 1, "strings")
#undef ARRAY
	s->modules = (const void *)((const char *)s->buf + h->modules_off);
	s->traces = (const void *)((const char *)s->buf + h->traces_off);
	s->frames = (const void *)((const char *)s->buf + h->frames_off);
	s->sizes = (const void *)((const char *)s->buf + h->sizes_off);
	s->strings = (const char *)s->buf + h->strings_off;

	for (i = 0; i < h->n_modules; i++) {
		const struct snap_module *m = &s->modules[i];
		uint64_t end = (uint64_t)m->path_off + m->path_len;

		if (m->lo > m->hi) {
			seg_seterr(err, errlen, "%s: module %" PRIu64
			       ": lo > hi", what, i);
			return -EPROTO;
		}
		if (m->build_id_len > SNAP_BUILD_ID_MAX) {
			seg_seterr(err, errlen, "%s: module %" PRIu64
			       ": build-id length %" PRIu32 " out of range",
			       what, i, m->build_id_len);
			return -EPROTO;
		}
		if (end >= h->strings_size) {
			seg_seterr(err, errlen, "%s: module %" PRIu64
			       ": path out of range", what, i);
			return -EPROTO;
		}
		if (s->strings[end] != '\0' ||
		    memchr(s->strings + m->path_off, '\0', m->path_len)) {
			seg_seterr(err, errlen, "%s: module %" PRIu64
			       ": path not NUL-terminated", what, i);
			return -EPROTO;
		}
	}
	for (i = 0; i < h->n_traces; i++) {
		const struct snap_trace *t = &s->traces[i];
		uint64_t end, sum = 0, j;

		if (t->nframes < 1 || t->nframes > h->frames) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64 ": nframes %"
			       PRIu32 " out of range", what, i, t->nframes);
			return -EPROTO;
		}
		if (t->total_nframe < t->nframes) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": total_nframe %" PRIu32 " < nframes", what, i,
			       t->total_nframe);
			return -EPROTO;
		}
		if (__builtin_add_overflow(t->frame_first, t->nframes, &end) ||
		    end > h->n_frames) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": frames out of range", what, i);
			return -EPROTO;
		}
		if (t->count < 1) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": no blocks", what, i);
			return -EPROTO;
		}
		if (h->view == SNAP_VIEW_ALLOCATED) {
			if (t->block_first) {
				seg_seterr(err, errlen, "%s: trace %" PRIu64
				       ": blocks in an allocated view", what,
				       i);
				return -EPROTO;
			}
			goto estimates;
		}
		if (__builtin_add_overflow(t->block_first, t->count, &end) ||
		    end > h->n_sizes) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": blocks out of range", what, i);
			return -EPROTO;
		}
		for (j = t->block_first; j < end; j++)
			if (__builtin_add_overflow(sum, s->sizes[j], &sum))
				break;
		if (j < end || sum != t->size) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64 ": size %"
			       PRIu64 " is not the sum of its blocks", what, i,
			       t->size);
			return -EPROTO;
		}
estimates:
		if (!est_ok(t, h->sampling_bytes)) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": estimate of %" PRIu64 " blocks, %" PRIu64
			       " bytes impossible for %" PRIu64 " blocks of %"
			       PRIu64 " bytes", what, i, t->est_count,
			       t->est_size, t->count, t->size);
			return -EPROTO;
		}
	}
	return 0;
}

int
snap_parse(struct snap *s, void *buf, size_t size, char *err, size_t errlen)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->size = size;
	s->h = buf;
	if (!buf || ((uintptr_t)buf & 7)) {
		seg_seterr(err, errlen, "snapshot: buffer not 8-byte aligned");
		rc = -EINVAL;
	} else {
		rc = snap_check(s, "snapshot", err, errlen);
	}
	if (rc < 0)
		snap_free(s);
	return rc;
}

int
snap_load(struct snap *s, const char *dir, int32_t pid, uint32_t seq,
	  uid_t owner, char *err, size_t errlen)
{
	char path[4200], what[4300];
	struct stat st;
	size_t size, got = 0;
	void *buf;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%" PRId32 "%s%" PRIu32, dir, pid,
		 SNAP_INFIX, seq);
	snprintf(what, sizeof(what), "reading %s", path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		  O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			seg_seterr(err, errlen, "%s: is a symbolic link", what);
		else
			seg_seterr(err, errlen, "%s: %s", what, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "%s: %s", what, strerror(-rc));
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		seg_seterr(err, errlen, "%s: not a regular file", what);
		rc = -EPROTO;
		goto out_fd;
	}
	if (st.st_uid != owner) {
		seg_seterr(err, errlen, "%s: owned by uid %ju, expected %ju", what,
		       (uintmax_t)st.st_uid, (uintmax_t)owner);
		rc = -EPERM;
		goto out_fd;
	}
	/* Ours to collect: nobody else may read it, and a failed validation
	 * must not leave it behind either. */
	unlink(path);
	if (st.st_size < (off_t)sizeof(struct snap_header)) {
		seg_seterr(err, errlen, "%s: truncated (%jd bytes)", what,
		       (intmax_t)st.st_size);
		rc = -EPROTO;
		goto out_fd;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		seg_seterr(err, errlen, "%s: too large", what);
		rc = -EFBIG;
		goto out_fd;
	}
	size = (size_t)st.st_size;
	/* malloc's alignment (16) covers the 8 the arrays need */
	buf = malloc(size);
	if (!buf) {
		seg_seterr(err, errlen, "%s: out of memory (%zu bytes)", what,
		       size);
		rc = -ENOMEM;
		goto out_fd;
	}
	while (got < size) {
		ssize_t n = pread(fd, (char *)buf + got, size - got,
				  (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			seg_seterr(err, errlen, "%s: %s", what, strerror(-rc));
			free(buf);
			goto out_fd;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	s->buf = buf;
	s->size = got;
	s->h = buf;
	rc = snap_check(s, what, err, errlen);
	if (rc < 0)
		snap_free(s);
out_fd:
	close(fd);
	return rc;
}

void
snap_free(struct snap *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}
