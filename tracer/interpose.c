/* SPDX-License-Identifier: MIT */
/*
 * interpose.c - the malloc family, interposed by LD_PRELOAD and equally
 * when a program links -lhawk, and the choice of the allocator each
 * function forwards to.  C++ operators are in interpose_cxx.c.
 *
 * - thin: switch check -> real call -> one core call;
 * - malloc, calloc, realloc and free are one indirect jump through
 *   core_hot (interpose.h), which control.c switches: straight to the
 *   allocator while tracing is off (one instruction per call), to the
 *   recording function below while on; the other functions cost one load
 *   and one predictable branch of the switch before the tail call through
 *   interpose_real;
 * - each function forwards to the next definition of its own name after
 *   libhawk in symbol lookup order, which is what the program would call
 *   without libhawk: glibc's (bound at link time to its exported
 *   __libc_malloc family: no dlsym on that path), or the program's own
 *   allocator when it brings one (jemalloc, tcmalloc, mimalloc linked as
 *   a library), found by dlsym(RTLD_NEXT) once at load (interpose_bind).
 *   libhawk never swaps the program's allocator for another;
 * - blocks handed out before interpose_bind (other libraries'
 *   constructors) come from glibc; with a foreign allocator they are
 *   remembered (early_*) and go back to glibc when freed or resized;
 * - of the rest of glibc's malloc API only malloc_usable_size takes a
 *   pointer the program got from us, and it is interposed likewise;
 *   malloc_trim, mallinfo, mallinfo2, malloc_stats, malloc_info and
 *   mallopt are not: they reach the next definition directly, which is
 *   the allocator the program's blocks come from;
 * - jemalloc's non-standard mallocx, rallocx, xallocx, dallocx and
 *   sdallocx are interposed too (traced, forwarded to the next
 *   definition); sallocx and nallocx only ask sizes and are not;
 * - never allocates through the hooks it installs: guard_active is held
 *   across the real call and the recording;
 * - records a free before the real free (another thread may get the same
 *   address back at once) and an allocation after the real allocation;
 * - takes no lock itself (but for the early table, before the program's
 *   main runs).
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"
#include "core.h"
#include "defer.h"
#include "interpose.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* ---- blocks glibc handed out before interpose_bind ---------------- */

/*
 * A foreign allocator must never receive a glibc block.  Before the bind
 * every block comes from glibc and is noted here (a few: libstdc++'s
 * emergency pool, dlerror buffers); after a bind to a foreign allocator,
 * free, realloc and malloc_usable_size of a noted block go to glibc.  A
 * table overflow keeps only the address range, which glibc's heap alone
 * occupies in practice.  early_lock protects the fields below.
 */
#define EARLY_N 256
static int early_lock;
static void *early_tab[EARLY_N];
static uint32_t early_n;           /* slots used (some NULL: freed) */
static int early_overflow;
static uintptr_t early_lo = UINTPTR_MAX, early_hi;

