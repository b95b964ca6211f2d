/* SPDX-License-Identifier: MIT */
/*
 * gc_hooks.c - the registry of gc hooks (gc_hooks.h): a fixed array,
 * appended under its own mutex, read without one (the count is published
 * after the entry it covers).
 */
#include "config.h"

#include "gc_hooks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define GC_HOOKS_MAX 16

static struct {
	void (*fn)(void *);
	void *arg;
} gc_hooks[GC_HOOKS_MAX];
static _Atomic int gc_hooks_n;
/* protects the appending; a leaf lock (nothing is taken under it) */
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;

int
gc_hooks_add(void (*fn)(void *), void *arg)
{
	int n;

	pthread_mutex_lock(&gc_lock);
	n = atomic_load(&gc_hooks_n);
	if (n == GC_HOOKS_MAX) {
		pthread_mutex_unlock(&gc_lock);
		return -ENOSPC;
	}
	gc_hooks[n].fn = fn;
	gc_hooks[n].arg = arg;
	atomic_store(&gc_hooks_n, n + 1);
	pthread_mutex_unlock(&gc_lock);
	return 0;
}

void
gc_hooks_run(void)
{
	int i, n = atomic_load(&gc_hooks_n);

	for (i = 0; i < n; i++)
		gc_hooks[i].fn(gc_hooks[i].arg);
}
