#!/bin/sh
# SPDX-License-Identifier: MIT
# t-serve-fault.sh - load and faults through `hawk serve` (its lighttpd,
# two responders), with the segment directory a small tmpfs (1777) shared
# by three targets and an attacker, an unprivileged user the test creates
# and the responder admits (allow_uids), as in a multi-user setup:
#  - the attacker's segment claims to trace and never answers: start/
#    over all starts the others (207, the attacker listed with 409);
#  - concurrent clients hammer snapshot/ (JSON and pickle) and targets/
#    while a target is stopped with SIGSTOP and continued, another is
#    killed with SIGKILL, and the attacker truncates its segment under
#    the commands: every answer is an expected status with a valid body;
#  - the directory fills up: a snapshot fails with a JSON error, and once
#    there is room again the profile is exact (nothing lost);
#  - the responders are the same processes at the end (none crashed), the
#    killed target's files are gone, and no snapshot file is left behind.
server=serve-fault
. "$top_srcdir/tests/e2e-lib.sh"

[ -n "${LIGHTTPD:-}" ] && [ -x "$LIGHTTPD" ] ||
	skip_all "lighttpd not found (Debian package lighttpd)"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (a tmpfs, an attacker user)"
serve=$top_builddir/cli/hawk-serve
[ -x "$serve" ] || skip_all "cli/hawk-serve is not built"
fake=$top_builddir/tests/seg-fake
[ -x "$fake" ] || skip_all "tests/seg-fake is not built"
cp "$fake" "$tmpdir/bin/seg-fake" && chmod 755 "$tmpdir/bin/seg-fake"
fake=$tmpdir/bin/seg-fake
e2e_reach "$serve" || {
	cp "$serve" "$tmpdir/bin/hawk-serve" && chmod 755 "$tmpdir/bin/hawk-serve"
	serve=$tmpdir/bin/hawk-serve; }

attacker=hawk-t-fault
getent passwd "$attacker" >/dev/null ||
	useradd -r -M -s /usr/sbin/nologin "$attacker" 2>/dev/null ||
	skip_all "cannot create the user $attacker"
as_attacker="setpriv --reuid=$attacker --regid=$(id -g "$attacker") --clear-groups --"
shm=$tmpdir/shm
mkdir "$shm"
mount -t tmpfs -o size=512k,mode=1777 hawk-fault "$shm" ||
	skip_all "cannot mount a tmpfs"
trap 'for p in $bg_pids; do kill -CONT "$p" 2>/dev/null; done
      cleanup_tmp_shm' EXIT
cleanup_tmp_shm() {
	for p in $bg_pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $bg_pids; do wait "$p" 2>/dev/null; done
	umount "$shm" 2>/dev/null
	userdel "$attacker" 2>/dev/null
	cleanup_tmp
}

xdg=$tmpdir/xdg
mkdir -p "$xdg" && chmod 700 "$xdg" && chown "$e2e_user:$e2e_group" "$xdg"
port=$(free_port)
base=http://127.0.0.1:$port
T=/debug/prof/mem/tracemalloc
$e2e_asuser env "$e2e_tag" XDG_RUNTIME_DIR="$xdg" HAWK_FCGI="$e2e_fcgi" \
	HAWK_TIMEOUT_MS=1000 HAWK_ALLOW_UIDS="$e2e_user,$attacker" \
	LIGHTTPD="$LIGHTTPD" "$serve" --port "$port" --dir "$shm" \
	>"$tmpdir/serve.out" 2>&1 &
spid=$!
bg_pids="$bg_pids $spid"
wait_for "grep -q 'Ctrl-C to stop' '$tmpdir/serve.out' || ! kill -0 $spid 2>/dev/null" 400
kill -0 "$spid" 2>/dev/null
ok $? "hawk serve runs on a 512 KiB tmpfs" || { cat "$tmpdir/serve.out" >&2; done_testing; }
wait_for '[ "$(responders | wc -w)" -ge 2 ]' 200
resp_before=$(responders)

# three targets (www-data) with 100 blocks each once started
start() { # start VAR NAME
	_out=$tmpdir/out/$2.out
	: >"$_out"
	$e2e_asuser env "$e2e_tag" HAWK_DIR="$shm" HAWK_NAME="$2" \
		LD_PRELOAD="$e2e_libhawk" "$e2e_target" 100 >"$_out" 2>"$_out.err" &
	eval "$1=$!"
	eval "${1}_out=$_out"
	bg_pids="$bg_pids $!"
	wait_for "grep -q '^ready' '$_out'"
}
start ta alpha && start tb beta && start tc gamma
ok $? "three targets"
# the attacker: a live segment that claims to trace and never answers
$as_attacker "$fake" "$shm" hold evil 1 30 0 0 0 &
ep=$!
bg_pids="$bg_pids $ep"
wait_for "[ -e '$shm/$ep.seg' ]"
# its own file: open to the responder (a 0660 file of group www-data in
# the documented multi-user setup)
$as_attacker chmod 0666 "$shm/$ep.seg"
ok $? "the attacker's segment (uid $attacker) claims to trace"

