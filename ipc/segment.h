/* SPDX-License-Identifier: MIT */
/*
 * segment.h - the layout of a hawk segment and of a snapshot stream: the only
 * contract between a traced process (tracer/, through the writer
 * seg_write.h) and a reader (fcgi/, hawk ps, through seg_read.h).  How the
 * processes and files fit together: README.md, "How it fits together".
 *
 * Files, in the segment directory (HAWK_DIR, default /dev/shm/hawk):
 * "<pid>.seg", one per target process, a fixed 4096-byte header (identity,
 * status, one command block); "<pid>.snap.<seq>", one per snapshot being
 * served: a Unix stream socket the target's agent listens on, with the
 * segment's mode, from the moment it answers the snapshot command until
 * the client that asked for it has connected and proved it is that
 * client (SNAPSHOT STREAM below), at most SNAP_ACCEPT_MS: the agent then
 * removes the name and writes the snapshot into the connection.  No
 * snapshot is ever stored in the directory.
 *
 * Names.  In a directory others may write in (the default is 01777), any
 * user can create any name first, so no name a target needs may be
 * predictable by others:
 *  - "<pid>.seg" is the usual name.  If a file of another uid holds it (a
 *    squatter's, or a dead process's of another user), the target
 *    publishes "<pid>.<tag>.seg" instead, tag = 8 random lowercase hex
 *    digits; a reader looking for pid P tries "<P>.seg" and, if that is
 *    missing, invalid or dead, every "<P>.<tag>.seg" (seg_client_open).
 *  - a segment is built as ".<pid>.seg.<tag>.tmp" (random tag, O_EXCL)
 *    and renamed into place once complete and locked;
 *  - snapshot seq numbers are random (never 0), the socket bound only
 *    where no name exists (another seq tried while the name exists); the
 *    reader learns the seq from snap_seq, so it never guesses a name,
 *    and checks the peer of its connection (SO_PEERCRED: the target's
 *    pid and uid).
 * Readers must still check that a file belongs to the process it names
 * (owner = the process's effective uid, pid and start time): names are
 * claims, not proofs.  The target refuses a directory owned by neither
 * its effective uid nor root, or writable by all without the sticky bit
 * (in such a directory its files could be replaced under it).
 *
 * Files are owned by the process's filesystem uid (its effective uid)
 * at the time the segment was created; a process that changes its
 * credentials makes a new segment (tracer/creds.c).
 *
 * Dead files.  Each new segment's creation and each normal exit removes
 * up to SEG_CLEAN_UNLINK dead files (seg_write.h), of any user it may:
 * segments nobody holds the alive lock of, and snapshots and temporary
 * files of pids that no longer exist.  `hawk ps --clean` does the same
 * for every dead segment without a bound.
 *
 * The target never loads or stores through its mapping of the segment
 * (see seg_write.c): a truncation by someone allowed to write the file
 * cannot kill it.  The file is preallocated: no SIGBUS for a reader on a
 * full file system either.
 *
 * Invariants
 *  - Position-independent: offsets and indexes, never pointers.  All
 *    integers are native-endian (a segment never leaves its machine).
 *  - Every field a reader takes from a file or stream is untrusted: the
 *    reader (seg_read.c for segments, snap_stream.c for snapshots) checks
 *    every offset, length and count before use.  It is the only parser.
 *  - Words used as futexes are 32-bit and 4-byte aligned.
 *  - The layout is versioned by SEG_VERSION / SNAP_VERSION; a change to any
 *    structure below bumps the version.  Readers reject other versions.
 *
 * Liveness: the target holds an open-file-description read lock
 * (F_OFD_SETLK) on byte SEG_LOCK_ALIVE of its segment for as long as it
 * runs; the descriptor is close-on-exec, so the lock disappears on exit,
 * crash or exec.  A reader decides "alive" when that lock is held and
 * /proc/<pid>/stat still shows the recorded start time (pid reuse).
 *
 * Commands: a client serialises with other clients by an OFD write lock on
 * byte SEG_LOCK_CMD (taken with a timeout), then runs the command protocol
 * described at struct seg_header's command block.
 */
#ifndef HAWK_IPC_SEGMENT_H
#define HAWK_IPC_SEGMENT_H

#include <stdint.h>

