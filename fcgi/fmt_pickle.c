/* SPDX-License-Identifier: MIT */
/*
 * fmt_pickle.c - tracemalloc.Snapshot as a protocol 4 pickle.
 *
 * The opcode stream is the one CPython's pickle.dumps(snapshot, 4) writes
 * (PEP 3154; compare with pickletools.dis of python3's own), without the
 * optional FRAME opcodes and without memoizing the per-block trace tuples:
 *   PROTO 4
 *   'tracemalloc' 'Snapshot' STACK_GLOBAL EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
 *     'traces' <memo 'tracemalloc'> '_Traces' STACK_GLOBAL EMPTY_TUPLE NEWOBJ
 *     EMPTY_DICT '_traces' EMPTY_LIST
 *       (MARK trace*1000 APPENDS)* [trace APPEND]
 *     SETITEM BUILD
 *     'traceback_limit' int
 *   SETITEMS BUILD STOP
 * where a trace is MARK domain size frames total_nframe TUPLE and frames
 * is a tuple of (filename, lineno) pairs, most recent first.  Filename
 * strings, (filename, lineno) pairs and frames tuples are memoized on first
 * use and fetched with BINGET/LONG_BINGET afterwards, so a snapshot of a
 * million blocks sharing a hundred thousand tracebacks stays small.  The
 * per-block trace tuples are not memoized (CPython does): nothing refers
 * to them twice.
 * Ints: BININT1, BININT2, BININT, else LONG1 (little-endian two's
 * complement, as pickle.encode_long).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_pickle.h"

enum {
	OP_PROTO = 0x80, OP_STOP = '.', OP_MARK = '(', OP_EMPTY_TUPLE = ')',
	OP_EMPTY_DICT = '}', OP_EMPTY_LIST = ']', OP_APPEND = 'a',
	OP_APPENDS = 'e', OP_SETITEM = 's', OP_SETITEMS = 'u', OP_BUILD = 'b',
	OP_NEWOBJ = 0x81, OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94,
	OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE = 'X', OP_BININT = 'J',
	OP_BININT1 = 'K', OP_BININT2 = 'M', OP_LONG1 = 0x8a, OP_TUPLE = 't',
	OP_TUPLE2 = 0x86, OP_BINGET = 'h', OP_LONG_BINGET = 'j',
};

#define BATCH 1000                 /* pickle.Pickler._BATCHSIZE */

struct pk {
	struct sink *out;
	uint32_t memo;             /* next memo index */
};

/*
 * Output goes straight into the sink's buffer: room() makes at least n
 * bytes free there (draining it when it is fuller), the caller encodes
 * into it and done() accounts for what was written.  After a sink error
 * the bytes are written and dropped with the buffer, as sink_write drops
 * them.  No opcode is longer than ROOM_MAX bytes.
 */
#define ROOM_MAX 64

static inline unsigned char *
room(struct sink *s, size_t n)
{
	if (n > sizeof(s->buf) - s->n)
		sink_flush(s);
	return (unsigned char *)s->buf + s->n;
}

static inline void
done(struct sink *s, size_t n)
{
	s->n += n;
	if (!s->err)
		s->total += n;
}

static inline void
op(struct pk *p, int code)
{
	*room(p->out, 1) = (unsigned char)code;
	done(p->out, 1);
}

static inline uint32_t
memoize(struct pk *p)
{
	op(p, OP_MEMOIZE);
	return p->memo++;
}

static inline size_t
enc_get(unsigned char *b, uint32_t idx)
{
	if (idx < 256) {
		b[0] = OP_BINGET;
		b[1] = (unsigned char)idx;
		return 2;
	}
	b[0] = OP_LONG_BINGET;
	b[1] = idx & 0xff;
	b[2] = (idx >> 8) & 0xff;
	b[3] = (idx >> 16) & 0xff;
	b[4] = (idx >> 24) & 0xff;
	return 5;
}

static inline void
get(struct pk *p, uint32_t idx)
{
	done(p->out, enc_get(room(p->out, 5), idx));
}