static void
early_lock_take(void)
{
	while (__atomic_exchange_n(&early_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
early_lock_give(void)
{
	__atomic_store_n(&early_lock, 0, __ATOMIC_RELEASE);
}

static void
early_note(void *p, size_t size)
{
	uintptr_t a = (uintptr_t)p;

	if (!p)
		return;
	early_lock_take();
	if (a < early_lo)
		early_lo = a;
	if (a + size + 1 > early_hi)
		early_hi = a + size + 1;
	if (early_n < EARLY_N)
		early_tab[early_n++] = p;
	else
		early_overflow = 1;
	early_lock_give();
}

/* 1 if p is a block glibc handed out early (and forget it if `take`). */
static int
early_owns(void *p, int take)
{
	uintptr_t a = (uintptr_t)p;
	uint32_t i;
	int found = 0;

	if (a < early_lo || a >= early_hi)
		return 0;
	early_lock_take();
	for (i = 0; i < early_n; i++)
		if (early_tab[i] == p) {
			if (take)
				early_tab[i] = NULL;
			found = 1;
			break;
		}
	if (!found && early_overflow)
		found = 1;
	early_lock_give();
	return found;
}

static void *
early_malloc(size_t size)
{
	void *p = __libc_malloc(size);

	early_note(p, size);
	return p;
}

static void *
early_calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	early_note(p, n * size);
	return p;
}

static void *
early_realloc(void *old, size_t size)
{
	void *p;

	if (old)
		early_owns(old, 1);
	p = __libc_realloc(old, size);
	if (p)
		early_note(p, size);
	else if (old && size)
		early_note(old, 0);
	return p;
}

static void
early_free(void *p)
{
	if (p)
		early_owns(p, 1);
	__libc_free(p);
}

static void *
early_memalign(size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);

	early_note(p, size);
	return p;
}

static void *
early_valloc(size_t size)
{
	void *p = __libc_valloc(size);

	early_note(p, size);
	return p;
}

static void *
early_pvalloc(size_t size)
{
	void *p = __libc_pvalloc(size);

	early_note(p, size);
	return p;
}

/* ---- the functions forwarded to ----------------------------------- */

static int
glibc_posix_memalign(void **out, size_t align, size_t size)
{
	void *p = interpose_real.memalign(align, size);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void *
glibc_aligned_alloc(size_t align, size_t size)
{
	return interpose_real.memalign(align, size);
}

typedef size_t (*usable_fn)(void *);
static usable_fn glibc_usable;     /* glibc's malloc_usable_size */

static size_t
glibc_usable_size(void *p)
{
	if (!glibc_usable)
		glibc_usable = (usable_fn)dlsym(RTLD_NEXT,
						"malloc_usable_size");
	return glibc_usable ? glibc_usable(p) : 0;
}

struct interpose_real interpose_real = {
	.malloc = early_malloc,
	.calloc = early_calloc,
	.realloc = early_realloc,
	.free = early_free,
	.memalign = early_memalign,
	.aligned_alloc = glibc_aligned_alloc,
	.posix_memalign = glibc_posix_memalign,
	.valloc = early_valloc,
	.pvalloc = early_pvalloc,
	.usable_size = glibc_usable_size,
};

/* Which one interpose_real is: SEG_ALLOC_* (interpose_bind). */
int interpose_mode = SEG_ALLOC_GLIBC;
char interpose_provider[SEG_ALLOC_PATH_MAX];

/* With a foreign allocator: free, realloc and malloc_usable_size of a
 * block that may be glibc's (early_owns). */
static void (*fx_free)(void *);
static void *(*fx_realloc)(void *, size_t);
static size_t (*fx_usable)(void *);

static void
fx_free_checked(void *p)
{
	if (unlikely(early_owns(p, 1)))
		__libc_free(p);
	else
		fx_free(p);
}

static size_t
fx_usable_checked(void *p)
{
	if (unlikely(early_owns(p, 0)))
		return glibc_usable_size(p);
	return fx_usable ? fx_usable(p) : 0;
}

static void *
fx_realloc_checked(void *old, size_t size)
{
	size_t have;
	void *p;

	if (likely(!old || !early_owns(old, 0)))
		return fx_realloc(old, size);
	/* a glibc block: move it into the program's allocator */
	if (!size) {
		early_owns(old, 1);
		__libc_free(old);
		return NULL;
	}
	p = interpose_real.malloc(size);
	if (!p)
		return NULL;
	have = glibc_usable_size(old);
	memcpy(p, old, have < size ? have : size);
	early_owns(old, 1);
	__libc_free(old);
	return p;
}

/* ---- recording ----------------------------------------------------- */

/* Common tail of every allocation function. */
#define TRACED_ALLOC(call, size)					\
	do {								\
		void *p_;						\
		if (likely(!core_tracing()) || guard_active)		\
			return call;					\
		guard_active = 1;					\
		p_ = call;						\
		if (p_)							\
			core_alloc(p_, (size));				\
		guard_active = 0;					\
		return p_;						\
	} while (0)

/* The recording functions that core_hot points at while tracing. */
static void *
rec_malloc(size_t size)
{
	TRACED_ALLOC(interpose_real.malloc(size), size);
}

static void *
rec_calloc(size_t n, size_t size)
{
	/* calloc checks n * size for overflow and fails first */
	TRACED_ALLOC(interpose_real.calloc(n, size), n * size);
}

static void
rec_free(void *p)
{
	if (!core_tracing() || guard_active || !p) {
		interpose_real.free(p);
		return;
	}
	guard_active = 1;
	p = core_free(p);
	if (p)
		interpose_real.free(p);
	guard_active = 0;
}

static void *
rec_realloc(void *old, size_t size)
{
	struct core_moved m;
	void *p;

	if (!core_tracing() || guard_active)
		return interpose_real.realloc(old, size);
	if (!old)
		TRACED_ALLOC(interpose_real.realloc(NULL, size), size);
	guard_active = 1;
	/* forget the old block first: once realloc returns, its address may
	 * be handed to another thread */
	core_realloc_take(old, &m);
	p = interpose_real.realloc(old, size);
	if (p)
		core_alloc(p, size);
	else if (size)
		core_realloc_failed(old, &m);   /* old block still live */
	guard_active = 0;
	return p;
}

/* glibc's functions (noting each block) until interpose_bind, then the
 * allocator's until a start (control.c switches the entries, and takes
 * them as its "off" set once interpose_bind has run: boot.c) */
struct core_hot core_hot = {
	early_malloc, early_calloc, early_realloc, early_free
};

const struct core_hot interpose_rec = {
	rec_malloc, rec_calloc, rec_realloc, rec_free
};

/* The off entries of core_hot: interpose_real's (before any start). */
static void
set_off_entries(void)
{
	__atomic_store_n(&core_hot.malloc, interpose_real.malloc,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&core_hot.calloc, interpose_real.calloc,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&core_hot.realloc, interpose_real.realloc,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&core_hot.free, interpose_real.free,
			 __ATOMIC_RELAXED);
	defer_release = interpose_real.free;
}

static void jx_bind(void);

/* ---- choosing the allocator (once, at load) ----------------------- */

static void
provider_name(void *fn)
{
	Dl_info di;
	const char *path = "?";

	if (dladdr(fn, &di) && di.dli_fname && *di.dli_fname)
		path = di.dli_fname;
	strncpy(interpose_provider, path, sizeof(interpose_provider) - 1);
}

/* 1 if fn is a function a module defines, 0 if it is only the canonical
 * PLT entry of a non-PIE executable that takes a function's address
 * (python3's `malloc`: an undefined symbol with a value, whose calls go
 * through the PLT to the real definition, ours) */
static int
defines(void *fn)
{
	Dl_info di;
	const ElfW(Sym) *sym = NULL;

	if (!dladdr1(fn, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym)
		return 1;
	return sym->st_shndx != SHN_UNDEF;
}

struct module_find {
	uintptr_t addr;
	int index;                 /* of the module holding addr, or -1 */
	int seen;
};

static int
module_find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_find *m = arg;
	ElfW(Half) i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && m->addr >= lo &&
		    m->addr - lo < ph->p_memsz) {
			m->index = m->seen;
			return 1;
		}
	}
	m->seen++;
	return 0;
}

