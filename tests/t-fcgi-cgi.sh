#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-cgi.sh - hawk-fcgi in CGI mode against a real target under
# libhawk (tests/fixtures/fc-leak) in a private HAWK_DIR: every route,
# status codes and error bodies, a leak of exactly 1000 x 4096 bytes at a
# known line, the pickle checked by python3's tracemalloc against the JSON,
# the fixed-duration diff, a target that does not answer (504), HEAD, 405,
# and a responder that inherits LD_PRELOAD=libhawk.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

mkdir "$tmpdir/t"
line=$(grep -n "malloc(4096); /\* LEAK-4096" "$src" | cut -d: -f1)
line2=$(grep -n "malloc(1000); /\* LEAK-1000" "$src" | cut -d: -f1)

HAWK_DIR=$seg HAWK_NAME=fc-leak LD_PRELOAD=$lib "$fix" "$tmpdir/t" &
pid=$!
bg_pids="$pid"
waitfile "$tmpdir/t/ready"; ok $? "fixture started"
waitfile "$seg/$pid.seg"; ok $? "fixture has its segment"

q targets/
is "$status" 200 "targets/: 200"
is "$(json '[(t["pid"], t["name"], t["alive"], t["tracing"]) for t in j]')" \
	"[($pid, 'fc-leak', True, False)]" "targets/: the fixture, alive, not tracing"
grep -q '^Cache-Control: no-store' "$tmpdir/out"; ok $? "Cache-Control: no-store"
q snapshot/
is "$status:$(json 'j["error"]')" "409:memory profiling not started" \
	"snapshot/ before start: 409 JSON"
q stop/
is "$status" 409 "stop/ before start: 409"
q start/ "frames=0"
is "$status:$(json 'j["parameter"], j["accepted"]')" "400:('frames', '1..512')" \
	"start/?frames=0: 400 naming frames and its range"
q start/ "gc=perhaps&frames=5"
is "$status:$(json 'j["parameter"]')" "400:gc" "start/?gc=perhaps: 400"
q targets/
is "$(json 'j[0]["tracing"]')" False "a bad request changed nothing"
q start/ "pid=1"
is "$status" 404 "start/?pid=1 (no such target): 404"
q start/ "name=nosuch"
is "$status" 404 "start/?name=nosuch: 404"

q start/ "name=fc-leak&frames=40"
is "$status" 200 "start/: 200"
is "$(cat "$tmpdir/body")" "Memory profiling started" "start/: text body"
grep -q '^Content-Type: text/plain' "$tmpdir/out"; ok $? "start/: text/plain"
q start/
is "$status:$(json 'j["pid"]')" "409:$pid" "start/ again: 409 naming the pid"
q targets/
is "$(json 'j[0]["tracing"], j[0]["frames"]')" "(True, 40)" \
	"targets/: tracing with frames=40"

touch "$tmpdir/t/go"
waitfile "$tmpdir/t/done"; ok $? "fixture leaked"
q targets/
is "$(json 'j[0]["responding"], j[0]["traced_current_bytes"] >= 4096000')" \
	"(True, True)" "targets/: fresh figures at once (the leak is counted)"

q snapshot/ "count=0&pid=$pid"
is "$status" 200 "snapshot/: 200"
cp "$tmpdir/body" "$tmpdir/lineno.json"
is "$(json "[(s['mem_blocks_count'], s['mem_blocks_size_bytes'], s['lineno'], s['function'], s['pid']) for s in j['stats'] if s['filename'].endswith('fc-leak.c')]")" \
	"[(1000, 4096000, $line, 'leak_4096', $pid)]" \
	"exactly 1000 blocks of 4096 bytes at fc-leak.c:$line"
is "$(json "[s['stat'].split(': ', 1)[1] for s in j['stats'] if s['lineno'] == $line]")" \
	"['size=4000 KiB, count=1000, average=4096 B']" "stat string"
