/* SPDX-License-Identifier: MIT */
/*
 * tbtrie.h - the traceback statistics of snapshots with a million distinct
 * tracebacks, in bounded memory: tracebacks interned as a trie of frame
 * ids (outermost frame first, since tracebacks share their outer frames),
 * one small entry per (traceback, target, generation), and only the
 * statistics the response shows turned into a trace set.
 *
 * Memory per distinct traceback: its new trie nodes for its outer frames
 * (8 bytes each plus index slots of 4 bytes, at most 4/5 full) and a
 * 20-byte entry that holds its most recent frame; nothing per frame of
 * it.  st_set would hold 4 bytes per frame plus a 56-byte
 * trace, and its grouping 48 bytes more per statistic.
 */
#ifndef HAWK_FCGI_TBTRIE_H
#define HAWK_FCGI_TBTRIE_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct tbtrie_node {
	uint32_t parent;           /* 0 = the root (node 0, no frame) */
	uint32_t frame;            /* frame id in the set */
};

struct tbtrie_range {          /* entries [first, first + n) */
	size_t first, n;
	uint32_t target;
	uint32_t gen;
};

struct tbtrie {
	struct tbtrie_node *nodes; /* nodes[0] is the root */
	size_t n_nodes, cap_nodes;
	uint32_t *index;           /* open addressing over (parent, frame):
				      node id, 0 = empty */
	size_t index_size;
	/* entries, one per traceback added (in parallel arrays): the
	 * traceback is (the node of its outer frames, its most recent frame),
	 * so that its last frame takes no node */
	uint32_t *parent;          /* 0: a traceback of one frame */
	uint32_t *leaf;            /* frame id of the most recent frame */
	uint64_t *size;
	uint32_t *count;           /* blocks, while every count fits */
	uint64_t *count64;         /* else all counts here (count unused) */
	size_t n_ent, cap_parent, cap_leaf, cap_size, cap_count, cap_count64;
	struct tbtrie_range *ranges;  /* which target and generation */
	size_t n_ranges, cap_ranges;
	uint32_t max_depth;        /* frames of the longest traceback */
};

void tbtrie_init(struct tbtrie *t);
void tbtrie_free(struct tbtrie *t);

/* Add the traceback ids[0..n) (frame ids of `set`, most recent first,
 * n >= 1) of target index `target` with its figures.  Returns 0, -EINVAL
 * (n == 0, or after tbtrie_select) or -ENOMEM. */
int tbtrie_add(struct tbtrie *t, uint32_t target, enum st_gen gen,
	       const uint32_t *ids, uint32_t n, uint64_t size,
	       uint64_t count);

/* Forget the entries of target index `target` (a target whose snapshot
 * failed half-way).  Can't fail. */
void tbtrie_drop(struct tbtrie *t, uint32_t target);

/*
 * Group the entries by traceback as st_group(ST_TRACEBACK, diff, f) would,
 * pick the first `count` statistics of its order (0 = every one) and add
 * their traces - one per (traceback, target, generation), with the
 * frames - to `set`, which must hold no other trace: st_group over it
 * then gives exactly those statistics, in the same order.  Frees the
 * trie's index first (no tbtrie_add after this).  Returns 0 or -ENOMEM.
 */
int tbtrie_select(struct tbtrie *t, struct st_set *set, int diff,
		  const struct st_filter *f, size_t count);

#endif /* HAWK_FCGI_TBTRIE_H */
