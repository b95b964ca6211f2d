/* SPDX-License-Identifier: MIT */
/*
 * serve.c - one request, from route to response.
 *
 * Order of work, so that a bad request changes nothing: method -> route ->
 * every parameter -> target selection -> checks against the targets'
 * state (frames <= max_frames, started or not) -> commands.
 *
 * Multi-target rules (no pid=/name= selects every live target we may
 * read; name= every one of that name).  A request answers per target: one
 * target that fails (stopped, hung, hostile, already tracing) never spoils
 * the answer of the others.
 *  - start/ and the fixed-duration route start the selected targets that
 *    are not tracing; one that is already tracing (someone else's
 *    profile) is listed as failed (409) and left alone;
 *  - snapshot/ and stop/ act on the selected targets that are tracing;
 *    409 when none is;
 *  - status: 200 when every target acted on succeeded; 207 when some
 *    did and some failed: the body is the answer of the healthy ones plus
 *    "failed": [{"pid", "status", "error"}] (a pickle names the failed
 *    ones in the X-Hawk-Failed header instead: "PID STATUS, ..."); when
 *    every one failed, the failure's own status (as for one target) or,
 *    if they failed differently, 502, with the list;
 *  - statistics over several targets are merged (each statistic lists its
 *    pids); in a pickle each target is its own tracemalloc domain (= pid).
 * The fixed-duration route stops what it started on every path out
 * (error, client gone), before anything is written to the client.
 * Every response carries Cache-Control: no-store; every error is JSON.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_flame.h"
#include "fmt_json.h"
#include "fmt_page.h"
#include "fmt_pickle.h"
#include "fmt_pprof.h"
#include "params.h"
#include "route_status.h"
#include "serve.h"
#include "snapstat.h"
#include "stats.h"
#include "target.h"

/* The client-facing sink: headers always, the body unless HEAD. */
struct client {
	sink_fn fn;
	void *arg;
	int head;
	int in_body;
};

static int
client_fn(void *arg, const void *buf, size_t len)
{
	struct client *c = arg;

	if (c->head && c->in_body)
		return 0;
	return c->fn(c->arg, buf, len);
}

struct req {
	const struct config *cfg;
	struct symbolizer *sym;
	struct client cl;
	struct sink *out;
	struct params p;
	int status;
	struct fmt_json_failure *failed;   /* targets that failed */
	size_t n_failed, cap_failed;
	int oom;                   /* a failure could not be recorded */
};

/* Record that target pid failed with err (negative errno) and why. */
static void
failed_add(struct req *q, int32_t pid, int err, const char *why)
{
	struct fmt_json_failure *f;

	if (q->n_failed == q->cap_failed) {
		size_t cap = q->cap_failed ? q->cap_failed * 2 : 8;

		f = realloc(q->failed, cap * sizeof(*f));
		if (!f) {
			q->oom = 1;
			return;
		}
		q->failed = f;
		q->cap_failed = cap;
	}
	f = &q->failed[q->n_failed++];
	f->pid = pid;
	f->status = route_status(err);
	snprintf(f->error, sizeof(f->error), "%s", why);
}

static void
headers(struct req *q, int status, const char *ctype, const char *extra)
{
	q->status = status;
	sink_printf(q->out, "Status: %d %s\r\nContent-Type: %s\r\n"
		    "Cache-Control: no-store\r\n%s\r\n", status,
		    route_reason(status), ctype, extra ? extra : "");
	sink_flush(q->out);
	q->cl.in_body = 1;
}