get "$T/start/"
is "$code:$(js "$body" "[(f['pid'], f['status']) for f in j['failed']]")" \
	"207:[[$ep, 409]]" "start/ over all: 207, the attacker listed with 409"
get "$T/targets/"
is "$(js "$body" "sorted(t['pid'] for t in j if t['tracing'] and t['name'] != 'evil')")" \
	"$("$python" -c "print(sorted([$ta, $tb, $tc]))")" "the three targets trace"
for p in ta tb tc; do
	eval "target_do \$$p \$${p}_out USR1 'alloc 1'"
done
ok $? "each allocated 100 blocks of 4096 bytes"

# the load: 4 clients, 8 requests each, while the faults happen
mkdir "$tmpdir/load"
client() { # client N
	i=0
	for q in "snapshot/?count=3" "targets/" "snapshot/?format=pickle" \
		 "snapshot/?name=alpha&format=traceback" "snapshot/?count=0" \
		 "targets/?name=gamma" "snapshot/?name=gamma" "snapshot/?format=pickle&name=alpha"; do
		i=$((i + 1))
		f=$tmpdir/load/$1.$i
		"$curl" -s -g -o "$f.body" -D "$f.hdr" -w '%{http_code}' \
			--max-time 60 "$base$T/$q" >"$f.code" 2>/dev/null ||
			echo curl-failed >"$f.code"
	done
}
for n in 1 2 3 4; do client $n & eval "c$n=\$!"; done
sleep 1
stop_process "$tc"
$as_attacker truncate -s 0 "$shm/$ep.seg"
sleep 1
kill -KILL "$tb"
wait "$tb" 2>/dev/null
sleep 1
kill -CONT "$tc"
wait $c1 $c2 $c3 $c4
"$python" - "$tmpdir/load" >&2 <<'PY'
import glob, json, pickle, sys
bad = []
for c in sorted(glob.glob(sys.argv[1] + "/*.code")):
    f = c[:-5]
    code = open(c).read().strip()
    hdr = open(f + ".hdr", errors="replace").read().lower()
    body = open(f + ".body", "rb").read()
    if code not in ("200", "207", "404", "409", "502", "504"):
        bad.append((f, code))
    elif "application/json" in hdr:
        try:
            json.loads(body.decode("utf-8"))
        except Exception as e:
            bad.append((f, code, "json", str(e)))
    elif "octet-stream" in hdr:
        try:
            pickle.loads(body)
        except Exception as e:
            bad.append((f, code, "pickle", str(e)))
print(len(glob.glob(sys.argv[1] + "/*.code")), bad)
PY

is "$("$python" - "$tmpdir/load" <<'PY'
import glob, sys
print(sorted(set(open(c).read().strip() for c in glob.glob(sys.argv[1] + "/*.code")) - {"200", "207", "404", "409", "502", "504"}))
PY
)" "[]" "32 concurrent requests under faults: only expected statuses"
is "$("$python" - "$tmpdir/load" <<'PY'
import glob, json, pickle, sys
n = 0
for c in glob.glob(sys.argv[1] + "/*.code"):
    f = c[:-5]
    hdr = open(f + ".hdr", errors="replace").read().lower()
    body = open(f + ".body", "rb").read()
    try:
        if "application/json" in hdr:
            json.loads(body.decode("utf-8"))
        elif "octet-stream" in hdr:
            pickle.loads(body)
        n += 1
    except Exception:
        pass
print(n)
PY
)" 32 "every body is valid JSON (UTF-8) or a loadable pickle"
n207=$(cat "$tmpdir"/load/*.code | grep -c 207)
[ "$n207" -gt 0 ]
ok $? "the faults showed: $n207 answers were 207 (healthy targets answered, the others listed)"
is "$(responders)" "$resp_before" "the responders are the same processes (none crashed)"

# a full directory: a snapshot streams through a socket, nothing is
# written there, so it works all the same
dd if=/dev/zero of="$shm/filler" bs=4096 2>/dev/null
get "$T/snapshot/?name=alpha&count=1"
is "$code:$(js "$body" "(j['stats'][0]['lineno'], j['stats'][0]['mem_blocks_count'], j['stats'][0]['mem_blocks_size_bytes'])")" \
	"200:[$site_big, 100, 409600]" "full directory: alpha's 100 blocks, exact all the same"
rm -f "$shm/filler"

# nothing left behind: the killed target's files, any snapshot file
is "$(cd "$shm" && ls | grep -E "^$tb\.|\.snap\." | tr '\n' ' ')" "" \
	"the killed target's segment and every snapshot file are gone"
get "$T/stop/"
is "$code" 200 "stop/ over all"
get "$T/targets/"
is "$(js "$body" "[t['pid'] for t in j if t['tracing']]")" "[]" "nothing traces"

kill "$ta" "$tc" "$ep" 2>/dev/null
wait "$ta" "$tc" "$ep" 2>/dev/null
kill -TERM "$spid"
wait "$spid"
bg_pids=""
e2e_leftovers
done_testing
