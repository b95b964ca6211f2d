/* SPDX-License-Identifier: MIT */
/*
 * serve.c - one request, from route to response.
 *
 * Order of work, so that a bad request changes nothing: method -> route ->
 * every parameter -> target selection -> checks against the targets'
 * state (frames <= max_frames, started or not) -> commands.
 *
 * Multi-target rules (no pid=/name= selects every live target we may
 * read; name= every one of that name):
 *  - start/ and the fixed-duration route: 409 when any selected target is
 *    already tracing, and nothing is started; if a start fails halfway the
 *    targets this request started are stopped again (all or nothing);
 *  - snapshot/ and stop/ act on the selected targets that are tracing;
 *    409 when none is;
 *  - statistics over several targets are merged (each statistic lists its
 *    pids); in a pickle each target is its own tracemalloc domain (= pid).
 * The fixed-duration route stops what it started on every path out
 * (error, client gone), before anything is written to the client.
 * Every response carries Cache-Control: no-store; every error is JSON.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt_json.h"
#include "fmt_pickle.h"
#include "params.h"
#include "route_status.h"
#include "serve.h"
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
};

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

static int
text(struct req *q, const char *body)
{
	headers(q, 200, "text/plain; charset=utf-8", NULL);
	sink_puts(q->out, body);
	return 200;
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
	int err = target_select(q->cfg, q->p.pid, q->p.name, live_only, l);

	if (err) {
		snprintf(msg, sizeof(msg), "reading segment directory %s: %s",
			 q->cfg->dir, strerror(-err));
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

/* Start every target of l; all or nothing.  On error the response is
 * written. */
static int
start_all(struct req *q, const struct target_list *l)
{
	char err[512];
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		if (l->v[i].tracing) {
			snprintf(err, sizeof(err), "memory profiling already "
				 "started in target %d", (int)l->v[i].pid);
			return fail(q, 409, err, NULL, NULL, l->v[i].pid),
				-EALREADY;
		}
	for (i = 0; i < l->n; i++) {
		err[0] = '\0';
		rc = target_cmd(q->cfg, &l->v[i], CMD_START, q->p.frames,
				q->p.gc ? CMD_FLAG_GC : 0, NULL, err,
				sizeof(err));
		if (rc) {
			stop_all(q, l->v, i);
			fail_errno(q, rc, err, l->v[i].pid);
			return rc;
		}
	}
	return 0;
}

struct snaps {
	struct snap_stream *v;     /* streams kept open for the pickle */
	size_t n;
	struct st_set set;
	struct target_pool pool;
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
	target_pool_free(&s->pool);
}

/* Snapshot every target of v[0..n) into s as generation gen, adding up
 * their traced_current in *heap.  With !keep the snapshots are dropped at
 * once (the first snapshot of a fixed-duration profile answered as a
 * pickle, which carries the second one only).  On error the response is
 * written. */
/* How the traces of a snapshot are aggregated as they are read for what
 * q asks (target.h): what the statistics need, never one record per
 * block. */
static enum target_agg
agg_mode(const struct req *q)
{
	int filters = q->p.n_include || q->p.n_exclude;

	if (q->p.format == FORMAT_PICKLE)
		return TARGET_AGG_PICKLE;
	if (q->p.format == FORMAT_TRACEBACK)
		return TARGET_AGG_FULL;
	if (q->p.cumulative)
		return filters ? TARGET_AGG_FULL : TARGET_AGG_EACH_FRAME;
	return filters && q->p.all_frames ? TARGET_AGG_FULL :
		TARGET_AGG_FRAME0;
}

static int
snapshot_all(struct req *q, const struct seg_info *v, size_t n,
	     enum st_gen gen, int keep, struct snaps *s, uint64_t *heap)
{
	char err[512];
	struct snap_stream *grown, *ss;
	enum target_agg mode = agg_mode(q);
	size_t i;
	int rc;

