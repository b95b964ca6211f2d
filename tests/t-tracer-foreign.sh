#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-foreign.sh - programs that bring their own allocator: one in the
# executable (nothing can be traced: said in the status and on stderr);
# python3 (non-PIE: its `malloc` is a canonical PLT entry, not its own)
# with and without PYTHONMALLOC=malloc; tcmalloc preloaded after libhawk;
# jemalloc linked as a library:
# libhawk forwards to it instead of swapping it for glibc's, says so in the
# status, traces malloc and jemalloc's own mallocx/rallocx/xallocx/dallocx/
# sdallocx exactly, 8-aligned blocks too.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

# ---- an executable that defines malloc: nothing can be traced, said once
fx_start "$fxdir/tr-ownmalloc" HAWK_TRACEMALLOC=8
is "$fx_ready" ready "own-malloc program started under libhawk"
is "$(fx malloc)" "ok 100" "its malloc gets every call (libhawk does not take them)"
st=$(hd $fx_pid status)
is "$(field alloc "$st") $(field alloc_path "$st")" "2 $fxdir/tr-ownmalloc" \
	"status: bypassed, naming the executable"
fx_stop
is "$(cat "$tmpdir/err$fx_n")" \
	"hawk: malloc comes from $fxdir/tr-ownmalloc, not from libhawk: nothing will be traced" \
	"said once on stderr"

# ---- a non-PIE executable that takes malloc's address (python3: a
# canonical PLT entry, not a definition) is traced as usual; with
# PYTHONMALLOC=malloc its small objects are malloc blocks (pymalloc's
# arenas otherwise): bytes(100) is 100 + 33 bytes
py=/usr/bin/python3
pyscript='import sys
keep = []
print("ready", flush=True)
for line in sys.stdin:
    if line.startswith("hold"):
        keep = [bytes(100) for i in range(10000)]
        print("ok", flush=True)
    elif line.startswith("exit"):
        break'
if [ -x $py ]; then
	for m in pymalloc:0 malloc:10000; do
		fx_start $py HAWK_TRACEMALLOC=8 PYTHONMALLOC=${m%:*} -- -c "$pyscript"
		fx hold >/dev/null
		st=$(hd $fx_pid status)
		n=$("$hd_bin" --sizes "$hdir" $fx_pid snapshot | sed -n 's/^  sizes //p' |
			tr ' ' '\n' | grep -c '^133$')
		is "$(field alloc "$st"):$n" "0:${m#*:}" \
			"python3 PYTHONMALLOC=${m%:*}: glibc's malloc, ${m#*:} blocks of 133 bytes for 10000 bytes(100)"
		fx_stop
		is "$(cat "$tmpdir/err$fx_n")" "" "... nothing said on stderr"
	done
else
	skip "no /usr/bin/python3"
	skip "no /usr/bin/python3"
	skip "no /usr/bin/python3"
	skip "no /usr/bin/python3"
fi

# ---- tcmalloc preloaded after libhawk (it also defines glibc's __libc_*
# names, which libhawk binds): traced through it, and said so
tc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ -f $tc ]; then
	hawklib=$libhawk
	libhawk="$hawklib:$tc"
	fx_start "$fxdir/tr-alloc" HAWK_TRACEMALLOC=8
	libhawk=$hawklib
	fx malloc 1000 4096 >/dev/null
	st=$(hd $fx_pid status)
	is "$(field alloc "$st") $(field alloc_path "$st")" "1 $tc" \
		"LD_PRELOAD=libhawk:tcmalloc: status names tcmalloc"
	is "$(trace_of $fx_pid tr-alloc.c MALLOC)" \
		"tr-alloc.c:$(site tr-alloc.c MALLOC) size=4096000 count=1000 nframes=4 total=4" \
		"... and traces through it exactly"
	fx_stop
	is "$?:$(cat "$tmpdir/err$fx_n")" "0:" "... which exits 0, saying nothing"
else
	skip "no $tc (Debian package libtcmalloc-minimal4)"
	skip "no $tc (Debian package libtcmalloc-minimal4)"
	skip "no $tc (Debian package libtcmalloc-minimal4)"
