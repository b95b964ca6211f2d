/* SPDX-License-Identifier: MIT */
/* ipc/seg_read.c - see seg.h (being written) */
#include "seg.h"
