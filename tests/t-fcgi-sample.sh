#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-sample.sh - sampled tracing through the responder (CGI mode):
# start/?sampling=, targets/, every view (live, allocated, peak) in every
# format (lineno, traceback, pickle checked by python3's tracemalloc
# against the JSON), the fixed-duration route with sampling= and view=,
# and the errors (bad sampling, bad view, view=peak of an exact target).
# The target is tests/fixtures/tr-sample with 200,000 blocks of 64 bytes,
# 2,000 of 64 KiB and 16 of 8 MiB at known lines; at 64 KiB the 64 KiB and
# 8 MiB blocks are always sampled (their figures are exact) and the 64-byte
# site's estimate must lie within 5 standard deviations (t-tracer-sample.sh
# explains the band).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

fxs=$top_builddir/tests/fixtures/tr-sample
fsrc=$top_srcdir/tests/fixtures/tr-sample.c
[ -x "$fxs" ] || skip_all "tests/fixtures/tr-sample not built"
l_small=$(grep -n '/\* SITE_SMALL \*/' "$fsrc" | cut -d: -f1)
l_mid=$(grep -n '/\* SITE_MID \*/' "$fsrc" | cut -d: -f1)
l_big=$(grep -n '/\* SITE_BIG \*/' "$fsrc" | cut -d: -f1)
small_n=200000

mkfifo "$tmpdir/in" "$tmpdir/o"
HAWK_DIR=$seg HAWK_SAMPLE_SEED=11 LD_PRELOAD=$lib "$fxs" $small_n \
	<"$tmpdir/in" >"$tmpdir/o" &
pid=$!
bg_pids=$pid
exec 3>"$tmpdir/in" 4<"$tmpdir/o"
read -r r <&4
is "$r" ready "fixture ready (untraced)"
cmd() { echo "$1" >&3; read -r r <&4; echo "$r"; }

q start/ "sampling=12x"
is "$status:$(json 'j["parameter"]')" "400:sampling" "start/?sampling=12x: 400 naming sampling"
q start/ "sampling=2G"
is "$status" 400 "start/?sampling=2G (above 1G): 400"
q snapshot/ "view=biggest"
is "$status:$(json 'j["parameter"], j["accepted"]')" \
	"400:('view', 'live, allocated, peak')" "view=biggest: 400 naming view and the accepted values"

q start/ "sampling=64k&frames=10"
is "$status" 200 "start/?sampling=64k: 200"
q targets/
is "$(json '[(t["tracing"], t["mode"], t["sampling_bytes"], t["frames"]) for t in j]')" \
	"[(True, 'sampled', 65536, 10)]" "targets/: sampled at 65536"
is "$(cmd again)" ok "fixture allocated its sites while traced"

# site LINENO-JSON LINE: "count size" of the statistic at LINE
site() {
	"$PYTHON3" -c 'import json,sys
j = json.load(open(sys.argv[1]))
r = [s for s in j["stats"] if s["filename"].endswith("tr-sample.c") and s["lineno"] == int(sys.argv[2])]
print(sum(s["mem_blocks_count"] for s in r), sum(s["mem_blocks_size_bytes"] for s in r))' "$1" "$2"
}
# band N SIZE COUNT BYTES: the 5-sd band at 64 KiB
band() {
	awk -v n="$1" -v s="$2" -v c="$3" -v z="$4" 'BEGIN {
		r = 65536; p = s >= r ? 1 : 1 - exp(-s / r); sd = sqrt(n * (1 - p) / p)
		dc = c - n; if (dc < 0) dc = -dc; dz = z - n * s; if (dz < 0) dz = -dz
		print (dc <= 5 * sd + 1 && dz <= (5 * sd + 1) * s) ? "ok" : "off: " c " " z }'
}
# pickle_vs QUERY: the pickle of QUERY loaded by tracemalloc agrees with
# the lineno JSON of the same query (same snapshot: two requests, the
# target idle in between)
pickle_vs() {
	q snapshot/ "count=0&$1"
	cp "$tmpdir/body" "$tmpdir/l.json"
	q snapshot/ "format=pickle&$1"
	cp "$tmpdir/body" "$tmpdir/s.pkl"
	grep -q "^X-Hawk-Sampling-Bytes: 65536" "$tmpdir/out" || echo "no X-Hawk-Sampling-Bytes"
	"$PYTHON3" - "$tmpdir/s.pkl" "$tmpdir/l.json" <<'PY'
import json, sys, tracemalloc
snap = tracemalloc.Snapshot.load(sys.argv[1])
ours = json.load(open(sys.argv[2]))["stats"]
theirs = snap.statistics("lineno")
if len(ours) != len(theirs):
    print("lengths", len(ours), len(theirs)); sys.exit(0)
for o, s in zip(ours, theirs):
    if o["stat"] != str(s) or (o["mem_blocks_count"], o["mem_blocks_size_bytes"]) != (s.count, s.size):
        print("differs:", o["stat"], "|", str(s)); sys.exit(0)
print("ok")
PY
}

q snapshot/ "count=0"
is "$status" 200 "live lineno: 200"
is "$(json 'j["view"], j["estimated"], j["sampling_bytes"]')" "('live', True, 65536)" \
	"live lineno: says view, estimated and the rate"
