#!/bin/sh
# SPDX-License-Identifier: MIT
# t-pprof.sh - format=pprof and Go's /debug/pprof/heap and /allocs, read by
# the real `go tool pprof` (Debian golang-go), hawk-fcgi in CGI mode
# against tests/fixtures/pp-leak under libhawk:
#  - the samples, functions, files and lines (the inlined grab() included,
#    as one location with two lines) equal the format=traceback JSON of the
#    same heap; -top and -traces show the leak; mappings carry the build-id
#    and the has_* flags;
#  - -diff_base of two snapshots shows exactly what was allocated between;
#  - ?seconds=N is a delta profile, ?gc=1 runs the target's collection hook
#    (whose frees are recorded), several targets carry a pid label each,
#    the fixed-duration route's pprof is the difference;
#  - not tracing: 409 saying how to start; no target: 404.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

GO=$(command -v go) || skip_all "go not found (Debian package golang-go)"
pp_fix=$top_builddir/tests/fixtures/pp-leak
pp_src=$top_srcdir/tests/fixtures/pp-leak.c
[ -x "$pp_fix" ] || skip_all "tests/fixtures/pp-leak not built"
raw_py=$top_srcdir/tests/pprof_raw.py

l4096=$(grep -n "malloc(4096); /\* LEAK-4096" "$pp_src" | cut -d: -f1)
l1000=$(grep -n "malloc(1000); /\* LEAK-1000" "$pp_src" | cut -d: -f1)
linl=$(grep -n "malloc(n); /\* PP-INLINE" "$pp_src" | cut -d: -f1)
lcall=$(grep -n "grab(2048); /\* PP-CALL" "$pp_src" | cut -d: -f1)

# go tool pprof offline, with a private HOME and build cache
mkdir "$tmpdir/home"
pprof() {
	env HOME="$tmpdir/home" GOCACHE="$tmpdir/gocache" GOENV=off \
		GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
		PPROF_TMPDIR="$tmpdir/home" "$GO" tool pprof "$@" 2>"$tmpdir/pprof.err"
}

# r PATH [QUERY]: one CGI request for PATH under /debug; status in $status,
# body in $tmpdir/body
r() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=${TMO:-10000} \
		HAWK_MAX_DURATION=60 REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO="$1" REQUEST_URI="/debug$1?${2:-}" \
		QUERY_STRING="${2:-}" "$fcgi" >"$tmpdir/out" 2>"$tmpdir/err"
	status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmpdir/out")
	sed '1,/^\r$/d' "$tmpdir/out" >"$tmpdir/body"
}
T=/prof/mem/tracemalloc
# pyq FILE EXPR: a python expression over the parsed -raw output `p`
pyq() {
	"$PYTHON3" -c "import json,sys,subprocess
p = json.loads(subprocess.check_output([sys.executable, sys.argv[1], sys.argv[2]]))
print(($2))" "$raw_py" "$1"
}
# start_fix NAME: a pp-leak under libhawk in $tmpdir/NAME; sets fpid
start_fix() {
	mkdir "$tmpdir/$1"
	HAWK_DIR=$seg HAWK_NAME=pp-leak LD_PRELOAD=$lib "$pp_fix" "$tmpdir/$1" &
	fpid=$!
	bg_pids="$bg_pids $fpid"
	waitfile "$tmpdir/$1/ready" && waitfile "$seg/$fpid.seg"
}

r /pprof/heap
is "$status:$(json 'j["error"]')" "404:no traced process" \
	"/pprof/heap with no target at all: 404"

start_fix a; ok $? "fixture a started"
a=$fpid
r /pprof/heap "pid=$a"
is "$status" 409 "/pprof/heap of a target not tracing: 409"
is "$(json 'j["error"]')" "memory profiling not started in target $a: start it with GET /debug/prof/mem/tracemalloc/start/?pid=$a (or run it with HAWK_TRACEMALLOC=30)" \
	"409 says how to start it"
r /pprof/heap "pid=1"
is "$status" 404 "/pprof/heap?pid=1 (no such target): 404"

r $T/start/ "pid=$a&frames=64"
is "$status" 200 "start a"
touch "$tmpdir/a/go"
waitfile "$tmpdir/a/done"; ok $? "a leaked"

