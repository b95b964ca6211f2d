/* SPDX-License-Identifier: MIT */
/*
 * utf8.h - the one UTF-8 validator of the tree (reader side: names and
 * paths from targets, debug info and source files become JSON and pickle
 * text).  Used by fcgi/ (textpool.c, fmt_json.c, symbols.c) and cli/.
 */
#ifndef HAWK_IPC_UTF8_H
#define HAWK_IPC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1..4) of the valid UTF-8 sequence at s[0..n), and its code
 * point in *cp (when not NULL); 0 when it is not one (RFC 3629: no
 * overlong form, no surrogate, nothing above U+10FFFF, not truncated by
 * n, 0 when n is 0).
 */
size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* Whether s[0..n) is valid UTF-8. */
int utf8_valid(const char *s, size_t n);

/*
 * s[0..n) with every byte that does not belong to a valid sequence
 * written as the four characters \xNN (lower-case hex), as Python's
 * errors="backslashreplace" shows undecodable bytes.  Writes at most
 * outlen - 1 bytes and a NUL to out (outlen > 0); returns the length of
 * the whole result (without the NUL), as snprintf does.
 */
size_t utf8_repair(const char *s, size_t n, char *out, size_t outlen);

#endif /* HAWK_IPC_UTF8_H */
