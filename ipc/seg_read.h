/* SPDX-License-Identifier: MIT */
/*
 * seg_read.h - the reader side of ipc/: the validating reader of segments
 * and snapshots and the command client, for the responder, the `hawk`
 * command and the tests (ipc/libipc.la).  The format is segment.h; the
 * writer that runs inside the target is seg_write.h (ipc/libipc-writer.la,
 * linked into libhawk, which carries none of this file's code).
 *
 * Conventions: functions return 0 or a negative errno; those taking
 * `err, errlen` also write a one-line reason naming the phase and the object
 * ("reading /dev/shm/hawk/1234.seg: bad magic").  Nothing here depends on
 * any other folder of the tree.
 */
#ifndef HAWK_IPC_SEG_READ_H
#define HAWK_IPC_SEG_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

/* ---------------------------------------------------------------------- */
/* The only code that parses segments and snapshots: seg_read.c validates
 * a segment, seg_list.c lists a directory, seg_client.c opens one target,
 * seg_remove.c deletes a dead one, snap_read.c validates a snapshot,
 * cmd.c runs a command (seg_live.c: liveness, shared by them). */

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
	uint32_t alloc_mode;       /* SEG_ALLOC_* (validated) */
	char     alloc_path[SEG_ALLOC_PATH_MAX]; /* NUL-ended */
	uint64_t rss_bytes;        /* the process's resident memory */
	uint64_t anon_bytes;       /* of which anonymous (not file, shared) */
	uint32_t flags;            /* SEG_F_* */
	uint64_t sampling;         /* mean bytes between samples while
				      tracing; 0 = exact (or not tracing) */
};

/* "glibc", "foreign" or "bypassed" for a SEG_ALLOC_* value. */
static inline const char *
seg_alloc_name(uint32_t mode)
{
	return mode == SEG_ALLOC_FOREIGN ? "foreign" :
	       mode == SEG_ALLOC_BYPASSED ? "bypassed" : "glibc";
}

/* Read and validate one segment file of directory `dirfd`. */
int seg_info_read(int dirfd, const char *file, struct seg_info *out,
		  char *err, size_t errlen);

/*
 * Open segment directory `dir` for reading (a descriptor, or -errno with
 * the reason in err).  Refused with -EPERM: a directory owned by anyone
 * but the caller's effective uid or root, or writable by everybody
 * without the sticky bit (its owner or writers could replace or remove
 * other users' segments); one writable by its group trusts the group.  Every reader function below opens its
 * directory through it.
 */
int seg_dir_open(const char *dir, char *err, size_t errlen);

/*
 * Call fn for every "<pid>.seg" in `dir` that validates, in pid order.
 * Files that fail validation are passed to bad_fn (may be NULL) with the
 * reason.  Stops early if fn returns non-zero and returns that value.
 * A directory seg_dir_open refuses is -EPERM (call seg_dir_open first for
 * the message).
 */
typedef int (*seg_list_fn)(const struct seg_info *info, void *arg);
typedef void (*seg_bad_fn)(const char *file, const char *reason, void *arg);
int seg_list(const char *dir, seg_list_fn fn, seg_bad_fn bad_fn, void *arg);

/* Remove a dead target's segment and its leftover snapshot sockets. */
int seg_remove_dead(const char *dir, int32_t pid, char *err, size_t errlen);

