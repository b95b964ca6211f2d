/* SPDX-License-Identifier: MIT */
/*
 * seg_list.c - list the segments of a directory, in pid order, each
 * validated by seg_read.c; files that do not validate are reported, not
 * skipped silently.
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
pid_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

int
seg_list(const char *dir, seg_list_fn fn, seg_bad_fn bad_fn, void *arg)
{
	int32_t *pids = NULL, *grown;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dp;
	int dirfd, rc = 0;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	dp = fdopendir(dirfd);
	if (!dp) {
		rc = -errno;
		close(dirfd);
		return rc;
	}
	while ((d = readdir(dp))) {
		int32_t pid = seg_file_pid(d->d_name);

		if (pid < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(pids, cap * sizeof(*pids));
			if (!grown) {
				rc = -ENOMEM;
				goto out;
			}
			pids = grown;
		}
		pids[n++] = pid;
	}
	if (n)
		qsort(pids, n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n; i++) {
		char file[32], why[4400];
		struct seg_info info;
		int r;

		snprintf(file, sizeof(file), "%" PRId32 "%s", pids[i],
			 SEG_SUFFIX);
		r = seg_info_read(dirfd, file, &info, why, sizeof(why));
		if (r == -ENOENT)
			continue;       /* removed since readdir: not an error */
		if (r < 0) {
			if (bad_fn)
				bad_fn(file, why, arg);
			continue;
		}
		rc = fn(&info, arg);
		if (rc)
			break;
	}
out:
	free(pids);
	closedir(dp);
	return rc;
}
