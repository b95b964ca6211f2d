#!/bin/sh
# SPDX-License-Identifier: MIT
# t-fcgi-cut.sh - a snapshot that fails half-way through a response
# already begun: hawk-fcgi reads each snapshot once, forward, writing the
# pickle as it reads, so the status line is out before the snapshot's end
# is known.  A target (bench/scale/scale-target quiet, 1,000,000 blocks
# over 100,000 tracebacks) whose stream is longer than max_snapshot_mb:
#  - the pickle is cut short without its STOP opcode after chunks of it
#    were sent: python3's pickle.load fails (never a snapshot that loads
#    with part of the traces), and the reason is in the error log;
#  - lineno, which answers only at the end, fails that target cleanly;
#  - without the cap the same pickle loads whole (one trace per block).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fcgi-lib.sh"

st=$top_builddir/bench/scale/scale-target
[ -x "$st" ] || skip_all "bench/scale/scale-target not built"
mkdir "$tmpdir/t"

# cq OUT MB QUERY: a CGI snapshot request with max_snapshot_mb MB
# (0: the default), headers + body in OUT, stderr in OUT.err
cq() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=60000 \
		${2:+HAWK_MAX_SNAPSHOT_MB=$2} \
		REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO=/prof/mem/tracemalloc/snapshot/ QUERY_STRING="$3" \
		"$fcgi" >"$1" 2>"$1.err"
	sed '1,/^\r$/d' "$1" >"$1.body"
}
status_of() { sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$1"; }

scale_start cut

cq "$tmpdir/cut" 32 "format=pickle"
is "$(status_of "$tmpdir/cut")" 200 "capped pickle: the headers went out (200)"
size=$(wc -c <"$tmpdir/cut.body")
[ "$size" -gt 1000000 ]
ok $? "capped pickle: chunks of it were sent before the cap ($size bytes)"
is "$("$PYTHON3" -c '
import pickle, sys
try:
    pickle.load(open(sys.argv[1], "rb"))
    print("loaded")
except (pickle.UnpicklingError, EOFError) as e:
    print("refused")
' "$tmpdir/cut.body")" refused "capped pickle: pickle.load refuses it"
grep -q "pickle cut short at target $tpid: .*more than the 33554432 bytes allowed (max_snapshot_mb)" "$tmpdir/cut.err"
ok $? "capped pickle: the reason is in the error log"

cq "$tmpdir/lineno" 1 "format=lineno"
is "$(status_of "$tmpdir/lineno"):$(json_of() { "$PYTHON3" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j.get("pid"), "stats" in j)' "$1"; }; json_of "$tmpdir/lineno.body")" \
	"502:$tpid False" "capped lineno: a clean error naming the target (502), no statistics"

cq "$tmpdir/whole" "" "format=pickle"
is "$(status_of "$tmpdir/whole"):$("$PYTHON3" -c '
import sys, tracemalloc
print(len(tracemalloc.Snapshot.load(sys.argv[1]).traces))' "$tmpdir/whole.body")" \
	"200:1000000" "uncapped: the pickle loads whole, a trace per block"

touch "$tmpdir/t/quit"
wait "$tpid"
done_testing
