/* SPDX-License-Identifier: MIT */
/*
 * sym_source.c - the source-line cache, as Python's linecache: the text of
 * line N of a source file, stripped as str.strip() strips it, or "" when
 * the file or the line cannot be read.  Per source path it keeps the
 * file's lines, keyed by device, inode, mtime and size so that an edit is
 * noticed; SYM_SOURCES_BYTES bounds the bytes kept.
 */
#include <config.h>

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_int.h"
#include "utf8.h"

void
sym_source_clear(struct symbolizer *s, bool names)
{
	struct sym_srcname *n, *ntmp;
	struct sym_src *e, *tmp;

	if (names) {
		HASH_ITER(hh, s->srcnames, n, ntmp) {
			HASH_DELETE(hp, s->srcnames_by_ptr, n);
			HASH_DEL(s->srcnames, n);
			free(n);
		}
	}
	HASH_ITER(hh, s->srcs, e, tmp) {
		HASH_DEL(s->srcs, e);
		free(e->path);
		free(e->buf);
		free(e->start);
		free(e->text);
		free(e);
	}
	s->src_bytes = 0;
}

/* Python's str.isspace() for one code point. */
static bool
py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ||
	       c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

/*
 * Read and split a source file as Python's linecache does (tokenize.open:
 * UTF-8, a BOM dropped; universal newlines).  Text that is not valid UTF-8
 * counts as unreadable, as linecache gives no lines for a file it cannot
 * decode; a line holding a NUL reads as "" (a C string cannot carry it).
 * Returns 0 or -errno.
 */
