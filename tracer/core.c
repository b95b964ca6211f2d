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
 *   (control_reap_error, control.c), publishing last_error and
 *   SEG_F_TRACER_ERROR.
 */
#include "config.h"

#include "core.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "caches.h"
#include "defer.h"
#include "estimate.h"
#include "intern.h"
#include "sample.h"
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
_Static_assert(CORE_TCACHE_BYTES == TCACHE_N * 32, "caches.h");
#define TC_KEY(n, total, f0) \
	((uint64_t)(n) | (uint64_t)(total) << 10 | ((f0) & 0xfffff) << 20)
_Static_assert(UNWIND_BUF < 1024, "depths fit 10 bits");
_Static_assert(INTERN_IDX_BITS == 24, "index fits 24 bits");

/*
 * Allocation totals (view=allocated) in exact mode: an entry also counts
 * the blocks and bytes this thread allocated from its traceback since the
 * entry was filled - two adds on the line the lookup just read, instead
 * of a shared counter per allocation (a locked add and a line passed
 * between cores: more than the 5% of the recording time allowed).  The
 * counts move to the traceback's shared totals (intern_totals_add) when
 * the entry is evicted or the thread exits; a snapshot adds what the
 * entries still hold (core_totals_pending), reading every registered
 * cache.  A set is then one 64-byte line.
 */
struct tcache_ent {
	uint64_t hash;
	uint64_t meta;             /* TC_KEY << 24 | index; 0 empty */
	uint64_t count;            /* allocations counted here (relaxed */
	uint64_t bytes;            /*   stores: the agent reads them) */
};

static __thread uint32_t tcache_gen
	__attribute__((tls_model("initial-exec")));
static __thread struct tcache_ent *tcache
	__attribute__((tls_model("initial-exec")));
static __thread int tcache_slot __attribute__((tls_model("initial-exec")));
static __thread int tcache_none __attribute__((tls_model("initial-exec")));
static pthread_key_t tcache_key;
static int tcache_ok;

/* The registry of caches, for core_totals_pending.  A thread beyond
 * TC_REG_MAX gets no cache (it interns and counts through the shared
 * tables). */
#define TC_REG_MAX 4096u
static struct {
	struct lock lock;          /* protects the fields below */
	uint32_t n;                /* slots used so far (then reused) */
	struct {
		struct tcache_ent *tc;
		uint32_t gen;      /* relaxed: the owner writes it */
	} slot[TC_REG_MAX];
} tc_reg;

/* Move an entry's counts to the shared totals (generation g). */
static void
tc_flush(uint32_t g, struct tcache_ent *e)
{
	struct intern_totals a = { e->count, e->bytes, 0, 0 };

	if (e->meta && e->count)
		intern_totals_add(g, (uint32_t)(e->meta & 0xffffff), &a);
}

static void
tcache_free(void *p)
{
	int saved = guard_active;
	struct tcache_ent *tc = p;
	uint32_t g, i;

	guard_active = 1;
	lock_take(&tc_reg.lock, LOCK_RANK_TCREG, 0);
	tc_reg.slot[tcache_slot].tc = NULL;
	lock_give(&tc_reg.lock, LOCK_RANK_TCREG, 0);
	g = atomic_load_explicit(&core_gen, memory_order_acquire);
	if ((g & 1) && tcache_gen == g)
		for (i = 0; i < TCACHE_N; i++)
			tc_flush(g, &tc[i]);
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
	uint32_t i;

	if (likely(tcache != NULL) || !tcache_ok || tcache_none)
		return tcache;
	lock_take(&tc_reg.lock, LOCK_RANK_TCREG, 0);
	for (i = 0; i < tc_reg.n && tc_reg.slot[i].tc; i++)
		;
	if (i == TC_REG_MAX) {
		lock_give(&tc_reg.lock, LOCK_RANK_TCREG, 0);
		tcache_none = 1;
		return NULL;
	}
	tcache = arena_map(TCACHE_N * sizeof(struct tcache_ent));
	if (tcache && pthread_setspecific(tcache_key, tcache) != 0) {
		arena_unmap(tcache, TCACHE_N * sizeof(struct tcache_ent));
		tcache = NULL;
		tcache_ok = 0;
	}
	if (tcache) {
		tcache_slot = (int)i;
		tcache_gen = 0;
		tc_reg.slot[i].gen = 0;
		__atomic_store_n(&tc_reg.slot[i].tc, tcache, __ATOMIC_RELEASE);
		if (i == tc_reg.n)
			tc_reg.n++;
	}
	lock_give(&tc_reg.lock, LOCK_RANK_TCREG, 0);
	return tcache;
}