#define SEG_MAGIC        UINT64_C(0x31474553484b5748) /* "HWKHSEG1" */
#define SEG_VERSION      2u
#define SEG_HEADER_SIZE  4096u
#define SEG_NAME_MAX     64u        /* name bytes including the NUL */
#define SEG_ALLOC_PATH_MAX 256u     /* alloc_path bytes including the NUL */
#define SEG_SUFFIX       ".seg"     /* "<pid>.seg" */
#define SNAP_INFIX       ".snap."   /* "<pid>.snap.<seq>" */
#define SEG_DIR_DEFAULT  "/dev/shm/hawk"

/* byte offsets used as OFD lock ranges (1 byte each) */
#define SEG_LOCK_ALIVE   0
#define SEG_LOCK_CMD     1

/* frames: 1 .. SEG_FRAMES_MAX (tracemalloc allows 65535; we need a bound
 * that keeps a traceback's capture buffer on the stack) */
#define SEG_FRAMES_MAX   512u
#define SEG_FRAMES_DEFAULT 30u

enum seg_cmd_op {
	CMD_NONE = 0,
	CMD_START = 1,     /* cmd_frames, cmd_flags (CMD_FLAG_GC) */
	CMD_STOP = 2,      /* forget every trace */
	CMD_SNAPSHOT = 3,  /* serve a snapshot on "<pid>.snap.<snap_seq>"
			      (SNAPSHOT STREAM below); cmd_flags: the view
			      (enum snap_view), CMD_FLAG_SNAP_*; cmd_token */
	CMD_STATUS = 4,    /* refresh the status fields, nothing else */
};

enum seg_cmd_state {
	CMD_IDLE = 0,      /* no command in flight */
	CMD_POSTED = 1,    /* client filled the block; agent may take it */
	CMD_TAKEN = 2,     /* agent is executing it; client must wait */
	CMD_DONE = 3,      /* cmd_result (and snap_seq) are valid */
};

#define CMD_FLAG_GC 1u     /* CMD_START: run gc hooks + malloc_trim first */
/* CMD_SNAPSHOT: run the gc hooks + malloc_trim first (Go's ?gc=1); a high
 * bit, so that the low bits of a snapshot's flags stay free for what the
 * snapshot holds */
#define CMD_FLAG_SNAP_GC (1u << 16)
/* CMD_SNAPSHOT: the stream carries every live block's size (a tracemalloc
 * pickle needs them; every other output takes a trace's totals): the
 * header has SNAP_F_SIZES and each trace record its sizes */
#define CMD_FLAG_SNAP_SIZES (1u << 17)

/* cmd_result values (negative errno) with their protocol meaning */
/*   0          done                                                     */
/*  -EALREADY   start: tracing is already on ("already started")         */
/*  -ENOTCONN   stop/snapshot: tracing is off ("not started")            */
/*  -EINVAL     bad op or frames out of range                            */
/*  -ENOMEM, -ENOSPC, -EIO ...  the target could not do it              */

/* seg_header.flags */
#define SEG_F_TRACER_ERROR 1u   /* tracing was stopped by an internal error;
				   last_error holds the errno */
#define SEG_F_LEASE_EXPIRED 2u  /* tracing was stopped by the agent because
				   its lease (cmd_lease_ns) ran out */

struct seg_header {
	/* identity: written once before `ready` is set, then constant */
	uint64_t magic;            /* SEG_MAGIC */
	uint32_t version;          /* SEG_VERSION */
	uint32_t header_size;      /* SEG_HEADER_SIZE */
	uint32_t ready;            /* 0 while initialising, 1 when valid
				      (store-release by the target) */
	int32_t  pid;
	uint64_t start_time;       /* /proc/<pid>/stat field 22 (clock ticks
				      since boot): pid + start time name a
				      process uniquely */
	char     name[SEG_NAME_MAX]; /* HAWK_NAME or program name, NUL-ended */
	uint32_t max_frames;       /* largest `frames` this tracer accepts */
	uint32_t flags;            /* SEG_F_* */

