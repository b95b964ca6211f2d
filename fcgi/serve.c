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
 * Snapshots are read once, forward, as they are taken (snapshot_one: a
 * snapshot may be a socket tomorrow): every target's is aggregated into
 * the request's set as it is read and its totals taken once it ended
 * valid; one that fails half-way is dropped from the set again.  The
 * pickle streams each target's snapshot straight into the response, one
 * target after the other (render_pickle says what a failure then does).
 * The fixed-duration route stops what it started on every path out
 * (error, client gone), before anything is written to the client - but
 * for the pickle, written from the second snapshots as they are read,
 * after which the targets are stopped.
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
#include "tbtrie.h"

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
		target_cmd(q->cfg, &v[i], CMD_STOP, 0, 0, err,
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
					q->p.sampling, err, sizeof(err));
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

struct snaps {
	struct st_set set;
	struct textpool pool;
	uint64_t heap;             /* sum of traced_current */
	uint32_t limit;            /* largest traceback limit */
	struct st_filter filter;   /* the request's */
	struct fmt_pprof pp;       /* format=pprof: built as read */
	struct fmt_pprof_build *pb;
	struct tbtrie trie;        /* format=traceback: its tracebacks */
	uint64_t first_ns, last_ns;   /* when the snapshots were taken */
};

static void
snaps_init(struct req *q, struct snaps *s)
{
	memset(s, 0, sizeof(*s));
	st_set_init(&s->set);
	tbtrie_init(&s->trie);
	s->set.view = q->p.view;
	s->filter.include = q->p.include;
	s->filter.n_include = q->p.n_include;
	s->filter.exclude = q->p.exclude;
	s->filter.n_exclude = q->p.n_exclude;
	s->filter.all_frames = q->p.all_frames;
}

static void
snaps_free(struct snaps *s)
{
	fmt_pprof_free(s->pb);
	s->pb = NULL;
	tbtrie_free(&s->trie);
	st_set_free(&s->set);
	textpool_free(&s->pool);
}

/* The pprof builder of s (delta: ST_NEW - ST_OLD), before any snapshot;
 * on error the response is written. */
static int
snaps_pprof(struct req *q, struct snaps *s, int delta, int allocs)
{
	s->pp.set = &s->set;
	s->pp.filter = &s->filter;
	s->pp.delta = delta;
	s->pp.allocs = allocs;
	s->pp.period = 1;
	s->pb = fmt_pprof_begin(&s->pp);
	if (!s->pb)
		return fail_errno(q, -ENOMEM, "out of memory", 0), -ENOMEM;
	return 0;
}

/* SNAPSTAT_TRACE's hook: a trace into the pprof profile, or for the
 * traceback format into the trie. */
static int
trace_hook(void *arg, const struct snapstat_trace *t)
{
	struct snaps *s = arg;

	if (s->pb)
		return fmt_pprof_add(s->pb, t->snap, t->target, t->gen,
				     t->addrs, t->nl, t->naddrs, t->ids,
				     t->size, t->count);
	return tbtrie_add(&s->trie, t->target, t->gen, t->ids, t->nids,
			  t->size, t->count);
}

/* Leave target pid out of everything s holds (both generations). */
static void
snaps_drop(struct snaps *s, int32_t pid)
{
	size_t i;

	for (i = 0; i < s->set.n_pids; i++)
		if (s->set.pids[i] == pid) {
			st_drop_target(&s->set, (uint32_t)i);
			tbtrie_drop(&s->trie, (uint32_t)i);
			if (s->pb)
				fmt_pprof_drop(s->pb, (uint32_t)i);
		}
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
	if (q->p.format == FORMAT_PPROF ||    /* the profile */
	    q->p.format == FORMAT_TRACEBACK)  /* the trie (tbtrie.h) */
		return SNAPSTAT_TRACE;
	if (q->p.format != FORMAT_LINENO)  /* collapsed, flame */
		return SNAPSTAT_FULL;
	if (q->p.cumulative)
		return filters ? SNAPSTAT_FULL : SNAPSTAT_EACH_FRAME;
	return filters && q->p.all_frames ? SNAPSTAT_FULL : SNAPSTAT_FRAME0;
}

