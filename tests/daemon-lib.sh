# SPDX-License-Identifier: MIT
# tests/daemon-lib.sh - shared set-up of the real-daemon tests
# (t-daemon-*.sh): the packaged daemons (Apache prefork, nginx, php-fpm,
# redis) started as root with libhawk preloaded and tracing on from the
# start, dropping privileges to www-data as packaged, in private
# directories and ports; and a responder run as www-data with the
# README's secure configuration (a group directory, allow_uids).
#   dm_daemon NAME PATH   skip the whole test (with the reason) unless PATH
#                         is an executable daemon binary; prints it
#   $seg                  the segment directory: 2770 root:www-data, as
#                         README "Security" makes one
#   $lib $hawk $fcgi      libhawk, the hawk command, the responder (copied
#                         where www-data can reach them if it cannot)
#   $dm_env               "env HAWK_E2E_TAG=... HAWK_DIR=$seg ..." prefix:
#                         preload libhawk, trace from the start (frames 8)
#   q ROUTE [QUERY]       one request to the responder, run as www-data as
#                         a CGI program with $tmpdir/hawk.conf: body in
#                         $tmpdir/body, status code in $status
#   js EXPR               a python expression over the body parsed as `j`
#   pkl EXPR              a python expression over the body loaded as a
#                         tracemalloc.Snapshot `s` (Counter available)
#   wait_for COND [TENTHS] poll a shell condition (default 20 s)
#   free_port             a free TCP port on 127.0.0.1
#   dead_segments         the pids of dead segments in $seg ("" if none)
#   live_pids             the pids of live segments in $seg
#   dm_leftovers          no process with our tag left (kills them if so)
# Every process started carries HAWK_E2E_TAG=$tmpdir in its environment.
. "$top_srcdir/tests/lib.sh"

[ -z "${HAWK_SANITIZE:-}" ] ||
	skip_all "sanitizer build: libhawk is not preloaded into other programs"
[ "$(id -u)" -eq 0 ] ||
	skip_all "not root: the daemons start as root and drop to www-data"
getent passwd www-data >/dev/null || skip_all "no user www-data"
command -v setpriv >/dev/null || skip_all "setpriv not found (util-linux)"
python=${PYTHON3:-$(command -v python3)}
[ -n "$python" ] && [ -x "$python" ] || skip_all "python3 not found"

dm_daemon() {
	[ -x "$2" ] || skip_all "$1 not found ($2; Debian package in scripts/deps)"
	echo "$2"
}

lib=$top_builddir/tracer/.libs/libhawk.so
hawk=$top_builddir/cli/hawk
fcgi=$top_builddir/fcgi/hawk-fcgi
[ -f "$lib" ] || skip_all "libhawk.so not built"
[ -x "$fcgi" ] || skip_all "hawk-fcgi not built"

asww="setpriv --reuid=www-data --regid=www-data --init-groups --"
chmod 755 "$tmpdir"
mkdir -p "$tmpdir/bin"
# a binary www-data can run (the build tree may be under /root)
dm_reach() {
	if $asww test -x "$1" 2>/dev/null; then echo "$1"; return; fi
	f=$1
	head -c 2 "$f" | grep -q '#!' && f=$(dirname "$1")/.libs/$(basename "$1")
	cp "$f" "$tmpdir/bin/" && chmod 755 "$tmpdir/bin/$(basename "$f")" &&
		echo "$tmpdir/bin/$(basename "$f")"
}
fcgi=$(dm_reach "$fcgi")
lib=$(dm_reach "$lib")

# README "Security": a directory of their own, group www-data, setgid,
# not sticky; the responder admits the uid the workers run as
seg=$tmpdir/seg
install -d -m 2770 -g www-data "$seg"
printf 'dir = %s\nallow_uids = www-data\ntimeout_ms = 5000\n' "$seg" \
	>"$tmpdir/hawk.conf"
chmod 644 "$tmpdir/hawk.conf"

dm_tag="HAWK_E2E_TAG=$tmpdir"
# (no HAWK_GROUP: the workers run as www-data, the responder's own uid;
# the master, root, is not admitted by allow_uids)
dm_env="env $dm_tag HAWK_DIR=$seg HAWK_TRACEMALLOC=8 LD_PRELOAD=$lib"

q() {
	$asww env -i PATH="$PATH" REQUEST_METHOD=GET SCRIPT_NAME=/debug \
		PATH_INFO="/prof/mem/tracemalloc/$1" \
		REQUEST_URI="/debug/prof/mem/tracemalloc/$1?${2:-}" \
		QUERY_STRING="${2:-}" "$fcgi" --config "$tmpdir/hawk.conf" \
		>"$tmpdir/resp" 2>"$tmpdir/resp.err"
	status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmpdir/resp")
	sed '1,/^\r$/d' "$tmpdir/resp" >"$tmpdir/body"
}
js() {
	"$python" -c "import json,sys; j=json.load(open(sys.argv[1])); print(($1))" \
		"$tmpdir/body" 2>&1
}
pkl() {
	"$python" -c "import pickle,sys; from collections import Counter
s=pickle.load(open(sys.argv[1],'rb')); print(($1))" "$tmpdir/body" 2>&1
}
wait_for() {
	_n=0
	while ! eval "$1"; do
		_n=$((_n + 1))
		[ $_n -ge "${2:-200}" ] && return 1
		sleep 0.1
	done
}
free_port() {
	"$python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# from hawk ps --json: pids of dead / live segments, sorted
ps_pids() {
	"$hawk" ps --dir "$seg" --json 2>/dev/null | "$python" -c '
import json, sys
print(" ".join(str(r["pid"]) for r in json.load(sys.stdin) if r["state"] '"$1"' "dead"))'
}
dead_segments() { ps_pids "=="; }
live_pids() { ps_pids "!="; }

dm_tagged() {
	grep -lzx "HAWK_E2E_TAG=$tmpdir" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/||;s|/environ$||'
}
dm_leftovers() {
	wait_for '[ -z "$(dm_tagged)" ]' 100
	left=$(dm_tagged)
	is "$left" "" "no process left behind"
	for p in $left; do
		kill -KILL "$p" 2>/dev/null
	done
}
