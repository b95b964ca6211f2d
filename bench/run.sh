#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/run.sh - the tracer's overhead, side by side, in one invocation:
# no tracer; libhawk preloaded but not tracing; tracing with frames=30
# (HAWK_TRACEMALLOC=30); heaptrack (record-only, see bench/README), on
#   churn1  bench/churn with 1 thread
#   churn2  bench/churn with 2 threads
#   python  /usr/bin/python3 with PYTHONMALLOC=malloc running bench/alloc.py
# Each case is run --runs times (default 5), modes interleaved; medians of
# wall and CPU time (user+sys, children included) are printed, then
#   off/none                       (bar <= 1.03)
#   (traced - none) / (heaptrack - none)   (bars: <= 0.5 churn1, <= 0.35 churn2)
# and the tracer's memory per live traced block (bar <= 32 bytes), from the
# table statistics libhawk prints at exit with HAWK_STATS=1.
# Sampled tracing runs in the same loop: s512k (HAWK_SAMPLE=512k) and s64k
# (HAWK_SAMPLE=64k), each against none (bar <= 1.05, wall and
# instructions), and its memory per sampled block and for a 1 GiB live
# heap.  --base-lib LIB adds the exact mode of another libhawk (e.g. the
# commit before a change) to the same loop: its traced/heaptrack ratio
# beside this build's.
#
#   bench/run.sh [--build DIR] [--runs N] [--ops N] [--live N] [--pyops N]
#                [--base-lib LIB] [--no-heaptrack]
# (--ops: replacements per churn thread, --live: live blocks per thread;
# --no-heaptrack leaves heaptrack out, the slowest mode by far: with
# --base-lib the exact modes are then compared directly, as the ratio of
# their added times (traced - none) / (base - none), and their
# instructions are counted too)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWK_BUILD:-$src/_build/plain}
runs=5 ops=2000000 live=100000 pyops=500000 baselib= noht=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--runs) runs=$2; shift ;;
	--ops) ops=$2; shift ;;
	--live) live=$2; shift ;;
	--pyops) pyops=$2; shift ;;
	--base-lib) baselib=$2; shift ;;
	--no-heaptrack) noht=1 ;;
	-h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
lib=$build/tracer/.libs/libhawk.so
churn=$build/bench/churn
[ -f "$lib" ] || { echo "run.sh: $lib not built (--build DIR)" >&2; exit 1; }
[ -x "$churn" ] || { echo "run.sh: $churn not built (make bench/churn)" >&2; exit 1; }
python=/usr/bin/python3
heaptrack=$(command -v heaptrack || true)
[ -n "$noht" ] && heaptrack=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/seg"

# one MODE WORKLOAD: run once, print "wall_ms cpu_ms" (cpu = user + sys of
# the process and its children, less sensitive to a loaded machine)
one() {
	case $2 in
	churn1) set -- "$1" "$churn" 1 "$ops" "$live" ;;
	churn2) set -- "$1" "$churn" 2 "$ops" "$live" ;;
	python) set -- "$1" "$python" "$src/bench/alloc.py" "$pyops" ;;
	esac
	mode=$1
	shift
	t0=$(date +%s%N)
	case $mode in
	none) timer env "$@" >/dev/null ;;   # env as in the other modes
	off) timer env LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" "$@" >/dev/null ;;
	traced) timer env LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" \
		HAWK_TRACEMALLOC=30 "$@" >/dev/null ;;
	base) timer env LD_PRELOAD="$baselib" HAWK_DIR="$tmp/seg" \
		HAWK_TRACEMALLOC=30 "$@" >/dev/null ;;
	s512k) timer env LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" \
		HAWK_SAMPLE=512k "$@" >/dev/null ;;
	s64k) timer env LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" \
		HAWK_SAMPLE=64k "$@" >/dev/null ;;
	heaptrack) timer "$heaptrack" --raw -o "$tmp/ht" "$@" >/dev/null 2>&1
		rm -f "$tmp"/ht* ;;
	esac
	t1=$(date +%s%N)
	# wall from date (ns), CPU from time(1) (10 ms resolution)
	awk -v w=$(((t1 - t0) / 1000000)) \
		'{ printf "%d %d\n", w, ($2 + $3) * 1000 }' "$tmp/time"
}

