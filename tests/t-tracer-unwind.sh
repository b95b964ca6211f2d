#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-unwind.sh - the tracer's own stack walker (tracer/fastunw.c)
# against libunwind: with HAWK_UNWIND=check every capture is made by both
# and compared (HAWK_STATS=1 prints the counts at exit).  Stacks of every
# shape: deep recursion (truncated), alloca and frame-pointer frames, a
# realigned stack, libc calling malloc, threads, signal handlers on the
# thread's stack and on an alternate one (where the walker must hand the
# capture to libunwind), and a module loaded with dlopen after the start.  Then HAWK_UNWIND=libunwind and a bad value.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

# unw SCENARIO [VAR=VALUE...]: run tr-unwind traced from the start; sets
# $allocs (what it made itself) and the walker's counts from HAWK_STATS
unw() {
	sc=$1
	shift
	out=$(env HAWK_DIR="$hdir" HAWK_TRACEMALLOC=30 HAWK_STATS=1 \
		HAWK_UNWIND=check "$@" LD_PRELOAD="$libhawk" \
		"$fxdir/tr-unwind" $sc 2>"$tmpdir/err")
	allocs=${out#allocs }
	stats=$(grep '^hawk: stats ' "$tmpdir/err")
	checked=$(field unwind_checked "$stats")
	mismatch=$(field unwind_mismatch "$stats")
	fallback=$(field unwind_fallback "$stats")
}

unw deep
is "$allocs $checked $mismatch $fallback" "121 121 0 0" \
	"recursion 0..120 deep (truncated past 78 frames): 121 captures, identical"
unw alloca
is "$allocs $checked $mismatch $fallback" "64 64 0 0" \
	"alloca (CFA from rbp, rsp moved): identical"
unw fp
is "$allocs $checked $mismatch $fallback" "20 20 0 0" \
	"frame-pointer frames: identical"
unw aligned
is "$allocs $checked $mismatch $fallback" "10 10 0 0" \
	"a 64-byte aligned local: identical"
unw realign
is "$allocs $checked $mismatch $fallback" "10 0 0 10" \
	"stack realigned on entry (CFA by expression): every capture handed to libunwind"
unw libc
is "$checked $mismatch $fallback" "20 0 0" \
	"malloc called by libc (strdup, fopen): identical"
unw threads
# 800 of its own, and one by pthread_create per thread (its TLS)
is "$allocs $checked $mismatch $fallback" "800 804 0 0" \
	"4 threads: identical, each with its own rule cache"
unw signal
is "$allocs $checked $mismatch $fallback" "5 0 0 5" \
	"in a signal handler (signal frame): handed to libunwind"
unw altstack
is "$allocs $checked $mismatch $fallback" "5 0 0 5" \
	"on an alternate signal stack: handed to libunwind"

unw dlopen TR_DL="$top_builddir/tests/fixtures/.libs/tr-dl.so"
# the first round's 10 captures are libunwind's, unless the agent's 1 s
# refresh happened to fall between the dlopen and them (seen once in CI)
case $fallback in 0|10) fb="0 or 10" ;; *) fb=$fallback ;; esac
is "$allocs $mismatch $fb" "30 0 0 or 10" \
	"dlopen after the start: libunwind's until the agent's refresh, then the walker's; dlclose and dlopen again: found again"
[ "${checked:-0}" -ge 20 ]
ok $? "dlopen: the 20 captures after the refresh compared ($checked with the loader's own)"

unw deep HAWK_UNWIND=libunwind
is "$allocs $fallback $checked" "121 0 " \
	"HAWK_UNWIND=libunwind: our walker never runs"
unw deep HAWK_UNWIND=fast
is "$allocs $fallback $checked" "121 0 " "HAWK_UNWIND=fast: the default"
unw deep HAWK_UNWIND=sideways
is "$allocs $fallback $checked" "121 0 " "HAWK_UNWIND=sideways: the default..."
grep -q 'HAWK_UNWIND=sideways: not fast, libunwind or check' "$tmpdir/err"
ok $? "...and says so on stderr"

# the same traceback either way, through the segment
for mode in fast libunwind; do
	fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=10 HAWK_UNWIND=$mode
	fx malloc 3 8 >/dev/null
	fx deep 20 >/dev/null
	is "$(trace_of $fx_pid tr-alloc.c MALLOC)" \
		"tr-alloc.c:$(site tr-alloc.c MALLOC) size=24 count=3 nframes=4 total=4" \
		"HAWK_UNWIND=$mode: frame 0 at the malloc line, 4 frames"
	is "$(trace_of $fx_pid tr-alloc.c DEEP)" \
		"tr-alloc.c:$(site tr-alloc.c DEEP) size=64 count=1 nframes=10 total=25" \
		"HAWK_UNWIND=$mode: 25 deep, 10 kept"
	fx_stop
done

done_testing
