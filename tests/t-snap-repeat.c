/* SPDX-License-Identifier: MIT */
/*
 * t-snap-repeat.c - a traceback carried by several consecutive records
 * (segment.h: a pickle's traceback with more than 2^20 live blocks)
 * reads exactly as the same traceback in one record, through the real
 * snapshot parser (snap_stream), symbolizer and snapstat_add_stream, in
 * every way the responder aggregates a stream: lineno (FRAME0),
 * cumulative (EACH_FRAME), full tracebacks (FULL, then st_group), the
 * traceback trie (TRACE into tbtrie, then tbtrie_select) and the pickle's
 * chunks (PICKLE: every block, with its size, in order).
 *
 * Two streams of the same heap: trace A = [site_a, site_b] with six
 * blocks of 10..60 bytes, and trace B = [site_b] with one of 7; "split"
 * sends A as three records (2, 1 and 3 blocks), "joined" as one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapstat.h"
#include "tbtrie.h"
#include "proc-stat.h"
#include "snap-build.h"
#include "tap.h"

#define NOIPA __attribute__((noipa))

static uint64_t site_a, site_b;

NOIPA static void
probe(uint64_t *where)
{
	*where = (uintptr_t)__builtin_return_address(0);
}

NOIPA static void
fa(void)
{
	probe(&site_a);
	__asm__ volatile("" ::: "memory");
}

NOIPA static void
fb(void)
{
	probe(&site_b);
	__asm__ volatile("" ::: "memory");
}

static struct snap_module prog;  /* snap_program_module */

static char exe[PATH_MAX], dir[] = "/tmp/t-snap-repeat.XXXXXX";
static const uint64_t sizes[7] = { 10, 20, 30, 40, 50, 60, 7 };

static struct snap_trace
rec(uint64_t count, uint64_t size, uint32_t nframes)
{
	return (struct snap_trace){ .count = count, .size = size,
				    .est_count = count, .est_size = size,
				    .nframes = nframes,
				    .total_nframe = nframes };
}

/* The stream (split or joined) as a file, opened as a snap_stream. */
static int
open_stream(int split, struct snap_stream *ss)
{
	struct snap_header h = { 0 };
	struct snap_module m = { 0 };
	struct snap_trace t[4];
	uint64_t frames[8];
	struct snap_bytes b;
	char path[PATH_MAX], err[256];
	size_t n = 0, nf = 0, plen = strlen(exe), k;
	int fd;

	h.pid = getpid();
	h.start_time = proc_start_time(getpid());
	h.frames = 4;
	h.n_modules = 1;
	h.strings_size = plen + 1;
	h.flags = SNAP_F_SIZES;
	m.lo = prog.lo;
	m.hi = prog.hi;
	m.bias = prog.bias;
	m.path_len = (uint32_t)plen;
	if (split) {
		t[n++] = rec(2, 30, 2);
		t[n++] = rec(1, 30, 2);
		t[n++] = rec(3, 150, 2);
	} else {
		t[n++] = rec(6, 210, 2);
	}
	for (k = 0; k < n; k++) {
		frames[nf++] = site_a;
		frames[nf++] = site_b;
	}
	t[n++] = rec(1, 7, 1);
	frames[nf++] = site_b;
	snap_build(&b, &h, &m, exe, t, n, frames, sizes, 0);
	snprintf(path, sizeof(path), "%s/%d.snap.1", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b.buf, b.len) != (ssize_t)b.len ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		free(b.buf);
		return -EIO;
	}
	free(b.buf);
	unlink(path);
	if (snap_stream_fdopen(ss, fd, 0, path, err, sizeof(err))) {
		diag("snap_stream_fdopen: %s", err);
		return -EPROTO;
	}
	return 0;
}

/* What the pickle's flushes saw: every block's size, in order, with the
 * number of frames of its trace. */
struct blocks_seen {
	uint64_t size[16], nframes[16];
	size_t n;
};

static int
pickle_flush(void *arg, struct st_set *set)
{
	struct blocks_seen *s = arg;
	size_t i;
	uint64_t k;

	for (i = 0; i < set->n_traces; i++)
		for (k = 0; k < set->traces[i].count && s->n < 16; k++) {
			s->size[s->n] = set->traces[i].sizes[k];
			s->nframes[s->n++] = set->traces[i].nframes;
		}
	return 0;
}

struct trie_arg {
	struct tbtrie trie;
};

static int
trie_hook(void *arg, const struct snapstat_trace *t)
{
	struct trie_arg *a = arg;

	return tbtrie_add(&a->trie, t->target, t->gen, t->ids, t->nids,
			  t->size, t->count);
}

/*
 * The statistics of one stream read in `mode`, as text: "str(stat)" per
 * line, in st_group's order (lineno, cumulative or traceback).
 */