static int
src_load(struct sym_src *e, int fd)
{
	const unsigned char *p, *end;
	size_t got = 0, size = (size_t)e->size, cap;
	uint32_t n = 0;
	char *buf;

	if (e->size < 0 || (uint64_t)e->size > SYM_SOURCE_MAX)
		return -EFBIG;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	p = (const unsigned char *)buf;
	end = p + got;
	if (got >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (const unsigned char *q = p; q < end;) {
		uint32_t cp;
		size_t l = utf8_seq(q, (size_t)(end - q), &cp);

		if (!l) {
			free(buf);
			return -EILSEQ;
		}
		q += l;
	}
	cap = 64;
	e->start = malloc(cap * sizeof(*e->start));
	if (!e->start) {
		free(buf);
		return -ENOMEM;
	}
	/* start[i] is where line i+1 begins; start[n] is past the end of
	 * the last one (its terminator is stripped anyway) */
	while (p < end) {
		const unsigned char *q = p;

		while (q < end && *q != '\n' && *q != '\r')
			q++;
		if (n + 2 > cap) {
			uint32_t *t;

			cap *= 2;
			t = realloc(e->start, cap * sizeof(*t));
			if (!t) {
				free(buf);
				return -ENOMEM;
			}
			e->start = t;
		}
		e->start[n++] = (uint32_t)(p - (const unsigned char *)buf);
		if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
			q++;
		p = q < end ? q + 1 : q;
	}
	e->start[n] = (uint32_t)got;
	e->text = calloc(n ? n : 1, sizeof(*e->text));
	if (!e->text) {
		free(buf);
		return -ENOMEM;
	}
	e->buf = buf;
	e->nlines = n;
	return 0;
}

/* The stripped text of line `line` (1-based) of a loaded entry. */
static const char *
src_text(struct symbolizer *s, struct sym_src *e, uint32_t line)
{
	const unsigned char *p, *q;
	uint32_t cp;

	if (e->text[line - 1])
		return e->text[line - 1];
	p = (const unsigned char *)e->buf + e->start[line - 1];
	q = (const unsigned char *)e->buf + e->start[line];
	/* the line's own terminator (and anything after it) lies within
	 * [p, q): cut at the first \r or \n */
	for (const unsigned char *t = p; t < q; t++) {
		if (*t == '\n' || *t == '\r') {
			q = t;
			break;
		}
		if (!*t) {
			q = p;
			break;
		}
	}
	for (;;) {
		size_t l = p < q ? utf8_seq(p, (size_t)(q - p), &cp) : 0;

		if (!l || !py_space(cp))
			break;
		p += l;
	}
	while (q > p) {
		const unsigned char *b = q - 1;

		while (b > p && (*b & 0xc0) == 0x80 && q - b < 4)
			b--;
		if (!utf8_seq(b, (size_t)(q - b), &cp) || !py_space(cp))
			break;
		q = b;
	}
	e->text[line - 1] = sym_intern_n(s, (const char *)p, (size_t)(q - p));
	return e->text[line - 1];
}

/* Whether entry e is of the file st describes (an edit is noticed). */
static bool
src_same(const struct sym_src *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino &&
	       e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Free what src_load made of an entry not counted in s->src_bytes. */
static void
src_drop_text(struct sym_src *e)
{
	free(e->buf);
	free(e->start);
	free(e->text);
	e->buf = NULL;
	e->start = NULL;
	e->text = NULL;
	e->nlines = 0;
}

static void
src_reset(struct symbolizer *s, struct sym_src *e)
{
	if (e->buf)
		s->src_bytes -= (uint64_t)e->size;
	free(e->buf);
	free(e->start);
	free(e->text);
	e->buf = NULL;
	e->start = NULL;
	e->text = NULL;
	e->nlines = 0;
}

const char *
sym_source_name(struct symbolizer *s, const struct sym_cred *cred,
		const char *path)
{
	size_t kl = strlen(cred->key), pl = strlen(path);
	struct sym_srcname *e;
	char *key = malloc(kl + 1 + pl + 1);

	if (!key)
		return NULL;
	memcpy(key, cred->key, kl);
	key[kl] = '\n';
	memcpy(key + kl + 1, path, pl + 1);
	HASH_FIND(hh, s->srcnames, key, kl + 1 + pl, e);
	if (e) {
		free(key);
		return e->path;
	}
	e = malloc(sizeof(*e) + kl + 1 + pl + 1);
	if (!e) {
		free(key);
		return NULL;
	}
	memcpy(e->key, key, kl + 1 + pl + 1);
	free(key);
	e->cred = cred;
	e->path = e->key + kl + 1;
	sym_hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->srcnames, e->key, kl + 1 + pl, e);
	if (sym_hash_oom) {
		free(e);
		return NULL;
	}
	HASH_ADD_KEYPTR(hp, s->srcnames_by_ptr, &e->path, sizeof(e->path), e);
	if (sym_hash_oom) {
		HASH_DEL(s->srcnames, e);
		free(e);
		return NULL;
	}
	return e->path;
}

const char *
sym_source_line(struct symbolizer *s, const char *file, uint32_t line)
{
	const struct sym_cred *cred = NULL;
	struct sym_srcname *n;

	if (!file || !*file || line == 0)
		return s->s_empty;
	/* read only as whoever's DWARF named this very string */
	pthread_mutex_lock(&s->lock);
	HASH_FIND(hp, s->srcnames_by_ptr, &file, sizeof(file), n);
	if (n)
		cred = n->cred;
	pthread_mutex_unlock(&s->lock);
	return cred ? sym_source_text(s, cred, file, line) : s->s_empty;
}

const char *
sym_source_text(struct symbolizer *s, const struct sym_cred *cred,
		const char *file, uint32_t line)
{
	const char *ret = s->s_empty;
	struct sym_cred_saved saved;
	struct sym_src *e, *n;
	struct stat st;
	int fd;

	if (!file || !*file || line == 0)
		return ret;
	/* with the target's rights, no lock held: the path is the target's */
	if (sym_cred_enter(cred, &saved) != 0)
		return ret;
	fd = sym_open_untrusted(file, &st);
	sym_cred_leave(&saved);
	if (fd < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	HASH_FIND_STR(s->srcs, file, e);
	if (e && src_same(e, &st))
		goto have;
	pthread_mutex_unlock(&s->lock);
	/* read it without the lock: a slow file delays only this request */
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out_fd;
	n->path = strdup(file);
	if (!n->path) {
		free(n);
		goto out_fd;
	}
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	n->size = st.st_size;
	n->mtime = st.st_mtim;
	if (src_load(n, fd) != 0)
		src_drop_text(n);  /* kept: "unreadable", until it changes */
	pthread_mutex_lock(&s->lock);
	HASH_FIND_STR(s->srcs, file, e);
	if (e && src_same(e, &st)) {
		/* another thread was quicker */
		src_drop_text(n);
		free(n->path);
		free(n);
		goto have;
	}
	if (e) {
		HASH_DEL(s->srcs, e);
		src_reset(s, e);
		free(e->path);
		free(e);
	}
	if (s->src_bytes + (uint64_t)st.st_size > SYM_SOURCES_BYTES)
		sym_source_clear(s, false);
	sym_hash_oom = false;
	HASH_ADD_KEYPTR(hh, s->srcs, n->path, strlen(n->path), n);
	if (sym_hash_oom) {
		src_drop_text(n);
		free(n->path);
		free(n);
		goto out_unlock;
	}
	if (n->buf)
		s->src_bytes += (uint64_t)n->size;
	e = n;
have:
	if (e->buf && line <= e->nlines) {
		const char *t = src_text(s, e, line);

		if (t)
			ret = t;
	}
out_unlock:
	pthread_mutex_unlock(&s->lock);
out_fd:
	close(fd);
	return ret;
}
