#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/scale/stall.sh BUILDDIR [BLOCKS [TRACEBACKS [SNAPSHOTS]]] - how
# long the target's allocating threads stall while snapshots are taken.
# Runs bench/scale/scale-target (BLOCKS live blocks, default 10,000,000,
# over TRACEBACKS 30-frame tracebacks, default BLOCKS / 10; a thread
# freeing and allocating without pause; a probe thread timing a malloc +
# free of 64 bytes every ~100 us) under libhawk, then two windows of the
# same length, the probe's latency percentiles (microseconds) for each:
#   snapshots  SNAPSHOTS (default 5) live snapshots back to back, taken
#              with tests/hawk-dump (the target's side only: the agent
#              collects and writes, hawk-dump validates), or with
#              SCALE_SNAPSHOT=cgi as CGI lineno requests (the responder's
#              CPU competes with the target's, as in production);
#   idle       no snapshot: the machine's own scheduling delays, the
#              baseline the first window is to be read against.
# With a libhawk built with -DBLOCKS_HOLD_STATS (configure
# CPPFLAGS=-DBLOCKS_HOLD_STATS) the snapshot window also reports the
# collection walks' lock holds (count, longest, mean): the stall an
# allocating thread can suffer from them, measured where it happens.
# SCALE_PROBE_NICE=N (e.g. -10, as root) raises the probe's priority, so
# that on a shared machine it waits less for a CPU (scale-target.c).
set -eu
b=$1
nb=${2:-10000000}
nt=${3:-$((nb / 10))}
ns=${4:-5}
mode=${SCALE_SNAPSHOT:-dump}
lib=$b/tracer/.libs/libhawk.so
dump=$b/tests/hawk-dump
fcgi=$b/fcgi/hawk-fcgi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-stall.XXXXXX")
seg=$(mktemp -d /dev/shm/hawk-stall.XXXXXX)
mkdir "$tmp/t"
tpid=
cleanup() {
	touch "$tmp/t/quit"
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	rm -rf "$tmp" "$seg"
}
trap cleanup EXIT
trap "exit 1" INT TERM
now() { date +%s.%N; }
waitfile() { while [ ! -e "$1" ]; do sleep 0.05; done; }
snap() {
	case $mode in
	cgi) env -i HAWK_DIR="$seg" HAWK_TIMEOUT_MS=600000 \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ \
		QUERY_STRING=format=lineno "$fcgi" >/dev/null ;;
	*) "$dump" --timeout 600000 "$seg" "$tpid" snapshot >/dev/null ;;
	esac
}
snaps() { i=0; while [ $i -lt "$ns" ]; do snap; i=$((i + 1)); done; }
window() { # LABEL COMMAND...: the probe's figures over COMMAND
	label=$1
	shift
	rm -f "$tmp/t/lat"
	touch "$tmp/t/probe-on"
	sleep 0.3
	t0=$(now)
	"$@"
	t1=$(now)
	touch "$tmp/t/probe-off"
	waitfile "$tmp/t/lat"
	read n p50 p90 p99 p999 pmax ops p9999 over1 over5 holds hmax hmean \
		hcpu h1 h5 siv sv sflt <"$tmp/t/lat"
	dur=$(echo "$t1 - $t0" | bc)
	echo "$label: $dur s, $n samples: p50 $p50 p99 $p99 p99.9 $p999 p99.99 $p9999 max $pmax us; over 1 ms $over1, over 5 ms $over5 (of those over 1 ms: $siv switched out, $sv slept, $sflt faulted); churn ops $ops"
	[ "$holds" = - ] ||
		echo "  walk lock holds: $holds, mean $hmean us, longest $hmax us (a hold used at most $hcpu us of CPU); over 1 ms $h1, over 5 ms $h5"
}

echo "stall: $nb blocks over $nt tracebacks, $ns snapshots ($mode; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
HAWK_DIR=$seg HAWK_NAME=scale-target LD_PRELOAD=$lib \
	"$b/bench/scale/scale-target" "$tmp/t" "$nb" "$nt" &
tpid=$!
waitfile "$tmp/t/ready"
"$dump" "$seg" "$tpid" start 30 >/dev/null
touch "$tmp/t/go"
waitfile "$tmp/t/done"
sleep 1
window snapshots snaps
window idle sleep "$dur"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
