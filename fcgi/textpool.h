/* SPDX-License-Identifier: MIT */
/*
 * textpool.h - valid UTF-8 for names taken from targets and debug info.
 */
#ifndef HAWK_FCGI_TEXTPOOL_H
#define HAWK_FCGI_TEXTPOOL_H

/* Strings a request had to copy (UTF-8 repairs); freed at once. */
struct textpool {
	struct textpool_chunk *head;
};
void textpool_free(struct textpool *p);

/*
 * s itself when it is valid UTF-8, else a copy in the pool with U+FFFD for
 * each bad byte (NULL when out of memory).  The copy lives until
 * textpool_free.
 */
const char *textpool_utf8(struct textpool *p, const char *s);

#endif /* HAWK_FCGI_TEXTPOOL_H */
