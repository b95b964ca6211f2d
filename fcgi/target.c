/* SPDX-License-Identifier: MIT */
/*
 * target.c - select targets and run commands on them.
 *
 * Only segments whose owner the configuration allows are listed, opened or
 * commanded (and, when dead, removed with their leftover snapshots by the
 * routes that act on live targets, or when a target dies under a command); the owner is checked again on the opened segment (a file
 * replaced between listing and opening is refused) and the snapshot's
 * socket must be the target's own (snap_stream_open checks its peer).  Turning a snapshot into
 * statistics is snapstat.c's job; repairing its text, textpool.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

struct select_arg {
	const struct config *c;
	int32_t pid;
	const char *name;
	int live_only;
	struct target_list *out;
	int err;
	int dirfd;                 /* c->dir, for select_unreadable */
};

static int
select_one(const struct seg_info *info, void *arg)
{
	struct select_arg *a = arg;
	struct target_list *l = a->out;
	size_t cap;
	void *p;

	if ((a->pid && info->pid != a->pid) ||
	    (a->name[0] && strcmp(info->name, a->name) != 0))
		return 0;
	if (!config_uid_allowed(a->c, info->uid)) {
		if (a->live_only && !info->alive)
			return 0;
		if (!l->n_refused++) {
			l->refused_pid = info->pid;
			l->refused_uid = info->uid;
		}
		return 0;
	}
	if (a->live_only && !info->alive) {
		/* a dead target's segment and leftover snapshots (a 0-byte or
		 * partial one if it was killed while writing): remove them
		 * where we may (best effort; seg_remove_dead checks again
		 * that nobody holds the segment) */
		seg_remove_dead(a->c->dir, info->pid, NULL, 0);
		return 0;
	}
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		p = realloc(l->v, cap * sizeof(*l->v));
		if (!p) {
			a->err = -ENOMEM;
			return 1;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *info;
	return 0;
}

/* A segment the responder could not read (typically 0600, another
 * uid's): for pid= of that very file, note its owner when allow_uids does
 * not admit it, so that the answer is 403 rather than 404. */
static void
select_unreadable(const char *file, const char *reason, void *arg)
{
	struct select_arg *a = arg;
	struct target_list *l = a->out;
	char want[32];
	struct stat st;

	(void)reason;
	if (!a->pid)
		return;
	snprintf(want, sizeof(want), "%d.seg", (int)a->pid);
	if (strcmp(file, want) != 0 || fstatat(a->dirfd, file, &st,
					       AT_SYMLINK_NOFOLLOW) != 0 ||
	    config_uid_allowed(a->c, st.st_uid))
		return;
	if (!l->n_refused++) {
		l->refused_pid = a->pid;
		l->refused_uid = st.st_uid;
	}
}

int
target_select(const struct config *c, int32_t pid, const char *name,
	      int live_only, struct target_list *out, char *err,
	      size_t errlen)
{
	struct select_arg a = { c, pid, name ? name : "", live_only, out, 0,
				-1 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = seg_dir_open(c->dir, err, errlen);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	a.dirfd = rc;
	rc = seg_list(c->dir, select_one, select_unreadable, &a);
	close(a.dirfd);
	if (rc == -EPERM)
		snprintf(err, errlen, "segment directory %s: refused", c->dir);
	else if (rc < 0 && rc != -ENOENT)
		snprintf(err, errlen, "reading segment directory %s: %s",
			 c->dir, strerror(-rc));
	if (a.err)
		return a.err;
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 0;
}

void
target_list_free(struct target_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* One command on the open client cl of target t (see target_cmd); a
 * snapshot is opened as a stream in ss. */
static int
cmd_checked(const struct config *c, const struct seg_info *t,
	    struct seg_client *cl, enum seg_cmd_op op, uint32_t frames,
	    uint32_t flags, struct snap_stream *ss, char *err, size_t errlen)
{
	uint32_t seq = 0;
	int rc;

	if (!config_uid_allowed(c, cl->info.uid) || cl->info.uid != t->uid) {
		snprintf(err, errlen, "target %d: segment owner changed",
			 (int)t->pid);
		return -EACCES;
	}
	rc = cmd_run(cl, op, frames, flags, (int)c->timeout_ms, &seq, err,
		     errlen);
	if (rc == -ETIMEDOUT || rc == -EINPROGRESS || rc == -EBUSY)
		snprintf(err, errlen, "target %d did not answer within %u ms",
			 (int)t->pid, c->timeout_ms);
	else if (rc == -ESRCH)
		snprintf(err, errlen, "target %d exited", (int)t->pid);
	else if (rc == -EALREADY)
		snprintf(err, errlen, "memory profiling already started in "
			 "target %d", (int)t->pid);
	else if (rc == -ENOTCONN)
		snprintf(err, errlen, "memory profiling not started in "
			 "target %d", (int)t->pid);
	else if (rc == -EOPNOTSUPP)
		snprintf(err, errlen, "target %d traces exactly and keeps no "
			 "profile at the peak (only its number); start it "
			 "with sampling=BYTES for view=peak", (int)t->pid);
	if (rc == 0 && op == CMD_SNAPSHOT && ss) {
		rc = snap_stream_open(ss, cl, seq,
				      (uint64_t)c->max_snapshot_mb << 20,
				      err, errlen);
		if (rc == 0 && ss->h.start_time != cl->info.start_time) {
			snprintf(err, errlen, "snapshot of target %d: start "
				 "time %llu, but its segment's is %llu",
				 (int)t->pid,
				 (unsigned long long)ss->h.start_time,
				 (unsigned long long)cl->info.start_time);
			snap_stream_close(ss);
			rc = -EPROTO;
		}
	}
	return rc;
}

static int
cmd_on(const struct config *c, const struct seg_info *t, enum seg_cmd_op op,
       uint32_t frames, uint32_t flags, uint64_t lease_ns, uint64_t sampling,
       struct snap_stream *ss, char *err, size_t errlen)
{
	struct seg_client cl;
	int rc;

	rc = seg_client_open(&cl, c->dir, t->pid, err, errlen);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	cl.lease_ns = lease_ns;
	cl.sampling = sampling;
	rc = cmd_checked(c, t, &cl, op, frames, flags, ss, err, errlen);
	seg_client_close(&cl);
	if (rc == -ESRCH)  /* died under the command: what it left */
		seg_remove_dead(c->dir, t->pid, NULL, 0);
	return rc;
}

int
target_cmd(const struct config *c, const struct seg_info *t,
	   enum seg_cmd_op op, uint32_t frames, uint32_t flags,
	   char *err, size_t errlen)
{
	return cmd_on(c, t, op, frames, flags, 0, 0, NULL, err, errlen);
}

int
target_cmd_sampled(const struct config *c, const struct seg_info *t,
		   enum seg_cmd_op op, uint32_t frames, uint32_t flags,
		   uint64_t sampling, char *err, size_t errlen)
{
	return cmd_on(c, t, op, frames, flags, 0, sampling, NULL, err,
		      errlen);
}

int
target_start_leased(const struct config *c, const struct seg_info *t,
		    uint32_t frames, uint32_t flags, uint32_t lease_ms,
		    char *err, size_t errlen)
{
	return target_start_leased_sampled(c, t, frames, flags, lease_ms, 0,
					   err, errlen);
}

int
target_start_leased_sampled(const struct config *c,
			    const struct seg_info *t, uint32_t frames,
			    uint32_t flags, uint32_t lease_ms,
			    uint64_t sampling, char *err, size_t errlen)
{
	struct timespec ts;
	uint64_t lease;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lease = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
		(uint64_t)lease_ms * 1000000u;
	return cmd_on(c, t, CMD_START, frames, flags, lease, sampling, NULL,
		      err, errlen);
}

int
target_snapshot_stream(const struct config *c, const struct seg_info *t,
		       uint32_t view, int sizes, struct snap_stream *ss,
		       char *err, size_t errlen)
{
	return cmd_on(c, t, CMD_SNAPSHOT, 0,
		      view | (sizes ? CMD_FLAG_SNAP_SIZES : 0), 0, 0, ss, err,
		      errlen);
}

int
target_refresh(const struct config *c, struct seg_info *t)
{
	struct seg_client cl;
	struct seg_info fresh;
	char err[256];
	unsigned ms = c->timeout_ms < TARGET_REFRESH_MS ? c->timeout_ms :
		      TARGET_REFRESH_MS;
	int dirfd, rc;

	rc = seg_client_open(&cl, c->dir, t->pid, err, sizeof(err));
	if (rc)
		return rc;
	rc = cl.info.uid == t->uid ?
	     cmd_run(&cl, CMD_STATUS, 0, 0, (int)ms, NULL, err, sizeof(err)) :
	     -EACCES;
	seg_client_close(&cl);
	if (rc)
		return rc;
	dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = seg_info_read(dirfd, t->file, &fresh, err, sizeof(err));
	close(dirfd);
	if (rc == 0 && fresh.uid == t->uid)
		*t = fresh;
	return rc;
}
