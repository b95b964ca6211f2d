/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - write the live traces to a snapshot file (segment.h).
 */
#ifndef HAWK_TRACER_SNAPSHOT_H
#define HAWK_TRACER_SNAPSHOT_H

#include <stdint.h>

#include "seg_write.h"

/*
 * Write "<dir>/<pid>.snap.<seq>" completely, under a new unpredictable
 * seq returned in *seq (snap_writer_open), holding `view` (enum
 * snap_view).  Caller holds control_lock (agent).  Returns 0 or -errno
 * (-EINVAL: unknown view, -EOPNOTSUPP: the peak view of an exact
 * session); on error the partial file is removed.
 */
int snapshot_write(struct seg_writer *w, uint32_t *seq, uint32_t view);

#endif /* HAWK_TRACER_SNAPSHOT_H */
