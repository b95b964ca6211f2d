/* SPDX-License-Identifier: MIT */
/*
 * fmt_flame.h - folded stacks (format=collapsed) and the self-contained
 * flame-graph page (format=flamegraph) of a trace set.
 */
#ifndef HAWK_FCGI_FMT_FLAME_H
#define HAWK_FCGI_FMT_FLAME_H

#include <stdint.h>

#include "sink.h"
#include "stats.h"

/*
 * One line per distinct stack of the ST_NEW traces that pass `f`:
 * "oldest;...;most recent BYTES", frames named by function (by file when
 * the function is unknown), several targets merged, in the order the
 * stacks first appear.  The input of flamegraph.pl, inferno and
 * speedscope (which sort as they need).  Returns 0 or -ENOMEM.
 */
int fmt_collapsed(const struct st_set *set, const struct st_filter *f,
		  struct sink *out);

struct fmt_flame {
	const struct st_set *set;
	const struct st_filter *filter;  /* NULL = keep every trace */
	const char *title;         /* what the bytes are, e.g. "alive now" */
};

/*
 * The flame-graph page (fcgi/flame.html) with the call tree of the ST_NEW
 * traces that pass the filter: a node per (parent, function, file), with
 * the line when all its frames have the same one; root "all"; several
 * targets merged.
 * Returns 0 or -ENOMEM.
 */
int fmt_flamegraph(const struct fmt_flame *fl, struct sink *out);

/* The page template, split at its data marker (flame_html.c, generated
 * from fcgi/flame.html at build time). */
extern const char fmt_flame_html[];

#endif /* HAWK_FCGI_FMT_FLAME_H */