# timer CMD...: run under /usr/bin/time, result in $tmp/time
timer() { /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@"; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

[ -x /usr/bin/time ] || { echo "run.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
export PYTHONMALLOC=malloc   # python: every object through malloc
export PYTHONHASHSEED=0      # and the same work on every run

modes="none off traced"
[ -n "$heaptrack" ] && modes="$modes heaptrack"
[ -n "$baselib" ] && modes="$modes base"
modes="$modes s512k s64k"
echo "hawk bench: runs=$runs churn ops/thread=$ops live/thread=$live python iterations=$pyops"
echo "build: $build   load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-4s %9s %9s %9s %12s   %8s %13s\n' workload time none_ms off_ms traced_ms heaptrack_ms off/none traced/heaptr
for w in churn1 churn2 python; do
	for m in $modes; do
		: >"$tmp/$w.$m"
	done
	i=0
	# interleave the modes so that load changes hit them all alike
	while [ $i -lt "$runs" ]; do
		for m in $modes; do
			one $m $w >>"$tmp/$w.$m"
		done
		i=$((i + 1))
	done
	for col in 1 2; do
		kind=wall
		[ $col = 2 ] && kind=cpu
		n=$(cut -d' ' -f$col "$tmp/$w.none" | median)
		o=$(cut -d' ' -f$col "$tmp/$w.off" | median)
		t=$(cut -d' ' -f$col "$tmp/$w.traced" | median)
		h=-
		[ -n "$heaptrack" ] && h=$(cut -d' ' -f$col "$tmp/$w.heaptrack" | median)
		awk -v w=$w -v k=$kind -v n=$n -v o=$o -v t=$t -v h=$h 'BEGIN {
			r1 = n > 0 ? sprintf("%.3f", o / n) : "-"
			r2 = (h != "-" && h - n > 0) ? sprintf("%.3f", (t - n) / (h - n)) : "-"
			printf "%-8s %-4s %9d %9d %9d %12s   %8s %13s\n", w, k, n, o, t, h, r1, r2 }'
	done
done
# sampled and (with --base-lib) the other build's exact mode, from the
# same runs
echo
printf '%-8s %-4s %9s %9s %9s   %10s %10s' workload time none_ms s512k_ms s64k_ms s512k/none s64k/none
[ -n "$baselib" ] && [ -n "$heaptrack" ] && printf ' %13s %13s' base_traced/ht this/base_ratio
[ -n "$baselib" ] && [ -z "$heaptrack" ] && printf ' %13s' added_this/base
printf '   (bar 1.05)\n'
for w in churn1 churn2 python; do
	for col in 1 2; do
		kind=wall
		[ $col = 2 ] && kind=cpu
		n=$(cut -d' ' -f$col "$tmp/$w.none" | median)
		a=$(cut -d' ' -f$col "$tmp/$w.s512k" | median)
		b=$(cut -d' ' -f$col "$tmp/$w.s64k" | median)
		t=$(cut -d' ' -f$col "$tmp/$w.traced" | median)
		h=- o=-
		[ -n "$heaptrack" ] && h=$(cut -d' ' -f$col "$tmp/$w.heaptrack" | median)
		[ -n "$baselib" ] && o=$(cut -d' ' -f$col "$tmp/$w.base" | median)
		awk -v w=$w -v k=$kind -v n=$n -v a=$a -v b=$b -v t=$t -v h=$h -v o=$o 'BEGIN {
			printf "%-8s %-4s %9d %9d %9d   %10.3f %10.3f", w, k, n, a, b, a / n, b / n
			if (o != "" && o != "-" && h != "-" && h - n > 0) {
				rb = (o - n) / (h - n); rt = (t - n) / (h - n)
				printf " %13.3f %13.3f", rb, (rb > 0 ? rt / rb : 0)
			} else if (o != "" && o != "-" && h == "-" && o - n > 0) {
				printf " %13.3f", (t - n) / (o - n)
			}
			printf "\n" }'
	done