/* The index, in the loader's list, of the module holding addr (-1). */
static int
module_index(void *addr)
{
	struct module_find m = { (uintptr_t)addr, -1, 0 };

	dl_iterate_phdr(module_find_cb, &m);
	return m.index;
}

/* 1 if a and b are in the same loaded module.  By the modules' PT_LOAD
 * ranges, not dladdr: dladdr scans the module's whole symbol table for
 * the nearest symbol, and the 16 calls of a load cost ~1.25 M
 * instructions (libc's table), a few per cent of a short program's run. */
static int
same_module(void *a, void *b)
{
	int ia;

	if (a == b)
		return 1;
	ia = module_index(a);
	return ia >= 0 && ia == module_index(b);
}

/* 1 if every __libc_* function libhawk binds at link time is in the
 * module of `fn` (the next malloc): glibc's own, or an allocator that
 * defines them all (tcmalloc does) */
static int
libc_names_in(void *fn)
{
	return same_module(fn, (void *)__libc_malloc) &&
	       same_module(fn, (void *)__libc_calloc) &&
	       same_module(fn, (void *)__libc_realloc) &&
	       same_module(fn, (void *)__libc_free) &&
	       same_module(fn, (void *)__libc_memalign) &&
	       same_module(fn, (void *)__libc_valloc) &&
	       same_module(fn, (void *)__libc_pvalloc);
}

