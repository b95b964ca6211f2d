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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_json.h"
#include "fmt_pickle.h"
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
	struct snap_stream *v;     /* streams kept open for the pickle */
	size_t n;
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
		snap_stream_close(&s->v[i]);
	free(s->v);
	st_set_free(&s->set);
	textpool_free(&s->pool);
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

	rc = target_snapshot_stream(q->cfg, t, q->p.view, shot, err,
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
snapshot_all(struct req *q, const struct seg_info *v, size_t n,
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
	if (q->p.format == FORMAT_TRACEBACK)
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
snaps_add(struct req *q, struct snaps *s, struct snap_stream *shot,
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
		grown = realloc(s->v, (s->n + 1) * sizeof(*s->v));
		if (!grown) {
			snap_stream_close(shot);
			return fail_errno(q, -ENOMEM, "out of memory", 0),
			       -ENOMEM;
		}
		s->v = grown;
		s->v[s->n++] = *shot;
		shot->fd = -1;     /* s->v owns it now */
		shot->modules = NULL;
		shot->strings = NULL;
		shot->frames = NULL;
		shot->tw.buf = shot->fw.buf = shot->sw.buf = NULL;
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
	for (i = 0; i < s->n && !rc; i++)
		rc = snapstat_add_stream(q->sym, &s->v[i], ST_NEW,
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

	if (q->p.format == FORMAT_PICKLE) {
		uint64_t n_pk = 0;
		size_t k;

		/* one pickle trace per block (estimated or allocated): as
		 * counted while each stream was validated */
		for (k = 0; k < s->n; k++)
			n_pk += s->v[k].est_blocks;
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

static int
do_snapshot(struct req *q)
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
	if (snapshot_all(q, l.v, l.n, shots, ok) == 0) {
		rc = fail_all(q);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!ok[i])
			continue;
		s.heap += shots[i].h.traced_current;
		if (snaps_add(q, &s, &shots[i], ST_NEW)) {
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
 * Start, snapshot, wait, snapshot, stop.  A target that fails any step is
 * listed as failed and left out of the statistics (both of its snapshots),
 * so the diff covers exactly the targets that answered twice; every
 * target this request started is stopped, whatever happened.
 */
static int
do_profile(struct req *q)
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
	if (a && b && ok_a && ok_b && snapshot_all(q, l.v, l.n, a, ok_a)) {
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
		if (q->p.format != FORMAT_PICKLE &&
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
		rc = do_profile(&q);
		break;
	case ROUTE_START:
		rc = do_start(&q);
		break;
	case ROUTE_SNAPSHOT:
		rc = do_snapshot(&q);
		break;
	case ROUTE_STOP:
		rc = do_stop(&q);
		break;
	case ROUTE_TARGETS:
	default:
		rc = do_targets(&q);
		break;
	}
out:
	free(q.failed);
	params_free(&q.p);
	err = sink_flush(q.out);
	free(q.out);
	return err ? err : rc;
}
