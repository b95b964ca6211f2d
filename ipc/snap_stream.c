/* SPDX-License-Identifier: MIT */
/*
 * snap_stream.c - the validating reader of snapshot files, through bounded
 * buffers: a snapshot of any size is read in a few hundred KiB.
 *
 * snap_load (snap_read.c) reads a whole file into memory; this reader keeps
 * the header, the modules and their strings (small, bounded below), and
 * reads the traces, frames and sizes arrays through three fixed windows of
 * the (unlinked) file, one trace at a time.  Every check snap_load makes is
 * made here, on each element as it is read, plus one more: the traces must
 * lie in file order, trace i's frames and blocks right after trace i-1's
 * (the writer always does that), so that each array is read once, forward.
 * A consumer that must not act on a bad file before knowing it is good (a
 * response already under way) reads the file once to the end with
 * snap_stream_check, then rewinds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_live.h"
#include "seg_read.h"

/* bounds on what is kept in memory whole */
#define STREAM_MODULES_MAX 65536u
#define STREAM_STRINGS_MAX (16u << 20)

static int
read_at(struct snap_stream *ss, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(ss->fd, (char *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;    /* shorter than it said */
		got += (size_t)n;
	}
	return 0;
}

/* Next `len` bytes of window w (refilled from the file as needed). */
static const void *
win_take(struct snap_stream *ss, struct snap_window *w, size_t len, int *rc)
{
	if (w->at + len > w->len) {
		size_t keep = w->len - w->at, want;
		uint64_t left = w->end - w->pos;

		memmove(w->buf, w->buf + w->at, keep);
		w->len = keep;
		w->at = 0;
		want = SNAP_WINDOW - keep;
		if (want > left)
			want = (size_t)left;
		if (keep + want < len) {
			*rc = -EPROTO;
			return NULL;
		}
		*rc = read_at(ss, w->buf + keep, want, w->pos);
		if (*rc)
			return NULL;
		w->pos += want;
		w->len += want;
	}
	w->at += len;
	return w->buf + w->at - len;
}

static void
win_set(struct snap_window *w, uint64_t off, uint64_t n, uint64_t elem)
{
	w->pos = off;
	w->end = off + n * elem;
	w->len = w->at = 0;
}

static int __attribute__((format(printf, 4, 5)))
bad(struct snap_stream *ss, char *err, size_t errlen, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	seg_seterr(err, errlen, "%s: %s", ss->what, m);
	return -EPROTO;
}

static int
check_header(struct snap_stream *ss, char *err, size_t errlen)
{
	const struct snap_header *h = &ss->h;
	uint64_t size = ss->size;

	if (h->magic != SNAP_MAGIC)
		return bad(ss, err, errlen, "bad magic");
	if (h->version != SNAP_VERSION) {
		seg_seterr(err, errlen, "%s: version %" PRIu32 ", expected %u",
			   ss->what, h->version, SNAP_VERSION);
		return -EPROTO;
	}
	if (h->header_size != sizeof(*h))
		return bad(ss, err, errlen, "header size %" PRIu32 " unexpected",
			   h->header_size);
	if (h->file_size != size) {
		seg_seterr(err, errlen, "%s: file size %" PRIu64 " but %" PRIu64
			   " bytes (truncated?)", ss->what, h->file_size, size);
		return -EPROTO;
	}
	if (h->pid <= 0)
		return bad(ss, err, errlen, "bad pid %" PRId32, h->pid);
	if (h->frames < 1 || h->frames > SEG_FRAMES_MAX)
		return bad(ss, err, errlen, "frames %" PRIu32 " out of range",
			   h->frames);
	if (!memchr(h->name, '\0', sizeof(h->name)))
		return bad(ss, err, errlen, "name not NUL-terminated");
#define ARRAY(n, off, elem, label)                                          \
	if (!snap_range_ok(h->off, h->n, (elem), sizeof(*h), size))         \
		return bad(ss, err, errlen, label " out of range (%" PRIu64 ")", \
			   h->n);
	ARRAY(n_modules, modules_off, sizeof(struct snap_module), "modules")
	ARRAY(n_traces, traces_off, sizeof(struct snap_trace), "traces")
	ARRAY(n_frames, frames_off, sizeof(uint64_t), "frames")
	ARRAY(n_sizes, sizes_off, sizeof(uint64_t), "sizes")
	ARRAY(strings_size, strings_off, 1, "strings")
#undef ARRAY
	if (h->view > SNAP_VIEW_MAX)
		return bad(ss, err, errlen, "view %" PRIu32 " unknown",
			   h->view);
	if (h->sampling_bytes > SNAP_SAMPLING_MAX)
		return bad(ss, err, errlen, "sampling rate %" PRIu64 " out of "
			   "range", h->sampling_bytes);
	if (h->view == SNAP_VIEW_ALLOCATED && h->n_sizes)
		return bad(ss, err, errlen, "block sizes in an allocated view");
	if (h->n_modules > STREAM_MODULES_MAX)
		return bad(ss, err, errlen, "%" PRIu64 " modules, too many",
			   h->n_modules);
	if (h->strings_size > STREAM_STRINGS_MAX)
		return bad(ss, err, errlen, "%" PRIu64 " bytes of strings, too "
			   "many", h->strings_size);
	return 0;
}

static int
check_modules(struct snap_stream *ss, char *err, size_t errlen)
{
	uint64_t i;

	for (i = 0; i < ss->h.n_modules; i++) {
		const struct snap_module *m = &ss->modules[i];
		uint64_t end = (uint64_t)m->path_off + m->path_len;

		if (m->lo > m->hi)
			return bad(ss, err, errlen, "module %" PRIu64
				   ": lo > hi", i);
		if (m->build_id_len > SNAP_BUILD_ID_MAX)
			return bad(ss, err, errlen, "module %" PRIu64
				   ": build-id length out of range", i);
		if (end >= ss->h.strings_size)
			return bad(ss, err, errlen, "module %" PRIu64
				   ": path out of range", i);
		if (ss->strings[end] != '\0' ||
		    memchr(ss->strings + m->path_off, '\0', m->path_len))
			return bad(ss, err, errlen, "module %" PRIu64
				   ": path not NUL-terminated", i);
	}
	return 0;
}

int
snap_stream_open(struct snap_stream *ss, const char *dir, int32_t pid,
		 uint32_t seq, uid_t owner, uint64_t max_size, char *err,
		 size_t errlen)
{
	char path[4200];
	struct stat st;
	size_t ml;
	int rc;

	memset(ss, 0, sizeof(*ss));
	ss->fd = -1;
	snprintf(path, sizeof(path), "%s/%" PRId32 "%s%" PRIu32, dir, pid,
		 SNAP_INFIX, seq);
	snprintf(ss->what, sizeof(ss->what), "reading %s", path);
	ss->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		      O_NONBLOCK);
	if (ss->fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			seg_seterr(err, errlen, "%s: is a symbolic link",
				   ss->what);
		else
			seg_seterr(err, errlen, "%s: %s", ss->what,
				   strerror(-rc));
		return rc;
	}
	if (fstat(ss->fd, &st) < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "%s: %s", ss->what, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		seg_seterr(err, errlen, "%s: not a regular file", ss->what);
		rc = -EPROTO;
		goto fail;
	}
	if (st.st_uid != owner) {
		seg_seterr(err, errlen, "%s: owned by uid %ju, expected %ju",
			   ss->what, (uintmax_t)st.st_uid, (uintmax_t)owner);
		rc = -EPERM;
		goto fail;
	}
	/* ours to collect, whatever happens next */
	unlink(path);
	ss->size = (uint64_t)st.st_size;
	if (ss->size < sizeof(ss->h)) {
		seg_seterr(err, errlen, "%s: truncated (%" PRIu64 " bytes)",
			   ss->what, ss->size);
		rc = -EPROTO;
		goto fail;
	}
	rc = read_at(ss, &ss->h, sizeof(ss->h), 0);
	if (rc == 0)
		rc = check_header(ss, err, errlen);
	else
		seg_seterr(err, errlen, "%s: %s", ss->what, strerror(-rc));
	if (rc)
		goto fail;
	if (ss->h.pid != pid) {
		seg_seterr(err, errlen, "%s: pid %" PRId32 " inside, not %"
			   PRId32, ss->what, ss->h.pid, pid);
		rc = -EPROTO;
		goto fail;
	}
	if (max_size && ss->size > max_size) {
		seg_seterr(err, errlen, "%s: %" PRIu64 " bytes, more than the %"
			   PRIu64 " allowed (max_snapshot_mb)", ss->what,
			   ss->size, max_size);
		rc = -EFBIG;
		goto fail;
	}
	ml = (size_t)ss->h.n_modules * sizeof(*ss->modules);
	ss->modules = malloc(ml ? ml : 1);
	ss->strings = malloc(ss->h.strings_size + 1);
	ss->frames = malloc(ss->h.frames * sizeof(uint64_t));
	ss->tw.buf = malloc(SNAP_WINDOW);
	ss->fw.buf = malloc(SNAP_WINDOW);
	ss->sw.buf = malloc(SNAP_WINDOW);
	if (!ss->modules || !ss->strings || !ss->frames || !ss->tw.buf ||
	    !ss->fw.buf || !ss->sw.buf) {
		seg_seterr(err, errlen, "%s: out of memory", ss->what);
		rc = -ENOMEM;
		goto fail;
	}
	rc = read_at(ss, ss->modules, ml, ss->h.modules_off);
	if (!rc)
		rc = read_at(ss, ss->strings, ss->h.strings_size,
			     ss->h.strings_off);
	if (rc) {
		seg_seterr(err, errlen, "%s: %s", ss->what, strerror(-rc));
		goto fail;
	}
	ss->strings[ss->h.strings_size] = '\0';
	rc = check_modules(ss, err, errlen);
	if (rc)
		goto fail;
	snap_stream_rewind(ss);
	return 0;
fail:
	snap_stream_close(ss);
	return rc;
}