r $T/snapshot/ "pid=$a&format=pprof"
is "$status" 200 "snapshot/?format=pprof: 200"
grep -q '^Content-Type: application/octet-stream' "$tmpdir/out"
ok $? "pprof: application/octet-stream"
cp "$tmpdir/body" "$tmpdir/p1.pb.gz"
is "$(head -c 2 "$tmpdir/p1.pb.gz" | od -An -tx1 | tr -d ' ')" "1f8b" \
	"pprof: gzip-compressed"
r $T/snapshot/ "pid=$a&format=traceback&count=0"
cp "$tmpdir/body" "$tmpdir/tb1.json"

pprof -raw -symbolize=none "$tmpdir/p1.pb.gz" >"$tmpdir/p1.raw"
ok $? "go tool pprof -raw reads it"
is "$("$PYTHON3" "$raw_py" compare "$tmpdir/p1.raw" "$tmpdir/tb1.json")" same \
	"pprof samples = format=traceback statistics (frames, counts, bytes)"
is "$(pyq "$tmpdir/p1.raw" 'p["types"]')" \
	"['inuse_objects/count', 'inuse_space/bytes']" "sample types"
grep -q '^PeriodType: space bytes' "$tmpdir/p1.raw" &&
	grep -q '^Period: 1$' "$tmpdir/p1.raw"
ok $? "period type space/bytes, period 1 (exact)"
is "$(pyq "$tmpdir/p1.raw" "[(s['values'], s['locs'][0], s['pids']) for s in p['samples'] if s['locs'][0][0][0] == 'leak_4096']")" \
	"[([1000, 4096000], [['leak_4096', '$pp_src', $l4096]], [$a])]" \
	"1000 blocks of 4096 bytes at pp-leak.c:$l4096, label pid=$a"
is "$(pyq "$tmpdir/p1.raw" "[(s['values'], s['locs'][0], s['locs'][1][0][0]) for s in p['samples'] if s['locs'][0][0][0] == 'grab']")" \
	"[([100, 204800], [['grab', '$pp_src', $linl], ['leak_inline', '$pp_src', $lcall]], 'main')]" \
	"the inlined grab(): one location, lines grab:$linl then leak_inline:$lcall"
is "$(pyq "$tmpdir/p1.raw" "[(m['build_id'] != '', m['flags']) for m in p['mappings'] if m['file'].endswith('/pp-leak')]")" \
	"[(True, '[FN][FL][LN][IN]')]" "the fixture's mapping: build-id, has_* flags"
is "$(pyq "$tmpdir/p1.raw" "sum(s['values'][1] for s in p['samples']) == sum(s['mem_blocks_size_bytes'] for s in json.load(open('$tmpdir/tb1.json'))['stats'])")" \
	True "pprof total = JSON total"

pprof -top -unit=B "$tmpdir/p1.pb.gz" >"$tmpdir/top"
ok $? "go tool pprof -top"
grep -Eq '^ *4096000B +[0-9.]+% +[0-9.]+% +4096000B +[0-9.]+% +leak_4096$' "$tmpdir/top"
ok $? "-top: leak_4096 holds 4096000 B"
grep -Eq '^ *204800B .* grab \(inline\)$' "$tmpdir/top"
ok $? "-top: grab (inline) holds 204800 B"
pprof -traces -lines "$tmpdir/p1.pb.gz" >"$tmpdir/traces"
ok $? "go tool pprof -traces"
grep -q "grab .*pp-leak.c:$linl" "$tmpdir/traces" &&
	grep -q "leak_inline .*pp-leak.c:$lcall" "$tmpdir/traces" &&
	grep -q "leak_4096 .*pp-leak.c:$l4096" "$tmpdir/traces"
ok $? "-traces: functions with file:line, inline frames included"

# -diff_base: what the cache added between two snapshots
touch "$tmpdir/a/go2"
waitfile "$tmpdir/a/done2"; ok $? "a filled its cache"
r $T/snapshot/ "pid=$a&format=pprof"
cp "$tmpdir/body" "$tmpdir/p2.pb.gz"
pprof -top -unit=B -diff_base="$tmpdir/p1.pb.gz" "$tmpdir/p2.pb.gz" >"$tmpdir/diff"
ok $? "go tool pprof -diff_base"
grep -q 'Showing nodes accounting for 10000B, ' "$tmpdir/diff" &&
	grep -Eq '^ *10000B .* cache_fill$' "$tmpdir/diff"