static int
stats_text(struct symbolizer *sym, int split, enum snapstat_agg mode,
	   enum st_key key, int cumulative, char *out, size_t len)
{
	struct textpool pool = { 0 };
	struct trie_arg ta;
	struct snapstat_hooks hk = { .trace = trie_hook, .arg = &ta };
	struct snap_stream ss;
	struct st_set set;
	struct st_list l;
	char err[256], line[PATH_MAX + 256];
	size_t i, o = 0;
	int rc;

	out[0] = '\0';
	memset(&l, 0, sizeof(l));
	memset(&ss, 0, sizeof(ss));
	rc = open_stream(split, &ss);
	if (rc)
		return rc;
	st_set_init(&set);
	tbtrie_init(&ta.trie);
	rc = snapstat_add_stream(sym, &ss, ST_NEW, mode, &set, &pool, &hk,
				 err, sizeof(err));
	snap_stream_close(&ss);
	if (rc)
		diag("snapstat_add_stream: %s", err);
	/* the trie's statistics, as traces of the set (which holds none
	 * in this mode, only the frames) */
	if (!rc && mode == SNAPSTAT_TRACE)
		rc = tbtrie_select(&ta.trie, &set, 0, NULL, 0);
	if (!rc)
		rc = st_group(&set, key, cumulative, 0, NULL, &l);
	for (i = 0; !rc && i < l.n; i++) {
		rc = st_stat_str(&set, &l, i, line, sizeof(line));
		if (!rc)
			o += (size_t)snprintf(out + o, len - o, "%s\n", line);
	}
	st_list_free(&l);
	tbtrie_free(&ta.trie);
	st_set_free(&set);
	textpool_free(&pool);
	return rc;
}

int
main(void)
{
	static const struct {
		enum snapstat_agg mode;
		enum st_key key;
		int cumulative;
		const char *what;
	} ways[] = {
		{ SNAPSTAT_FRAME0, ST_LINENO, 0, "lineno" },
		{ SNAPSTAT_EACH_FRAME, ST_LINENO, 1, "cumulative" },
		{ SNAPSTAT_FULL, ST_TRACEBACK, 0, "full tracebacks" },
		{ SNAPSTAT_FULL, ST_LINENO, 0, "full tracebacks, lineno" },
		{ SNAPSTAT_TRACE, ST_TRACEBACK, 0, "traceback trie" },
	};
	static char a[8192], b[8192];
	struct symbolizer *sym;
	ssize_t l;
	size_t w;

	fa();
	fb();
	snap_program_module(&prog);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0 || !mkdtemp(dir))
		return 1;
	exe[l] = '\0';
	sym = sym_new();

	for (w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		int ra = stats_text(sym, 1, ways[w].mode, ways[w].key,
				    ways[w].cumulative, a, sizeof(a));
		int rb = stats_text(sym, 0, ways[w].mode, ways[w].key,
				    ways[w].cumulative, b, sizeof(b));

		ok(ra == 0 && rb == 0 && a[0] && strcmp(a, b) == 0,
		   "%s: a traceback in three records reads as in one",
		   ways[w].what);
		if (strcmp(a, b))
			diag("split: %s, joined: %s", a, b);
	}
	/* and the figures themselves: lineno at fa's call of probe */
	stats_text(sym, 1, SNAPSTAT_FRAME0, ST_LINENO, 0, a, sizeof(a));
	ok(strstr(a, "size=210 B, count=6, average=35 B") != NULL &&
	   strstr(a, "size=7 B, count=1, average=7 B") != NULL,
	   "lineno: trace A's six blocks (210 bytes) at one line, B's one");

	{
		struct blocks_seen s;
		struct snapstat_hooks hk = { .flush = pickle_flush, .arg = &s };
		struct textpool pool = { 0 };
		struct snap_stream ss;
		struct st_set set;
		char err[256];
		int rc, good = 1;
		size_t i;

		memset(&s, 0, sizeof(s));
		memset(&ss, 0, sizeof(ss));
		rc = open_stream(1, &ss);
		st_set_init(&set);
		if (!rc)
			rc = snapstat_add_stream(sym, &ss, ST_NEW,
						 SNAPSTAT_PICKLE, &set, &pool,
						 &hk, err, sizeof(err));
		snap_stream_close(&ss);
		for (i = 0; i < 7; i++)
			good &= s.size[i] == sizes[i] &&
				s.nframes[i] == (i < 6 ? 2u : 1u);
		ok(rc == 0 && s.n == 7 && good, "pickle: every block of the "
		   "split stream once, with its size and its traceback");
		st_set_free(&set);
		textpool_free(&pool);
	}
	sym_free(sym);
	rmdir(dir);
	return done_testing();
}
