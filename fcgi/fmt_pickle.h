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

/*
 * The same pickle written in parts, for a snapshot read chunk after chunk
 * (bounded memory): fmt_pickle_begin writes the opening; fmt_pickle_traces
 * writes the ST_NEW traces of set that pass f (one entry per block), and
 * may be called again with the same set after st_set_drop_traces and new
 * traces (its frames stay interned: the memo of frames and files carries
 * over); fmt_pickle_end writes the closing and frees fp.  begin returns
 * NULL when out of memory; the others 0, -ENOMEM or the sink's error.
 */
struct fmt_pickle;
struct fmt_pickle *fmt_pickle_begin(struct sink *out);
int fmt_pickle_traces(struct fmt_pickle *fp, const struct st_set *set,
		      const struct st_filter *f);
int fmt_pickle_end(struct fmt_pickle *fp, uint32_t traceback_limit);
/* Free fp without writing the closing: the pickle ends without its STOP
 * opcode, so pickle.load of what was written fails ("pickle data was
 * truncated") - for a pickle cut short by an error once partly sent. */
void fmt_pickle_abort(struct fmt_pickle *fp);

#endif /* HAWK_FCGI_FMT_PICKLE_H */
