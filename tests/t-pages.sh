#!/bin/sh
# SPDX-License-Identifier: MIT
# t-pages.sh - the flame-graph page (format=flamegraph), the folded stacks
# (format=collapsed) and the index page (/debug/prof/mem/), served by
# `hawk serve` (its own lighttpd) and rendered by a real headless Chromium:
#  - the fixture's functions are drawn, each frame as wide as its share of
#    the bytes, a search (#search=) marks exactly the matching frames and
#    says their share, zoom (#zoom=) and icicle (#view=icicle) work, the
#    tooltip names function, file:line, bytes, blocks and share;
#  - the page works saved to disk and references nothing outside itself;
#  - two targets are merged;
#  - the index lists the target with its state and figures, links to each
#    view, and its Stop/Start buttons are GET forms on the existing routes.
. "$top_srcdir/tests/lib.sh"

fcgi=$top_builddir/fcgi/hawk-fcgi
lib=$top_builddir/tracer/.libs/libhawk.so
serve=$top_builddir/cli/hawk-serve
pp_fix=$top_builddir/tests/fixtures/pp-leak
pp_src=$top_srcdir/tests/fixtures/pp-leak.c
dom_py=$top_srcdir/tests/pages_dom.py
[ -x "$fcgi" ] || skip_all "fcgi/hawk-fcgi not built"
[ -f "$lib" ] || skip_all "tracer/.libs/libhawk.so not built yet"
[ -x "$serve" ] || skip_all "cli/hawk-serve not built"
[ -x "$pp_fix" ] || skip_all "tests/fixtures/pp-leak not built"
[ -n "${PYTHON3:-}" ] || skip_all "python3 not found by configure"
[ -n "${CURL:-}" ] || skip_all "curl not found by configure"
[ -n "${LIGHTTPD:-}" ] && [ -x "$LIGHTTPD" ] ||
	skip_all "lighttpd not found (Debian package lighttpd)"
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	skip_all "chromium not found (Debian package chromium)"

l4096=$(grep -n "malloc(4096); /\* LEAK-4096" "$pp_src" | cut -d: -f1)
linl=$(grep -n "malloc(n); /\* PP-INLINE" "$pp_src" | cut -d: -f1)

seg=$tmpdir/seg
mkdir "$seg" "$tmpdir/xdg" "$tmpdir/chrome"
chmod 700 "$tmpdir/xdg"
port=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
T=/debug/prof/mem/tracemalloc

XDG_RUNTIME_DIR=$tmpdir/xdg HAWK_FCGI=$fcgi LIGHTTPD=$LIGHTTPD \
	HAWK_TIMEOUT_MS=10000 "$serve" --port "$port" --dir "$seg" \
	>"$tmpdir/serve.out" 2>&1 &
spid=$!
bg_pids="$spid"
i=0
while ! grep -q 'Ctrl-C to stop' "$tmpdir/serve.out" && [ $i -lt 400 ]; do
	kill -0 $spid 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
grep -q 'Ctrl-C to stop' "$tmpdir/serve.out"
ok $? "hawk serve listens on $base" || { sed 's/^/# /' "$tmpdir/serve.out"; done_testing; }

get() { # get PATH-AND-QUERY: body in $tmpdir/body, status in $code
	code=$("$CURL" -s -g -o "$tmpdir/body" -w '%{http_code}' --max-time 60 "$base$1")
}
js() { "$PYTHON3" -c "import json,sys; j=json.load(open(sys.argv[1])); print(($1))" "$tmpdir/body"; }
# chrome URL OUT: what headless Chromium renders, as a DOM
chrome() {
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$tmpdir/chrome" --dump-dom "$1" \
		>"$2" 2>>"$tmpdir/chrome.err"
	"$PYTHON3" "$dom_py" "$2" >"$2.json"
}
# dom FILE EXPR: a python expression over the parsed DOM `d` (frames, text,
# rows, external); fr(name) is the list of drawn frames of that name
dom() {
	"$PYTHON3" -c "import json,sys
d = json.load(open(sys.argv[1] + '.json'))
fr = lambda n: [f for f in d['frames'] if f['name'] == n]
print(($2))" "$1"
}
waitfile() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
	[ -e "$1" ]
}
start_fix() { # start_fix DIR: a pp-leak under libhawk; sets fpid
	mkdir "$tmpdir/$1"
	HAWK_DIR=$seg HAWK_NAME=pp-leak LD_PRELOAD=$lib "$pp_fix" "$tmpdir/$1" &
	fpid=$!
	bg_pids="$bg_pids $fpid"
	waitfile "$tmpdir/$1/ready" && waitfile "$seg/$fpid.seg"
}

