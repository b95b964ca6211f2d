#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-leftovers.sh - processes that leave without destructors (_exit:
# every system() through dash, python's os._exit, failed execs) remove
# their segment, and the files of killed processes (segments, 0-byte
# snapshots, half-created segments) are removed by the next target to
# start or exit, a bounded number each time: a pre-fork server whose
# workers are killed leaves a bounded number of files.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

traced() { env HAWK_DIR="$hdir" LD_PRELOAD="$libhawk" "$@"; }
# for background processes: $! must be the program's pid, not a subshell's
tr_env="env HAWK_DIR=$hdir LD_PRELOAD=$libhawk"
nfiles() { ls -A "$hdir" | wc -l; }
command -v python3 >/dev/null || skip_all "no python3"

# 1. system() 200 times while tracing: dash leaves by _exit each time
out=$(traced HAWK_TRACEMALLOC=4 python3 -c '
import os
n = sum(os.system("true") == 0 for _ in range(200))
print(n, len(os.listdir(os.environ["HAWK_DIR"])))' 2>"$tmpdir/err1")
is "$out" "200 1" "200 system() calls: each ran, only the caller's segment is left"
is "$(nfiles)" 0 "and none after it exited"
is "$(cat "$tmpdir/err1")" "" "nothing on stderr"

# 2. os._exit in forked workers (multiprocessing), a failed exec
out=$(traced HAWK_TRACEMALLOC=4 python3 -c '
import os
for i in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    try:
        os.execv("/nonexistent/program", ["x"])
    except OSError:
        os._exit(127)
_, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st), len(os.listdir(os.environ["HAWK_DIR"])))')
is "$out" "127 1" "20 workers leaving by os._exit and a failed exec left nothing"
is "$(nfiles)" 0 "and nothing after the parent exited"

# 3. 100 traced workers killed with SIGKILL: the next starts clean up
pids=""
i=0
while [ $i -lt 100 ]; do
	$tr_env sleep 100 &
	pids="$pids $!"
	i=$((i + 1))
done
n=0
while [ "$(nfiles)" -lt 100 ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done
is "$(nfiles)" 100 "100 workers, 100 segments"
# shellcheck disable=SC2086
kill -KILL $pids
for p in $pids; do wait "$p" 2>/dev/null; done
# SIGKILL runs no clean-up, but a worker still alive while the others die
# may remove some of theirs (dead files are anyone's to clean): count what
# is left and expect the next start to remove its bound of that
left=$(nfiles)
[ "$left" -ge 1 ] && [ "$left" -le 100 ]
ok $? "killed: their segments stay behind until a start ($left of 100)"
# the leftovers of a snapshot cut short (a socket since version 3, a
# file before) and of a creation cut short
dead=$(python3 -c 'import os; print(os.getpid())')
: >"$hdir/$dead.snap.123"
python3 -c 'import os, socket, sys
os.chdir(sys.argv[1])
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[2])' \
	"$hdir" "$dead.snap.124"
: >"$hdir/.$dead.seg.0badf00d.tmp"
$tr_env sleep 100 &
p=$!
n=0
# its clean-up follows the creation of its segment: wait for it to settle
# (left + 3 dead files, at most 64 removed, plus its own segment)
want=$((left + 3 > 64 ? left + 3 - 64 + 1 : 1))
while [ "$(nfiles)" -gt $want ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
sleep 0.2
is "$(nfiles)" $want "the next start removed at most 64 of the $((left + 3)) dead files (its bound)"
kill -KILL $p
wait $p 2>/dev/null
traced true
is "$(nfiles)" 0 "the one after removed the rest"

# 4. a pre-fork server recycling workers with SIGTERM: bounded
i=0
while [ $i -lt 60 ]; do
	$tr_env HAWK_TRACEMALLOC=4 sleep 100 &
	p=$!
	n=0
	while [ ! -e "$hdir/$p.seg" ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
	kill -TERM $p
	wait $p 2>/dev/null
	i=$((i + 1))
done
n=$(nfiles)
ok $([ "$n" -le 1 ]; echo $?) "60 workers killed by SIGTERM one after the other leave $n file(s) (at most 1)"
done_testing
