/* SPDX-License-Identifier: MIT */
/*
 * snapstat.h - a snapshot's traces, symbolized, into a statistics set.
 */
#ifndef HAWK_FCGI_SNAPSTAT_H
#define HAWK_FCGI_SNAPSTAT_H

#include "seg_read.h"
#include "stats.h"
#include "symbols.h"
#include "textpool.h"

/*
 * Symbolize every trace of `snap` into `set` as generation `gen`: each
 * return address through sym_resolve (inlined calls are frames of their
 * own), then the expanded traceback is cut to the snapshot's traceback
 * limit, keeping the most recent frames; total_nframe grows by the inline
 * frames found, so it stays >= the frames kept.  A sampled snapshot or
 * an allocated view adds each trace's estimates (est_size, est_count)
 * without block sizes; an exact live or peak one the blocks' sizes.  A
 * file, function or module
 * name that is not valid UTF-8 gets U+FFFD for each bad byte (JSON and
 * pickle need text).  The set keeps pointers into `snap` (block sizes) and
 * the pool: both must outlive it.  Returns 0 or -ENOMEM.
 */
int snapstat_add(struct symbolizer *sym, const struct snap *snap,
		 enum st_gen gen, struct st_set *set, struct textpool *pool);

/* How snapstat_add_stream aggregates the traces it reads. */
enum snapstat_agg {
	SNAPSTAT_FULL = 0,         /* one trace per snapshot trace, every
				      frame (traceback key, filters) */
	SNAPSTAT_FRAME0 = 1,       /* lineno: one 1-frame trace per (target,
				      generation, most recent frame) */
	SNAPSTAT_EACH_FRAME = 2,   /* cumulative lineno without filters: one
				      1-frame trace per (target, generation,
				      frame), each occurrence of a frame in a
				      traceback added (as tracemalloc does) */
	SNAPSTAT_PICKLE = 3,       /* every block, in chunks: flush(arg, set)
				      is called with at most 65536 traces
				      and 2^20 block sizes, then they are
				      dropped from the set (frames stay) */
};

/*
 * The traces of the stream ss (rewound first) into set as generation gen,
 * aggregated as `mode` says, never one record per block held: grouping the
 * result with st_group (lineno, cumulative as asked) gives what
 * snapstat_add's set would.  Returns 0, -ENOMEM, a flush error, or the
 * stream's error (-EPROTO...) with the reason in errmsg.
 */
int snapstat_add_stream(struct symbolizer *sym, struct snap_stream *ss,
			enum st_gen gen, enum snapstat_agg mode,
			struct st_set *set, struct textpool *pool,
			int (*flush)(void *, struct st_set *), void *arg,
			char *errmsg, size_t errlen);

#endif /* HAWK_FCGI_SNAPSTAT_H */
