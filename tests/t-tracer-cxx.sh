#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-cxx.sh - C++ new/new[]/aligned new/nothrow, and the matching
# (sized, aligned, nothrow) deletes, at known lines; failure semantics.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-cxx"
is "$fx_ready" ready "fixture started"
hd $fx_pid start 8
is "$(fx new)" ok "every form of new returned memory"
for s in NEW:48 NEWARR:100 ALIGNED:128 ALIGNEDARR:384 NOTHROW:77 NTALIGN:99 RAW:55; do
	m=${s%:*} z=${s#*:}
	t=$(trace_of $fx_pid tr-cxx.cc $m)
	is "$(field size "$t") $(field count "$t")" "$z 1" "$m: $z bytes at its line"
done
st=$(hd $fx_pid status)
is "$(field current "$st")" $((48 + 100 + 128 + 384 + 77 + 99 + 55)) "current"
is "$(fx delete)" ok "every form of delete"
is "$(summary $fx_pid)" "" "no trace left after the deletes"
st=$(hd $fx_pid status)
is "$(field current "$st")" 0 "current back to 0"
is "$(fx bad)" "caught=2 nothrow=null handler=1" \
	"impossible sizes: bad_alloc thrown, nothrow NULL, new_handler called"
fx_stop
is $? 0 "fixture exited 0"
done_testing