void
snap_stream_rewind(struct snap_stream *ss)
{
	/* the symbolizer's view, pointing into ss (which may have moved) */
	ss->snap.h = &ss->h;
	ss->snap.modules = ss->modules;
	ss->snap.strings = ss->strings;
	ss->snap.buf = ss;         /* identity for the symbolizer's memo */
	ss->snap.size = ss->size;
	win_set(&ss->tw, ss->h.traces_off, ss->h.n_traces,
		sizeof(struct snap_trace));
	win_set(&ss->fw, ss->h.frames_off, ss->h.n_frames, sizeof(uint64_t));
	win_set(&ss->sw, ss->h.sizes_off, ss->h.n_sizes, sizeof(uint64_t));
	ss->next = 0;
	ss->next_frame = 0;
	ss->next_block = 0;
	ss->left = 0;
	ss->sum = 0;
	ss->in_trace = 0;
	ss->est_blocks = 0;
}

/* The current trace's sizes are all read: does their sum match? */
static int
trace_end(struct snap_stream *ss, char *err, size_t errlen)
{
	ss->in_trace = 0;
	if (ss->sum != ss->cur.size)
		return bad(ss, err, errlen, "trace %" PRIu64 ": size is not "
			   "the sum of its blocks", ss->next - 1);
	return 0;
}

