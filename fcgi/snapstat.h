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

#endif /* HAWK_FCGI_SNAPSTAT_H */
