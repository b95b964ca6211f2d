# SPDX-License-Identifier: MIT
# tests/e2e-lib.sh - shared helpers of the end-to-end tests (t-e2e-*.sh,
# t-serve.sh): private directories, fixture targets, HTTP through curl,
# JSON/pickle checks through python3, and one scenario (e2e_suite) that
# every web-server test runs against its own server.  Source it after
# setting `server` (a label for messages).
#
# Invariants
#  - Everything lives in $tmpdir (tests/lib.sh: mktemp -d, removed at exit);
#    HAWK_DIR is $tmpdir/seg, never /dev/shm/hawk.
#  - Every process the test starts carries HAWK_E2E_TAG=$tmpdir in its
#    environment (servers pass it on to the responders they spawn), so
#    e2e_leftovers can prove that nothing is left running.
#  - As root, targets, responders and servers all run as $e2e_user
#    (www-data, else nobody): Apache refuses to serve as root, and a
#    responder reads only segments owned by its own uid (hawk-fcgi's
#    default allow_uids).  Otherwise everything runs as the invoking user.

. "$top_srcdir/tests/lib.sh"

e2e_builddir=${top_builddir:?}
e2e_src=$top_srcdir/tests/fixtures/e2e-target.c
curl=${CURL:-$(command -v curl)}
python=${PYTHON3:-$(command -v python3)}

[ -n "$curl" ] && [ -x "$curl" ] || skip_all "curl not found"
[ -n "$python" ] && [ -x "$python" ] || skip_all "python3 not found"

e2e_libhawk=$e2e_builddir/tracer/.libs/libhawk.so
e2e_fcgi=$e2e_builddir/fcgi/hawk-fcgi
e2e_target=$e2e_builddir/tests/fixtures/e2e-target
[ -f "$e2e_libhawk" ] || skip_all "tracer/.libs/libhawk.so is not built (tracer missing)"
[ -x "$e2e_fcgi" ] || skip_all "fcgi/hawk-fcgi is not built (responder missing)"
[ -x "$e2e_target" ] || skip_all "tests/fixtures/e2e-target is not built"

# Not exported: only the processes under test get it (env "$e2e_tag" ...),
# so that the test's own subshells and pipelines never match.
e2e_tag="HAWK_E2E_TAG=$tmpdir"
# Short command timeout so that the stopped-target check is quick.
e2e_timeout_ms=1500

# ----------------------------------------------------------------- users
e2e_user=$(id -un)
e2e_asuser=""
if [ "$(id -u)" -eq 0 ]; then
	if getent passwd www-data >/dev/null; then e2e_user=www-data
	else e2e_user=nobody; fi
	e2e_asuser="setpriv --reuid=$e2e_user --regid=$(id -g "$e2e_user") --init-groups --"
fi
e2e_group=$(id -gn "$e2e_user")

# as_user CMD...: run CMD as $e2e_user.  To start one in the background
# with $! its pid, use "$e2e_asuser CMD... &" (setpriv execs; a function
# would run in a subshell).
as_user() { $e2e_asuser "$@"; }

chmod 755 "$tmpdir"
mkdir -p "$tmpdir/seg" "$tmpdir/run" "$tmpdir/bin" "$tmpdir/out"
chmod 700 "$tmpdir/seg"
chmod 755 "$tmpdir/run"
if [ -n "$e2e_asuser" ]; then
	chown "$e2e_user:$e2e_group" "$tmpdir/seg" "$tmpdir/run"
fi

# The binaries must be reachable by $e2e_user: copy them when the build
# tree is not (a build under /root, say).  A libtool wrapper script cannot
# be copied; then the real binary in .libs is used.
e2e_reach() {
	as_user test -x "$1" 2>/dev/null
}
e2e_copy() { # FILE -> prints the path to use
	if e2e_reach "$1"; then echo "$1"; return; fi
	f=$1
	if head -c 2 "$f" | grep -q '#!'; then
		f=$(dirname "$1")/.libs/$(basename "$1")
	fi
	cp "$f" "$tmpdir/bin/" && chmod 755 "$tmpdir/bin/$(basename "$f")" &&
		echo "$tmpdir/bin/$(basename "$f")"
}
# A python3 that $e2e_user can run (a pyenv shim under /root is not).
e2e_upython=$python
e2e_reach "$e2e_upython" || e2e_upython=/usr/bin/python3
e2e_fcgi=$(e2e_copy "$e2e_fcgi")
e2e_target=$(e2e_copy "$e2e_target")
e2e_libhawk=$(e2e_copy "$e2e_libhawk")

