/* SPDX-License-Identifier: MIT */
/*
 * stats.h - symbolized traces and their statistics, grouped exactly as
 * Python's tracemalloc groups them (Snapshot._group_by, statistics(),
 * compare_to(), Filter), plus the string formats of Statistic and
 * StatisticDiff.
 *
 * A trace set holds the traces of one request: every selected target's
 * snapshot, already symbolized (target.c does that), each trace tagged with
 * its generation (ST_OLD for the first snapshot of a fixed-duration profile,
 * ST_NEW otherwise).  Frames are interned by (file, line): equal frames have
 * equal ids, so a key compares by ids.  Nothing here knows HTTP, FastCGI,
 * segments or the symbolizer.
 */
#ifndef HAWK_FCGI_STATS_H
#define HAWK_FCGI_STATS_H

#include <stddef.h>
#include <stdint.h>

/* An interned frame: tracemalloc's (filename, lineno) plus what hawk adds.
 * function/module/offset/build_id are those of the first frame interned
 * with this (file, line).  A frame without a line has a file of its own
 * per address ("MODULE(SYMBOL+0xOFF)", symbols.h), so (file, 0) keys it as
 * exactly as a line does, here and in tracemalloc.  Strings are not
 * copied: they must outlive the set. */
struct st_frame {
	const char *file;
	uint32_t line;
	uint32_t file_id;          /* interned file string (pickle memo) */
	const char *function;
	const char *module;
	uint64_t offset;           /* return address - load bias, or 0 */
	const char *build_id;      /* module's build-id (hex) or "" */
};

enum st_gen { ST_NEW = 0, ST_OLD = 1 };

/*
 * One distinct traceback of one target (many blocks may share it).
 * size/count are the figures every output reports: for the live and peak
 * views of an exact target the blocks' own; in sampled mode the unbiased
 * estimates (snap_trace.est_size/est_count, segment.h); in the allocated
 * view (set->view) the blocks allocated since start, freed or not (exact,
 * or estimated when sampled).  The raw sampled figures stay in the
 * snapshot (struct snap).
 */
struct st_trace {
	uint64_t size;             /* bytes (see above) */
	uint64_t count;            /* blocks (see above) */
	const uint64_t *sizes;     /* `count` block sizes, or NULL (then the
				      pickle writes `count` traces sharing
				      `size` evenly, at least one) */
	uint64_t ids_off;          /* frame ids at set->ids[ids_off..], */
	uint32_t nframes;          /* most recent first, nframes >= 1 */
	uint32_t total_nframe;
	uint32_t target;           /* index into set->pids */
	uint32_t gen;              /* enum st_gen */
};

struct st_set {
	struct st_frame *frames;
	size_t n_frames, cap_frames;
	uint32_t *frame_hash;      /* open addressing: id + 1, 0 = empty */
	size_t frame_hash_size;
	const char **files;        /* interned file strings */
	size_t n_files, cap_files;
	uint32_t *file_hash;
	size_t file_hash_size;
	struct st_trace *traces;
	size_t n_traces, cap_traces;
	uint32_t *ids;
	size_t n_ids, cap_ids;
	int32_t *pids;             /* targets, in the order added */
	size_t n_pids, cap_pids;
	uint32_t traceback_limit;  /* largest traceback limit of the set */
	uint64_t sampling_bytes;   /* largest sampling rate of the targets,
				      0 = all exact: figures are estimates */
	uint32_t view;             /* enum snap_view of every snapshot */
};

/* "live", "allocated", "peak" for an enum snap_view. */
const char *st_view_name(uint32_t view);

/* Traces a pickle of the set's ST_NEW traces would hold (unfiltered). */
uint64_t st_pickle_traces(const struct st_set *set);
#define ST_PICKLE_TRACES_MAX UINT64_C(50000000)

void st_set_init(struct st_set *set);
void st_set_free(struct st_set *set);
/* Forget every trace (and their frame ids), keep the interned frames and
 * files and the targets: a set reused chunk after chunk. */
void st_set_drop_traces(struct st_set *set);

/* Make room for n_traces more traces with n_ids more frame ids in all
 * (a hint that saves reallocations; 0 or -ENOMEM). */
int st_reserve(struct st_set *set, size_t n_traces, size_t n_ids);

/* Index of target `pid` in set->pids (added when new), or -ENOMEM. */
int st_target(struct st_set *set, int32_t pid);

/* Intern a frame; returns its id (>= 0) or -ENOMEM. */
int64_t st_frame_intern(struct st_set *set, const char *file, uint32_t line,
			const char *function, const char *module);
/* The same with the frame's module offset and build-id (NULL: ""). */
int64_t st_frame_intern_at(struct st_set *set, const char *file,
			   uint32_t line, const char *function,
			   const char *module, uint64_t offset,
			   const char *build_id);

