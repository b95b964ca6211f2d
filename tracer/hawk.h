/* SPDX-License-Identifier: MIT */
/*
 * hawk.h - the public API of libhawk, for programs that link -lhawk (the
 * same library also works unmodified through LD_PRELOAD).  See libhawk(3).
 *
 * Every function returns 0 on success and -1 with errno set on failure,
 * unless stated otherwise.  All are thread-safe.
 */
#ifndef HAWK_H
#define HAWK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Start tracing: from now on every allocation is recorded with up to
 * `frames` return addresses (1 .. 512; tracemalloc's default is 30).
 * Errors: EALREADY (already tracing), EINVAL (frames out of range).
 */
int hawk_start(int frames);

/*
 * Start sampled tracing: an allocation is recorded when a per-thread
 * countdown of bytes, drawn from an exponential distribution of mean
 * `sampling_bytes`, runs out (a block of at least sampling_bytes bytes
 * always); every figure is then an unbiased estimate (libhawk(3)).
 * sampling_bytes 0 is exact tracing, as hawk_start.  HAWK_SAMPLE_SEED in
 * the environment fixes the random sequence.  Errors: EALREADY, EINVAL
 * (frames out of range, sampling_bytes above 1 GiB).
 */
int hawk_start_sampled(int frames, size_t sampling_bytes);

/* The mean bytes between samples while tracing sampled; 0 while tracing
 * exactly or not tracing.  Cannot fail. */
size_t hawk_sampling(void);

/* Stop tracing and forget every trace.  Errors: ENOTCONN (not tracing). */
int hawk_stop(void);

/* 1 while tracing, else 0.  Cannot fail. */
int hawk_is_tracing(void);

/*
 * Current and peak size of the traced blocks, in bytes (either pointer
 * may be NULL); estimates when sampled.  Both are 0 when not tracing.
 * Cannot fail.
 */
int hawk_traced_memory(size_t *current, size_t *peak);

/* Bytes of memory the tracer itself uses (its tables).  Cannot fail. */
size_t hawk_tracer_memory(void);

/*
 * Register a collection hook: a start with gc=true (hawk_start does not;
 * the `start/` command's gc option does), and a snapshot asked with gc=1
 * (/debug/pprof/heap?gc=1), call every hook, in the order registered, then
 * return free heap to the system with malloc_trim(0).  During a snapshot
 * what a hook frees is recorded.
 * Hooks run in the tracer's agent thread, with every signal blocked and
 * allocations untraced.  At most 16 hooks.  Errors: EINVAL (fn NULL),
 * ENOSPC (too many hooks).
 */
int hawk_gc_hook_add(void (*fn)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* HAWK_H */
