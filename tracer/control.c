/* SPDX-License-Identifier: MIT */
/*
 * control.c - the tracer's state machine: start, stop, reaping an
 * internal error, the status, and switching the hot path's jump table.
 *
 * - every function here runs under control_lock (control.h), taken by
 *   its callers (agent.c, api.c, boot.c) - never on the hot path;
 * - generations: core_gen is odd while tracing.  start resets the tables
 *   to gen+1 and then publishes it; stop publishes gen+1 (even) and then
 *   resets the tables, which takes every shard lock, so that a thread that
 *   read the old generation either finished its table update before the
 *   reset or is refused by the tables (-ESTALE) - no use after free, and
 *   no record of one session survives into the next;
 * - the jump table (interpose.c's core_hot) is switched here only, through
 *   the pointer boot.c hands over (control_hooks_init): nothing below calls
 *   up into interpose.c.  The recording core's fail() only clears core_on;
 *   control_reap_error switches the table back to glibc.
 */
#include "config.h"

#include "control.h"

#include <errno.h>
#include <malloc.h>

#include "arena.h"
#include "blocks.h"
#include "defer.h"
#include "fastunw.h"
#include "gc_hooks.h"
#include "intern.h"
#include "sample.h"
#include "segment.h"
#include "unwind.h"

pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;

static int32_t last_error;              /* published internal error */

/* interpose.c's jump table, its entries at init (glibc's) and the
 * recording functions (control_hooks_init) */
static struct core_hot *hooks;
static struct core_hot hooks_off;
static const struct core_hot *hooks_on, *hooks_sampled;
uint64_t core_sample_seed;

void
control_hooks_init(struct core_hot *table, const struct core_hot *on)
{
	hooks_off = *table;
	hooks_on = on;
	hooks = table;
}

void
control_hooks_sampled(const struct core_hot *sampled)
{
	hooks_sampled = sampled;
}

/* Point the jump table at the recording functions (the sampled mode's
 * while sample_rate is set) or at glibc's. */
static void
set_hooks(int on)
{
	const struct core_hot *v = !on ? &hooks_off :
		__atomic_load_n(&sample_rate, __ATOMIC_RELAXED) &&
		hooks_sampled ? hooks_sampled : hooks_on;

	if (!hooks)
		return;
	__atomic_store_n(&hooks->malloc, v->malloc, __ATOMIC_RELAXED);
	__atomic_store_n(&hooks->calloc, v->calloc, __ATOMIC_RELAXED);
	__atomic_store_n(&hooks->realloc, v->realloc, __ATOMIC_RELAXED);
	__atomic_store_n(&hooks->free, v->free, __ATOMIC_RELAXED);
}

/* The switch and the jump table together. */
static void
set_on(uint32_t on)
{
	if (on) {
		__atomic_store_n(&core_on, 1, __ATOMIC_RELEASE);
		set_hooks(1);
	} else {
		set_hooks(0);
		__atomic_store_n(&core_on, 0, __ATOMIC_RELAXED);
	}
}

int
control_start(uint32_t frames, uint32_t flags)
{
	return control_start_sampled(frames, flags, 0);
}

int
control_start_sampled(uint32_t frames, uint32_t flags, uint64_t sampling)
{
	uint32_t g = atomic_load(&core_gen);

	if (g & 1)
		return -EALREADY;
	if (frames < 1 || frames > SEG_FRAMES_MAX ||
	    sampling > SNAP_SAMPLING_MAX || (sampling && !hooks_sampled))
		return -EINVAL;
	if (unwind_warm() < 0)
		return -ENOSYS;
	fu_refresh();
	if (flags & CMD_FLAG_GC) {
		gc_hooks_run();
		malloc_trim(0);
	}
	intern_reset(g + 1);
	blocks_reset(g + 1);
	sample_reset(g + 1, sampling, core_sample_seed);
	atomic_store(&core_dropped, 0);
	atomic_store(&core_error, 0);
	last_error = 0;
	atomic_store(&core_frames, frames);
	atomic_store_explicit(&core_gen, g + 1, memory_order_release);
	set_on(1);
	return 0;
}

void
control_gc_traced(void)
{
	int g = guard_active;

	guard_active = 0;
	gc_hooks_run();
	guard_active = g;
	malloc_trim(0);
}

/* Forget everything; generation becomes even. */
static void
drop_tables(void)
{
	uint32_t ng = atomic_load(&core_gen) + 1;

	set_on(0);
	atomic_store_explicit(&core_gen, ng, memory_order_release);
	blocks_reset(ng);
	sample_reset(ng, 0, 0);
	intern_reset(ng);
	/* the frees still queued go to glibc (see core_free) */
	atomic_thread_fence(memory_order_seq_cst);
	defer_drain_all();
}

int
control_stop(void)
{
	if (!(atomic_load(&core_gen) & 1))
		return -ENOTCONN;
	drop_tables();
	atomic_store(&core_frames, 0);
	return 0;
}

void
control_reap_error(void)
{
	int32_t err = atomic_load(&core_error);

	if (!err || !(atomic_load(&core_gen) & 1))
		return;
	drop_tables();
	atomic_store(&core_frames, 0);
	last_error = err;
}

void
control_get_status(struct control_status *st)
{
	st->tracing = (atomic_load(&core_gen) & 1) && core_tracing();
	st->frames = st->tracing ? atomic_load(&core_frames) : 0;
	st->sampling = st->tracing ? __atomic_load_n(&sample_rate,
						     __ATOMIC_RELAXED) : 0;
	st->current = st->sampling ? sample_current() : blocks_current();
	st->peak = st->sampling ? sample_peak() : blocks_peak();
	st->memory = arena_bytes() + sample_bytes();
	st->dropped = atomic_load_explicit(&core_dropped,
					   memory_order_relaxed);
	st->last_error = last_error ? last_error : atomic_load(&core_error);
}