/*
 * CMD_SNAPSHOT of `view` (| flags) on target t, its stream read once, to
 * its end, and aggregated into s as generation gen the way `mode` says
 * (SNAPSTAT_PICKLE is render_pickle's, not this).  Only once the stream
 * ended valid are its totals taken (traced_current into *current, limit,
 * sampling rate, time).  A target that fails (command, or a malformed or
 * truncated stream) is recorded in q->failed and what it added is dropped
 * again, so it spoils no other target's figures.  Returns 0, the target's
 * error, or -ENOMEM with the response written (the request is over).
 */
static int
snapshot_one(struct req *q, struct snaps *s, const struct seg_info *t,
	     uint32_t flags, enum st_gen gen, enum snapstat_agg mode,
	     uint64_t *current)
{
	struct snapstat_hooks hk = { .trace = trace_hook, .arg = s };
	struct snap_stream ss;
	char err[512] = "";
	int rc;

	memset(&ss, 0, sizeof(ss));
	ss.fd = -1;
	rc = target_snapshot_stream(q->cfg, t, q->p.view | flags,
				    mode == SNAPSTAT_PICKLE, &ss, err,
				    sizeof(err));
	if (rc == -EOPNOTSUPP)     /* view=peak of an exact target: */
		rc = -ENOTCONN;    /* a conflict with its mode, 409 */
	if (rc == 0) {
		rc = snapstat_add_stream(q->sym, &ss, gen, mode, &s->set,
					 &s->pool, &hk, err, sizeof(err));
		if (rc == 0) {
			/* the stream ended valid: its totals hold now */
			if (ss.h.frames > s->limit)
				s->limit = ss.h.frames;
			if (ss.h.sampling_bytes > s->set.sampling_bytes)
				s->set.sampling_bytes = ss.h.sampling_bytes;
			if (!s->first_ns || ss.h.time_ns < s->first_ns)
				s->first_ns = ss.h.time_ns;
			if (ss.h.time_ns > s->last_ns)
				s->last_ns = ss.h.time_ns;
			if (current)
				*current = ss.h.traced_current;
		} else {
			snaps_drop(s, t->pid);
		}
		snap_stream_close(&ss);
	}
	if (rc == -ENOMEM) {
		fail_errno(q, rc, "symbolizing: out of memory", t->pid);
		return rc;
	}
	if (rc)
		failed_add(q, t->pid, rc, err[0] ? err : strerror(-rc));
	return rc;
}

/* The pickle: its headers, written once the first target's stream is
 * open (status 207 and X-Hawk-Failed when targets failed before). */
static void
pickle_headers(struct req *q, struct snaps *s)
{
	char disp[1024], stamp[32];
	struct tm tm;
	time_t now;

	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
	snprintf(disp, sizeof(disp), "Content-Disposition: attachment;"
		 " filename=hwk_mem_tracemalloc_snapshot_%s.pkl\r\n"
		 "X-Hawk-View: %s\r\nX-Hawk-Sampling-Bytes: %" PRIu64
		 "\r\n", stamp, st_view_name(s->set.view),
		 s->set.sampling_bytes);
	if (q->n_failed)
		failed_header(q, disp, sizeof(disp));
	headers(q, q->n_failed ? 207 : 200, "application/octet-stream",
		disp);
}

struct pickle_arg {
	struct fmt_pickle *fp;
	const struct st_filter *f;
	uint64_t traces;           /* pickle traces so far (unfiltered) */
	int too_many;              /* past ST_PICKLE_TRACES_MAX */
};

static int
pickle_flush(void *arg, struct st_set *set)
{
	struct pickle_arg *a = arg;

	/* one pickle trace per block (estimated or allocated): counted as
	 * the chunks come, the total being known only at the end */
	a->traces += st_pickle_traces(set);
	if (a->traces > ST_PICKLE_TRACES_MAX) {
		a->too_many = 1;
		return -EFBIG;
	}
	return fmt_pickle_traces(a->fp, set, a->f);
}

