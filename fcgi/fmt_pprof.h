/* SPDX-License-Identifier: MIT */
/*
 * fmt_pprof.h - a gzip-compressed pprof profile (perftools.profiles.Profile,
 * the format of `go tool pprof`, Pyroscope and Parca) of a trace set.
 */
#ifndef HAWK_FCGI_FMT_PPROF_H
#define HAWK_FCGI_FMT_PPROF_H

#include <stdint.h>

#include "seg_read.h"
#include "sink.h"
#include "stats.h"

/* How many frames return address `addr` of snapshot `snap` expands to
 * (inlined calls included, >= 1): what target_symbolize found for it. */
typedef int (*fmt_pprof_depth_fn)(void *arg, const struct snap *snap,
				  uint64_t addr);

struct fmt_pprof {
	const struct st_set *set;
	const struct st_filter *filter;   /* NULL = keep every trace */
	/* the snapshots symbolized into `set`, in the order they were added:
	 * set->traces is their traces one after the other */
	const struct snap *snaps;
	size_t n_snaps;
	fmt_pprof_depth_fn depth;
	void *depth_arg;
	int delta;                 /* values = ST_NEW - ST_OLD (Go's
				      ?seconds=N); else ST_OLD is ignored */
	int allocs;                /* /debug/pprof/allocs: the default sample
				      type is the allocation one if present */
	uint64_t period;           /* sampling period in bytes, 1 = exact */
	int64_t time_ns;           /* when the (last) snapshot was taken */
	int64_t duration_ns;       /* delta: between the two snapshots */
};

/*
 * Write p as a gzip-compressed Profile:
 *  - sample types inuse_objects/count and inuse_space/bytes, or for the
 *    allocated view (set->view) alloc_objects/count and alloc_space/bytes;
 *    period type space/bytes; period the set's sampling rate (values are
 *    the set's, already the unbiased estimates), else p->period; the
 *    default sample type is the bytes one;
 *  - one sample per distinct (target, traceback), with a numeric label
 *    "pid"; in a delta, samples whose values are all 0 are left out;
 *  - a location per (target, return address, frames kept): address =
 *    return address - 1 (inside the call, where it was symbolized), its
 *    lines the set's frames for it, innermost inlined call first;
 *  - a function per (name, file), system name = name (the symbolizer
 *    gives demangled names only);
 *  - a mapping per (target, loaded object): range, build-id in hex, file
 *    offset 0 (not recorded by the tracer: the lowest PT_LOAD's, which
 *    standard linkers put at the start of the file), has_functions/filenames/
 *    line_numbers/inline_frames true when one of its frames has them.
 * Returns 0, -ENOMEM, or -EINVAL when the snapshots do not match the set;
 * write errors stay in the sink.
 */
int fmt_pprof(const struct fmt_pprof *p, struct sink *out);

#endif /* HAWK_FCGI_FMT_PPROF_H */
