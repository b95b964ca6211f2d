/* SPDX-License-Identifier: MIT */
/*
 * core.c - the recording core: capture -> intern -> live-block table,
 * with the per-thread traceback cache.  The start/stop state machine that
 * switches it is control.c.
 *
 * - called only with the thread's guard set (interpose.c sets it);
 * - calls only down: unwind/fastunw, intern, blocks, defer, arena, guard;
 * - unwinds before taking any lock; then one intern shard lock, then one
 *   blocks shard lock, never both at once;
 * - generations: core_gen is odd while tracing (control.c changes it and
 *   resets the tables); a thread that read an old generation is refused
 *   by the tables (-ESTALE) and records nothing;
 * - a recoverable error (mmap failure, full index space) never aborts the
 *   host: recording stops at once (core_on = 0), the count of allocations
 *   not recorded grows, and the agent finishes the stop within a second
 *   (core_reap_error, control.c), publishing last_error and
 *   SEG_F_TRACER_ERROR.
 */
#include "config.h"

#include "core.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "caches.h"
#include "defer.h"
#include "intern.h"
#include "unwind.h"

uint32_t core_on;
_Atomic uint32_t core_gen;
_Atomic uint32_t core_frames;
_Atomic uint64_t core_dropped;
_Atomic int32_t core_error;             /* pending internal error */

/*
 * Per-thread cache of recent tracebacks: hash -> index, so that a thread
 * allocating again from a site it used recently skips the shared intern
 * table (a lock and two or three cache misses).  16 KiB from arena_map,
 * 2-way set-associative (512 sets of two 16-byte entries, most recent
 * first: enough sets that bench/churn's tracebacks mostly hit, where 128
 * missed most of the time - figures in bench/README),
 * reached through one initial-exec TLS pointer and released by a
 * thread-exit destructor; emptied when the generation changes
 * (tcache_gen).  A hit requires the same 64-bit hash, depth, total depth
 * and low 20 bits of the first frame: a false hit needs a 64-bit hash
 * collision between two tracebacks of the same depths whose first frames
 * agree in those bits.
 */
#define TCACHE_SETS 512u
#define TCACHE_N    (2 * TCACHE_SETS)
_Static_assert(CORE_TCACHE_BYTES == TCACHE_N * 16, "caches.h");
#define TC_KEY(n, total, f0) \
	((uint64_t)(n) | (uint64_t)(total) << 10 | ((f0) & 0xfffff) << 20)
_Static_assert(UNWIND_BUF < 1024, "depths fit 10 bits");
_Static_assert(INTERN_IDX_BITS == 24, "index fits 24 bits");

struct tcache_ent {
	uint64_t hash;
	uint64_t meta;             /* TC_KEY << 24 | index; 0 empty */
};

static __thread uint32_t tcache_gen
	__attribute__((tls_model("initial-exec")));
static __thread struct tcache_ent *tcache
	__attribute__((tls_model("initial-exec")));
static pthread_key_t tcache_key;
static int tcache_ok;

static void
tcache_free(void *p)
{
	int saved = guard_active;

	guard_active = 1;
	arena_unmap(p, TCACHE_N * sizeof(struct tcache_ent));
	tcache = NULL;
	guard_active = saved;
}

void
core_init(void)
{
	tcache_ok = pthread_key_create(&tcache_key, tcache_free) == 0;
	defer_init();
}

static struct tcache_ent *
tcache_get(void)
{
	if (likely(tcache != NULL) || !tcache_ok)
		return tcache;
	tcache = arena_map(TCACHE_N * sizeof(struct tcache_ent));
	if (tcache && pthread_setspecific(tcache_key, tcache) != 0) {
		arena_unmap(tcache, TCACHE_N * sizeof(struct tcache_ent));
		tcache = NULL;
		tcache_ok = 0;
	}
	return tcache;
}

