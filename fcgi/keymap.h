/* SPDX-License-Identifier: MIT */
/*
 * keymap.h - a small open-addressing map from a pair of 64-bit keys to a
 * 64-bit value, for the formatters' per-frame lookups (millions per
 * profile: a location per return address, a flame-graph node per
 * (parent, function)), where a byte-wise hash table costs more than the
 * rest of the work.  Header-only; linear probing, grows at half load.
 */
#ifndef HAWK_FCGI_KEYMAP_H
#define HAWK_FCGI_KEYMAP_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct keymap_slot {
	uint64_t k1, k2, val;
	uint64_t used;
};

struct keymap {
	struct keymap_slot *v;
	size_t size, n;            /* size is a power of two (or 0) */
};

static inline size_t
keymap_hash(uint64_t k1, uint64_t k2, size_t mask)
{
	uint64_t h = k1 * UINT64_C(0x9e3779b97f4a7c15) ^
		     (k2 + UINT64_C(0x632be59bd9b4e019)) *
		     UINT64_C(0xbf58476d1ce4e5b9);

	return (size_t)(h ^ (h >> 31)) & mask;
}

/* The value of (k1, k2) in *val: 1 when found, 0 when not. */
static inline int
keymap_get(const struct keymap *m, uint64_t k1, uint64_t k2, uint64_t *val)
{
	size_t i;

	if (!m->size)
		return 0;
	for (i = keymap_hash(k1, k2, m->size - 1); m->v[i].used;
	     i = (i + 1) & (m->size - 1))
		if (m->v[i].k1 == k1 && m->v[i].k2 == k2) {
			*val = m->v[i].val;
			return 1;
		}
	return 0;
}

/* Set (k1, k2) -> val (the key must not be there yet): 0 or -ENOMEM. */
static inline int
keymap_put(struct keymap *m, uint64_t k1, uint64_t k2, uint64_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->size) {
		struct keymap old = *m;
		size_t j;

		m->size = old.size ? old.size * 2 : 1024;
		m->v = calloc(m->size, sizeof(*m->v));
		if (!m->v) {
			*m = old;
			return -ENOMEM;
		}
		m->n = 0;
		for (j = 0; j < old.size; j++)
			if (old.v[j].used)
				keymap_put(m, old.v[j].k1, old.v[j].k2,
					   old.v[j].val);
		free(old.v);
	}
	for (i = keymap_hash(k1, k2, m->size - 1); m->v[i].used;
	     i = (i + 1) & (m->size - 1))
		;
	m->v[i].k1 = k1;
	m->v[i].k2 = k2;
	m->v[i].val = val;
	m->v[i].used = 1;
	m->n++;
	return 0;
}

static inline void
keymap_free(struct keymap *m)
{
	free(m->v);
	m->v = NULL;
	m->size = m->n = 0;
}

#endif /* HAWK_FCGI_KEYMAP_H */