long
snap_stream_sizes(struct snap_stream *ss, uint64_t *out, size_t max,
		  char *err, size_t errlen)
{
	size_t n = 0;
	int rc = 0;

	if (!ss->in_trace)
		return 0;
	while (n < max && ss->left) {
		const uint64_t *v = win_take(ss, &ss->sw, sizeof(*v), &rc);

		if (!v) {
			seg_seterr(err, errlen, "%s: sizes: %s", ss->what,
				   strerror(-rc));
			return rc;
		}
		if (__builtin_add_overflow(ss->sum, *v, &ss->sum))
			return bad(ss, err, errlen, "trace %" PRIu64 ": size "
				   "overflows", ss->next - 1);
		if (out)
			out[n] = *v;
		n++;
		ss->left--;
	}
	if (!ss->left) {
		rc = trace_end(ss, err, errlen);
		if (rc)
			return rc;
	}
	return (long)n;
}

int
snap_stream_next(struct snap_stream *ss, struct snap_trace *t,
		 const uint64_t **frames, char *err, size_t errlen)
{
	const struct snap_trace *tp;
	const uint64_t *f;
	uint64_t i = ss->next, end;
	uint32_t k;
	int rc = 0;

	while (ss->in_trace) {
		long n = snap_stream_sizes(ss, NULL, SIZE_MAX, err, errlen);

		if (n < 0)
			return (int)n;
	}
	if (i >= ss->h.n_traces)
		return 0;
	tp = win_take(ss, &ss->tw, sizeof(*tp), &rc);
	if (!tp) {
		seg_seterr(err, errlen, "%s: traces: %s", ss->what,
			   strerror(-rc));
		return rc;
	}
	*t = *tp;
	if (t->nframes < 1 || t->nframes > ss->h.frames)
		return bad(ss, err, errlen, "trace %" PRIu64 ": nframes out "
			   "of range", i);
	if (t->total_nframe < t->nframes)
		return bad(ss, err, errlen, "trace %" PRIu64 ": total_nframe "
			   "< nframes", i);
	if (t->frame_first != ss->next_frame ||
	    __builtin_add_overflow(t->frame_first, t->nframes, &end) ||
	    end > ss->h.n_frames)
		return bad(ss, err, errlen, "trace %" PRIu64 ": frames out of "
			   "range or out of order", i);
	if (ss->h.view == SNAP_VIEW_ALLOCATED) {
		/* totals per traceback, no block sizes */
		if (t->block_first)
			return bad(ss, err, errlen, "trace %" PRIu64 ": blocks "
				   "in an allocated view", i);
	} else {
		if (t->count < 1)
			return bad(ss, err, errlen, "trace %" PRIu64 ": no "
				   "blocks", i);
		if (t->block_first != ss->next_block ||
		    __builtin_add_overflow(t->block_first, t->count, &end) ||
		    end > ss->h.n_sizes)
			return bad(ss, err, errlen, "trace %" PRIu64 ": blocks "
				   "out of range or out of order", i);
	}
	if (!snap_est_ok(t, ss->h.sampling_bytes))
		return bad(ss, err, errlen, "trace %" PRIu64 ": estimate of %"
			   PRIu64 " blocks, %" PRIu64 " bytes impossible for %"
			   PRIu64 " blocks of %" PRIu64 " bytes", i,
			   t->est_count, t->est_size, t->count, t->size);
	for (k = 0; k < t->nframes; k++) {
		f = win_take(ss, &ss->fw, sizeof(*f), &rc);
		if (!f) {
			seg_seterr(err, errlen, "%s: frames: %s", ss->what,
				   strerror(-rc));
			return rc;
		}
		ss->frames[k] = *f;
	}
	ss->next_frame += t->nframes;
	ss->next++;
	ss->cur = *t;
	ss->sum = 0;
	if (snap_stream_estimated(ss))
		ss->est_blocks += t->est_count ? t->est_count : 1;
	else
		ss->est_blocks += t->count;
	if (ss->h.view == SNAP_VIEW_ALLOCATED) {
		ss->left = 0;      /* nothing to read, nothing to sum */
		ss->in_trace = 0;
	} else {
		ss->next_block += t->count;
		ss->left = t->count;
		ss->in_trace = 1;
	}
	*frames = ss->frames;
	return 1;
}

int
snap_stream_check(struct snap_stream *ss, char *err, size_t errlen)
{
	struct snap_trace t;
	const uint64_t *f;
	int rc;

	uint64_t n;

	snap_stream_rewind(ss);
	while ((rc = snap_stream_next(ss, &t, &f, err, errlen)) == 1)
		;
	n = ss->est_blocks;
	snap_stream_rewind(ss);
	ss->est_blocks = n;        /* the whole file's, for the caller */
	return rc;
}

void
snap_stream_close(struct snap_stream *ss)
{
	if (ss->fd >= 0)
		close(ss->fd);
	free(ss->modules);
	free(ss->strings);
	free(ss->frames);
	free(ss->tw.buf);
	free(ss->fw.buf);
	free(ss->sw.buf);
	memset(ss, 0, sizeof(*ss));
	ss->fd = -1;
}
