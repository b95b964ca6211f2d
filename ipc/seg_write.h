/* SPDX-License-Identifier: MIT */
/*
 * seg_write.h - the writer side of ipc/: the segment writer, the agent side
 * of the command protocol and the snapshot file writer, used inside the
 * target by tracer/ (ipc/libipc-writer.la, linked into libhawk).  Layout in
 * segment.h; the reader is seg_read.h.
 *
 * Never calls malloc or stdio: it may run before the tracer is initialised,
 * in an atfork child handler and in an atexit handler (tests/t-ipc-writer.sh
 * checks the objects with nm).  Functions return 0 or a negative errno.
 */
#ifndef HAWK_IPC_SEG_WRITE_H
#define HAWK_IPC_SEG_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

struct seg_writer {
	int fd;                    /* O_CLOEXEC, holds the SEG_LOCK_ALIVE lock */
	struct seg_header *h;      /* shared mapping of the header */
	int dirfd;                 /* O_CLOEXEC directory descriptor */
	int32_t pid;
	char path[256];            /* "<dir>/<pid>.seg", for messages */
};

/*
 * Create "<dir>/<pid>.seg" for the calling process (creating `dir` 01777 /
 * 0700-owned-by-us if missing), atomically replacing any file of that pid
 * (an exec'd predecessor's or a dead process's): it is written as a
 * temporary file, locked, then renamed into place.  `mode` is 0600 or 0660;
 * `gid` (or -1) is applied with fchown when mode is 0660.  Opened with
 * O_NOFOLLOW.  On success the header is initialised with `ready` = 1.
 */
int seg_writer_create(struct seg_writer *w, const char *dir, const char *name,
		      uint32_t max_frames, mode_t mode, gid_t gid);

/* Normal exit: unlink the segment (if it is still ours) and release it. */
void seg_writer_remove(struct seg_writer *w);

/* Fork child: drop the parent's mapping and descriptors without touching
 * the parent's file.  Async-signal-safe. */
void seg_writer_forget(struct seg_writer *w);

/*
 * Agent side of the command protocol.  Wait up to `timeout_ms` for a posted
 * command, refreshing heartbeat_ns.  Returns 1 with the command TAKEN (read
 * op/frames/flags from w->h), 0 on timeout, negative errno on error.
 */
int seg_agent_wait(struct seg_writer *w, int timeout_ms);

/* Finish the TAKEN command: store result (and snap_seq), mark DONE, wake. */
void seg_agent_done(struct seg_writer *w, int result, uint32_t snap_seq);

/*
 * Snapshot file writer: "<dir>/<pid>.snap.<seq>", same owner and mode as
 * the segment, O_EXCL|O_NOFOLLOW.  The caller writes the sections with
 * snap_writer_write (sequential, buffered in the caller's buffer), then
 * patches the header with snap_writer_pwrite and closes.  A sticky error:
 * the first failure is kept and returned by snap_writer_close.
 */
struct snap_writer {
	int fd;
	int err;                   /* first error (negative errno) or 0 */
	uint64_t off;              /* bytes written so far */
};

int snap_writer_open(struct snap_writer *sw, struct seg_writer *w,
		     uint32_t seq);
void snap_writer_write(struct snap_writer *sw, const void *buf, size_t len);
void snap_writer_pwrite(struct snap_writer *sw, const void *buf, size_t len,
			uint64_t off);
/* Pads with zero bytes to a multiple of 8. */
void snap_writer_align(struct snap_writer *sw);
int snap_writer_close(struct snap_writer *sw);
/* Remove a snapshot file nobody collected (e.g. the client died). */
void snap_writer_unlink(struct seg_writer *w, uint32_t seq);

#endif /* HAWK_IPC_SEG_WRITE_H */
