#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-fastcgi.sh - hawk-fcgi as a FastCGI application: on a listening
# socket passed as fd 0 (as lighttpd and spawn-fcgi start it) and on its
# own --listen socket; worker threads answer targets/ while a fixed-duration
# profile is in flight; SIGTERM ends the process.  The client is
# tests/fcgi_client.py (FastCGI over a unix socket).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"
client=$top_srcdir/tests/fcgi_client.py

mkdir "$tmpdir/t"
# req SOCKET ROUTE [QUERY] > response
req() {
	"$PYTHON3" "$client" "$1" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO="/prof/mem/tracemalloc/$2" QUERY_STRING="${3:-}"
}
body() { sed '1,/^\r$/d'; }

HAWK_DIR=$seg HAWK_NAME=fc-leak LD_PRELOAD=$lib "$fix" "$tmpdir/t" &
tpid=$!
bg_pids="$tpid"
waitfile "$tmpdir/t/ready" && waitfile "$seg/$tpid.seg"
ok $? "fixture started"

# 1. fd 0 is a listening unix socket (the lighttpd / spawn-fcgi way)
"$PYTHON3" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(16)
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], [sys.argv[2]])' "$tmpdir/fd0.sock" "$fcgi" \
	</dev/null >"$tmpdir/fd0.out" 2>&1 &
f0=$!
bg_pids="$bg_pids $f0"
waitfile "$tmpdir/fd0.sock"
HAWK_DIR=$seg req "$tmpdir/fd0.sock" targets/ >"$tmpdir/r" 2>&1
# the environment of the responder, not of the client, matters: this one
# was started without HAWK_DIR and so reads /dev/shm/hawk
grep -q '^Status: 200 OK' "$tmpdir/r"; ok $? "fd 0 socket: targets/ answered (200)"
req "$tmpdir/fd0.sock" nosuch/ | head -n 1 | grep -q '^Status: 404'
ok $? "fd 0 socket: unknown route 404"
kill -TERM $f0
wait $f0
is "$?" 0 "fd 0 socket: SIGTERM -> exit 0"

# 2. --listen, two workers
HAWK_DIR=$seg HAWK_MAX_DURATION=30 "$fcgi" --listen "$tmpdir/l.sock" \
	--threads 2 --socket-mode 0600 </dev/null >"$tmpdir/l.out" 2>&1 &
fl=$!
bg_pids="$bg_pids $fl"
waitfile "$tmpdir/l.sock"
is "$(stat -c %a "$tmpdir/l.sock")" 600 "--socket-mode applied"
req "$tmpdir/l.sock" targets/ | body >"$tmpdir/r"
is "$("$PYTHON3" -c 'import json,sys; print([t["pid"] for t in json.load(open(sys.argv[1]))])' "$tmpdir/r")" \
	"[$tpid]" "--listen: targets/ lists the fixture"

req "$tmpdir/l.sock" "" "duration=3&count=0" >"$tmpdir/profile" &
ppid=$!
# while the profile waits, another worker answers: tracing is on only
# during the profile, so seeing it proves the two requests overlapped
seen=1
i=0
while [ $i -lt 100 ]; do
	if req "$tmpdir/l.sock" targets/ | grep -q '"tracing":true'; then
		seen=0
		break
	fi
	sleep 0.02
	i=$((i + 1))
done
ok $seen "targets/ answered while the fixed-duration profile runs"
wait $ppid
grep -q '^Status: 200 OK' "$tmpdir/profile"; ok $? "the profile completed (200)"
body <"$tmpdir/profile" | grep -q '"heap_diff_bytes": 0, "heap_diff": "0.0 B"'
ok $? "profile body has heap_diff"
req "$tmpdir/l.sock" targets/ | grep -q '"tracing":false'
ok $? "tracing stopped after the profile"

kill -TERM $fl
wait $fl
is "$?" 0 "--listen: SIGTERM -> exit 0"

touch "$tmpdir/t/quit"
wait $tpid
bg_pids=""
done_testing
