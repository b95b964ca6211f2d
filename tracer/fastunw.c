/* SPDX-License-Identifier: MIT */
/*
 * fastunw.c - see fastunw.h.
 *
 * Why: libunwind's unw_backtrace sets up a cursor of every register per
 * call (unw_getcontext) and probes a hash of each frame's address before
 * its rule - the largest part of a traced malloc (per-call and per-frame
 * figures: bench/README).  Here a walk starts from three registers read
 * by the caller, and a frame is one direct-mapped lookup, an add and one
 * or two loads.
 *
 * Exactness: a rule is the row of the frame's FDE for its address
 * (return addresses are looked up at ra - 1, inside the call), computed
 * by the DWARF CFA interpreter of cfi.c, which also says which rows the
 * walk follows; a walk that meets any other returns -1 (libunwind's).  A
 * row with RA undefined ends the stack.  Every load from the stack is
 * checked against the thread's stack, [sp at the capture, top) - never a
 * fault.
 *
 * This file: the module table, the per-thread two-way rule cache and the
 * shared second level, the walk.
 *
 * Modules: fu_refresh (control path) publishes a table of executable
 * ranges and their .eh_frame_hdr, in one of FU_TABS static slots (a
 * reader that holds an older table reads consistent, if stale, data; a
 * slot is reused only FU_TABS refreshes later, and refreshes are at least
 * a second apart).  .eh_frame bytes are read with process_vm_readv on
 * ourselves, so a module unloaded since the table was built cannot fault:
 * the read fails and the frame goes to libunwind.  When the loader's set
 * changes, the cache generation moves and every thread's rules are
 * recomputed (a rule cached for code since unloaded cannot outlive the
 * next refresh, at most about a second).
 */
#include "config.h"

#include "fastunw.h"

#include <errno.h>
#include <link.h>             /* dl_iterate_phdr */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "cfi.h"
#include "guard.h"

int fu_mode;

static _Atomic uint64_t n_fallback, n_checked, n_mismatch, n_parsed;

/* HAWK_UNWIND: unset or "" is fast; 0 or -EINVAL (then fast). */
static int
parse_mode(const char *env, int *want)
{
	*want = FU_FAST;
	if (!env || !*env || !strcmp(env, "fast"))
		return 0;
	if (!strcmp(env, "libunwind"))
		*want = FU_OFF;
	else if (!strcmp(env, "check"))
		*want = FU_CHECK;
	else
		return -EINVAL;
	return 0;
}

#if defined(__x86_64__)

/* ---- the module table ---- */

#define FU_MODS 1024u
#define FU_TABS 4u

struct fu_tab {
	uint32_t n;
	struct fu_mod m[FU_MODS];
};

static struct fu_tab tabs[FU_TABS];
static struct fu_tab *_Atomic cur_tab;
static unsigned next_tab;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static _Atomic uint32_t fu_gen = 1;

struct scan {
	struct fu_tab *t;
	unsigned long long adds, subs;
};

static int
scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct scan *sc = data;
	uint64_t hdr = 0;
	int i;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		sc->adds = info->dlpi_adds;
		sc->subs = info->dlpi_subs;
	}
	if (!sc->t)
		return 1;              /* counters only */
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			hdr = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		struct fu_mod *m;
		uint32_t j;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) ||
		    sc->t->n == FU_MODS)
			continue;
		/* sorted by lo: insertion, n is small */
		j = sc->t->n++;
		m = sc->t->m;
		while (j > 0 && m[j - 1].lo > info->dlpi_addr + ph->p_vaddr) {
			m[j] = m[j - 1];
			j--;
		}
		m[j].lo = info->dlpi_addr + ph->p_vaddr;
		m[j].hi = m[j].lo + ph->p_memsz;
		m[j].hdr = hdr;
	}
	return 0;
}

/* Make t the table walks read, and recompute every thread's rules. */
static void
publish(struct fu_tab *t)
{
	atomic_store_explicit(&cur_tab, t, memory_order_release);
	atomic_fetch_add_explicit(&fu_gen, 1, memory_order_release);
}