	/* status: written by the target, read by anyone (relaxed) */
	uint32_t tracing;          /* 1 while tracing: the hot path's switch */
	uint32_t frames;           /* traceback limit while tracing */
	uint64_t traced_current;   /* bytes of live traced blocks */
	uint64_t traced_peak;      /* peak of traced_current since start */
	uint64_t tracer_memory;    /* bytes the tracer itself holds (mmap) */
	uint64_t dropped;          /* allocations not recorded since start */
	uint64_t heartbeat_ns;     /* CLOCK_MONOTONIC of the agent's last
				      wake-up (at least once a second) */
	int32_t  last_error;       /* errno that stopped tracing, or 0 */
	uint32_t reserved0;

	/*
	 * Command block.  Protocol (client side, holding the SEG_LOCK_CMD
	 * write lock):
	 *   1. if cmd_state is POSTED (a dead client's), CAS it to IDLE; if
	 *      TAKEN, wait for DONE; if DONE, store IDLE.
	 *   2. write cmd_op, cmd_frames, cmd_flags; store-release cmd_state =
	 *      POSTED; futex-wake cmd_state (shared futex).
	 *   3. futex-wait on cmd_state until DONE or the client's timeout.
	 *      On timeout CAS POSTED->IDLE: success means the command was
	 *      withdrawn and nothing changed; failure means the agent took it.
	 *   4. on DONE read cmd_result (and snap_seq), store cmd_state = IDLE.
	 * Agent side: futex-wait on cmd_state (timeout <= 1 s, to refresh the
	 * status and heartbeat), take POSTED->TAKEN, execute, write cmd_result
	 * and snap_seq, store-release DONE, futex-wake.  The agent works
	 * through system calls only (seg_write.c), so its take is an atomic
	 * XOR 3 by FUTEX_WAKE_OP rather than a CAS: POSTED^3 = TAKEN; if the
	 * client withdrew it first, IDLE^3 = DONE with cmd_result -ECANCELED
	 * and snap_seq 0 (written while POSTED), which step 1 of the next
	 * client clears like any uncollected result.
	 */
	uint32_t cmd_state;        /* enum seg_cmd_state, futex word */
	uint32_t cmd_op;           /* enum seg_cmd_op */
	uint32_t cmd_frames;       /* CMD_START: traceback limit */
	uint32_t cmd_flags;        /* CMD_FLAG_* */
	int32_t  cmd_result;       /* 0 or -errno, valid in DONE */
	uint32_t snap_seq;         /* CMD_SNAPSHOT: socket "<pid>.snap.<seq>" */
	uint32_t cmd_count;        /* commands executed (diagnostics) */
	uint32_t reserved1;

	/*
	 * What the traced heap can explain (status, written by the target;
	 * zero from a tracer that predates them).  alloc_mode and alloc_path
	 * are constant once `ready` is set; the memory figures are
	 * refreshed with the other status fields (/proc/self/statm).
	 */
	uint32_t alloc_mode;       /* SEG_ALLOC_*: where malloc goes */
	uint32_t reserved2;
	uint64_t rss_bytes;        /* resident set size */
	uint64_t anon_bytes;       /* resident, not file-backed nor shared */
	char     alloc_path[SEG_ALLOC_PATH_MAX]; /* the allocator's module
				      when not glibc's, NUL-ended */

	/* Appended fields: 0 in the zeroed page means "absent", so a reader
	 * or writer that does not know them is unaffected. */
	uint64_t cmd_lease_ns;     /* CMD_START: a lease, the CLOCK_MONOTONIC
				      time by which the client will have
				      stopped tracing (a fixed-duration
				      profile); past it plus SEG_LEASE_GRACE_NS
				      the agent stops tracing by itself.
				      0: no lease */
	uint64_t lease_ns;         /* status: the lease of the current
				      tracing session, 0 = none */
	/* sampling (version 2) */
	uint64_t cmd_sampling;     /* CMD_START: mean bytes between samples
				      (Poisson, per byte), 0 = exact */
	uint64_t sampling;         /* status: the rate of the current
				      session (0 = exact, or not tracing) */
	/* snapshot stream (version 2 segments; snapshot version 3) */
	uint64_t cmd_token;        /* CMD_SNAPSHOT: a random number the client
				      sends first on its connection to the
				      snapshot's socket (SNAPSHOT STREAM) */
};

/* seg_header.alloc_mode */
enum seg_alloc_mode {
	SEG_ALLOC_GLIBC = 0,       /* glibc's malloc, traced */
	SEG_ALLOC_FOREIGN = 1,     /* the program's own allocator (a
				      library after libhawk: jemalloc...),
				      traced through its functions */
	SEG_ALLOC_BYPASSED = 2,    /* malloc is defined before libhawk (in
				      the executable): nothing is traced */
};

