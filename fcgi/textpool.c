/* SPDX-License-Identifier: MIT */
/*
 * textpool.c - text that must be valid UTF-8 (JSON and pickle carry text):
 * a string that already is comes back as it is, one that is not gets a
 * repaired copy kept in a pool that the request frees at once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "textpool.h"

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

/* Length of the valid UTF-8 sequence at s, 0 if invalid (RFC 3629). */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[0] == 0xe0 && s[1] < 0xa0) ||
		    (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
		    (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

const char *
textpool_utf8(struct textpool *p, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	struct textpool_chunk *c;
	size_t i, k, bad = 0, n = strlen(s), o = 0;

	for (i = 0; i < n; i += k ? k : 1) {
		k = utf8_len(u + i);
		if (!k)
			bad++;
	}
	if (!bad)
		return s;
	c = malloc(sizeof(*c) + n + 2 * bad + 1);
	if (!c)
		return NULL;
	for (i = 0; i < n; i += k ? k : 1) {
		k = utf8_len(u + i);
		if (k) {
			memcpy(c->s + o, s + i, k);
			o += k;
		} else {
			memcpy(c->s + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	c->s[o] = '\0';
	c->next = p->head;
	p->head = c;
	return c->s;
}