static int
fail(struct req *q, int status, const char *msg, const char *param,
     const char *accepted, int32_t pid)
{
	headers(q, status, "application/json",
		status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
	fmt_json_error(q->out, msg, param, accepted, pid);
	return status;
}

static int
fail_errno(struct req *q, int err, const char *msg, int32_t pid)
{
	return fail(q, route_status(err), msg, NULL, NULL, pid);
}

/* Every target acted on failed: the failure's own status when there is
 * one (or all share it), else 502; the list in the body. */
static int
fail_all(struct req *q)
{
	size_t i;
	int status;

	if (q->n_failed == 0 || q->oom)
		return fail(q, 503, "out of memory", NULL, NULL, 0);
	if (q->n_failed == 1)
		return fail(q, q->failed[0].status, q->failed[0].error, NULL,
			    NULL, q->failed[0].pid);
	status = q->failed[0].status;
	for (i = 1; i < q->n_failed; i++)
		if (q->failed[i].status != status)
			status = 502;
	headers(q, status, "application/json", NULL);
	fmt_json_partial(q->out, "error", "every selected target failed",
			 q->failed, q->n_failed);
	return status;
}

/* 200 with `body` as text, or 207 with it and the failed targets. */
static int
done_text(struct req *q, const char *body)
{
	if (!q->n_failed) {
		headers(q, 200, "text/plain; charset=utf-8", NULL);
		sink_puts(q->out, body);
		return 200;
	}
	headers(q, 207, "application/json", NULL);
	fmt_json_partial(q->out, "message", body, q->failed, q->n_failed);
	return 207;
}

/* 400 when frames exceeds a target's limit. */
static int
check_frames(struct req *q, const struct target_list *l)
{
	char msg[128], acc[32];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (q->p.frames > l->v[i].max_frames) {
			snprintf(acc, sizeof(acc), "1..%u",
				 l->v[i].max_frames);
			snprintf(msg, sizeof(msg), "frames must be in %s for "
				 "target %d", acc, (int)l->v[i].pid);
			fail(q, 400, msg, "frames", acc, l->v[i].pid);
			return -EINVAL;
		}
	return 0;
}

static int
select_targets(struct req *q, int live_only, struct target_list *l)
{
	char msg[4200];
	int err = target_select(q->cfg, q->p.pid, q->p.name, live_only, l,
				msg, sizeof(msg));

	if (err) {
		fail_errno(q, err, msg, 0);
		return err;
	}
	if (l->n == 0 && live_only && l->n_refused) {
		/* listed by hawk ps, but not ours to read: say why */
		snprintf(msg, sizeof(msg), "target %d is owned by uid %ju, "
			 "which allow_uids does not admit%s",
			 (int)l->refused_pid, (uintmax_t)l->refused_uid,
			 l->n_refused > 1 ? " (nor the owners of the other "
			 "matching targets)" : "");
		fail(q, 403, msg, NULL, NULL, l->refused_pid);
		return -EACCES;
	}
	if (l->n == 0 && live_only) {
		if (q->p.pid)
			snprintf(msg, sizeof(msg), "no traced process with "
				 "pid %d", (int)q->p.pid);
		else if (q->p.name[0])
			snprintf(msg, sizeof(msg), "no traced process named "
				 "\"%s\"", q->p.name);
		else
			snprintf(msg, sizeof(msg), "no traced process");
		fail(q, 404, msg, NULL, NULL, q->p.pid);
		return -ESRCH;
	}
	return 0;
}

/* Stop targets v[0..n) (best effort, errors ignored). */
static void
stop_all(struct req *q, const struct seg_info *v, size_t n)
{
	char err[512];
	size_t i;

	for (i = 0; i < n; i++)
		target_cmd(q->cfg, &v[i], CMD_STOP, 0, 0, NULL, err,
			   sizeof(err));
}

/* Start every target of l that is not tracing; one that is, or that
 * fails, is recorded in q->failed and dropped from l, which keeps the
 * targets this request started.  With lease_ms, each start carries a
 * lease (target_start_leased).  When none could be started the response
 * is written and an error returned. */
static int
start_all(struct req *q, struct target_list *l, uint32_t lease_ms)
{
	char err[512];
	size_t i, n = 0;
	int rc;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].tracing) {
			snprintf(err, sizeof(err), "memory profiling already "
				 "started in target %d", (int)l->v[i].pid);
			failed_add(q, l->v[i].pid, -EALREADY, err);
			continue;
		}
		err[0] = '\0';
		rc = lease_ms ?
		     target_start_leased_sampled(q->cfg, &l->v[i],
						 q->p.frames,
						 q->p.gc ? CMD_FLAG_GC : 0,
						 lease_ms, q->p.sampling, err,
						 sizeof(err)) :
		     target_cmd_sampled(q->cfg, &l->v[i], CMD_START,
					q->p.frames,
					q->p.gc ? CMD_FLAG_GC : 0,
					q->p.sampling, NULL, err,
					sizeof(err));
		if (rc) {
			failed_add(q, l->v[i].pid, rc, err);
			continue;
		}
		l->v[n++] = l->v[i];
	}
	l->n = n;
	if (n == 0) {
		fail_all(q);
		return -EALREADY;
	}
	return 0;
}

struct snaps {
	struct snap *v;            /* whole snapshots (pprof) */
	size_t n;
	struct snap_stream *sv;    /* streams kept open for the pickle */
	size_t nsv;
	struct st_set set;
	struct textpool pool;
	uint64_t heap;             /* sum of traced_current */
	uint32_t limit;            /* largest traceback limit */
};

static void
snaps_free(struct snaps *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		snap_free(&s->v[i]);
	free(s->v);
	for (i = 0; i < s->nsv; i++)
		snap_stream_close(&s->sv[i]);
	free(s->sv);
	st_set_free(&s->set);
	textpool_free(&s->pool);
}

/* Snapshot every target of v[0..n) into shots[i] (CMD_SNAPSHOT with
 * flags); ok[i] says whether it worked (a failure is recorded in
 * q->failed).  Returns how many did. */
static size_t
snapshot_all(struct req *q, const struct seg_info *v, size_t n,
	     uint32_t flags, struct snap *shots, int *ok)
{
	char err[512];
	size_t i, good = 0;
	int rc;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		memset(&shots[i], 0, sizeof(shots[i]));
		rc = target_cmd(q->cfg, &v[i], CMD_SNAPSHOT, 0,
				q->p.view | flags, &shots[i], err,
				sizeof(err));
		if (rc == -EOPNOTSUPP)     /* view=peak of an exact target: */
			rc = -ENOTCONN;    /* a conflict with its mode, 409 */
		ok[i] = rc == 0;
		if (rc)
			failed_add(q, v[i].pid, rc, err);
		else
			good++;
	}
	return good;
}

/* Symbolize *shot into s as generation gen, taking it over (s->v owns it
 * from now on).  On error the response is written. */
static int
snaps_add(struct req *q, struct snaps *s, struct snap *shot, enum st_gen gen)
{
	struct snap *grown;
	int rc;

	grown = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	if (!grown) {
		snap_free(shot);
		return fail_errno(q, -ENOMEM, "out of memory", 0), -ENOMEM;
	}
	s->v = grown;
	s->v[s->n++] = *shot;
	memset(shot, 0, sizeof(*shot));
	shot = &s->v[s->n - 1];
	if (shot->h->frames > s->limit)
		s->limit = shot->h->frames;
	if (shot->h->sampling_bytes > s->set.sampling_bytes)
		s->set.sampling_bytes = shot->h->sampling_bytes;
	s->set.view = q->p.view;
	rc = snapstat_add(q->sym, shot, gen, &s->set, &s->pool);
	if (rc)
		fail_errno(q, rc, "symbolizing: out of memory", shot->h->pid);
	return rc;
}