# ------------------------------------------------------------- utilities
free_port() {
	"$python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for COND-COMMAND [TENTHS]: poll (default 10 s); returns its status
wait_for() {
	_n=0
	while ! eval "$1"; do
		_n=$((_n + 1))
		[ $_n -ge "${2:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

# Line number of a marker in the fixture source, and its stripped code text
# (empty when $e2e_user cannot read the source: the responder runs as that
# user and, like Python's linecache, shows "" then).
line_of() { grep -n "/\\* $1 \\*/" "$e2e_src" | head -n 1 | cut -d: -f1; }
code_of() {
	if as_user test -r "$e2e_src" 2>/dev/null; then
		sed -n "$(line_of "$1")p" "$e2e_src" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//'
	fi
}
site_big=$(line_of E2E_SITE_BIG)
site_small=$(line_of E2E_SITE_SMALL)
call_big=$(line_of E2E_CALL_BIG)
call_batch=$(line_of E2E_CALL_BATCH)

# Processes whose environment carries our tag, or hawk serve's mark of a
# runtime directory of ours (the responders it spawns).
e2e_tagged() {
	grep -lzxE "HAWK_E2E_TAG=$tmpdir|HAWK_SERVE_RT=$tmpdir/.*" \
		/proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||;s|/environ$||' 
}
# e2e_pids_named NAME: tagged processes whose comm is NAME
e2e_pids_named() {
	for p in $(e2e_tagged); do
		c=$(cat "/proc/$p/comm" 2>/dev/null)
		case $c in
		"$1"|"lt-$1") echo "$p" ;;
		esac
	done
}
responders() { e2e_pids_named hawk-fcgi | sort -n | tr '\n' ' '; }

# ---------------------------------------------------------------- targets
# start_target VAR NAME NBIG: start an e2e-target under libhawk, store its
# pid in VAR, and wait for its "ready" line.
start_target() {
	_out=$tmpdir/out/$2.out
	: >"$_out"
	$e2e_asuser env "$e2e_tag" HAWK_DIR="$tmpdir/seg" HAWK_NAME="$2" \
		LD_PRELOAD="$e2e_libhawk" "$e2e_target" "$3" >"$_out" 2>"$_out.err" &
	_pid=$!
	bg_pids="$bg_pids $_pid"
	bg_targets="${bg_targets:-} $_pid"
	eval "$1=$_pid"
	eval "${1}_out=$_out"
	wait_for "grep -q '^ready' '$_out'" ||
		{ diag "target $2 did not start:"; cat "$_out.err" >&2; return 1; }
	wait_for "[ -e '$tmpdir/seg/$_pid.seg' ]" ||
		{ diag "target $2 made no segment"; return 1; }
}
# target_do PID OUTFILE SIGNAL EXPECTED-LINE: signal and wait for the ack
target_do() {
	kill -"$3" "$1" && wait_for "grep -qx '$4' '$2'"
}

# ------------------------------------------------------------------- HTTP
# get PATH-AND-QUERY [NAME]: GET $base$1 into $tmpdir/NAME.{body,hdr};
# sets $code and $body (the file).
get() {
	_gn=${2:-last}
	body=$tmpdir/$_gn.body
	hdr=$tmpdir/$_gn.hdr
	code=$("$curl" -s -g -o "$body" -D "$hdr" -w '%{http_code}' \
		--max-time 60 "$base$1") || code=curl-failed
}
header() { # header NAME: value of a response header of the last get
	grep -i "^$1:" "$hdr" | head -n 1 | cut -d: -f2- |
		sed 's/^[[:space:]]*//;s/[[:space:]]*$//' | tr -d '\r'
}
# js FILE EXPR: evaluate a Python expression on the JSON document j
js() {
	"$python" - "$1" "$2" <<'EOF' 2>&1
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("<not json: %s>" % e); sys.exit(0)
try:
    r = eval(sys.argv[2], {"j": j})
except Exception as e:
    r = "<%s: %s>" % (type(e).__name__, e)
print(json.dumps(r) if not isinstance(r, str) else r)
EOF
}
# expect_status WANT DESC: check $code after a get, showing the body if not
expect_status() {
	is "$code" "$1" "$server: $2 -> $1"
	[ "$code" = "$1" ] || diag "body: $(head -c 300 "$body")"
}
# expect_error WANT PARAM-OR-EMPTY DESC: an error status with a JSON body
# {"error": ...} naming PARAM
expect_error() {
	expect_status "$1" "$3"
	e=$(js "$body" 'j["error"]')
	if [ -n "$2" ]; then
		case $e$(js "$body" 'j.get("parameter", "")') in
		*"$2"*) ok 0 "$server: $3: the error names $2" ;;
		*) ok 1 "$server: $3: the error names $2"; diag "error: $e" ;;
		esac
	else
		case $e in
		"<"*|"") ok 1 "$server: $3: JSON error body"; diag "body: $(head -c 300 "$body")" ;;
		*) ok 0 "$server: $3: JSON error body" ;;
		esac
	fi
}

