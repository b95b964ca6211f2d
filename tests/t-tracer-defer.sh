#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-defer.sh - the frees a thread hands to glibc late (defer.h):
# how many, when they are released, and a double free still reported by
# glibc at the second free.  tr-defer emits its own TAP lines; glibc's
# thread cache is off and every thread on the main arena so that its
# count of bytes in use is exact.
. "$top_srcdir/tests/lib.sh"
fx="$top_builddir/tests/fixtures/tr-defer"
HAWK_DIR="$tmpdir" \
GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1 \
	"$fx" | sed -e '/^1\.\./d' >"$tmpdir/tap"
cat "$tmpdir/tap"
tap_n=$(grep -c '^ok\|^not ok' "$tmpdir/tap")
tap_failed=$(grep -c '^not ok' "$tmpdir/tap")

# glibc's own check (its thread cache on, as by default)
HAWK_DIR="$tmpdir" "$fx" --double-free >"$tmpdir/out" 2>"$tmpdir/err"
rc=$?
is "$rc" 134 "double free of a traced block: glibc aborts (SIGABRT)"
is "$(cat "$tmpdir/out")" "" "... at the second free"
grep -q 'double free' "$tmpdir/err"
ok $? "... saying so: $(head -n 1 "$tmpdir/err")"
done_testing