/* n closed streams (snap_stream_close is a no-op on them), or NULL. */
static struct snap_stream *
streams_new(size_t n)
{
	struct snap_stream *v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	for (i = 0; v && i < n; i++)
		v[i].fd = -1;
	return v;
}

/* CMD_SNAPSHOT on target t, its file opened as a stream in *shot and read
 * once to the end (every byte validated, then rewound), so that a bad
 * snapshot fails its target alone, before anything is aggregated.  0 or
 * the error (recorded in q->failed). */
static int
snapshot_one(struct req *q, const struct seg_info *t,
	     struct snap_stream *shot)
{
	char err[512] = "";
	int rc;

	rc = target_snapshot_stream(q->cfg, t, q->p.view,
				    q->p.format == FORMAT_PICKLE, shot, err,
				    sizeof(err));
	if (rc == -EOPNOTSUPP)     /* view=peak of an exact target: */
		rc = -ENOTCONN;    /* a conflict with its mode, 409 */
	if (rc == 0) {
		rc = snap_stream_check(shot, err, sizeof(err));
		if (rc)
			snap_stream_close(shot);
	}
	if (rc)
		failed_add(q, t->pid, rc, err);
	return rc;
}

/* Snapshot every target of v[0..n) into shots[i]; ok[i] says whether it
 * worked (a failure is recorded in q->failed).  Returns how many did. */
static size_t
snapshot_all_stream(struct req *q, const struct seg_info *v, size_t n,
		    struct snap_stream *shots, int *ok)
{
	size_t i, good = 0;

	for (i = 0; i < n; i++) {
		ok[i] = snapshot_one(q, &v[i], &shots[i]) == 0;
		good += ok[i] != 0;
	}
	return good;
}

/* How the traces of a snapshot are aggregated as they are read for what
 * q asks (snapstat.h): what the statistics need, never one record per
 * block. */
static enum snapstat_agg
agg_mode(const struct req *q)
{
	int filters = q->p.n_include || q->p.n_exclude;

	if (q->p.format == FORMAT_PICKLE)
		return SNAPSTAT_PICKLE;
	if (q->p.format != FORMAT_LINENO)  /* traceback, collapsed, flame */
		return SNAPSTAT_FULL;
	if (q->p.cumulative)
		return filters ? SNAPSTAT_FULL : SNAPSTAT_EACH_FRAME;
	return filters && q->p.all_frames ? SNAPSTAT_FULL : SNAPSTAT_FRAME0;
}

/* Take over the (checked) stream *shot as generation gen: the pickle
 * keeps it open in s->v, to be read again while the response is written;
 * the statistics aggregate it into s->set now and close it.  On error the
 * response is written. */
static int
snaps_add_stream(struct req *q, struct snaps *s, struct snap_stream *shot,
		 enum st_gen gen)
{
	char err[512] = "";
	struct snap_stream *grown;
	enum snapstat_agg mode = agg_mode(q);
	int32_t pid = shot->h.pid;
	int rc;

	if (shot->h.frames > s->limit)
		s->limit = shot->h.frames;
	if (shot->h.sampling_bytes > s->set.sampling_bytes)
		s->set.sampling_bytes = shot->h.sampling_bytes;
	s->set.view = q->p.view;
	if (mode == SNAPSTAT_PICKLE) {
		grown = realloc(s->sv, (s->nsv + 1) * sizeof(*s->sv));
		if (!grown) {
			snap_stream_close(shot);
			return fail_errno(q, -ENOMEM, "out of memory", 0),
			       -ENOMEM;
		}
		s->sv = grown;
		s->sv[s->nsv++] = *shot;
		shot->fd = -1;     /* s->sv owns it now */
		shot->seg_fd = -1;
		shot->modules = NULL;
		shot->strings = NULL;
		shot->frames = NULL;
		shot->buf = NULL;
		snap_stream_close(shot);
		return 0;
	}
	rc = snapstat_add_stream(q->sym, shot, gen, mode, &s->set, &s->pool,
				 NULL, NULL, err, sizeof(err));
	snap_stream_close(shot);
	if (rc)
		fail_errno(q, rc, rc == -ENOMEM ? "symbolizing: out of memory"
			   : err, pid);
	return rc;
}

struct pickle_arg {
	struct fmt_pickle *fp;
	const struct st_filter *f;
};

static int
pickle_flush(void *arg, struct st_set *set)
{
	struct pickle_arg *a = arg;

	return fmt_pickle_traces(a->fp, set, a->f);
}

/* The pickle of the streams kept in s, written as they are read. */
static int
render_pickle(struct req *q, struct snaps *s, const struct st_filter *f)
{
	struct pickle_arg a = { .f = f };
	char err[512] = "";
	size_t i;
	int rc = 0, end;

	a.fp = fmt_pickle_begin(q->out);
	if (!a.fp)
		return -ENOMEM;
	for (i = 0; i < s->nsv && !rc; i++)
		rc = snapstat_add_stream(q->sym, &s->sv[i], ST_NEW,
					 SNAPSTAT_PICKLE, &s->set, &s->pool,
					 pickle_flush, &a, err, sizeof(err));
	if (rc)
		fprintf(stderr, "hawk-fcgi: pickle cut short: %s\n",
			err[0] ? err : strerror(-rc));
	end = fmt_pickle_end(a.fp, s->limit ? s->limit :
			     s->set.traceback_limit);
	return rc ? rc : end;
}

static const char *
code_line(void *arg, const char *file, uint32_t line)
{
	return sym_source_line(arg, file, line);
}

/* Append "X-Hawk-Failed: PID STATUS, ...\r\n" to the header lines in
 * buf (as much as fits). */
