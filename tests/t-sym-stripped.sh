#!/bin/sh
# SPDX-License-Identifier: MIT
# t-sym-stripped.sh - frames of a stripped program through hawk-fcgi (CGI
# mode): tests/fixtures/sy-strip, copied and stripped of everything but
# .dynsym (it is linked -rdynamic), runs under libhawk; alpha() keeps 100
# blocks of 1000 bytes, beta() 10 of 2000.  Each must come out as a frame
# of its own, "BIN(alpha+0xOFF)" line 0, with function "alpha+0xOFF" and
# its module offset (offset - nm's address of alpha = OFF exactly), in the
# lineno and traceback formats, and python3's tracemalloc must show the
# same statistics from the pickle.  Then the binary is replaced on disk
# while it runs (the maps say "(deleted)"): it is still symbolized, through
# /proc/PID/map_files.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

command -v strip >/dev/null || skip_all "strip (binutils) not found"
command -v nm >/dev/null || skip_all "nm (binutils) not found"
bin=$tmpdir/bin/sy-strip
mkdir "$tmpdir/bin" "$tmpdir/t"
cp "$top_builddir/tests/fixtures/sy-strip" "$bin"
strip --strip-all "$bin"
nm -D "$bin" | grep -q ' T alpha$'; ok $? "the stripped copy keeps alpha in .dynsym"
addr_a=$((0x$(nm -D "$bin" | sed -n 's/^\([0-9a-f]*\) T alpha$/\1/p')))
addr_b=$((0x$(nm -D "$bin" | sed -n 's/^\([0-9a-f]*\) T beta$/\1/p')))

HAWK_DIR=$seg HAWK_NAME=sy-strip LD_PRELOAD=$lib "$bin" "$tmpdir/t" &
pid=$!
bg_pids="$pid"
waitfile "$tmpdir/t/ready"; ok $? "fixture started"
waitfile "$seg/$pid.seg"; ok $? "fixture has its segment"
q start/ "pid=$pid&frames=8"
is "$status" 200 "start/: 200"
touch "$tmpdir/t/go"
waitfile "$tmpdir/t/done"; ok $? "fixture allocated"

# the lineno statistics whose frame lies in module $1 (default: $bin):
# count, size, line, file == MODULE(FUNCTION), symbol, OFF of FUNCTION ==
# offset - nm's address of the symbol, module, a build-id
frames() {
	json "sorted((s['mem_blocks_count'], s['mem_blocks_size_bytes'], s['lineno'], s['filename'] == s['module'] + '(' + s['function'] + ')', s['function'].split('+')[0], int(s['function'].split('+')[1], 16) == s['offset'] - {'alpha': $addr_a, 'beta': $addr_b}.get(s['function'].split('+')[0], -1), s['module'], len(s['build_id']) > 0) for s in j['stats'] if s['module'] == '${1:-$bin}')"
}
want="[(10, 20000, 0, True, 'beta', True, '$bin', True), (100, 100000, 0, True, 'alpha', True, '$bin', True)]"
q snapshot/ "pid=$pid&count=0"
is "$status" 200 "snapshot/ lineno: 200"
cp "$tmpdir/body" "$tmpdir/lineno.json"
is "$(frames)" "$want" \
	"lineno: alpha and beta are two frames, each named BIN(SYMBOL+0xOFF), OFF = offset - nm address"
q snapshot/ "pid=$pid&count=0&format=traceback"
cp "$tmpdir/body" "$tmpdir/traceback.json"
is "$(json "sorted(f['filename'] for s in j['stats'] for f in s['frames'][-1:] if f['module'] == '$bin')" | sed "s|$bin|BIN|g" | sed 's/+0x[0-9a-f]*/+OFF/g')" \
	"['BIN(alpha+OFF)', 'BIN(beta+OFF)']" \
	"traceback: the most recent frames are BIN(alpha+...) and BIN(beta+...)"
is "$(json "len([l for s in j['stats'] for l in s['traceback'] if l.startswith('  File \"$bin(alpha+0x') and l.endswith('\", line 0')])")" \
	1 "traceback: Traceback.format() names alpha's frame with line 0"
q snapshot/ "pid=$pid&count=0&cumulative=true"
cp "$tmpdir/body" "$tmpdir/cumulative.json"
q snapshot/ "pid=$pid&format=pickle"
is "$status" 200 "snapshot/ pickle: 200"
cp "$tmpdir/body" "$tmpdir/snap.pkl"
is "$("$PYTHON3" - "$tmpdir" "$bin" <<'PY' 2>&1
import json, sys, tracemalloc
d, b = sys.argv[1:3]
snap = tracemalloc.Snapshot.load(d + "/snap.pkl")
def mine(stats):
    return [s for s in stats if s.traceback[0].filename.startswith(b + "(")]
py = [(str(s), s.count, s.size) for s in mine(snap.statistics("lineno"))]
js = [(s["stat"], s["mem_blocks_count"], s["mem_blocks_size_bytes"])
      for s in json.load(open(d + "/lineno.json"))["stats"]
      if s["filename"].startswith(b + "(")]
if py != js:
    print("lineno: json %r, pickle %r" % (js, py)); sys.exit()
py = [(s.count, s.size, [l for l in s.traceback.format() if l.startswith("  File")])
      for s in snap.statistics("traceback")]
js = [(s["mem_blocks_count"], s["mem_blocks_size_bytes"],
       [l for l in s["traceback"] if l.startswith("  File")])
      for s in json.load(open(d + "/traceback.json"))["stats"]]
if py != js:
    print("traceback: json %r, pickle %r" % (js, py)); sys.exit()
py = [str(s) for s in snap.statistics("lineno", cumulative=True)]
js = [s["stat"] for s in json.load(open(d + "/cumulative.json"))["stats"]]
if py != js:
    print("cumulative: json %r, pickle %r" % (js, py)); sys.exit()
names = sorted(s.traceback[0].filename[len(b):].split("+")[0]
               for s in mine(snap.statistics("lineno")))
print("ok", names)
PY
)" "ok ['(alpha', '(beta']" \
	"python3: the pickle's statistics equal the JSON's, alpha and beta apart"

# replace the binary on disk while it runs: a new file at the same path
cp "$bin" "$bin.new"
printf 'x' >>"$bin.new"
mv "$bin.new" "$bin"
grep -q "$bin (deleted)" "/proc/$pid/maps"; ok $? "the maps say (deleted)"
q snapshot/ "pid=$pid&count=0"
is "$status" 200 "snapshot/ after the replacement: 200"
is "$(frames "$bin (deleted)" | sed 's| (deleted)||g')" "$want" \
	"replaced binary: alpha and beta still named, through /proc/PID/map_files"
touch "$tmpdir/t/quit"
wait "$pid"; ok $? "fixture exited cleanly"
bg_pids=
done_testing
