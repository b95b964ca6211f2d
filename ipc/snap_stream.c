/* SPDX-License-Identifier: MIT */
/*
 * snap_stream.c - the validating reader of snapshot streams (segment.h,
 * SNAPSHOT STREAM): the only code that parses snapshot bytes.
 *
 * A snapshot is untrusted input, read once, front to back, through one
 * buffer of SNAP_WINDOW bytes: the header, the modules and their strings
 * are kept (bounded below), then each trace is checked as it is read -
 * its frame and block figures continue the previous trace's, its
 * estimates are possible, its sizes add up to its size - and the trailer
 * is checked against what was read (counts, sums, bytes), so that its
 * totals are known good when snap_stream_next returns 0.  Every count is
 * checked against what follows it before it is used, every addition for
 * overflow; a stream cannot make the reader hold more than the bounds
 * below, whatever it claims.  Failures return a negative errno (-EPROTO
 * for malformed bytes) and a one-line reason naming the source.
 *
 * Reading from the target: connect to the socket it named, check that the
 * peer is the target (SO_PEERCRED), send the command's token, read; a
 * target that sends nothing for SNAP_STALL_MS is given up.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_live.h"
#include "seg_read.h"

/* bounds on what is kept in memory whole */
#define STREAM_MODULES_MAX 65536u
#define STREAM_STRINGS_MAX (16u << 20)

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

/* Read up to `len` bytes (at least 1) into p, waiting at most
 * SNAP_STALL_MS: bytes read, 0 at end of stream, or -errno. */
static ssize_t
read_some(struct snap_stream *ss, void *p, size_t len)
{
	for (;;) {
		struct pollfd pf = { .fd = ss->fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pf, 1, SNAP_STALL_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = read(ss->fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return n < 0 ? -errno : n;
	}
}

/* Whether the stream's target died: its connection and its alive lock
 * go away in the same exit, in no fixed order, so a target whose stream
 * broke is given a second to be seen gone (an agent that is alive does
 * not break a stream but for a reader that stalled it). */
static int
target_gone(struct snap_stream *ss)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!seg_alive(ss->seg_fd, ss->seg_pid, ss->seg_start))
			return 1;
		usleep(10000);
	}
	return 0;
}

static int
io_error(struct snap_stream *ss, int rc, const char *part, char *err,
	 size_t errlen)
{
	/* a stream that broke because its target died: as any command
	 * whose target died (target.c), and its files go */
	if (rc != -EFBIG && ss->seg_fd >= 0 && target_gone(ss)) {
		seg_remove_dead(ss->dir, ss->seg_pid, NULL, 0);
		seg_seterr(err, errlen, "target %d exited", (int)ss->seg_pid);
		return -ESRCH;
	}
	if (rc == -EFBIG)
		seg_seterr(err, errlen, "%s: more than the %" PRIu64 " bytes "
			   "allowed (max_snapshot_mb)", ss->what,
			   ss->max_size);
	else if (rc == -EPROTO)
		seg_seterr(err, errlen, "%s: %s: stream ends early (the "
			   "target exited or gave up?)", ss->what, part);
	else if (rc == -ETIMEDOUT)
		seg_seterr(err, errlen, "%s: %s: nothing received for %u ms",
			   ss->what, part, SNAP_STALL_MS);
	else
		seg_seterr(err, errlen, "%s: %s: %s", ss->what, part,
			   strerror(-rc));
	return rc;
}

/* Make `need` (<= SNAP_WINDOW) bytes available at buf + at. */
static int
fill(struct snap_stream *ss, size_t need)
{
	if (ss->max_size && (ss->pos + need > ss->max_size ||
			     ss->pos + need < ss->pos))
		return -EFBIG;
	if (ss->len - ss->at >= need)
		return 0;
	memmove(ss->buf, ss->buf + ss->at, ss->len - ss->at);
	ss->len -= ss->at;
	ss->at = 0;
	while (ss->len < need) {
		ssize_t n = read_some(ss, ss->buf + ss->len,
				      SNAP_WINDOW - ss->len);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EPROTO;
		ss->len += (size_t)n;
	}
	return 0;
}

