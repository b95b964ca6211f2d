#!/bin/sh
# SPDX-License-Identifier: MIT
# t-scale-snapshot.sh - snapshots of a large target (1,000,000 live blocks
# over 100,000 tracebacks, bench/scale/scale-target quiet) through
# hawk-fcgi in CGI mode, read through bounded buffers:
#  - two clients snapshotting it at once (lineno and pickle) both get the
#    exact live set;
#  - a client that goes away while the target writes its snapshot: the
#    file it never collected is removed by the target within seconds, the
#    tracer's memory is what it was, the next snapshot is exact;
#  - a target killed while it writes a snapshot: the client's answer is a
#    clean error naming it, and nothing of it is left in the directory.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

st=$top_builddir/bench/scale/scale-target
[ -x "$st" ] || skip_all "bench/scale/scale-target not built"
mkdir "$tmpdir/t"
TMO=60000
export TMO

# cq OUT QUERY: a CGI snapshot request, headers + body in OUT
cq() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="$2" \
		"$fcgi" >"$1" 2>"$1.err"
}
# cq_start OUT QUERY: the same in the background, its pid (hawk-fcgi's,
# env execs it) in $cpid
cq_start() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="$2" \
		"$fcgi" >"$1" 2>"$1.err" &
	cpid=$!
}
# exact OUT: "blocks bytes" summed over the lineno stats of OUT
exact() {
	sed '1,/^\r$/d' "$1" | "$PYTHON3" -c 'import json,sys
j=json.load(sys.stdin)
print(sum(s["mem_blocks_count"] for s in j["stats"]), sum(s["mem_blocks_size_bytes"] for s in j["stats"]))'
}
# wait_snap: busy-wait (up to 60 s) for a snapshot file of the target
wait_snap() {
	i=0
	while [ $i -lt 60000 ]; do
		for f in "$seg/$tpid".snap.*; do
			[ -e "$f" ] && return 0
		done
		i=$((i + 1))
	done
	return 1
}
snaps_left() { ls "$seg" | grep -c "^$tpid\.snap\." ; }

HAWK_DIR=$seg HAWK_NAME=scale LD_PRELOAD=$lib "$st" "$tmpdir/t" 1000000 100000 quiet &
tpid=$!
bg_pids="$bg_pids $tpid"
waitfile "$tmpdir/t/ready"
q start/ "frames=30"
is "$status" 200 "start/"
touch "$tmpdir/t/go"
i=0
while [ ! -e "$tmpdir/t/done" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
ok $([ -e "$tmpdir/t/done" ]; echo $?) "1,000,000 blocks allocated"

# two clients at once
cq "$tmpdir/a" "format=lineno&count=0" &
a=$!
cq "$tmpdir/b" "format=pickle" &
b=$!
wait $a; ra=$?
wait $b; rb=$?
is "$ra:$rb:$(head -n 1 "$tmpdir/a" | tr -d '\r'):$(head -n 1 "$tmpdir/b" | tr -d '\r')" \
	"0:0:Status: 200 OK:Status: 200 OK" "two clients at once: both answered 200"
is "$(exact "$tmpdir/a")" "1000000 52000000" "lineno: exactly the live set"
sed '1,/^\r$/d' "$tmpdir/b" >"$tmpdir/b.pkl"
is "$("$PYTHON3" -c 'import tracemalloc,sys
s=tracemalloc.Snapshot.load(sys.argv[1])
print(len(s.traces), sum(t.size for t in s.traces), len({t.traceback for t in s.traces}))' "$tmpdir/b.pkl")" \
	"1000000 52000000 100000" "pickle: every block, its size, 100,000 tracebacks"

# the statistics aggregated as the snapshot is read equal python's over
# the pickle of the same (quiet) heap: cumulative counts each occurrence
# of a recursive frame (pad, lvl0, lvl1); include with all_frames reads
# every frame; exclude keeps the most recent frame only
for v in "cumulative=true" "include=*scale-target.c&all_frames=true" \
	"exclude=*nosuch*" "cumulative=true&include=*scale-target.c"; do
	cq "$tmpdir/v" "format=lineno&count=0&$v"
	sed '1,/^\r$/d' "$tmpdir/v" >"$tmpdir/v.json"
	"$PYTHON3" - "$tmpdir/b.pkl" "$tmpdir/v.json" "$v" <<'PY'
import json, sys, tracemalloc
snap = tracemalloc.Snapshot.load(sys.argv[1])
q = dict(kv.split("=", 1) for kv in sys.argv[3].split("&"))
filters = []
if "include" in q:
    filters.append(tracemalloc.Filter(True, q["include"],
                                      all_frames="all_frames" in q))
if "exclude" in q:
    filters.append(tracemalloc.Filter(False, q["exclude"]))
if filters:
    snap = snap.filter_traces(filters)
theirs = snap.statistics("lineno", cumulative="cumulative" in q)
ours = json.load(open(sys.argv[2]))["stats"]
assert len(ours) == len(theirs), (len(ours), len(theirs))
for o, s in zip(ours, theirs):
    assert o["stat"] == str(s), (o["stat"], str(s))
PY
	ok $? "lineno $v: python3's statistics over the pickle"
done

# a client that goes away while the target writes
q targets/
mem0=$(json "j[0]['tracer_memory_bytes']")
cq_start "$tmpdir/c" "format=lineno"
c=$cpid
wait_snap
kill -9 $c
wait $c 2>/dev/null
left=$(snaps_left)
if [ "$left" -ge 1 ]; then
	i=0
	while [ "$(snaps_left)" -gt 0 ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i + 1)); done
	is "$(snaps_left)" 0 "a snapshot whose client went away is removed by the target"
else
	skip "the client collected its snapshot before it was killed"
fi
q targets/
is "$(json "j[0]['tracer_memory_bytes']")" "$mem0" "the tracer's memory is what it was"
cq "$tmpdir/d" "format=lineno"
is "$(exact "$tmpdir/d")" "1000000 52000000" "the next snapshot is exact"

# a target killed while it writes
cq_start "$tmpdir/e" "format=lineno"
e=$cpid
wait_snap
kill -9 $tpid
wait $tpid 2>/dev/null
wait $e
is "$(head -n 1 "$tmpdir/e" | tr -d '\r')" "Status: 404 Not Found" "killed target: 404 (as any target gone)"
sed '1,/^\r$/d' "$tmpdir/e" >"$tmpdir/body"
is "$(json 'j["error"]')" "target $tpid exited" "killed target: the error names it"
is "$(ls "$seg" | grep -c "^$tpid\.")" 0 "nothing of the killed target is left"
done_testing
