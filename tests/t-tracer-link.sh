#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-link.sh - a program linked with -lhawk (no LD_PRELOAD) using
# hawk.h; tr-link emits its own TAP lines.
. "$top_srcdir/tests/lib.sh"
HAWK_DIR="$tmpdir" "$top_builddir/tests/fixtures/tr-link"
