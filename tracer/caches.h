/* SPDX-License-Identifier: MIT */
/*
 * caches.h - the sizes of the tracer's per-thread caches.  Each thread
 * that records an allocation maps one of each (core.c's traceback cache,
 * fastunw.c's frame-rule cache) and keeps them until it exits, so they
 * are what a stop cannot return of the tracer's memory; the tests assert
 * that figure with these numbers.  Plain decimal, checked against the
 * layouts where they are used.
 */
#ifndef HAWK_TRACER_CACHES_H
#define HAWK_TRACER_CACHES_H

#define CORE_TCACHE_BYTES 4096u    /* 128 sets x 2 ways x 16 bytes */
#define FU_CACHE_BYTES    32768u   /* 2048 rules x 16 bytes */

#endif /* HAWK_TRACER_CACHES_H */