#define SEG_LEASE_GRACE_NS UINT64_C(5000000000) /* 5 s */

/*
 * SNAPSHOT STREAM (version 3).  On CMD_SNAPSHOT the agent binds and
 * listens on the Unix stream socket "<pid>.snap.<seq>" in the segment
 * directory (mode and group those of the segment), then answers DONE
 * with snap_seq = seq.  The client connects (within SNAP_ACCEPT_MS) and
 * sends the 8 bytes of the cmd_token it posted with the command; the
 * agent closes a connection that does not send them within
 * SNAP_TOKEN_MS and keeps accepting until SNAP_ACCEPT_MS.  Once it has
 * the right client (or at that deadline) it unlinks the name and writes
 * the snapshot, front to back, into the connection; a client that reads
 * nothing for SNAP_STALL_MS, or closes, ends the snapshot (the agent
 * frees what it used at once).  The agent never holds a table lock while
 * it writes.  The client checks the socket's peer (SO_PEERCRED: the
 * target's pid and effective uid) and reads:
 *
 *   struct snap_header        what is known up front (n_* totals 0)
 *   struct snap_module        [n_modules]
 *   char strings              [strings_size], then NULs to a multiple of 8
 *   per distinct traceback, in no particular order, one record (with
 *   SNAP_F_SIZES possibly several consecutive, see below):
 *     struct snap_trace       tag SNAP_TAG_TRACE, its figures
 *     uint64_t frames         [nframes]
 *     uint64_t sizes          [count], only with SNAP_F_SIZES
 *   struct snap_trailer       tag SNAP_TAG_END, the totals
 *
 * then the agent closes the connection.  The reader knows the totals
 * only at the trailer, and checks them against what it read.  Integers
 * are native-endian (the stream never leaves its machine).
 *
 * Traces are the live tracebacks.  A trace's frames are raw
 * return addresses, most recent call first (frame 0 is the return
 * address into the function that called malloc/new); total_nframe is the
 * depth before truncation to the traceback limit, as in tracemalloc.
 * With SNAP_F_SIZES the sizes are one entry per live block, its exact
 * requested size (a tracemalloc pickle has one trace per block), and
 * size is their sum.  The target sends at most 2^20 sizes at a time
 * (tracer/snapshot.c), so a traceback with more live blocks is carried by
 * several consecutive records with the same frames, each with the count
 * and size of the sizes it carries: a reader adds them up (a pickle's
 * traces are per block anyway).  Without SNAP_F_SIZES each traceback has
 * exactly one record.  frame_first and block_first are the frames and
 * sizes of the traces before this one (a check for the reader; an
 * in-memory reader uses them as indexes).
 */
#define SNAP_MAGIC   UINT64_C(0x33504e53484b5748) /* "HWKHSNP3" */
#define SNAP_VERSION 3u
#define SNAP_TAG_TRACE UINT64_C(0x33435254484b5748) /* "HWKHTRC3" */
#define SNAP_TAG_END   UINT64_C(0x33444e45484b5748) /* "HWKHEND3" */
#define SNAP_F_SIZES 1u            /* snap_header.flags */

#define SNAP_ACCEPT_MS 10000u      /* the client must connect by then */
#define SNAP_TOKEN_MS  1000u       /* ... and send its token within this */
#define SNAP_STALL_MS  10000u      /* a client reading nothing this long
				      is given up */

/*
 * What a snapshot holds (CMD_SNAPSHOT's cmd_flags, snap_header.view):
 *  LIVE       the live traced blocks (tracemalloc's snapshot);
 *  ALLOCATED  per traceback, every block allocated since start, freed or
 *             not: a trace's count/size are the totals and there are no
 *             per-block sizes (no SNAP_F_SIZES, block_first = 0);
 *  PEAK       the live traced blocks at the last kept peak of traced
 *             memory (sampled mode only: an exact target answers
 *             -EOPNOTSUPP).
 * In sampled mode (sampling_bytes > 0) count, size and sizes are the
 * sampled blocks'; est_count/est_size of each trace, traced_current and
 * traced_peak are the unbiased estimates (snap_estimate in seg.h).  In
 * exact mode est_count = count and est_size = size.
 */
