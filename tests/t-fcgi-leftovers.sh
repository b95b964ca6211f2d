#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-leftovers.sh - what a target killed with SIGKILL during a snapshot
# leaves behind (its segment, a 0-byte and a partial snapshot file) is
# removed by the next request that acts on live targets; targets/ still
# lists the dead target until then, and a request never removes a live
# target's files.  Also: a target whose name is not UTF-8 leaves targets/
# valid UTF-8 JSON (its bad bytes as Python's backslashreplace shows them).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

mkdir "$tmpdir/a" "$tmpdir/b" "$tmpdir/c"
HAWK_DIR=$seg HAWK_NAME=fc-dead LD_PRELOAD=$lib "$fix" "$tmpdir/a" &
pa=$!
HAWK_DIR=$seg HAWK_NAME=fc-live LD_PRELOAD=$lib "$fix" "$tmpdir/b" &
pb=$!
HAWK_DIR=$seg HAWK_NAME="$(printf 'bad\377name')" LD_PRELOAD=$lib "$fix" "$tmpdir/c" &
pc=$!
bg_pids="$pa $pb $pc"
waitfile "$seg/$pa.seg" && waitfile "$seg/$pb.seg" && waitfile "$seg/$pc.seg"
ok $? "three fixtures"
q targets/
is "$(json "[t['name'] for t in j if t['pid'] == $pc]")" "['bad\\\\xffname']" \
	"a name that is not UTF-8: targets/ is valid JSON, the byte as \\xff"
q start/ "pid=$pa"
is "$status" 200 "start/ on A"
kill -KILL $pa
wait $pa 2>/dev/null
# what a snapshot cut short by SIGKILL leaves: the file created, written
# partly or not at all
: >"$seg/$pa.snap.7"
head -c 100 /dev/zero >"$seg/$pa.snap.8"
: >"$seg/$pb.snap.9"     # a live target's file: not ours to judge
q targets/
is "$(json "[(t['pid'], t['alive']) for t in j if t['pid'] == $pa]")" \
	"[($pa, False)]" "targets/ lists the dead target"
ok "$([ -e "$seg/$pa.seg" ] && [ -e "$seg/$pa.snap.7" ]; echo $?)" \
	"targets/ removes nothing"
q snapshot/ "name=fc-dead"
is "$status" 404 "snapshot/?name=fc-dead: no live target, 404"
is "$(cd "$seg" && ls | grep "^$pa\." | tr '\n' ' ')" "" \
	"its segment and both snapshot leftovers are removed"
ok "$([ -e "$seg/$pb.seg" ] && [ -e "$seg/$pb.snap.9" ]; echo $?)" \
	"the live target's files are untouched"
rm -f "$seg/$pb.snap.9"

touch "$tmpdir/b/quit" "$tmpdir/c/quit"
wait $pb $pc
bg_pids=""
done_testing
