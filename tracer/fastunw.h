/* SPDX-License-Identifier: MIT */
/*
 * fastunw.h - the tracer's own x86-64 stack walker: libunwind's fast
 * trace, without its per-call set-up, for the frames it can describe.
 *
 * A walk reads, for each frame, one rule from a per-thread cache keyed by
 * the frame's address (CFA = rsp or rbp + offset, where the return
 * address and the caller's rbp were saved relative to the CFA), computed
 * once from the module's .eh_frame_hdr/.eh_frame.  Anything it cannot
 * describe exactly - a signal frame, a CFA given by an expression
 * (stack realignment), a frame outside the thread's stack, code in a
 * module it has not seen yet - makes the walk answer -1 and the caller
 * uses libunwind for that capture, so the result is always libunwind's.
 * HAWK_UNWIND=libunwind turns it off; HAWK_UNWIND=check runs both on
 * every capture and counts any difference (HAWK_STATS=1 prints it).
 */
#ifndef HAWK_TRACER_FASTUNW_H
#define HAWK_TRACER_FASTUNW_H

#include <stdint.h>

#include "caches.h"

enum fu_mode {
	FU_OFF = 0,                /* libunwind only */
	FU_FAST = 1,               /* ours, libunwind where ours can't */
	FU_CHECK = 2               /* both, compared */
};
extern int fu_mode __attribute__((visibility("hidden")));

/* Per-thread rule cache: one mapping of FU_CACHE_BYTES (caches.h) per
 * thread that has walked a stack, released at thread exit. */
#define FU_CACHE_BITS  11u

/*
 * Choose the mode from HAWK_UNWIND (NULL or "": fast) and check that the
 * walker can work here (x86-64, process_vm_readv on ourselves; if not,
 * libunwind only).  Boot, guard set.  Returns 0, or -EINVAL for a value
 * that is not fast, libunwind or check (then fast).
 */
int fu_init(const char *env);

/*
 * Rebuild the table of loaded modules (text ranges, .eh_frame_hdr) if
 * the loader's set changed since the last call, and then empty every
 * thread's rule cache.  Takes the loader's lock (dl_iterate_phdr): control
 * path only - start, and the agent's tick - never the allocation path.
 * Callers hold control_lock.
 */
void fu_refresh(void);

/* One module of the table: an executable range and its .eh_frame_hdr
 * (0: none). */
struct fu_mod {
	uint64_t lo, hi;
	uint64_t hdr;
};
/* Make m[0..n) (sorted by lo, at most 1024) the table walks read, as
 * fu_refresh does after a scan of the loader's list (control path; the
 * caller serialises with fu_refresh).  tests/t-cfi.c publishes a
 * synthetic module with it. */
void fu_modules_publish(const struct fu_mod *m, uint32_t n);

/*
 * Walk the calling thread's stack from (pc, sp, bp), the registers at a
 * point in the body of the caller (pc exact, not a return address):
 * buf[0] = pc, then the return addresses outwards, at most `want`.
 * Returns the number stored, or -1 when libunwind must do this one.
 * No lock, no allocation except the thread's cache at its first walk.
 */
int fu_walk(uint64_t *buf, int want, uint64_t pc, uint64_t sp, uint64_t bp);

/* Check mode: count a comparison with libunwind. */
void fu_count(int same);

struct fu_stats {
	uint64_t fallback;         /* walks handed to libunwind */
	uint64_t parsed;           /* frame rules read from CFI */
	uint64_t checked, mismatch;    /* HAWK_UNWIND=check */
};
void fu_get_stats(struct fu_stats *st);

/* fork child: our pid changed (the safe reads name it). */
void fu_after_fork_child(void);

#endif /* HAWK_TRACER_FASTUNW_H */