void
interpose_bind(void)
{
	void *next_malloc = dlsym(RTLD_NEXT, "malloc");
	void *first_malloc = dlsym(RTLD_DEFAULT, "malloc");
	struct interpose_real fx;

	jx_bind();
	if (first_malloc && !same_module(first_malloc, (void *)interpose_bind) &&
	    defines(first_malloc)) {
		/* the executable (or a library before us) defines malloc:
		 * the program's calls never reach libhawk */
		interpose_mode = SEG_ALLOC_BYPASSED;
		provider_name(first_malloc);
		agent_msg("malloc comes from ", interpose_provider,
			  ", not from libhawk: nothing will be traced");
	}
	if (!next_malloc || libc_names_in(next_malloc)) {
		/* glibc's, or an allocator that replaces glibc's __libc_*
		 * names as well (tcmalloc): from now on those directly */
		if (next_malloc && !same_module(next_malloc,
						(void *)gnu_get_libc_version) &&
		    interpose_mode != SEG_ALLOC_BYPASSED) {
			interpose_mode = SEG_ALLOC_FOREIGN;
			provider_name(next_malloc);
		}
		interpose_real.malloc = __libc_malloc;
		interpose_real.calloc = __libc_calloc;
		interpose_real.realloc = __libc_realloc;
		interpose_real.free = __libc_free;
		interpose_real.memalign = __libc_memalign;
		interpose_real.valloc = __libc_valloc;
		interpose_real.pvalloc = __libc_pvalloc;
		set_off_entries();
		return;
	}

	/* the program brought its own: every function goes to the next
	 * definition of its name, glibc's where the allocator has none */
	fx.malloc = (void *(*)(size_t))next_malloc;
	fx.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	fx_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	fx_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	fx.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
						       "memalign");
	fx.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
							     "aligned_alloc");
	fx.posix_memalign = (int (*)(void **, size_t, size_t))
		dlsym(RTLD_NEXT, "posix_memalign");
	fx.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
	fx.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
	fx_usable = (usable_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
	if (interpose_mode != SEG_ALLOC_BYPASSED) {
		interpose_mode = SEG_ALLOC_FOREIGN;
		provider_name(next_malloc);
	}
	if (!fx.calloc || !fx_realloc || !fx_free || !fx.memalign ||
	    !fx.aligned_alloc || !fx.posix_memalign || !fx.valloc ||
	    !fx.pvalloc) {
		/* cannot happen with glibc underneath: every name has a
		 * definition there at least */
		interpose_mode = SEG_ALLOC_BYPASSED;
		agent_msg("the allocator of ", interpose_provider,
			  " lacks a malloc function: nothing will be traced");
		return;
	}
	interpose_real.malloc = fx.malloc;
	interpose_real.calloc = fx.calloc;
	interpose_real.memalign = fx.memalign;
	interpose_real.aligned_alloc = fx.aligned_alloc;
	interpose_real.posix_memalign = fx.posix_memalign;
	interpose_real.valloc = fx.valloc;
	interpose_real.pvalloc = fx.pvalloc;
	interpose_real.realloc = fx_realloc_checked;
	interpose_real.free = fx_free_checked;
	interpose_real.usable_size = fx_usable_checked;
	set_off_entries();
}

