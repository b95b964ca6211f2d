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

struct fmt_pprof {
	const struct st_set *set;
	const struct st_filter *filter;   /* NULL = keep every trace */
	int delta;                 /* values = ST_NEW - ST_OLD (Go's
				      ?seconds=N); else ST_OLD is ignored */
	int allocs;                /* /debug/pprof/allocs: the default sample
				      type is the allocation one if present */
	uint64_t period;           /* sampling period in bytes, 1 = exact */
	int64_t time_ns;           /* when the (last) snapshot was taken */
	int64_t duration_ns;       /* delta: between the two snapshots */
};

/*
 * A profile built as the snapshots are read, then written:
 * fmt_pprof_begin (NULL when out of memory; p and p->set must outlive the
 * builder, p->time_ns/duration_ns are read at the end); fmt_pprof_add for
 * each trace of each snapshot: the frames ids[] of the set (most recent
 * first) that return addresses addrs[0..naddrs) gave, nl[k] of them for
 * addrs[k] (snapshot `snap` gives the modules), figures size/count as
 * st_trace's (0, -ENOMEM, -EINVAL when nothing or an unknown target);
 * fmt_pprof_drop forgets the traces of target index `target` (a target
 * whose snapshot failed half-way; can't fail); fmt_pprof_end writes p as
 * a gzip-compressed Profile and frees the builder, fmt_pprof_free frees
 * it unwritten.  The Profile:
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
 * fmt_pprof_end returns 0 or -ENOMEM; write errors stay in the sink.
 * Memory: a sample per distinct (target, locations), the locations,
 * functions and mappings; nothing per snapshot trace.
 */
struct fmt_pprof_build;
struct fmt_pprof_build *fmt_pprof_begin(const struct fmt_pprof *p);
int fmt_pprof_add(struct fmt_pprof_build *b, const struct snap *snap,
		  uint32_t target, enum st_gen gen, const uint64_t *addrs,
		  const uint32_t *nl, uint32_t naddrs, const uint32_t *ids,
		  uint64_t size, uint64_t count);
void fmt_pprof_drop(struct fmt_pprof_build *b, uint32_t target);
int fmt_pprof_end(struct fmt_pprof_build *b, struct sink *out);
void fmt_pprof_free(struct fmt_pprof_build *b);

#endif /* HAWK_FCGI_FMT_PPROF_H */
