/* SPDX-License-Identifier: MIT */
/*
 * snap_read.c - the validating reader of snapshot files
 * ("<pid>.snap.<seq>"), the only code that parses them.
 *
 * A snapshot is untrusted input.  It is read whole into private memory,
 * then every offset, count and length is checked with overflow-safe
 * arithmetic before one array element is touched; after snap_parse
 * succeeds, every index a consumer takes from the snapshot (frame and
 * block ranges, module strings) is known to be in bounds.  Failures
 * return a negative errno (-EPROTO for a malformed file) and a one-line
 * reason naming the file.
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

/*
 * Check that an array of n elements of `elem` bytes at `off` lies inside a
 * file of `size` bytes, after the header, 8-byte aligned.
 */
int
snap_range_ok(uint64_t off, uint64_t n, uint64_t elem, uint64_t hdr,
	      uint64_t size)
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
int
snap_est_ok(const struct snap_trace *t, uint64_t rate)
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
	uint64_t i, next_frame = 0, next_block = 0;

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
	if (!snap_range_ok(h->off, h->n, (elem), sizeof(*h), s->size)) {     \
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
	/* Trace i's frames and blocks start where trace i-1's end, and the
	 * last ones end at the arrays' ends: every frame and block belongs to
	 * exactly one trace, so validation and everything built from the
	 * snapshot (statistics, a pickle's per-block traces) grow linearly
	 * with the file, whatever it claims. */
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
		if (t->frame_first != next_frame) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64 ": frames "
			       "start at %" PRIu64 ", not %" PRIu64 " (ranges "
			       "must be contiguous)", what, i, t->frame_first,
			       next_frame);
			return -EPROTO;
		}
		next_frame = end;
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
		if (t->block_first != next_block) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64 ": blocks "
			       "start at %" PRIu64 ", not %" PRIu64 " (ranges "
			       "must be contiguous)", what, i, t->block_first,
			       next_block);
			return -EPROTO;
		}
		next_block = end;
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
		if (!snap_est_ok(t, h->sampling_bytes)) {
			seg_seterr(err, errlen, "%s: trace %" PRIu64
			       ": estimate of %" PRIu64 " blocks, %" PRIu64
			       " bytes impossible for %" PRIu64 " blocks of %"
			       PRIu64 " bytes", what, i, t->est_count,
			       t->est_size, t->count, t->size);
			return -EPROTO;
		}
	}
	if (next_frame != h->n_frames || next_block != h->n_sizes) {
		seg_seterr(err, errlen, "%s: %" PRIu64 " frames and %" PRIu64
		       " blocks, but the traces use %" PRIu64 " and %" PRIu64,
		       what, h->n_frames, h->n_sizes, next_frame, next_block);
		return -EPROTO;
	}
	return 0;
}

/* pread until len bytes or end of file: bytes read, or -1 (errno). */
static ssize_t
pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
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
	  uid_t owner, uint64_t max_size, char *err, size_t errlen)
{
	char path[4200], what[4300], file[64];
	struct snap_header hdr;
	struct stat st;
	size_t size, got;
	ssize_t n;
	void *buf;
	int dirfd, fd, rc;

	memset(s, 0, sizeof(*s));
	snprintf(file, sizeof(file), "%" PRId32 "%s%" PRIu32, pid, SNAP_INFIX,
		 seq);
	snprintf(path, sizeof(path), "%s/%" PRId32 "%s%" PRIu32, dir, pid,
		 SNAP_INFIX, seq);
	snprintf(what, sizeof(what), "reading %s", path);
	dirfd = seg_dir_open(dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			seg_seterr(err, errlen, "%s: is a symbolic link", what);
		else
			seg_seterr(err, errlen, "%s: %s", what, strerror(-rc));
		close(dirfd);
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
	unlinkat(dirfd, file, 0);
	if (st.st_size < (off_t)sizeof(struct snap_header)) {
		seg_seterr(err, errlen, "%s: truncated (%jd bytes)", what,
		       (intmax_t)st.st_size);
		rc = -EPROTO;
		goto out_fd;
	}
	/* Limits before work: the header alone first, then the whole file
	 * only if its size is the one declared and within the cap (a sparse
	 * file may claim gigabytes that cost nothing to make). */
	if (pread_full(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		seg_seterr(err, errlen, "%s: truncated header", what);
		rc = -EPROTO;
		goto out_fd;
	}
	if (hdr.magic != SNAP_MAGIC || hdr.version != SNAP_VERSION ||
	    hdr.header_size != sizeof(hdr)) {
		seg_seterr(err, errlen, "%s: not a version %u snapshot", what,
			   SNAP_VERSION);
		rc = -EPROTO;
		goto out_fd;
	}
	if (hdr.pid != pid) {
		seg_seterr(err, errlen, "%s: pid %" PRId32 " inside, not %" PRId32,
			   what, hdr.pid, pid);
		rc = -EPROTO;
		goto out_fd;
	}
	if (hdr.file_size != (uint64_t)st.st_size) {
		seg_seterr(err, errlen, "%s: file size %" PRIu64 " declared "
			   "but the file has %jd bytes", what, hdr.file_size,
			   (intmax_t)st.st_size);
		rc = -EPROTO;
		goto out_fd;
	}
	if ((max_size && (uint64_t)st.st_size > max_size) ||
	    (uint64_t)st.st_size > SIZE_MAX / 2) {
		seg_seterr(err, errlen, "%s: %jd bytes, more than the %" PRIu64
			   " allowed (max_snapshot_mb)", what,
			   (intmax_t)st.st_size, max_size);
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
	n = pread_full(fd, buf, size, 0);
	if (n < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "%s: %s", what, strerror(-rc));
		free(buf);
		goto out_fd;
	}
	got = (size_t)n;
	s->buf = buf;
	s->size = got;
	s->h = buf;
	rc = snap_check(s, what, err, errlen);
	if (rc < 0)
		snap_free(s);
out_fd:
	close(fd);
	close(dirfd);
	return rc;
}

void
snap_free(struct snap *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}
