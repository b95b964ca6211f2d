#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-threads.sh - 4 threads each allocate a known number of blocks
# at their own line; every trace is exact.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-alloc"
hd $fx_pid start 16
is "$(fx threads 2500)" ok "4 threads allocated 2500 blocks each"
for i in 0 1 2 3; do
	t=$(trace_of $fx_pid tr-alloc.c T$i)
	is "$(field size "$t") $(field count "$t")" "$((2500 * 100 * (i + 1))) 2500" \
		"thread $i: 2500 blocks of $((100 * (i + 1))) bytes at its line"
	is "$(field nframes "$t")" 3 "thread $i: thread_main, start_thread, clone3"
done
# pthread_create's own allocations (the threads' TLS) are traced too
other=$(summary $fx_pid | grep -v "^tr-alloc.c:" | sed 's/.* size=\([0-9]*\) .*/\1/' | awk '{ s += $1 } END { print s + 0 }')
st=$(hd $fx_pid status)
is "$(field current "$st")" $((2500 * 1000 + ${other:-0})) "current = the threads' blocks + glibc's thread set-up"
is "$(field peak "$st")" "$(field current "$st")" "peak = current"
is "$(field dropped "$st")" 0 "nothing dropped"

# start/snapshot/stop cycles while another thread allocates and frees
hd $fx_pid stop
fx spin >/dev/null
i=0 bad=0
while [ $i -lt 20 ]; do
	hd $fx_pid start 8 || bad=$((bad + 1))
	hd $fx_pid snapshot >/dev/null || bad=$((bad + 1))
	hd $fx_pid stop || bad=$((bad + 1))
	i=$((i + 1))
done
is "$bad" 0 "20 start/snapshot/stop cycles under an allocating thread"
is "$(fx spinstop)" ok "the allocating thread is still running fine"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field current "$st")" "0 0" "stopped: nothing traced"
fx_stop
is $? 0 "fixture exited 0"
done_testing
