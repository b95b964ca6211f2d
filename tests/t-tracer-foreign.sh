#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-foreign.sh - a program that brings its own allocator (jemalloc,
# linked as a library): libhawk forwards to it instead of swapping it for
# glibc's, says so in the status, traces malloc and jemalloc's own
# mallocx/rallocx/xallocx/dallocx/sdallocx exactly, 8-aligned blocks too.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

prog="$fxdir/tr-jemalloc"
[ -x "$prog" ] || skip_all "tests/fixtures/tr-jemalloc not built (libjemalloc-dev)"

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
ls "$hdir" | grep -q . && diag "left: $(ls "$hdir")"
is "$(ls "$hdir")" "" "exit removed the segment"
done_testing
