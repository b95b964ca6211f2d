/* SPDX-License-Identifier: MIT */
/* ipc/cmd.c - see seg.h (being written) */
#include "seg.h"
