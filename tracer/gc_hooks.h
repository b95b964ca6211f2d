/* SPDX-License-Identifier: MIT */
/*
 * gc_hooks.h - the registry of the application's gc hooks (gc_hooks.c):
 * hawk_gc_hook_add (api.c) adds to it, a start or a snapshot with
 * CMD_FLAG_GC (control.c) runs them.  Below control, so that control never calls up
 * into the public API.
 */
#ifndef HAWK_TRACER_GC_HOOKS_H
#define HAWK_TRACER_GC_HOOKS_H

/* Add fn(arg) to the hooks: 0, or -ENOSPC when GC_HOOKS_MAX are there. */
int gc_hooks_add(void (*fn)(void *), void *arg);

/* Run every hook, in the order they were added (caller holds
 * control_lock; the hooks may allocate: the guard is set). */
void gc_hooks_run(void);

#endif /* HAWK_TRACER_GC_HOOKS_H */
