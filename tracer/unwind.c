/* SPDX-License-Identifier: MIT */
/*
 * unwind.c - stack capture with libunwind's unw_backtrace.
 *
 * unw_backtrace uses libunwind's fast trace path (a per-thread cache of
 * frame rules keyed by IP, kept in mmap'd memory) and falls back to
 * unw_step for frames it cannot describe.  We select UNW_CACHE_PER_THREAD
 * (no lock between threads) and call it once at init, so its lazy set-up
 * does not happen inside the first traced malloc (heaptrack
 * trace_libunwind.cpp, jemalloc prof_sys.c do the same).
 *
 * Which leading frames to drop does not depend on inlining decisions: we
 * drop every leading frame whose address lies in libhawk's or libunwind's
 * text, found once at init with dl_iterate_phdr.  Return addresses are
 * published raw; ip - 1 is the symbolizer's business.
 *
 * Never: allocate, lock, or call into the dynamic loader after init.
 */
#include "config.h"

#include "unwind.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <errno.h>
#include <link.h>             /* dl_iterate_phdr */
#include <stddef.h>

#include "guard.h"
_Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit addresses");

struct range {
	uintptr_t lo, hi;
};

static struct range self_range, unw_range;

struct find_arg {
	uintptr_t addr;
	struct range *r;
};

static int
find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_arg *a = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int i, hit = 0;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s, e;

		if (ph->p_type != PT_LOAD)
			continue;
		s = info->dlpi_addr + ph->p_vaddr;
		e = s + ph->p_memsz;
		if (s < lo)
			lo = s;
		if (e > hi)
			hi = e;
		if (a->addr >= s && a->addr < e)
			hit = 1;
	}
	if (!hit)
		return 0;
	a->r->lo = lo;
	a->r->hi = hi;
	return 1;
}

static void
find_range(const void *addr, struct range *r)
{
	struct find_arg a = { (uintptr_t)addr, r };

	r->lo = r->hi = 0;
	dl_iterate_phdr(find_cb, &a);
}

static inline int
in_range(const struct range *r, uintptr_t a)
{
	return a >= r->lo && a < r->hi;
}

int
unwind_init(void)
{
	find_range((const void *)unwind_init, &self_range);
	find_range((const void *)unw_backtrace, &unw_range);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unw_set_cache_size(unw_local_addr_space, 1024, 0);
	return self_range.hi ? 0 : -ENOENT;
}

int
unwind_warm(void)
{
	static int warm;
	void *buf[8];

	if (warm)
		return 0;
	if (unw_backtrace(buf, 8) <= 0)
		return -ENOSYS;
	warm = 1;
	return 0;
}

uint32_t
unwind_capture(uint64_t *buf, uint32_t max, const uint64_t **out,
	       uint32_t *total)
{
	uint32_t want = max + UNWIND_EXTRA + UNWIND_SKIP_MAX, skip = 0, n;
	int got;

	if (want > UNWIND_BUF)
		want = UNWIND_BUF;
	/* void * and uint64_t have the same size and representation here */
	got = unw_backtrace((void **)buf, (int)want);
	if (got <= 0) {
		*total = 0;
		return 0;
	}
	n = (uint32_t)got;
	while (skip < n && skip < UNWIND_SKIP_MAX &&
	       (in_range(&self_range, (uintptr_t)buf[skip]) ||
		in_range(&unw_range, (uintptr_t)buf[skip])))
		skip++;
	n -= skip;
	*total = n > max + UNWIND_EXTRA ? max + UNWIND_EXTRA : n;
	*out = buf + skip;
	return n > max ? max : n;
}
