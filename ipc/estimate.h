/* SPDX-License-Identifier: MIT */
/*
 * estimate.h - the sampling estimator and the rate parser (estimate.c),
 * shared by the tracer (which writes the estimates) and the readers
 * (responder, hawk, tests).  Compiled into both ipc libraries.
 *
 * Byte-based Poisson sampling with mean R bytes: a block of s < R bytes
 * is sampled with probability p(s) = 1 - exp(-s/R) (each byte starts a
 * sample with probability 1/R, memorylessly); a block of s >= R bytes is
 * always sampled (p = 1) and does not consume the countdown.  Each sampled
 * block of size s stands for 1/p(s) blocks of s bytes (Horvitz-Thompson:
 * unbiased whatever the sizes; the same weight as pprof's heap profiles
 * for s < R).  The variance of a site's count estimate is n (1 - p) / p
 * for n blocks of one size.
 */
#ifndef HAWK_IPC_ESTIMATE_H
#define HAWK_IPC_ESTIMATE_H

#include <stdint.h>

/* 1/p(s) for rate R > 0 (1 for s >= R; a 0-byte block is never sampled:
 * 1).  This function can't fail. */
double snap_weight(uint64_t s, uint64_t rate);

/* Parse a sampling rate: decimal digits with an optional k/K (KiB), m/M
 * (MiB) or g/G (GiB) suffix, 0 (exact) .. SNAP_SAMPLING_MAX (1G).  Returns 0, -EINVAL
 * (not that form) or -ERANGE. */
int snap_parse_sampling(const char *s, uint64_t *out);

/* Fixed-point unit of the tracer's accumulated weights (1 block). */
#define SNAP_WEIGHT_ONE 65536u

#endif /* HAWK_IPC_ESTIMATE_H */
