/* SPDX-License-Identifier: MIT */
/*
 * snap_read.c - a whole snapshot in private memory (struct snap), for the
 * users that need every trace at once (pprof, tests, the fuzzer), built
 * by the one parser of snapshot bytes, snap_stream.c: every element is
 * validated as it is read, and the arrays hold exactly what was read.
 * Snapshot bytes already in memory are fed to that parser through an
 * unlinked in-memory file.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg_live.h"
#include "seg_read.h"

/* What a loaded snapshot owns (struct snap's buf). */
struct snap_owned {
	struct snap_header h;
	struct snap_module *modules;
	char *strings;
	struct snap_trace *traces;
	uint64_t *frames, *sizes;
	size_t cap_t, cap_f, cap_s;
};

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		n *= 2;
	}
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Read the opened stream ss to its end into s. */
static int
load_all(struct snap *s, struct snap_stream *ss, char *err, size_t errlen)
{
	struct snap_owned *o = calloc(1, sizeof(*o));
	struct snap_trace t;
	const uint64_t *f;
	uint64_t nt = 0, nf = 0, nz = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!o)
		goto nomem;
	/* the modules and strings: taken over from the stream */
	o->modules = ss->modules;
	o->strings = ss->strings;
	ss->modules = NULL;
	ss->strings = NULL;
	s->buf = o;
	while ((rc = snap_stream_next(ss, &t, &f, err, errlen)) == 1) {
		if (grow((void **)&o->traces, &o->cap_t, nt + 1,
			 sizeof(t)) ||
		    grow((void **)&o->frames, &o->cap_f, nf + t.nframes,
			 sizeof(uint64_t)))
			goto nomem;
		o->traces[nt++] = t;
		memcpy(o->frames + nf, f, t.nframes * sizeof(uint64_t));
		nf += t.nframes;
		while (ss->h.flags & SNAP_F_SIZES) {
			long n;

			if (grow((void **)&o->sizes, &o->cap_s, nz + 4096,
				 sizeof(uint64_t)))
				goto nomem;
			n = snap_stream_sizes(ss, o->sizes + nz, 4096, err,
					      errlen);
			if (n < 0) {
				rc = (int)n;
				goto fail;
			}
			if (n == 0)
				break;
			nz += (uint64_t)n;
		}
	}
	if (rc < 0)
		goto fail;
	o->h = ss->h;
	s->h = &o->h;
	s->size = ss->h.file_size;
	s->modules = o->modules;
	s->strings = o->strings;
	s->traces = o->traces;
	s->frames = o->frames;
	s->sizes = o->sizes;
	return 0;
nomem:
	seg_seterr(err, errlen, "%s: out of memory", ss->what);
	rc = -ENOMEM;
fail:
	if (!s->buf)
		free(o);
	snap_free(s);
	return rc;
}

int
snap_load(struct snap *s, const struct seg_client *c, uint32_t seq,
	  uint64_t max_size, char *err, size_t errlen)
{
	struct snap_stream ss;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = snap_stream_open(&ss, c, seq, max_size, err, errlen);
	if (rc)
		return rc;
	rc = load_all(s, &ss, err, errlen);
	snap_stream_close(&ss);
	return rc;
}

int
snap_parse(struct snap *s, const void *buf, size_t size, char *err,
	   size_t errlen)
{
	struct snap_stream ss;
	const char *p = buf;
	size_t done = 0;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	fd = memfd_create("hawk-snapshot", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "snapshot: memfd: %s", strerror(-rc));
		return rc;
	}
	while (done < size) {
		ssize_t n = write(fd, p + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(fd);
			seg_seterr(err, errlen, "snapshot: %s", strerror(-rc));
			return rc;
		}
		done += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	rc = snap_stream_fdopen(&ss, fd, 0, "snapshot", err, errlen);
	if (rc)
		return rc;
	rc = load_all(s, &ss, err, errlen);
	snap_stream_close(&ss);
	return rc;
}

void
snap_free(struct snap *s)
{
	struct snap_owned *o = s->buf;

	if (o) {
		free(o->modules);
		free(o->strings);
		free(o->traces);
		free(o->frames);
		free(o->sizes);
		free(o);
	}
	memset(s, 0, sizeof(*s));
}
