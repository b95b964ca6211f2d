#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/formats.sh - one snapshot of bench/responder/rb-target (100,000
# distinct live tracebacks of 30 frames, 1,000,000 live blocks) in every
# format, each by a fresh hawk-fcgi in CGI mode (cold symbol cache): wall
# time, bytes out, maximum resident memory.  Leaves nothing running.
#
#   bench/formats.sh [--build DIR]      (make bench-formats)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWK_BUILD:-$src/_build/plain}
[ "${1:-}" = --build ] && build=$2
fcgi=$build/fcgi/hawk-fcgi
target=$build/bench/responder/rb-target
lib=$build/tracer/.libs/libhawk.so
for f in "$fcgi" "$target" "$lib"; do
	[ -e "$f" ] || { echo "formats.sh: $f is not built" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-bench.XXXXXX")
seg=$tmp/seg
mkdir "$seg" "$tmp/t"
tpid=""
cleanup() {
	touch "$tmp/t/quit"
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
waitfile() { while [ ! -e "$1" ]; do sleep 0.05; done; }
req() { # req PATH QUERY OUT: prints "seconds max-RSS-KiB"
	s=$(date +%s%N)
	m=$( { /usr/bin/time -f %M env -i HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug PATH_INFO="$1" \
		QUERY_STRING="$2" "$fcgi" >"$3"; } 2>&1 | tail -n 1)
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000000 )) $m"
}

HAWK_DIR=$seg LD_PRELOAD=$lib "$target" "$tmp/t" &
tpid=$!
waitfile "$tmp/t/ready"
req /prof/mem/tracemalloc/start/ frames=30 /dev/null >/dev/null
touch "$tmp/t/go"
waitfile "$tmp/t/done"
for f in lineno pickle pprof collapsed flamegraph; do
	set -- $(req /prof/mem/tracemalloc/snapshot/ "format=$f&count=0" "$tmp/out")
	printf '%-10s %6d ms  %9d bytes  max RSS %6d KiB\n' "$f" "$1" \
		"$(wc -c <"$tmp/out")" "$2"
done
