/* SPDX-License-Identifier: MIT */
/*
 * sym_cred.c - whose rights the symbolizer opens a target's files with.
 *
 * Everything a snapshot names (module paths, the source files its DWARF
 * names, the pid behind /proc/<pid>/root) comes from the target, so the
 * responder must not open it with its own rights: it would be a confused
 * deputy (a root responder handing /etc/shadow's lines to a program whose
 * debug info names it).  The rule: open only what the target process
 * itself could open, and only regular files, without blocking.
 *
 *  - The credentials are the target process's own, read from
 *    /proc/<pid>/status (uid, gid, supplementary groups), and only when
 *    /proc/<pid>/stat's start time equals the snapshot's before and after
 *    (the pid was not reused), and its real, effective, saved and
 *    filesystem ids agree (a set-id process in mid-change has rights its
 *    owner lacks: nothing is opened for it).  That the snapshot's pid is
 *    the process that wrote it is the reader's check (the segment's owner
 *    must be that process's uid, the snapshot's pid and start time the
 *    segment's: ipc/), which this file relies on.
 *  - SYM_CRED_SELF: the target runs as root, or as the responder's own
 *    uid: the responder's rights are not more than the target's, files
 *    are opened as they are.
 *  - SYM_CRED_AS: a root responder and a target of another uid: the
 *    calling thread takes the target's filesystem credentials for the
 *    open (setgroups, setfsgid, setfsuid through raw system calls: they
 *    are per thread on Linux, and glibc broadcasts setgroups to every
 *    thread, so its wrapper must not be used), then takes its own back.
 *    The kernel then checks every path component, ACLs and LSMs as for
 *    the target; /proc/<pid>/root and map_files need ptrace access,
 *    checked with the filesystem ids too.
 *  - SYM_CRED_NONE: a responder that is not root cannot take another
 *    uid's rights, and checking mode bits by hand would miss ACLs, LSMs
 *    and races along the path: it opens nothing for such a target (its
 *    frames keep module and offset; its JSON carries build-ids and
 *    offsets to symbolize elsewhere).  Same when the process is gone.
 *
 * Every open of an untrusted path is preceded by a stat() that must say
 * S_ISREG (a device, FIFO or socket is never opened), then is O_NONBLOCK
 * (a FIFO swapped in meanwhile does not block) and O_NOCTTY, and fstat
 * must give the same regular file.  No lock of the symbolizer is held
 * across these opens (symbols.c).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seg_proc.h"          /* seg_proc_start_time */
#include "sym_int.h"

/* Parse "Name:\tA\tB\tC\tD" ids of /proc/<pid>/status; 1 when all four
 * were read and are equal, into *v. */
static int
ids_equal(const char *line, unsigned long *v)
{
	unsigned long a, b, c, d;

	if (sscanf(line, "%*s %lu %lu %lu %lu", &a, &b, &c, &d) != 4)
		return 0;
	*v = a;
	return a == b && b == c && c == d;
}

static int
cred_read(int32_t pid, uint64_t start_time, struct sym_cred *c)
{
	char path[64], *line = NULL;
	int got_uid = 0, got_gid = 0, got_groups = 0;
	unsigned long v;
	size_t cap = 0;
	uint64_t t;
	FILE *f;

	if (seg_proc_start_time(pid, &t) != 0 || t != start_time)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%" PRId32 "/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "Uid:", 4) == 0) {
			got_uid = ids_equal(line, &v) ? 1 : -1;
			c->uid = (uid_t)v;
		} else if (strncmp(line, "Gid:", 4) == 0) {
			got_gid = ids_equal(line, &v) ? 1 : -1;
			c->gid = (gid_t)v;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;

			got_groups = 1;
			c->ngroups = 0;
			/* more groups than we keep: fewer rights, never more */
			while (c->ngroups < SYM_CRED_GROUPS) {
				v = strtoul(p, &end, 10);
				if (end == p)
					break;
				c->groups[c->ngroups++] = (gid_t)v;
				p = end;
			}
		}
	}
	free(line);
	fclose(f);
	if (got_uid != 1 || got_gid != 1 || !got_groups)
		return -EPERM;
	/* the status read belongs to the process of the snapshot */
	if (seg_proc_start_time(pid, &t) != 0 || t != start_time)
		return -ESRCH;
	return 0;
}

