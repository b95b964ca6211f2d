#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-hostile.sh - the tracer never dies of its neighbours or of a
# full disk, and squatted names do not stop anyone from being traced:
#  - a group member truncating the target's segment (HAWK_GROUP) does not
#    kill it: it makes a new segment and keeps its traces;
#  - a full segment file system: every program and fork child runs on
#    untraced with one message; a target that has its segment still
#    serves snapshots (a socket: nothing is written there), no SIGBUS;
#  - another user's files named <pid>.seg / <pid>.snap.N do not stop the
#    target from being traced or snapshotted;
#  - a segment directory owned by another user, or writable by all
#    without the sticky bit, is refused with a clear message.
# The attacker is an unprivileged user the test creates.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (users, tmpfs)"
grp=hawk-t-hgrp
att=hawk-t-hatt
vic=hawk-t-hvic
getent group "$grp" >/dev/null || groupadd -r "$grp" || skip_all "groupadd"
id -u "$att" >/dev/null 2>&1 ||
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G "$grp" "$att" ||
	skip_all "useradd $att"
id -u "$vic" >/dev/null 2>&1 ||
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$vic" ||
	skip_all "useradd $vic"
gid=$(getent group "$grp" | cut -d: -f3)
auid=$(id -u "$att")
vuid=$(id -u "$vic")
vgid=$(id -g "$vic")
as_att() { setpriv --reuid="$att" --regid="$att" --init-groups "$@"; }
owner() { stat -c %u "$1" 2>/dev/null; }
chmod 0711 "$tmpdir"
shared=$tmpdir/shared
mkdir -m 01777 "$shared"
full=$tmpdir/full
mkdir "$full"
mounted=0
cleanup_all() {
	[ $mounted = 1 ] && umount "$full"
	cleanup_tmp
}
trap cleanup_all EXIT

# 1. a group member truncates the target's segment
hdir=$shared
fx_start setpriv HAWK_GROUP="$grp" HAWK_TRACEMALLOC=8 -- \
	--groups="$gid" "$fxdir/tr-creds"