cp "$tmpdir/body" "$tmpdir/live.json"
is "$(site "$tmpdir/live.json" $l_mid)" "2000 131072000" "live: 64 KiB site exact (always sampled)"
is "$(site "$tmpdir/live.json" $l_big)" "0 0" \
	"live: the 8 MiB blocks were allocated before start: not traced"
is "$(band $small_n 64 $(site "$tmpdir/live.json" $l_small))" ok "live: 64-byte site within 5 sd"
"$PYTHON3" -c 'import json,sys
j = json.load(open(sys.argv[1]))
print([s["stat"].split("/")[-1] for s in j["stats"] if s["lineno"] == int(sys.argv[2])][0])' \
	"$tmpdir/live.json" $l_mid >"$tmpdir/stat"
is "$(cat "$tmpdir/stat")" "tr-sample.c:$l_mid: size=125 MiB, count=2000, average=64.0 KiB" \
	"live: stat string in tracemalloc's shape with the figures"
q snapshot/ "count=0&format=traceback"
is "$(json '[sum(s["mem_blocks_count"] for s in j["stats"]), j["view"], j["estimated"]]')" \
	"$(cd "$tmpdir" && cp body tb.json && cp live.json body && json '[sum(s["mem_blocks_count"] for s in j["stats"]), "live", True]')" \
	"live traceback: same estimated total as lineno"
is "$(pickle_vs "view=live")" ok "live pickle: tracemalloc statistics() == JSON"

is "$(cmd free)" ok "fixture freed the 64-byte and 64 KiB sites"
q snapshot/ "count=0"
cp "$tmpdir/body" "$tmpdir/after.json"
is "$(site "$tmpdir/after.json" $l_small) $(site "$tmpdir/after.json" $l_mid)" "0 0 0 0" \
	"live after the frees: both sites gone"
q snapshot/ "count=0&view=allocated"
is "$status:$(json 'j["view"]')" "200:allocated" "allocated lineno: 200"
cp "$tmpdir/body" "$tmpdir/alloc.json"
is "$(site "$tmpdir/alloc.json" $l_mid)" "2000 131072000" "allocated: the freed 64 KiB site still counted"
is "$(band $small_n 64 $(site "$tmpdir/alloc.json" $l_small))" ok "allocated: the freed 64-byte site within 5 sd"
q snapshot/ "count=0&view=allocated&format=traceback"
is "$(json 'j["view"], len(j["stats"]) > 0')" "('allocated', True)" "allocated traceback"
is "$(pickle_vs "view=allocated")" ok "allocated pickle: tracemalloc statistics() == JSON"
q snapshot/ "count=0&view=peak"
is "$status:$(json 'j["view"]')" "200:peak" "peak lineno: 200"
cp "$tmpdir/body" "$tmpdir/peak.json"
# the copy kept at the peak lags it by at most 1/32 and one block
is "$("$PYTHON3" -c 'import json,sys
p = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))
tp = sum(s["mem_blocks_size_bytes"] for s in p["stats"])
tl = sum(s["mem_blocks_size_bytes"] for s in l["stats"])
print("ok" if tl * 32 / 33 - 65536 <= tp <= tl * 33 / 32 else "peak %d live %d" % (tp, tl))' \
	"$tmpdir/peak.json" "$tmpdir/live.json")" ok \
	"peak: the live set at the peak (within 1/32 and a block)"
q snapshot/ "count=0&view=peak&format=traceback"
is "$(json 'j["view"]')" "peak" "peak traceback"
is "$(pickle_vs "view=peak")" ok "peak pickle: tracemalloc statistics() == JSON"

q stop/
is "$status" 200 "stop/"
# fixed-duration: sampled, allocated view, the fixture allocating meanwhile
(sleep 0.5; echo again >&3) &
bg_pids="$bg_pids $!"
q "" "duration=2&sampling=64k&view=allocated&count=0"
read -r r <&4
is "$status:$(json 'j["view"], j["estimated"], j["sampling_bytes"]')" \
	"200:('allocated', True, 65536)" "fixed-duration, sampled, allocated: 200"
is "$(site "$tmpdir/body" $l_mid)" "2000 131072000" \
	"fixed-duration allocated: what the window allocated"
q targets/
is "$(json 'j[0]["tracing"], j[0]["mode"]')" "(False, 'off')" "fixed-duration stopped its tracing"
q "" "duration=1&view=peak"
is "$status" 409 "fixed-duration view=peak without sampling: 409"
json 'j["error"]' | grep -q 'sampling=BYTES'; ok $? "the 409 says to use sampling"

q start/ "frames=5"
is "$status" 200 "exact start/"
q targets/
is "$(json 'j[0]["mode"], j[0]["sampling_bytes"]')" "('exact', 0)" "targets/: exact"
q snapshot/ "view=peak"
is "$status" 409 "view=peak of an exact target: 409"
json 'j["error"]' | grep -q 'sampling=BYTES'; ok $? "the 409 says to use sampling"
q snapshot/ "count=0"
is "$(json 'j["view"], j["estimated"], j["sampling_bytes"]')" "('live', False, 0)" \
	"exact lineno says estimated false, sampling_bytes 0"
q stop/
echo exit >&3
wait $pid
is $? 0 "fixture exited 0"
done_testing
