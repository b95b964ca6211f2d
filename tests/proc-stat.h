/* SPDX-License-Identifier: MIT */
/*
 * proc-stat.h - the start time of a process (field 22 of /proc/PID/stat),
 * read independently of ipc/ so that tests can check the reader's own
 * parsing against it.  The command name (field 2) may hold spaces and
 * parentheses: fields are counted from the last ')'.  Returns 0 when the
 * process or the field cannot be read.
 */
#ifndef HAWK_TESTS_PROC_STAT_H
#define HAWK_TESTS_PROC_STAT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static inline uint64_t
proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p += 2;                    /* field 3 */
	for (i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

#endif /* HAWK_TESTS_PROC_STAT_H */
