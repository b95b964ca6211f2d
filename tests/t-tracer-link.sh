#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-link.sh - a program linked with -lhawk (no LD_PRELOAD) using
# hawk.h; tr-link emits its own TAP lines.
# Then a start with gc through the segment runs the program's gc hook.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"
HAWK_DIR="$tmpdir" "$top_builddir/tests/fixtures/tr-link" |
	sed -e '/^1\.\./d' >"$tmpdir/tap"
cat "$tmpdir/tap"
tap_n=$(grep -c '^ok\|^not ok' "$tmpdir/tap")
tap_failed=$(grep -c '^not ok' "$tmpdir/tap")

fx_start "$fxdir/tr-link" -- --serve
is "$fx_ready" ready "linked program serving"
is "$(fx hooks)" "hooks=0" "no hook run yet"
hd $fx_pid start 5
is "$(fx hooks)" "hooks=0" "a start without gc runs no hook"
hd $fx_pid stop
hd $fx_pid start 5 gc
is $? 0 "start with gc"
is "$(fx hooks)" "hooks=1" "gc ran the registered hook once"
fx_stop
done_testing
