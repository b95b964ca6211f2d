#!/bin/sh
# SPDX-License-Identifier: MIT
# t-cli-run.sh - `hawk run` with the real tracer: the program is traced
# from the start with --frames, shows in `hawk ps`, answers commands
# (tests/hawk-dump), is shown dead once killed and cleaned by --clean;
# ps figures are fresh and show RSS/anonymous memory and the allocator;
# --name does not pass to exec'd programs unless --inherit-name; a static
# binary is refused.
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

# ps asks each target to refresh: its figures are those of the moment,
# next to the process's resident and anonymous memory
fx=$top_builddir/tests/fixtures/tr-alloc
mkfifo "$tmpdir/in" "$tmpdir/fxout"
"$hawk" run --frames 5 --dir "$dir" -- "$fx" <"$tmpdir/in" >"$tmpdir/fxout" &
pid=$!
bg_pids=$pid
exec 3>"$tmpdir/in" 4<"$tmpdir/fxout"
read -r line <&4
echo "malloc 1000 4096" >&3
read -r line <&4
"$hawk" ps --dir "$dir" --json >"$tmpdir/json" 2>"$tmpdir/err"
if [ -n "$PYTHON3" ]; then
	got=$("$PYTHON3" -c '
import json, sys
r = [r for r in json.load(open(sys.argv[1])) if r["pid"] == int(sys.argv[2])][0]
print(r["traced_current"], r["allocator"], r["allocator_path"],
      0 < r["traced_current"] <= r["anon"] <= r["rss"])
' "$tmpdir/json" $pid)
	is "$got" "4096000 glibc None True" \
	   "ps --json: current at once (refreshed), glibc, within anon <= rss"
else
	skip "python3 not found: --json content not parsed"
fi
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $pid | awk '{ print $4, $5, $NF }')" "3.9 MiB glibc" \
   "ps table: current 3.9 MiB at once, allocator glibc"
echo exit >&3
exec 3>&- 4<&-
wait $pid
bg_pids=""

# --name names the process and its fork children, not programs they
# exec, unless --inherit-name
"$hawk" run --name named --dir "$dir" -- sh -c 'sleep 30 & echo $! >"$1"; wait' \
	sh "$tmpdir/child" &
pid=$!
bg_pids=$pid
wait_file "$tmpdir/child"
child=$(cat "$tmpdir/child")
bg_pids="$pid $child"
wait_file "$dir/$child.seg"
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $pid | awk '{ print $1 }') $(row $child | awk '{ print $1 }')" \
   "named sleep" "--name: the shell is named, the program it runs is not"
kill $child 2>/dev/null
wait $pid
rm -f "$tmpdir/child"
"$hawk" run --name named --inherit-name --dir "$dir" -- \
	sh -c 'sleep 30 & echo $! >"$1"; wait' sh "$tmpdir/child" &
pid=$!
bg_pids=$pid
wait_file "$tmpdir/child"
child=$(cat "$tmpdir/child")
bg_pids="$pid $child"
wait_file "$dir/$child.seg"
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $pid | awk '{ print $1 }') $(row $child | awk '{ print $1 }')" \
   "named named" "--inherit-name: the program it runs is named too"
kill $child 2>/dev/null
wait $pid
bg_pids=""
"$hawk" ps --dir "$dir" --clean >/dev/null 2>&1

# a static binary: LD_PRELOAD cannot reach it; refused, saying why
st=$top_builddir/tests/fixtures/cli-static
"$hawk" run --dir "$dir" -- "$st" >"$tmpdir/out" 2>"$tmpdir/err"
is $? 1 "static binary: refused (exit 1)"
is "$(cat "$tmpdir/err")" "hawk: run: $st is statically linked (no dynamic loader, so LD_PRELOAD has no effect): nothing could be traced; not running it" \
   "... saying why"
is "$(cat "$tmpdir/out")" "" "... and not run"

# a normal exit (exit(3), not dash's _exit) removes the segment; the exit
# status comes through
"$hawk" run --dir "$dir" -- false
is $? 1 "exit status of the program"
is "$(ls -A "$dir")" "" "normal exit leaves no segment"
done_testing