int
sym_cred_default(int32_t pid, uint64_t start_time, struct sym_cred *c)
{
	uid_t me = geteuid();
	int o;

	memset(c, 0, sizeof(*c));
	c->mode = SYM_CRED_NONE;
	strcpy(c->key, "none");
	if (pid <= 0 || cred_read(pid, start_time, c) != 0)
		return 0;
	if (c->uid == 0 || c->uid == me) {
		c->mode = SYM_CRED_SELF;
		strcpy(c->key, "self");
		return 0;
	}
	if (me != 0)
		return 0;          /* SYM_CRED_NONE */
	c->mode = SYM_CRED_AS;
	o = snprintf(c->key, sizeof(c->key), "u%lu:g%lu:",
		     (unsigned long)c->uid, (unsigned long)c->gid);
	for (int i = 0; i < c->ngroups && o < (int)sizeof(c->key) - 12; i++)
		o += snprintf(c->key + o, sizeof(c->key) - (size_t)o, "%s%lu",
			      i ? "," : "", (unsigned long)c->groups[i]);
	return 0;
}

int (*sym_cred_hook)(int32_t pid, uint64_t start_time,
		     struct sym_cred *c) = sym_cred_default;

int
sym_cred_of(int32_t pid, uint64_t start_time, struct sym_cred *c)
{
	return sym_cred_hook(pid, start_time, c);
}

/*
 * Take c's filesystem credentials for the calling thread; *saved gets
 * what sym_cred_leave restores.  Returns 0 or -errno (then nothing
 * changed).
 */
static int
cred_enter(const struct sym_cred *c, struct sym_cred_saved *saved)
{
	saved->active = false;
	if (c->mode != SYM_CRED_AS)
		return 0;
	saved->ngroups = getgroups(SYM_CRED_GROUPS, saved->groups);
	if (saved->ngroups < 0)
		return -errno;
	saved->fsuid = (uid_t)setfsuid((uid_t)-1);
	saved->fsgid = (gid_t)setfsgid((gid_t)-1);
	/* raw: glibc's setgroups() would change every thread's groups */
	if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) != 0)
		return -errno;
	saved->active = true;
	setfsgid(c->gid);
	setfsuid(c->uid);
	/* setfsuid/setfsgid report failure only by a second call */
	if ((gid_t)setfsgid((gid_t)-1) != c->gid ||
	    (uid_t)setfsuid((uid_t)-1) != c->uid) {
		sym_cred_leave(saved);
		return -EPERM;
	}
	return 0;
}

void
sym_cred_leave(struct sym_cred_saved *saved)
{
	if (!saved->active)
		return;
	setfsuid(saved->fsuid);
	setfsgid(saved->fsgid);
	/* cannot fail with the rights we had; if it did, the thread would
	 * keep fewer groups, never more rights */
	(void)syscall(SYS_setgroups, (size_t)saved->ngroups, saved->groups);
	saved->active = false;
}

int
sym_cred_enter(const struct sym_cred *c, struct sym_cred_saved *saved)
{
	if (c->mode == SYM_CRED_NONE)
		return -EACCES;
	return cred_enter(c, saved);
}

int
sym_open_untrusted(const char *path, struct stat *st)
{
	struct stat pre;
	int fd;

	/* opening a device may act (a watchdog, a tape): look first */
	if (stat(path, &pre) != 0)
		return -errno;
	if (!S_ISREG(pre.st_mode))
		return -ENOEXEC;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    st->st_dev != pre.st_dev || st->st_ino != pre.st_ino) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}
