/* SPDX-License-Identifier: MIT */
/*
 * caches.h - the sizes of the tracer's caches.  Each thread that records
 * an allocation maps a traceback cache (core.c) and a frame-rule cache
 * (fastunw.c) and keeps them until it exits; the process maps one shared
 * frame-rule cache at its first traced allocation and keeps it.  They are
 * what a stop does not return of the tracer's memory, and the tests
 * assert that figure with these numbers.  Plain decimal, checked against
 * the layouts where they are used.
 */
#ifndef HAWK_TRACER_CACHES_H
#define HAWK_TRACER_CACHES_H

#define CORE_TCACHE_BYTES 32768u   /* 512 sets x 2 ways x 32 bytes */
#define FU_CACHE_BYTES    32768u   /* 1024 sets x 2 ways x 16 bytes */
#define FU_SHARED_BYTES   524288u  /* 16384 rules x 32 bytes */

#endif /* HAWK_TRACER_CACHES_H */
