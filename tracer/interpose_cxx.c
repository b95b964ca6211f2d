/* SPDX-License-Identifier: MIT */
/*
 * interpose_cxx.c - every C++ operator new / new[] / delete / delete[]
 * (plain, nothrow, sized, aligned), defined in C under their Itanium
 * mangled names from one X-macro table, so that C programs do not need
 * libstdc++ and C++ programs get all of them from libhawk.
 *
 * - new: the real allocation is interpose_real's malloc / memalign (glibc's,
 *   or the program's own allocator's: interpose.c);
 *   on failure the throwing forms loop on std::get_new_handler() and
 *   finally throw std::bad_alloc through libstdc++'s own
 *   std::__throw_bad_alloc (weak references: present whenever the program
 *   is C++); the nothrow forms return NULL;
 * - delete of every form is free(): sizes and alignments are not needed
 *   by glibc (nor by jemalloc, tcmalloc, mimalloc); like free, one
 *   indirect jump through core_hot (core.h);
 * - while tracing sampled, new runs the countdown before allocating and
 *   places a sampled block as malloc does (interpose_sample.c, sample.h),
 *   so that delete, which is free, keeps its short path;
 * - same guard and hot-path rules as interpose.c.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>

#include "core.h"
#include "interpose.h"


typedef void (*new_handler_fn)(void);
/* std::get_new_handler() and std::__throw_bad_alloc() from libstdc++ */
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void)
	__attribute__((weak, noreturn));

static inline __attribute__((always_inline)) void *
real_new(size_t n, size_t align)
{
	return align ? interpose_real.memalign(align, n) :
		       interpose_real.malloc(n);
}

static void *
new_failed(size_t n, size_t align, int nothrow)
{
	for (;;) {
		new_handler_fn h = _ZSt15get_new_handlerv ?
				   _ZSt15get_new_handlerv() : NULL;
		void *p;

		if (!h) {
			if (nothrow)
				return NULL;
			if (_ZSt17__throw_bad_allocv)
				_ZSt17__throw_bad_allocv();
			abort();
		}
		/* may throw: the nothrow forms let it pass, as libstdc++ */
		h();
		p = real_new(n, align);
		if (p)
			return p;
	}
}

/* A block the new_handler loop finally got: recorded in a frame of its
 * own (rare), so that the capture buffer stays out of new's frame. */
static __attribute__((noinline)) void
record_late(void *p, size_t n)
{
	if (core_tracing() && !guard_active) {
		guard_active = 1;
		core_alloc(p, n);
		guard_active = 0;
	}
}

/* A sampled new: placed as malloc places it (interpose_sample.c). */
static __attribute__((noinline)) void *
new_chosen(size_t n, size_t align)
{
	void *p;

	guard_active = 1;
	p = align > SAMPLE_ALIGN ? real_new(n, align) : sample_place(n);
	if (p)
		core_alloc_chosen(p, n);
	guard_active = 0;
	return p;
}

/* new while tracing sampled: the countdown before the allocation */
static __attribute__((noinline)) void *
new_sampled(size_t n, size_t align, int nothrow)
{
	void *p;

	if (likely(sample_skip(n)) || !sample_decide(n))
		p = real_new(n, align);
	else
		p = new_chosen(n, align);
	if (unlikely(!p)) {
		p = new_failed(n, align, nothrow);
		if (p)
			record_late(p, n);
	}
	return p;
}

/* new while tracing: tail-called, so its frame replaces new's */
static __attribute__((noinline)) void *
new_traced(size_t n, size_t align, int nothrow)
{
	void *p;

	if (guard_active) {
		p = real_new(n, align);
	} else {
		guard_active = 1;
		p = real_new(n, align);
		if (p)
			core_alloc(p, n);
		guard_active = 0;
	}
	if (unlikely(!p)) {
		p = new_failed(n, align, nothrow);
		if (p)
			record_late(p, n);
	}
	return p;
}

static inline __attribute__((always_inline)) void *
new_common(size_t n, size_t align, int nothrow)
{
	void *p;

	if (unlikely(core_tracing()))
		return __atomic_load_n(&sample_rate, __ATOMIC_RELAXED) &&
		       !guard_active ? new_sampled(n, align, nothrow) :
		       new_traced(n, align, nothrow);
	p = real_new(n, align);
	if (unlikely(!p)) {
		p = new_failed(n, align, nothrow);
		if (p)
			record_late(p, n);
	}
	return p;
}

/* free() itself: one jump through core_hot (glibc's free while off) */
static inline __attribute__((always_inline)) void
delete_common(void *p)
{
	__atomic_load_n(&core_hot.free, __ATOMIC_RELAXED)(p);
}

/* X(mangled name, parameter list, alignment argument, nothrow) */
#define NEW_TABLE(X)							\
	X(_Znwm, (size_t n), 0, 0)					\
	X(_Znam, (size_t n), 0, 0)					\
	X(_ZnwmRKSt9nothrow_t, (size_t n, const void *nt), 0, 1)	\
	X(_ZnamRKSt9nothrow_t, (size_t n, const void *nt), 0, 1)	\
	X(_ZnwmSt11align_val_t, (size_t n, size_t al), al, 0)		\
	X(_ZnamSt11align_val_t, (size_t n, size_t al), al, 0)		\
	X(_ZnwmSt11align_val_tRKSt9nothrow_t,				\
	  (size_t n, size_t al, const void *nt), al, 1)			\
	X(_ZnamSt11align_val_tRKSt9nothrow_t,				\
	  (size_t n, size_t al, const void *nt), al, 1)

/* X(mangled name, parameter list) - all forms free the pointer `p` */
#define DELETE_TABLE(X)							\
	X(_ZdlPv, (void *p))						\
	X(_ZdaPv, (void *p))						\
	X(_ZdlPvm, (void *p, size_t n))					\
	X(_ZdaPvm, (void *p, size_t n))					\
	X(_ZdlPvRKSt9nothrow_t, (void *p, const void *nt))		\
	X(_ZdaPvRKSt9nothrow_t, (void *p, const void *nt))		\
	X(_ZdlPvSt11align_val_t, (void *p, size_t al))			\
	X(_ZdaPvSt11align_val_t, (void *p, size_t al))			\
	X(_ZdlPvmSt11align_val_t, (void *p, size_t n, size_t al))	\
	X(_ZdaPvmSt11align_val_t, (void *p, size_t n, size_t al))	\
	X(_ZdlPvSt11align_val_tRKSt9nothrow_t,				\
	  (void *p, size_t al, const void *nt))				\
	X(_ZdaPvSt11align_val_tRKSt9nothrow_t,				\
	  (void *p, size_t al, const void *nt))

#define DEFINE_NEW(name, params, align, nothrow)			\
	HAWK_EXPORT void *name params;					\
	HAWK_EXPORT void *name params					\
	{								\
		return new_common(n, (align), (nothrow));		\
	}
#define DEFINE_DELETE(name, params)					\
	HAWK_EXPORT void name params;					\
	HAWK_EXPORT void name params					\
	{								\
		delete_common(p);					\
	}

NEW_TABLE(DEFINE_NEW)
DELETE_TABLE(DEFINE_DELETE)
