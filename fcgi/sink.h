/* SPDX-License-Identifier: MIT */
/*
 * sink.h - where formatters write: a callback plus a buffer with a sticky
 * error.  Formatters know nothing of FastCGI, stdout or files; the
 * responder passes a sink that writes to the FastCGI stream or to stdout,
 * the tests one that appends to memory.
 */
#ifndef HAWK_FCGI_SINK_H
#define HAWK_FCGI_SINK_H

#include <stddef.h>

/* Write all of buf; return 0 or a negative errno. */
typedef int (*sink_fn)(void *arg, const void *buf, size_t len);

#define SINK_BUF_SIZE 65536

struct sink {
	sink_fn fn;
	void *arg;
	int err;                   /* first error (negative errno) or 0 */
	size_t n;                  /* bytes buffered */
	unsigned long long total;  /* bytes accepted so far */
	char buf[SINK_BUF_SIZE];
};

void sink_init(struct sink *s, sink_fn fn, void *arg);
/* Buffered; after the first error every write is dropped. */
void sink_write(struct sink *s, const void *buf, size_t len);
void sink_puts(struct sink *s, const char *str);
__attribute__((format(printf, 2, 3)))
void sink_printf(struct sink *s, const char *fmt, ...);
/* Push the buffer out; returns the sticky error (0 when all went out). */
int sink_flush(struct sink *s);

/* A growable memory buffer usable as a sink_fn argument (tests, errors). */
struct sink_mem {
	char *data;                /* NUL-terminated after every write */
	size_t len, cap;
};
int sink_mem_fn(void *arg, const void *buf, size_t len);
void sink_mem_free(struct sink_mem *m);

#endif /* HAWK_FCGI_SINK_H */
