/* SPDX-License-Identifier: MIT */
/*
 * fork.h - the pthread_atfork handlers (fork.c): prepare takes every lock
 * of the tracer in the order guard.h declares, the child re-initialises
 * them and starts its own segment and agent.
 */
#ifndef HAWK_TRACER_FORK_H
#define HAWK_TRACER_FORK_H

/* Install the handlers (boot.c, once).  Returns 0 or -errno. */
int fork_init(void);

#endif /* HAWK_TRACER_FORK_H */