void
fu_modules_publish(const struct fu_mod *m, uint32_t n)
{
	struct fu_tab *t = &tabs[next_tab];

	if (n > FU_MODS)
		n = FU_MODS;
	next_tab = (next_tab + 1) % FU_TABS;
	memcpy(t->m, m, n * sizeof(*m));
	t->n = n;
	publish(t);
}

void
fu_refresh(void)
{
	struct scan sc = { NULL, 0, 0 };
	struct fu_tab *t;

	if (fu_mode == FU_OFF)
		return;
	dl_iterate_phdr(scan_cb, &sc);
	if (sc.adds == seen_adds && sc.subs == seen_subs)
		return;
	t = &tabs[next_tab];
	next_tab = (next_tab + 1) % FU_TABS;
	t->n = 0;
	sc.t = t;
	dl_iterate_phdr(scan_cb, &sc);
	seen_adds = sc.adds;
	seen_subs = sc.subs;
	publish(t);
}

static const struct fu_mod *
mod_of(uint64_t pc)
{
	const struct fu_tab *t =
		atomic_load_explicit(&cur_tab, memory_order_acquire);
	uint32_t lo = 0, hi;

	if (!t)
		return NULL;
	hi = t->n;
	while (lo < hi) {          /* first with m.hi > pc */
		uint32_t mid = (lo + hi) / 2;

		if (t->m[mid].hi <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n && t->m[lo].lo <= pc && pc < t->m[lo].hi)
		return &t->m[lo];
	return NULL;
}

/* ---- the per-thread cache and the walk ---- */

/* an entry's flags are cfi.h's */
#define E_END       CFI_END
#define E_LIBUNWIND CFI_LIBUNWIND
#define E_CFA_RBP   CFI_CFA_RBP

struct ent {
	uint64_t pc;               /* lookup address; 0 empty */
	int32_t cfa_off;
	int16_t rbp_off;           /* 0: rbp unchanged */
	int8_t ra_off;
	uint8_t flags;             /* E_* | E_CFA_RBP */
};
_Static_assert(sizeof(struct ent) == 16, "one entry, 16 bytes");
_Static_assert(FU_CACHE_BYTES == (1u << FU_CACHE_BITS) * sizeof(struct ent),
	       "cache size");

static __thread struct ent *cache __attribute__((tls_model("initial-exec")));
static __thread uint32_t cache_gen __attribute__((tls_model("initial-exec")));
static __thread uint64_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uint64_t stack_hi __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static int cache_ok;

static void
cache_release(void *p)
{
	int saved = guard_active;

	guard_active = 1;
	arena_unmap(p, FU_CACHE_BYTES);
	cache = NULL;
	stack_lo = stack_hi = 0;
	guard_active = saved;
}

static struct ent *
cache_get(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;

	if (cache || !cache_ok)
		return cache;
	/* the thread's stack: every load of the walk stays inside it */
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return NULL;
	if (pthread_attr_getstack(&a, &lo, &size) != 0) {
		pthread_attr_destroy(&a);
		return NULL;
	}
	pthread_attr_destroy(&a);
	cache = arena_map(FU_CACHE_BYTES);
	if (!cache)
		return NULL;
	if (pthread_setspecific(cache_key, cache) != 0) {
		arena_unmap(cache, FU_CACHE_BYTES);
		cache = NULL;
		return NULL;
	}
	stack_lo = (uint64_t)(uintptr_t)lo;
	stack_hi = stack_lo + size;
	cache_gen = atomic_load_explicit(&fu_gen, memory_order_acquire);
	return cache;
}

/* The rule at `key`, from the module's CFI (cfi.c): the slow path. */
static void
compute(struct ent *e, uint64_t key)
{
	const struct fu_mod *m = mod_of(key);
	struct cfi_rule r;

	atomic_fetch_add_explicit(&n_parsed, 1, memory_order_relaxed);
	cfi_rule_at(m ? m->hdr : 0, key, &r);
	memset(e, 0, sizeof(*e));
	e->cfa_off = r.cfa_off;
	e->rbp_off = r.rbp_off;
	e->ra_off = r.ra_off;
	e->flags = r.flags;
	e->pc = key;
}

/*
 * The shared second level: every thread's misses land here first, so a
 * frame's CFI is parsed once per process (per module generation), not
 * once per thread and again after every eviction.  Direct-mapped,
 * FU_SHARED_BYTES, mapped at the first miss.  Each entry is a seqlock:
 * a writer makes `seq` odd with a compare-exchange (and gives up if
 * another writer holds it), stores, and makes it even again; a reader
 * never waits - a torn or busy entry is a miss.
 */
struct shared_ent {
	_Atomic uint32_t seq;
	_Atomic uint32_t gen;
	_Atomic uint64_t pc;
	_Atomic uint64_t rule;     /* struct ent without its pc */
	uint64_t pad;
};
#define SHARED_N (FU_SHARED_BYTES / sizeof(struct shared_ent))
_Static_assert((SHARED_N & (SHARED_N - 1)) == 0, "a power of two");

static struct shared_ent *_Atomic shared;

static inline struct shared_ent *
shared_slot(struct shared_ent *t, uint64_t key)
{
	return &t[(key * UINT64_C(0x9e3779b97f4a7c15)) >> 40 &
		  (SHARED_N - 1)];
}

static int
shared_get(uint64_t key, uint32_t gen, struct ent *e)
{
	struct shared_ent *t =
		atomic_load_explicit(&shared, memory_order_acquire);
	struct shared_ent *x;
	uint32_t s1;
	uint64_t pc, rule;

	if (!t)
		return -1;
	x = shared_slot(t, key);
	s1 = atomic_load_explicit(&x->seq, memory_order_acquire);
	if (s1 & 1)
		return -1;
	pc = atomic_load_explicit(&x->pc, memory_order_relaxed);
	rule = atomic_load_explicit(&x->rule, memory_order_relaxed);
	if (atomic_load_explicit(&x->gen, memory_order_relaxed) != gen)
		return -1;
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&x->seq, memory_order_relaxed) != s1 ||
	    pc != key)
		return -1;
	e->pc = key;
	memcpy((char *)e + 8, &rule, 8);
	return 0;
}

