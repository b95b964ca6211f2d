/* SPDX-License-Identifier: MIT */
/*
 * seg_read.c - the validating reader of one segment file ("<pid>.seg"):
 * open it safely, check its header field by field, say whether its
 * process is alive.  Listing a directory is seg_list.c, opening a target
 * for commands seg_client.c, deleting a dead one seg_remove.c, snapshots
 * snap_read.c.
 *
 * Every byte taken from a file is untrusted input.  Invariants:
 *  - files are opened O_NOFOLLOW|O_CLOEXEC and must be regular files;
 *  - a segment header is copied with pread (never dereferenced through a
 *    mapping that the target could change between check and use) and
 *    checked field by field before anything is returned;
 *  - failures return a negative errno (-EPROTO for a malformed file) and a
 *    one-line reason naming the file: "reading /dev/shm/hawk/1234.seg: bad
 *    magic".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_live.h"
#include "seg_read.h"

int32_t
seg_file_pid(const char *file)
{
	const char *p = file;
	int64_t v = 0;
	int i;

	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return -1;
	}
	if (strcmp(p, SEG_SUFFIX) == 0)
		return (int32_t)v;
	/* "<pid>.<tag>.seg": tag = 8 lowercase hex digits (segment.h) */
	if (*p++ != '.')
		return -1;
	for (i = 0; i < 8; i++, p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -1;
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
	out->alloc_mode = h.alloc_mode <= SEG_ALLOC_BYPASSED ? h.alloc_mode
							      : SEG_ALLOC_GLIBC;
	memcpy(out->alloc_path, h.alloc_path, sizeof(out->alloc_path));
	out->alloc_path[sizeof(out->alloc_path) - 1] = '\0';
	out->rss_bytes = h.rss_bytes;
	out->anon_bytes = h.anon_bytes;
	out->flags = h.flags;
	return 0;
}

int
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
	if (out->alive) {
		rc = seg_proc_has_uid(out->pid, out->uid);
		if (rc == 0) {
			seg_seterr(err, errlen, "reading %s: owned by uid %u, "
				   "but process %" PRId32 " does not run as "
				   "that uid: not its segment", path,
				   (unsigned)out->uid, out->pid);
			close(fd);
			return -EPERM;
		}
		if (rc < 0)
			out->alive = 0;     /* gone meanwhile */
	}
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