void
core_totals_pending(struct intern_totals *tot, uint32_t end)
{
	uint32_t g = atomic_load(&core_gen), i, j;

	lock_take(&tc_reg.lock, LOCK_RANK_TCREG, 0);
	for (i = 0; i < tc_reg.n; i++) {
		struct tcache_ent *tc = tc_reg.slot[i].tc;

		if (!tc || __atomic_load_n(&tc_reg.slot[i].gen,
					   __ATOMIC_ACQUIRE) != g)
			continue;
		for (j = 0; j < TCACHE_N; j++) {
			uint64_t meta = __atomic_load_n(&tc[j].meta,
							__ATOMIC_RELAXED);
			uint32_t idx = (uint32_t)(meta & 0xffffff);

			if (!meta || idx >= end)
				continue;
			tot[idx].count += __atomic_load_n(&tc[j].count,
							  __ATOMIC_RELAXED);
			tot[idx].bytes += __atomic_load_n(&tc[j].bytes,
							  __ATOMIC_RELAXED);
		}
	}
	lock_give(&tc_reg.lock, LOCK_RANK_TCREG, 0);
}

void
core_tcache_lock(void)
{
	lock_take(&tc_reg.lock, LOCK_RANK_TCREG, 0);
}

void
core_tcache_unlock(void)
{
	lock_give(&tc_reg.lock, LOCK_RANK_TCREG, 0);
}

void
core_tcache_reset_lock(void)
{
	lock_reset(&tc_reg.lock);
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
			__atomic_store_n(&tc_reg.slot[tcache_slot].gen, g,
					 __ATOMIC_RELEASE);
		}
		e = &tc[(h & (TCACHE_SETS - 1)) * 2];
		if (e[0].hash == h && e[0].meta >> 24 == key) {
			idx = (uint32_t)(e[0].meta & 0xffffff);
			rc = 0;
			goto insert;
		}
		if (e[1].hash == h && e[1].meta >> 24 == key) {
			e++;
			idx = (uint32_t)(e[0].meta & 0xffffff);
			rc = 0;
			goto insert;
		}
	}
	rc = intern_trace_hashed(g, h, frames, n, total, &idx);
	if (rc == 0 && tc) {
		tc_flush(g, &e[1]);
		__atomic_store_n(&e[1].meta, 0, __ATOMIC_RELAXED);
		e[1].hash = e[0].hash;
		e[1].count = e[0].count;
		e[1].bytes = e[0].bytes;
		__atomic_store_n(&e[1].meta, e[0].meta, __ATOMIC_RELAXED);
		e[0].hash = h;
		e[0].count = 0;
		e[0].bytes = 0;
		__atomic_store_n(&e[0].meta, key << 24 | idx,
				 __ATOMIC_RELAXED);
	} else {
		e = NULL;
	}
insert:
	if (unlikely(__atomic_load_n(&sample_rate, __ATOMIC_RELAXED))) {
		if (likely(rc == 0))
			rc = sample_insert(g, p, size, idx);
		if (rc == 0) {
			double w = snap_weight(size, sample_rate);
			struct intern_totals a = {
				1, size, (uint64_t)llround(w * SNAP_WEIGHT_ONE),
				(uint64_t)llround(w * (double)size)
			};

			intern_totals_add(g, idx, &a);
		}
	} else if (likely(rc == 0)) {
		rc = blocks_insert(g, p, size, idx);
		if (likely(rc == 0)) {
			if (likely(e != NULL)) {
				__atomic_store_n(&e->count, e->count + 1,
						 __ATOMIC_RELAXED);
				__atomic_store_n(&e->bytes, e->bytes + size,
						 __ATOMIC_RELAXED);
			} else {
				struct intern_totals a = { 1, size, 0, 0 };

				intern_totals_add(g, idx, &a);
			}
		}
	}
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
	m->sampled = __atomic_load_n(&sample_rate, __ATOMIC_RELAXED) != 0;
	m->found = (m->gen & 1) &&
		   (m->sampled ?
		    sample_remove(m->gen, old, &m->size, &m->idx) :
		    blocks_remove(m->gen, old, &m->size, &m->idx)) == 0;
}

void
core_realloc_failed(void *old, const struct core_moved *m)
{
	if (m->found && m->sampled)
		sample_insert(m->gen, old, m->size, m->idx);
	else if (m->found)
		blocks_insert(m->gen, old, m->size, m->idx);
}

int
core_free_sampled(void *p)
{
	uint32_t g = atomic_load_explicit(&core_gen, memory_order_acquire);

	return (g & 1) && sample_remove(g, p, NULL, NULL) == 0;
}