/*
 * The pickle of the targets v[0..n) with ok[i] set: target after target,
 * each snapshot streamed straight into the response (snapshot, write,
 * close, next target), so no target's stream is held open while another
 * is written and memory stays bounded.  The status line must go out before
 * the first target's traces, so:
 *  - with several targets, each is first asked for its status
 *    (CMD_STATUS, the command timeout): one that does not answer or
 *    exited fails now, listed in X-Hawk-Failed (207), and is left out;
 *  - targets are tried in order until one's stream opens; those that fail
 *    before it are listed too; none opens: the failure response;
 *  - once the headers are out, a target that exited in the meantime is
 *    left out (none of it was written, its heap is gone); any other
 *    failure (a later target's command, a malformed or truncated stream,
 *    more than ST_PICKLE_TRACES_MAX traces) cuts the pickle short: its STOP opcode is never written, so
 *    pickle.load fails ("pickle data was truncated") rather than return a
 *    snapshot missing what the status said was there.  The reason goes to
 *    stderr (the server's error log).
 * Returns the status, or -ENOMEM with the response written.
 */
static int
render_pickle(struct req *q, struct snaps *s, const struct seg_info *v,
	      size_t n, const int *ok)
{
	struct snapstat_hooks hk = { .flush = pickle_flush };
	struct pickle_arg a = { .f = &s->filter };
	struct snap_stream ss;
	char err[512];
	size_t i, good = 0;
	int rc = 0, status = 0, *use;

	hk.arg = &a;
	use = calloc(n ? n : 1, sizeof(*use));
	if (!use)
		return fail_errno(q, -ENOMEM, "out of memory", 0);
	for (i = 0; i < n; i++)
		good += (use[i] = ok[i]) != 0;
	for (i = 0; good > 1 && i < n; i++) {
		if (!use[i])
			continue;
		err[0] = '\0';
		rc = target_cmd(q->cfg, &v[i], CMD_STATUS, 0, 0, err,
				sizeof(err));
		if (rc == 0) {
			if (v[i].sampling > s->set.sampling_bytes)
				s->set.sampling_bytes = v[i].sampling;
			continue;
		}
		use[i] = 0;
		failed_add(q, v[i].pid, rc, err[0] ? err : strerror(-rc));
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		if (!use[i])
			continue;
		err[0] = '\0';
		memset(&ss, 0, sizeof(ss));
		ss.fd = -1;
		rc = target_snapshot_stream(q->cfg, &v[i], q->p.view, 1, &ss,
					    err, sizeof(err));
		if (rc == -EOPNOTSUPP)
			rc = -ENOTCONN;
		if (rc && !a.fp) {         /* before the headers: listed */
			if (rc == -ENOMEM)
				break;
			failed_add(q, v[i].pid, rc, err);
			rc = 0;
			continue;
		}
		if (rc == -ESRCH) {
			/* exited since its status answered: nothing of it
			 * was written and its heap is gone; the pickle is
			 * that of the processes there are */
			fprintf(stderr, "hawk-fcgi: pickle: %s, left out\n",
				err);
			rc = 0;
			continue;
		}
		if (!rc && !a.fp) {
			if (ss.h.frames > s->limit)
				s->limit = ss.h.frames;
			if (ss.h.sampling_bytes > s->set.sampling_bytes)
				s->set.sampling_bytes = ss.h.sampling_bytes;
			status = q->n_failed ? 207 : 200;
			pickle_headers(q, s);
			a.fp = fmt_pickle_begin(q->out);
			if (!a.fp) {       /* the body is empty: no pickle */
				snap_stream_close(&ss);
				free(use);
				return status;
			}
		}
		if (!rc)
			rc = snapstat_add_stream(q->sym, &ss, ST_NEW,
						 SNAPSTAT_PICKLE, &s->set,
						 &s->pool, &hk, err,
						 sizeof(err));
		if (!rc && ss.h.frames > s->limit)
			s->limit = ss.h.frames;
		snap_stream_close(&ss);
		if (rc) {
			fprintf(stderr, "hawk-fcgi: pickle cut short at "
				"target %d: %s\n", (int)v[i].pid,
				a.too_many ? "more than 50000000 traces "
				"(one per block, estimated or allocated)" :
				err[0] ? err : strerror(-rc));
			break;
		}
	}
	free(use);
	if (!a.fp) {
		if (rc == -ENOMEM)
			return fail_errno(q, rc, "out of memory", 0);
		return fail_all(q);
	}
	if (rc) {
		fmt_pickle_abort(a.fp);
		return status;
	}
	rc = fmt_pickle_end(a.fp, s->limit ? s->limit :
			    s->set.traceback_limit);
	return rc ? rc : status;
}