is "$(json "[s['code'] for s in j['stats'] if s['lineno'] == $line]")" \
	"['keep[i] = malloc(4096); /* LEAK-4096 */']" "code line"
is "$(json "j['heap_current_bytes'] >= 4096000, j['heap_current']")" \
	"(True, '3.9 MB')" "heap_current"

q snapshot/ "format=traceback&count=1"
is "$(json "j['stats'][0]['traceback'][-2:]")" \
	"['  File \"$src\", line $line', '    keep[i] = malloc(4096); /* LEAK-4096 */']" \
	"traceback: most recent frame last, with its code"
q snapshot/ "cumulative=true&count=0"
is "$(json "[s['mem_blocks_count'] for s in j['stats'] if s['function'] == 'main']")" \
	"[1000]" "cumulative: main() carries the 1000 blocks"
q snapshot/ "include=*fc-leak.c&count=0"
is "$(json "len(j['stats'])")" 1 "include=*fc-leak.c keeps the one site"
q snapshot/ "exclude=*fc-leak.c&count=0"
is "$(json "[s for s in j['stats'] if s['lineno'] == $line]")" "[]" \
	"exclude=*fc-leak.c drops it"

q snapshot/ "format=pickle"
is "$status" 200 "pickle: 200"
grep -q '^Content-Type: application/octet-stream' "$tmpdir/out"; ok $? "pickle: octet-stream"
grep -Eq '^Content-Disposition: attachment; filename=hwk_mem_tracemalloc_snapshot_[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}\.pkl' \
	"$tmpdir/out"; ok $? "pickle: Content-Disposition"
cp "$tmpdir/body" "$tmpdir/snap.pkl"
"$PYTHON3" - "$tmpdir/snap.pkl" "$tmpdir/lineno.json" "$pid" <<'PY'
import json, pickle, sys, tracemalloc
snap = tracemalloc.Snapshot.load(sys.argv[1])
with open(sys.argv[1], "rb") as f:
    assert isinstance(pickle.load(f), tracemalloc.Snapshot)
ours = json.load(open(sys.argv[2]))["stats"]
theirs = snap.statistics("lineno")
assert snap.traceback_limit == 40, snap.traceback_limit
assert {t.domain for t in snap.traces} == {int(sys.argv[3])}
assert len(ours) == len(theirs), (len(ours), len(theirs))
for o, s in zip(ours, theirs):
    assert o["stat"] == str(s), (o["stat"], str(s))
    assert (o["mem_blocks_count"], o["mem_blocks_size_bytes"]) == (s.count, s.size)
PY
ok $? "pickle: python3 Snapshot.load statistics('lineno') == our JSON"

q snapshot/ "" HEAD
is "$status:$(wc -c <"$tmpdir/body" | tr -d ' ')" "200:0" "HEAD: headers only"
q snapshot/ "" POST
is "$status:$(grep -c '^Allow: GET, HEAD' "$tmpdir/out")" "405:1" "POST: 405 with Allow"
q nosuch/
is "$status:$(json 'j["error"]')" "404:no such route" "unknown route: 404 JSON"

stop_process $pid
TMO=300 q snapshot/
kill -CONT $pid
is "$status:$(json 'j["error"]')" "504:target $pid did not answer within 300 ms" \
	"a stopped target: 504 naming the pid"

q stop/
is "$status:$(cat "$tmpdir/body")" "200:Memory profiling stopped" "stop/: 200"
q stop/
is "$status" 409 "stop/ again: 409"

# the fixed-duration route: leak 10 x 1000 bytes while it waits
(
	i=0
	while [ $i -lt 500 ]; do
		env -i HAWK_DIR="$seg" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
			PATH_INFO=/prof/mem/tracemalloc/targets/ "$fcgi" |
			grep -q '"tracing":true' && break
		sleep 0.02; i=$((i + 1))
	done
	touch "$tmpdir/t/go2"
) &
q "" "duration=3&count=0"
is "$status" 200 "fixed-duration route: 200"
is "$(json "[s['stat'].split(': ', 1)[1] for s in j['stats'] if s['lineno'] == $line2]")" \
	"['size=10000 B (+10000 B), count=10 (+10), average=1000 B']" \
	"fixed-duration: StatisticDiff of the 10 new blocks"
