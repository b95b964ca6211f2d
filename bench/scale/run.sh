#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/scale/run.sh BUILDDIR [BLOCKS [TRACEBACKS [PYTHON3]]] - what a
# snapshot of a production-sized heap costs the target and the responder.
# Runs bench/scale/scale-target (BLOCKS live blocks, default 10,000,000,
# over TRACEBACKS distinct 30-frame tracebacks, default BLOCKS / 10; one
# thread allocating and freeing without pause; a probe thread timing its
# allocations) under libhawk with a segment directory on /dev/shm, then:
#   1. a lineno snapshot through hawk-fcgi in CGI mode (cold), while
#      bench/scale/sample.py records the target's private memory plus the
#      bytes of the files in the segment directory, and the probe its
#      allocation latencies (percentiles, microseconds);
#   2. lineno through one FastCGI process: first request, then 3 more
#      (warm); the time of each;
#   3. every format (lineno, traceback, cumulative, pickle), each through
#      a fresh FastCGI process, while sample.py records its anonymous
#      memory: the peak above its idle size (before the request, symbol
#      cache included in the growth); the pickle's size and rate to a
#      local client (tests/fcgi_client.py), and the target's growth while
#      it streams every block's size for it.
# Usage: make bench-scale [SCALE_BLOCKS=N]; run it niced on a shared host.
set -eu
b=$1
nb=${2:-10000000}
nt=${3:-$((nb / 10))}
py=${4:-python3}
top=$(cd "$(dirname "$0")/../.." && pwd)
fcgi=$b/fcgi/hawk-fcgi
lib=$b/tracer/.libs/libhawk.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-scale.XXXXXX")
seg=$(mktemp -d /dev/shm/hawk-scale.XXXXXX)
mkdir "$tmp/t"
tpid= fpid=
cleanup() {
	touch "$tmp/t/quit" "$tmp/stop"
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	[ -n "$fpid" ] && wait "$fpid" 2>/dev/null
	rm -rf "$tmp" "$seg"
}
trap cleanup EXIT
trap "exit 1" INT TERM
now() { date +%s.%N; }
cgi() {
	env -i HAWK_DIR="$seg" HAWK_TIMEOUT_MS=600000 REQUEST_METHOD=GET \
		SCRIPT_NAME=/debug PATH_INFO="/prof/mem/tracemalloc/$1" \
		QUERY_STRING="$2" "$fcgi"
}
fcgi_req() { # QUERY OUT [N]: times on stderr
	"$py" "$top/tests/fcgi_client.py" "$tmp/sock" -n "${3:-1}" -o "$2" \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="$1"
}
waitfile() { while [ ! -e "$1" ]; do sleep 0.05; done; }
sampler() { # PID DIR -> starts sample.py in the background
	rm -f "$tmp/stop" "$tmp/sample"
	"$py" "$top/bench/scale/sample.py" "$1" "$2" "$tmp/stop" >"$tmp/sample" &
	spid=$!
	sleep 0.3
}
sampled() { touch "$tmp/stop"; wait "$spid"; }

echo "scale: $nb blocks over $nt tracebacks ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
HAWK_DIR=$seg HAWK_NAME=scale-target LD_PRELOAD=$lib \
	"$b/bench/scale/scale-target" "$tmp/t" "$nb" "$nt" &
tpid=$!
waitfile "$tmp/t/ready"
cgi start/ "frames=30" >/dev/null
t0=$(now)
touch "$tmp/t/go"
waitfile "$tmp/t/done"
t1=$(now)
echo "target: live set allocated in $(echo "$t1 - $t0" | bc) s"
sleep 1
cgi targets/ "" | tail -n 1 | cut -c1-400

