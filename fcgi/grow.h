/* SPDX-License-Identifier: MIT */
/*
 * grow.h - the responder's one growable-array helper (header-only): the
 * formatters and the statistics set each keep arrays that grow by
 * doubling, and they share this instead of a copy each.
 */
#ifndef HAWK_FCGI_GROW_H
#define HAWK_FCGI_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make room for `need` elements of `elem` bytes in *v, whose capacity is
 * *cap elements: doubles from 64 until it fits.  Returns 0, or -ENOMEM
 * (out of memory, or a size that overflows), *v and *cap unchanged.
 */
static inline int
grow_array(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (elem && c > SIZE_MAX / elem)
		return -ENOMEM;
	n = realloc(*v, c * elem);
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = c;
	return 0;
}

#endif /* HAWK_FCGI_GROW_H */
