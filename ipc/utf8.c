/* SPDX-License-Identifier: MIT */
/*
 * utf8.c - validate UTF-8 and show invalid bytes as Python does
 * (backslashreplace): the one copy of this for the whole tree.
 */
#include "config.h"

#include "utf8.h"

size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		len = 1;
		c = s[0];
		goto out;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2; c = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3; c = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4; c = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
out:
	if (cp)
		*cp = c;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(u + i, n - i, NULL);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

size_t
utf8_repair(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, k, j;
	char esc[4];

	while (i < n) {
		k = utf8_seq(u + i, n - i, NULL);
		if (k) {
			for (j = 0; j < k; j++, o++)
				if (o + 1 < outlen)
					out[o] = s[i + j];
			i += k;
			continue;
		}
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = hex[u[i] >> 4];
		esc[3] = hex[u[i] & 15];
		for (j = 0; j < 4; j++, o++)
			if (o + 1 < outlen)
				out[o] = esc[j];
		i++;
	}
	out[o + 1 < outlen ? o : outlen - 1] = '\0';
	return o;
}