done

# Instructions are deterministic where times are not (a shared machine
# varies by +-20%): count them for the off/none bar, if valgrind is here.
if command -v valgrind >/dev/null 2>&1; then
	echo
	echo "instructions (valgrind cachegrind; deterministic), off/none:"
	ir() {
		valgrind --tool=cachegrind --cache-sim=no \
			--cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*I *refs: *//p' | tr -d ,
	}
	for w in churn1 churn2 python; do
		case $w in
		churn1) set -- "$churn" 1 200000 20000 ;;
		churn2) set -- "$churn" 2 200000 20000 ;;
		python) set -- "$python" "$src/bench/alloc.py" 50000 ;;
		esac
		a=$(ir "$@")
		b=$(LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" ir "$@")
		# sampled: which blocks are sampled, so the count, varies with
		# the seed (+-0.1% at 512k): the median of seeds 1, 2 and 3
		c=$(for seed in 1 2 3; do
			LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" HAWK_SAMPLE=512k \
				HAWK_SAMPLE_SEED=$seed ir "$@"; done | median)
		d=$(for seed in 1 2 3; do
			LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" HAWK_SAMPLE=64k \
				HAWK_SAMPLE_SEED=$seed ir "$@"; done | median)
		awk -v w=$w -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
			printf "%-8s none=%d off=%d  off/none=%.4f (bar 1.03)\n",
				w, a, b, b / a
			printf "%-8s s512k=%d s64k=%d  s512k/none=%.4f s64k/none=%.4f (bar 1.05)\n",
				"", c, d, c / a, d / a }'
		if [ -n "$baselib" ] && [ -z "$heaptrack" ]; then
			e=$(LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" HAWK_TRACEMALLOC=30 ir "$@")
			f=$(LD_PRELOAD="$baselib" HAWK_DIR="$tmp/seg" HAWK_TRACEMALLOC=30 ir "$@")
			awk -v a="$a" -v e="$e" -v f="$f" 'BEGIN {
				printf "%-8s traced=%d base=%d  added this/base=%.4f\n",
					"", e, f, (e - a) / (f - a) }'
		fi
	done
fi

echo
echo "tracer memory (HAWK_STATS at exit, live set still allocated):"
for th in 1 2; do
	LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" HAWK_TRACEMALLOC=30 HAWK_STATS=1 \
		"$churn" $th "$ops" "$live" 2>&1 >/dev/null | grep '^hawk: stats' |
	awk -v th=$th '{
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "churn%d: blocks=%d table=%d B -> %.1f B/block (bar 32); traces=%d using %d B; total %d B = %.1f B/block\n",
			th, v["blocks"], v["blocks_bytes"], v["blocks_bytes"] / v["blocks"],
			v["traces"], v["traces_bytes"], v["memory"], v["memory"] / v["blocks"] }'
done

echo
echo "sampled tracer memory (HAWK_STATS at exit; sampled = live sampled blocks,"
echo "sampled_bytes = their table and the peak copy; memory = all the tracer maps):"
# churn with 2,000,000 slots and 6,000,000 replacements: 95% of the slots
# filled, ~0.95 GiB live (blocks of 16..1024 bytes)
for spec in "512k 1 $ops $live" "64k 1 $ops $live" "512k 1 6000000 2000000" "64k 1 6000000 2000000"; do
	set -- $spec
	LD_PRELOAD="$lib" HAWK_DIR="$tmp/seg" HAWK_SAMPLE=$1 HAWK_STATS=1 \
		"$churn" $2 $3 $4 2>&1 >/dev/null | grep '^hawk: stats' |
	awk -v r=$1 '{
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "rate %s, %.0f MiB live (estimated): sampled=%d table+copy=%d B -> %.1f B/sampled block; traces=%d using %d B; total %d B\n",
			r, v["sampled_current"] / 1048576, v["sampled"], v["sampled_bytes"],
			v["sampled"] ? v["sampled_bytes"] / v["sampled"] : 0,
			v["traces"], v["traces_bytes"], v["memory"] }'
done
