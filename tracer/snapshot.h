/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - serve a snapshot of the traces as a stream (segment.h,
 * SNAPSHOT STREAM).
 */
#ifndef HAWK_TRACER_SNAPSHOT_H
#define HAWK_TRACER_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "seg_write.h"

/*
 * The TAKEN CMD_SNAPSHOT with `flags` (its view, CMD_FLAG_SNAP_GC,
 * CMD_FLAG_SNAP_SIZES) and `token`: answers the command itself
 * (seg_agent_done: -ENOTCONN when not tracing, -EINVAL for an unknown
 * view, -EOPNOTSUPP for the peak view of an exact session, -errno when
 * no socket could be made; else 0 and the socket's seq), then waits for
 * the client and streams the snapshot to it.  Called by the agent
 * without the control lock (it takes it for the stream, and gives it up
 * while it waits for the client to read: a start or stop meanwhile ends
 * the stream with -ECANCELED); gives up when *cancel becomes non-zero.  Returns 0 or -errno (the client never
 * came, went away, stopped reading); everything it mapped is unmapped
 * and the socket's name is gone when it returns.
 */
int snapshot_serve(struct seg_writer *w, uint32_t flags, uint64_t token,
		   const _Atomic int *cancel);

/* Remove the name of a snapshot socket still waiting for its client (exit
 * paths, any thread; the agent may be using it: names only). */
void snapshot_unlink(struct seg_writer *w);

/* Fork child: close the parent's snapshot sockets (the client's
 * connection must end with the parent's stream, not live on in a child);
 * the names stay the parent's. */
void snapshot_forget(void);

#endif /* HAWK_TRACER_SNAPSHOT_H */
