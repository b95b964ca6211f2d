/* SPDX-License-Identifier: MIT */
/*
 * seg_write.h - the writer side of ipc/: the segment writer, the agent side
 * of the command protocol and the snapshot stream writer, used inside the
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
	struct seg_header *h;      /* shared mapping of the header: its
				      address names the futex word; the
				      target never loads or stores through
				      it (seg_write.c: SIGBUS) */
	int dirfd;                 /* O_CLOEXEC directory descriptor */
	int32_t pid;
	uint64_t start_time;       /* as written in the header */
	char name[SEG_NAME_MAX];   /* as written in the header */
	uint32_t flags;            /* SEG_F_* as last published */
	uint64_t heartbeat_ns;     /* as last published */
	uint32_t cmd_op;           /* the TAKEN command (seg_agent_wait) */
	uint32_t cmd_frames;
	uint32_t cmd_flags;
	uint64_t cmd_lease_ns;     /* CMD_START's lease (segment.h), 0 */
	uint32_t cmd_count;
	uint64_t cmd_sampling;     /* the TAKEN command's rate (CMD_START) */
	uint64_t cmd_token;        /* the TAKEN command's token (CMD_SNAPSHOT) */
	char file[64];             /* "<pid>.seg" or "<pid>.<tag>.seg" */
	char path[256];            /* "<dir>/<file>", for messages */
	char why[128];             /* why the directory was refused (-EPERM
				      from seg_writer_create), else "" */
};

/* Bounds of one seg_writer_clean. */
#define SEG_CLEAN_SCAN   4096u     /* directory entries looked at */
#define SEG_CLEAN_OPEN   64u       /* segments opened to test the lock */
#define SEG_CLEAN_UNLINK 64u       /* files removed */

/*
 * Create the calling process's segment in `dir` (creating `dir` 01777 if
 * it is the default, else 0700, when missing), atomically replacing a
 * file of this pid and uid (an exec'd predecessor's or a dead
 * process's): written as a temporary file of an unpredictable name,
 * allocated, locked, then renamed to "<pid>.seg" - or to
 * "<pid>.<tag>.seg" if another user's file holds that name.  `mode` is
 * 0600 or 0660; `gid` (or -1) is applied with fchown when mode is 0660.
 * Opened with O_NOFOLLOW.  Refuses (-EPERM, reason in w->why) a directory
 * owned by neither the effective uid nor root, or writable by all
 * without the sticky bit.  Then seg_writer_clean.  -ENOSPC when the
 * file system is full.
 */
int seg_writer_create(struct seg_writer *w, const char *dir, const char *name,
		      uint32_t max_frames, mode_t mode, gid_t gid);

/* Normal exit: unlink the segment (if it is still ours) and release it. */
void seg_writer_remove(struct seg_writer *w);

/*
 * Remove up to SEG_CLEAN_UNLINK dead files of the segment's directory,
 * any user's this process may remove: segments nobody holds the alive
 * lock of, snapshots and temporary files of pids that no longer exist.
 * Bounded work (SEG_CLEAN_*).  Called by seg_writer_create and at exit.
 */
void seg_writer_clean(struct seg_writer *w);

/* Unlink the segment's name (if it is still ours), keep the descriptors
 * and mapping (exit paths where the agent may still use them). */
void seg_writer_unlink(struct seg_writer *w);

/* Fork child: drop the parent's mapping and descriptors without touching
 * the parent's file.  Async-signal-safe. */
void seg_writer_forget(struct seg_writer *w);

/*
 * Is the segment still whole and ours: linked, SEG_HEADER_SIZE bytes,
 * with our identity in its header?  0, or -ENOENT (removed), -EIO
 * (truncated, extended or overwritten), -errno.  The caller makes a new
 * one otherwise.
 */
int seg_writer_check(struct seg_writer *w);

/* The status fields, written with two pwrites (heartbeat_ns as last set). */
struct seg_status {
	uint32_t flags;            /* SEG_F_* */
	uint32_t tracing;
	uint32_t frames;
	uint64_t traced_current;
	uint64_t traced_peak;
	uint64_t tracer_memory;
	uint64_t dropped;
	int32_t  last_error;
	uint32_t alloc_mode;       /* SEG_ALLOC_* */
	uint64_t rss_bytes;
	uint64_t anon_bytes;
	const char *alloc_path;    /* NUL-ended, or NULL */
	uint64_t lease_ns;         /* the tracing session's lease, 0 */
	uint64_t sampling;         /* the session's rate, 0 = exact */
};
int seg_writer_publish(struct seg_writer *w, const struct seg_status *st);

/*
 * Agent side of the command protocol.  Wait up to `timeout_ms` for a posted
 * command, refreshing heartbeat_ns.  Returns 1 with the command TAKEN (its
 * op/frames/flags/lease in w->cmd_*), 0 on timeout, negative errno on error
 * (-EIO, -EFAULT: the file was truncated; see seg_writer_check).
 */
int seg_agent_wait(struct seg_writer *w, int timeout_ms);

/* Wake the agent's wait (so that it looks at its own flags, e.g. quit). */
void seg_agent_kick(struct seg_writer *w);

/* Finish the TAKEN command: store result (and snap_seq), mark DONE, wake. */
void seg_agent_done(struct seg_writer *w, int result, uint32_t snap_seq);

/*
 * Snapshot stream writer (segment.h, SNAPSHOT STREAM).  snap_writer_listen
 * binds and listens on "<dir>/<pid>.snap.<seq>" under a new random seq
 * (returned in *seq; another one while the name exists), with the
 * segment's mode and group.  snap_writer_accept waits (at most
 * SNAP_ACCEPT_MS in all) for a connection that sends `token` within
 * SNAP_TOKEN_MS, closing any other, then removes the name.  The caller
 * writes the stream with snap_writer_write (non-blocking sends and poll;
 * a peer that reads nothing for SNAP_STALL_MS, closes, or *cancel
 * becoming non-zero, ends it; wait_begin/wait_end bracket each wait),
 * then snap_writer_close.  A sticky error:
 * the first failure is kept; once set, writes do nothing (so that a
 * client gone away costs nothing more) and snap_writer_close returns it.
 */
struct snap_writer {
	int lfd;                   /* listening socket, or -1 */
	int fd;                    /* the client's connection, or -1 */
	int err;                   /* first error (negative errno) or 0 */
	int dirfd;                 /* the segment's directory (not owned) */
	uint64_t off;              /* bytes written so far */
	const _Atomic int *cancel; /* non-zero: give up (agent exit), or NULL */
	/* Around every wait for the client to read (snap_writer_write):
	 * wait_begin, then wait_end, whose non-zero return ends the stream
	 * (-ECANCELED).  The agent releases its control lock there. */
	void (*wait_begin)(void *arg);
	int (*wait_end)(void *arg);
	void *wait_arg;
	char name[32];             /* "<pid>.snap.<seq>" while linked, else "" */
};

int snap_writer_listen(struct snap_writer *sw, struct seg_writer *w,
		       uint32_t *seq);
int snap_writer_accept(struct snap_writer *sw, uint64_t token);
void snap_writer_write(struct snap_writer *sw, const void *buf, size_t len);
/* Whether the stream still goes somewhere (no error yet). */
static inline int
snap_writer_ok(const struct snap_writer *sw)
{
	return sw->err == 0;
}
int snap_writer_close(struct snap_writer *sw);
/* Remove the socket name "<pid>.snap.<seq>" (exit paths, any thread). */
void snap_writer_unlink(struct seg_writer *w, uint32_t seq);

#endif /* HAWK_IPC_SEG_WRITE_H */