static void
put_str(struct pk *p, const char *s)
{
	size_t n = strlen(s);
	unsigned char b[5];

	if (n < 256) {
		b[0] = OP_SHORT_BINUNICODE;
		b[1] = (unsigned char)n;
		sink_write(p->out, b, 2);
	} else {
		b[0] = OP_BINUNICODE;
		b[1] = n & 0xff;
		b[2] = (n >> 8) & 0xff;
		b[3] = (n >> 16) & 0xff;
		b[4] = (n >> 24) & 0xff;
		sink_write(p->out, b, 5);
	}
	sink_write(p->out, s, n);
}

/* save_long() of pickle.py for a non-negative integer: at most 11 bytes
 * into b, their number returned. */
static inline size_t
enc_uint(unsigned char *b, uint64_t v)
{
	size_t n = 0;

	if (v < 256) {
		b[0] = OP_BININT1;
		b[1] = (unsigned char)v;
		return 2;
	}
	if (v < 65536) {
		b[0] = OP_BININT2;
		b[1] = v & 0xff;
		b[2] = (v >> 8) & 0xff;
		return 3;
	}
	if (v < UINT64_C(0x80000000)) {
		b[0] = OP_BININT;
		b[1] = v & 0xff;
		b[2] = (v >> 8) & 0xff;
		b[3] = (v >> 16) & 0xff;
		b[4] = (v >> 24) & 0xff;
		return 5;
	}
	b[0] = OP_LONG1;
	while (v) {
		b[2 + n++] = v & 0xff;
		v >>= 8;
	}
	if (b[1 + n] & 0x80)      /* keep it positive */
		b[2 + n++] = 0;
	b[1] = (unsigned char)n;
	return 2 + n;
}

static inline void
put_uint(struct pk *p, uint64_t v)
{
	done(p->out, enc_uint(room(p->out, 11), v));
}

struct memo_tabs {
	uint32_t *file;            /* memo index + 1, 0 = not yet */
	uint32_t *frame;
	uint32_t *trace;
};

static void
frames_tuple(struct pk *p, const struct st_set *set, size_t ti,
	     struct memo_tabs *m)
{
	const struct st_trace *t = &set->traces[ti];
	const struct st_frame *f;
	uint32_t i, id;

	if (m->trace[ti]) {
		get(p, m->trace[ti] - 1);
		return;
	}
	if (t->nframes > 3)
		op(p, OP_MARK);
	for (i = 0; i < t->nframes; i++) {
		id = set->ids[t->ids_off + i];
		if (m->frame[id]) {
			get(p, m->frame[id] - 1);
			continue;
		}
		f = &set->frames[id];
		if (m->file[f->file_id]) {
			get(p, m->file[f->file_id] - 1);
		} else {
			put_str(p, f->file);
			m->file[f->file_id] = memoize(p) + 1;
		}
		put_uint(p, f->line);
		op(p, OP_TUPLE2);
		m->frame[id] = memoize(p) + 1;
	}
	/* save_tuple: TUPLE1..3 for short tuples, else MARK ... TUPLE;
	 * frames has 1..limit entries */
	if (t->nframes == 1)
		op(p, 0x85);               /* TUPLE1 */
	else if (t->nframes == 2)
		op(p, OP_TUPLE2);
	else if (t->nframes == 3)
		op(p, 0x87);               /* TUPLE3 */
	else
		op(p, OP_TUPLE);
	m->trace[ti] = memoize(p) + 1;
}

/*
 * The trace tuples of every block of traceback ti: per block
 *   [MARK] MARK domain size frames total_nframe TUPLE [APPENDS]
 * (the leading MARK opening a batch, APPENDS closing one).  The first
 * block writes (and memoizes) the frames tuple; every later block differs
 * from it only in its size, so the bytes before the size (MARK domain) and
 * after it (the frames tuple's memo get, total_nframe, TUPLE) are encoded
 * once and copied.
 */
static void
blocks(struct pk *p, const struct st_set *set, size_t ti,
       struct memo_tabs *m, size_t *batch)
{
	const struct st_trace *t = &set->traces[ti];
	struct sink *out = p->out;
	unsigned char pre[16], post[32], *w, *w0;
	size_t npre, nget = 0, npost = 0, bt = *batch;
	uint64_t b, n, size;

