/* SPDX-License-Identifier: MIT */
/*
 * seg_check.h - seg_read.c's validation of one segment, shared by the
 * reader's units (seg_list.c, seg_client.c, seg_remove.c).  Private to
 * ipc/: not part of the seg_read.h API.
 */
#ifndef HAWK_IPC_SEG_CHECK_H
#define HAWK_IPC_SEG_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "seg_read.h"

/* Parse "<pid>.seg" (decimal, no sign, no leading zero): pid or -1. */
int32_t seg_file_pid(const char *file);

/* Open and validate <dirfd>/<file> with open flags `flags` (O_RDONLY or
 * O_RDWR) and fill *out, alive included; on success the descriptor is
 * kept in *fdp when fdp is not NULL (else closed).  0 or -errno with a
 * reason in err. */
int seg_open_check(int dirfd, const char *file, int flags,
		   struct seg_info *out, int *fdp, char *err, size_t errlen);

#endif /* HAWK_IPC_SEG_CHECK_H */
