/* SPDX-License-Identifier: MIT */
/*
 * unwind.h - stack capture for the tracer (libunwind backend).
 */
#ifndef HAWK_TRACER_UNWIND_H
#define HAWK_TRACER_UNWIND_H

#include <stdint.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "fastunw.h"
#include "guard.h"
#include "segment.h"

/* Frames walked beyond the limit to learn total_nframe: a traceback
 * deeper than frames + UNWIND_EXTRA reports total = frames + UNWIND_EXTRA. */
#define UNWIND_EXTRA 32u

/*
 * Choose the per-thread cache and learn the address ranges of libhawk and
 * of libunwind (their frames are skipped).  Called once at load with the
 * guard set.  Returns 0 or -errno.
 */
int unwind_init(void);

/*
 * Warm libunwind up (its lazy global set-up, which may allocate and read
 * the loader's tables) so that it does not happen inside a traced malloc.
 * Called before every start, with the guard set and the control lock
 * held; only the first call does anything (about 160000 instructions,
 * which a process that never traces does not pay).  Returns 0 or -errno.
 */
int unwind_warm(void);

/*
 * HAWK_UNWIND=check: buf holds fu_walk's `got` frames (or got < 0);
 * capture again with libunwind, count whether the two agree once the
 * tracer's own frames are skipped, and leave libunwind's in buf.
 * Returns its count.  Out of line: check mode only.
 */
int unwind_check(uint64_t *buf, int want, int got);

/* Capture buffer: the limit, the extra walk, and the skipped frames. */
#define UNWIND_SKIP_MAX 16u
#define UNWIND_BUF (SEG_FRAMES_MAX + UNWIND_EXTRA + UNWIND_SKIP_MAX)

/* libhawk's and libunwind's text (unwind_init). */
struct unwind_range {
	uintptr_t lo, hi;
};
extern struct unwind_range unwind_self, unwind_unw
	__attribute__((visibility("hidden")));

static inline int
unwind_in(const struct unwind_range *r, uintptr_t a)
{
	return a >= r->lo && a < r->hi;
}

/* How many of the n leading frames of buf are libhawk's or libunwind's. */
static inline uint32_t
unwind_skipped(const uint64_t *buf, uint32_t n)
{
	uint32_t skip = 0;

	while (skip < n && skip < UNWIND_SKIP_MAX &&
	       (unwind_in(&unwind_self, (uintptr_t)buf[skip]) ||
		unwind_in(&unwind_unw, (uintptr_t)buf[skip])))
		skip++;
	return skip;
}

/*
 * Capture the calling thread's stack into buf[UNWIND_BUF], innermost
 * first (fastunw.c's walk, libunwind's where it can't), and drop the frames of libhawk and libunwind: *out points into
 * buf at the first frame left, the return address into the function that
 * called the allocation function.  Returns the number of frames kept, at
 * most `max` (<= SEG_FRAMES_MAX); *total is the depth before truncation
 * (capped, see UNWIND_EXTRA).  Returns 0 when nothing is left after
 * skipping.  Hot path: no lock, no allocation (the guard covers
 * libunwind's own first-use allocations), one buffer on the stack (4.5 KiB).
 * Inline, so that the caller's frame is the only one of ours to walk.
 */
static inline __attribute__((always_inline)) uint32_t
unwind_capture(uint64_t *buf, uint32_t max, const uint64_t **out,
	       uint32_t *total)
{
	uint32_t want = max + UNWIND_EXTRA + UNWIND_SKIP_MAX, skip, n;
	int got;

	if (want > UNWIND_BUF)
		want = UNWIND_BUF;
	got = -1;
#if defined(__x86_64__)
	if (likely(fu_mode != FU_OFF)) {
		uint64_t pc, sp, bp;

		/* this point's registers: fu_walk starts at our own frame,
		 * as unw_backtrace would (early-clobber: rbp may be an
		 * output register) */
		__asm__ volatile("leaq 0(%%rip), %0\n\t"
				 "movq %%rsp, %1\n\t"
				 "movq %%rbp, %2"
				 : "=&r"(pc), "=&r"(sp), "=&r"(bp));
		got = fu_walk(buf, (int)want, pc, sp, bp);
		if (unlikely(fu_mode == FU_CHECK))
			got = unwind_check(buf, (int)want, got);
	}
#endif
	/* void * and uint64_t have the same size and representation here */
	if (got < 0)
		got = unw_backtrace((void **)buf, (int)want);
	if (got <= 0) {
		*out = buf;
		*total = 0;
		return 0;
	}
	n = (uint32_t)got;
	skip = unwind_skipped(buf, n);
	n -= skip;
	*total = n > max + UNWIND_EXTRA ? max + UNWIND_EXTRA : n;
	*out = buf + skip;
	return n > max ? max : n;
}

#endif /* HAWK_TRACER_UNWIND_H */