/* ---- the exported functions --------------------------------------- */

/* One instruction each: jmp *core_hot.x(%rip). */
HAWK_EXPORT void *
malloc(size_t size)
{
	return __atomic_load_n(&core_hot.malloc, __ATOMIC_RELAXED)(size);
}

HAWK_EXPORT void *
calloc(size_t n, size_t size)
{
	return __atomic_load_n(&core_hot.calloc, __ATOMIC_RELAXED)(n, size);
}

HAWK_EXPORT void
free(void *p)
{
	__atomic_load_n(&core_hot.free, __ATOMIC_RELAXED)(p);
}

HAWK_EXPORT void *
realloc(void *old, size_t size)
{
	return __atomic_load_n(&core_hot.realloc, __ATOMIC_RELAXED)(old,
								    size);
}

HAWK_EXPORT void *
reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, total);
}

HAWK_EXPORT size_t
malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	return interpose_real.usable_size(p);
}

/*
 * The rarer functions test the switch and tail-call a recording function
 * of their own (rec_*, not inlined): the capture buffer of core_alloc is
 * then in that function's frame only, and the off path sets up none.
 */
static __attribute__((noinline)) void *
rec_memalign(size_t align, size_t size)
{
	TRACED_ALLOC(interpose_real.memalign(align, size), size);
}

static __attribute__((noinline)) void *
rec_aligned_alloc(size_t align, size_t size)
{
	TRACED_ALLOC(interpose_real.aligned_alloc(align, size), size);
}

static __attribute__((noinline)) int
rec_posix_memalign(void **out, size_t align, size_t size)
{
	int rc;

	if (guard_active)
		return interpose_real.posix_memalign(out, align, size);
	guard_active = 1;
	rc = interpose_real.posix_memalign(out, align, size);
	if (rc == 0 && *out)
		core_alloc(*out, size);
	guard_active = 0;
	return rc;
}

static __attribute__((noinline)) void *
rec_valloc(size_t size)
{
	TRACED_ALLOC(interpose_real.valloc(size), size);
}

static __attribute__((noinline)) void *
rec_pvalloc(size_t size)
{
	TRACED_ALLOC(interpose_real.pvalloc(size), size);
}

HAWK_EXPORT int
posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (likely(!core_tracing()))
		return interpose_real.posix_memalign(out, align, size);
	return rec_posix_memalign(out, align, size);
}

HAWK_EXPORT void *
aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (likely(!core_tracing()))
		return interpose_real.aligned_alloc(align, size);
	return rec_aligned_alloc(align, size);
}

HAWK_EXPORT void *
memalign(size_t align, size_t size)
{
	if (likely(!core_tracing()))
		return interpose_real.memalign(align, size);
	return rec_memalign(align, size);
}

HAWK_EXPORT void *
valloc(size_t size)
{
	if (likely(!core_tracing()))
		return interpose_real.valloc(size);
	return rec_valloc(size);
}

HAWK_EXPORT void *
pvalloc(size_t size)
{
	if (likely(!core_tracing()))
		return interpose_real.pvalloc(size);
	return rec_pvalloc(size);
}

/* ---- jemalloc's non-standard API ----------------------------------- */

/*
 * Forwarded to the next definitions (jemalloc's), found at load; a
 * program without them never calls these (it would not link), except
 * through weak references: then mallocx and rallocx fail, xallocx
 * changes nothing and dallocx/sdallocx are free.
 */
static struct {
	void *(*mallocx)(size_t, int);
	void *(*rallocx)(void *, size_t, int);
	size_t (*xallocx)(void *, size_t, size_t, int);
	void (*dallocx)(void *, int);
	void (*sdallocx)(void *, size_t, int);
} jx;

