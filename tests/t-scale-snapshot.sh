#!/bin/sh
# SPDX-License-Identifier: MIT
# t-scale-snapshot.sh - snapshots of a large target (1,000,000 live blocks
# over 100,000 tracebacks, bench/scale/scale-target quiet) through
# hawk-fcgi in CGI mode and tests/hawk-dump, streamed from the target
# (segment.h, SNAPSHOT STREAM):
#  - two clients snapshotting it at once (lineno and pickle) both get the
#    exact live set;
#  - a client that goes away while the target serves its snapshot: the
#    socket it never connected to is removed by the target within
#    seconds, the tracer's memory is what it was, the next snapshot is
#    exact;
#  - a client that sends a wrong token gets nothing, the right one then
#    the whole snapshot;
#  - a client that stops reading is given up after 10 s, one that goes
#    away in the middle at once: the agent answers the next command and
#    its memory is what it was;
#  - a target killed while it streams a snapshot: the client's answer is a
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

scale_start scale

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

hd=$top_builddir/tests/hawk-dump
# a client that sends a wrong token gets nothing (the agent hangs up);
# the right one, after it, still gets the whole snapshot
"$hd" --timeout 60000 --no-sizes --wrong-token "$seg" "$tpid" snapshot \
	>"$tmpdir/w" 2>"$tmpdir/w.err"
is "$?:$(grep -c "^wrong token: reading $seg/$tpid\.snap\.[0-9]*: header: stream ends early" "$tmpdir/w")" \
	"0:1" "a wrong token: the connection closed before a byte"
is "$(sed -n 's/^snapshot .* current=\([0-9]*\) .* blocks=\([0-9]*\) .*/\2 \1/p' "$tmpdir/w")" \
	"1000000 52000000" "the right token then: the whole live set"

# a client that stops reading: the agent gives it up (10 s without
# progress) and answers the next command while it still holds its
# connection; the tracer's memory is back to what it was
"$hd" --timeout 60000 --no-sizes --stall 60 "$seg" "$tpid" snapshot \
	>"$tmpdir/s" 2>&1 &
spid=$!
bg_pids="$bg_pids $spid"
i=0
while ! grep -q stalled "$tmpdir/s" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
"$hd" --timeout 40000 "$seg" "$tpid" status >"$tmpdir/st" 2>&1
is "$?:$(kill -0 $spid 2>/dev/null; echo $?)" "0:0" \
	"a stalled reader is given up: the next command is answered while it waits"
q targets/
is "$(json "j[0]['tracer_memory_bytes']")" "$mem0" "the tracer's memory is what it was"
kill $spid 2>/dev/null
wait $spid 2>/dev/null

# a client that goes away in the middle of the stream: the agent stops
# at once (well within the next command's 5 s), and frees what it used.
# Meanwhile, in the middle of a stream with every block's size (a
# pickle's), the target holds far less than a copy of its records (it
# grew by 62 MiB here when it copied, sorted and wrote them to a file)
priv() { awk '/^Private_(Clean|Dirty):/ { k += $2 } END { print k }' "/proc/$1/smaps_rollup"; }
p0=$(priv $tpid)
"$hd" --timeout 60000 --stall 60 "$seg" "$tpid" snapshot >"$tmpdir/g" 2>&1 &
gpid=$!
bg_pids="$bg_pids $gpid"
i=0
while ! grep -q stalled "$tmpdir/g" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
p1=$(priv $tpid)
ok $([ $((p1 - p0)) -lt 32768 ]; echo $?) \
	"serving a snapshot with sizes: the target grew by $(((p1 - p0) / 1024)) MiB (< 32)"
is "$(ls "$seg" | grep -v '\.seg$' | grep -vc "^$tpid\.snap\.")" 0 \
	"and wrote no file in the segment directory"
kill -9 $gpid
wait $gpid 2>/dev/null
"$hd" --timeout 5000 "$seg" "$tpid" status >"$tmpdir/st" 2>&1
is "$?" 0 "a client gone in the middle: the next command is answered at once"
q targets/
is "$(json "j[0]['tracer_memory_bytes']")" "$mem0" "the tracer's memory is what it was"
is "$(snaps_left)" 0 "no snapshot name left"

# a target killed while it streams (its client paused after the header,
# so that the stream is surely under way): the client's error names it,
# and nothing of it is left in the directory
"$hd" --timeout 60000 --stall 3 "$seg" "$tpid" snapshot >"$tmpdir/k" \
	2>"$tmpdir/k.err" &
kpid=$!
i=0
while ! grep -q stalled "$tmpdir/k" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $tpid
wait $tpid 2>/dev/null
wait $kpid
is "$?:$(cat "$tmpdir/k.err")" "1:hawk-dump: target $tpid exited" \
	"killed target: a clean error naming it"
is "$(ls "$seg" | grep -c "^$tpid\.")" 0 "nothing of the killed target is left"
# and through the responder, as any target gone
cq "$tmpdir/e" "format=lineno"
is "$(head -n 1 "$tmpdir/e" | tr -d '\r')" "Status: 404 Not Found" "then: 404"
done_testing