/* The next `len` (<= SNAP_WINDOW) bytes, consumed; NULL with *rc. */
static const void *
take(struct snap_stream *ss, size_t len, int *rc)
{
	*rc = fill(ss, len);
	if (*rc)
		return NULL;
	ss->at += len;
	ss->pos += len;
	return ss->buf + ss->at - len;
}

/* The next `len` bytes (any length) into dst. */
static int
take_into(struct snap_stream *ss, void *dst, size_t len)
{
	char *d = dst;

	while (len) {
		size_t k = len < SNAP_WINDOW ? len : SNAP_WINDOW;
		int rc;
		const void *p = take(ss, k, &rc);

		if (!p)
			return rc;
		memcpy(d, p, k);
		d += k;
		len -= k;
	}
	return 0;
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
check_header(struct snap_stream *ss, char *err, size_t errlen)
{
	const struct snap_header *h = &ss->h;

	if (h->magic != SNAP_MAGIC)
		return bad(ss, err, errlen, "bad magic");
	if (h->version != SNAP_VERSION) {
		seg_seterr(err, errlen, "%s: version %" PRIu32 ", expected %u",
			   ss->what, h->version, SNAP_VERSION);
		return -EPROTO;
	}
	if (h->header_size != sizeof(*h))
		return bad(ss, err, errlen, "header size %" PRIu32 ", expected "
			   "%zu", h->header_size, sizeof(*h));
	if (h->pid <= 0)
		return bad(ss, err, errlen, "bad pid %" PRId32, h->pid);
	if (h->frames < 1 || h->frames > SEG_FRAMES_MAX)
		return bad(ss, err, errlen, "frames %" PRIu32 " out of range",
			   h->frames);
	if (!memchr(h->name, '\0', sizeof(h->name)))
		return bad(ss, err, errlen, "name not NUL-terminated");
	if (h->view > SNAP_VIEW_MAX)
		return bad(ss, err, errlen, "view %" PRIu32 " unknown",
			   h->view);
	if (h->sampling_bytes > SNAP_SAMPLING_MAX)
		return bad(ss, err, errlen, "sampling rate %" PRIu64 " out of "
			   "range", h->sampling_bytes);
	if (h->flags & ~SNAP_F_SIZES)
		return bad(ss, err, errlen, "unknown flags %#" PRIx32,
			   h->flags);
	if (h->view == SNAP_VIEW_ALLOCATED && (h->flags & SNAP_F_SIZES))
		return bad(ss, err, errlen, "block sizes in an allocated view");
	/* the trailer's figures: unknown when the header is written */
	if (h->file_size || h->traced_current || h->traced_peak ||
	    h->dropped_traces || h->dropped_blocks || h->n_traces ||
	    h->n_frames || h->n_sizes || h->alloc_count || h->alloc_bytes)
		return bad(ss, err, errlen, "totals in the header");
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
				   ": build-id length %" PRIu32 " out of range",
				   i, m->build_id_len);
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

/* Point the symbolizer's view at ss (which may have moved). */
static void
set_view(struct snap_stream *ss)
{
	ss->snap.h = &ss->h;
	ss->snap.modules = ss->modules;
	ss->snap.strings = ss->strings;
	ss->snap.buf = ss;         /* identity for the symbolizer's memo */
	ss->snap.size = ss->pos;
}

/* The header, modules and strings of the stream on ss->fd. */
static int
read_front(struct snap_stream *ss, char *err, size_t errlen)
{
	static const char zero[8];
	size_t ml;
	int rc;

	ss->buf = malloc(SNAP_WINDOW);
	if (!ss->buf) {
		seg_seterr(err, errlen, "%s: out of memory", ss->what);
		return -ENOMEM;
	}
	rc = take_into(ss, &ss->h, sizeof(ss->h));
	if (rc)
		return io_error(ss, rc, "header", err, errlen);
	rc = check_header(ss, err, errlen);
	if (rc)
		return rc;
	ml = (size_t)ss->h.n_modules * sizeof(*ss->modules);
	ss->modules = malloc(ml ? ml : 1);
	ss->strings = malloc(ss->h.strings_size + 1);
	ss->frames = malloc(ss->h.frames * sizeof(uint64_t));
	if (!ss->modules || !ss->strings || !ss->frames) {
		seg_seterr(err, errlen, "%s: out of memory", ss->what);
		return -ENOMEM;
	}
	rc = take_into(ss, ss->modules, ml);
	if (!rc)
		rc = take_into(ss, ss->strings, ss->h.strings_size);
	if (rc)
		return io_error(ss, rc, "modules", err, errlen);
	ss->strings[ss->h.strings_size] = '\0';
	if (ss->pos % 8) {
		size_t pad = 8 - ss->pos % 8;
		const void *p = take(ss, pad, &rc);

		if (!p)
			return io_error(ss, rc, "modules", err, errlen);
		if (memcmp(p, zero, pad))
			return bad(ss, err, errlen, "padding not zero");
	}
	rc = check_modules(ss, err, errlen);
	if (rc)
		return rc;
	set_view(ss);
	return 0;
}

int
snap_stream_fdopen(struct snap_stream *ss, int fd, uint64_t max_size,
		   const char *what, char *err, size_t errlen)
{
	int rc;

	memset(ss, 0, sizeof(*ss));
	ss->fd = fd;
	ss->seg_fd = -1;
	ss->max_size = max_size;
	snprintf(ss->what, sizeof(ss->what), "%s", what);
	rc = read_front(ss, err, errlen);
	if (rc)
		snap_stream_close(ss);
	return rc;
}

/* Connect to the target's snapshot socket and introduce ourselves. */
static int
connect_target(struct snap_stream *ss, const struct seg_client *c,
	       const char *file, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	int dirfd, fd, rc;
	size_t k = 0;

	dirfd = seg_dir_open(c->dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	/* the directory's descriptor in the address: any path fits */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
		 dirfd, file);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		close(dirfd);
		seg_seterr(err, errlen, "%s: socket: %s", ss->what,
			   strerror(-rc));
		return rc;
	}
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(dirfd);
	if (rc) {
		seg_seterr(err, errlen, "%s: %s", ss->what, strerror(-rc));
		close(fd);
		return rc == -ENOENT || rc == -ECONNREFUSED ? -ESRCH : rc;
	}
	/* names are claims: the peer must be the target itself */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 ||
	    cr.pid != c->info.pid || cr.uid != c->info.uid) {
		seg_seterr(err, errlen, "%s: the socket is not pid %" PRId32
			   "'s (peer pid %d, uid %u)", ss->what, c->info.pid,
			   (int)cr.pid, (unsigned)cr.uid);
		close(fd);
		return -EPERM;
	}
	while (k < sizeof(c->snap_token)) {
		ssize_t n = send(fd, (const char *)&c->snap_token + k,
				 sizeof(c->snap_token) - k, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			seg_seterr(err, errlen, "%s: %s", ss->what,
				   strerror(-rc));
			close(fd);
			return rc;
		}
		k += (size_t)n;
	}
	return fd;
}

