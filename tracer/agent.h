/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the command thread and the process's segment (agent.c).
 * Above control (control.h), which it drives under control_lock.
 */
#ifndef HAWK_TRACER_AGENT_H
#define HAWK_TRACER_AGENT_H

#include "seg_write.h"

/* The segment of this process (valid when agent_seg.h != NULL; pid is
 * that of the last creation attempt, successful or not). */
extern struct seg_writer agent_seg;
/* agent_start was called: the tracer is initialised (boot.c). */
extern int agent_tried;

/*
 * Create this process's segment from the options read at init and start
 * the agent thread (all signals blocked), both under the calling thread's
 * current credentials.  Returns 0 or -errno; on error the process has no
 * segment, tracing is stopped (nobody could see or stop it) and one
 * message naming the directory and the uid went to stderr (once per
 * process tree: fork children of a process that said it stay quiet).
 */
int agent_start(void);

/* Stop the agent thread (waits at most ~2 s) and remove the segment. */
void agent_shutdown(void);

/*
 * Stop the agent thread (waiting for its command to finish), remove the
 * segment and any uncollected snapshot, keep the tables: the process is
 * about to change its credentials (creds.c) and agent_start will make a
 * new segment under the new ones.  No-op when there is no segment.
 */
void agent_retire(void);

/*
 * The process leaves without running destructors (_exit, _Exit): unlink
 * the segment and an uncollected snapshot, touch nothing else (other
 * threads, the agent included, run until the kernel ends them).  Nothing
 * in a vfork child (whose pid is not the segment's).
 */
void agent_exit_now(void);

/* fork child: forget the parent's segment and thread, start our own. */
void agent_after_fork_child(void);

/* Publish the status fields of the segment now. */
void agent_publish_status(void);

/* The segment's options (agent.c), set once by boot.c from the
 * environment before agent_start. */
extern char agent_dir[4096];
extern char agent_name[SEG_NAME_MAX];
/* where malloc goes (SEG_ALLOC_*) and the allocator's module, published
 * in the status (boot.c, from interpose_bind) */
extern uint32_t agent_alloc_mode;
extern char agent_alloc_path[SEG_ALLOC_PATH_MAX];
extern mode_t agent_mode;
extern gid_t agent_gid;

/*
 * creds.c, for the agent's tick: 1 when the process's credentials (those
 * /proc/self/status shows: the main thread's) differ from the agent
 * thread's own - a change made by a raw system call, which glibc did not
 * apply to the other threads; creds_check_apply then gives the agent
 * thread the same uids, gids and groups (raw calls, this thread only),
 * so that the next segment is created as the process is now.
 */
int creds_check_prepare(void);
/* creds.c: resolve the real set*id functions (at load: a lazy dlsym could
 * wait for the loader's lock in a vfork child). */
void creds_init(void);
void creds_check_apply(void);

/* Append s to buf[cap] at *len, NUL-terminated, truncating. */
void agent_cat(char *buf, size_t cap, size_t *len, const char *s);

/* One line on stderr, "hawk: ..." - no stdio, no allocation. */
void agent_msg(const char *a, const char *b, const char *c);
void agent_msg2(const char *a, const char *b, const char *c, const char *d);

#endif /* HAWK_TRACER_AGENT_H */
