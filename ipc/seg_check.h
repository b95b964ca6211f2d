/* SPDX-License-Identifier: MIT */
/*
 * seg_check.h - the reader's validation, shared by its units: a segment's
 * (seg_read.c, for seg_list.c, seg_client.c, seg_remove.c) and a check
 * of the snapshot parser (snap_stream.c).  Private to ipc/: not part of
 * the seg_read.h API.
 */
#ifndef HAWK_IPC_SEG_CHECK_H
#define HAWK_IPC_SEG_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seg_read.h"

/* Parse "<pid>.seg" or "<pid>.<tag>.seg" (decimal pid, no sign, no
 * leading zero; tag: 8 lowercase hex digits; segment.h): pid or -1. */
int32_t seg_file_pid(const char *file);

/* A segment file found by a listing. */
struct seg_name {
	int32_t pid;
	char file[32];
};

/* seg_list.c: every segment file name of dirfd (of pid `only`, if > 0),
 * sorted by pid then name, in *out (malloc'd, free() it); count or
 * -errno. */
ssize_t seg_names(int dirfd, int32_t only, struct seg_name **out);

/* Open and validate <dirfd>/<file> with open flags `flags` (O_RDONLY or
 * O_RDWR) and fill *out, alive included; on success the descriptor is
 * kept in *fdp when fdp is not NULL (else closed).  0 or -errno with a
 * reason in err. */
int seg_open_check(int dirfd, const char *file, int flags,
		   struct seg_info *out, int *fdp, char *err, size_t errlen);

/* snap_stream.c: whether a trace's estimates can come from its sampled
 * figures at sampling rate `rate` (0: exact, they must be equal). */
int snap_est_ok(const struct snap_trace *t, uint64_t rate);

#endif /* HAWK_IPC_SEG_CHECK_H */
