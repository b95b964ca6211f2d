#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/responder/run.sh BUILDDIR [PYTHON3] - measure hawk-fcgi against
# rb-target (100,000 distinct live tracebacks of 30 frames, 1,000,000 live
# blocks) in a private HAWK_DIR:
#   1. lineno snapshot through hawk-fcgi in CGI mode, first time (cold);
#   2. the same request repeated 5 times in one FastCGI process (--listen)
#      after one warm-up (symbol cache warm);
#   3. pickle of that snapshot: maximum resident memory of the responder,
#      against its idle size (targets/ request), in CGI mode.
# Prints one line per figure.  Usage: make bench-responder
set -eu
b=$1
py=${2:-python3}
top=$(cd "$(dirname "$0")/../.." && pwd)
fcgi=$b/fcgi/hawk-fcgi
lib=$b/tracer/.libs/libhawk.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-bench.XXXXXX")
seg=$tmp/seg
mkdir "$seg" "$tmp/t"
tpid= fpid=
cleanup() {
	touch "$tmp/t/quit"
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	[ -n "$fpid" ] && wait "$fpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM
now() { date +%s.%N; }
cgi() {
	env -i HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 REQUEST_METHOD=GET \
		SCRIPT_NAME=/debug PATH_INFO="/prof/mem/tracemalloc/$1" \
		QUERY_STRING="$2" "$fcgi"
}
waitfile() { while [ ! -e "$1" ]; do sleep 0.05; done; }

HAWK_DIR=$seg HAWK_NAME=rb-target LD_PRELOAD=$lib "$b/bench/responder/rb-target" "$tmp/t" &
tpid=$!
waitfile "$tmp/t/ready"
cgi start/ "frames=30" >/dev/null
t0=$(now)
touch "$tmp/t/go"
waitfile "$tmp/t/done"
t1=$(now)
echo "target: allocation of 1,000,000 traced blocks: $(echo "$t1 - $t0" | bc) s"
cgi targets/ "" | tail -n 1

t0=$(now)
cgi snapshot/ "format=lineno" >"$tmp/lineno.out"
t1=$(now)
echo "CGI lineno snapshot, first time (cold): $(echo "$t1 - $t0" | bc) s"
grep -o '"heap_current_bytes": [0-9]*' "$tmp/lineno.out"
"$py" -c 'import json,sys; b=open(sys.argv[1],"rb").read().split(b"\r\n\r\n",1)[1]; j=json.loads(b); print("  stats:", len(j["stats"]), "top:", j["stats"][0]["stat"])' "$tmp/lineno.out"
env -i HAWK_DIR="$seg" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
	PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="format=traceback&count=0" \
	"$fcgi" | "$py" -c 'import json,sys; b=sys.stdin.buffer.read().split(b"\r\n\r\n",1)[1]; j=json.loads(b); print("  distinct tracebacks:", len(j["stats"]), "blocks:", sum(s["mem_blocks_count"] for s in j["stats"]), "frames per traceback:", {len(s["frames"]) for s in j["stats"]})'

HAWK_DIR=$seg HAWK_TIMEOUT_MS=60000 "$fcgi" --listen "$tmp/sock" --threads 2 &
fpid=$!
while [ ! -S "$tmp/sock" ]; do sleep 0.05; done
fidle=$(awk '/^VmRSS/ {print $2}' /proc/$fpid/status)
"$py" "$top/tests/fcgi_client.py" "$tmp/sock" -n 1 -o /dev/null REQUEST_METHOD=GET \
	SCRIPT_NAME=/debug PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING= 2>"$tmp/warm"
echo "FastCGI lineno snapshot, first request in the process: $(cat "$tmp/warm") s"
"$py" "$top/tests/fcgi_client.py" "$tmp/sock" -n 5 -o /dev/null REQUEST_METHOD=GET \
	SCRIPT_NAME=/debug PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING= 2>"$tmp/times"
echo "FastCGI lineno snapshot, repeated (warm), seconds: $(tr '\n' ' ' <"$tmp/times")"
fwarm=$(awk '/^VmRSS/ {print $2}' /proc/$fpid/status)
# reset the peak (VmHWM) to the current RSS: "5" in clear_refs
echo 5 >/proc/$fpid/clear_refs 2>/dev/null || true
"$py" "$top/tests/fcgi_client.py" "$tmp/sock" -o "$tmp/fpickle.out" REQUEST_METHOD=GET \
	SCRIPT_NAME=/debug PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING=format=pickle
fhwm=$(awk '/^VmHWM/ {print $2}' /proc/$fpid/status)
echo "FastCGI pickle ($(wc -c <"$tmp/fpickle.out") bytes): peak RSS ${fhwm} KiB vs ${fwarm} KiB idle with a warm symbol cache (${fidle} KiB at start): +$(( (fhwm - fwarm) / 1024 )) MiB"

idle=$( { /usr/bin/time -f %M env -i HAWK_DIR="$seg" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
	PATH_INFO=/prof/mem/tracemalloc/targets/ "$fcgi" >/dev/null; } 2>&1 | tail -n 1)
t0=$(now)
pk=$( { /usr/bin/time -f %M env -i HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 REQUEST_METHOD=GET \
	SCRIPT_NAME=/debug PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING=format=pickle \
	"$fcgi" >"$tmp/pickle.out"; } 2>&1 | tail -n 1)
t1=$(now)
echo "CGI pickle: $(wc -c <"$tmp/pickle.out") bytes in $(echo "$t1 - $t0" | bc) s; max RSS ${pk} KiB vs idle ${idle} KiB: +$(( (pk - idle) / 1024 )) MiB"
sed '1,/^\r$/d' "$tmp/pickle.out" >"$tmp/snap.pkl"
"$py" -c 'import tracemalloc,sys; s=tracemalloc.Snapshot.load(sys.argv[1]); print("  python: traces", len(s.traces), "top:", s.statistics("lineno")[0])' "$tmp/snap.pkl"
cgi stop/ "" >/dev/null