static void
failed_header(struct req *q, char *buf, size_t len)
{
	size_t i, o = strlen(buf);
	int n;

	n = snprintf(buf + o, len - o, "X-Hawk-Failed:");
	o += (size_t)n;
	for (i = 0; i < q->n_failed && o + 32 < len; i++) {
		n = snprintf(buf + o, len - o, "%s %d %d", i ? "," : "",
			     (int)q->failed[i].pid, q->failed[i].status);
		o += (size_t)n;
	}
	snprintf(buf + o, len - o, "\r\n");
}

/* How many frames return address addr expanded to when the snapshot was
 * symbolized (snapstat.c's INLINE_MAX is 64 as well): the symbolizer's cache
 * answers, so this costs a lookup. */
static int
frames_at(void *arg, const struct snap *snap, uint64_t addr)
{
	struct sym_frame fr[64];
	int n = sym_resolve(arg, snap, addr, fr, 64);

	return n < 1 ? 1 : n;
}

/* The pprof profile of s: a delta when diff (ST_NEW - ST_OLD). */
static int
render_pprof(struct req *q, struct snaps *s, int diff, int allocs)
{
	struct st_filter f = {
		.include = q->p.include, .n_include = q->p.n_include,
		.exclude = q->p.exclude, .n_exclude = q->p.n_exclude,
		.all_frames = q->p.all_frames,
	};
	struct fmt_pprof p = {
		.set = &s->set, .filter = &f, .snaps = s->v, .n_snaps = s->n,
		.depth = frames_at, .depth_arg = q->sym, .delta = diff,
		.allocs = allocs, .period = 1,
	};
	char disp[1024], stamp[32];
	uint64_t first = 0, last = 0;
	struct tm tm;
	time_t now;
	size_t i;
	int err, status;

	for (i = 0; i < s->n; i++) {
		if (!first || s->v[i].h->time_ns < first)
			first = s->v[i].h->time_ns;
		if (s->v[i].h->time_ns > last)
			last = s->v[i].h->time_ns;
	}
	p.time_ns = (int64_t)last;
	p.duration_ns = diff ? (int64_t)(last - first) : 0;
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
	snprintf(disp, sizeof(disp), "Content-Disposition: attachment; "
		 "filename=hwk_mem_%s_%s.pb.gz\r\n", allocs ? "allocs" : "heap",
		 stamp);
	status = q->n_failed ? 207 : 200;
	if (q->n_failed)
		failed_header(q, disp, sizeof(disp));
	headers(q, status, "application/octet-stream", disp);
	err = fmt_pprof(&p, q->out);
	return err ? err : status;
}

/* Write the statistics (or the pickle) of s: 200, or 207 when some
 * targets failed (q->failed). */
static int
render(struct req *q, struct snaps *s, int diff, int64_t heap_diff)
{
	struct st_filter f = {
		.include = q->p.include, .n_include = q->p.n_include,
		.exclude = q->p.exclude, .n_exclude = q->p.n_exclude,
		.all_frames = q->p.all_frames,
	};
	struct fmt_json_stats j = { 0 };
	struct st_list l;
	char disp[1024], stamp[32];
	struct tm tm;
	time_t now;
	int err, status;

	if (q->p.format == FORMAT_PPROF)
		return render_pprof(q, s, diff, 0);
	if (q->p.format == FORMAT_COLLAPSED ||
	    q->p.format == FORMAT_FLAMEGRAPH) {
		struct fmt_flame fl = {
			.set = &s->set, .filter = &f,
			.title = s->set.view == SNAP_VIEW_ALLOCATED ?
				 "allocated since tracing started" :
				 s->set.view == SNAP_VIEW_PEAK ?
				 "alive at the peak" : diff ?
				 "allocated during the profile and "
				 "still alive" : "alive now",
		};

		disp[0] = '\0';
		status = q->n_failed ? 207 : 200;
		if (q->n_failed)
			failed_header(q, disp, sizeof(disp));
		headers(q, status, q->p.format == FORMAT_COLLAPSED ?
			"text/plain; charset=utf-8" :
			"text/html; charset=utf-8", disp);
		err = q->p.format == FORMAT_COLLAPSED ?
			fmt_collapsed(&s->set, &f, q->out) :
			fmt_flamegraph(&fl, q->out);
		return err ? err : status;
	}
	if (q->p.format == FORMAT_PICKLE) {
		uint64_t n_pk = 0;
		size_t k;

		/* one pickle trace per block (estimated or allocated): as
		 * counted while each stream was validated */
		for (k = 0; k < s->nsv; k++)
			n_pk += s->sv[k].est_blocks;
		if (n_pk > ST_PICKLE_TRACES_MAX)
			return fail(q, 413, "the pickle would hold more than "
				    "50000000 traces (one per block, estimated "
				    "or allocated); use format=lineno or "
				    "traceback, or filters", "format", NULL,
				    0);
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
		snprintf(disp, sizeof(disp), "Content-Disposition: attachment;"
			 " filename=hwk_mem_tracemalloc_snapshot_%s.pkl\r\n"
			 "X-Hawk-View: %s\r\nX-Hawk-Sampling-Bytes: %" PRIu64
			 "\r\n", stamp, st_view_name(s->set.view),
			 s->set.sampling_bytes);
		status = q->n_failed ? 207 : 200;
		if (q->n_failed)
			failed_header(q, disp, sizeof(disp));
		headers(q, status, "application/octet-stream", disp);
		err = render_pickle(q, s, &f);
		return err ? err : status;
	}
	j.key = q->p.format == FORMAT_TRACEBACK ? ST_TRACEBACK : ST_LINENO;
	err = st_group(&s->set, j.key, q->p.cumulative, diff, &f, &l);
	if (err)
		return fail_errno(q, err, "grouping statistics: out of memory",
				  0);
	j.set = &s->set;
	j.list = &l;
	j.count = q->p.count;
	j.heap_current = s->heap;
	j.has_diff = diff;
	j.heap_diff = heap_diff;
	j.code = code_line;
	j.code_arg = q->sym;
	j.failed = q->failed;
	j.n_failed = q->n_failed;
	status = q->n_failed ? 207 : 200;
	headers(q, status, "application/json", NULL);
	err = fmt_json_stats(&j, q->out);
	st_list_free(&l);
	return err ? err : status;
}