/* A client connection to one live target. */
struct seg_client {
	uint64_t lease_ns;         /* sent with CMD_START (cmd_lease_ns); 0 */
	uint64_t sampling;         /* sent with CMD_START (cmd_sampling): mean
				      bytes between samples, 0 = exact */
	uint64_t snap_token;       /* sent with the last CMD_SNAPSHOT
				      (cmd_token), for snap_stream_open */
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
 * On CMD_SNAPSHOT success *snap_seq names the snapshot socket.  CMD_START
 * carries c->lease_ns (set it after seg_client_open; 0 = no lease).
 */
int cmd_run(struct seg_client *c, enum seg_cmd_op op, uint32_t frames,
	    uint32_t flags, int timeout_ms, uint32_t *snap_seq,
	    char *err, size_t errlen);
/* cmd_run with c->sampling = `sampling` (CMD_START: mean bytes between
 * samples, 0 = exact; at most SNAP_SAMPLING_MAX, else -EINVAL). */
int cmd_run_sampled(struct seg_client *c, enum seg_cmd_op op,
		    uint32_t frames, uint32_t flags, uint64_t sampling,
		    int timeout_ms, uint32_t *snap_seq, char *err,
		    size_t errlen);

/* ---------------------------------------------------------------------- */
/*
 * A snapshot read as a stream (snap_stream.c), the one parser of snapshot
 * bytes (segment.h, SNAPSHOT STREAM): the header, modules and strings in
 * memory, then one trace at a time through a buffer of SNAP_WINDOW bytes,
 * each element validated as it is read; the trailer's totals are checked
 * against what was read.  Memory: a few hundred KiB, whatever the size.
 */
#define SNAP_WINDOW 65536u

/* A validated snapshot held whole in private memory (snap_load), for the
 * users that need every trace at once; built by the stream parser. */
struct snap {
	void *buf;                 /* owns everything below */
	size_t size;
	const struct snap_header *h;  /* totals filled from the trailer */
	const struct snap_module *modules;  /* h->n_modules */
	const struct snap_trace *traces;    /* h->n_traces */
	const uint64_t *frames;             /* h->n_frames */
	const uint64_t *sizes;              /* h->n_sizes */
	const char *strings;                /* h->strings_size */
};

struct snap_stream {
	int fd;                    /* the connection (or a pipe, a file) */
	uint64_t max_size;         /* bytes allowed, 0 = no cap */
	uint64_t pos;              /* bytes consumed */
	struct snap_header h;      /* validated; the totals (n_traces ...)
				      only once snap_stream_next returned 0 */
	struct snap_module *modules;  /* h.n_modules, validated */
	char *strings;             /* h.strings_size (+ a NUL) */
	struct snap snap;          /* h, modules, strings (for the
				      symbolizer); no traces/frames/sizes */
	char *buf;                 /* read buffer, SNAP_WINDOW bytes */
	size_t len, at;            /* bytes in buf, bytes consumed */
	uint64_t *frames;          /* the current trace's, h.frames slots */
	struct snap_trace cur;     /* the current trace */
	uint64_t next, next_frame, next_block;  /* read so far */
	uint64_t left, sum;        /* current trace: sizes unread, their sum */
	uint64_t est_count, est_size;  /* sums over the traces read */
	int in_trace;
	int done;                  /* the trailer was read and checked */
	int seg_fd;                /* the target's segment (snap_stream_open),
				      to tell a dead target from a bad
				      stream, or -1 */
	int32_t seg_pid;
	uint64_t seg_start;
	char dir[4096];
	uint64_t est_blocks;       /* blocks the outputs report for the
				      traces read so far (est_count when
				      estimated, else count) */
	char what[4300];
};

/* Whether the outputs take a trace's est_size/est_count (sampled, or the
 * allocated view) rather than its blocks. */
static inline int
snap_stream_estimated(const struct snap_stream *ss)
{
	return ss->h.sampling_bytes || ss->h.view == SNAP_VIEW_ALLOCATED;
}

/*
 * Connect to the snapshot socket "<c->dir>/<pid>.snap.<seq>" that cmd_run
 * reported, check that its peer is the target (SO_PEERCRED: c's pid, and
 * c's owner uid), send c->snap_token, and read and validate the header,
 * modules and strings (the pid and start time inside must be c's).  At
 * most max_size bytes are read in all when not 0 (else -EFBIG).  Reading
 * stops with an error when the target sends nothing for SNAP_STALL_MS.
 * When the stream breaks because the target died (here or in a later
 * call), the error is -ESRCH, "target <pid> exited", and what the target
 * left in the directory is removed (seg_remove_dead).
 */
int snap_stream_open(struct snap_stream *ss, const struct seg_client *c,
		     uint32_t seq, uint64_t max_size, char *err,
		     size_t errlen);

/* The same over any readable descriptor (a pipe, a file: tests, fuzzing,
 * a saved stream), which ss then owns; `what` names it in messages. */
int snap_stream_fdopen(struct snap_stream *ss, int fd, uint64_t max_size,
		       const char *what, char *err, size_t errlen);

/* The next trace: 1 and *t, *frames (t->nframes return addresses, valid
 * until the next call); 0 at the end, once the trailer has been read and
 * checked (ss->h then holds the totals); or a negative errno (-EPROTO:
 * malformed, with the reason).  The sizes of the previous trace that
 * snap_stream_sizes did not read are read (and checked) first. */
int snap_stream_next(struct snap_stream *ss, struct snap_trace *t,
		     const uint64_t **frames, char *err, size_t errlen);

/* Up to max sizes of the current trace into out (NULL: skip them);
 * returns how many (0 when none is left, or the stream has no sizes) or
 * a negative errno; after the last one, their sum has been checked
 * against the trace's size. */
long snap_stream_sizes(struct snap_stream *ss, uint64_t *out, size_t max,
		       char *err, size_t errlen);

void snap_stream_close(struct snap_stream *ss);

/*
 * The whole snapshot into private memory: snap_stream_open, then every
 * trace, frame and size into arrays (indexes frame_first/block_first as
 * sent), at most max_size bytes (0 = no cap: else -EFBIG).
 */
int snap_load(struct snap *s, const struct seg_client *c, uint32_t seq,
	      uint64_t max_size, char *err, size_t errlen);

/* The same from snapshot bytes already in memory (tests, fuzzing): fed
 * through a pipe-like descriptor to the same parser.  buf stays the
 * caller's. */
int snap_parse(struct snap *s, const void *buf, size_t size,
	       char *err, size_t errlen);

void snap_free(struct snap *s);

/* Module path of modules[i] (validated, NUL-terminated). */
static inline const char *
snap_module_path(const struct snap *s, uint64_t i)
{
	return s->strings + s->modules[i].path_off;
}

#endif /* HAWK_IPC_SEG_READ_H */
