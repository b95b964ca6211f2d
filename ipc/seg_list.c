/* SPDX-License-Identifier: MIT */
/*
 * seg_list.c - list the segments of a directory, in pid order, each
 * validated by seg_read.c; files that do not validate are reported, not
 * skipped silently.  Both names of segment.h ("<pid>.seg" and
 * "<pid>.<tag>.seg") are listed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_read.h"

static int
name_cmp(const void *a, const void *b)
{
	const struct seg_name *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return strcmp(x->file, y->file);
}

ssize_t
seg_names(int dirfd, int32_t only, struct seg_name **out)
{
	struct seg_name *v = NULL, *grown;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dp;
	int fd;

	*out = NULL;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		int e = errno;

		close(fd);
		return -e;
	}
	while ((d = readdir(dp))) {
		int32_t pid = seg_file_pid(d->d_name);

		if (pid < 0 || (only > 0 && pid != only) ||
		    strlen(d->d_name) >= sizeof(v->file))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				closedir(dp);
				return -ENOMEM;
			}
			v = grown;
		}
		v[n].pid = pid;
		snprintf(v[n].file, sizeof(v[n].file), "%s", d->d_name);
		n++;
	}
	closedir(dp);
	if (n)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	return (ssize_t)n;
}

int
seg_list(const char *dir, seg_list_fn fn, seg_bad_fn bad_fn, void *arg)
{
	struct seg_name *names;
	ssize_t n, i;
	int dirfd, rc = 0;

	dirfd = seg_dir_open(dir, NULL, 0);
	if (dirfd < 0)
		return dirfd;
	n = seg_names(dirfd, 0, &names);
	if (n < 0) {
		close(dirfd);
		return (int)n;
	}
	for (i = 0; i < n; i++) {
		char why[4400];
		struct seg_info info;
		int r;

		r = seg_info_read(dirfd, names[i].file, &info, why,
				  sizeof(why));
		if (r == -ENOENT)
			continue;       /* removed since readdir: not an error */
		if (r < 0) {
			if (bad_fn)
				bad_fn(names[i].file, why, arg);
			continue;
		}
		rc = fn(&info, arg);
		if (rc)
			break;
	}
	free(names);
	close(dirfd);
	return rc;
}
