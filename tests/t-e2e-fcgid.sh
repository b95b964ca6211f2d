#!/bin/sh
# SPDX-License-Identifier: MIT
# t-e2e-fcgid.sh - hawk through a real Apache with mod_fcgid: the shipped
# snippet (conf/apache/hawk-fcgid.conf.in, paths substituted) makes Apache
# spawn hawk-fcgi processes itself; every route, format and error status
# against two fixture targets (tests/e2e-lib.sh, e2e_suite); nothing left
# running afterwards.
server=apache-fcgid
. "$top_srcdir/tests/e2e-lib.sh"
apache_check mpm_event authz_core authz_host alias fcgid
[ -f "$APACHE_MODDIR/mod_fcgid.so" ] ||
	skip_all "mod_fcgid not found (Debian package libapache2-mod-fcgid)"

port=$(free_port)
base=http://127.0.0.1:$port
mkdir -p "$tmpdir/fcgid"
[ -n "$e2e_asuser" ] && chown "$e2e_user:$e2e_group" "$tmpdir/fcgid"
sed -e "s|@HAWK_FCGI@|$e2e_fcgi|g" \
    -e "s|@HAWK_FCGI_DIR@|$(dirname "$e2e_fcgi")|g" \
    -e "s|@HAWK_DIR@|$tmpdir/seg|g" \
    -e "s|@[a-zA-Z_]*@|unused|g" \
    -e "s|^\(.*InitialEnv HAWK_PREFIX=/debug.*\)\$|\1\n\t\tInitialEnv HAWK_TIMEOUT_MS=$e2e_timeout_ms \\\\\n\t\tInitialEnv HAWK_E2E_TAG=$tmpdir \\\\|" \
    "$top_srcdir/conf/apache/hawk-fcgid.conf.in" >"$tmpdir/hawk-fcgid.conf"

apache_start "alias fcgid" "$tmpdir/hawk-fcgid.conf" "
FcgidIPCDir \"$tmpdir/fcgid\"
FcgidProcessTableFile \"$tmpdir/fcgid/table\"" || {
	ok 1 "$server: apache2 starts"; done_testing; }
ok 0 "$server: apache2 starts on 127.0.0.1:$port"

# Kill every responder (as a crash would): mod_fcgid starts a new one for
# the next request.  Orderly shutdown is checked at the end.
restart_responders() {
	get /debug/prof/mem/tracemalloc/targets/ warm   # at least one exists
	old=$(responders)
	for p in $old; do kill -KILL "$p"; done
	wait_for 'still=0; for p in $(responders); do case " $old " in *" $p "*) still=1 ;; esac; done; [ $still = 0 ]' 100
}

e2e_suite

apache_stop
e2e_leftovers
done_testing
