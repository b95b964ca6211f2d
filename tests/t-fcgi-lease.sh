#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-lease.sh - a fixed-duration profile holds a lease: when its stop
# never arrives, the target stops tracing by itself once the lease (the
# duration plus a command timeout per snapshot and stop) and 5 s of grace
# have passed.  Two ways to lose the stop: the responder is killed with
# SIGKILL during the profile; the target is stopped (SIGSTOP) past the
# timeout of the second snapshot and of the stop, then continued.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

mkdir "$tmpdir/t"
HAWK_DIR=$seg HAWK_NAME=fc-lease LD_PRELOAD=$lib "$fix" "$tmpdir/t" &
pid=$!
bg_pids="$pid"
waitfile "$seg/$pid.seg"; ok $? "fixture has its segment"

tracing() { q targets/ "pid=$pid"; json "j[0]['tracing'], j[0]['lease_expired']"; }
# wait up to $1 seconds for targets/ to show "$2"
wait_for() {
	i=0
	while [ "$(tracing)" != "$2" ] && [ $i -lt $(($1 * 4)) ]; do
		sleep 0.25; i=$((i + 1))
	done
	[ "$(tracing)" = "$2" ]
}

# 1. the responder dies during the profile
( tmpdir=$tmpdir/bg1; mkdir "$tmpdir"; TMO=500 q "" "duration=8" ) &
sub=$!
wait_for 20 "(True, False)"; ok $? "the profile started (no lease expired yet)"
resp=$(ps -o pid= --ppid $sub | tr -d ' ')
[ -n "$resp" ] && kill -KILL $resp
ok $? "responder $resp killed during the profile"
wait $sub 2>/dev/null
is "$(tracing)" "(True, False)" "the target still traces at once"
# lease 8 s + 3 x 0.5 s, grace 5 s: stopped some 14.5 s after the start
wait_for 40 "(False, True)"
ok $? "the target stopped tracing by itself: lease_expired"

# 2. the target is paused past the timeout of the second snapshot and of
# the stop, then continued
( tmpdir=$tmpdir/bg2; mkdir "$tmpdir"; TMO=300 q "" "duration=6"
  echo "$status" >"$tmpdir/../status2" ) &
sub=$!
wait_for 20 "(True, False)"; ok $? "a second profile started (the flag was cleared)"
kill -STOP $pid
wait $sub
is "$(cat "$tmpdir/status2")" 504 "its snapshot and stop time out: 504"
kill -CONT $pid
is "$(tracing)" "(True, False)" "continued, it still traces"
wait_for 40 "(False, True)"
ok $? "and stops by itself when the lease runs out"

# 3. an ordinary start/ carries no lease
q start/ "pid=$pid"
is "$status" 200 "start/"
sleep 6
is "$(tracing)" "(True, False)" "start/ without a lease traces on"
q stop/ "pid=$pid"
is "$status" 200 "stop/"

touch "$tmpdir/t/quit"
wait $pid
bg_pids=""
done_testing
