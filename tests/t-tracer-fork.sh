#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-fork.sh - fork from a multithreaded parent that is tracing: the
# child gets its own segment, keeps tracing, and both sides are exact;
# forks while another thread allocates never deadlock, nor does one while
# the agent waits for a slow snapshot reader.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=12
fx malloc 10 1000 >/dev/null
is "$(fx spin)" ok "a second thread allocates in a loop"
reply=$(fx fork)
child=${reply#ok }
ok $([ "$reply" != "$child" ] && [ "$child" -gt 0 ] 2>/dev/null; echo $?) "forked child $child"
is "$(fx spinstop)" ok "spinner stopped"
[ -f "$hdir/$child.seg" ]
ok $? "the child has its own segment"
st=$(hd $child status)
is "$(field alive "$st") $(field tracing "$st") $(field frames "$st") $(field name "$st")" \
	"1 1 12 tr-alloc" "the child keeps tracing with the parent's limit"
t=$(trace_of $child tr-alloc.c CHILD)
is "$(field size "$t") $(field count "$t")" "2331 7" "child: its own 7 x 333 bytes"
t=$(trace_of $child tr-alloc.c MALLOC)
is "$(field size "$t") $(field count "$t")" "10000 10" "child: the parent's blocks it inherited"
is "$(trace_of $fx_pid tr-alloc.c CHILD)" "" "parent: nothing of the child's"
t=$(trace_of $fx_pid tr-alloc.c MALLOC)
is "$(field size "$t") $(field count "$t")" "10000 10" "parent: its blocks"
st=$(hd $fx_pid status)
is "$(field alive "$st") $(field tracing "$st")" "1 1" "parent still alive and tracing"
is "$(fx childfree)" ok "child freed its blocks"
is "$(trace_of $child tr-alloc.c CHILD)" "" "child: freed blocks gone"
hd $child stop
is $? 0 "the child can be stopped on its own"
st=$(hd $fx_pid status)
is "$(field tracing "$st")" 1 "which leaves the parent tracing"
is "$(fx reap)" "ok 0" "child exited 0"
[ ! -e "$hdir/$child.seg" ]
ok $? "the child's exit removed its segment only"
[ -f "$hdir/$fx_pid.seg" ]
ok $? "the parent's segment is still there"

# forks while another thread is inside the tracer: no deadlock
fx spin >/dev/null
i=0 fails=0
while [ $i -lt 20 ]; do
	r=$(fx fork)
	[ "${r#ok }" != "$r" ] || fails=$((fails + 1))
	r=$(fx reap)
	[ "$r" = "ok 0" ] || fails=$((fails + 1))
	i=$((i + 1))
done
is "$fails" 0 "20 forks while a thread allocates: every child ran and exited"
fx spinstop >/dev/null
t=$(trace_of $fx_pid tr-alloc.c MALLOC)
is "$(field size "$t") $(field count "$t")" "10000 10" "parent's traces unchanged"

# a fork while the agent waits for a snapshot's client to read (100,000
# block sizes, more than the socket holds): the agent does not keep the
# lock a fork takes while it waits, so the fork is done while that
# client is still being served (the agent gives up on it only after 10 s
# without progress: a command then still times out)
fx malloc 100000 16 >/dev/null
"$hd_bin" --timeout 20000 --stall 60 "$hdir" $fx_pid snapshot \
	>"$tmpdir/stall" 2>&1 &
sp=$!
i=0
while ! grep -q stalled "$tmpdir/stall" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
r=$(fx fork)
"$hd_bin" --timeout 1000 "$hdir" $fx_pid status >/dev/null 2>&1
is "${r%% *}:$?" "ok:5" \
	"a fork while a snapshot waits for its reader: done, the reader still served"
kill $sp
wait $sp 2>/dev/null
is "$(fx reap)" "ok 0" "that child exited 0"
fx free >/dev/null
fx_stop
is $? 0 "fixture exited 0"
is "$(ls "$hdir")" "" "no segment left"
done_testing
