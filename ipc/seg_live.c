/* SPDX-License-Identifier: MIT */
/*
 * seg_live.c - is a target alive, and the reader's error messages: shared
 * by the reader's units (seg_read.c, seg_list.c, seg_client.c,
 * seg_remove.c, snap_read.c) and cmd.c.  The start time itself, and any
 * small /proc file (seg_proc_read), are read by seg_proc.c, which the
 * writer uses as well.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seg_live.h"
#include "segment.h"

void
seg_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
seg_proc_has_uid(int32_t pid, uid_t uid)
{
	char path[64], buf[4096], *p;
	unsigned long v[4];
	long n;
	int i;

	if (uid == 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%" PRId32 "/status", pid);
	n = seg_proc_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%lu %lu %lu %lu", &v[0], &v[1], &v[2],
			 &v[3]) != 4)
		return -EPROTO;
	for (i = 0; i < 4; i++)
		if (v[i] == (unsigned long)uid)
			return 1;
	return 0;
}

int
seg_alive(int fd, int32_t pid, uint64_t start_time)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = SEG_LOCK_ALIVE,
		.l_len = 1,
		.l_pid = 0,
	};
	uint64_t st;

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	if (seg_proc_start_time(pid, &st) < 0)
		return 0;
	return st == start_time;
}