static int
do_targets(struct req *q)
{
	struct target_list l;
	int *responding = NULL;
	size_t i;
	int err = select_targets(q, 0, &l);

	if (err)
		return q->status;
	/* the status fields lag by up to the agent's 1 s heartbeat: ask each
	 * live target for fresh ones, briefly, so a hung one costs little */
	if (l.n && !(responding = calloc(l.n, sizeof(*responding)))) {
		target_list_free(&l);
		fail(q, 500, "out of memory", NULL, NULL, 0);
		return q->status;
	}
	for (i = 0; i < l.n; i++)
		responding[i] = l.v[i].alive &&
				target_refresh(q->cfg, &l.v[i]) == 0;
	headers(q, 200, "application/json", NULL);
	fmt_json_targets(l.v, responding, l.n, q->out);
	free(responding);
	target_list_free(&l);
	return 200;
}

static int
do_start(struct req *q)
{
	struct target_list l;
	int err = select_targets(q, 1, &l);

	if (!err && l.n == 1)
		err = check_frames(q, &l);
	if (!err)
		err = start_all(q, &l, 0);
	target_list_free(&l);
	return err ? q->status : done_text(q, "Memory profiling started");
}

/* The selected targets that are tracing; 409 when none is. */
static int
tracing_targets(struct req *q, struct target_list *l)
{
	size_t i, n = 0;
	int err = select_targets(q, 1, l);

	if (err)
		return err;
	for (i = 0; i < l->n; i++)
		if (l->v[i].tracing)
			l->v[n++] = l->v[i];
	l->n = n;
	if (n == 0) {
		fail(q, 409, "memory profiling not started", NULL, NULL,
		     q->p.pid);
		return -ENOTCONN;
	}
	return 0;
}

/* Stop every selected target that is tracing; a target that stopped in
 * the meantime (-ENOTCONN) is not a failure unless none was stopped, and
 * a failing target does not keep the others tracing. */
static int
do_stop(struct req *q)
{
	struct target_list l;
	char err[512], gone[512] = "";
	size_t i, stopped = 0;
	int rc = tracing_targets(q, &l);
	int32_t gone_pid = 0;

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	for (i = 0; i < l.n; i++) {
		err[0] = '\0';
		rc = target_cmd(q->cfg, &l.v[i], CMD_STOP, 0, 0, NULL, err,
				sizeof(err));
		if (rc == 0) {
			stopped++;
		} else if (rc == -ENOTCONN) {
			snprintf(gone, sizeof(gone), "%s", err);
			gone_pid = l.v[i].pid;
		} else {
			failed_add(q, l.v[i].pid, rc, err);
		}
	}
	target_list_free(&l);
	if (!stopped && !q->n_failed)
		return fail_errno(q, -ENOTCONN, gone, gone_pid);
	if (!stopped)
		return fail_all(q);
	return done_text(q, "Memory profiling stopped");
}

/* snapshot/ as pprof: whole snapshots (fmt_pprof walks each one's traces
 * beside the set's). */
static int
do_snapshot(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	struct snap *shots;
	size_t i;
	int rc = tracing_targets(q, &l), *ok;

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	shots = calloc(l.n, sizeof(*shots));
	ok = calloc(l.n, sizeof(*ok));
	if (!shots || !ok) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	if (snapshot_all(q, l.v, l.n, 0, shots, ok) == 0) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok[i])
			continue;
		s.heap += shots[i].h->traced_current;
		if (snaps_add(q, &s, &shots[i], ST_NEW)) {
			rc = q->status;
			goto out;
		}
	}
	rc = render(q, &s, 0, 0);
out:
	for (i = 0; shots && i < l.n; i++)
		snap_free(&shots[i]);
	free(shots);
	free(ok);
	target_list_free(&l);
	snaps_free(&s);
	return rc;
}

/* b - a of two unsigned figures from the targets, saturated to int64_t
 * (a signed subtraction of them could overflow). */
static int64_t
diff_i64(uint64_t b, uint64_t a)
{
	if (b >= a)
		return b - a > (uint64_t)INT64_MAX ? INT64_MAX :
		       (int64_t)(b - a);
	return a - b > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)(a - b);
}