# 1. the target while a snapshot is taken and served (CGI, cold)
sampler "$tpid" "$seg"
touch "$tmp/t/probe-on"
sleep 0.5
t0=$(now)
cgi snapshot/ "format=lineno" >"$tmp/lineno.out"
t1=$(now)
sleep 0.3
touch "$tmp/t/probe-off"
sampled; set -- $(cat "$tmp/sample")
waitfile "$tmp/t/lat"
echo "CGI lineno (cold): $(echo "$t1 - $t0" | bc) s"
grep -o '"heap_current_bytes": [0-9]*' "$tmp/lineno.out" || head -c 300 "$tmp/lineno.out"
echo "target private+segment-dir files: $(($1 / 1024)) MiB before, peak +$((($2 - $1) / 1024)) MiB during the snapshot"
read n p50 p90 p99 p999 pmax ops p9999 over1 over5 holds hmax hmean hcpu h1 h5 siv sv sflt <"$tmp/t/lat"
echo "probe allocation latency (us) over $n samples: p50 $p50 p90 $p90 p99 $p99 p99.9 $p999 p99.99 $p9999 max $pmax (over 1 ms: $over1, over 5 ms: $over5); churn ops in the window: $ops"

# 2. lineno warm through FastCGI
HAWK_DIR=$seg HAWK_TIMEOUT_MS=600000 "$fcgi" --listen "$tmp/sock" --threads 2 &
fpid=$!
while [ ! -S "$tmp/sock" ]; do sleep 0.05; done
fcgi_req "format=lineno" "$tmp/first.out" 1 2>"$tmp/first"
fcgi_req "format=lineno" "$tmp/warm.out" 3 2>"$tmp/warm"
head -c 100 "$tmp/warm.out" | grep -q '^Status: 200' || head -c 300 "$tmp/warm.out"
echo "FastCGI lineno: first $(cat "$tmp/first") s, warm $(tr '\n' ' ' <"$tmp/warm")s"

# 3. the responder's anonymous memory per format, pickle rate
for f in lineno traceback cumulative pickle; do
	case $f in
	cumulative) q=format=lineno\&cumulative=true ;;
	*) q=format=$f ;;
	esac
	kill "$fpid"; wait "$fpid" 2>/dev/null || true; rm -f "$tmp/sock"
	HAWK_DIR=$seg HAWK_TIMEOUT_MS=600000 "$fcgi" --listen "$tmp/sock" --threads 2 &
	fpid=$!
	while [ ! -S "$tmp/sock" ]; do sleep 0.05; done
	sampler "$fpid" "$tmp/none"
	if [ "$f" = pickle ]; then
		# the target too: a pickle's stream carries every block's size
		rm -f "$tmp/tstop"
		"$py" "$top/bench/scale/sample.py" "$tpid" "$seg" "$tmp/tstop" \
			>"$tmp/tsample" &
		tspid=$!
		sleep 0.3
	fi
	fcgi_req "$q" "$tmp/$f.out" 1 2>"$tmp/time"
	if [ "$f" = pickle ]; then
		touch "$tmp/tstop"; wait "$tspid"
		set -- $(cat "$tmp/tsample")
		echo "target private+segment-dir files during the pickle: peak +$((($2 - $1) / 1024)) MiB"
	fi
	sampled; set -- $(cat "$tmp/sample")
	sz=$(wc -c <"$tmp/$f.out")
	head -c 100 "$tmp/$f.out" | grep -q '^Status: 200' || head -c 300 "$tmp/$f.out"
	line="FastCGI $f: $(cat "$tmp/time") s, $sz bytes, responder anonymous memory $(($3 / 1024)) MiB idle, peak +$((($4 - $3) / 1024)) MiB"
	if [ "$f" = pickle ]; then
		line="$line, $(echo "scale=1; $sz / 1000000 / $(cat "$tmp/time")" | bc) MB/s"
	fi
	echo "$line"
done
sed '1,/^\r$/d' "$tmp/pickle.out" >"$tmp/snap.pkl"
"$py" -c 'import tracemalloc,sys; s=tracemalloc.Snapshot.load(sys.argv[1]); print("  python: traces", len(s.traces), "top:", s.statistics("lineno")[0])' "$tmp/snap.pkl"
cgi stop/ "" >/dev/null