pid=${fx_ready#ready }
is "$(stat -c '%a %G' "$shared/$pid.seg")" "660 $grp" "group mode: 0660, group $grp"
is "$(fx malloc 10 1000)" ok "allocated 10 x 1000 bytes"
as_att truncate -s 0 "$shared/$pid.seg"
ok $? "$att (in $grp) truncated the segment to 0 bytes"
sleep 2.5
is "$(fx ids)" "ok 0 0" "the target is alive and answers"
st=$(hd "$pid" status)
is "$(field alive "$st") $(field tracing "$st")" "1 1" "it made a new segment and is still tracing"
is "$(stat -c %s "$shared/$pid.seg")" 4096 "the new segment is whole"
n=$(hd "$pid" snapshot | grep -c "^trace size=10000 count=10 ")
is "$n" 1 "its traces survived"
as_att truncate -s 100 "$shared/$pid.seg"
sleep 2.5
is "$(fx ids)" "ok 0 0" "a truncation to 100 bytes does not kill it either"
fx_stop
is $? 0 "fixture exited 0"

# 2. a full segment file system
if mount -t tmpfs -o size=256k,mode=1777 hawk-test "$full" 2>/dev/null; then
	mounted=1
	dd if=/dev/zero of="$full/fill" bs=4k 2>/dev/null
	out=$(env HAWK_DIR="$full" HAWK_TRACEMALLOC=8 LD_PRELOAD="$libhawk" \
		sh -c 'echo a; /bin/echo b; (echo c)' 2>"$tmpdir/full.err")
	rc=$?
	is "$rc $(echo $out)" "0 a b c" "sh, an exec'd /bin/echo and a fork child all ran"
	msg="hawk: cannot create the segment in $full as uid 0: No space left on device; this process runs untraced"
	is "$(grep -c -x -F "$msg" "$tmpdir/full.err") $(wc -l <"$tmpdir/full.err")" \
		"2 2" "one message per program (sh, echo), none from the fork child"
	is "$(ls -A "$full")" fill "no file left in the full directory"

	# a target that got its segment, then the disk filled up
	rm -f "$full/fill"
	hdir=$full
	fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
	pid=${fx_ready#ready }
	fx malloc 100 1000 >/dev/null
	dd if=/dev/zero of="$full/fill" bs=4k 2>/dev/null
	# a snapshot writes nothing there (a socket, no file): it works
	hd "$pid" snapshot >"$tmpdir/snap.out" 2>"$tmpdir/snap.err"
	is "$? $(grep -c '^trace size=100000 count=100 ' "$tmpdir/snap.out")" \
		"0 1" "a snapshot on a full disk works"
	grep -q "^snapshot .* dropped_blocks=0 " "$tmpdir/snap.out"
	ok $? "and misses nothing"
	is "$(ls -A "$full" | grep -c snap)" 0 "no snapshot left"
	reply=$(fx forkdrop 0 0)
	child=${reply#ok }
	ok $([ "$child" -gt 0 ] 2>/dev/null; echo $?) "a fork child runs on the full disk"
	is "$(fx reap)" "ok 0" "and exits 0"
	grep -c "No space left on device; this process runs untraced" "$tmpdir/err$fx_n" >"$tmpdir/n"
	is "$(cat "$tmpdir/n")" 1 "with one message"
	st=$(hd "$pid" status)
	is "$(field alive "$st") $(field tracing "$st")" "1 1" "the parent is alive and tracing"
	fx_stop
	is $? 0 "fixture exited 0"
	umount "$full" && mounted=0
else
	skip "cannot mount a tmpfs here"
fi

# 3. squatted snapshot names
hdir=$shared
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
fx malloc 10 1000 >/dev/null
# shellcheck disable=SC2016  # expanded by the attacker's shell
as_att sh -c 'i=0; while [ $i -lt 1000 ]; do : >"$0/$1.snap.$i"; i=$((i + 1)); done' \
	"$shared" "$pid"
is "$(find "$shared" -user "$att" -name "$pid.snap.*" | wc -l)" 1000 \
	"$att created $pid.snap.0..999"
n=$(hd "$pid" snapshot | grep -c "^trace size=10000 count=10 ")
is "$n" 1 "a snapshot works although $att holds $pid.snap.0..999"
fx_stop
find "$shared" -user "$att" -delete

# 4. squatted segment names: $att creates <pid>.seg for the next pids, the
# victim ($vic, not root: root could replace the file) is still traced
# (pids from first on, first a little ahead; ns_last_pid, when root may
# write it, makes the target's pid one of the first few)
first=$(($(cat /proc/sys/kernel/ns_last_pid) + 2000))
# shellcheck disable=SC2016  # expanded by the attacker's shell
as_att sh -c 'i=$1; while [ $i -lt $(($1 + 3000)) ]; do : >"$0/$i.seg"; i=$((i + 1)); done' \
	"$shared" "$first"
pid_max=$(cat /proc/sys/kernel/pid_max)
[ $((first + 3000)) -lt "$pid_max" ] &&
	echo $((first - 1)) >/proc/sys/kernel/ns_last_pid 2>/dev/null
fx_start setpriv HAWK_TRACEMALLOC=8 -- --reuid="$vuid" --regid="$vgid" \
	--clear-groups "$fxdir/tr-creds"
pid=${fx_ready#ready }
if [ "$(owner "$shared/$pid.seg")" = "$auid" ]; then
	alt=$(cd "$shared" && ls | grep -E "^$pid\.[0-9a-f]{8}\.seg\$")
	ok $([ -n "$alt" ]; echo $?) "$pid.seg is $att's: the target published $alt"
	is "$(owner "$shared/$alt")" "$vuid" "owned by $vic"
	fx malloc 10 1000 >/dev/null
	st=$(hd "$pid" status)
	is "$(field alive "$st") $(field tracing "$st")" "1 1" "a reader finds it by pid"
	n=$(hd "$pid" snapshot | grep -c "^trace size=10000 count=10 ")
	is "$n" 1 "and takes a snapshot"
	fx_stop
	is $? 0 "fixture exited 0"
	[ ! -e "$shared/$alt" ]
	ok $? "it removed $alt at exit"
else
	fx_stop
	skip "pid $pid fell outside the squatted range (a busy machine)"
fi
find "$shared" -user "$att" -delete

# 5. unsafe segment directories
attdir=$tmpdir/attdir
mkdir -m 0777 "$attdir"
chown "$att" "$attdir"
hdir=$attdir
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
is "$(fx malloc 1 10)" ok "a target with $att's directory runs"
fx_stop
is "$(ls -A "$attdir")" "" "nothing created in it"
grep -q -x -F "hawk: refusing the segment directory $attdir as uid 0: owned by uid $auid, neither this process's uid nor root; this process runs untraced" "$tmpdir/err$fx_n"
ok $? "refused, naming the directory and its owner"
open=$tmpdir/open
mkdir "$open"
chmod 0777 "$open"
hdir=$open
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
is "$(fx malloc 1 10)" ok "a target with a 0777 directory runs"
fx_stop
is "$(ls -A "$open")" "" "nothing created in it"
grep -q -x -F "hawk: refusing the segment directory $open as uid 0: writable by all without the sticky bit (chmod +t); this process runs untraced" "$tmpdir/err$fx_n"
ok $? "refused: writable by all without the sticky bit"
chmod 01777 "$open"
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
is "$(owner "$open/$pid.seg")" 0 "with the sticky bit it is accepted"
fx_stop
done_testing
