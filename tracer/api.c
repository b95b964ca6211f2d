/* SPDX-License-Identifier: MIT */
/*
 * api.c - the hawk.h entry points: internal -errno results become -1 with
 * errno at this boundary, and nowhere else.  Calls down only: control
 * (start, stop, under control_lock), the gc-hook registry, the tables'
 * counters.
 */
#include "config.h"

#include "hawk.h"

#include <errno.h>

#include "agent.h"
#include "arena.h"
#include "blocks.h"
#include "control.h"
#include "gc_hooks.h"
#include "segment.h"

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
	control_take();
	guard_active++;
	rc = control_start_sampled((uint32_t)frames, 0, sampling_bytes);
	agent_publish_status();
	guard_active--;
	control_give();
	return ret(rc);
}

HAWK_EXPORT int
hawk_stop(void)
{
	int rc;

	control_take();
	guard_active++;
	rc = control_stop();
	agent_publish_status();
	guard_active--;
	control_give();
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
	struct control_status st;

	control_get_status(&st);
	return st.sampling;
}

HAWK_EXPORT int
hawk_traced_memory(size_t *current, size_t *peak)
{
	struct control_status st;

	control_get_status(&st);
	if (current)
		*current = st.current;
	if (peak)
		*peak = st.peak;
	return 0;
}

HAWK_EXPORT size_t
hawk_tracer_memory(void)
{
	struct control_status st;

	control_get_status(&st);
	return st.memory;
}

HAWK_EXPORT int
hawk_gc_hook_add(void (*fn)(void *arg), void *arg)
{
	if (!fn)
		return ret(-EINVAL);
	return ret(gc_hooks_add(fn, arg));
}