start_fix a; ok $? "fixture a started"
a=$fpid
get "$T/start/?pid=$a"
is "$code" 200 "start a"
touch "$tmpdir/a/go" "$tmpdir/a/go2"
waitfile "$tmpdir/a/done" && waitfile "$tmpdir/a/done2"; ok $? "a leaked"
get "$T/snapshot/?pid=$a&count=0"
total=$(js "j['heap_current_bytes']")

# ---------------------------------------------------------- collapsed
get "$T/snapshot/?pid=$a&format=collapsed"
is "$code" 200 "format=collapsed: 200"
is "$(grep -c '' "$tmpdir/body"):$(awk '{ s += $NF } END { print s }' "$tmpdir/body")" \
	"3:$total" "collapsed: three stacks, summing to the traced heap"
grep -q '^_start+0x21;__libc_start_main_impl;__libc_start_call_main;main;leak_4096 4096000$' "$tmpdir/body" &&
	grep -q ';main;leak_inline;grab 204800$' "$tmpdir/body" &&
	grep -q ';main;cache_fill 10000$' "$tmpdir/body"
ok $? "collapsed: oldest frame first, the inlined grab() under leak_inline"

# --------------------------------------------------------- flame graph
F="$base$T/snapshot/?pid=$a&format=flamegraph"
chrome "$F#search=leak_4096" "$tmpdir/flame.html"
ok $? "chromium renders the flame graph"
for f in leak_4096 leak_inline grab cache_fill main; do
	is "$(dom "$tmpdir/flame.html" "len(fr('$f'))")" 1 "flame graph: $f is drawn"
done
is "$(dom "$tmpdir/flame.html" "fr('all')[0]['bytes']")" "$total" \
	"the root holds the traced heap"
is "$(dom "$tmpdir/flame.html" "[(fr(n)[0]['bytes'], fr(n)[0]['blocks']) for n in ('leak_4096', 'grab', 'cache_fill')]")" \
	"[(4096000, 1000), (204800, 100), (10000, 10)]" "frames: known bytes and blocks"
is "$(dom "$tmpdir/flame.html" "all(abs(f['width'] - 100.0 * f['bytes'] / $total) < 1e-4 for f in d['frames'])")" \
	True "every frame's width is its share of the bytes"
is "$(dom "$tmpdir/flame.html" "'%.4f %.4f' % (fr('leak_4096')[0]['width'], fr('cache_fill')[0]['width'])")" \
	"$(awk "BEGIN { printf \"%.4f %.4f\", 409600000 / $total, 1000000 / $total }")" \
	"leak_4096 and cache_fill widths: 4096000 and 10000 bytes of $total"
is "$(dom "$tmpdir/flame.html" "fr('grab')[0]['left'] >= fr('leak_inline')[0]['left'] and fr('grab')[0]['top'] < fr('leak_inline')[0]['top'] < fr('main')[0]['top']")" \
	True "flame: a callee sits above its caller, within its span"
is "$(dom "$tmpdir/flame.html" "[f['name'] for f in d['frames'] if f['match']]")" \
	"['leak_4096']" "#search=leak_4096 marks exactly leak_4096"
is "$(dom "$tmpdir/flame.html" "d['text']['match']")" \
	"Matched: $(awk "BEGIN { printf \"%.2f\", 409600000 / $total }")% (3.9 MiB)" \
	"the search says the share it matched"
is "$(dom "$tmpdir/flame.html" "fr('leak_4096')[0]['title']")" \
	"leak_4096  $pp_src:$l4096
3.9 MiB (4096000 bytes), 1000 blocks, $(awk "BEGIN { printf \"%.2f\", 409600000 / $total }")% of all" \
	"tooltip: function, file:line, bytes, blocks, share"
chrome "$F#search=pp-leak%5C.c:$linl" "$tmpdir/flame2.html"
is "$(dom "$tmpdir/flame2.html" "[f['name'] for f in d['frames'] if f['match']]")" \
	"['grab']" "a search on file:line marks the inlined grab()"
