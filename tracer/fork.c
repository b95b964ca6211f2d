/* SPDX-License-Identifier: MIT */
/*
 * fork.c - pthread_atfork handlers.
 *
 * Prepare takes every lock of the tracer in the order guard.h declares
 * (control_lock, the registry of deferred-free queues, intern shards
 * 0..63, blocks shards 0..63, the sampled-block table, the registry of
 * traceback caches).  The hot path never holds two of them at
 * once, and start/stop/snapshot take them in this order, so prepare
 * cannot deadlock: it waits for any thread inside a table operation to
 * leave it (a few instructions; no table operation waits for anything).
 * Holding every lock across fork means the child's copy of the tables is
 * consistent.  Prepare also hands every thread's queued frees to glibc,
 * so that the child, where those threads do not exist, inherits none.
 *
 * Child: the threads that held nothing are gone, so the locks are simply
 * re-initialised; the parent's segment is forgotten (not removed: it is
 * still the parent's), the child gets its own "<pid>.seg" and a new agent,
 * and keeps tracing if the parent was - its tables start as the copy of
 * the parent's, which are exactly the traced blocks of its own copy of the
 * heap.  (Every peer profiler gives up on the child instead.)
 */
#include "config.h"

#include <pthread.h>

#include "fork.h"

#include "agent.h"
#include "blocks.h"
#include "control.h"
#include "defer.h"
#include "fastunw.h"
#include "intern.h"
#include "sample.h"

static int saved_guard;

static void
prepare(void)
{
	saved_guard = guard_active;
	guard_active = 1;
	control_take();
	defer_prepare();
	intern_lock_all();
	blocks_lock_all();
	sample_lock_all();
	core_tcache_lock();
}

static void
parent(void)
{
	core_tcache_unlock();
	sample_unlock_all();
	blocks_unlock_all();
	intern_unlock_all();
	defer_parent();
	control_give();
	guard_active = saved_guard;
}

static void
child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	core_tcache_reset_lock();
	sample_reset_locks();
	blocks_reset_locks();
	intern_reset_locks();
	control_lock = fresh;
	witness_reset();          /* this thread holds none of them now */
	defer_child();
	fu_after_fork_child();
	agent_after_fork_child();
	guard_active = saved_guard;
}

int
fork_init(void)
{
	return -pthread_atfork(prepare, parent, child);
}
