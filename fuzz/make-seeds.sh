#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/make-seeds.sh BUILDDIR - make the fuzzers' seed corpora again from
# real files: a traced program (tests/fixtures/fc-leak under libhawk) is
# snapshotted (streams, as hawk-dump re-encodes what it read) before and
# after it leaks 1000 blocks of 4096 bytes and 10 of 1000 (with and
# without block sizes, and its allocated view), its segment is copied while it traces, and a few real queries
# are written.  Run from the source tree after a plain build; commit what
# changes in fuzz/corpus/.
set -eu
b=$(cd "${1:?usage: fuzz/make-seeds.sh BUILDDIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
c=$src/fuzz/corpus
t=$(mktemp -d)
trap 'touch "$t/run/quit"; rm -rf "$t"' EXIT
mkdir -p "$t/seg" "$t/run" "$c/fuzz-snapshot" "$c/fuzz-segment" "$c/fuzz-query"
HAWK_DIR=$t/seg HAWK_NAME=seed LD_PRELOAD=$b/tracer/.libs/libhawk.so \
	"$b/tests/fixtures/fc-leak" "$t/run" &
pid=$!
while [ ! -e "$t/seg/$pid.seg" ]; do sleep 0.05; done
dump=$b/tests/hawk-dump
"$dump" "$t/seg" "$pid" start 16 >/dev/null
"$dump" --save "$c/fuzz-snapshot/empty.snap" "$t/seg" "$pid" snapshot >/dev/null
cp "$t/seg/$pid.seg" "$c/fuzz-segment/tracing.seg"
touch "$t/run/go"
while [ ! -e "$t/run/done" ]; do sleep 0.05; done
touch "$t/run/go2"
while [ ! -e "$t/run/done2" ]; do sleep 0.05; done
"$dump" --save "$c/fuzz-snapshot/leak.snap" "$t/seg" "$pid" snapshot >/dev/null
"$dump" --no-sizes --save "$c/fuzz-snapshot/leak-nosizes.snap" "$t/seg" "$pid" snapshot >/dev/null
"$dump" --save "$c/fuzz-snapshot/allocated.snap" "$t/seg" "$pid" snapshot allocated >/dev/null
"$dump" "$t/seg" "$pid" stop >/dev/null
cp "$t/seg/$pid.seg" "$c/fuzz-segment/idle.seg"
touch "$t/run/quit"
wait "$pid" || true
printf '/debug/prof/mem/tracemalloc/\nduration=10&name=hawk-demo&cumulative=true' >"$c/fuzz-query/profile"
printf '/debug/prof/mem/tracemalloc/start/\nframes=64&gc=false' >"$c/fuzz-query/start"
printf '/debug/prof/mem/tracemalloc/snapshot/?x\ncount=0&include=*/demo/*&exclude=%%2Fusr%%2F*&format=pickle&pid=42' >"$c/fuzz-query/snapshot"
printf '/debug/prof/mem/tracemalloc/targets\nname=%%C3%%A9t%%C3%%A9&all_frames=yes' >"$c/fuzz-query/targets"
ls -l "$c"/*
