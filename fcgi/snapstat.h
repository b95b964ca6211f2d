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

/* How snapstat_add_stream aggregates the traces it reads. */
enum snapstat_agg {
	SNAPSTAT_FULL = 0,         /* one trace per snapshot trace, every
				      frame (collapsed, flame graph, lineno
				      or cumulative with filters) */
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
	SNAPSTAT_TRACE = 4,        /* nothing added to the set: hooks->trace
				      is called once per trace (pprof, the
				      traceback format's trie) */
	SNAPSTAT_CHECK = 5,        /* nothing added: read and validate only
				      (a snapshot whose totals alone count) */
};

/* One trace as SNAPSTAT_TRACE hands it over: its return addresses that
 * the traceback limit kept, each with the number of frames it gave
 * (inlined calls; together nids), and those frames. */
struct snapstat_trace {
	const struct snap *snap;   /* modules and strings of the stream */
	uint32_t target;           /* index into set->pids */
	enum st_gen gen;
	const uint64_t *addrs;     /* naddrs return addresses, */
	const uint32_t *nl;        /* the frames each gave (>= 1) */
	uint32_t naddrs;
	const uint32_t *ids;       /* nids frame ids, most recent first */
	uint32_t nids;
	uint32_t total_nframe;
	uint64_t size, count;      /* as st_trace's */
};

struct snapstat_hooks {
	/* SNAPSTAT_PICKLE: write the set's traces (then dropped) */
	int (*flush)(void *arg, struct st_set *set);
	/* SNAPSTAT_TRACE: take one trace (pointers valid during the call) */
	int (*trace)(void *arg, const struct snapstat_trace *t);
	void *arg;
};

/*
 * The traces of the stream ss into set as generation gen, aggregated as
 * `mode` says, never one record per block held: grouping the result with
 * st_group (lineno, cumulative as asked) gives what one trace per snapshot
 * trace would.  The stream is read once, forward, from where it is to its
 * end (no rewind: a stream may be a socket); its header totals
 * (traced_current, est_blocks...) are valid only once this returned 0.
 * On error every trace of the target (both generations) is dropped from
 * the set again (st_drop_target), so a bad snapshot spoils no other
 * target's figures; SNAPSTAT_PICKLE's flushed chunks are already out, and
 * SNAPSTAT_TRACE's caller undoes what its hook took.  Returns 0, -ENOMEM,
 * a hook's error, or the stream's (-EPROTO...) with the reason in errmsg.
 */
int snapstat_add_stream(struct symbolizer *sym, struct snap_stream *ss,
			enum st_gen gen, enum snapstat_agg mode,
			struct st_set *set, struct textpool *pool,
			const struct snapstat_hooks *hooks, char *errmsg,
			size_t errlen);

#endif /* HAWK_FCGI_SNAPSTAT_H */