# Statistics expected from python3's own tracemalloc for one frame
stat_str() { # FILE LINE SIZE COUNT
	"$python" -c 'import sys, tracemalloc as t
f, l, s, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(str(t.Statistic(t.Traceback(((f, l),)), s, c)))' "$@"
}
statdiff_str() { # FILE LINE SIZE SIZE_DIFF COUNT COUNT_DIFF
	"$python" -c 'import sys, tracemalloc as t
f, l = sys.argv[1], int(sys.argv[2])
s, sd, c, cd = (int(x) for x in sys.argv[3:7])
print(str(t.StatisticDiff(t.Traceback(((f, l),)), s, sd, c, cd)))' "$@"
}

# pickle_check PICKLE LINENO-JSON TRACEBACK-JSON CUMULATIVE-JSON: the pickle
# loads with pickle.load and Snapshot.load, and its statistics equal the
# JSON formats' (count=0: all of them).  Prints "ok" or the first mismatch.
pickle_check() {
	"$python" - "$@" <<'EOF' 2>&1
import json, pickle, sys, tracemalloc
pkl, jl, jt, jc = sys.argv[1:5]
with open(pkl, "rb") as f:
    snap = pickle.load(f)
if type(snap) is not tracemalloc.Snapshot:
    print("not a tracemalloc.Snapshot: %r" % type(snap)); sys.exit()
snap2 = tracemalloc.Snapshot.load(pkl)
if len(snap2.traces) != len(snap.traces):
    print("Snapshot.load disagrees with pickle.load"); sys.exit()
def cmp(name, got, want):
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                print("%s: stat %d: json %r, pickle %r" % (name, i, g, w))
                sys.exit()
        print("%s: %d stats in json, %d in the pickle" % (name, len(got), len(want)))
        sys.exit()
L = json.load(open(jl))["stats"]
cmp("lineno", [(s["stat"], s["mem_blocks_size_bytes"], s["mem_blocks_count"],
                s["filename"], s["lineno"]) for s in L],
    [(str(s), s.size, s.count, s.traceback[0].filename, s.traceback[0].lineno)
     for s in snap.statistics("lineno")])
T = json.load(open(jt))["stats"]
cmp("traceback", [(s["mem_blocks_size_bytes"], s["mem_blocks_count"],
                   [l for l in s["traceback"] if l.startswith("  File")]) for s in T],
    [(s.size, s.count, [l for l in s.traceback.format() if l.startswith("  File")])
     for s in snap.statistics("traceback")])
C = json.load(open(jc))["stats"]
cmp("cumulative", [(s["stat"], s["mem_blocks_size_bytes"], s["mem_blocks_count"]) for s in C],
    [(str(s), s.size, s.count) for s in snap.statistics("lineno", cumulative=True)])
print("ok %d traces, domains %s, limit %d" % (len(snap.traces),
      sorted({t.domain for t in snap.traces}), snap.traceback_limit))
EOF
}

