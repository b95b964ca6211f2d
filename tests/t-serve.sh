#!/bin/sh
# SPDX-License-Identifier: MIT
# t-serve.sh - `hawk serve`: started without root (as $e2e_user when the
# suite runs as root), it serves the routes through its own lighttpd with
# two responders, keeps its files in a private runtime directory under
# $XDG_RUNTIME_DIR, and on Ctrl-C (SIGINT to its process group) or SIGTERM
# stops, leaving no process and no file behind.  Bad arguments and a busy
# port are refused with a message.
server=serve
. "$top_srcdir/tests/e2e-lib.sh"

[ -n "${LIGHTTPD:-}" ] && [ -x "$LIGHTTPD" ] ||
	skip_all "lighttpd not found (Debian package lighttpd)"
serve=$top_builddir/cli/hawk-serve
[ -x "$serve" ] || skip_all "cli/hawk-serve is not built"
# Through `hawk serve` when the hawk command exists (it execs $HAWK_SERVE).
hawk=$top_builddir/cli/hawk
if [ -x "$hawk" ]; then
	cmd="$hawk serve"
	export HAWK_SERVE="$serve"
else
	cmd=$serve
	diag "cli/hawk not built: running cli/hawk-serve directly"
fi
if ! e2e_reach "$serve"; then
	cp "$serve" "$tmpdir/bin/hawk-serve" && chmod 755 "$tmpdir/bin/hawk-serve"
	serve=$tmpdir/bin/hawk-serve cmd=$serve
fi
xdg=$tmpdir/xdg
mkdir -p "$xdg"
chmod 700 "$xdg"
[ -n "$e2e_asuser" ] && chown "$e2e_user:$e2e_group" "$xdg"

# serve_start ARGS...: hawk serve in a session of its own, with SIGINT at
# its default disposition (a background job of a script ignores it), as a
# terminal's foreground job would be; sets spid (= its process group).
serve_start() {
	$e2e_asuser env "$e2e_tag" XDG_RUNTIME_DIR="$xdg" HAWK_FCGI="$e2e_fcgi" \
		HAWK_TIMEOUT_MS=$e2e_timeout_ms LIGHTTPD="$LIGHTTPD" \
		"$e2e_upython" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' $cmd "$@" >"$tmpdir/serve.out" 2>&1 &
	spid=$!
	bg_pids="$bg_pids $spid"
	# up to 40 s: it checks the configuration, then waits up to 10 s for
	# lighttpd, and a sanitizer build on a busy machine is slow
	wait_for "grep -q 'Ctrl-C to stop' '$tmpdir/serve.out' || ! kill -0 $spid 2>/dev/null" 400 ||
		diag "hawk serve not ready after 40 s: $(cat "$tmpdir/serve.out")"
}
serve_gone() { # serve_gone STATUS-WANTED DESC
	wait "$spid"
	is "$?" "$1" "serve: $2: exit status $1"
	bg_pids=""
	wait_for '[ -z "$(e2e_tagged)" ]'
	is "$(e2e_tagged)" "" "serve: $2: no process left behind"
	is "$(ls -A "$xdg")" "" "serve: $2: the private runtime directory is removed"
}

port=$(free_port)
base=http://127.0.0.1:$port
T=/debug/prof/mem/tracemalloc
serve_start --port "$port" --dir "$tmpdir/seg"
kill -0 "$spid" 2>/dev/null || {
	ok 1 "serve: hawk serve starts"; sed 's/^/# /' "$tmpdir/serve.out"
	done_testing; }
grep -q "http://127.0.0.1:$port$T/" "$tmpdir/serve.out"
ok $? "serve: says where it listens"
[ $? -eq 0 ] || sed 's/^/# /' "$tmpdir/serve.out"
ls -d "$xdg"/hawk-serve.* >/dev/null 2>&1
ok $? "serve: its files are in a private directory under XDG_RUNTIME_DIR"
is "$(responders | wc -w | tr -d ' ')" 2 "serve: lighttpd spawned two hawk-fcgi"
ruser=$(ps -o user= -p "$(responders | cut -d' ' -f1)" 2>/dev/null | tr -d ' ')
is "$ruser" "$e2e_user" "serve: runs without root (as $e2e_user)"

start_target ta alpha 100
get "$T/targets/"
expect_status 200 "targets/"
get "$T/start/?pid=$ta"
expect_status 200 "start/"
target_do "$ta" "$ta_out" USR1 "alloc 1"
get "$T/snapshot/?pid=$ta"
is "$(js "$body" "(j['stats'][0]['lineno'], j['stats'][0]['mem_blocks_count'])")" \
	"[$site_big, 100]" "serve: snapshot/ is exact"
get "$T/stop/?pid=$ta"
expect_status 200 "stop/"
get "$T/?pid=$ta&duration=1"
expect_status 200 "fixed-duration profile, duration=1"
is "$(js "$body" "j['heap_diff_bytes']")" 0 "serve: nothing allocated during it"

# A second instance on the same port is refused, and says why (bounded in
# time, should it start after all).
as_user timeout 20 env XDG_RUNTIME_DIR="$xdg" HAWK_FCGI="$e2e_fcgi" $cmd \
	--port "$port" --dir "$tmpdir/seg" >"$tmpdir/busy.out" 2>&1
is "$?" 1 "serve: a busy port -> exit status 1"
grep -q "failed to start on 127.0.0.1:$port" "$tmpdir/busy.out"
ok $? "serve: a busy port is reported"

# Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
kill -INT "-$spid"
kill "$ta"; wait "$ta" 2>/dev/null
serve_gone 130 "Ctrl-C"

# SIGTERM to hawk serve alone.
serve_start --port "$port" --dir "$tmpdir/seg" --procs 3
wait_for '[ "$(responders | wc -w)" -ge 3 ]' 200
is "$(responders | wc -w | tr -d ' ')" 3 "serve: --procs 3"
get "$T/targets/"
expect_status 200 "targets/ after a restart on the same port"
kill -TERM "$spid"
serve_gone 143 "SIGTERM"

# Bad arguments.
for a in "--port 0" "--port 70000" "--port x" "--procs 0" "--bind a;b" "--frobnicate"; do
	# shellcheck disable=SC2086
	$serve $a >"$tmpdir/bad.out" 2>&1
	st=$?
	[ $st -ne 0 ] && [ -s "$tmpdir/bad.out" ]
	ok $? "serve: $a is refused with a message (status $st)"
done
$serve --help | grep -q -- '--port PORT'
ok $? "serve: --help"
is "$(ls -A "$xdg")" "" "serve: nothing left in the runtime directory"
done_testing
