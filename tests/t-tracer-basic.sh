#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-basic.sh - one thread: exact traces at known lines, blocks
# allocated before start, realloc chains, the aligned family, calloc,
# peak versus current, stop forgets, exit removes the segment.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fx_start "$fxdir/tr-alloc"
is "$fx_ready" "ready" "fixture started"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field alive "$st") $(field name "$st")" \
	"0 1 tr-alloc" "segment: alive, not tracing, named after the program"
is "$(field memory "$st")" 0 "no tracer memory before start"
hd $fx_pid snapshot >/dev/null 2>&1
is $? 4 "snapshot before start: not started"
hd $fx_pid stop >/dev/null 2>&1
is $? 4 "stop before start: not started"

is "$(fx pre 500 100)" ok "500 blocks allocated before start"
hd $fx_pid start 10
is $? 0 "start frames=10"
hd $fx_pid start 10 2>/dev/null
is $? 3 "second start: already started"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field frames "$st")" "1 10" "status: tracing, frames=10"

fx malloc 1000 4096 >/dev/null
t=$(trace_of $fx_pid tr-alloc.c MALLOC)
is "$t" "tr-alloc.c:$(site tr-alloc.c MALLOC) size=4096000 count=1000 nframes=4 total=4" \
	"1000 x 4096 at the malloc line, frame 0 resolves to it"
is "$(fx freepre)" ok "blocks from before start freed"
is "$(trace_of $fx_pid tr-alloc.c PRE)" "" "blocks from before start are not traced"
st=$(hd $fx_pid status)
is "$(field current "$st")" 4096000 "their frees are ignored: current unchanged"

fx peak 1048576 >/dev/null
st=$(hd $fx_pid status)
is "$(field current "$st") $(field peak "$st")" "4096000 5144576" \
	"peak = current + the 1 MiB block freed since"
is "$(trace_of $fx_pid tr-alloc.c PEAK)" "" "a freed block leaves no trace"

fx calloc 3 40 >/dev/null
is "$(trace_of $fx_pid tr-alloc.c CALLOC)" \
	"tr-alloc.c:$(site tr-alloc.c CALLOC) size=120 count=3 nframes=4 total=4" "calloc: 3 x (2 x 20)"
sz=$("$hd_bin" --sizes "$hdir" $fx_pid snapshot | grep -A6 '^trace size=120 ' | sed -n 's/^  sizes //p')
is "$sz" "40 40 40" "--sizes: one size per live block"

fx realloc >/dev/null
is "$(trace_of $fx_pid tr-alloc.c REALLOC0)$(trace_of $fx_pid tr-alloc.c REALLOC1)" "" \
	"realloc moves the record: nothing left at the first two calls"
is "$(trace_of $fx_pid tr-alloc.c REALLOC2)" \
	"tr-alloc.c:$(site tr-alloc.c REALLOC2) size=64 count=1 nframes=4 total=4" "realloc chain: 64 bytes at the last call"

is "$(fx aligned)" ok "aligned family returned aligned blocks"
for s in PM:100 AA:256 MA:48 VA:1000; do
	m=${s%:*} z=${s#*:}
	is "$(trace_of $fx_pid tr-alloc.c $m)" \
		"tr-alloc.c:$(site tr-alloc.c $m) size=$z count=1 nframes=4 total=4" "aligned site $m: $z bytes"
done

snap=$(hd $fx_pid snapshot)
head=$(echo "$snap" | head -n 1)
is "$(field current "$head") $(field blocks "$head") $(field traces "$head")" \
	"$((4096000 + 120 + 64 + 100 + 256 + 48 + 1000)) 1008 7" \
	"snapshot: current, blocks and traces are exact"
is "$(field dropped_allocs "$head")$(field dropped_blocks "$head")$(field dropped_traces "$head")" \
	"000" "nothing dropped"
echo "$snap" | grep -q "^module .*path=$fxdir/tr-alloc$" 2>/dev/null ||
	echo "$snap" | grep -q "^module .*path=.*tr-alloc$"
ok $? "module list names the main program by its path"
echo "$snap" | grep "^module .*libc.so" | grep -q 'build_id=[0-9a-f]\{40\}'
ok $? "libc's module carries its build-id"

fx free >/dev/null
st=$(hd $fx_pid status)
is "$(field current "$st")" $((64 + 100 + 256 + 48 + 1000)) "free of the malloc and calloc blocks: current drops"

hd $fx_pid stop
is $? 0 "stop"
st=$(hd $fx_pid status)
# what a stop keeps: the per-thread caches of the one thread that traced
caches=$(awk '/^#define (CORE_TCACHE|FU_CACHE|FU_SHARED)_BYTES /{ s += $3 + 0 } END { print s }' \
	"$top_srcdir/tracer/caches.h")
is "$(field tracing "$st") $(field current "$st") $(field peak "$st") $(field memory "$st")" \
	"0 0 0 $caches" "stop forgets every trace and returns the tracer's memory (all but its caches: the one thread's and the shared one, $caches bytes)"
hd $fx_pid start 5
fx malloc 2 10 >/dev/null
is "$(summary $fx_pid | grep -c .)" 1 "after a restart only new allocations are traced"
is "$(trace_of $fx_pid tr-alloc.c MALLOC)" \
	"tr-alloc.c:$(site tr-alloc.c MALLOC) size=20 count=2 nframes=4 total=4" "restart: the new blocks"

fx_stop
is $? 0 "fixture exited 0"
is "$(ls "$hdir")" "" "exit removed the segment (and no snapshot file is left)"
done_testing