int
snap_stream_open(struct snap_stream *ss, const struct seg_client *c,
		 uint32_t seq, uint64_t max_size, char *err, size_t errlen)
{
	char file[64];
	int fd, rc;

	memset(ss, 0, sizeof(*ss));
	ss->fd = -1;
	ss->seg_fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
	ss->seg_pid = c->info.pid;
	ss->seg_start = c->info.start_time;
	snprintf(ss->dir, sizeof(ss->dir), "%s", c->dir);
	snprintf(file, sizeof(file), "%" PRId32 "%s%" PRIu32, c->info.pid,
		 SNAP_INFIX, seq);
	snprintf(ss->what, sizeof(ss->what), "reading %s/%s", c->dir, file);
	fd = connect_target(ss, c, file, err, errlen);
	if (fd < 0) {
		snap_stream_close(ss);
		return fd;
	}
	ss->fd = fd;
	ss->max_size = max_size;
	rc = read_front(ss, err, errlen);
	if (rc == 0 && ss->h.pid != c->info.pid) {
		seg_seterr(err, errlen, "%s: pid %" PRId32 " inside, not %"
			   PRId32, ss->what, ss->h.pid, c->info.pid);
		rc = -EPROTO;
	}
	if (rc == 0 && ss->h.start_time != c->info.start_time) {
		seg_seterr(err, errlen, "%s: start time %" PRIu64 " inside, "
			   "not %" PRIu64, ss->what, ss->h.start_time,
			   c->info.start_time);
		rc = -EPROTO;
	}
	if (rc)
		snap_stream_close(ss);
	return rc;
}