static void
sleep_s(uint32_t seconds)
{
	struct timespec ts = { .tv_sec = seconds };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * (pprof: whole snapshots.) Start, snapshot, wait, snapshot, stop.  A target that fails any step is
 * listed as failed and left out of the statistics (both of its snapshots),
 * so the diff covers exactly the targets that answered twice; every
 * target this request started is stopped, whatever happened.
 */
static int
do_profile(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	struct snap *a = NULL, *b = NULL;
	int *ok_a = NULL, *ok_b = NULL;
	uint64_t heap_a = 0, heap_b = 0;
	size_t i, good = 0;
	int rc;

	if (q->p.view == SNAP_VIEW_PEAK && !q->p.sampling)
		return fail(q, 409, "view=peak needs sampled tracing: exact "
			    "tracing keeps only the peak's number; add "
			    "sampling=BYTES (e.g. sampling=512k)", "view",
			    NULL, 0);
	rc = select_targets(q, 1, &l);

	if (!rc && l.n == 1)
		rc = check_frames(q, &l);
	/* the lease: the whole profile, its two snapshots and its stop of
	 * every target, each allowed the command timeout */
	if (!rc) {
		uint64_t ms = (uint64_t)q->p.duration * 1000u +
			      3u * (uint64_t)l.n * q->cfg->timeout_ms;

		rc = start_all(q, &l, ms < UINT32_MAX ? (uint32_t)ms :
			       UINT32_MAX);
	}
	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	a = calloc(l.n, sizeof(*a));
	b = calloc(l.n, sizeof(*b));
	ok_a = calloc(l.n, sizeof(*ok_a));
	ok_b = calloc(l.n, sizeof(*ok_b));
	if (a && b && ok_a && ok_b && snapshot_all(q, l.v, l.n, 0, a, ok_a)) {
		sleep_s(q->p.duration);
		/* again, those whose first snapshot worked */
		for (i = 0; i < l.n; i++) {
			char err[512] = "";
			int e;

			if (!ok_a[i])
				continue;
			e = target_cmd(q->cfg, &l.v[i], CMD_SNAPSHOT, 0, 0,
				       &b[i], err, sizeof(err));
			ok_b[i] = e == 0;
			if (e)
				failed_add(q, l.v[i].pid, e, err);
			else
				good++;
		}
	}
	/* stop what we started, whatever happened, before writing */
	stop_all(q, l.v, l.n);
	if (!a || !b || !ok_a || !ok_b) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	if (!good) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok_a[i] || !ok_b[i])
			continue;
		heap_a += a[i].h->traced_current;
		heap_b += b[i].h->traced_current;
		/* the pickle, the collapsed stacks and the flame graph carry
		 * the second snapshot only; JSON and pprof the difference */
		if ((q->p.format == FORMAT_LINENO ||
		     q->p.format == FORMAT_TRACEBACK ||
		     q->p.format == FORMAT_PPROF) &&
		    snaps_add(q, &s, &a[i], ST_OLD)) {
			rc = q->status;
			goto out;
		}
		if (snaps_add(q, &s, &b[i], ST_NEW)) {
			rc = q->status;
			goto out;
		}
	}
	s.heap = heap_b;
	rc = render(q, &s, 1, diff_i64(heap_b, heap_a));
out:
	for (i = 0; i < l.n; i++) {
		if (a)
			snap_free(&a[i]);
		if (b)
			snap_free(&b[i]);
	}
	free(a);
	free(b);
	free(ok_a);
	free(ok_b);
	target_list_free(&l);
	snaps_free(&s);
	return rc;
}

/*
 * Go's /debug/pprof/heap and /debug/pprof/allocs (net/http/pprof): the
 * selected targets that are tracing, as a pprof profile; ?seconds=N is a
 * delta over N seconds (snapshot, wait, snapshot; tracing is not started
 * or stopped), ?gc=1 runs the targets' gc hooks and malloc_trim before
 * each snapshot (Go runs a GC).  Not tracing: 409 saying how to start.
 * A target that fails is listed (207), as for snapshot/.
 */
static int
do_pprof(struct req *q, int allocs)
{
	struct target_list l;
	struct snaps s = { 0 };
	struct snap *a = NULL, *b = NULL;
	int *ok_a = NULL, *ok_b = NULL;
	uint32_t flags = q->p.gc_given && q->p.gc ? CMD_FLAG_SNAP_GC : 0;
	char msg[512];
	size_t i, n = 0, good = 0;
	int rc = select_targets(q, 1, &l);

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	for (i = 0; i < l.n; i++)
		if (l.v[i].tracing)
			l.v[n++] = l.v[i];
	if (n == 0) {
		if (l.n == 1)
			snprintf(msg, sizeof(msg), "memory profiling not "
				 "started in target %d: start it with GET "
				 "%s/prof/mem/tracemalloc/start/?pid=%d (or "
				 "run it with HAWK_TRACEMALLOC=30)",
				 (int)l.v[0].pid, q->cfg->prefix,
				 (int)l.v[0].pid);
		else
			snprintf(msg, sizeof(msg), "memory profiling not "
				 "started in any of the %zu selected targets: "
				 "start it with GET %s/prof/mem/tracemalloc/"
				 "start/ (with the same pid= or name=)", l.n,
				 q->cfg->prefix);
		target_list_free(&l);
		return fail(q, 409, msg, NULL, NULL, q->p.pid);
	}
	l.n = n;
	/* Go's heap is the live heap, its allocs every allocation since the
	 * start (the allocated view), whatever view= says */
	q->p.view = allocs ? SNAP_VIEW_ALLOCATED : SNAP_VIEW_LIVE;
	st_set_init(&s.set);
	a = calloc(l.n, sizeof(*a));
	b = calloc(l.n, sizeof(*b));
	ok_a = calloc(l.n, sizeof(*ok_a));
	ok_b = calloc(l.n, sizeof(*ok_b));
	if (!a || !b || !ok_a || !ok_b) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	good = snapshot_all(q, l.v, l.n, flags, a, ok_a);
	if (good && q->p.seconds) {
		/* the delta: again, those whose first snapshot worked */
		sleep_s(q->p.seconds);
		good = 0;
		for (i = 0; i < l.n; i++) {
			char err[512] = "";
			int e;

			if (!ok_a[i])
				continue;
			e = target_cmd(q->cfg, &l.v[i], CMD_SNAPSHOT, 0,
				       q->p.view | flags, &b[i], err,
				       sizeof(err));
			ok_b[i] = e == 0;
			if (e)
				failed_add(q, l.v[i].pid, e, err);
			else
				good++;
		}
	}
	if (!good) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok_a[i] || (q->p.seconds && !ok_b[i]))
			continue;
		if (snaps_add(q, &s, &a[i], q->p.seconds ? ST_OLD : ST_NEW) ||
		    (q->p.seconds && snaps_add(q, &s, &b[i], ST_NEW))) {
			rc = q->status;
			goto out;
		}
	}
	rc = render_pprof(q, &s, q->p.seconds != 0, allocs);
