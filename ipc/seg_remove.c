/* SPDX-License-Identifier: MIT */
/*
 * seg_remove.c - delete a dead target's segment and its leftover snapshot
 * sockets: only when nobody holds the segment's alive lock, and only the
 * very file that was checked (a new process of the same pid may rename
 * its own segment into place meanwhile).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_live.h"
#include "seg_read.h"

/* Unlink "<pid>.snap.*" leftovers in dirfd. */
static void
remove_snaps(int dirfd, int32_t pid)
{
	char prefix[32];
	struct dirent *d;
	size_t plen;
	DIR *dp;
	int fd;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%" PRId32 "%s",
				pid, SNAP_INFIX);
	fd = dup(dirfd);
	if (fd < 0)
		return;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return;
	}
	rewinddir(dp);
	while ((d = readdir(dp)))
		if (strncmp(d->d_name, prefix, plen) == 0 &&
		    d->d_name[plen] >= '0' && d->d_name[plen] <= '9')
			unlinkat(dirfd, d->d_name, 0);
	closedir(dp);
}

/* seg_remove_dead for one file name of that pid. */
static int
remove_dead_one(const char *dir, const char *file, int32_t pid, char *err,
		size_t errlen)
{
	struct seg_info info;
	struct stat before, now;
	char path[4200];
	int dirfd, fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	dirfd = seg_dir_open(dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	rc = seg_open_check(dirfd, file, O_RDONLY, &info, &fd, err, errlen);
	if (rc == -EPROTO) {
		/* Invalid header: dead when nobody holds the alive lock. */
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = SEG_LOCK_ALIVE, .l_len = 1,
		};

		fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
		if (fd < 0) {
			rc = -errno;
			seg_seterr(err, errlen, "removing %s: %s", path,
			       strerror(-rc));
			goto out_dir;
		}
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
			info.alive = 1;
		else
			info.alive = 0;
		rc = 0;
	} else if (rc < 0) {
		goto out_dir;
	}
	if (!info.alive) {
		/* Dead by /proc, but the alive lock is the proof: a process
		 * we cannot see in /proc (hidepid, another pid namespace)
		 * still holds it while it runs; never remove such a file. */
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = SEG_LOCK_ALIVE, .l_len = 1,
		};

		if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
			info.alive = 1;
	}
	if (info.alive) {
		seg_seterr(err, errlen, "removing %s: the target is alive", path);
		rc = -EBUSY;
		goto out_fd;
	}
	/* Unlink only the file we checked: a new process of the same pid
	 * may have renamed its own segment into place meanwhile. */
	if (fstat(fd, &before) < 0 ||
	    fstatat(dirfd, file, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    before.st_ino != now.st_ino || before.st_dev != now.st_dev) {
		seg_seterr(err, errlen, "removing %s: replaced meanwhile", path);
		rc = -EAGAIN;
		goto out_fd;
	}
	if (unlinkat(dirfd, file, 0) < 0) {
		rc = -errno;
		seg_seterr(err, errlen, "removing %s: %s", path, strerror(-rc));
		goto out_fd;
	}
	remove_snaps(dirfd, pid);
	rc = 0;
out_fd:
	close(fd);
out_dir:
	close(dirfd);
	return rc;
}

int
seg_remove_dead(const char *dir, int32_t pid, char *err, size_t errlen)
{
	struct seg_name *alt;
	char file[32];
	ssize_t n, i;
	int dirfd, rc;

	if (pid <= 0) {
		seg_seterr(err, errlen, "removing segment: bad pid %" PRId32,
		       pid);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%" PRId32 "%s", pid, SEG_SUFFIX);
	rc = remove_dead_one(dir, file, pid, err, errlen);
	/* and the dead "<pid>.<tag>.seg" of that pid (segment.h) */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return rc;
	n = seg_names(dirfd, pid, &alt);
	close(dirfd);
	for (i = 0; i < n; i++) {
		char why[4400];
		int r;

		if (strcmp(alt[i].file, file) == 0)
			continue;
		r = remove_dead_one(dir, alt[i].file, pid, why, sizeof(why));
		if (rc == -ENOENT && r != -EBUSY) {
			rc = r;
			if (r < 0)
				seg_seterr(err, errlen, "%s", why);
		}
	}
	free(n > 0 ? alt : NULL);
	return rc;
}