enum snap_view {
	SNAP_VIEW_LIVE = 0,
	SNAP_VIEW_ALLOCATED = 1,
	SNAP_VIEW_PEAK = 2,
};
#define SNAP_VIEW_MAX 2u
/* largest sampling rate (mean bytes between samples): 1 GiB */
#define SNAP_SAMPLING_MAX (UINT64_C(1) << 30)

/*
 * The stream's header.  The fields marked "trailer" are 0 in the stream
 * (the writer does not know them yet; a reader rejects anything else):
 * a reader fills them from the trailer once it has read it, so that its
 * users find every figure of the snapshot in one structure.
 */
struct snap_header {
	uint64_t magic;            /* SNAP_MAGIC */
	uint32_t version;          /* SNAP_VERSION */
	uint32_t header_size;      /* sizeof(struct snap_header) */
	uint64_t file_size;        /* trailer: bytes of the whole stream */
	int32_t  pid;
	uint32_t frames;           /* traceback limit */
	uint64_t start_time;       /* as in the segment */
	char     name[SEG_NAME_MAX];
	uint64_t time_ns;          /* CLOCK_REALTIME when taken */
	uint64_t traced_current;   /* trailer: = sum of est_size (live and
				      peak views) */
	uint64_t traced_peak;      /* trailer */
	uint64_t tracer_memory;
	uint64_t dropped_allocs;   /* allocations not traced since start */
	uint64_t dropped_traces;   /* trailer: tracebacks left out */
	uint64_t dropped_blocks;   /* trailer: blocks left out */
	uint64_t n_modules;        /* struct snap_module[] after the header */
	uint64_t strings_size;     /* NUL-terminated paths after them */
	uint64_t n_traces;         /* trailer */
	uint64_t n_frames;         /* trailer */
	uint64_t n_sizes;          /* trailer */
	uint64_t sampling_bytes;   /* mean bytes between samples, 0 = exact */
	uint32_t view;             /* enum snap_view */
	uint32_t flags;            /* SNAP_F_* */
	uint64_t alloc_count;      /* trailer: blocks allocated since start
				      (estimated when sampled), all
				      tracebacks (allocated view, else 0) */
	uint64_t alloc_bytes;      /* trailer: their bytes */
	uint64_t peak_time_ns;     /* PEAK: CLOCK_REALTIME when the kept
				      copy was taken, else 0 */
};

/* The stream's end: what the header could not say. */
struct snap_trailer {
	uint64_t tag;              /* SNAP_TAG_END */
	uint64_t n_traces;         /* trace records sent */
	uint64_t n_frames;         /* their frames */
	uint64_t n_sizes;          /* their sizes (0 without SNAP_F_SIZES) */
	uint64_t traced_current;
	uint64_t traced_peak;      /* >= traced_current */
	uint64_t dropped_traces;
	uint64_t dropped_blocks;
	uint64_t alloc_count, alloc_bytes; /* as in the header */
	uint64_t bytes;            /* of the stream, this trailer included */
	uint64_t magic;            /* SNAP_MAGIC again */
};

#define SNAP_BUILD_ID_MAX 32u

/* A loaded object: the main program, a shared library or the vdso. */
struct snap_module {
	uint64_t lo, hi;           /* [lo, hi): runtime range of its PT_LOADs */
	uint64_t bias;             /* load bias (dlpi_addr): runtime address
				      minus ELF virtual address */
	uint32_t path_off;         /* into strings; absolute path as the
				      target saw it ("" if none) */
	uint32_t path_len;         /* excluding the NUL */
	uint32_t build_id_len;     /* 0 when the object has none */
	uint32_t reserved;
	uint8_t  build_id[SNAP_BUILD_ID_MAX];
};

struct snap_trace {
	uint64_t tag;              /* SNAP_TAG_TRACE */
	uint64_t size;             /* live bytes of this traceback */
	uint64_t count;            /* live blocks */
	uint64_t block_first;      /* sizes of the traces before it */
	uint64_t frame_first;      /* frames of the traces before it */
	uint32_t nframes;          /* 1 .. frames */
	uint32_t total_nframe;     /* depth before truncation */
	/* estimates (= count/size when exact) */
	uint64_t est_count;
	uint64_t est_size;
};

#endif /* HAWK_IPC_SEGMENT_H */
