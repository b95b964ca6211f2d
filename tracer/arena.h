/* SPDX-License-Identifier: MIT */
/*
 * arena.h - mmap-backed memory for the tracer's tables, with accounting.
 * Never calls malloc.  arena_bytes() is what the tracer reports as its own
 * memory (tracemalloc.get_tracemalloc_memory's counterpart).
 */
#ifndef HAWK_TRACER_ARENA_H
#define HAWK_TRACER_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Zeroed, page-rounded mapping of at least `size` bytes, or NULL. */
void *arena_map(size_t size);
/* Release a mapping obtained from arena_map with the same size. */
void arena_unmap(void *p, size_t size);
/* Bytes currently mapped through this file (page-rounded). */
uint64_t arena_bytes(void);
/* Page-rounded size that arena_map(size) will charge. */
size_t arena_round(size_t size);

#endif /* HAWK_TRACER_ARENA_H */
