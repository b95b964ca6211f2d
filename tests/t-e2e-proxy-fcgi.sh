#!/bin/sh
# SPDX-License-Identifier: MIT
# t-e2e-proxy-fcgi.sh - hawk through a real Apache with mod_proxy_fcgi in
# front of `hawk-fcgi --listen` on a unix socket, from the shipped snippet
# (conf/apache/hawk-proxy-fcgi.conf.in, paths substituted); every route,
# format and error status against two fixture targets (tests/e2e-lib.sh,
# e2e_suite); nothing left running afterwards.
server=apache-proxy-fcgi
. "$top_srcdir/tests/e2e-lib.sh"
apache_check mpm_event authz_core authz_host proxy proxy_fcgi

port=$(free_port)
base=http://127.0.0.1:$port
sock=$tmpdir/run/hawk-fcgi.sock
sed -e "s|@HAWK_FCGI@|$e2e_fcgi|g" \
    -e "s|@HAWK_SOCKET@|$sock|g" \
    -e "s|@HAWK_DIR@|$tmpdir/seg|g" \
    -e "s|@[a-zA-Z_]*@|unused|g" \
    "$top_srcdir/conf/apache/hawk-proxy-fcgi.conf.in" >"$tmpdir/hawk-proxy.conf"

listener=""
start_listener() {
	rm -f "$sock"
	$e2e_asuser env "$e2e_tag" HAWK_DIR="$tmpdir/seg" HAWK_TIMEOUT_MS=$e2e_timeout_ms \
		HAWK_MAX_DURATION=300 "$e2e_fcgi" --listen "$sock" \
		</dev/null >>"$tmpdir/listener.log" 2>&1 &
	listener=$!
	bg_pids="$bg_pids $listener"
	wait_for "[ -S '$sock' ] || ! kill -0 $listener 2>/dev/null"
	[ -S "$sock" ]
}
start_listener
ok $? "$server: hawk-fcgi --listen $sock"

apache_start "proxy proxy_fcgi" "$tmpdir/hawk-proxy.conf" "" || {
	ok 1 "$server: apache2 starts"; done_testing; }
ok 0 "$server: apache2 starts on 127.0.0.1:$port"

# The responder is ours: kill it (as a crash would) and start another on
# the same socket.  Orderly shutdown (SIGTERM) is checked at the end.
restart_responders() {
	kill -KILL "$listener"
	wait "$listener" 2>/dev/null
	start_listener
}

e2e_suite

apache_stop
kill -TERM "$listener" 2>/dev/null
bg_pids=""
e2e_leftovers   # includes the listener: SIGTERM must stop it
[ -s "$tmpdir/listener.log" ] && sed 's/^/# hawk-fcgi: /' "$tmpdir/listener.log" | head -n 5
done_testing