	*heap = 0;
	grown = realloc(s->v, (s->n + n + 1) * sizeof(*s->v));
	if (!grown)
		return fail_errno(q, -ENOMEM, "out of memory", 0), -ENOMEM;
	s->v = grown;
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		ss = &s->v[s->n];
		rc = target_snapshot_stream(q->cfg, &v[i], ss, err,
					    sizeof(err));
		if (rc) {
			fail_errno(q, rc, err, v[i].pid);
			return rc;
		}
		*heap += ss->h.traced_current;
		if (ss->h.frames > s->limit && keep)
			s->limit = ss->h.frames;
		if (!keep) {
			snap_stream_close(ss);
			continue;
		}
		if (mode == TARGET_AGG_PICKLE) {
			/* streamed later, when the response is under way:
			 * every byte is checked now */
			s->n++;
			rc = snap_stream_check(ss, err, sizeof(err));
		} else {
			rc = target_symbolize_stream(q->sym, ss, gen, mode,
						     &s->set, &s->pool, NULL,
						     NULL, err, sizeof(err));
			snap_stream_close(ss);
		}
		if (rc) {
			fail_errno(q, rc, err, v[i].pid);
			return rc;
		}
	}
	return 0;
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
	int rc = 0;

	a.fp = fmt_pickle_begin(q->out);
	if (!a.fp)
		return -ENOMEM;
	for (i = 0; i < s->n && !rc; i++)
		rc = target_symbolize_stream(q->sym, &s->v[i], ST_NEW,
					     TARGET_AGG_PICKLE, &s->set,
					     &s->pool, pickle_flush, &a, err,
					     sizeof(err));
	if (rc)
		fprintf(stderr, "hawk-fcgi: pickle cut short: %s\n",
			err[0] ? err : strerror(-rc));
	i = (size_t)fmt_pickle_end(a.fp, s->limit ? s->limit :
				   s->set.traceback_limit);
	return rc ? rc : (int)i;
}

static const char *
code_line(void *arg, const char *file, uint32_t line)
{
	return sym_source_line(arg, file, line);
}

/* Write the statistics (or the pickle) of s. */
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
	char disp[160], stamp[32];
	struct tm tm;
	time_t now;
	int err;

	if (q->p.format == FORMAT_PICKLE) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
		snprintf(disp, sizeof(disp), "Content-Disposition: attachment;"
			 " filename=hwk_mem_tracemalloc_snapshot_%s.pkl\r\n",
			 stamp);
		headers(q, 200, "application/octet-stream", disp);
		err = render_pickle(q, s, &f);
		return err ? err : 200;
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
	headers(q, 200, "application/json", NULL);
	err = fmt_json_stats(&j, q->out);
	st_list_free(&l);
	return err ? err : 200;
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

	if (!err)
		err = check_frames(q, &l);
	if (!err)
		err = start_all(q, &l);
	target_list_free(&l);
	return err ? q->status : text(q, "Memory profiling started");
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
 * the meantime (-ENOTCONN) is not an error unless none was stopped, and a
 * failing target does not keep the others tracing. */
static int
do_stop(struct req *q)
{
	struct target_list l;
	char err[512], first[512] = "";
	size_t i, stopped = 0;
	int rc = tracing_targets(q, &l), hard = 0;
	int32_t pid = 0;

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
		} else if ((rc != -ENOTCONN && !hard) || !first[0]) {
			if (rc != -ENOTCONN)
				hard = rc;
			snprintf(first, sizeof(first), "%s", err);
			pid = l.v[i].pid;
		}
	}
	target_list_free(&l);
	if (hard)
		return fail_errno(q, hard, first, pid);
	if (!stopped)
		return fail_errno(q, -ENOTCONN, first, pid);
	return text(q, "Memory profiling stopped");
}

static int
do_snapshot(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	uint64_t heap;
	int rc = tracing_targets(q, &l);

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	rc = snapshot_all(q, l.v, l.n, ST_NEW, 1, &s, &heap);
	target_list_free(&l);
	if (rc) {
		snaps_free(&s);
		return q->status;
	}
	s.heap = heap;
	rc = render(q, &s, 0, 0);
	snaps_free(&s);
	return rc;
}

static void
sleep_s(uint32_t seconds)
{
	struct timespec ts = { .tv_sec = seconds };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
do_profile(struct req *q)
{
	struct target_list l;
	struct snaps s = { 0 };
	uint64_t heap_a = 0, heap_b = 0;
	int rc = select_targets(q, 1, &l);

	if (!rc)
		rc = check_frames(q, &l);
	if (!rc)
		rc = start_all(q, &l);
	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	st_set_init(&s.set);
	rc = snapshot_all(q, l.v, l.n, ST_OLD,
			  q->p.format != FORMAT_PICKLE, &s, &heap_a);
	if (!rc) {
		sleep_s(q->p.duration);
		rc = snapshot_all(q, l.v, l.n, ST_NEW, 1, &s, &heap_b);
	}
	/* stop what we started, whatever happened, before writing */
	stop_all(q, l.v, l.n);
	target_list_free(&l);
	if (!rc) {
		s.heap = heap_b;
		rc = render(q, &s, 1, (int64_t)heap_b - (int64_t)heap_a);
	} else {
		rc = q->status;
	}
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
	params_free(&q.p);
	err = sink_flush(q.out);
	free(q.out);
	return err ? err : rc;
}
