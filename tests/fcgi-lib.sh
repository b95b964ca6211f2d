# SPDX-License-Identifier: MIT
# tests/fcgi-lib.sh - shared set-up of the responder scenario tests
# (t-fcgi-*.sh); source it after tests/lib.sh.
#   $fcgi $lib $fix $src    hawk-fcgi, libhawk.so, the fc-leak fixture and
#                           its source (the whole test skips when the first
#                           two are not built or python3 is missing)
#   $seg                    a private segment directory
#   q ROUTE [QUERY [METHOD]]  one CGI request: headers+body in $tmpdir/out,
#                           body in $tmpdir/body, status code in $status
#                           (TMO overrides the command timeout, in ms)
#   json EXPR               a python expression over the body parsed as `j`
#   waitfile PATH           wait up to 10 s for PATH to exist
#   scale_start NAME        $st (bench/scale/scale-target, the caller
#                           checks it is built) quiet under libhawk in
#                           the directory $tmpdir/t: 1,000,000 blocks over
#                           100,000 tracebacks, traced with 30 frames;
#                           its pid in $tpid; two TAP results
fcgi=$top_builddir/fcgi/hawk-fcgi
lib=$top_builddir/tracer/.libs/libhawk.so
fix=$top_builddir/tests/fixtures/fc-leak
src=$top_srcdir/tests/fixtures/fc-leak.c
[ -x "$fcgi" ] || skip_all "fcgi/hawk-fcgi not built"
[ -f "$lib" ] || skip_all "tracer/.libs/libhawk.so not built yet"
[ -n "$PYTHON3" ] || skip_all "python3 not found by configure"

seg=$tmpdir/seg
mkdir "$seg"

q() {
	env -i PATH="$PATH" HAWK_DIR="$seg" HAWK_TIMEOUT_MS=${TMO:-5000} \
		HAWK_MAX_DURATION=60 REQUEST_METHOD="${3:-GET}" \
		SCRIPT_NAME=/debug PATH_INFO="/prof/mem/tracemalloc/$1" \
		REQUEST_URI="/debug/prof/mem/tracemalloc/$1?${2:-}" \
		QUERY_STRING="${2:-}" "$fcgi" >"$tmpdir/out" 2>"$tmpdir/err"
	rc=$?
	status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmpdir/out")
	sed '1,/^\r$/d' "$tmpdir/out" >"$tmpdir/body"
	return $rc
}
json() {
	"$PYTHON3" -c "import json,sys; j=json.load(open(sys.argv[1])); print(($1))" \
		"$tmpdir/body"
}
waitfile() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
	[ -e "$1" ]
}
scale_start() {
	HAWK_DIR=$seg HAWK_NAME=$1 LD_PRELOAD=$lib "$st" "$tmpdir/t" \
		1000000 100000 quiet &
	tpid=$!
	bg_pids="$bg_pids $tpid"
	waitfile "$tmpdir/t/ready"
	q start/ "frames=30"
	is "$status" 200 "start/"
	touch "$tmpdir/t/go"
	i=0
	while [ ! -e "$tmpdir/t/done" ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ok $([ -e "$tmpdir/t/done" ]; echo $?) "1,000,000 blocks allocated"
}
