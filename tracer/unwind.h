/* SPDX-License-Identifier: MIT */
/*
 * unwind.h - stack capture for the tracer (libunwind backend).
 */
#ifndef HAWK_TRACER_UNWIND_H
#define HAWK_TRACER_UNWIND_H

#include <stdint.h>

/* Frames walked beyond the limit to learn total_nframe: a traceback
 * deeper than frames + UNWIND_EXTRA reports total = frames + UNWIND_EXTRA. */
#define UNWIND_EXTRA 32u

/*
 * Choose the per-thread cache, learn the address ranges of libhawk and of
 * libunwind (their frames are skipped) and warm libunwind up.  Called once
 * at initialisation with the guard set.  Returns 0 or -errno.
 */
int unwind_init(void);

/*
 * Capture the calling thread's stack, innermost first, without any frame
 * of libhawk or libunwind: out[0] is the return address into the function
 * that called the allocation function.  Stores at most `max` addresses
 * (max <= SEG_FRAMES_MAX) and returns how many; *total is the depth
 * before truncation (capped, see UNWIND_EXTRA).  Returns 0 when nothing
 * is left after skipping.  Hot path: no lock, no allocation (the guard
 * covers libunwind's own first-use allocations).
 */
uint32_t unwind_capture(uint64_t *out, uint32_t max, uint32_t *total);

#endif /* HAWK_TRACER_UNWIND_H */