out:
	for (i = 0; i < l.n; i++) {
		if (a)
			snap_free(&a[i]);
		if (b)
			snap_free(&b[i]);
	}
	free(a);
	free(b);
	free(ok_a);
	free(ok_b);
	target_list_free(&l);
	snaps_free(&s);
	return rc;
}

/* An agent publishes its heartbeat at least once a second: one silent for
 * this long is stopped or hung, and asking it would only cost the wait. */
#define HEARTBEAT_STALE_NS UINT64_C(3000000000)

/* Every target with fresh status (CMD_STATUS, no snapshot): responding[i]
 * says whether v[i] answered.  A target whose heartbeat is stale is not
 * asked (a scrape of many targets must not wait 250 ms for each hung
 * one); its figures are the last it published.  On error the response is
 * written. */
static int
targets_status(struct req *q, struct target_list *l, int **responding)
{
	struct timespec ts;
	uint64_t now;
	size_t i;
	int err = select_targets(q, 0, l);

	*responding = NULL;
	if (err)
		return err;
	if (l->n && !(*responding = calloc(l->n, sizeof(**responding)))) {
		target_list_free(l);
		fail(q, 500, "out of memory", NULL, NULL, 0);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (i = 0; i < l->n; i++)
		(*responding)[i] = l->v[i].alive &&
			now - l->v[i].heartbeat_ns < HEARTBEAT_STALE_NS &&
			target_refresh(q->cfg, &l->v[i]) == 0;
	return 0;
}

/* The responder's own request counts, per process (see fmt_page.h). */
static const char *const route_names[ROUTE_COUNT] = {
	[ROUTE_NONE] = "none", [ROUTE_PROFILE] = "profile",
	[ROUTE_START] = "start", [ROUTE_SNAPSHOT] = "snapshot",
	[ROUTE_STOP] = "stop", [ROUTE_TARGETS] = "targets",
	[ROUTE_PPROF_HEAP] = "pprof_heap",
	[ROUTE_PPROF_ALLOCS] = "pprof_allocs", [ROUTE_INDEX] = "index",
	[ROUTE_METRICS] = "metrics",
};
static const int count_status[] = { 200, 400, 403, 404, 405, 409, 500,
				    503, 504 };
#define N_STATUS (sizeof(count_status) / sizeof(count_status[0]))
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
/* protects the field below */
static uint64_t counts[ROUTE_COUNT][N_STATUS];

static void
count_request(enum route_id id, int status)
{
	size_t i;

	for (i = 0; i < N_STATUS; i++)
		if (count_status[i] == status)
			break;
	if (i == N_STATUS)
		i = 6;                     /* 500 */
	pthread_mutex_lock(&counts_lock);
	counts[id][i]++;
	pthread_mutex_unlock(&counts_lock);
}

static int
do_metrics(struct req *q)
{
	struct fmt_page_count c[ROUTE_COUNT * N_STATUS];
	struct target_list l;
	int *responding;
	size_t nc = 0, r, i;

	if (targets_status(q, &l, &responding))
		return q->status;
	pthread_mutex_lock(&counts_lock);
	for (r = 0; r < ROUTE_COUNT; r++)
		for (i = 0; i < N_STATUS; i++)
			if (counts[r][i]) {
				c[nc].route = route_names[r] ?
					route_names[r] : "unknown";
				c[nc].status = count_status[i];
				c[nc].n = counts[r][i];
				nc++;
			}
	pthread_mutex_unlock(&counts_lock);
	/* the exposition format's content type, version 0.0.4 */
	headers(q, 200, "text/plain; version=0.0.4; charset=utf-8", NULL);
	fmt_page_metrics(l.v, responding, l.n, c, nc, q->out);
	free(responding);
	target_list_free(&l);
	return 200;
}

static int
do_index(struct req *q)
{
	struct target_list l;
	int *responding;

	if (targets_status(q, &l, &responding))
		return q->status;
	headers(q, 200, "text/html; charset=utf-8", NULL);
	fmt_page_index(l.v, responding, l.n, q->cfg->prefix, q->out);
	free(responding);
	target_list_free(&l);
	return 200;
}

/* snapshot/ in every format but pprof: snapshots streamed and aggregated
 * as they are read (snapstat_add_stream). */
static int
do_snapshot_stream(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	struct snap_stream *shots;
	size_t i;
	int rc = tracing_targets(q, &l), *ok;

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	shots = streams_new(l.n);
	ok = calloc(l.n, sizeof(*ok));
	if (!shots || !ok) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	if (snapshot_all_stream(q, l.v, l.n, shots, ok) == 0) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok[i])
			continue;
		s.heap += shots[i].h.traced_current;
		if (snaps_add_stream(q, &s, &shots[i], ST_NEW)) {
			rc = q->status;
			goto out;
		}
	}
	rc = render(q, &s, 0, 0);
out:
	for (i = 0; shots && i < l.n; i++)
		snap_stream_close(&shots[i]);
	free(shots);
	free(ok);
	target_list_free(&l);
	snaps_free(&s);
	return rc;
}

