/* SPDX-License-Identifier: MIT */
/*
 * interpose.h - what interpose.c shares: the jump table its exported
 * malloc, calloc, realloc and free go through (read by interpose_cxx.c's
 * operator delete as well) and the recording functions control.c points
 * it at while tracing (boot.c hands both to control: control_hooks_init).
 * The layout, struct core_hot, is core.h's.  Also the allocator all of
 * them forward to (interpose_real, chosen once by interpose_bind).
 */
#ifndef HAWK_TRACER_INTERPOSE_H
#define HAWK_TRACER_INTERPOSE_H

#include "core.h"
#include "segment.h"

extern struct core_hot core_hot __attribute__((visibility("hidden")));
extern const struct core_hot interpose_rec
	__attribute__((visibility("hidden")));
/* The sampled mode's recording functions (interpose_sample.c). */
extern struct core_hot interpose_sample
	__attribute__((visibility("hidden")));

/*
 * The functions every interposed one forwards to (interpose_cxx.c's
 * operators too): glibc's, or those of the allocator the program brings.
 * Before interpose_bind they are glibc's, through wrappers that note each
 * block (a foreign allocator must never receive one of them).
 */
struct interpose_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable_size)(void *);
};
extern struct interpose_real interpose_real
	__attribute__((visibility("hidden")));

/*
 * Once at load, first of all and before control_hooks_init (boot.c): find
 * the next definition of malloc after libhawk, point interpose_real and
 * core_hot's entries at it (and the free queues' release: defer.h), set
 * interpose_mode and interpose_provider, and say on stderr when nothing
 * can be traced.
 */
void interpose_bind(void) __attribute__((visibility("hidden")));
/* SEG_ALLOC_* (segment.h): glibc's, a foreign one traced, bypassed */
extern int interpose_mode __attribute__((visibility("hidden")));
/* the module of the allocator when it is not glibc's, else "" */
extern char interpose_provider[SEG_ALLOC_PATH_MAX]
	__attribute__((visibility("hidden")));

#endif /* HAWK_TRACER_INTERPOSE_H */
