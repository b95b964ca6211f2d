/* SPDX-License-Identifier: MIT */
/*
 * arena.c - mmap-backed memory for all of the tracer's tables.
 *
 * - every byte the tracer keeps comes from here, never from the hooks it
 *   installs (so recording cannot recurse into recording);
 * - the total mapped is kept in one relaxed counter: it changes only when a
 *   table is created, grows or is dropped, never per allocation.
 */
#include "config.h"

#include "arena.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic uint64_t mapped;

size_t
arena_round(size_t size)
{
	return (size + 4095) & ~(size_t)4095;
}

void *
arena_map(size_t size)
{
	void *p;

	size = arena_round(size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	atomic_fetch_add_explicit(&mapped, size, memory_order_relaxed);
	return p;
}

void
arena_unmap(void *p, size_t size)
{
	if (!p)
		return;
	size = arena_round(size);
	munmap(p, size);
	atomic_fetch_sub_explicit(&mapped, size, memory_order_relaxed);
}

uint64_t
arena_bytes(void)
{
	return atomic_load_explicit(&mapped, memory_order_relaxed);
}