# ------------------------------------------------------------- the scenario
# e2e_suite: run every check against the server at $base.  The caller
# defines restart_responders (make every responder process a new one, so
# that the request after it is served by another process than the one
# before).
e2e_suite() {
	T=/debug/prof/mem/tracemalloc
	start_target ta alpha 100 || { ok 1 "$server: target alpha starts"; kill $bg_targets; return; }
	start_target tb beta 30 || { ok 1 "$server: target beta starts"; kill $bg_targets; return; }
	ok 0 "$server: targets alpha ($ta) and beta ($tb) run under libhawk"
	big=4096 small=1000
	a_size=$((100 * big + 10 * small))
	b_size=$((30 * big + 10 * small))
	srcname=$e2e_src
	code_big=$(code_of E2E_SITE_BIG)

	# --- targets/
	get "$T/targets/" targets
	expect_status 200 "targets/"
	is "$(header Content-Type)" "application/json" "$server: targets/ is JSON"
	is "$(header Cache-Control)" "no-store" "$server: Cache-Control: no-store"
	is "$(js "$body" "sorted((t['pid'], t['name'], t['alive'], t['tracing']) for t in (j['targets'] if isinstance(j, dict) else j) if t['pid'] in ($ta, $tb))")" \
		"[[$ta, \"alpha\", true, false], [$tb, \"beta\", true, false]]" \
		"$server: targets/ lists both, alive, not tracing"

	# --- 404
	get "$T/nope/"
	expect_error 404 "" "unknown route"
	get "/debug/prof/mem/tracemallocx/"
	is "$code" 404 "$server: a path that only shares the prefix -> 404"
	get "$T/snapshot/?pid=999999999"
	expect_error 404 "" "snapshot/ of a pid that does not exist"
	get "$T/start/?name=no-such-target"
	expect_error 404 "" "start/ of a name nobody has"

	# --- 409 while stopped
	get "$T/stop/?pid=$ta"
	expect_error 409 "" "stop/ when not started"
	get "$T/snapshot/?pid=$ta"
	expect_error 409 "" "snapshot/ when not started"

	# --- 400 per bad parameter; none of them changes any state
	for q in "duration=0 duration" "duration=abc duration" \
		"duration=301 duration" "duration=-1 duration" \
		"format=xml format" "frames=0 frames" "frames=100000 frames" \
		"frames=x frames" "count=-1 count" "count=ten count" \
		"gc=maybe gc" "cumulative=perhaps cumulative" \
		"pid=abc pid" "pid=-5 pid" "all_frames=maybe all_frames"; do
		set -- $q
		if [ "$2" = pid ]; then get "$T/?$1"; else get "$T/?pid=$ta&$1"; fi
		expect_error 400 "$2" "fixed-duration route with $1"
	done
	for q in "frames=0 frames" "frames=513x frames" "gc=2 gc"; do
		set -- $q
		get "$T/start/?pid=$ta&$1"
		expect_error 400 "$2" "start/ with $1"
	done
	for q in "format=json format" "count=1.5 count" "cumulative=t0 cumulative"; do
		set -- $q
		get "$T/snapshot/?pid=$ta&$1"
		expect_status 400 "snapshot/ with $1 (checked before the state)"
	done
	get "$T/targets/?pid=$ta"
	is "$(js "$body" "[t['tracing'] for t in (j['targets'] if isinstance(j, dict) else j)]")" \
		"[false]" "$server: after the 400s alpha is still not tracing (pid= selects one)"

	# --- start/, 409 on start twice
	get "$T/start/?pid=$ta&frames=10&gc=false"
	expect_status 200 "start/"
	is "$(cat "$body")" "Memory profiling started" "$server: start/ body"
	case $(header Content-Type) in
	text/plain*) ok 0 "$server: start/ is text/plain" ;;
	*) ok 1 "$server: start/ is text/plain"; diag "$(header Content-Type)" ;;
	esac
	get "$T/start/?pid=$ta"
	expect_error 409 "" "start/ twice"
	get "$T/?pid=$ta&duration=1"
	expect_error 409 "" "fixed-duration profile while tracing"

	target_do "$ta" "$ta_out" USR1 "alloc 1"
	ok $? "$server: alpha allocated its batch"

	# --- snapshot/ served by another responder process than start/
	before=$(responders)
	restart_responders
	after=$(responders)
	diag "responders before: $before; after: $after"
	common=""
	for p in $after; do
		case " $before " in *" $p "*) common="$common $p" ;; esac
	done
	[ -n "$before" ] && [ -z "$common" ]
	ok $? "$server: every responder that served start/ is gone"

	get "$T/snapshot/?pid=$ta" lineno
	expect_status 200 "snapshot/ from another responder process"
	is "$(header Content-Type)" "application/json" "$server: snapshot/ is JSON"
	is "$(js "$body" "(j['stats'][0]['filename'], j['stats'][0]['lineno'], j['stats'][0]['mem_blocks_count'], j['stats'][0]['mem_blocks_size_bytes'], j['stats'][0]['mem_blocks_size'])")" \
		"[\"$srcname\", $site_big, 100, 409600, \"400.0 KB\"]" \
		"$server: top lineno stat: 100 x 4096 B at e2e-target.c:$site_big"
	is "$(js "$body" "(j['stats'][1]['filename'], j['stats'][1]['lineno'], j['stats'][1]['mem_blocks_count'], j['stats'][1]['mem_blocks_size_bytes'], j['stats'][1]['mem_blocks_size'])")" \
		"[\"$srcname\", $site_small, 10, 10000, \"9.8 KB\"]" \
		"$server: second lineno stat: 10 x 1000 B at e2e-target.c:$site_small"
	is "$(js "$body" "j['stats'][0]['stat']")" "$(stat_str "$srcname" "$site_big" 409600 100)" \
		"$server: stat string equals python's str(Statistic)"
	is "$(js "$body" "j['stats'][0]['code']")" "$code_big" "$server: code of the top stat"
	is "$(js "$body" "(len(j['stats']), j['heap_current_bytes'], j['heap_current'])")" \
		"[2, $a_size, \"409.8 KB\"]" "$server: two stats, heap_current = the batch"
	is "$(js "$body" "'heap_diff_bytes' in j")" "false" "$server: no heap_diff in a snapshot"

	# Go's scrape path, the index page and the metrics, routed by the
	# same snippet (t-pprof.sh and t-pages.sh check their contents)
	get "/debug/pprof/heap?pid=$ta" pprof
	is "$code:$(header Content-Type):$(head -c 2 "$body" | od -An -tx1 | tr -d ' ')" \
		"200:application/octet-stream:1f8b" "$server: /debug/pprof/heap is a gzipped profile"
	get "/debug/prof/mem/metrics"
	is "$code:$(grep -c "^hawk_tracing{pid=\"$ta\",name=\"alpha\"} 1\$" "$body")" "200:1" \
		"$server: /debug/prof/mem/metrics: alpha is tracing"
	get "/debug/prof/mem/"
	is "$code:$(header Content-Type):$(grep -c "data-pid=\"$ta\"" "$body")" \
		"200:text/html; charset=utf-8:1" "$server: /debug/prof/mem/ lists alpha"

	get "$T/snapshot/?pid=$ta&count=1"
	is "$(js "$body" "len(j['stats'])")" 1 "$server: count=1 -> one stat"
	get "$T/snapshot/?pid=$ta&exclude=*/e2e-target.c"
	is "$(js "$body" "len(j['stats'])")" 0 "$server: exclude= the fixture's file -> no stat"
	get "$T/snapshot/?pid=$ta&include=*/e2e-target.c&count=0"
	is "$(js "$body" "len(j['stats'])")" 2 "$server: include= the fixture's file -> its two lines"
	get "$T/snapshot/?pid=$ta&include=*/e2e-target.c&include=*/nothing.c&all_frames=true&count=0"
	is "$(js "$body" "sum(s['mem_blocks_count'] for s in j['stats'])")" 110 \
		"$server: repeated include= with all_frames=true keeps all 110 blocks"

	get "$T/snapshot/?pid=$ta&format=traceback" traceback
	expect_status 200 "snapshot/ format=traceback"
	is "$(js "$body" "(j['stats'][0]['mem_blocks_count'], j['stats'][0]['mem_blocks_size_bytes'], j['stats'][0]['mem_blocks_size'])")" \
		"[100, 409600, \"400.0 KB\"]" "$server: traceback stat 0 figures"
	is "$(js "$body" "[l for l in j['stats'][0]['traceback'] if l.startswith('  File \"$srcname\"')]")" \
		"[\"  File \\\"$srcname\\\", line $call_batch\", \"  File \\\"$srcname\\\", line $call_big\", \"  File \\\"$srcname\\\", line $site_big\"]" \
		"$server: traceback: main -> alloc_batch -> alloc_big, oldest first"
	if [ -n "$code_big" ]; then
		is "$(js "$body" "j['stats'][0]['traceback'][-1]")" "    $code_big" \
			"$server: traceback ends with the code of frame 0"
	else
		skip "$e2e_user cannot read $e2e_src: no code lines"
	fi
	is "$(js "$body" "len(j['stats'][0]['traceback']) <= 20")" true \
		"$server: frames=10 bounds the traceback"

	get "$T/snapshot/?pid=$ta&cumulative=true&count=0" cumulative
	expect_status 200 "snapshot/ cumulative=true"
	is "$(js "$body" "[(s['mem_blocks_count'], s['mem_blocks_size_bytes']) for s in j['stats'] if s['filename'] == '$srcname' and s['lineno'] == $call_batch]")" \
		"[[110, $a_size]]" "$server: cumulative: main's call of alloc_batch holds all 110 blocks"

	get "$T/snapshot/?pid=$ta&count=0" lineno0
	get "$T/snapshot/?pid=$ta&count=0&format=traceback" traceback0
	get "$T/snapshot/?pid=$ta&format=pickle" pickle
	expect_status 200 "snapshot/ format=pickle"
	is "$(header Content-Type)" "application/octet-stream" "$server: pickle content type"
	header Content-Disposition | grep -qE '^attachment; filename=hwk_mem_tracemalloc_snapshot_[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}\.pkl$'
	ok $? "$server: pickle Content-Disposition"
	is "$(pickle_check "$tmpdir/pickle.body" "$tmpdir/lineno0.body" "$tmpdir/traceback0.body" "$tmpdir/cumulative.body")" \
		"ok 110 traces, domains [$ta], limit 10" \
		"$server: python3 loads the pickle; its statistics equal the JSON's"

	# --- a fixed-duration profile of beta; meanwhile other requests run
	"$curl" -s -g -o "$tmpdir/profile.body" -w '%{http_code}' --max-time 60 \
		"$base$T/?pid=$tb&duration=6&frames=5" >"$tmpdir/profile.code" &
	cpid=$!
	wait_for "get '$T/targets/?pid=$tb' poll; [ \"\$(js '$tmpdir/poll.body' \"[t['tracing'] for t in (j['targets'] if isinstance(j, dict) else j)]\")\" = '[true]' ]"
	ok $? "$server: beta is tracing during the profile (targets/ answered)"
	get "$T/snapshot/?pid=$ta" during
	expect_status 200 "snapshot/ of alpha during beta's profile"
	is "$(js "$body" "j['stats'][0]['mem_blocks_count']")" 100 \
		"$server: alpha's snapshot during the profile is exact"
	kill -0 "$cpid" 2>/dev/null
	ok $? "$server: targets/ and snapshot/ answered while the profile runs"
	sleep 2 # let the profile's first snapshot be taken (6 s window: slow machines)
	target_do "$tb" "$tb_out" USR1 "alloc 1"
	ok $? "$server: beta allocated during the profile"
	wait "$cpid"
	is "$(cat "$tmpdir/profile.code")" 200 "$server: fixed-duration profile -> 200"
	body=$tmpdir/profile.body
	is "$(js "$body" "(j['stats'][0]['lineno'], j['stats'][0]['mem_blocks_count'], j['stats'][0]['mem_blocks_size_bytes'], j['heap_diff_bytes'], j['heap_diff'], j['heap_current_bytes'])")" \
		"[$site_big, 30, 122880, $b_size, \"129.8 KB\", $b_size]" \
		"$server: profile: the 30 blocks allocated during it, heap_diff"
	is "$(js "$body" "j['stats'][0]['stat']")" \
		"$(statdiff_str "$srcname" "$site_big" 122880 122880 30 30)" \
		"$server: profile stat string equals python's str(StatisticDiff)"
	get "$T/targets/?pid=$tb"
	is "$(js "$body" "[t['tracing'] for t in (j['targets'] if isinstance(j, dict) else j)]")" \
		"[false]" "$server: the profile stopped tracing beta"
	# the same with a pickle: the second snapshot, 40 traces
	"$curl" -s -g -o "$tmpdir/profile.pkl" --max-time 60 \
		"$base$T/?pid=$tb&duration=2&format=pickle" &
	cpid=$!
	wait_for "get '$T/targets/?pid=$tb' poll; [ \"\$(js '$tmpdir/poll.body' \"[t['tracing'] for t in (j['targets'] if isinstance(j, dict) else j)]\")\" = '[true]' ]"
	sleep 0.3
	target_do "$tb" "$tb_out" USR1 "alloc 2"
	wait "$cpid"
	is "$("$python" -c 'import pickle, sys; s = pickle.load(open(sys.argv[1], "rb")); print(len(s.traces), sum(t.size for t in s.traces))' "$tmpdir/profile.pkl" 2>&1)" \
		"40 $b_size" "$server: fixed-duration pickle is the second snapshot"

	# --- pid= / name= selection across two targets
	get "$T/start/?name=beta&frames=3"
	expect_status 200 "start/ name=beta"
	target_do "$tb" "$tb_out" USR2 free && target_do "$tb" "$tb_out" USR1 "alloc 1"
	ok $? "$server: beta allocated again"
	get "$T/snapshot/?name=alpha"
	is "$(js "$body" "(j['stats'][0]['mem_blocks_count'], j['heap_current_bytes'])")" "[100, $a_size]" \
		"$server: name=alpha selects alpha"
	get "$T/snapshot/?name=beta"
	is "$(js "$body" "(j['stats'][0]['mem_blocks_count'], j['heap_current_bytes'])")" "[30, $b_size]" \
		"$server: name=beta selects beta"
	get "$T/snapshot/?pid=$tb"
	is "$(js "$body" "j['stats'][0]['mem_blocks_count']")" 30 "$server: pid= selects beta"
	get "$T/snapshot/" merged
	is "$(js "$body" "(j['stats'][0]['lineno'], j['stats'][0]['mem_blocks_count'], j['stats'][0]['mem_blocks_size_bytes'], j['heap_current_bytes'])")" \
		"[$site_big, 130, 532480, $((a_size + b_size))]" \
		"$server: no selection merges both targets' statistics"
	get "$T/snapshot/?format=pickle" mpickle
	is "$("$python" -c 'import pickle, sys; s = pickle.load(open(sys.argv[1], "rb")); print(sorted({t.domain for t in s.traces}), len(s.traces))' "$tmpdir/mpickle.body" 2>&1)" \
		"[$(printf '%s\n' "$ta" "$tb" | sort -n | paste -sd, - | sed 's/,/, /')] 150" \
		"$server: merged pickle: one domain per process"

	# --- timeout on a stopped target
	stop_process "$ta"
	get "$T/snapshot/?pid=$ta" stopped
	expect_error 504 "" "snapshot/ of a SIGSTOPped target times out"
	get "$T/snapshot/?pid=$tb"
	expect_status 200 "beta still answers while alpha is stopped"
	kill -CONT "$ta"
	get "$T/snapshot/?pid=$ta"
	expect_status 200 "alpha answers again after SIGCONT"

	# --- stop/
	get "$T/stop/?pid=$ta"
	expect_status 200 "stop/"
	is "$(cat "$body")" "Memory profiling stopped" "$server: stop/ body"
	get "$T/stop/?pid=$ta"
	expect_error 409 "" "stop/ twice"
	get "$T/stop/?name=beta"
	expect_status 200 "stop/ name=beta"

	# HEAD and the route without its trailing slash
	code=$("$curl" -s -I -o /dev/null -w '%{http_code}' "$base$T/targets/")
	is "$code" 200 "$server: HEAD targets/"
	get "$T/targets"
	expect_status 200 "targets without the trailing slash"

	kill "$ta" "$tb" 2>/dev/null
	wait "$ta" "$tb" 2>/dev/null
}

