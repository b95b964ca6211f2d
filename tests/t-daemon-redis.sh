#!/bin/sh
# SPDX-License-Identifier: MIT
# t-daemon-redis.sh - Debian's redis-server, which links libjemalloc,
# under libhawk (it crashed at start before libhawk forwarded to the
# program's own allocator): tracing off, then on from the start; values
# SET through redis-cli read back intact; redis still reports jemalloc as
# its allocator and hawk ps / targets/ say libhawk traces through it; a
# responder running as www-data (README "Security") sees exactly the
# values' blocks: a SET of a 3000-byte value is one sds string of
# 3000 + 5 (its sdshdr16 header) + 1 (NUL) = 3006 bytes; DEL frees them.
# Redis runs as www-data here (setpriv), as the packaged unit runs it as
# its own user.
. "$top_srcdir/tests/daemon-lib.sh"
redis=$(dm_daemon redis-server /usr/bin/redis-server)
cli=$(command -v redis-cli) || skip_all "redis-cli not found (Debian package redis-tools)"

n=100
val=$(head -c 3000 /dev/zero | tr '\0' v)
mkdir -p "$tmpdir/redis"
chown www-data "$tmpdir/redis"
# rd PORT [VAR=VALUE...]: start redis-server as www-data under libhawk
# (tracing from the start unless HAWK_TRACEMALLOC= is given)
rd() {
	_p=$1
	shift
	$dm_env "$@" HAWK_NAME=redis $asww "$redis" --port "$_p" --bind 127.0.0.1 \
		--save '' --appendonly no --dir "$tmpdir/redis" --daemonize no \
		>"$tmpdir/redis/out.$_p" 2>&1 &
	rpid=$!
	bg_pids=$rpid
	wait_for '[ "$("$cli" -p $_p ping 2>/dev/null)" = PONG ]'
}
setn() { # PORT FIRST LAST: SET key:I to the 3000-byte value
	seq "$2" "$3" | sed "s/.*/SET key:& $val/" | "$cli" -p "$1" | sort | uniq -c |
		sed 's/^ *//'
}
nblocks() { pkl "sum(1 for t in s.traces if t.size == 3006)"; }
stop_redis() {
	"$cli" -p "$1" shutdown nosave >/dev/null 2>&1
	wait $rpid
	rc=$?
	bg_pids=""
	return $rc
}

# ---- tracing off
port=$(free_port)
rd $port HAWK_TRACEMALLOC=
ok $? "redis-server starts under libhawk, tracing off"
is "$(setn $port 1 $n)" "$n OK" "$n SETs of 3000 bytes"
is "$("$cli" -p $port get key:7)" "$val" "GET returns the value intact"
is "$("$cli" -p $port info memory | tr -d '\r' | sed -n 's/^mem_allocator://p')" \
	"jemalloc-5.3.0" "redis still allocates with jemalloc (not swapped for glibc's)"
"$hawk" ps --dir "$seg" --json >"$tmpdir/ps.json"
is "$("$python" -c 'import json, os, sys
r = json.load(open(sys.argv[1]))[0]
print(r["tracing"], r["allocator"], os.path.basename(r["allocator_path"]))' "$tmpdir/ps.json")" \
	"False foreign libjemalloc.so.2" "hawk ps: not tracing, allocator jemalloc (foreign)"
q start/ "name=redis&frames=8"
is "$status" 200 "start/ through the responder"
is "$(setn $port 101 $((100 + n)))" "$n OK" "$n more SETs while tracing"
q snapshot/ "name=redis&format=pickle"
is "$status:$(nblocks)" "200:$n" "snapshot: exactly the $n values set since the start, 3006 bytes each"
"$cli" -p $port del $(seq 101 $((100 + n)) | sed 's/^/key:/') >/dev/null
q snapshot/ "name=redis&format=pickle"
is "$(nblocks)" 0 "DEL: their blocks are freed, through jemalloc"
q stop/ "name=redis"
is "$status" 200 "stop/"
stop_redis $port
is $? 0 "redis-server exits 0"
grep -iE 'crash|segmentation|signal' "$tmpdir/redis/out.$port" | sed 's/^/# /'

# ---- tracing on from the start
port=$(free_port)
rd $port
ok $? "redis-server starts under libhawk, tracing from the start"
q targets/
is "$(js "[(t['tracing'], t['allocator'], t['allocator_path'].rsplit('/', 1)[-1]) for t in j]")" \
	"[(True, 'foreign', 'libjemalloc.so.2')]" "targets/: tracing, through jemalloc"
is "$(setn $port 1 $n)" "$n OK" "$n SETs of 3000 bytes"
is "$("$cli" -p $port get key:$n)" "$val" "GET returns the value intact"
q snapshot/ "name=redis&format=pickle"
is "$status:$(nblocks)" "200:$n" "snapshot: exactly $n blocks of 3006 bytes"
q snapshot/ "name=redis"
is "$(js "j['heap_current_bytes'] >= $n * 3006")" True "JSON: the heap holds at least them"
stop_redis $port
is $? 0 "redis-server exits 0"
is "$(ls "$seg" | tr '\n' ' ')" "" "no segment left"
dm_leftovers
done_testing