	/* without block sizes (estimates, allocation totals): count traces
	 * sharing size evenly, so that statistics() agrees */
	n = t->count ? t->count : 1;
	pre[0] = OP_MARK;
	npre = 1 + enc_uint(pre + 1, (uint64_t)(uint32_t)set->pids[t->target]);
	for (b = 0; b < n && !out->err; b++) {
		size = t->sizes ? t->sizes[b] : t->size / n + (b < t->size % n);
		w0 = w = room(out, ROOM_MAX);
		if (bt == 0)
			*w++ = OP_MARK;
		memcpy(w, pre, sizeof(pre));
		w += npre;
		w += enc_uint(w, size);
		if (b == 0) {
			done(out, (size_t)(w - w0));
			frames_tuple(p, set, ti, m);
			nget = enc_get(post, m->trace[ti] - 1);
			npost = nget + enc_uint(post + nget, t->total_nframe);
			post[npost++] = OP_TUPLE;
			w0 = w = room(out, ROOM_MAX);
			/* the frames tuple itself, not its memo, this time */
			memcpy(w, post + nget, 24);
			w += npost - nget;
		} else {
			memcpy(w, post, 24);
			w += npost;
		}
		if (++bt == BATCH) {
			*w++ = OP_APPENDS;
			bt = 0;
		}
		done(out, (size_t)(w - w0));
	}
	*batch = bt;
}

/*
 * With the module name on the stack: NAME STACK_GLOBAL, EMPTY_TUPLE NEWOBJ
 * (an instance of tracemalloc.NAME built without arguments), EMPTY_DICT
 * (its state, filled by the caller and applied by BUILD) - each memoized
 * as CPython's pickler does (pickle.py save_reduce, save_global).
 */
static void
empty_object(struct pk *p, const char *name)
{
	put_str(p, name);
	memoize(p);
	op(p, OP_STACK_GLOBAL);
	memoize(p);
	op(p, OP_EMPTY_TUPLE);
	op(p, OP_NEWOBJ);
	memoize(p);
	op(p, OP_EMPTY_DICT);
	memoize(p);
}

/* ---------------------------------------------------------------------- */
/* The same pickle written in parts (fmt_pickle.h). */

struct fmt_pickle {
	struct pk p;
	uint32_t *file, *frame;    /* memo index + 1 by file / frame id */
	size_t n_file, n_frame;
	size_t batch;
};

static int
grow_memo(uint32_t **v, size_t *n, size_t want)
{
	uint32_t *g;

	if (want <= *n)
		return 0;
	want = want > 2 * *n ? want : 2 * *n;
	g = realloc(*v, want * sizeof(*g));
	if (!g)
		return -ENOMEM;
	memset(g + *n, 0, (want - *n) * sizeof(*g));
	*v = g;
	*n = want;
	return 0;
}

struct fmt_pickle *
fmt_pickle_begin(struct sink *out)
{
	struct fmt_pickle *fp = calloc(1, sizeof(*fp));
	uint32_t tracemalloc_memo;

	if (!fp)
		return NULL;
	fp->p.out = out;
	op(&fp->p, OP_PROTO);
	op(&fp->p, 4);
	put_str(&fp->p, "tracemalloc");
	tracemalloc_memo = memoize(&fp->p);
	empty_object(&fp->p, "Snapshot");
	op(&fp->p, OP_MARK);
	put_str(&fp->p, "traces");
	memoize(&fp->p);
	get(&fp->p, tracemalloc_memo);
	empty_object(&fp->p, "_Traces");
	put_str(&fp->p, "_traces");
	memoize(&fp->p);
	op(&fp->p, OP_EMPTY_LIST);
	memoize(&fp->p);
	return fp;
}

