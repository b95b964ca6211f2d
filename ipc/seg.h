/* SPDX-License-Identifier: MIT */
/*
 * seg.h - the ipc/ API: a writer for the tracer, a validating reader and a
 * command client for everything else.  Layout in segment.h.
 *
 * Conventions: functions return 0 or a negative errno; those taking
 * `err, errlen` also write a one-line reason naming the phase and the object
 * ("reading /dev/shm/hawk/1234.seg: bad magic").  Nothing here depends on
 * any other folder of the tree.
 */
#ifndef HAWK_IPC_SEG_H
#define HAWK_IPC_SEG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

/* ---------------------------------------------------------------------- */
/* Writer (seg_write.c), used inside the target by tracer/.
 * Never calls malloc or stdio: it may run before the tracer is initialised,
 * in an atfork child handler and in an atexit handler.                     */

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

/* ---------------------------------------------------------------------- */
/* Reader (seg_read.c): the only code that parses segments and snapshots. */

struct seg_info {
	char     file[64];         /* "<pid>.seg" */
	int32_t  pid;
	uid_t    uid;              /* owner of the segment file */
	uint64_t start_time;
	char     name[SEG_NAME_MAX];
	int      alive;            /* alive lock held and start time matches */
	int      tracing;
	uint32_t frames;           /* limit while tracing, else 0 */
	uint32_t max_frames;
	uint64_t traced_current;
	uint64_t traced_peak;
	uint64_t tracer_memory;
	uint64_t dropped;
	int32_t  last_error;
	uint64_t heartbeat_ns;
	uint64_t sampling;         /* mean bytes between samples while
				      tracing; 0 = exact (or not tracing) */
};

/* Read and validate one segment file of directory `dirfd`. */
int seg_info_read(int dirfd, const char *file, struct seg_info *out,
		  char *err, size_t errlen);

/*
 * Call fn for every "<pid>.seg" in `dir` that validates, in pid order.
 * Files that fail validation are passed to bad_fn (may be NULL) with the
 * reason.  Stops early if fn returns non-zero and returns that value.
 */
typedef int (*seg_list_fn)(const struct seg_info *info, void *arg);
typedef void (*seg_bad_fn)(const char *file, const char *reason, void *arg);
int seg_list(const char *dir, seg_list_fn fn, seg_bad_fn bad_fn, void *arg);

/* Remove a dead target's segment and its leftover snapshot files. */
int seg_remove_dead(const char *dir, int32_t pid, char *err, size_t errlen);

/* A client connection to one live target. */
struct seg_client {
	int fd;
	struct seg_header *h;      /* shared read-write mapping */
	struct seg_info info;
	char dir[4096];
};

int seg_client_open(struct seg_client *c, const char *dir, int32_t pid,
		    char *err, size_t errlen);
void seg_client_close(struct seg_client *c);

/*
 * Run one command (cmd.c).  Serialises with other clients (OFD lock), posts,
 * waits at most timeout_ms in all.  Returns the target's cmd_result (0,
 * -EALREADY, -ENOTCONN, -EINVAL, ...), or -ETIMEDOUT when the target did not
 * take the command in time (it was withdrawn: nothing changed), -EBUSY when
 * other clients held the lock for the whole timeout, -EINPROGRESS when the
 * target took it but did not finish in time, -ESRCH when the target is dead.
 * On CMD_SNAPSHOT success *snap_seq names the snapshot file.
 */
int cmd_run(struct seg_client *c, enum seg_cmd_op op, uint32_t frames,
	    uint32_t flags, int timeout_ms, uint32_t *snap_seq,
	    char *err, size_t errlen);
/* The same with cmd_sampling set to `sampling` (CMD_START: mean bytes
 * between samples, 0 = exact; 1..SNAP_SAMPLING_MAX). */
int cmd_run_sampled(struct seg_client *c, enum seg_cmd_op op,
		    uint32_t frames, uint32_t flags, uint64_t sampling,
		    int timeout_ms, uint32_t *snap_seq, char *err,
		    size_t errlen);

/* A validated snapshot, read into private memory (the file is unlinked). */
struct snap {
	void *buf;                 /* owns everything below */
	size_t size;
	const struct snap_header *h;
	const struct snap_module *modules;  /* h->n_modules */
	const struct snap_trace *traces;    /* h->n_traces */
	const uint64_t *frames;             /* h->n_frames */
	const uint64_t *sizes;              /* h->n_sizes */
	const char *strings;                /* h->strings_size */
};

/*
 * Open "<dir>/<pid>.snap.<seq>" (O_NOFOLLOW, must be owned by `owner`),
 * unlink it, read it and validate: magic, version, sizes, every offset and
 * count, every trace's frame and block ranges, every module string (NUL
 * inside strings), sum of sizes per trace, nframes in 1..frames.
 */
int snap_load(struct snap *s, const char *dir, int32_t pid, uint32_t seq,
	      uid_t owner, char *err, size_t errlen);

/* Validate a snapshot already in memory; takes ownership of buf (free()). */
int snap_parse(struct snap *s, void *buf, size_t size,
	       char *err, size_t errlen);

void snap_free(struct snap *s);

/* Module path of modules[i] (validated, NUL-terminated). */
static inline const char *
snap_module_path(const struct snap *s, uint64_t i)
{
	return s->strings + s->modules[i].path_off;
}

/* ---------------------------------------------------------------------- */
/* Sampling estimator (estimate.c), shared by the tracer (which writes the
 * estimates) and readers (tests, tools).
 *
 * Byte-based Poisson sampling with mean R bytes: a block of s < R bytes
 * is sampled with probability p(s) = 1 - exp(-s/R) (each byte starts a
 * sample with probability 1/R, memorylessly); a block of s >= R bytes is
 * always sampled (p = 1) and does not consume the countdown.  Each sampled
 * block of size s stands for 1/p(s) blocks of s bytes (Horvitz-Thompson:
 * unbiased whatever the sizes; the same weight as pprof's heap profiles
 * for s < R).  The variance of a site's count estimate is
 * n (1 - p) / p for n blocks of one size.                                 */

/* 1/p(s) for rate R > 0 (1 for s >= R; a 0-byte block is never sampled:
 * 1). */
double snap_weight(uint64_t s, uint64_t rate);

/* Parse a sampling rate: decimal digits with an optional k/K (KiB) or
 * m/M (MiB) suffix, 0 (exact) .. SNAP_SAMPLING_MAX.  Returns 0, -EINVAL
 * (not that form) or -ERANGE. */
int snap_parse_sampling(const char *s, uint64_t *out);

/* Fixed-point unit of the tracer's accumulated weights (1 block). */
#define SNAP_WEIGHT_ONE 65536u

#endif /* HAWK_IPC_SEG_H */
