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
 * seq returned in *seq (snap_writer_open).  Caller holds core_ctl_lock
 * (agent).  Returns 0 or -errno; on error the partial file is removed.
 */
int snapshot_write(struct seg_writer *w, uint32_t *seq);

#endif /* HAWK_TRACER_SNAPSHOT_H */
