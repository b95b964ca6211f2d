#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-env.sh - HAWK_TRACEMALLOC, HAWK_NAME, HAWK_DIR (created,
# symlink refused), a dead target's segment, two clients racing to start.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=2 HAWK_NAME=svc
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field frames "$st") $(field name "$st")" "1 2 svc" \
	"HAWK_TRACEMALLOC=2: tracing from the start; HAWK_NAME names it"
fx malloc 3 8 >/dev/null
t=$(trace_of $fx_pid tr-alloc.c MALLOC)
is "$t" "tr-alloc.c:$(site tr-alloc.c MALLOC) size=24 count=3 nframes=2 total=4" \
	"traceback truncated to 2 frames, total depth 4 kept"
fx deep 20 >/dev/null
t=$(trace_of $fx_pid tr-alloc.c DEEP)
is "$t" "tr-alloc.c:$(site tr-alloc.c DEEP) size=64 count=1 nframes=2 total=25" \
	"21 deep calls below main: total depth 25"
fx deep 100 >/dev/null
is "$(summary $fx_pid | grep -c "^tr-alloc.c:$(site tr-alloc.c DEEP) ")" 2 \
	"another depth is another traceback (as in tracemalloc)"
t=$(summary $fx_pid | grep "^tr-alloc.c:$(site tr-alloc.c DEEP) .* total=34$")
is "$(field count "$t") $(field nframes "$t")" "1 2" \
	"deeper than frames + 32: total saturates at 34 (documented)"
fx_stop

fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=512
fx malloc 1 8 >/dev/null
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field frames "$st")" "1 512" "HAWK_TRACEMALLOC=512: the largest limit"
is "$(trace_of $fx_pid tr-alloc.c MALLOC)" \
	"tr-alloc.c:$(site tr-alloc.c MALLOC) size=8 count=1 nframes=4 total=4" "the whole stack"
fx_stop

fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=abc
st=$(hd $fx_pid status)
is "$(field tracing "$st")" 0 "HAWK_TRACEMALLOC=abc: not tracing"
fx_stop
is "$(cat "$tmpdir/err$fx_n")" \
	"hawk: HAWK_TRACEMALLOC=abc: not a frame count 1..512; not tracing" \
	"one message on stderr"
fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=513
st=$(hd $fx_pid status)
is "$(field tracing "$st")" 0 "HAWK_TRACEMALLOC=513: not tracing"
fx_stop

# HAWK_DIR created when missing (0700), a symlink refused
HAWK_DIR="$tmpdir/newdir" LD_PRELOAD="$libhawk" HAWK_STATS= sh -c 'ls -ld "$HAWK_DIR" | cut -c1-10' >"$tmpdir/o" 2>&1
is "$(cat "$tmpdir/o")" "drwx------" "HAWK_DIR created 0700 when missing"
ln -s "$tmpdir/newdir" "$tmpdir/link"
HAWK_DIR="$tmpdir/link" LD_PRELOAD="$libhawk" sh -c 'echo ran' >"$tmpdir/o" 2>"$tmpdir/e"
is "$(cat "$tmpdir/o")" ran "a symlinked HAWK_DIR does not stop the program"
grep -q "cannot create the segment in $tmpdir/link" "$tmpdir/e"
ok $? "but is refused, with a message"

# HAWK_GROUP: a group of ours gives 0660 and that group; another, 0600
g=$(id -gn)
fx_start "$fxdir/tr-alloc" HAWK_GROUP="$g"
is "$(stat -c '%a %G' "$hdir/$fx_pid.seg")" "660 $g" "HAWK_GROUP=$g (ours): segment 0660, group $g"
fx_stop
other=$(getent group | cut -d: -f1,3 | while IFS=: read -r n id; do
	id -G | tr ' ' '\n' | grep -qx "$id" || { echo "$n"; break; }; done)