int
fmt_pickle_traces(struct fmt_pickle *fp, const struct st_set *set,
		  const struct st_filter *f)
{
	struct memo_tabs m;
	uint8_t *verdict = NULL;
	size_t ti;
	int err;

	err = grow_memo(&fp->file, &fp->n_file, set->n_files + 1);
	if (!err)
		err = grow_memo(&fp->frame, &fp->n_frame, set->n_frames + 1);
	m.file = fp->file;
	m.frame = fp->frame;
	m.trace = calloc(set->n_traces + 1, sizeof(uint32_t));
	if (!err && !m.trace)
		err = -ENOMEM;
	if (!err)
		err = st_filter_eval(set, f, &verdict);
	for (ti = 0; !err && ti < set->n_traces && !fp->p.out->err; ti++) {
		const struct st_trace *t = &set->traces[ti];

		if (t->gen != ST_NEW || !st_trace_kept(set, t, f, verdict))
			continue;
		blocks(&fp->p, set, ti, &m, &fp->batch);
	}
	free(verdict);
	free(m.trace);
	return err;
}

int
fmt_pickle_end(struct fmt_pickle *fp, uint32_t traceback_limit)
{
	struct pk *p = &fp->p;
	int err = p->out->err;

	if (fp->batch)
		op(p, OP_APPENDS);
	op(p, OP_SETITEM);
	op(p, OP_BUILD);
	put_str(p, "traceback_limit");
	memoize(p);
	put_uint(p, traceback_limit);
	op(p, OP_SETITEMS);
	op(p, OP_BUILD);
	op(p, OP_STOP);
	free(fp->file);
	free(fp->frame);
	free(fp);
	return err;
}

void
fmt_pickle_abort(struct fmt_pickle *fp)
{
	/* no closing and no STOP: what was written cannot be unpickled */
	free(fp->file);
	free(fp->frame);
	free(fp);
}

int
fmt_pickle_snapshot(const struct st_set *set, const struct st_filter *f,
		    uint32_t traceback_limit, struct sink *out)
{
	struct pk p = { .out = out };
	struct memo_tabs m;
	uint8_t *verdict = NULL;
	uint32_t tracemalloc_memo;
	size_t ti, batch = 0;
	int err;

	m.file = calloc(set->n_files + 1, sizeof(uint32_t));
	m.frame = calloc(set->n_frames + 1, sizeof(uint32_t));
	m.trace = calloc(set->n_traces + 1, sizeof(uint32_t));
	err = m.file && m.frame && m.trace ? 0 : -ENOMEM;
	if (!err)
		err = st_filter_eval(set, f, &verdict);
	if (err)
		goto out;
	if (!traceback_limit)
		traceback_limit = set->traceback_limit;

	op(&p, OP_PROTO);
	op(&p, 4);
	put_str(&p, "tracemalloc");
	tracemalloc_memo = memoize(&p);
	empty_object(&p, "Snapshot");
	op(&p, OP_MARK);
	put_str(&p, "traces");
	memoize(&p);
	get(&p, tracemalloc_memo);
	empty_object(&p, "_Traces");
	put_str(&p, "_traces");
	memoize(&p);
	op(&p, OP_EMPTY_LIST);
	memoize(&p);

	/*
	 * Batches of BATCH items: MARK items APPENDS, and a batch of exactly
	 * one item is "item APPEND" (pickle.py _batch_appends).  We do not
	 * know ahead whether a batch will hold one item, so a lone item is
	 * written after MARK and closed with APPENDS too: the unpickler
	 * accepts both and the resulting list is the same.
	 */
	for (ti = 0; ti < set->n_traces && !out->err; ti++) {
		const struct st_trace *t = &set->traces[ti];

		if (t->gen != ST_NEW || !st_trace_kept(set, t, f, verdict))
			continue;
		blocks(&p, set, ti, &m, &batch);
	}
	if (batch)
		op(&p, OP_APPENDS);
	op(&p, OP_SETITEM);
	op(&p, OP_BUILD);
	put_str(&p, "traceback_limit");
	memoize(&p);
	put_uint(&p, traceback_limit);
	op(&p, OP_SETITEMS);
	op(&p, OP_BUILD);
	op(&p, OP_STOP);
out:
	free(verdict);
	free(m.file);
	free(m.frame);
	free(m.trace);
	return err;
}
