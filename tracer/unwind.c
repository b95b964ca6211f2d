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
 * Most captures are made by fastunw.c's walker instead, which is faster
 * and answers -1 where it would differ; unwind_check compares the two.
 *
 * Never: allocate, lock, or call into the dynamic loader after init.
 */
#include "config.h"

#include "unwind.h"

#include <errno.h>
#include <link.h>             /* dl_iterate_phdr */
#include <stddef.h>
#include <string.h>

#include "guard.h"
_Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit addresses");

struct unwind_range unwind_self, unwind_unw;

struct find_arg {
	uintptr_t addr;
	struct unwind_range *r;
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
find_range(const void *addr, struct unwind_range *r)
{
	struct find_arg a = { (uintptr_t)addr, r };

	r->lo = r->hi = 0;
	dl_iterate_phdr(find_cb, &a);
}

int
unwind_init(void)
{
	find_range((const void *)unwind_init, &unwind_self);
	find_range((const void *)unw_backtrace, &unwind_unw);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unw_set_cache_size(unw_local_addr_space, 1024, 0);
	return unwind_self.hi ? 0 : -ENOENT;
}

int
unwind_check(uint64_t *buf, int want, int got)
{
	/* one more: this function's own frame is one more of ours */
	uint64_t ref[UNWIND_BUF + 1];
	int n = unw_backtrace((void **)ref, want + 1), a, b, la, lb, same;

	if (n < 0)
		n = 0;
	b = (int)unwind_skipped(ref, (uint32_t)n);
	lb = n - b;
	if (got >= 0) {
		/* the leading frames are ours and differ: compare what
		 * follows them, as far as the fast walk could go */
		a = (int)unwind_skipped(buf, (uint32_t)got);
		la = got - a;
		if (lb > want - a)
			lb = want - a;
		same = la == lb && !memcmp(buf + a, ref + b,
					   (size_t)la * sizeof(uint64_t));
		fu_count(same);
		if (same)
			return got;
	}
	/* libunwind's, with our one frame in front as the fast walk has */
	if (lb > want - 1)
		lb = want - 1;
	buf[0] = ref[b > 0 ? b - 1 : 0];
	memcpy(buf + 1, ref + b, (size_t)lb * sizeof(uint64_t));
	return lb + 1;
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