if [ -n "$other" ]; then
	fx_start "$fxdir/tr-alloc" HAWK_GROUP="$other"
	is "$(stat -c '%a' "$hdir/$fx_pid.seg")" 600 "HAWK_GROUP=$other (not ours): 0600"
	fx_stop
	grep -q "HAWK_GROUP=$other: not a group of this process" "$tmpdir/err$fx_n"
	ok $? "with one message on stderr"
else
	skip "no group we are not a member of"
	skip "no group we are not a member of"
fi

# a stopped target does not answer: the command times out and is withdrawn
fx_start "$fxdir/tr-alloc"
stop_process $fx_pid
"$hd_bin" --timeout 300 "$hdir" $fx_pid start 5 >/dev/null 2>&1
is $? 5 "a stopped target: start times out"
kill -CONT $fx_pid
st=$(hd $fx_pid status)
is "$(field tracing "$st")" 0 "after SIGCONT: the withdrawn start did not happen"
fx_stop

# a client that asks for a snapshot and dies before collecting it: the
# next client hangs up on the socket the target serves it on (or the
# target gives it up 10 s later, or at exit)
fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=3
if [ -n "${PYTHON3:-}" ] && [ -x "$PYTHON3" ]; then
	"$PYTHON3" - "$hdir/$fx_pid.seg" <<'PY'
import mmap, struct, sys, time
# struct seg_header of segment.h, SEG_VERSION 1: offset of cmd_state
off = 8 + 4 + 4 + 4 + 4 + 8 + 64 + 4 + 4 + 4 + 4 + 8 * 5 + 4 + 4
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096)
struct.pack_into("III", m, off + 4, 3, 0, 0)   # op SNAPSHOT
struct.pack_into("I", m, off, 1)               # POSTED (agent polls <= 1 s)
for i in range(50):
    time.sleep(0.1)
    if struct.unpack_from("I", m, off)[0] == 3:  # DONE
        break
PY
	is "$(ls "$hdir" | grep -c "^$fx_pid\.snap\.")" 1 "an uncollected snapshot's socket"
	hd $fx_pid snapshot >/dev/null
	is "$(ls "$hdir" | grep -c "^$fx_pid\.snap\.")" 0 "the next snapshot removed it"
	"$PYTHON3" - "$hdir/$fx_pid.seg" <<'PY'
import mmap, struct, sys, time
off = 8 + 4 + 4 + 4 + 4 + 8 + 64 + 4 + 4 + 4 + 4 + 8 * 5 + 4 + 4
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096)
struct.pack_into("I", m, off, 0)               # IDLE (DONE was left)
struct.pack_into("III", m, off + 4, 3, 0, 0)
struct.pack_into("I", m, off, 1)
for i in range(50):
    time.sleep(0.1)
    if struct.unpack_from("I", m, off)[0] == 3:
        break
PY
	fx_stop
	is "$(ls "$hdir")" "" "another uncollected one is removed with the segment at exit"
else
	fx_stop
	skip "no python3 to play a dying client"
	skip "no python3 to play a dying client"
	skip "no python3 to play a dying client"
fi

# a dead target
fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=4
dead=$fx_pid
kill -9 $dead
wait $dead 2>/dev/null
exec 3>&- 4<&-
st=$(hd $dead status)
is "$(field pid "$st") $(field alive "$st")" "$dead 0" "a killed target's segment is recognised as dead"
hd $dead snapshot >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "a dead target is not asked for a snapshot"
rm -f "$hdir/$dead.seg"

# two clients race to start: exactly one winner, every time
fx_start "$fxdir/tr-alloc"
wins=0 already=0 other=0 i=0
while [ $i -lt 10 ]; do
	hd $fx_pid start 5 >/dev/null 2>&1 & a=$!
	hd $fx_pid start 6 >/dev/null 2>&1 & b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	for r in $ra $rb; do
		case $r in
		0) wins=$((wins + 1)) ;;
		3) already=$((already + 1)) ;;
		*) other=$((other + 1)) ;;
		esac
	done
	hd $fx_pid stop
	i=$((i + 1))
done
is "$wins $already $other" "10 10 0" "10 races: one winner and one 'already started' each"
fx_stop
done_testing
