#!/bin/sh
# SPDX-License-Identifier: MIT
# t-cli-ps.sh - `hawk ps` on hand-made segments (tests/seg-fake) in a
# private directory: live targets (a process holding the alive lock), a
# dead one, an invalid file; the table, --json, HAWK_DIR and --clean.
. "$top_srcdir/tests/lib.sh"
hawk=$top_builddir/cli/hawk
fake=$top_builddir/tests/seg-fake
dir=$tmpdir/seg
mkdir "$dir" || exit 1

# row PID: "NAME STATE FRAMES CURRENT PEAK TRACER-MEM RSS ANON ALLOC" of the
# table (seg-fake publishes no RSS: "-")
row() { awk -v p="$1" '$1 == p { $1 = ""; sub(/^ /, ""); print }' "$tmpdir/out"; }
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
}

"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>"$tmpdir/err"
ok $? "ps on an empty directory"
is "$(cat "$tmpdir/out")" \
   "    PID  NAME                 STATE   FRAMES    CURRENT       PEAK TRACER-MEM        RSS       ANON   SAMPLING  ALLOC" \
   "empty: header only"
is "$(cat "$tmpdir/err")" "" "empty: nothing on stderr"
"$hawk" ps --dir "$tmpdir/missing" >/dev/null 2>&1
ok $? "a missing directory lists nothing"
"$hawk" ps --dir "$tmpdir/missing" --json >"$tmpdir/out"
is "$(cat "$tmpdir/out")" "[]" "missing directory: --json is []"

"$fake" "$dir" hold web 1 30 4096000 5000000 123456 &
live1=$!
"$fake" "$dir" hold worker 0 0 0 2048 65536 &
live2=$!
bg_pids="$live1 $live2"
sh -c 'exit 0' &
dead=$!
wait $dead
"$fake" "$dir" write $dead gone 1 10 100 200 300
ok $? "dead segment written"
: >"$dir/$dead.snap.3"
# a snapshot socket it served when it died (format 3)
[ -z "${PYTHON3:-}" ] || "$PYTHON3" -c 'import os, socket, sys
os.chdir(sys.argv[1])
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[2])' \
	"$dir" "$dead.snap.4"
printf 'garbage' >"$dir/12345.seg"
wait_file "$dir/$live1.seg"
wait_file "$dir/$live2.seg"

"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>"$tmpdir/err"
ok $? "ps exits 0"
is "$(row $live1)" "web tracing 30 3.9 MiB 4.8 MiB 120.6 KiB - - exact glibc" "live tracing target"
is "$(row $live2)" "worker idle - 0 B 2.0 KiB 64.0 KiB - - - glibc" "live idle target"
is "$(row $dead)" "gone dead 10 100 B 200 B 300 B - - exact glibc" "dead target shown dead"
is "$(row 12345)" "" "invalid file not in the table"
is "$(cat "$tmpdir/err")" "hawk: reading $dir/12345.seg: truncated (7 bytes)" \
   "invalid file reported with its reason"
is "$(awk 'NR > 1 { print $1 }' "$tmpdir/out" | tr '\n' ' ')" \
   "$(printf '%s\n' $live1 $live2 $dead | sort -n | tr '\n' ' ')" \
   "rows in pid order"

HAWK_DIR=$dir "$hawk" ps >"$tmpdir/out2" 2>/dev/null
is "$(cat "$tmpdir/out2")" "$(cat "$tmpdir/out")" "HAWK_DIR is the default directory"

"$hawk" ps --dir "$dir" --json >"$tmpdir/json" 2>/dev/null
ok $? "ps --json exits 0"
if [ -n "$PYTHON3" ]; then
	got=$("$PYTHON3" -c '
import json, sys
rows = json.load(open(sys.argv[1]))
for r in rows:
    print(r["pid"], r["name"], r["state"], r["alive"], r["tracing"], r["frames"],
          r["traced_current"], r["traced_peak"], r["tracer_memory"], r["max_frames"])
' "$tmpdir/json" | sort -n | tr '\n' ';')
	want=$(printf '%s\n' \
		"$live1 web tracing True True 30 4096000 5000000 123456 512" \
		"$live2 worker idle True False 0 0 2048 65536 512" \
		"$dead gone dead False True 10 100 200 300 512" | sort -n | tr '\n' ';')
	is "$got" "$want" "--json: exact fields, sizes in bytes"
else
	skip "python3 not found: --json content not parsed"
fi

"$hawk" ps --dir "$dir" --clean >"$tmpdir/out" 2>"$tmpdir/err"
ok $? "ps --clean exits 0"
grep -qx "removed dead segment $dead (gone)" "$tmpdir/out"
ok $? "--clean says what it removed"
grep -qx "removed invalid segment 12345.seg" "$tmpdir/out"
ok $? "--clean removes an unlocked invalid file too"
[ ! -e "$dir/$dead.seg" ] && [ ! -e "$dir/$dead.snap.3" ] && [ ! -e "$dir/$dead.snap.4" ] &&
	[ ! -e "$dir/12345.seg" ]
ok $? "dead segment, its snapshot file and socket and the invalid file are gone"
[ -e "$dir/$live1.seg" ] && [ -e "$dir/$live2.seg" ]
ok $? "live segments kept"
is "$(row $dead)" "" "removed target not listed"
is "$(row $live1)" "web tracing 30 3.9 MiB 4.8 MiB 120.6 KiB - - exact glibc" "live target still listed"

# a killed target leaves its segment: dead, then cleaned
kill -9 $live1
wait $live1 2>/dev/null
"$hawk" ps --dir "$dir" >"$tmpdir/out" 2>&1
is "$(row $live1)" "web dead 30 3.9 MiB 4.8 MiB 120.6 KiB - - exact glibc" "killed target shown dead"
"$hawk" ps --dir "$dir" --clean >"$tmpdir/out" 2>&1
grep -qx "removed dead segment $live1 (web)" "$tmpdir/out"
ok $? "killed target's segment removed by --clean"
is "$(ls "$dir")" "$live2.seg" "only the live segment is left"

kill $live2
wait $live2 2>/dev/null
bg_pids=""

# a name is whatever bytes the target chose: still valid JSON
mkdir "$tmpdir/seg2"
"$fake" "$tmpdir/seg2" write $dead "$(printf 'a"b\\c\tz\377\303\251')" 0 0 0 0 0
"$hawk" ps --dir "$tmpdir/seg2" --json >"$tmpdir/json" 2>/dev/null
if [ -n "$PYTHON3" ]; then
	got=$("$PYTHON3" -c '
import json, sys
print(ascii(json.load(open(sys.argv[1], encoding="utf-8"))[0]["name"]))' "$tmpdir/json")
	is "$got" "'a\"b\\\\c\\tz\\\\xff\\xe9'" "--json: quotes, controls and bad UTF-8 escaped (\\xNN)"
else
	skip "python3 not found: --json content not parsed"
fi
"$hawk" ps --dir "$tmpdir/seg2" >"$tmpdir/out" 2>/dev/null
is "$(row $dead | awk '{ print $1 }')" "$(printf 'a"b\\c?z\377\303\251')" \
   "table: control bytes shown as '?'"
done_testing