chrome "$F#zoom=leak_inline&view=icicle" "$tmpdir/zoom.html"
is "$(dom "$tmpdir/zoom.html" "fr('leak_inline')[0]['width'], fr('grab')[0]['width'], fr('main')[0]['anc'], fr('leak_4096'), fr('grab')[0]['top'] > fr('leak_inline')[0]['top']")" \
	"(100.0, 100.0, True, [], True)" \
	"zoom into leak_inline: it and grab span the width, siblings hidden; icicle grows down"

# saved to disk, opened offline
"$CURL" -s -o "$tmpdir/saved.html" "$F"
grep -Eqi '(src|href)=|@import|url\(' "$tmpdir/saved.html"
ok $((! $?)) "the page references no script, style or font outside itself"
chrome "file://$tmpdir/saved.html#search=cache_fill" "$tmpdir/saved-dom.html"
is "$(dom "$tmpdir/saved-dom.html" "[f['name'] for f in d['frames'] if f['match']], len(d['frames']), d['external']")" \
	"(['cache_fill'], $(dom "$tmpdir/flame.html" "len(d['frames'])"), [])" \
	"saved to disk: the same frames, search works"

# two targets: merged
start_fix b; ok $? "fixture b started"
b=$fpid
get "$T/start/?pid=$b"
touch "$tmpdir/b/go"
waitfile "$tmpdir/b/done"; ok $? "b leaked"
chrome "$base$T/snapshot/?name=pp-leak&format=flamegraph" "$tmpdir/both.html"
is "$(dom "$tmpdir/both.html" "[f['bytes'] for f in fr('leak_4096')], d['text']['sub'].split(' \u2014 ')[0]")" \
	"([8192000], 'alive now, 2 processes (merged)')" \
	"name=: two targets merged into one graph"

# ------------------------------------------------------------- index
get "$T/targets/?pid=$a"
cur=$(js "j[0]['traced_current_bytes']")
chrome "$base/debug/prof/mem/" "$tmpdir/index.html"
ok $? "chromium renders the index"
is "$(dom "$tmpdir/index.html" "[(r['pid'], r['cells'][1], r['cells'][2], r['cells'][3]) for r in d['rows'] if r['pid'] == $a]")" \
	"[($a, 'pp-leak', 'tracing', 'exact, 30 frames')]" "index: a's row"
is "$(dom "$tmpdir/index.html" "[r['cells'][4] for r in d['rows'] if r['pid'] == $a]")" \
	"['$(awk "BEGIN { printf \"%.1f MB\", $cur / 1048576 }")']" "index: current bytes as targets/ says"
is "$(dom "$tmpdir/index.html" "sorted(t for r in d['rows'] if r['pid'] == $a for t, h in r['links'] if h.endswith('pid=$a'))")" \
	"['/pprof/allocs', '/pprof/heap', 'collapsed', 'flame graph', 'flame graph (allocated)', 'lineno', 'pickle', 'pprof', 'traceback']" \
	"index: a link to each view and format"
href=$(dom "$tmpdir/index.html" "[h for r in d['rows'] if r['pid'] == $a for t, h in r['links'] if t == 'flame graph'][0]")
get "$href"
is "$code:$(grep -c 'id="hawk-data"' "$tmpdir/body")" "200:1" "index: the flame-graph link works"
is "$(dom "$tmpdir/index.html" "[(f[0], f[1], f[2], f[3]) for r in d['rows'] if r['pid'] == $a for f in r['forms']]")" \
	"[('/debug/prof/mem/tracemalloc/start/', {'pid': '$a'}, 'Start', True), ('/debug/prof/mem/tracemalloc/stop/', {'pid': '$a'}, 'Stop', False)]" \
	"index: Start (disabled) and Stop buttons, GET forms on the routes"
# what the Stop button sends: its form's action with its inputs, as GET
get "/debug/prof/mem/tracemalloc/stop/?pid=$a"
is "$code:$(cat "$tmpdir/body")" "200:Memory profiling stopped" "the Stop button's request stops a"
chrome "$base/debug/prof/mem/" "$tmpdir/index2.html"
is "$(dom "$tmpdir/index2.html" "[(r['tracing'], r['cells'][2], [f[3] for f in r['forms']]) for r in d['rows'] if r['pid'] == $a]")" \
	"[(False, 'not tracing', [False, True])]" "index after Stop: not tracing, Start enabled"
is "$(dom "$tmpdir/index2.html" "d['external']")" "[]" "index: nothing outside itself"

kill -TERM $spid
wait $spid
bg_pids="$a $b"
for d in a b; do touch "$tmpdir/$d/quit"; done
for p in $a $b; do wait "$p"; done
bg_pids=""
done_testing
