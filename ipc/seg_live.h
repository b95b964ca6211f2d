/* SPDX-License-Identifier: MIT */
/*
 * seg_live.h - liveness of a target and error messages (seg_live.c),
 * shared by the reader's units and cmd.c.  Private to ipc/: not part of
 * the seg_read.h API.
 */
#ifndef HAWK_IPC_SEG_LIVE_H
#define HAWK_IPC_SEG_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * 1 when some process holds the OFD read lock on byte SEG_LOCK_ALIVE of the
 * segment open as `fd` (probed with F_OFD_GETLK for a write lock, which
 * takes no lock) and /proc/<pid>/stat field 22 equals start_time; else 0.
 * Can't fail: anything that can't be checked counts as dead.
 */
int seg_alive(int fd, int32_t pid, uint64_t start_time);

/*
 * Whether process `pid` runs as `uid`: 1 when uid is root or one of the
 * process's real, effective, saved or filesystem uids (/proc/<pid>/status),
 * 0 when not, -errno when that cannot be read (the process is gone).  A
 * segment of a live process must be owned by it: anyone can write a file
 * that names any pid and start time and hold its lock.
 */
int seg_proc_has_uid(int32_t pid, uid_t uid);

/* seg_proc_start_time, the start time of a process */
#include "seg_proc.h"

/* printf into err[errlen] (the callers' error buffer); NULL: nothing. */
__attribute__((format(printf, 3, 4))) void
seg_seterr(char *err, size_t errlen, const char *fmt, ...);

#endif /* HAWK_IPC_SEG_LIVE_H */
