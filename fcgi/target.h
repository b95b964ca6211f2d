/* SPDX-License-Identifier: MIT */
/*
 * target.h - the traced processes a request acts on: selection, commands,
 * snapshots and their symbolization into a statistics set.
 */
#ifndef HAWK_FCGI_TARGET_H
#define HAWK_FCGI_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "fcgi_config.h"
#include "seg_read.h"
#include "stats.h"
#include "symbols.h"

struct target_list {
	struct seg_info *v;
	size_t n, cap;
	/* matching targets left out because allow_uids does not admit their
	 * owner: how many, and the first one's pid and uid */
	size_t n_refused;
	int32_t refused_pid;
	uid_t refused_uid;
};

/*
 * The segments of c->dir whose owner is allowed (config_uid_allowed), that
 * match `pid` (0 = any) and `name` ("" = any), alive ones only when
 * `live_only`; in pid order.  A missing directory is an empty list.
 * Those that match but whose owner is not allowed are counted in
 * out->n_refused (so that a caller can say 403 rather than 404).
 * Returns 0 or a negative errno (the directory could not be read).
 */
int target_select(const struct config *c, int32_t pid, const char *name,
		  int live_only, struct target_list *out);
void target_list_free(struct target_list *l);

/*
 * Run one command on target t; for CMD_SNAPSHOT load the snapshot into
 * *snap (snap_free it).  Returns cmd_run's result, and -EACCES if the
 * segment's owner changed to one not allowed.  On error `err` says what
 * failed, e.g. "target 1234 did not answer within 5000 ms".
 */
int target_cmd(const struct config *c, const struct seg_info *t,
	       enum seg_cmd_op op, uint32_t frames, uint32_t flags,
	       struct snap *snap, char *err, size_t errlen);

/*
 * Ask live target t for fresh status (CMD_STATUS, waiting at most
 * TARGET_REFRESH_MS or the configured timeout if shorter) and re-read its
 * segment into *t.  Returns 0, or the error of cmd_run / the reader; *t is
 * left as it was on error.
 */
#define TARGET_REFRESH_MS 250u
int target_refresh(const struct config *c, struct seg_info *t);

/* Strings the symbolization had to copy (UTF-8 repairs); freed at once. */
struct target_pool {
	struct target_chunk *head;
};
void target_pool_free(struct target_pool *p);

/*
 * Symbolize every trace of `snap` into `set` as generation `gen`: each
 * return address through sym_resolve (inlined calls are frames of their
 * own), then the expanded traceback is cut to the snapshot's traceback
 * limit, keeping the most recent frames; total_nframe grows by the inline
 * frames found, so it stays >= the frames kept.  A file, function or module
 * name that is not valid UTF-8 gets U+FFFD for each bad byte (JSON and
 * pickle need text).  The set keeps pointers into `snap` (block sizes) and
 * the pool: both must outlive it.  Returns 0 or -ENOMEM.
 */
int target_symbolize(struct symbolizer *sym, const struct snap *snap,
		     enum st_gen gen, struct st_set *set,
		     struct target_pool *pool);

/* ---------------------------------------------------------------------- */
/* Streaming (snap_stream.c): a snapshot read through bounded buffers and
 * aggregated as it is read, so that the responder's memory grows with the
 * distinct frames, not with the blocks. */

/* Run CMD_SNAPSHOT on t and open the file it wrote as a stream. */
int target_snapshot_stream(const struct config *c, const struct seg_info *t,
			   struct snap_stream *ss, char *err, size_t errlen);

enum target_agg {
	TARGET_AGG_FULL = 0,       /* one trace per snapshot trace, every
				      frame (traceback key, filters) */
	TARGET_AGG_FRAME0 = 1,     /* lineno: one 1-frame trace per (target,
				      generation, most recent frame) */
	TARGET_AGG_EACH_FRAME = 2, /* cumulative lineno without filters: one
				      1-frame trace per (target, generation,
				      frame), each occurrence of a frame in a
				      traceback added (as tracemalloc does) */
	TARGET_AGG_PICKLE = 3,     /* every block, in chunks: flush(arg, set)
				      is called with at most 65536 traces
				      and 2^20 block sizes, then they are
				      dropped from the set (frames stay) */
};

/*
 * Symbolize the traces of ss into set as generation gen, aggregated as
 * `mode` says.  Grouping the result with st_group (lineno, cumulative as
 * asked) gives what target_symbolize's set would.  Returns 0, -ENOMEM, a
 * flush error, or the stream's error (-EPROTO...) with the reason in
 * errmsg.
 */
int target_symbolize_stream(struct symbolizer *sym, struct snap_stream *ss,
			    enum st_gen gen, enum target_agg mode,
			    struct st_set *set, struct target_pool *pool,
			    int (*flush)(void *, struct st_set *), void *arg,
			    char *errmsg, size_t errlen);

#endif /* HAWK_FCGI_TARGET_H */