static void
fail(int err)
{
	int32_t zero = 0;

	atomic_fetch_add_explicit(&core_dropped, 1, memory_order_relaxed);
	/* the recording functions test core_on first: from now on they go
	 * straight to glibc; control switches the jump table back when it
	 * reaps the error */
	__atomic_store_n(&core_on, 0, __ATOMIC_RELAXED);
	atomic_compare_exchange_strong(&core_error, &zero, (int32_t)-err);
}

void
core_record(uint32_t g, void *p, size_t size, const uint64_t *frames,
	    uint32_t n, uint32_t total)
{
	uint32_t idx;
	struct tcache_ent *tc, *e = NULL;
	uint64_t h, key;
	int rc;

	if (unlikely(n == 0)) {
		/* no frame outside the tracer: cannot happen for a call from
		 * the application; count it rather than invent a frame */
		atomic_fetch_add_explicit(&core_dropped, 1,
					  memory_order_relaxed);
		return;
	}
	h = intern_hash(frames, n, total);
	key = TC_KEY(n, total, frames[0]);
	tc = tcache_get();
	if (tc) {
		if (unlikely(tcache_gen != g)) {
			memset(tc, 0, TCACHE_N * sizeof(struct tcache_ent));
			tcache_gen = g;
		}
		e = &tc[(h & (TCACHE_SETS - 1)) * 2];
		if (e[0].hash == h && e[0].meta >> 24 == key) {
			idx = (uint32_t)(e[0].meta & 0xffffff);
			rc = 0;
			goto insert;
		}
		if (e[1].hash == h && e[1].meta >> 24 == key) {
			idx = (uint32_t)(e[1].meta & 0xffffff);
			rc = 0;
			goto insert;
		}
	}
	rc = intern_trace_hashed(g, h, frames, n, total, &idx);
	if (rc == 0 && tc) {
		e[1] = e[0];
		e[0].hash = h;
		e[0].meta = key << 24 | idx;
	}
insert:
	if (likely(rc == 0))
		rc = blocks_insert(g, p, size, idx);
	if (unlikely(rc < 0)) {
		if (rc == -E2BIG)        /* one odd block: just count it */
			atomic_fetch_add_explicit(&core_dropped, 1,
						  memory_order_relaxed);
		else if (rc != -ESTALE)
			fail(rc);
	}
}

void *
core_free(void *p)
{
	uint32_t g = atomic_load_explicit(&core_gen, memory_order_acquire);
	uint64_t size;

	if (!(g & 1))
		return p;
	/*
	 * Two cache misses on a random free: our table slot, and glibc's
	 * chunk header (p - 16), read when the block reaches glibc.  Start
	 * both now: the first overlaps the second, and the second has
	 * arrived by the time the block leaves the queue (defer.h).  A
	 * prefetch never faults.
	 */
	__builtin_prefetch((const char *)p - 16, 1);
	blocks_prefetch(p);
	if (blocks_remove(g, p, &size, NULL) < 0) {
		defer_take(p);           /* a double free: keep its order */
		return p;
	}
	if (size > DEFER_SIZE_MAX)
		return p;
	p = defer_push(p);
	/*
	 * A stop drains every queue after clearing core_on (drop_tables);
	 * if it cleared it before our push, its drain may have missed the
	 * block: release ours (the exchange above and this load are both
	 * sequentially consistent, so one of the two sees the other).
	 */
	if (unlikely(!__atomic_load_n(&core_on, __ATOMIC_SEQ_CST)))
		defer_drain_self();
	return p;
}

void
core_realloc_take(void *old, struct core_moved *m)
{
	m->gen = atomic_load_explicit(&core_gen, memory_order_acquire);
	m->found = (m->gen & 1) &&
		   blocks_remove(m->gen, old, &m->size, &m->idx) == 0;
}

void
core_realloc_failed(void *old, const struct core_moved *m)
{
	if (m->found)
		blocks_insert(m->gen, old, m->size, m->idx);
}