fi

# ---- jemalloc linked as a library: traced through it
prog="$fxdir/tr-jemalloc"
if [ ! -x "$prog" ]; then
	skip "tests/fixtures/tr-jemalloc not built (libjemalloc-dev)"
	done_testing
fi

# the reference: jemalloc's size class of 4000 bytes, without libhawk
ref=$(echo "usable 4000" | "$prog" | sed -n 2p)
fx_start "$prog"
is "$fx_ready" ready "fixture started under libhawk"
is "$(fx usable 4000)" "$ref" "malloc_usable_size: still jemalloc's block ($ref)"
set -- $ref
[ "$2" = "$3" ]; ok $? "... which is jemalloc's size class, not glibc's"
st=$(hd $fx_pid status)
is "$(field alloc "$st")" 1 "status: a foreign allocator, traced"
is "$(basename "$(field alloc_path "$st")")" libjemalloc.so.2 "status: it names jemalloc's module"
rss=$(field rss "$st") anon=$(field anon "$st")
[ "$rss" -gt 0 ] && [ "$anon" -gt 0 ] && [ "$anon" -le "$rss" ]
ok $? "status: resident and anonymous memory published"

hd $fx_pid start 8
is $? 0 "start"
fx malloc 1000 4000 >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOC)" \
	"tr-jemalloc.c:$(site tr-jemalloc.c MALLOC) size=4000000 count=1000 nframes=4 total=4" \
	"malloc: 1000 x 4000 at its line"
fx mallocx 10 5000 >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOCX)" \
	"tr-jemalloc.c:$(site tr-jemalloc.c MALLOCX) size=50000 count=10 nframes=4 total=4" \
	"mallocx: 10 x 5000 at its line"
fx tiny 100 >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c TINY)" \
	"tr-jemalloc.c:$(site tr-jemalloc.c TINY) size=800 count=100 nframes=4 total=4" \
	"malloc(8): 100 blocks of jemalloc's 8-aligned class, all recorded"
st=$(hd $fx_pid status)
is "$(field current "$st") $(field dropped "$st")" "4050800 0" "current exact, nothing dropped"

fx sdallocx >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOCX)" "" "sdallocx forgets the mallocx blocks"
fx dallocx >/dev/null
is "$(trace_of $fx_pid tr-jemalloc.c MALLOC)" "" "dallocx forgets the malloc blocks"
is "$(field current "$(hd $fx_pid status)")" 800 "current: the tiny blocks only"

is "$(fx rallocx)" ok "mallocx 100 then rallocx 300"
is "$(trace_of $fx_pid tr-jemalloc.c RALLOCX)" \
	"tr-jemalloc.c:$(site tr-jemalloc.c RALLOCX) size=300 count=1 nframes=4 total=4" \
	"rallocx moves the record to its line, with the new size"
x=$(fx xallocx)
x=${x#ok }
if [ "$x" -ge 320 ]; then
	is "$(trace_of $fx_pid tr-jemalloc.c RALLOCX)$(trace_of $fx_pid tr-jemalloc.c XALLOCX)" \
		"tr-jemalloc.c:$(site tr-jemalloc.c XALLOCX) size=320 count=1 nframes=4 total=4" \
		"xallocx resized in place (usable $x): the record moves to its line, as a realloc's"
else
	is "$(trace_of $fx_pid tr-jemalloc.c RALLOCX)" \
		"tr-jemalloc.c:$(site tr-jemalloc.c RALLOCX) size=300 count=1 nframes=4 total=4" \
		"xallocx could not resize (usable $x): the record is unchanged"
fi
is "$(fx usable 4000)" "$ref" "still jemalloc's blocks while tracing"
hd $fx_pid stop
is $? 0 "stop"
fx_stop
is $? 0 "fixture exited 0"
is "$(grep -c . "$tmpdir/err$fx_n")" 0 "nothing said on stderr"
is "$(ls "$hdir")" "" "exit removed the segment"
done_testing