is "$(json "j['heap_diff_bytes'], j['heap_diff']")" "(10000, '9.8 KB')" "heap_diff"
q targets/
is "$(json 'j[0]["tracing"]')" False "fixed-duration route stopped tracing"
q "" "duration=1&format=pickle"
sed '1,/^\r$/d' "$tmpdir/out" >"$tmpdir/p.pkl"
is "$status:$("$PYTHON3" -c 'import sys, tracemalloc; s = tracemalloc.Snapshot.load(sys.argv[1]); print(len(s.traces), s.traceback_limit)' "$tmpdir/p.pkl")" \
	"200:0 30" "fixed-duration pickle: the second snapshot (nothing new), limit 30"
q "" "duration=61"
is "$status:$(json 'j["parameter"], j["accepted"]')" "400:('duration', '1..60')" \
	"duration above HAWK_MAX_DURATION: 400"

# a responder that inherits LD_PRELOAD=libhawk re-executes without it
if [ -n "$HAWK_SANITIZE" ]; then
	skip "sanitizer build: libhawk cannot be preloaded into hawk-fcgi"
else
	env -i HAWK_DIR="$seg" LD_PRELOAD="$lib" REQUEST_METHOD=GET \
		SCRIPT_NAME=/debug PATH_INFO=/prof/mem/tracemalloc/targets/ \
		"$fcgi" >"$tmpdir/out"
	sed '1,/^\r$/d' "$tmpdir/out" >"$tmpdir/body"
	is "$(json '[t["pid"] for t in j]'):$(ls "$seg" | grep -c '\.seg$')" \
		"[$pid]:1" "LD_PRELOAD=libhawk: the responder is not a target"
fi

echo "bad = 1" >"$tmpdir/bad.conf"
"$fcgi" --config "$tmpdir/bad.conf" </dev/null >/dev/null 2>"$tmpdir/err"
is "$?:$(cat "$tmpdir/err")" "1:hawk-fcgi: $tmpdir/bad.conf:1: unknown setting \"bad\"" \
	"bad configuration: exit 1 naming FILE:LINE"

# a live target of a uid allow_uids does not admit: 403 saying so (hawk ps
# lists it; a 404 "no traced process" would be a lie)
fake=$top_builddir/tests/seg-fake
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# the target runs as uid 4242 and owns its segment (a segment that
	# names a process of another uid is an impostor's, refused as such)
	chmod 711 "$tmpdir"
	chmod 1777 "$seg"
	setpriv --reuid=4242 --regid=4242 --clear-groups \
		"$fake" "$seg" hold other 0 0 0 0 4096 &
	fpid=$!
	bg_pids="$bg_pids $fpid"
	waitfile "$seg/$fpid.seg"
	q start "pid=$fpid"
	is "$status:$(json 'j["error"]')" \
		"403:target $fpid is owned by uid 4242, which allow_uids does not admit" \
		"pid= of another uid not admitted: 403 naming the uid and the setting"
	q snapshot "name=other"
	is "$status:$(json 'j["pid"]')" "403:$fpid" "name= likewise"
	q targets
	is "$status:$(json '[t["pid"] for t in j if t["pid"] == '$fpid']')" "200:[]" \
		"targets/ still lists only what it may read"
	kill $fpid
	wait $fpid 2>/dev/null
	rm -f "$seg/$fpid.seg"
else
	skip "not root (or no setpriv): cannot run a target as another uid"
fi

touch "$tmpdir/t/quit"
wait $pid
ok $? "fixture exited cleanly"
bg_pids=""
done_testing
