/* SPDX-License-Identifier: MIT */
/*
 * estimate.c - the weight of a sampled block (seg.h explains the sampling
 * and why this estimator is unbiased).  One copy, used by the tracer when
 * it writes estimates and by tools that check them.
 */
#include "config.h"

#include <errno.h>
#include <math.h>

#include "estimate.h"
#include "segment.h"

double
snap_weight(uint64_t s, uint64_t rate)
{
	if (!rate || !s || s >= rate)
		return 1.0;
	/* -expm1 keeps the precision of 1 - exp(-x) for small x (a 16-byte
	 * block at 512 KiB: x = 3e-5) */
	return -1.0 / expm1(-(double)s / (double)rate);
}

int
snap_parse_sampling(const char *s, uint64_t *out)
{
	uint64_t n = 0, mul = 1;
	int digits = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > SNAP_SAMPLING_MAX)
			return -ERANGE;
	}
	if (*s == 'k' || *s == 'K')
		mul = 1024, s++;
	else if (*s == 'm' || *s == 'M')
		mul = 1024 * 1024, s++;
	else if (*s == 'g' || *s == 'G')
		mul = 1024 * 1024 * 1024, s++;
	if (*s || !digits)
		return -EINVAL;
	if (n > SNAP_SAMPLING_MAX / mul)
		return -ERANGE;
	*out = n * mul;
	return 0;
}
