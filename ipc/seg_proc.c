/* SPDX-License-Identifier: MIT */
/*
 * seg_proc.c - the one /proc/PID/stat parser of ipc/: a process's start
 * time (field 22), which names a process together with its pid.  Used by
 * the writer (the segment's start_time, inside the target) and by the
 * reader (is the segment's process still the one that wrote it).
 * No malloc, no stdio (it is part of ipc/libipc-writer.la): the path is
 * formatted by hand and the file read with read(2).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg_proc.h"

long
seg_proc_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Read `path` (a /proc/.../stat file) and parse its field 22. */
static int
stat_start_time(const char *path, uint64_t *start_time)
{
	char buf[1024], *p, *end;
	long n;
	int field;

	n = seg_proc_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* "pid (comm) S ppid ...": comm may hold spaces and ')' itself, so
	 * the fields start after the last ')'.  Field 3 (state) is the first
	 * token after it; field 22 (starttime) the 20th. */
	p = strrchr(buf, ')');
	if (!p)
		return -EPROTO;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -EPROTO;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -EPROTO;
	errno = 0;
	*start_time = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EPROTO;
	return 0;
}

int
seg_proc_start_time(int32_t pid, uint64_t *start_time)
{
	char path[32] = "/proc/", digits[12];
	size_t len = strlen(path);
	int n = 0;
	uint32_t v;

	if (pid <= 0)
		return -EINVAL;
	for (v = (uint32_t)pid; v; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	while (n)
		path[len++] = digits[--n];
	memcpy(path + len, "/stat", sizeof("/stat"));
	return stat_start_time(path, start_time);
}

int
seg_proc_self_start_time(uint64_t *start_time)
{
	return stat_start_time("/proc/self/stat", start_time);
}
