#!/bin/sh
# SPDX-License-Identifier: MIT
# t-snapshot-onesite.sh - a pickle of a heap whose live blocks come mostly
# from ONE call site (tests/fixtures/tr-onesite: 6,000,000 blocks at
# SITE_BIG, more than five times the 2^20 sizes the target sends at a
# time, plus 1000 at SITE_MID and 7 at SITE_SMALL), through hawk-fcgi
# in CGI mode:
#  - the target's memory grows by less than 32 MiB while it serves the
#    pickle (issue #13's bar; it grew by 8 bytes per block of the
#    traceback, 45 MiB here, when such a traceback had a buffer of its
#    own);
#  - python3's tracemalloc loads the pickle, and statistics('lineno')
#    gives every site's exact count and bytes (the big traceback arrives
#    as several consecutive records with the same frames: segment.h);
#  - the lineno format (no sizes: one record per traceback) says the
#    same.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

os=$top_builddir/tests/fixtures/tr-onesite
os_src=$top_srcdir/tests/fixtures/tr-onesite.c
[ -x "$os" ] || skip_all "tests/fixtures/tr-onesite not built"
N=6000000
mkdir "$tmpdir/t"
line_of() { grep -n "/\\* $1 \\*/" "$os_src" | head -n 1 | cut -d: -f1; }
big=$(line_of SITE_BIG)
mid=$(line_of SITE_MID)
small=$(line_of SITE_SMALL)

# cq OUT QUERY: a CGI snapshot request, headers + body in OUT
cq() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="$2" \
		"$fcgi" >"$1" 2>"$1.err"
}
priv() { awk '/^Private_(Clean|Dirty):/ { k += $2 } END { print k }' "/proc/$1/smaps_rollup"; }

HAWK_DIR=$seg HAWK_NAME=onesite LD_PRELOAD=$lib "$os" "$tmpdir/t" $N &
tpid=$!
bg_pids="$bg_pids $tpid"
waitfile "$tmpdir/t/ready"
q start/ "frames=8"
is "$status" 200 "start/"
touch "$tmpdir/t/go"
i=0
while [ ! -e "$tmpdir/t/done" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
ok $([ -e "$tmpdir/t/done" ]; echo $?) "$N blocks allocated at one site"

# the pickle, the target's private memory sampled while it serves it
p0=$(priv $tpid)
cq "$tmpdir/p" "format=pickle" &
c=$!
max=$p0
while kill -0 $c 2>/dev/null; do
	p=$(priv $tpid)
	[ "${p:-0}" -gt "$max" ] && max=$p
	sleep 0.05
done
wait $c
is "$?:$(head -n 1 "$tmpdir/p" | tr -d '\r')" "0:Status: 200 OK" "pickle: 200"
diag "target private memory: $p0 KiB before, at most $max KiB while serving"
ok $([ $((max - p0)) -lt 32768 ]; echo $?) \
	"serving the pickle, the target grew by $(((max - p0) / 1024)) MiB (< 32)"

# every block at its line, exactly: BIG has N blocks of 16 + 8 * (j % 16)
# bytes (N is a multiple of 16: N / 16 * 1216 bytes)
sed '1,/^\r$/d' "$tmpdir/p" >"$tmpdir/p.pkl"
"$PYTHON3" - "$tmpdir/p.pkl" "$os_src" "$big:$N:$((N / 16 * 1216))" \
	"$mid:1000:100000" "$small:7:28672" >"$tmpdir/py" 2>&1 <<'PY'
import os, sys, tracemalloc
snap = tracemalloc.Snapshot.load(sys.argv[1])
src = os.path.basename(sys.argv[2])
got = {}
for s in snap.statistics("lineno"):
    f = s.traceback[0]
    if os.path.basename(f.filename) == src:
        got[f.lineno] = (s.count, s.size)
want = {}
for w in sys.argv[3:]:
    line, count, size = map(int, w.split(":"))
    want[line] = (count, size)
print("traces", len(snap.traces))
assert got == want, (got, want)
PY
ok $? "pickle: python3's statistics('lineno') give each site's exact count and bytes"
is "$(grep '^traces' "$tmpdir/py")" "traces $((N + 1007))" \
	"pickle: one trace per live block"
[ -s "$tmpdir/py" ] && sed 's/^/# /' "$tmpdir/py" | grep -v '^# traces' >&2

# without sizes: one record per traceback, the same figures
cq "$tmpdir/l" "format=lineno&count=0"
sed '1,/^\r$/d' "$tmpdir/l" >"$tmpdir/l.json"
is "$("$PYTHON3" -c 'import json,sys
j=json.load(open(sys.argv[1]))
print(" ".join(sorted("%s:%d:%d" % (s["stat"].split(":")[1], s["mem_blocks_count"], s["mem_blocks_size_bytes"]) for s in j["stats"] if sys.argv[2] in s["stat"])))' "$tmpdir/l.json" tr-onesite.c)" \
	"$(printf '%s\n' "$big:$N:$((N / 16 * 1216))" "$mid:1000:100000" "$small:7:28672" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"lineno: the same figures"

touch "$tmpdir/t/quit"
wait $tpid
done_testing
