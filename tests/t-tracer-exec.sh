#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-exec.sh - exec: same pid, the new image's segment replaces the
# old one.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-alloc"
hd $fx_pid start 4
fx malloc 5 10 >/dev/null
st=$(hd $fx_pid status)
is "$(field name "$st") $(field tracing "$st") $(field current "$st")" \
	"tr-alloc 1 50" "before exec: tracing"
ino1=$(ls -i "$hdir/$fx_pid.seg" | cut -d' ' -f1)
is "$(fx exec newimage)" "ok exec" "exec'd (same pid)"
st=$(hd $fx_pid status)
is "$(field name "$st") $(field alive "$st") $(field tracing "$st") $(field current "$st")" \
	"newimage 1 0 0" "after exec: the new image's segment, alive, not tracing"
ino2=$(ls -i "$hdir/$fx_pid.seg" | cut -d' ' -f1)
ok $([ "$ino1" != "$ino2" ]; echo $?) "the segment file was replaced"
is "$(ls "$hdir" | grep -c .)" 1 "one file in the directory"
hd $fx_pid start 4
is $? 0 "the new image can be started"
fx malloc 2 7 >/dev/null
t=$(trace_of $fx_pid tr-alloc.c MALLOC)
is "$(field size "$t") $(field count "$t")" "14 2" "and traces its own allocations only"
fx_stop
is "$(ls "$hdir")" "" "exit removed the segment"
done_testing
