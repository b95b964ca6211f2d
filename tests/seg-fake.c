/* SPDX-License-Identifier: MIT */
/*
 * seg-fake.c - makes hand-made segment files for the `hawk ps` tests, from
 * segment.h alone (no tracer):
 *
 *   seg-fake DIR write PID NAME TRACING FRAMES CURRENT PEAK MEMORY
 *       write "<PID>.seg" for some other (dead) process and exit
 *   seg-fake DIR hold NAME TRACING FRAMES CURRENT PEAK MEMORY
 *       write "<own pid>.seg" holding its alive lock, as a live target
 *       does, then wait until killed
 *
 * The file is written under a temporary name and renamed into place after
 * the lock is taken, so a reader that sees it sees it whole and locked.
 * A held segment answers no command (a hung target, for `ps` only).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segment.h"
#include "proc-stat.h"

static uint64_t
num(const char *s)
{
	return strtoull(s, NULL, 10);
}

int
main(int argc, char **argv)
{
	static char page[SEG_HEADER_SIZE];
	struct seg_header *h = (struct seg_header *)page;
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET,
		.l_start = SEG_LOCK_ALIVE, .l_len = 1,
	};
	char tmp[PATH_MAX], fin[PATH_MAX];
	int hold, a, fd;

	if (argc < 3)
		goto usage;
	hold = strcmp(argv[2], "hold") == 0;
	if (!hold && strcmp(argv[2], "write") != 0)
		goto usage;
	if (argc != (hold ? 9 : 10))
		goto usage;
	a = hold ? 3 : 4;
	h->magic = SEG_MAGIC;
	h->version = SEG_VERSION;
	h->header_size = SEG_HEADER_SIZE;
	h->ready = 1;
	h->pid = hold ? (int32_t)getpid() : (int32_t)num(argv[3]);
	h->start_time = hold ? proc_start_time(getpid()) : 1;
	snprintf(h->name, sizeof(h->name), "%s", argv[a]);
	h->max_frames = SEG_FRAMES_MAX;
	h->tracing = (uint32_t)num(argv[a + 1]);
	h->frames = (uint32_t)num(argv[a + 2]);
	h->traced_current = num(argv[a + 3]);
	h->traced_peak = num(argv[a + 4]);
	h->tracer_memory = num(argv[a + 5]);

	snprintf(tmp, sizeof(tmp), "%s/.tmp.%d", argv[1], (int)getpid());
	snprintf(fin, sizeof(fin), "%s/%" PRId32 "%s", argv[1], h->pid,
		 SEG_SUFFIX);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page) ||
	    (hold && fcntl(fd, F_OFD_SETLK, &fl) < 0) ||
	    rename(tmp, fin) < 0) {
		perror(tmp);
		unlink(tmp);
		return 1;
	}
	if (!hold) {
		close(fd);
		return 0;
	}
	for (;;)
		pause();
usage:
	fprintf(stderr, "usage: seg-fake DIR write PID NAME TRACING FRAMES "
		"CURRENT PEAK MEMORY\n"
		"       seg-fake DIR hold NAME TRACING FRAMES CURRENT PEAK "
		"MEMORY\n");
	return 2;
}