static void
jx_bind(void)
{
	jx.mallocx = (void *(*)(size_t, int))dlsym(RTLD_NEXT, "mallocx");
	jx.rallocx = (void *(*)(void *, size_t, int))dlsym(RTLD_NEXT,
							   "rallocx");
	jx.xallocx = (size_t (*)(void *, size_t, size_t, int))
		dlsym(RTLD_NEXT, "xallocx");
	jx.dallocx = (void (*)(void *, int))dlsym(RTLD_NEXT, "dallocx");
	jx.sdallocx = (void (*)(void *, size_t, int))dlsym(RTLD_NEXT,
							   "sdallocx");
}

static __attribute__((noinline)) void *
rec_mallocx(size_t size, int flags)
{
	TRACED_ALLOC(jx.mallocx(size, flags), size);
}

HAWK_EXPORT void *
mallocx(size_t size, int flags)
{
	if (unlikely(!jx.mallocx))
		return NULL;
	if (likely(!core_tracing()))
		return jx.mallocx(size, flags);
	return rec_mallocx(size, flags);
}

static __attribute__((noinline)) void *
rec_rallocx(void *old, size_t size, int flags)
{
	struct core_moved m;
	void *p;

	if (guard_active)
		return jx.rallocx(old, size, flags);
	guard_active = 1;
	core_realloc_take(old, &m);
	p = jx.rallocx(old, size, flags);
	if (p)
		core_alloc(p, size);
	else
		core_realloc_failed(old, &m);
	guard_active = 0;
	return p;
}

HAWK_EXPORT void *
rallocx(void *old, size_t size, int flags)
{
	if (unlikely(!jx.rallocx))
		return NULL;
	if (likely(!core_tracing()))
		return jx.rallocx(old, size, flags);
	return rec_rallocx(old, size, flags);
}

/* A resize in place that reached `size`: the block's record now says
 * `size` (one that did not changes nothing). */
static __attribute__((noinline)) void
rec_resized(void *p, size_t size)
{
	struct core_moved m;

	if (guard_active)
		return;
	guard_active = 1;
	core_realloc_take(p, &m);
	if (m.found)
		core_alloc(p, size);
	guard_active = 0;
}

HAWK_EXPORT size_t
xallocx(void *p, size_t size, size_t extra, int flags)
{
	size_t r;

	if (unlikely(!jx.xallocx))
		return interpose_real.usable_size(p);
	r = jx.xallocx(p, size, extra, flags);
	if (unlikely(core_tracing()) && r >= size)
		rec_resized(p, size);
	return r;
}

/* dallocx (sized 0) and sdallocx: the record goes first, as in free. */
static void
jx_release(void *p, size_t size, int flags, int sized)
{
	void *q = p;

	if (unlikely(!jx.dallocx || !jx.sdallocx || early_owns(p, 0))) {
		interpose_real.free(p);
		return;
	}
	if (core_tracing() && !guard_active && p &&
	    unlikely(__atomic_load_n(&sample_rate, __ATOMIC_RELAXED))) {
		/* sampled: the sampled table, not the exact one */
		if (sample_maybe(p)) {
			guard_active = 1;
			core_free_sampled(p);
			guard_active = 0;
		}
	} else if (core_tracing() && !guard_active && p) {
		guard_active = 1;
		q = core_free(p);
		if (q && q != p)        /* an older block the queue let go */
			interpose_real.free(q);
		guard_active = 0;
		if (q != p)             /* p is queued: free()d later */
			return;
	}
	if (sized)
		jx.sdallocx(p, size, flags);
	else
		jx.dallocx(p, flags);
}

HAWK_EXPORT void
dallocx(void *p, int flags)
{
	jx_release(p, 0, flags, 0);
}

HAWK_EXPORT void
sdallocx(void *p, size_t size, int flags)
{
	jx_release(p, size, flags, 1);
}
