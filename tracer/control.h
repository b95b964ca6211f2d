/* SPDX-License-Identifier: MIT */
/*
 * control.h - the tracer's state machine (control.c): start, stop, the
 * reaping of an internal error, the status, and the switch of the hot
 * path's jump table.  Above the recording core (core.h), which it starts
 * and stops; below the agent, the public API, boot and the fork handlers,
 * which call it under control_lock.
 */
#ifndef HAWK_TRACER_CONTROL_H
#define HAWK_TRACER_CONTROL_H

#include <pthread.h>
#include <stdint.h>

#include "core.h"
#include "guard.h"

/* Serialises start, stop, snapshot, status and fork; lock order:
 * LOCK_RANK_CTL, taken first (guard.h).  Take it with control_take. */
extern pthread_mutex_t control_lock;

static inline void
control_take(void)
{
	mutex_take(&control_lock, LOCK_RANK_CTL);
}

static inline void
control_give(void)
{
	mutex_give(&control_lock, LOCK_RANK_CTL);
}

/*
 * Once at load (boot.c), before the first start: the jump table the hot
 * path's exported functions go through (interpose.c's core_hot, whose
 * entries at this moment are glibc's and are what a stop restores) and
 * the recording functions a start points it at.  Before the first start.
 */
void control_hooks_init(struct core_hot *table, const struct core_hot *on);
/* The recording functions of the sampled mode (interpose_sample.c), which
 * a start with a sampling rate points the table at. */
void control_hooks_sampled(const struct core_hot *sampled);

/* Control (caller holds control_lock).  Return 0 or -errno:
 * -EALREADY, -ENOTCONN, -EINVAL as in segment.h's command results. */
int control_start(uint32_t frames, uint32_t flags);
/* The same, sampled with a mean of `sampling` bytes between samples (0 =
 * exact); -EINVAL above SNAP_SAMPLING_MAX. */
int control_start_sampled(uint32_t frames, uint32_t flags, uint64_t sampling);
/* HAWK_SAMPLE_SEED (boot.c), 0 = from the clock. */
extern uint64_t core_sample_seed __attribute__((visibility("hidden")));
int control_stop(void);
/* After an internal error stopped recording: finish the stop (free the
 * tables) and keep the error for the segment.  Caller holds the lock. */
void control_reap_error(void);

/* While tracing (a snapshot with CMD_FLAG_GC): run the gc hooks with this
 * thread's guard down, so that what they free or allocate is recorded
 * like any other call of the application's, then malloc_trim(0).  Caller
 * holds control_lock. */
void control_gc_traced(void);

struct control_status {
	int tracing;
	uint32_t frames;
	uint64_t current, peak, memory, dropped;  /* estimates when sampled */
	int32_t last_error;
	uint64_t sampling;         /* rate of the session, 0 = exact */
};
void control_get_status(struct control_status *st);


#endif /* HAWK_TRACER_CONTROL_H */
