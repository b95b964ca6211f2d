#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/metrics.sh - how long /debug/prof/mem/metrics takes for N idle
# targets (the bar: under 50 ms for 100).  Starts N tests/fixtures/pp-leak
# processes under libhawk (alive, not tracing) in a private HAWK_DIR, then
# times R requests (after one warm-up) two ways:
#   fastcgi  through `hawk serve` (lighttpd + FastCGI responders), curl's
#            time_total per request
#   cgi      hawk-fcgi as a CGI program, one process per request
# and prints min / median / max in milliseconds.  Leaves nothing running.
#
#   bench/metrics.sh [--build DIR] [--targets N] [--requests R]
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWK_BUILD:-$src/_build/plain}
n=100 r=20
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--targets) n=$2; shift ;;
	--requests) r=$2; shift ;;
	-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "metrics.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
fix=$build/tests/fixtures/pp-leak
lib=$build/tracer/.libs/libhawk.so
fcgi=$build/fcgi/hawk-fcgi
serve=$build/cli/hawk-serve
for f in "$fix" "$lib" "$fcgi" "$serve"; do
	[ -e "$f" ] || { echo "metrics.sh: $f is not built (make check builds the fixture)" >&2; exit 1; }
done
lighttpd=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-bench.XXXXXX")
pids=""
spid=""
cleanup() {
	[ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/seg" "$tmp/xdg"
chmod 700 "$tmp/xdg"

i=0
while [ $i -lt "$n" ]; do
	mkdir "$tmp/t$i"
	HAWK_DIR=$tmp/seg LD_PRELOAD=$lib "$fix" "$tmp/t$i" &
	pids="$pids $!"
	i=$((i + 1))
done
i=0
while [ "$(ls "$tmp/seg" | grep -c '\.seg$')" -lt "$n" ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
echo "targets: $(ls "$tmp/seg" | grep -c '\.seg$') idle (alive, not tracing)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
XDG_RUNTIME_DIR=$tmp/xdg HAWK_FCGI=$fcgi LIGHTTPD=$lighttpd \
	"$serve" --port "$port" --dir "$tmp/seg" >"$tmp/serve.out" 2>&1 &
spid=$!
i=0
while ! grep -q 'Ctrl-C to stop' "$tmp/serve.out" && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
url=http://127.0.0.1:$port/debug/prof/mem/metrics

stats() { # stats LABEL < one number (ms) per line
	sort -n | awk -v l="$1" '{ v[NR] = $1 } END {
		printf "%-8s n=%d  min %.1f ms  median %.1f ms  max %.1f ms\n",
		       l, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}

curl -s -o "$tmp/body" "$url"
echo "metrics lines per target gauge: $(grep -c '^hawk_tracing{' "$tmp/body")"
i=0
while [ $i -lt "$r" ]; do
	curl -s -o /dev/null -w '%{time_total}\n' "$url"
	i=$((i + 1))
done | awk '{ print $1 * 1000 }' | stats fastcgi

i=0
while [ $i -lt "$r" ]; do
	s=$(date +%s%N)
	env -i HAWK_DIR="$tmp/seg" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/metrics "$fcgi" >/dev/null
	e=$(date +%s%N)
	echo $(( (e - s) / 1000 ))
	i=$((i + 1))
done | awk '{ print $1 / 1000 }' | stats cgi
