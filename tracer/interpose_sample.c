/* SPDX-License-Identifier: MIT */
/*
 * interpose_sample.c - malloc, calloc, realloc and free while tracing
 * sampled: what control.c points the jump table (interpose.h) at in that
 * mode.
 *
 * - an unsampled allocation costs the countdown (sample_skip: a load, a
 *   subtraction, a branch and a store in initial-exec TLS) and a tail
 *   call to the real allocator (interpose_real: glibc's or the
 *   program's own): no guard, no generation, no table;
 * - an unsampled free costs one bit of the free filter (sample_maybe: a
 *   multiply, a shift, one load from an 8 KiB bitmap) and a tail call;
 * - otherwise the exact mode's path: guard, real call, core_alloc (which
 *   decides with sample_decide) or core_free_sampled;
 * - the other allocation functions and the C++ operators go through
 *   core_alloc, which applies the same countdown (core.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "interpose.h"
#include "sample.h"

static __attribute__((noinline)) void *
slow_malloc(size_t size)
{
	void *p;

	guard_active = 1;
	p = interpose_real.malloc(size);
	if (p)
		core_alloc(p, size);
	guard_active = 0;
	return p;
}

static void *
smp_malloc(size_t size)
{
	if (likely(sample_skip(size)) || guard_active)
		return interpose_real.malloc(size);
	return slow_malloc(size);
}

static __attribute__((noinline)) void *
slow_calloc(size_t n, size_t size)
{
	void *p;

	guard_active = 1;
	p = interpose_real.calloc(n, size);
	if (p)
		core_alloc(p, n * size);
	guard_active = 0;
	return p;
}

static void *
smp_calloc(size_t n, size_t size)
{
	size_t total;

	/* an overflowing product: glibc fails it, nothing to record */
	if (__builtin_mul_overflow(n, size, &total) ||
	    likely(sample_skip(total)) || guard_active)
		return interpose_real.calloc(n, size);
	return slow_calloc(n, size);
}

static __attribute__((noinline)) void
slow_free(void *p)
{
	guard_active = 1;
	core_free_sampled(p);
	interpose_real.free(p);
	guard_active = 0;
}

static void
smp_free(void *p)
{
	if (likely(!sample_maybe(p)) || guard_active || !p) {
		interpose_real.free(p);
		return;
	}
	slow_free(p);
}

static __attribute__((noinline)) void *
slow_realloc(void *old, size_t size)
{
	struct core_moved m;
	void *p;

	guard_active = 1;
	core_realloc_take(old, &m);
	p = interpose_real.realloc(old, size);
	if (p)
		core_alloc(p, size);
	else if (size)
		core_realloc_failed(old, &m);
	guard_active = 0;
	return p;
}

static void *
smp_realloc(void *old, size_t size)
{
	if (guard_active)
		return interpose_real.realloc(old, size);
	if (!old)
		return smp_malloc(size);
	/* the old block may be sampled: forget it first (interpose.c) */
	if (likely(!sample_maybe(old)) && likely(sample_skip(size)))
		return interpose_real.realloc(old, size);
	return slow_realloc(old, size);
}

const struct core_hot interpose_sample = {
	smp_malloc, smp_calloc, smp_realloc, smp_free
};