/*
 * Add a trace of target index `target` (from st_target) whose frames are
 * ids[0..n) (n >= 1, most recent first).  `sizes` may be NULL; when given
 * it must hold `count` entries summing to `size` and outlive the set.
 * Returns 0, -EINVAL (n == 0) or -ENOMEM.
 */
int st_trace_add(struct st_set *set, uint32_t target, enum st_gen gen,
		 const uint32_t *ids, uint32_t n, uint32_t total_nframe,
		 uint64_t size, uint64_t count, const uint64_t *sizes);

/* Filters in tracemalloc.Filter's spirit: a trace is kept when it matches
 * any include pattern (if there are any) and no exclude pattern; a pattern
 * is tested with fnmatch against the most recent frame's file, or against
 * every frame's file when all_frames. */
struct st_filter {
	const char *const *include;
	size_t n_include;
	const char *const *exclude;
	size_t n_exclude;
	int all_frames;
};

/*
 * Match every interned file against the filter's patterns once: on success
 * *verdict (free() it) holds per file id bit 0 "matches an include
 * pattern", bit 1 "matches an exclude pattern".  With no pattern at all
 * *verdict is NULL.  Returns 0 or -ENOMEM.
 */
int st_filter_eval(const struct st_set *set, const struct st_filter *f,
		   uint8_t **verdict);

/* 1 when trace `t` passes filter `f` (NULL = no filter) whose verdicts
 * st_filter_eval computed. */
int st_trace_kept(const struct st_set *set, const struct st_trace *t,
		  const struct st_filter *f, const uint8_t *verdict);
/* The same for a traceback of frame ids ids[0..n), most recent first. */
int st_ids_kept(const struct st_set *set, const uint32_t *ids, uint32_t n,
		const struct st_filter *f, const uint8_t *verdict);
/* The verdict of one file name (bits as in st_filter_eval), for a caller
 * that evaluates files as they are interned. */
uint8_t st_filter_file(const struct st_filter *f, const char *file);

/* Forget every trace of target index `target` (both generations): what a
 * target whose snapshot failed half-way had added.  Its interned frames
 * and its place in pids stay (they take part in nothing).  Can't fail. */
void st_drop_target(struct st_set *set, uint32_t target);

enum st_key { ST_LINENO = 0, ST_TRACEBACK = 1 };

/* One statistic.  Its key (the traceback) is ids[key_off..key_off+key_n),
 * most recent first.  For a diff: size/count are the new snapshot's,
 * old_size/old_count the old one's. */
struct st_stat {
	uint64_t key_off;
	uint32_t key_n;
	uint64_t size, count;
	uint64_t old_size, old_count;
	uint64_t slot;             /* row of this stat in pid_bits */
};

struct st_list {
	struct st_stat *v;
	size_t n;
	int diff;                  /* compare_to() (StatisticDiff) order */
	size_t pid_words;          /* uint64_t words per stat in pid_bits */
	uint64_t *pid_bits;        /* bit i of a stat's row: set->pids[i]
				      took part */
};

/*
 * Group the set's traces as tracemalloc does and sort them.
 *   diff == 0: Snapshot.statistics(key, cumulative) over the ST_NEW traces,
 *              sorted by (size, count, traceback) descending;
 *   diff == 1: new.compare_to(old, key, cumulative), sorted by
 *              (|size_diff|, size, |count_diff|, count, traceback) desc.
 * cumulative counts a trace under every frame of its traceback, a recursive
 * frame as often as it occurs (tracemalloc.py _group_by); it is ignored with
 * ST_TRACEBACK (where tracemalloc raises, Hawk ignores it).
 * Returns 0 or -ENOMEM; free with st_list_free.
 */
int st_group(const struct st_set *set, enum st_key key, int cumulative,
	     int diff, const struct st_filter *f, struct st_list *out);
void st_list_free(struct st_list *l);

/* Whether target index i contributed to statistic s of l. */
static inline int
st_stat_has_target(const struct st_list *l, size_t s, size_t i)
{
	return (l->pid_bits[l->v[s].slot * l->pid_words + i / 64] >>
		(i % 64)) & 1;
}

/* tracemalloc._format_size(size, sign), byte-identical. */
void st_format_size(char *buf, size_t len, double size, int sign);

/* Hawk's format_bytes(): "%3.1f UNIT", 1024-based, B KB MB GB TB PB EB. */
void st_format_bytes(char *buf, size_t len, double size);

/* str() of the Statistic (or StatisticDiff when l->diff) number s.  Needs
 * a buffer of at least strlen(file) + 128 bytes; returns -ENOSPC if
 * `len` is too small. */
int st_stat_str(const struct st_set *set, const struct st_list *l, size_t s,
		char *buf, size_t len);

#endif /* HAWK_FCGI_STATS_H */
