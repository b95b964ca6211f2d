/* SPDX-License-Identifier: MIT */
/*
 * interpose.h - what interpose.c shares: the jump table its exported
 * malloc, calloc, realloc and free go through (read by interpose_cxx.c's
 * operator delete as well) and the recording functions control.c points
 * it at while tracing (boot.c hands both to control: core_hooks_init).
 * The layout, struct core_hot, is core.h's.
 */
#ifndef HAWK_TRACER_INTERPOSE_H
#define HAWK_TRACER_INTERPOSE_H

#include "core.h"

extern struct core_hot core_hot __attribute__((visibility("hidden")));
extern const struct core_hot interpose_rec
	__attribute__((visibility("hidden")));
/* The sampled mode's recording functions (interpose_sample.c). */
extern const struct core_hot interpose_sample
	__attribute__((visibility("hidden")));

#endif /* HAWK_TRACER_INTERPOSE_H */
