/* SPDX-License-Identifier: MIT */
/*
 * target.h - the traced processes a request acts on: selection, commands
 * and snapshots.
 */
#ifndef HAWK_FCGI_TARGET_H
#define HAWK_FCGI_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "fcgi_config.h"
#include "seg_read.h"

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
 * Returns 0 or a negative errno with the reason in err: the directory
 * could not be read, or it is refused (-EPERM, see seg_dir_open).
 */
int target_select(const struct config *c, int32_t pid, const char *name,
		  int live_only, struct target_list *out, char *err,
		  size_t errlen);
void target_list_free(struct target_list *l);

/*
 * Run one command on target t (a snapshot: target_snapshot_stream).
 * Returns cmd_run's result, and -EACCES if the segment's owner changed to
 * one not allowed.  On error `err` says what failed, e.g. "target 1234
 * did not answer within 5000 ms".
 */
int target_cmd(const struct config *c, const struct seg_info *t,
	       enum seg_cmd_op op, uint32_t frames, uint32_t flags,
	       char *err, size_t errlen);
/* The same with cmd_sampling (CMD_START: mean bytes between samples, 0 =
 * exact).  For CMD_SNAPSHOT `flags` is the view (enum snap_view); a peak
 * view of an exact target fails with -EOPNOTSUPP. */
int target_cmd_sampled(const struct config *c, const struct seg_info *t,
		       enum seg_cmd_op op, uint32_t frames, uint32_t flags,
		       uint64_t sampling, char *err, size_t errlen);

/*
 * CMD_START with a lease: the target stops tracing by itself if nobody
 * has stopped it within lease_ms (plus SEG_LEASE_GRACE_NS), so a
 * fixed-duration profile whose stop never arrives (responder killed,
 * target paused past the timeout) does not trace forever.  As target_cmd.
 */
int target_start_leased(const struct config *c, const struct seg_info *t,
			uint32_t frames, uint32_t flags, uint32_t lease_ms,
			char *err, size_t errlen);
/* The same, sampled at `sampling` bytes (0 = exact). */
int target_start_leased_sampled(const struct config *c,
				const struct seg_info *t, uint32_t frames,
				uint32_t flags, uint32_t lease_ms,
				uint64_t sampling, char *err, size_t errlen);

/*
 * Ask live target t for fresh status (CMD_STATUS, waiting at most
 * TARGET_REFRESH_MS or the configured timeout if shorter) and re-read its
 * segment into *t.  Returns 0, or the error of cmd_run / the reader; *t is
 * left as it was on error.
 */
#define TARGET_REFRESH_MS 250u
int target_refresh(const struct config *c, struct seg_info *t);

/*
 * CMD_SNAPSHOT of `view` (enum snap_view) on target t, its stream opened
 * (read through bounded buffers, snap_stream_open; snap_stream_close it),
 * with the same checks as target_cmd's (the target's own socket, pid,
 * start time, size cap).  `sizes`: the stream carries every block's size
 * (CMD_FLAG_SNAP_SIZES; only the pickle needs them).
 */
int target_snapshot_stream(const struct config *c, const struct seg_info *t,
			   uint32_t view, int sizes, struct snap_stream *ss,
			   char *err, size_t errlen);

#endif /* HAWK_FCGI_TARGET_H */
