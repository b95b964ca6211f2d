/* SPDX-License-Identifier: MIT */
/*
 * fmt_pickle.h - a pickled tracemalloc.Snapshot, written by hand.
 */
#ifndef HAWK_FCGI_FMT_PICKLE_H
#define HAWK_FCGI_FMT_PICKLE_H

#include "sink.h"
#include "stats.h"

/*
 * Write the ST_NEW traces of `set` that pass `f` (may be NULL) as a
 * protocol 4 pickle of tracemalloc.Snapshot: one raw trace
 * (domain = pid, size, frames, total_nframe) per live block at its exact
 * size (a trace without block sizes gives one trace of its total size),
 * frames most recent first, traceback_limit = `traceback_limit` (or the
 * set's largest traceback when 0).  Streamed: memory is a few words per
 * interned file, frame and trace, never the pickle itself.
 * Returns 0 or -ENOMEM; write errors stay in the sink.
 */
int fmt_pickle_snapshot(const struct st_set *set, const struct st_filter *f,
			uint32_t traceback_limit, struct sink *out);

#endif /* HAWK_FCGI_FMT_PICKLE_H */
