/* SPDX-License-Identifier: MIT */
/*
 * textpool.c - text that must be valid UTF-8 (JSON and pickle carry text):
 * a string that already is comes back as it is, one that is not gets a
 * repaired copy (each bad byte as \xNN, ipc/utf8.c) kept in a pool that
 * the request frees at once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "textpool.h"
#include "utf8.h"

struct textpool_chunk {
	struct textpool_chunk *next;
	char s[];
};

void
textpool_free(struct textpool *p)
{
	struct textpool_chunk *c, *n;

	for (c = p->head; c; c = n) {
		n = c->next;
		free(c);
	}
	p->head = NULL;
}

const char *
textpool_utf8(struct textpool *p, const char *s)
{
	struct textpool_chunk *c;
	size_t n = strlen(s), len;
	char probe[1];

	if (utf8_valid(s, n))
		return s;
	len = utf8_repair(s, n, probe, sizeof(probe));
	c = malloc(sizeof(*c) + len + 1);
	if (!c)
		return NULL;
	utf8_repair(s, n, c->s, len + 1);
	c->next = p->head;
	p->head = c;
	return c->s;
}
