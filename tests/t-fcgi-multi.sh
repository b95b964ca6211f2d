#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-multi.sh - several targets through hawk-fcgi in CGI mode: pid= and
# name= selection, the multi-target rules (a request answers per target:
# start/ starts those not tracing and lists the one already tracing as
# failed, 207; stop/ acts on the tracing ones), statistics merged with
# their pids, a pickle with one domain per process whose python3
# statistics equal the JSON, and a SIGSTOPped target that costs the others
# nothing: 207 with the healthy ones' figures and the stopped one listed
# with its 504; 502 when all fail differently.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

mkdir "$tmpdir/a" "$tmpdir/b" "$tmpdir/c"
line=$(grep -n "malloc(4096); /\* LEAK-4096" "$src" | cut -d: -f1)
tracing() { q targets/; json "[t['tracing'] for t in j]"; }

for d in a b c; do
	name=fc-multi
	[ $d = c ] && name=fc-other
	HAWK_DIR=$seg HAWK_NAME=$name LD_PRELOAD=$lib "$fix" "$tmpdir/$d" &
	eval "p$d=\$!"
	bg_pids="$bg_pids $!"
done
for d in a b c; do
	eval "waitfile \"\$seg/\$p$d.seg\""
done
ok $? "three fixtures started"
# pids in ascending order, as targets/ lists them
sorted=$(printf '%s\n' $pa $pb $pc | sort -n | tr '\n' ' ')
q targets/
is "$(json "' '.join(str(t['pid']) for t in j)") " "$sorted" "targets/ lists three, in pid order"

q start/ "pid=$pa"
is "$status" 200 "start/?pid=A"
q start/
is "$status" 207 "start/ (all) with one already tracing: 207"
is "$(json '[(f["pid"], f["status"]) for f in j["failed"]], j["message"]')" \
	"([($pa, 409)], 'Memory profiling started')" \
	"207 lists the tracing target as failed with 409"
q targets/
is "$(json "sorted(t['pid'] for t in j if t['tracing'])")" "[$(echo $sorted | sed 's/ /, /g')]" \
	"the others were started, the tracing one left alone"
q stop/
is "$status" 200 "stop/ (all) stops the three"
q targets/
is "$(json "[t['pid'] for t in j if t['tracing']]")" "[]" "nothing tracing"
q stop/ "name=fc-multi"
is "$status" 409 "stop/?name=fc-multi when none is tracing: 409"

q start/ "name=fc-multi&frames=20"
is "$status" 200 "start/?name=fc-multi"
q targets/
is "$(json "sorted(t['pid'] for t in j if t['tracing'])")" \
	"$("$PYTHON3" -c "print(sorted([$pa, $pb]))")" "both fc-multi tracing, fc-other not"
touch "$tmpdir/a/go" "$tmpdir/b/go" "$tmpdir/c/go"
waitfile "$tmpdir/a/done" && waitfile "$tmpdir/b/done" && waitfile "$tmpdir/c/done"
ok $? "fixtures leaked"

q snapshot/ "count=0"
cp "$tmpdir/body" "$tmpdir/lineno.json"
is "$(json "[(s['mem_blocks_count'], s['mem_blocks_size_bytes'], s['pids']) for s in j['stats'] if s['lineno'] == $line]")" \
	"$("$PYTHON3" -c "print([(2000, 8192000, sorted([$pa, $pb]))])")" \
	"merged: 2000 blocks, 8192000 bytes, both pids"
is "$(json "[s['stat'].split(': ', 1)[1] for s in j['stats'] if s['lineno'] == $line]")" \
	"['size=8000 KiB, count=2000, average=4096 B']" "merged stat string"
q snapshot/ "pid=$pb&count=1"
is "$(json "j['stats'][0]['mem_blocks_count'], j['stats'][0]['pid']")" "(1000, $pb)" \
	"pid=B: its own 1000 blocks, \"pid\""
q snapshot/ "name=fc-other"
is "$status" 409 "snapshot/?name=fc-other (not tracing): 409"
q snapshot/ "format=pickle"
cp "$tmpdir/body" "$tmpdir/snap.pkl"
"$PYTHON3" - "$tmpdir/snap.pkl" "$tmpdir/lineno.json" "$pa" "$pb" <<'PY'
import json, sys, tracemalloc
snap = tracemalloc.Snapshot.load(sys.argv[1])
assert {t.domain for t in snap.traces} == {int(sys.argv[3]), int(sys.argv[4])}
assert snap.traceback_limit == 20
ours = json.load(open(sys.argv[2]))["stats"]
theirs = snap.statistics("lineno")
assert [(o["stat"], o["mem_blocks_count"], o["mem_blocks_size_bytes"]) for o in ours] == \
    [(str(s), s.count, s.size) for s in theirs]
PY
ok $? "pickle: one domain per process; python3 statistics == JSON"
# one target stopped with SIGSTOP spoils nothing for the other
kill -STOP $pb
TMO=500 q snapshot/ "name=fc-multi&count=0"
is "$status" 207 "snapshot/ with B stopped: 207"
is "$(json "[(s['mem_blocks_count'], s['pid']) for s in j['stats'] if s['lineno'] == $line], [(f['pid'], f['status']) for f in j['failed']]")" \
	"([(1000, $pa)], [($pb, 504)])" \
	"207: A's 1000 blocks, B listed as failed with 504"
TMO=500 q snapshot/ "name=fc-multi&format=pickle"
is "$status:$(sed -n 's/^X-Hawk-Failed: *\([^\r]*\)\r*$/\1/p' "$tmpdir/out")" "207:$pb 504" \
	"pickle with B stopped: 207, X-Hawk-Failed names B"
"$PYTHON3" -c "import tracemalloc,sys; s=tracemalloc.Snapshot.load(sys.argv[1]); assert {t.domain for t in s.traces} == {$pa}" "$tmpdir/body"
ok $? "the pickle holds A's traces only"
TMO=500 q stop/ "name=fc-multi"
is "$status:$(json '[f["pid"] for f in j["failed"]]')" "207:[$pb]" \
	"stop/ with B stopped: 207, A stopped, B listed"
kill -STOP $pa
TMO=500 q start/ "name=fc-multi"
is "$status:$(json 'sorted((f["pid"], f["status"]) for f in j["failed"])')" \
	"502:$("$PYTHON3" -c "print(sorted([($pa, 504), ($pb, 409)]))")" \
	"every target failed, differently: 502 listing both"
kill -CONT $pa $pb
q stop/ "name=fc-multi"
is "$status" 200 "continued: stop/ stops B (A's withdrawn start never ran)"
q targets/
is "$(json "[t['pid'] for t in j if t['tracing']]")" "[]" "nothing tracing"

touch "$tmpdir/a/quit" "$tmpdir/b/quit" "$tmpdir/c/quit"
wait $pa $pb $pc
bg_pids=""
done_testing