/* The current trace's sizes are all read: does their sum match? */
static int
trace_end(struct snap_stream *ss, char *err, size_t errlen)
{
	ss->in_trace = 0;
	if (ss->sum != ss->cur.size)
		return bad(ss, err, errlen, "trace %" PRIu64 ": size %" PRIu64
			   " is not the sum of its blocks", ss->next - 1,
			   ss->cur.size);
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
		const uint64_t *v = take(ss, sizeof(*v), &rc);

		if (!v)
			return io_error(ss, rc, "sizes", err, errlen);
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

/* The trailer: checked against what was read, then its totals into h. */
static int
read_trailer(struct snap_stream *ss, char *err, size_t errlen)
{
	struct snap_trailer tr;
	struct snap_header *h = &ss->h;
	uint64_t end = ss->pos + sizeof(tr);
	char extra;
	int rc = take_into(ss, &tr, sizeof(tr));

	if (rc)
		return io_error(ss, rc, "trailer", err, errlen);
	if (tr.magic != SNAP_MAGIC)
		return bad(ss, err, errlen, "trailer: bad magic");
	if (tr.n_traces != ss->next || tr.n_frames != ss->next_frame ||
	    tr.n_sizes != ss->next_block)
		return bad(ss, err, errlen, "trailer: %" PRIu64 " traces, %"
			   PRIu64 " frames, %" PRIu64 " sizes, but %" PRIu64
			   ", %" PRIu64 " and %" PRIu64 " were sent",
			   tr.n_traces, tr.n_frames, tr.n_sizes, ss->next,
			   ss->next_frame, ss->next_block);
	if (tr.bytes != end)
		return bad(ss, err, errlen, "trailer: %" PRIu64 " bytes, but %"
			   PRIu64 " were sent", tr.bytes, end);
	if (h->view == SNAP_VIEW_ALLOCATED) {
		if (tr.alloc_count != ss->est_count ||
		    tr.alloc_bytes != ss->est_size)
			return bad(ss, err, errlen, "trailer: allocation totals "
				   "are not the sums of the traces");
	} else {
		if (tr.alloc_count || tr.alloc_bytes)
			return bad(ss, err, errlen, "trailer: allocation totals "
				   "in a view of live blocks");
		if (tr.traced_current != ss->est_size)
			return bad(ss, err, errlen, "trailer: traced memory %"
				   PRIu64 " is not the sum of the traces, %"
				   PRIu64, tr.traced_current, ss->est_size);
	}
	if (tr.traced_peak < tr.traced_current)
		return bad(ss, err, errlen, "trailer: peak below the current "
			   "value");
	/* and nothing after it */
	rc = ss->len > ss->at ? 1 : (int)read_some(ss, &extra, 1);
	if (rc > 0)
		return bad(ss, err, errlen, "bytes after the trailer");
	if (rc < 0)
		return io_error(ss, rc, "trailer", err, errlen);
	h->file_size = end;
	h->n_traces = tr.n_traces;
	h->n_frames = tr.n_frames;
	h->n_sizes = tr.n_sizes;
	h->traced_current = tr.traced_current;
	h->traced_peak = tr.traced_peak;
	h->dropped_traces = tr.dropped_traces;
	h->dropped_blocks = tr.dropped_blocks;
	h->alloc_count = tr.alloc_count;
	h->alloc_bytes = tr.alloc_bytes;
	ss->snap.size = end;
	ss->done = 1;
	return 0;
}

int
snap_stream_next(struct snap_stream *ss, struct snap_trace *t,
		 const uint64_t **frames, char *err, size_t errlen)
{
	const struct snap_trace *tp;
	const uint64_t *tag;
	uint64_t i = ss->next, sizes = ss->h.flags & SNAP_F_SIZES;
	int rc = 0;

	while (ss->in_trace) {
		long n = snap_stream_sizes(ss, NULL, SIZE_MAX, err, errlen);

		if (n < 0)
			return (int)n;
	}
	if (ss->done)
		return 0;
	rc = fill(ss, sizeof(*tag));
	if (rc)
		return io_error(ss, rc, "traces", err, errlen);
	tag = (const uint64_t *)(ss->buf + ss->at);
	if (*tag == SNAP_TAG_END)
		return read_trailer(ss, err, errlen);
	if (*tag != SNAP_TAG_TRACE)
		return bad(ss, err, errlen, "trace %" PRIu64 ": bad record tag",
			   i);
	tp = take(ss, sizeof(*tp), &rc);
	if (!tp)
		return io_error(ss, rc, "traces", err, errlen);
	*t = *tp;
	if (t->nframes < 1 || t->nframes > ss->h.frames)
		return bad(ss, err, errlen, "trace %" PRIu64 ": nframes %"
			   PRIu32 " out of range", i, t->nframes);
	if (t->total_nframe < t->nframes)
		return bad(ss, err, errlen, "trace %" PRIu64 ": total_nframe "
			   "< nframes", i);
	if (t->frame_first != ss->next_frame)
		return bad(ss, err, errlen, "trace %" PRIu64 ": frames start at "
			   "%" PRIu64 ", not %" PRIu64, i, t->frame_first,
			   ss->next_frame);
	if (t->count < 1)
		return bad(ss, err, errlen, "trace %" PRIu64 ": no blocks", i);
	if (t->block_first != (sizes ? ss->next_block : 0))
		return bad(ss, err, errlen, "trace %" PRIu64 ": blocks start at "
			   "%" PRIu64 ", not %" PRIu64, i, t->block_first,
			   sizes ? ss->next_block : 0);
	if (sizes && __builtin_add_overflow(ss->next_block, t->count,
					    &ss->next_block))
		return bad(ss, err, errlen, "trace %" PRIu64 ": too many "
			   "blocks", i);
	if (!snap_est_ok(t, ss->h.sampling_bytes))
		return bad(ss, err, errlen, "trace %" PRIu64 ": estimate of %"
			   PRIu64 " blocks, %" PRIu64 " bytes impossible for %"
			   PRIu64 " blocks of %" PRIu64 " bytes", i,
			   t->est_count, t->est_size, t->count, t->size);
	if (__builtin_add_overflow(ss->est_count, t->est_count,
				   &ss->est_count) ||
	    __builtin_add_overflow(ss->est_size, t->est_size, &ss->est_size))
		return bad(ss, err, errlen, "trace %" PRIu64 ": totals "
			   "overflow", i);
	rc = take_into(ss, ss->frames, t->nframes * sizeof(uint64_t));
	if (rc)
		return io_error(ss, rc, "frames", err, errlen);
	ss->next_frame += t->nframes;
	ss->next++;
	ss->cur = *t;
	ss->sum = 0;
	if (snap_stream_estimated(ss))
		ss->est_blocks += t->est_count ? t->est_count : 1;
	else
		ss->est_blocks += t->count;
	ss->left = sizes ? t->count : 0;
	ss->in_trace = sizes != 0;
	*frames = ss->frames;
	return 1;
}

void
snap_stream_close(struct snap_stream *ss)
{
	if (ss->fd >= 0)
		close(ss->fd);
	if (ss->seg_fd > 0)
		close(ss->seg_fd);
	free(ss->modules);
	free(ss->strings);
	free(ss->frames);
	free(ss->buf);
	memset(ss, 0, sizeof(*ss));
	ss->fd = -1;
	ss->seg_fd = -1;
}