/*
 * (Streamed, every format but pprof.) Start, snapshot, wait, snapshot, stop.  A target that fails any step is
 * listed as failed and left out of the statistics (both of its snapshots),
 * so the diff covers exactly the targets that answered twice; every
 * target this request started is stopped, whatever happened.
 */
static int
do_profile_stream(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	struct snap_stream *a = NULL, *b = NULL;
	int *ok_a = NULL, *ok_b = NULL;
	uint64_t heap_a = 0, heap_b = 0;
	size_t i, good = 0;
	int rc;

	if (q->p.view == SNAP_VIEW_PEAK && !q->p.sampling)
		return fail(q, 409, "view=peak needs sampled tracing: exact "
			    "tracing keeps only the peak's number; add "
			    "sampling=BYTES (e.g. sampling=512k)", "view",
			    NULL, 0);
	rc = select_targets(q, 1, &l);

	if (!rc && l.n == 1)
		rc = check_frames(q, &l);
	/* the lease: the whole profile, its two snapshots and its stop of
	 * every target, each allowed the command timeout */
	if (!rc) {
		uint64_t ms = (uint64_t)q->p.duration * 1000u +
			      3u * (uint64_t)l.n * q->cfg->timeout_ms;

		rc = start_all(q, &l, ms < UINT32_MAX ? (uint32_t)ms :
			       UINT32_MAX);
	}
	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	a = streams_new(l.n);
	b = streams_new(l.n);
	ok_a = calloc(l.n, sizeof(*ok_a));
	ok_b = calloc(l.n, sizeof(*ok_b));
	if (a && b && ok_a && ok_b && snapshot_all_stream(q, l.v, l.n, a, ok_a)) {
		sleep_s(q->p.duration);
		/* again, those whose first snapshot worked */
		for (i = 0; i < l.n; i++) {
			if (!ok_a[i])
				continue;
			ok_b[i] = snapshot_one(q, &l.v[i], &b[i]) == 0;
			good += ok_b[i] != 0;
		}
	}
	/* stop what we started, whatever happened, before writing */
	stop_all(q, l.v, l.n);
	if (!a || !b || !ok_a || !ok_b) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	if (!good) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok_a[i] || !ok_b[i])
			continue;
		heap_a += a[i].h.traced_current;
		heap_b += b[i].h.traced_current;
		/* the pickle, the collapsed stacks and the flame graph carry
		 * the second snapshot only; JSON the difference */
		if ((q->p.format == FORMAT_LINENO ||
		     q->p.format == FORMAT_TRACEBACK) &&
		    snaps_add_stream(q, &s, &a[i], ST_OLD)) {
			rc = q->status;
			goto out;
		}
		if (snaps_add_stream(q, &s, &b[i], ST_NEW)) {
			rc = q->status;
			goto out;
		}
	}
	s.heap = heap_b;
	rc = render(q, &s, 1, diff_i64(heap_b, heap_a));
out:
	for (i = 0; i < l.n; i++) {
		if (a)
			snap_stream_close(&a[i]);
		if (b)
			snap_stream_close(&b[i]);
	}
	free(a);
	free(b);
	free(ok_a);
	free(ok_b);
	target_list_free(&l);
	snaps_free(&s);
	return rc;
}

int
serve_request(const struct config *c, struct symbolizer *sym,
	      const struct route_req *r, sink_fn fn, void *arg)
{
	struct params_error pe;
	struct req q = { .cfg = c, .sym = sym };
	const char *m = r->method ? r->method : "GET";
	enum route_id id;
	int rc, err;

	q.out = malloc(sizeof(*q.out));
	if (!q.out)
		return -ENOMEM;
	q.cl.fn = fn;
	q.cl.arg = arg;
	q.cl.head = strcmp(m, "HEAD") == 0;
	sink_init(q.out, client_fn, &q.cl);
	memset(&q.p, 0, sizeof(q.p));

	id = route_match(c->prefix, r);
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		rc = fail(&q, 405, "method not allowed (GET or HEAD)", NULL,
			  NULL, 0);
		goto out;
	}
	if (id == ROUTE_NONE) {
		rc = fail(&q, 404, "no such route", NULL, NULL, 0);
		goto out;
	}
	err = params_parse(&q.p, r->query, c->max_duration, &pe);
	if (err == -EINVAL) {
		rc = fail(&q, 400, pe.msg, pe.param, pe.accepted, 0);
		goto out;
	} else if (err) {
		rc = fail_errno(&q, err, "out of memory", 0);
		goto out;
	}
	switch (id) {
	case ROUTE_PROFILE:
		rc = q.p.format == FORMAT_PPROF ? do_profile(&q) :
		     do_profile_stream(&q);
		break;
	case ROUTE_START:
		rc = do_start(&q);
		break;
	case ROUTE_SNAPSHOT:
		rc = q.p.format == FORMAT_PPROF ? do_snapshot(&q) :
		     do_snapshot_stream(&q);
		break;
	case ROUTE_STOP:
		rc = do_stop(&q);
		break;
	case ROUTE_PPROF_HEAP:
	case ROUTE_PPROF_ALLOCS:
		rc = do_pprof(&q, id == ROUTE_PPROF_ALLOCS);
		break;
	case ROUTE_INDEX:
		rc = do_index(&q);
		break;
	case ROUTE_METRICS:
		rc = do_metrics(&q);
		break;
	case ROUTE_TARGETS:
	default:
		rc = do_targets(&q);
		break;
	}
out:
	count_request(id, q.status);
	free(q.failed);
	params_free(&q.p);
	err = sink_flush(q.out);
	free(q.out);
	return err ? err : rc;
}
