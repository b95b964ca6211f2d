#!/bin/sh
# SPDX-License-Identifier: MIT
# t-daemon-php-fpm.sh - Debian's php-fpm as packaged: started as root with
# libhawk preloaded and tracing on from the start (USE_ZEND_ALLOC=0, so
# that PHP's memory comes from malloc), pool workers running as www-data;
# a responder running as www-data (README "Security") answers name= with
# the merged statistics of both workers, each holding a known number of
# strings; worker recycling (pm.max_requests), a reload (SIGUSR2: the
# master re-executes itself, the workers are killed) and the stop leave no
# dead segment.  Exact: the count and size of the held strings, per worker
# and merged (pickle: every block's size), and their traceback in the JSON
# (php-fpm is stripped: its frames are kept apart by module offset).  Not
# asserted: a source line (there is none without php8.2-fpm-dbgsym) nor
# the other sites (PHP's start-up).
. "$top_srcdir/tests/daemon-lib.sh"
fpm=$(dm_daemon php-fpm "$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n 1)")
[ -n "$fpm" ] || skip_all "php-fpm not found (Debian package php-fpm)"
client=$top_srcdir/tests/fcgi_client.py

port=$(free_port)
mkdir -p "$tmpdir/www" "$tmpdir/held"
cp "$top_srcdir/tests/fixtures/daemon/leak.php" "$tmpdir/www/"
chmod 755 "$tmpdir/www"
chmod 644 "$tmpdir/www/leak.php"
chmod 777 "$tmpdir/held"
cat >"$tmpdir/fpm.conf" <<CONF
[global]
pid = $tmpdir/fpm.pid
error_log = $tmpdir/fpm.log
daemonize = no
[www]
user = www-data
group = www-data
listen = 127.0.0.1:$port
pm = static
pm.max_children = 2
pm.max_requests = 4
clear_env = no
CONF

# req N [OUT]: one request to leak.php holding N strings
req() {
	"$python" "$client" "127.0.0.1:$port" -o "${2:-/dev/null}" \
		SCRIPT_FILENAME="$tmpdir/www/leak.php" QUERY_STRING="n=$1" \
		REQUEST_METHOD=GET HELD_DIR="$tmpdir/held"
}
# workers: the live pids but the master's
workers() { live_pids | tr ' ' '\n' | grep -vx "$master" | tr '\n' ' ' | sed 's/ $//'; }

$dm_env HAWK_NAME=fpm USE_ZEND_ALLOC=0 "$fpm" -y "$tmpdir/fpm.conf" -F \
	>"$tmpdir/fpm.out" 2>&1 &
master=$!
bg_pids=$master
wait_for '[ "$(live_pids | wc -w)" -eq 3 ]'
ok $? "php-fpm: the master and its 2 workers are traced from the start"
w0=$(workers)
"$hawk" ps --dir "$seg" --json >"$tmpdir/ps.json"
is "$("$python" -c 'import json, pwd, sys
www = pwd.getpwnam("www-data").pw_uid
print(sorted((r["pid"] == int(sys.argv[2]), r["uid"] == www, r["tracing"], r["name"])
      for r in json.load(open(sys.argv[1]))))' "$tmpdir/ps.json" $master)" \
	"[(False, True, True, 'fpm'), (False, True, True, 'fpm'), (True, False, True, 'fpm')]" \
	"segments: the workers' are www-data's, the master's root's; all tracing, named fpm"

# two requests at once: one per worker, each holds its strings
req 30 "$tmpdir/r30" &
r1=$!
req 20 "$tmpdir/r20" &
r2=$!
wait_for '[ "$(ls "$tmpdir/held" | wc -l)" -eq 2 ]'
ok $? "both workers hold their strings"
held=$(ls "$tmpdir/held" | sed 's/held\.//' | sort -n | tr '\n' ' ' | sed 's/ $//')
is "$held" "$w0" "... one request in each worker"

q snapshot/ "name=fpm&format=pickle"
is "$status" 200 "snapshot name=fpm as www-data: 200 (the master, root's, is left out)"
size=$((77777 + 32))
is "$(pkl "sorted(Counter(t.domain for t in s.traces if t.size == $size).values())")" \
	"[20, 30]" "pickle: 20 and 30 blocks of $size bytes, one worker each"
is "$(pkl "sorted({t.domain for t in s.traces})")" "[$(echo "$w0" | sed 's/ /, /')]" \
	"pickle: one domain per worker, nothing of the master's"
q snapshot/ "name=fpm&count=0&format=traceback"
# php-fpm is stripped: its frames are module offsets with their nearest
# symbol, each its own frame, so the held strings' call path is a
# traceback of its own
is "$status:$(js "sum(x['mem_blocks_count'] for x in j['stats'] if x['mem_blocks_count'] and x['mem_blocks_size_bytes'] == $size * x['mem_blocks_count'])")" \
	"200:50" "JSON (traceback): the held strings' traceback has exactly the 50 blocks"
is "$(js "sorted(set(p for x in j['stats'] for p in x['pids']))")" "[$(echo "$w0" | sed 's/ /, /')]" \
	"JSON: the statistics name both workers"
q start/ "pid=$master"
is "$status:$(js "j['error']")" \
	"403:target $master is owned by uid 0, which allow_uids does not admit" \
	"the master (root) is refused with 403 naming its uid"

touch "$tmpdir/held/release"
wait $r1 $r2
is "$(sed -n 's/^ok [0-9]* //p' "$tmpdir/r30" "$tmpdir/r20" | tr '\n' ' ')" "30 20 " \
	"the requests completed"

# recycling: 4 requests per worker, then php-fpm replaces it
i=0
while [ $i -lt 8 ]; do req 1; i=$((i + 1)); done
wait_for '[ "$(workers | wc -w)" -eq 2 ] && [ -z "$(for p in $w0; do workers | tr " " "\n" | grep -x $p; done)" ]'
ok $? "pm.max_requests: both workers were replaced"
is "$(dead_segments)" "" "recycled workers left no dead segment"

# reload: the master re-executes itself and kills its workers
w1=$(workers)
kill -USR2 $master
wait_for '[ "$(workers | wc -w)" -eq 2 ] && [ -z "$(for p in $w1; do workers | tr " " "\n" | grep -x $p; done)" ]'
ok $? "reload (SIGUSR2): new workers"
wait_for '[ -z "$(dead_segments)" ]' 50
is "$(dead_segments)" "" "reload left no dead segment"
req 3 >/dev/null
q snapshot/ "name=fpm"
is "$status" 200 "after the reload, name=fpm is served"

kill -QUIT $master
wait $master
bg_pids=""
wait_for '[ -z "$(ls "$seg")" ]' 50
is "$(ls "$seg" | tr '\n' ' ')" "" "stop (SIGQUIT): no segment left"
dm_leftovers
done_testing
