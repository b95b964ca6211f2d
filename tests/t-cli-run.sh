#!/bin/sh
# SPDX-License-Identifier: MIT
# t-cli-run.sh - `hawk run` with the real tracer: the program is traced
# from the start with --frames, shows in `hawk ps`, answers commands
# (tests/hawk-dump), is shown dead once killed and cleaned by --clean.
# Needs the built libhawk; skipped (with the reason) until it exists.
. "$top_srcdir/tests/lib.sh"
hawk=$top_builddir/cli/hawk
dump=$top_builddir/tests/hawk-dump
lib=$top_builddir/tracer/.libs/libhawk.so
[ -f "$lib" ] || skip_all "libhawk not built ($lib missing)"
HAWK_LIB=$lib
export HAWK_LIB
dir=$tmpdir/seg

row() { awk -v p="$1" '$1 == p { $1 = ""; sub(/^ /, ""); print }' "$tmpdir/out"; }
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	[ -e "$1" ]
}

# sleep allocates little, but runs long enough to be looked at
"$hawk" run --frames 5 --name clirun --dir "$dir" -- sleep 60 &
pid=$!
bg_pids=$pid
wait_file "$dir/$pid.seg"
ok $? "the program made its segment under its own pid"

"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>"$tmpdir/err"
ok $? "hawk ps exits 0"
is "$(row $pid | awk '{ print $1, $2, $3 }')" "clirun tracing 5" \
   "listed: name, tracing from the start, 5 frames"
is "$(cat "$tmpdir/err")" "" "nothing invalid"

"$dump" "$dir" $pid status >"$tmpdir/st" 2>"$tmpdir/err"
ok $? "hawk-dump status exits 0"
grep -q "^pid=$pid name=clirun alive=1 tracing=1 frames=5 " "$tmpdir/st"
ok $? "status: alive, tracing, 5 frames"
"$dump" "$dir" $pid start 5 >/dev/null 2>&1
is $? 3 "start while tracing: already started (exit 3)"
"$dump" "$dir" $pid stop >/dev/null 2>"$tmpdir/err"
ok $? "stop exits 0"
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $pid | awk '{ print $1, $2, $3 }')" "clirun idle -" "idle after stop"
"$dump" "$dir" $pid stop >/dev/null 2>&1
is $? 4 "stop when stopped: not started (exit 4)"

kill -9 $pid
wait $pid 2>/dev/null
bg_pids=""
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $pid | awk '{ print $1, $2 }')" "clirun dead" "killed: shown dead"
"$dump" "$dir" $pid stop >/dev/null 2>"$tmpdir/err"
is $? 1 "command to a dead target fails"
is "$(cat "$tmpdir/err")" "hawk-dump: stop pid $pid: target is not running" \
   "dead target: message"
"$hawk" ps --dir "$dir" --clean >"$tmpdir/out" 2>&1
grep -qx "removed dead segment $pid (clirun)" "$tmpdir/out"
ok $? "--clean removes it"
[ ! -e "$dir/$pid.seg" ]
ok $? "segment file gone"

# a normal exit (exit(3), not dash's _exit) removes the segment; the exit
# status comes through
"$hawk" run --dir "$dir" -- false
is $? 1 "exit status of the program"
is "$(ls -A "$dir")" "" "normal exit leaves no segment"
done_testing
