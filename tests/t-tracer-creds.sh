#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-creds.sh - a process that starts as root and drops its
# privileges (in-process, after fork, keepcaps + capset, setpriv itself)
# stays traceable as whoever it is now: its segment and snapshots belong
# to its current uid, that uid can read them, hawk ps shows it, it removes
# its own segment at exit and leaves no root-owned file behind.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (to drop privileges)"
user=hawk-t-creds
id -u "$user" >/dev/null 2>&1 ||
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$user" ||
	skip_all "cannot create user $user"
uid=$(id -u "$user")
gid=$(id -g "$user")
hawk=$top_builddir/cli/hawk
# a shared directory as /dev/shm/hawk is: root's, 01777
chmod 0711 "$tmpdir"
shared=$tmpdir/shared
mkdir -m 01777 "$shared"
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }
uhd() { as_user "$hd_bin" --timeout 5000 "$1" "$2" "$3"; }
owner() { stat -c %u "$1" 2>/dev/null; }

# 1. in-process drop (lighttpd server.username, memcached -u)
hdir=$shared
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
is "$(fx malloc 10 1000)" ok "allocated 10 x 1000 bytes as root"
is "$(owner "$shared/$pid.seg")" 0 "the segment is root's before the drop"
is "$(fx drop "$uid" "$gid")" ok "setgroups + setgid + setuid to $user"
is "$(owner "$shared/$pid.seg")" "$uid" "the segment is $user's after the drop"
st=$(uhd "$shared" "$pid" status)
is "$(field alive "$st") $(field tracing "$st") $(field frames "$st")" \
	"1 1 8" "$user reads it: alive, still tracing with frames=8"
uhd "$shared" "$pid" snapshot >"$tmpdir/snap1" 2>"$tmpdir/snap1.err"
ok $? "$user takes a snapshot of it"
line=$(site tr-creds.c MALLOC)
n=$(grep -c "^trace size=10000 count=10 " "$tmpdir/snap1")
is "$n" 1 "the blocks allocated before the drop are in it (tr-creds.c:$line)"
ps=$("$hawk" ps --json --dir "$shared" | tr -d ' \n')
case $ps in *"\"pid\":$pid,"*"\"uid\":$uid,"*) r=0 ;; *) r=1 ;; esac
ok $r "hawk ps shows uid $uid"
is "$(find "$shared" -uid 0 -type f | wc -l)" 0 "no root-owned file left"
fx_stop
is $? 0 "fixture exited 0"
is "$(ls -A "$shared")" "" "it removed its own segment at exit"

# 2. drop in a fork child (Apache prefork, nginx, php-fpm workers)
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
reply=$(fx forkdrop "$uid" "$gid")
child=${reply#ok }
ok $([ "$child" -gt 0 ] 2>/dev/null; echo $?) "worker $child dropped to $user"
is "$(owner "$shared/$child.seg")" "$uid" "the worker's segment is $user's"
is "$(owner "$shared/$pid.seg")" 0 "the master's is still root's"
uhd "$shared" "$child" snapshot >"$tmpdir/snap2" 2>"$tmpdir/snap2.err"
ok $? "$user takes a snapshot of the worker"
n=$(grep -c "^trace size=3885 count=5 " "$tmpdir/snap2")
is "$n" 1 "the worker's 5 x 777 bytes are in it"
is "$(fx reap)" "ok 0" "worker exited 0"
is "$(ls -A "$shared")" "$pid.seg" "the worker removed its segment"
fx_stop

# 3. a HAWK_DIR the new uid cannot write: a clear message, runs on untraced
private=$tmpdir/private
mkdir -m 0700 "$private"
hdir=$private
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
is "$(fx drop "$uid" "$gid")" ok "dropped with a HAWK_DIR $user cannot write"
is "$(fx malloc 3 100)" ok "the program runs on"
is "$(ls -A "$private")" "" "no root-owned segment left behind"
fx_stop
is $? 0 "fixture exited 0"
grep -q "hawk: cannot create the segment in $private as uid $uid: Permission denied; this process runs untraced" \
	"$tmpdir/err$fx_n"
ok $? "the message names the directory and the uid"
diag "$(cat "$tmpdir/err$fx_n")"

# a temporary drop (seteuid) into a directory the uid cannot write, then
# back: untraced meanwhile, a segment again after
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
is "$(fx seteuid "$uid")" ok "seteuid($uid) with HAWK_DIR root's 0700"
is "$(ls -A "$private")" "" "no segment meanwhile"
is "$(fx seteuid 0)" ok "seteuid(0)"
is "$(owner "$private/$pid.seg")" 0 "a segment again, root's"
st=$(hd "$pid" status)
is "$(field alive "$st") $(field tracing "$st")" "1 0" "alive, not tracing (it stopped when it had no segment)"
fx_stop
is $? 0 "fixture exited 0"
is "$(grep -c "this process runs untraced" "$tmpdir/err$fx_n")" 1 "one message"

# 4. keepcaps + capset + setresuid/setresgid (glibc's all-thread broadcast)
hdir=$shared
for t in "" HAWK_TRACEMALLOC=4; do
	fx_start "$fxdir/tr-creds" $t
	pid=${fx_ready#ready }
	is "$(fx keepcaps "$uid" "$gid")" ok "keepcaps daemon ${t:-(tracing off)}: every call succeeded"
	is "$(fx ids)" "ok $uid $uid" "it runs as $user"
	is "$(owner "$shared/$pid.seg")" "$uid" "its segment is $user's"
	fx_stop
	is $? 0 "it exited 0 (no abort)"
done

# 5. a change behind glibc's back (raw system calls in the main thread):
# the agent sees it at its tick and follows
fx_start "$fxdir/tr-creds" HAWK_TRACEMALLOC=8
pid=${fx_ready#ready }
fx malloc 10 1000 >/dev/null
is "$(fx rawdrop "$uid" "$gid")" ok "setresuid by a raw system call"
n=0
while [ "$(owner "$shared/$pid.seg")" != "$uid" ] && [ $n -lt 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
is "$(owner "$shared/$pid.seg")" "$uid" "the agent made a new segment as $user"
n=$(uhd "$shared" "$pid" snapshot | grep -c "^trace size=10000 count=10 ")
is "$n" 1 "$user takes a snapshot with the traces of before"
is "$(find "$shared" -uid 0 -type f | wc -l)" 0 "no root-owned file left"
fx_stop
is $? 0 "fixture exited 0"

# 6. Debian's setpriv itself, preloaded
for t in "" HAWK_TRACEMALLOC=4; do
	out=$(env HAWK_DIR="$shared" $t LD_PRELOAD="$libhawk" setpriv \
		--reuid=nobody --regid=nogroup --clear-groups id -u 2>"$tmpdir/sp.err")
	rc=$?
	is "$rc $out" "0 $(id -u nobody)" "setpriv --reuid=nobody ${t:-(tracing off)} runs id as nobody"
	[ $rc = 0 ] || diag "$(cat "$tmpdir/sp.err")"
done
is "$(ls -A "$shared")" "" "nothing left in the directory"
done_testing