ok $? "-diff_base: +10000 B, all in cache_fill"

# /pprof/allocs: the same data (no allocation totals recorded yet)
r /pprof/allocs "pid=$a"
is "$status" 200 "/pprof/allocs: 200"
cp "$tmpdir/body" "$tmpdir/allocs.pb.gz"
pprof -raw -symbolize=none "$tmpdir/allocs.pb.gz" >"$tmpdir/allocs.raw"
is "$(pyq "$tmpdir/allocs.raw" 'p["types"]')" \
	"['alloc_objects/count', 'alloc_space/bytes']" "/pprof/allocs: alloc_* types"
r $T/snapshot/ "pid=$a&format=traceback&count=0&view=allocated"
is "$("$PYTHON3" "$raw_py" compare "$tmpdir/allocs.raw" "$tmpdir/body")" same \
	"/pprof/allocs: every allocation since the start, as view=allocated's JSON"

# ?gc=1: the collection hook empties the cache before the snapshot, and
# its frees are recorded
r /pprof/heap "pid=$a"
cp "$tmpdir/body" "$tmpdir/h.pb.gz"
pprof -raw -symbolize=none "$tmpdir/h.pb.gz" >"$tmpdir/h.raw"
is "$(pyq "$tmpdir/h.raw" "[s['values'] for s in p['samples'] if s['locs'][0][0][0] == 'cache_fill']")" \
	"[[10, 10000]]" "/pprof/heap: the cache is there"
r /pprof/heap "pid=$a&gc=1"
cp "$tmpdir/body" "$tmpdir/gc.pb.gz"
pprof -raw -symbolize=none "$tmpdir/gc.pb.gz" >"$tmpdir/gc.raw"
is "$status:$(pyq "$tmpdir/gc.raw" "[s['values'] for s in p['samples'] if s['locs'][0][0][0] == 'cache_fill']")" \
	"200:[]" "/pprof/heap?gc=1: the hook emptied the cache first"
r $T/snapshot/ "pid=$a&count=0"
is "$(json "[s for s in j['stats'] if s['function'] == 'cache_fill']")" "[]" \
	"the hook's frees were recorded (the JSON agrees)"

# ?seconds=N: a delta; b leaks in the window (its gc hook leaks on its
# second run, just before the second snapshot)
start_fix b; ok $? "fixture b started"
b=$fpid
r $T/start/ "pid=$b&gc=false"
is "$status" 200 "start b"
touch "$tmpdir/b/leak-on-gc.2"
r /pprof/heap "pid=$b&seconds=1&gc=1"
cp "$tmpdir/out" "$tmpdir/delta.out"
is "$status:$(ls "$tmpdir/b" | grep -c '^gc\.')" "200:2" \
	"/pprof/heap?seconds=1&gc=1: the hook ran before each snapshot"
sed '1,/^\r$/d' "$tmpdir/delta.out" >"$tmpdir/delta.pb.gz"
pprof -raw -symbolize=none "$tmpdir/delta.pb.gz" >"$tmpdir/delta.raw"
is "$(pyq "$tmpdir/delta.raw" "sorted((s['locs'][0][0][0], s['values']) for s in p['samples'])")" \
	"[('grab', [100, 204800]), ('leak_4096', [1000, 4096000])]" \
	"?seconds=1: exactly what was allocated in the window"
grep -Eq '^Duration: [0-9.]+s' "$tmpdir/delta.raw" || pprof -top "$tmpdir/delta.pb.gz" | grep -q '^Duration: '
ok $? "the delta has a duration"

# several targets: one pid label per sample
r /pprof/heap "name=pp-leak"
cp "$tmpdir/body" "$tmpdir/both.pb.gz"
pprof -raw -symbolize=none "$tmpdir/both.pb.gz" >"$tmpdir/both.raw"
is "$(pyq "$tmpdir/both.raw" "sorted(set(tuple(s['pids']) for s in p['samples'] if s['locs'][0][0][0] == 'leak_4096'))")" \
	"$("$PYTHON3" -c "print(sorted([($a,), ($b,)]))")" "name=: a sample per target, each labelled with its pid"
