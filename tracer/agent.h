/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the command thread and the process's segment (agent.c).
 * Above control (control.h), which it drives under core_ctl_lock.
 */
#ifndef HAWK_TRACER_AGENT_H
#define HAWK_TRACER_AGENT_H

#include "seg_write.h"

/* The segment of this process (valid when agent_seg.h != NULL). */
extern struct seg_writer agent_seg;

/*
 * Create this process's segment from the options read at init and start
 * the agent thread (all signals blocked).  Returns 0 or -errno; on error
 * the process simply has no segment (and a message went to stderr).
 */
int agent_start(void);

/* Stop the agent thread (waits at most ~2 s) and remove the segment. */
void agent_shutdown(void);

/* fork child: forget the parent's segment and thread, start our own. */
void agent_after_fork_child(void);

/* Publish the status fields of the segment now. */
void agent_publish_status(void);

/* The segment's options (agent.c), set once by boot.c from the
 * environment before agent_start. */
extern char agent_dir[4096];
extern char agent_name[SEG_NAME_MAX];
extern mode_t agent_mode;
extern gid_t agent_gid;

/* One line on stderr, "hawk: ..." - no stdio, no allocation. */
void agent_msg(const char *a, const char *b, const char *c);
void agent_msg2(const char *a, const char *b, const char *c, const char *d);

#endif /* HAWK_TRACER_AGENT_H */
