/* SPDX-License-Identifier: MIT */
/*
 * seg_proc.h - a process's start time from /proc (seg_proc.c), for the
 * writer and the reader alike.  Private to ipc/.  No malloc, no stdio.
 */
#ifndef HAWK_IPC_SEG_PROC_H
#define HAWK_IPC_SEG_PROC_H

#include <stddef.h>
#include <stdint.h>

/* Read the small /proc file `path` whole into buf (at most len - 1 bytes,
 * NUL-terminated): the number of bytes, or -errno. */
long seg_proc_read(const char *path, char *buf, size_t len);

/* Start time (field 22 of /proc/<pid>/stat) of a process: 0 or -errno
 * (-EINVAL for pid <= 0, -EPROTO for a line that does not parse). */
int seg_proc_start_time(int32_t pid, uint64_t *start_time);

/* The same for the calling process, from /proc/self/stat (right in any
 * pid namespace). */
int seg_proc_self_start_time(uint64_t *start_time);

#endif /* HAWK_IPC_SEG_PROC_H */
