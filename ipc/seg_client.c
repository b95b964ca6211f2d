/* SPDX-License-Identifier: MIT */
/*
 * seg_client.c - open one live target for commands: validate its segment
 * (seg_read.c) and map its header read-write, for cmd.c's protocol.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg_check.h"
#include "seg_live.h"
#include "seg_read.h"

int
seg_client_open(struct seg_client *c, const char *dir, int32_t pid,
		char *err, size_t errlen)
{
	char file[32];
	void *map;
	int dirfd, rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(dir) >= sizeof(c->dir)) {
		seg_seterr(err, errlen, "opening segment: directory name too long");
		return -ENAMETOOLONG;
	}
	if (pid <= 0) {
		seg_seterr(err, errlen, "opening segment: bad pid %" PRId32, pid);
		return -EINVAL;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(file, sizeof(file), "%" PRId32 "%s", pid, SEG_SUFFIX);
	dirfd = seg_dir_open(dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	rc = seg_open_check(dirfd, file, O_RDWR, &c->info, &c->fd, err,
			    errlen);
	if (rc < 0 || !c->info.alive) {
		/* "<pid>.seg" missing, invalid or dead: the live target may
		 * have published "<pid>.<tag>.seg" because someone else's
		 * file held its name (segment.h) */
		struct seg_name *alt;
		ssize_t n = seg_names(dirfd, pid, &alt), i;

		for (i = 0; i < n; i++) {
			struct seg_info info;
			int fd;

			if (strcmp(alt[i].file, file) == 0 ||
			    seg_open_check(dirfd, alt[i].file, O_RDWR, &info,
					   &fd, NULL, 0) < 0)
				continue;
			if (!info.alive) {
				close(fd);
				continue;
			}
			if (rc == 0)
				close(c->fd);
			c->info = info;
			c->fd = fd;
			rc = 0;
			break;
		}
		free(n > 0 ? alt : NULL);
	}
	close(dirfd);
	if (rc < 0) {
		c->fd = -1;
		return rc;
	}
	map = mmap(NULL, SEG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   c->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		seg_seterr(err, errlen, "mapping %s/%s: %s", dir, file,
		       strerror(-rc));
		close(c->fd);
		c->fd = -1;
		return rc;
	}
	c->h = map;
	return 0;
}

void
seg_client_close(struct seg_client *c)
{
	if (c->h)
		munmap(c->h, SEG_HEADER_SIZE);
	if (c->fd >= 0)
		close(c->fd);
	c->h = NULL;
	c->fd = -1;
}
