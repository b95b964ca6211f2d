/* SPDX-License-Identifier: MIT */
/*
 * sink.c - buffered output with a sticky error for the formatters.
 *
 * The first failing write is kept in s->err; every later write is dropped,
 * and the caller checks once, with sink_flush, at the end.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"

void
sink_init(struct sink *s, sink_fn fn, void *arg)
{
	s->fn = fn;
	s->arg = arg;
	s->err = 0;
	s->n = 0;
	s->total = 0;
}

static void
drain(struct sink *s)
{
	int err;

	if (s->n && !s->err) {
		err = s->fn(s->arg, s->buf, s->n);
		if (err)
			s->err = err < 0 ? err : -EIO;
	}
	s->n = 0;
}

void
sink_write(struct sink *s, const void *buf, size_t len)
{
	int err;

	if (s->err)
		return;
	s->total += len;
	if (len > sizeof(s->buf) - s->n) {
		drain(s);
		if (len >= sizeof(s->buf)) {
			if (!s->err && (err = s->fn(s->arg, buf, len)))
				s->err = err < 0 ? err : -EIO;
			return;
		}
	}
	memcpy(s->buf + s->n, buf, len);
	s->n += len;
}

void
sink_puts(struct sink *s, const char *str)
{
	sink_write(s, str, strlen(str));
}

void
sink_printf(struct sink *s, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!s->err)
			s->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		sink_write(s, small, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		if (!s->err)
			s->err = -ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sink_write(s, big, (size_t)n);
	free(big);
}

int
sink_flush(struct sink *s)
{
	drain(s);
	return s->err;
}

int
sink_mem_fn(void *arg, const void *buf, size_t len)
{
	struct sink_mem *m = arg;
	size_t cap = m->cap ? m->cap : 4096;
	char *p;

	while (cap < m->len + len + 1)
		cap *= 2;
	if (cap != m->cap) {
		p = realloc(m->data, cap);
		if (!p)
			return -ENOMEM;
		m->data = p;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	m->data[m->len] = '\0';
	return 0;
}

void
sink_mem_free(struct sink_mem *m)
{
	free(m->data);
	memset(m, 0, sizeof(*m));
}
