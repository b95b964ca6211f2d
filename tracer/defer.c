/* SPDX-License-Identifier: MIT */
/*
 * defer.c - the per-thread queues of frees not yet handed to glibc
 * (why and the rules: defer.h).
 */
#include "config.h"

#include "defer.h"

#include <pthread.h>
#include <stddef.h>

extern void __libc_free(void *);

void (*defer_release)(void *) = __libc_free;

__thread struct defer_q defer_q __attribute__((tls_model("initial-exec")));

/* lock order: LOCK_RANK_DEFER (guard.h) */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct defer_q *reg;        /* under reg_lock */
static pthread_key_t exit_key;
static int exit_key_ok;

/* Release every block of q: each slot swapped for NULL, so a concurrent
 * swap by the owner or another drainer never releases a block twice. */
static void
drain(struct defer_q *q)
{
	uint32_t i;

	for (i = 0; i < DEFER_N; i++) {
		void *p = __atomic_exchange_n(&q->slot[i], NULL,
					      __ATOMIC_SEQ_CST);

		if (p)
			defer_release(p);
	}
}

static void
unlink_q(struct defer_q *q)
{
	if (q->prev)
		q->prev->succ = q->succ;
	else
		reg = q->succ;
	if (q->succ)
		q->succ->prev = q->prev;
	q->prev = q->succ = NULL;
}

/* The thread exits: leave the registry, release the queue; frees made
 * later by other destructors of this thread go to glibc at once. */
static void
on_exit_thread(void *arg)
{
	struct defer_q *q = arg;
	int saved = guard_active;

	guard_active = 1;
	mutex_take(&reg_lock, LOCK_RANK_DEFER);
	unlink_q(q);
	mutex_give(&reg_lock, LOCK_RANK_DEFER);
	q->state = DEFER_OFF;
	drain(q);
	guard_active = saved;
}

void
defer_init(void)
{
	exit_key_ok = pthread_key_create(&exit_key, on_exit_thread) == 0;
}

int
defer_join(void)
{
	struct defer_q *q = &defer_q;

	if (q->state == DEFER_OFF)
		return -1;
	/* a destructor only runs for a non-NULL value; may calloc, which
	 * the caller's guard sends to glibc untraced */
	if (!exit_key_ok || pthread_setspecific(exit_key, q) != 0) {
		q->state = DEFER_OFF;
		return -1;
	}
	mutex_take(&reg_lock, LOCK_RANK_DEFER);
	q->prev = NULL;
	q->succ = reg;
	if (reg)
		reg->prev = q;
	reg = q;
	mutex_give(&reg_lock, LOCK_RANK_DEFER);
	q->state = DEFER_LIVE;
	return 0;
}

void
defer_take(void *p)
{
	struct defer_q *q = &defer_q;
	uint32_t i;

	if (q->state != DEFER_LIVE || !p)
		return;
	for (i = 0; i < DEFER_N; i++) {
		void *x = p;

		if (__atomic_load_n(&q->slot[i], __ATOMIC_RELAXED) == p &&
		    __atomic_compare_exchange_n(&q->slot[i], &x, NULL, 0,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED)) {
			defer_release(p);
			return;
		}
	}
}

void
defer_drain_self(void)
{
	if (defer_q.state == DEFER_LIVE)
		drain(&defer_q);
}

void
defer_prepare(void)
{
	struct defer_q *q;

	mutex_take(&reg_lock, LOCK_RANK_DEFER);
	for (q = reg; q; q = q->succ)
		drain(q);
}

void
defer_drain_all(void)
{
	defer_prepare();
	mutex_give(&reg_lock, LOCK_RANK_DEFER);
}

void
defer_parent(void)
{
	mutex_give(&reg_lock, LOCK_RANK_DEFER);
}

void
defer_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	/* the other threads are gone: forget their queues (drained in
	 * prepare; a block one of them queued since is not released) */
	reg_lock = fresh;
	witness_give(LOCK_RANK_DEFER, 0);
	reg = NULL;
	if (defer_q.state == DEFER_LIVE) {
		defer_q.prev = defer_q.succ = NULL;
		reg = &defer_q;
	}
}
