/* SPDX-License-Identifier: MIT */
/* ipc/seg_write.c - see seg.h (being written) */
#include "seg.h"