pprof -top -unit=B -tagfocus=pid=$b "$tmpdir/both.pb.gz" >"$tmpdir/focus"
grep -Eq '^ *4096000B .* leak_4096$' "$tmpdir/focus" && ! grep -q cache_fill "$tmpdir/focus"
ok $? "-tagfocus=pid=$b keeps b's samples only"

# a target that does not answer: 207, named in X-Hawk-Failed, the others
# profiled
stop_process $b; ok $? "b stopped (SIGSTOP)"
TMO=1000 r /pprof/heap "name=pp-leak"
cp "$tmpdir/body" "$tmpdir/part.pb.gz"
is "$status:$(sed -n 's/^X-Hawk-Failed: *\([^\r]*\)\r*$/\1/p' "$tmpdir/out")" "207:$b 504" \
	"/pprof/heap with b stopped: 207, X-Hawk-Failed: $b 504"
pprof -raw -symbolize=none "$tmpdir/part.pb.gz" >"$tmpdir/part.raw"
is "$(pyq "$tmpdir/part.raw" "sorted(set(p for s in p['samples'] for p in s['pids']))")" \
	"[$a]" "the profile holds a's samples only"
kill -CONT $b

# sampled tracing: period = the rate, values already the estimates (a
# block of at least the rate is always sampled and weighs 1: exact here)
start_fix d; ok $? "fixture d started"
d=$fpid
r $T/start/ "pid=$d&sampling=4096"
is "$status" 200 "start d sampled every 4096 bytes"
touch "$tmpdir/d/go"
waitfile "$tmpdir/d/done"; ok $? "d leaked"
r /pprof/heap "pid=$d"
cp "$tmpdir/body" "$tmpdir/sampled.pb.gz"
pprof -raw -symbolize=none "$tmpdir/sampled.pb.gz" >"$tmpdir/sampled.raw"
grep -q '^Period: 4096$' "$tmpdir/sampled.raw" &&
	grep -q '^Comment: hawk: sampled tracing' "$tmpdir/sampled.raw"
ok $? "sampled: period 4096, and the profile says it is sampled"
is "$(pyq "$tmpdir/sampled.raw" "[s['values'] for s in p['samples'] if s['locs'][0][0][0] == 'leak_4096']")" \
	"[[1000, 4096000]]" "sampled: the 4096-byte blocks, each sampled, weigh 1"

# the fixed-duration route: start, snapshot, wait, snapshot, stop; pprof
# gets the difference
start_fix c; ok $? "fixture c started"
c=$fpid
( r $T/ "pid=$c&duration=4&format=pprof"; cp "$tmpdir/out" "$tmpdir/fixed.out" ) &
dpid=$!
i=0
while [ $i -lt 500 ]; do
	r $T/targets/ "pid=$c"
	[ "$(json 'j[0]["tracing"]')" = True ] && break
	sleep 0.02; i=$((i+1))
done
sleep 1  # the first snapshot follows the start at once
touch "$tmpdir/c/go"
waitfile "$tmpdir/c/done"; ok $? "c leaked during the fixed-duration profile"
wait $dpid
sed '1,/^\r$/d' "$tmpdir/fixed.out" >"$tmpdir/fixed.pb.gz"
pprof -raw -symbolize=none "$tmpdir/fixed.pb.gz" >"$tmpdir/fixed.raw"
is "$(pyq "$tmpdir/fixed.raw" "sorted((s['locs'][0][0][0], s['values']) for s in p['samples'] if s['locs'][0][0][0] in ('grab', 'leak_4096'))")" \
	"[('grab', [100, 204800]), ('leak_4096', [1000, 4096000])]" \
	"fixed-duration format=pprof: the difference"
r $T/targets/ "pid=$c"
is "$(json 'j[0]["tracing"]')" False "the fixed-duration route stopped tracing"

for x in a b c d; do touch "$tmpdir/$x/quit"; done
for p in $a $b $c $d; do wait "$p"; done
bg_pids=""
done_testing