/* The pprof profile built in s: a delta when diff (ST_NEW - ST_OLD). */
static int
render_pprof(struct req *q, struct snaps *s, int diff, int allocs)
{
	char disp[1024], stamp[32];
	struct tm tm;
	time_t now;
	int err, status;

	s->pp.time_ns = (int64_t)s->last_ns;
	s->pp.duration_ns = diff ? (int64_t)(s->last_ns - s->first_ns) : 0;
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
	err = fmt_pprof_end(s->pb, q->out);
	s->pb = NULL;
	return err ? err : status;
}

/* Write the statistics (or the pprof profile) of s: 200, or 207 when
 * some targets failed (q->failed). */
static int
render(struct req *q, struct snaps *s, int diff, int64_t heap_diff)
{
	const struct st_filter f = s->filter;
	struct fmt_json_stats j = { 0 };
	struct st_list l;
	char disp[1024];
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
	j.key = q->p.format == FORMAT_TRACEBACK ? ST_TRACEBACK : ST_LINENO;
	/* traceback: only the statistics shown become traces of the set */
	err = j.key == ST_TRACEBACK ?
	      tbtrie_select(&s->trie, &s->set, diff, &f, q->p.count) : 0;
	if (!err)
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
		rc = target_cmd(q->cfg, &l.v[i], CMD_STOP, 0, 0, err,
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

/* snapshot/: every selected target that is tracing, one after the other,
 * each snapshot read once and aggregated as it is read (the pickle
 * written as it is read: render_pickle). */
static int
do_snapshot(struct req *q)
{
	struct target_list l;
	struct snaps s;
	enum snapstat_agg mode = agg_mode(q);
	uint64_t cur = 0;
	size_t i, good = 0;
	int rc = tracing_targets(q, &l), *ok = NULL;

	if (rc) {
		target_list_free(&l);
		return q->status;
	}
	snaps_init(q, &s);
	if (mode == SNAPSTAT_PICKLE) {
		ok = malloc(l.n * sizeof(*ok));
		if (!ok) {
			rc = fail_errno(q, -ENOMEM, "out of memory", 0);
			goto out;
		}
		for (i = 0; i < l.n; i++)
			ok[i] = 1;
		rc = render_pickle(q, &s, l.v, l.n, ok);
		goto out;
	}
	if (q->p.format == FORMAT_PPROF && snaps_pprof(q, &s, 0, 0)) {
		rc = q->status;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		rc = snapshot_one(q, &s, &l.v[i], 0, ST_NEW, mode, &cur);
		if (rc == -ENOMEM) {
			rc = q->status;
			goto out;
		}
		if (rc == 0) {
			good++;
			s.heap += cur;
		}
	}
	rc = good ? render(q, &s, 0, 0) : fail_all(q);
out:
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
 * Start, snapshot, wait, snapshot, stop.  Each snapshot is read once, as
 * it is taken: the first ones aggregated as ST_OLD (JSON and pprof show
 * the difference) or only validated (the pickle, the collapsed stacks and
 * the flame graph carry the second snapshot only), the second ones as
 * ST_NEW (the pickle's written as they are read).  A target that fails
 * any step is listed as failed and left out of the statistics (both of
 * its snapshots), so the diff covers exactly the targets that answered
 * twice; every target this request started is stopped, whatever happened.
 */
static int
do_profile(struct req *q)
{
	struct target_list l;
	struct snaps s;
	enum snapstat_agg mode = agg_mode(q), old_mode;
	uint64_t heap_a = 0, heap_b = 0, *cur_a = NULL, cur_b = 0;
	int *ok_a = NULL;
	size_t i, good = 0, first = 0;
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
	snaps_init(q, &s);
	old_mode = q->p.format == FORMAT_LINENO ||
		   q->p.format == FORMAT_TRACEBACK ||
		   q->p.format == FORMAT_PPROF ? mode : SNAPSTAT_CHECK;
	cur_a = calloc(l.n ? l.n : 1, sizeof(*cur_a));
	ok_a = calloc(l.n ? l.n : 1, sizeof(*ok_a));
	if (!cur_a || !ok_a) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto stop;
	}
	if (q->p.format == FORMAT_PPROF && snaps_pprof(q, &s, 1, 0)) {
		rc = q->status;
		goto stop;
	}
	for (i = 0; i < l.n; i++) {
		rc = snapshot_one(q, &s, &l.v[i], 0, ST_OLD, old_mode,
				  &cur_a[i]);
		if (rc == -ENOMEM) {
			rc = q->status;
			goto stop;
		}
		ok_a[i] = rc == 0;
		first += ok_a[i] != 0;
	}
	if (first)
		sleep_s(q->p.duration);
	if (mode == SNAPSTAT_PICKLE) {
		rc = render_pickle(q, &s, l.v, l.n, ok_a);
		goto stop;
	}
	/* again, those whose first snapshot worked */
	for (i = 0; i < l.n; i++) {
		if (!ok_a[i])
			continue;
		rc = snapshot_one(q, &s, &l.v[i], 0, ST_NEW, mode, &cur_b);
		if (rc == -ENOMEM) {
			rc = q->status;
			goto stop;
		}
		if (rc) {          /* its first snapshot goes too */
			snaps_drop(&s, l.v[i].pid);
			continue;
		}
		good++;
		heap_a += cur_a[i];
		heap_b += cur_b;
	}
	/* stop what we started, whatever happened, before writing */
	stop_all(q, l.v, l.n);
	if (!good) {
		rc = fail_all(q);
		goto out;
	}
	s.heap = heap_b;
	rc = render(q, &s, 1, diff_i64(heap_b, heap_a));
	goto out;
stop:
	stop_all(q, l.v, l.n);
out:
	free(cur_a);
	free(ok_a);
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
 * A target that fails is listed (207), as for snapshot/.  Each snapshot
 * goes into the profile as it is read.
 */
static int
do_pprof(struct req *q, int allocs)
{
	struct target_list l;
	struct snaps s;
	int *ok_a = NULL;
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
	snaps_init(q, &s);
	ok_a = calloc(l.n, sizeof(*ok_a));
	if (!ok_a) {
		rc = fail_errno(q, -ENOMEM, "out of memory", 0);
		goto out;
	}
	if (snaps_pprof(q, &s, q->p.seconds != 0, allocs)) {
		rc = q->status;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		rc = snapshot_one(q, &s, &l.v[i], flags,
				  q->p.seconds ? ST_OLD : ST_NEW,
				  SNAPSTAT_TRACE, NULL);
		if (rc == -ENOMEM) {
			rc = q->status;
			goto out;
		}
		ok_a[i] = rc == 0;
		good += ok_a[i] != 0;
	}
	if (good && q->p.seconds) {
		/* the delta: again, those whose first snapshot worked */
		sleep_s(q->p.seconds);
		good = 0;
		for (i = 0; i < l.n; i++) {
			if (!ok_a[i])
				continue;
			rc = snapshot_one(q, &s, &l.v[i], flags, ST_NEW,
					  SNAPSTAT_TRACE, NULL);
			if (rc == -ENOMEM) {
				rc = q->status;
				goto out;
			}
			if (rc)
				snaps_drop(&s, l.v[i].pid);
			else
				good++;
		}
	}
	rc = good ? render_pprof(q, &s, q->p.seconds != 0, allocs) :
	     fail_all(q);
out:
	free(ok_a);
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
