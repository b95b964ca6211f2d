/* SPDX-License-Identifier: MIT */
/*
 * api.c - the hawk.h entry points: internal -errno results become -1 with
 * errno at this boundary, and nowhere else.
 */
#include "config.h"

#include "hawk.h"

#include <errno.h>
#include <stdatomic.h>

#include "agent.h"
#include "arena.h"
#include "blocks.h"
#include "core.h"
#include "segment.h"

#define GC_HOOKS_MAX 16

static struct {
	void (*fn)(void *);
	void *arg;
} gc_hooks[GC_HOOKS_MAX];
static _Atomic int gc_hooks_n;
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;

static int
ret(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

HAWK_EXPORT int
hawk_start(int frames)
{
	return hawk_start_sampled(frames, 0);
}

HAWK_EXPORT int
hawk_start_sampled(int frames, size_t sampling_bytes)
{
	int rc;

	if (frames < 1 || sampling_bytes > SNAP_SAMPLING_MAX)
		return ret(-EINVAL);
	pthread_mutex_lock(&core_ctl_lock);
	guard_active++;
	rc = core_start_sampled((uint32_t)frames, 0, sampling_bytes);
	agent_publish_status();
	guard_active--;
	pthread_mutex_unlock(&core_ctl_lock);
	return ret(rc);
}

HAWK_EXPORT int
hawk_stop(void)
{
	int rc;

	pthread_mutex_lock(&core_ctl_lock);
	guard_active++;
	rc = core_stop();
	agent_publish_status();
	guard_active--;
	pthread_mutex_unlock(&core_ctl_lock);
	return ret(rc);
}

HAWK_EXPORT int
hawk_is_tracing(void)
{
	return core_tracing();
}

HAWK_EXPORT size_t
hawk_sampling(void)
{
	struct core_status st;

	core_get_status(&st);
	return st.sampling;
}

HAWK_EXPORT int
hawk_traced_memory(size_t *current, size_t *peak)
{
	struct core_status st;

	core_get_status(&st);
	if (current)
		*current = st.current;
	if (peak)
		*peak = st.peak;
	return 0;
}

HAWK_EXPORT size_t
hawk_tracer_memory(void)
{
	struct core_status st;

	core_get_status(&st);
	return st.memory;
}

HAWK_EXPORT int
hawk_gc_hook_add(void (*fn)(void *arg), void *arg)
{
	int n;

	if (!fn)
		return ret(-EINVAL);
	pthread_mutex_lock(&gc_lock);
	n = atomic_load(&gc_hooks_n);
	if (n == GC_HOOKS_MAX) {
		pthread_mutex_unlock(&gc_lock);
		return ret(-ENOSPC);
	}
	gc_hooks[n].fn = fn;
	gc_hooks[n].arg = arg;
	atomic_store(&gc_hooks_n, n + 1);
	pthread_mutex_unlock(&gc_lock);
	return 0;
}

void
core_run_gc_hooks(void)
{
	int i, n = atomic_load(&gc_hooks_n);

	for (i = 0; i < n; i++)
		gc_hooks[i].fn(gc_hooks[i].arg);
}
