/* SPDX-License-Identifier: MIT */
/*
 * fuzz-segment.c - libFuzzer target: a segment file through the reader.
 * The input becomes "<pid>.seg" of a private directory (pid: this
 * process, so liveness and identity are checked against a real process)
 * and is read by seg_info_read and seg_list; a client opens it and, when
 * it validates, runs a status command with a 0 ms timeout against it (the
 * command protocol on a hostile header: nobody answers).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_read.h"

static char dir[64];
static char file[32];
static int dirfd = -1;

static int
list_fn(const struct seg_info *info, void *arg)
{
	(void)info;
	(void)arg;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seg_client c;
	struct seg_info info;
	char err[4400];
	int fd;

	if (dirfd < 0) {
		/* HAWK_FUZZ_DIR (make fuzz sets it, and removes it after),
		 * else a new directory in /tmp */
		const char *d = getenv("HAWK_FUZZ_DIR");

		if (d && strlen(d) < sizeof(dir)) {
			snprintf(dir, sizeof(dir), "%s", d);
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				abort();
		} else {
			snprintf(dir, sizeof(dir), "/tmp/hawk-fuzz-seg.XXXXXX");
			if (!mkdtemp(dir))
				abort();
		}
		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		snprintf(file, sizeof(file), "%d.seg", (int)getpid());
	}
	fd = openat(dirfd, file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	seg_info_read(dirfd, file, &info, err, sizeof(err));
	seg_list(dir, list_fn, NULL, NULL);
	if (seg_client_open(&c, dir, getpid(), err, sizeof(err)) == 0) {
		cmd_run(&c, CMD_STATUS, 0, 0, 0, NULL, err, sizeof(err));
		seg_client_close(&c);
	}
	unlinkat(dirfd, file, 0);
	return 0;
}
