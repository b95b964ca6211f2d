#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-place.sh - sampled mode's placement of sampled blocks
# (tracer/sample.h, interpose_sample.c): sampled at 1 byte (every block
# sampled, estimates exact), blocks from malloc, calloc (small and above
# 64 KiB), realloc and posix_memalign (which records after allocating:
# an unplaced block, free then checks the filter for every block) are
# recorded exactly at their lines, calloc's are zero, realloc keeps the
# bytes, the malloc/calloc/realloc ones are placed (bits 5..9 of the
# address 0), and every free forgets its block, twice over; a double free
# aborts as without libhawk; the same on the assembly stubs where memory
# may not be made executable; C++ new and delete and jemalloc's
# mallocx/sdallocx/dallocx likewise.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fxp=$fxdir/tr-place
[ -x "$fxp" ] || skip_all "tests/fixtures/tr-place not built"

# the page of code a sampled start writes (interpose_sample.c jit_build):
# the process's one anonymous executable mapping
code_pages() {
	grep -c ' r-xp 00000000 00:00 0 *$' "/proc/$1/maps"
}

fx_start "$fxp"
is "$fx_ready" ready "fixture started"
hd $fx_pid start 12 sample=1 >/dev/null
ok $? "start sampled at 1 byte"
is "$(code_pages $fx_pid)" 1 "sampled start wrote its page of code"
for round in 1 2; do
	is "$(fx mix 200)" ok "round $round: calloc'd blocks zero, realloc kept the bytes"
	for s in MALLOC:20000 CALLOC_SMALL:40000 CALLOC_BIG:20000000 \
		 REALLOC:600000 PM:80000; do
		m=${s%:*} z=${s#*:}
		t=$(trace_of $fx_pid tr-place.c $m)
		is "$(field size "$t") $(field count "$t")" "$z 200" \
			"round $round: $m: 200 blocks, $z bytes"
	done
	is "$(trace_of $fx_pid tr-place.c REALLOC0)" "" \
		"round $round: the realloc'd blocks left their first site"
	is "$(fx placed 200)" "placed 800 of 800" \
		"round $round: malloc, calloc and realloc blocks placed"
	is "$(fx free)" ok "round $round: freed"
	is "$(summary $fx_pid)" "" "round $round: no sampled block left"
	st=$(hd $fx_pid status)
	is "$(field current "$st")" 0 "round $round: current back to 0"
done
hd $fx_pid stop >/dev/null
fx_stop
is $? 0 "fixture exited 0"

# ---- where memory may not be made executable (SELinux execmem,
# MemoryDenyWriteExecute=; here a preloaded mprotect that refuses
# PROT_EXEC), sampled mode runs on its assembly stubs, as exactly
noexec=$fxdir/.libs/tr-noexec.so
if [ -f "$noexec" ]; then
	saved=$libhawk
	libhawk="$noexec $libhawk"
	fx_start "$fxp"
	libhawk=$saved
	hd $fx_pid start 12 sample=1 >/dev/null
	ok $? "no exec: start sampled at 1 byte"
	is "$(code_pages $fx_pid)" 0 "no exec: no page of code"
	is "$(fx mix 200)" ok "no exec: calloc'd blocks zero, realloc kept the bytes"
	t=$(trace_of $fx_pid tr-place.c MALLOC)
	is "$(field size "$t") $(field count "$t")" "20000 200" \
		"no exec: MALLOC: 200 blocks, 20000 bytes"
	is "$(fx placed 200)" "placed 800 of 800" "no exec: blocks placed"
	is "$(fx free)" ok "no exec: freed"
	is "$(summary $fx_pid)" "" "no exec: no sampled block left"
	hd $fx_pid stop >/dev/null
	fx_stop
	is $? 0 "no exec: fixture exited 0"
else
	skip "tests/fixtures/tr-noexec.so not built"
fi

# ---- a double free of a sampled block (whose chunk libhawk keeps for the
# next sample) still reaches glibc twice: it aborts as without libhawk
if [ -z "${HAWK_SANITIZE:-}" ]; then
	out=$(echo double | "$fxp" 2>&1); rc=$?
	fx_start "$fxp" HAWK_SAMPLE=1
	echo double >&3
	read -r reply <&4
	exec 3>&- 4<&-
	wait "$fx_pid"; rc2=$?
	is "$rc2 ${reply:-none}" "$rc none" \
		"double free under libhawk ends as without it (status $rc)"
	grep -q 'double free' "$tmpdir/err$fx_n"
	ok $? "... with glibc's message ($(head -c 60 "$tmpdir/err$fx_n"))"
fi

# ---- C++: new places its sampled blocks, delete forgets them
fx_start "$fxdir/tr-cxx"
hd $fx_pid start 8 sample=1 >/dev/null
is "$(fx new)" ok "C++: every form of new returned memory"
for s in NEW:48 NEWARR:100 ALIGNED:128 ALIGNEDARR:384 NOTHROW:77 NTALIGN:99 RAW:55; do
	m=${s%:*} z=${s#*:}
	t=$(trace_of $fx_pid tr-cxx.cc $m)
	is "$(field size "$t") $(field count "$t")" "$z 1" "C++ sampled: $m at its line"
done
is "$(fx delete)" ok "C++: every form of delete"
is "$(summary $fx_pid)" "" "C++ sampled: no trace left after the deletes"
st=$(hd $fx_pid status)
is "$(field current "$st")" 0 "C++ sampled: current back to 0"
fx_stop

# ---- jemalloc's own release functions in sampled mode
prog="$fxdir/tr-jemalloc"
if [ ! -x "$prog" ]; then
	skip "tests/fixtures/tr-jemalloc not built (libjemalloc-dev)"
	done_testing
fi
# the section counts on the fixture allocating nothing but what it is
# told to (its stdio buffers are static: the stdin buffer glibc would
# malloc at the first fgets, racing the start below, stayed live): sampled
# from load, every block it allocates by itself would be traced
fx_start "$prog" HAWK_SAMPLE=1
is "$(fx mallocx 1 100)" ok "jemalloc sampled from load: fixture answers"
is "$(summary $fx_pid | cut -d' ' -f1-3)" \
	"tr-jemalloc.c:$(site tr-jemalloc.c MALLOCX) size=100 count=1" \
	"jemalloc sampled from load: the one block it was told to allocate, no stdio buffer"
fx_stop
fx_start "$prog"
hd $fx_pid start 8 sample=1 >/dev/null
fx mallocx 10 5000 >/dev/null
fx malloc 100 4000 >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOCX | cut -d' ' -f2-3)" \
	"size=50000 count=10" "jemalloc sampled: mallocx recorded"
is "$(trace_of $fx_pid tr-jemalloc.c MALLOC | cut -d' ' -f2-3)" \
	"size=400000 count=100" "jemalloc sampled: malloc recorded"
fx sdallocx >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOCX)" "" "jemalloc sampled: sdallocx forgets"
fx dallocx >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOC)" "" "jemalloc sampled: dallocx forgets"
is "$(summary $fx_pid)" "" "jemalloc sampled: no trace left after the frees"
st=$(hd $fx_pid status)
is "$(field current "$st")" 0 "jemalloc sampled: current back to 0"
fx_stop
done_testing
