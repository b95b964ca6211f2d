#!/bin/sh
# SPDX-License-Identifier: MIT
# t-e2e-lighttpd.sh - hawk through a real lighttpd: mod_fastcgi spawns two
# hawk-fcgi processes from the shipped snippet (conf/lighttpd/hawk.conf.in,
# paths substituted); every route, format and error status against two
# fixture targets (tests/e2e-lib.sh, e2e_suite); the snippet's local-only
# rule; nothing left running afterwards.
server=lighttpd
. "$top_srcdir/tests/e2e-lib.sh"

[ -n "${LIGHTTPD:-}" ] && [ -x "$LIGHTTPD" ] ||
	skip_all "lighttpd not found (Debian package lighttpd)"

port=$(free_port)
base=http://127.0.0.1:$port
mkdir -p "$tmpdir/www"
sed -e "s|@HAWK_FCGI@|$e2e_fcgi|g" \
    -e "s|@HAWK_SOCKET@|$tmpdir/run/hawk-fcgi.sock|g" \
    -e "s|@HAWK_DIR@|$tmpdir/seg|g" \
    -e "s|@[a-zA-Z_]*@|unused|g" \
    -e "s|^\(.*\"HAWK_MAX_DURATION\".*\)\$|\1\n\t\t\"HAWK_TIMEOUT_MS\" => \"$e2e_timeout_ms\",\n\t\t\"HAWK_E2E_TAG\" => \"$tmpdir\",|" \
    "$top_srcdir/conf/lighttpd/hawk.conf.in" >"$tmpdir/hawk-lighttpd.conf"

# A second listener on a non-loopback address of this machine, if it has
# one, to check that the snippet refuses clients that are not local.
extip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
extport=$(free_port)
{
	echo "server.document-root = \"$tmpdir/www\""
	echo "server.bind = \"127.0.0.1\""
	echo "server.port = $port"
	echo "server.errorlog = \"$tmpdir/run/lighttpd.err\""
	[ -n "$extip" ] && echo "\$SERVER[\"socket\"] == \"$extip:$extport\" { }"
	if [ -n "$e2e_asuser" ]; then
		echo "server.username = \"$e2e_user\""
		echo "server.groupname = \"$e2e_group\""
	fi
	echo "include \"$tmpdir/hawk-lighttpd.conf\""
} >"$tmpdir/lighttpd.conf"

"$LIGHTTPD" -tt -f "$tmpdir/lighttpd.conf" >"$tmpdir/tt.out" 2>&1
ok $? "lighttpd accepts the shipped snippet (lighttpd -tt)"
env "$e2e_tag" "$LIGHTTPD" -D -f "$tmpdir/lighttpd.conf" </dev/null >"$tmpdir/lighttpd.out" 2>&1 &
lpid=$!
bg_pids="$bg_pids $lpid"
wait_for "grep -q 'server started' '$tmpdir/run/lighttpd.err' 2>/dev/null || ! kill -0 $lpid 2>/dev/null"
wait_for '[ "$(responders | wc -w)" -ge 2 ] || ! kill -0 $lpid 2>/dev/null'
if ! kill -0 "$lpid" 2>/dev/null; then
	ok 1 "lighttpd starts"
	cat "$tmpdir/run/lighttpd.err" "$tmpdir/lighttpd.out" "$tmpdir/tt.out" 2>/dev/null | sed 's/^/# /'
	done_testing
fi
ok 0 "lighttpd starts on 127.0.0.1:$port"
is "$(responders | wc -w)" 2 "lighttpd spawned two hawk-fcgi processes"

# Kill every responder (as a crash would); lighttpd spawns new ones
# (gw_backend restarts dead bin-path processes on its once-a-second
# trigger).  Orderly shutdown (SIGTERM) is checked at the end.
restart_responders() {
	old=$(responders)
	for p in $old; do kill -KILL "$p"; done
	wait_for 'fresh=0; for p in $(responders); do case " $old " in *" $p "*) ;; *) fresh=$((fresh + 1)) ;; esac; done; [ $fresh -ge 2 ]' 150
}

e2e_suite

if [ -n "$extip" ]; then
	code=$("$curl" -s -o /dev/null -w '%{http_code}' --max-time 10 \
		"http://$extip:$extport/debug/prof/mem/tracemalloc/targets/")
	is "$code" 403 "lighttpd: a client that is not local gets 403 (snippet default)"
else
	skip "no non-loopback address on this machine to test the local-only rule"
fi

kill -TERM "$lpid"
wait "$lpid"
bg_pids=""
e2e_leftovers
grep -E '\((server|gw_backend|mod_fastcgi)\.c\.[0-9]+\) .*(error|fail)' "$tmpdir/run/lighttpd.err" | head -n 5 | sed 's/^/# lighttpd: /'
done_testing
