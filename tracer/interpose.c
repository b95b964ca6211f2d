/* SPDX-License-Identifier: MIT */
/*
 * interpose.c - the malloc family, interposed by LD_PRELOAD and equally
 * when a program links -lhawk.  C++ operators are in interpose_cxx.c.
 *
 * - thin: switch check -> real call -> one core call;
 * - malloc, calloc, realloc and free are one indirect jump through
 *   core_hot (interpose.h), which control.c switches: straight to glibc
 *   while tracing is off (one
 *   instruction per call), to the recording function below while on; the
 *   other functions cost one load and one predictable branch of the
 *   switch before the tail call to glibc;
 * - the real functions are glibc's exported __libc_malloc family, bound at
 *   link time: no dlsym, so no bootstrap pool is needed (dlsym's own
 *   calloc goes to glibc directly) - glibc is a requirement (configure
 *   checks __libc_malloc);
 * - never allocates through the hooks it installs: guard_active is held
 *   across the real call and the recording;
 * - records a free before the real free (another thread may get the same
 *   address back at once) and an allocation after the real allocation;
 * - takes no lock itself.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "interpose.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* Common tail of every allocation function. */
#define TRACED_ALLOC(call, size)					\
	do {								\
		void *p_;						\
		if (likely(!core_tracing()) || guard_active)		\
			return call;					\
		guard_active = 1;					\
		p_ = call;						\
		if (p_)							\
			core_alloc(p_, (size));				\
		guard_active = 0;					\
		return p_;						\
	} while (0)

/* The recording functions that core_hot points at while tracing. */
static void *
rec_malloc(size_t size)
{
	TRACED_ALLOC(__libc_malloc(size), size);
}

static void *
rec_calloc(size_t n, size_t size)
{
	/* __libc_calloc checks n * size for overflow and fails first */
	TRACED_ALLOC(__libc_calloc(n, size), n * size);
}

static void
rec_free(void *p)
{
	if (!core_tracing() || guard_active || !p) {
		__libc_free(p);
		return;
	}
	guard_active = 1;
	p = core_free(p);
	if (p)
		__libc_free(p);
	guard_active = 0;
}

static void *
rec_realloc(void *old, size_t size)
{
	struct core_moved m;
	void *p;

	if (!core_tracing() || guard_active)
		return __libc_realloc(old, size);
	if (!old)
		TRACED_ALLOC(__libc_realloc(NULL, size), size);
	guard_active = 1;
	/* forget the old block first: once realloc returns, its address may
	 * be handed to another thread */
	core_realloc_take(old, &m);
	p = __libc_realloc(old, size);
	if (p)
		core_alloc(p, size);
	else if (size)
		core_realloc_failed(old, &m);   /* old block still live */
	guard_active = 0;
	return p;
}

/* glibc's functions until a start (control.c switches the entries) */
struct core_hot core_hot = {
	__libc_malloc, __libc_calloc, __libc_realloc, __libc_free
};

const struct core_hot interpose_rec = {
	rec_malloc, rec_calloc, rec_realloc, rec_free
};

/* One instruction each: jmp *core_hot.x(%rip). */
HAWK_EXPORT void *
malloc(size_t size)
{
	return __atomic_load_n(&core_hot.malloc, __ATOMIC_RELAXED)(size);
}

HAWK_EXPORT void *
calloc(size_t n, size_t size)
{
	return __atomic_load_n(&core_hot.calloc, __ATOMIC_RELAXED)(n, size);
}

HAWK_EXPORT void
free(void *p)
{
	__atomic_load_n(&core_hot.free, __ATOMIC_RELAXED)(p);
}

HAWK_EXPORT void *
realloc(void *old, size_t size)
{
	return __atomic_load_n(&core_hot.realloc, __ATOMIC_RELAXED)(old,
								    size);
}

HAWK_EXPORT void *
reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, total);
}

/*
 * The rarer functions test the switch and tail-call a recording function
 * of their own (rec_*, not inlined): the capture buffer of core_alloc is
 * then in that function's frame only, and the off path sets up none.
 */
static __attribute__((noinline)) void *
rec_memalign(size_t align, size_t size)
{
	TRACED_ALLOC(__libc_memalign(align, size), size);
}

static __attribute__((noinline)) void *
rec_valloc(size_t size)
{
	TRACED_ALLOC(__libc_valloc(size), size);
}

static __attribute__((noinline)) void *
rec_pvalloc(size_t size)
{
	TRACED_ALLOC(__libc_pvalloc(size), size);
}

HAWK_EXPORT int
posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (likely(!core_tracing()))
		p = __libc_memalign(align, size);
	else
		p = rec_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

HAWK_EXPORT void *
aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (likely(!core_tracing()))
		return __libc_memalign(align, size);
	return rec_memalign(align, size);
}

HAWK_EXPORT void *
memalign(size_t align, size_t size)
{
	if (likely(!core_tracing()))
		return __libc_memalign(align, size);
	return rec_memalign(align, size);
}

HAWK_EXPORT void *
valloc(size_t size)
{
	if (likely(!core_tracing()))
		return __libc_valloc(size);
	return rec_valloc(size);
}

HAWK_EXPORT void *
pvalloc(size_t size)
{
	if (likely(!core_tracing()))
		return __libc_pvalloc(size);
	return rec_pvalloc(size);
}