static void
shared_put(const struct ent *e, uint32_t gen)
{
	struct shared_ent *t =
		atomic_load_explicit(&shared, memory_order_acquire);
	struct shared_ent *x;
	uint64_t rule;
	uint32_t s;

	if (!t) {
		struct shared_ent *nt = arena_map(FU_SHARED_BYTES);

		if (!nt)
			return;
		t = NULL;
		if (atomic_compare_exchange_strong(&shared, &t, nt)) {
			t = nt;
		} else {                /* another thread's won */
			arena_unmap(nt, FU_SHARED_BYTES);
		}
	}
	x = shared_slot(t, e->pc);
	s = atomic_load_explicit(&x->seq, memory_order_relaxed);
	if ((s & 1) ||
	    !atomic_compare_exchange_strong_explicit(&x->seq, &s, s + 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		return;
	atomic_thread_fence(memory_order_release);
	memcpy(&rule, (const char *)e + 8, 8);
	atomic_store_explicit(&x->pc, e->pc, memory_order_relaxed);
	atomic_store_explicit(&x->rule, rule, memory_order_relaxed);
	atomic_store_explicit(&x->gen, gen, memory_order_relaxed);
	atomic_store_explicit(&x->seq, s + 2, memory_order_release);
}

/* A first-level miss: the shared level, else the CFI; into set[0]. */
static __attribute__((noinline)) void
fill(struct ent *set, uint64_t key, uint32_t gen)
{
	struct ent e;

	if (shared_get(key, gen, &e) < 0) {
		compute(&e, key);
		shared_put(&e, gen);
	}
	set[1] = set[0];
	set[0] = e;
}

/* The first of the two ways of key's set in a thread's cache. */
static inline uint64_t
set_of(uint64_t key)
{
	return ((key * UINT64_C(0x9e3779b97f4a7c15)) >>
		(64 - (FU_CACHE_BITS - 1))) * 2;
}

int
fu_walk(uint64_t *buf, int want, uint64_t pc, uint64_t sp, uint64_t bp)
{
	struct ent *c = cache;
	uint64_t lo = sp, hi, key = pc;
	uint32_t g = atomic_load_explicit(&fu_gen, memory_order_acquire);
	int n = 0;

	if (unlikely(!c)) {
		if (!(c = cache_get()))
			goto libunwind;
	}
	if (unlikely(cache_gen != g)) {
		memset(c, 0, FU_CACHE_BYTES);
		cache_gen = g;
	}
	hi = stack_hi;
	if (unlikely(sp < stack_lo || sp >= hi))
		goto libunwind;        /* a signal or coroutine stack */
	buf[n++] = pc;
	while (n < want) {
		struct ent *e = &c[set_of(key)];
		uint64_t cfa, at;

		if (unlikely(e->pc != key)) {
			if (e[1].pc == key) {
				struct ent t = e[1];   /* most recent first */

				e[1] = e[0];
				e[0] = t;
			} else {
				fill(e, key, g);
			}
		}
		if (unlikely(e->flags & (E_END | E_LIBUNWIND))) {
			if (e->flags & E_END)
				break;
			goto libunwind;
		}
		cfa = ((e->flags & E_CFA_RBP) ? bp : sp) +
		      (uint64_t)(int64_t)e->cfa_off;
		at = cfa + (uint64_t)(int64_t)e->ra_off;
		if (unlikely(cfa <= sp || at < lo || at > hi - 8))
			goto libunwind;
		pc = *(const uint64_t *)(uintptr_t)at;
		if (e->rbp_off) {
			at = cfa + (uint64_t)(int64_t)e->rbp_off;
			if (unlikely(at < lo || at > hi - 8))
				goto libunwind;
			bp = *(const uint64_t *)(uintptr_t)at;
		}
		sp = cfa;
		if (!pc)
			break;
		buf[n++] = pc;
		key = pc - 1;          /* inside the call instruction */
	}
	return n;
libunwind:
	atomic_fetch_add_explicit(&n_fallback, 1, memory_order_relaxed);
	return -1;
}

int
fu_init(const char *env)
{
	int want, rc = parse_mode(env, &want);

	fu_mode = FU_OFF;
	if (want == FU_OFF)
		return rc;
	if (pthread_key_create(&cache_key, cache_release) != 0 ||
	    cfi_init() < 0)
		return rc;
	cache_ok = 1;
	fu_mode = want;
	fu_refresh();
	return rc;
}

#else /* not x86-64: libunwind only */

int
fu_walk(uint64_t *buf, int want, uint64_t pc, uint64_t sp, uint64_t bp)
{
	(void)buf; (void)want; (void)pc; (void)sp; (void)bp;
	return -1;
}

int
fu_init(const char *env)
{
	int want;

	fu_mode = FU_OFF;
	return parse_mode(env, &want);
}

void
fu_refresh(void)
{
}

void
fu_modules_publish(const struct fu_mod *m, uint32_t n)
{
	(void)m; (void)n;
}

#endif

void
fu_count(int same)
{
	atomic_fetch_add_explicit(&n_checked, 1, memory_order_relaxed);
	if (!same)
		atomic_fetch_add_explicit(&n_mismatch, 1,
					  memory_order_relaxed);
}

void
fu_get_stats(struct fu_stats *st)
{
	st->fallback = atomic_load(&n_fallback);
	st->parsed = atomic_load(&n_parsed);
	st->checked = atomic_load(&n_checked);
	st->mismatch = atomic_load(&n_mismatch);
}

void
fu_after_fork_child(void)
{
	cfi_after_fork_child();
}