# e2e_leftovers: after the server is stopped, no tagged process remains
e2e_leftovers() {
	wait_for '[ -z "$(e2e_tagged)" ]' 100
	left=$(e2e_tagged)
	is "$left" "" "$server: no process left behind"
	for p in $left; do
		diag "left: $p $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"
		kill -KILL "$p" 2>/dev/null
	done
}

# ---------------------------------------------------------------- Apache
# apache_start MODULES SNIPPET-FILE EXTRA-DIRECTIVES: a private Apache
# (ServerRoot, pid file, logs, runtime dir in $tmpdir/apache) on
# 127.0.0.1:$port in the foreground; sets apid.  Returns non-zero (after
# showing the error log) when it does not come up.
apache_start() {
	ad=$tmpdir/apache
	mkdir -p "$ad/run" "$ad/logs" "$tmpdir/www"
	{
		echo "ServerRoot \"$ad\""
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$port"
		echo "PidFile \"$ad/run/httpd.pid\""
		echo "ErrorLog \"$ad/logs/error.log\""
		echo "LogLevel warn"
		echo "DefaultRuntimeDir \"$ad/run\""
		echo "Mutex file:$ad/run default"
		echo "LoadModule mpm_event_module \"$APACHE_MODDIR/mod_mpm_event.so\""
		for m in authz_core authz_host $1; do
			echo "LoadModule ${m}_module \"$APACHE_MODDIR/mod_$m.so\""
		done
		if [ -n "$e2e_asuser" ]; then
			echo "User $e2e_user"
			echo "Group $e2e_group"
		fi
		echo "DocumentRoot \"$tmpdir/www\""
		echo "<Directory />"
		echo "	Require all denied"
		echo "</Directory>"
		echo "<Directory \"$tmpdir/www\">"
		echo "	Require all granted"
		echo "</Directory>"
		echo "StartServers 1"
		echo "ServerLimit 4"
		echo "MaxRequestWorkers 64"
		echo "MinSpareThreads 4"
		echo "MaxSpareThreads 48"
		echo "ThreadsPerChild 16"
		echo "$3"
		echo "Include \"$2\""
	} >"$ad/httpd.conf"
	"$APACHE2" -d "$ad" -f "$ad/httpd.conf" -t >"$ad/t.out" 2>&1
	_st=$?
	ok $_st "$server: apache2 -t accepts the shipped snippet"
	[ $_st -eq 0 ] || sed 's/^/# /' "$ad/t.out"
	env "$e2e_tag" "$APACHE2" -d "$ad" -f "$ad/httpd.conf" -DFOREGROUND </dev/null \
		>"$ad/out" 2>&1 &
	apid=$!
	bg_pids="$bg_pids $apid"
	wait_for "[ \"\$(\"\$curl\" -s -o /dev/null -w '%{http_code}' '$base/')\" != 000 ] || ! kill -0 $apid 2>/dev/null"
	if ! kill -0 "$apid" 2>/dev/null; then
		cat "$ad/logs/error.log" "$ad/out" 2>/dev/null | sed 's/^/# /'
		return 1
	fi
	return 0
}

apache_stop() {
	kill -TERM "$apid"
	wait "$apid"
	bg_pids=""
	grep -iE 'error|emerg' "$ad/logs/error.log" | head -n 5 | sed 's/^/# apache: /'
}

apache_check() {
	[ -n "${APACHE2:-}" ] && [ -x "$APACHE2" ] ||
		skip_all "apache2 not found (Debian package apache2)"
	for m in $*; do
		[ -f "$APACHE_MODDIR/mod_$m.so" ] ||
			skip_all "$APACHE_MODDIR/mod_$m.so not found"
	done
}
