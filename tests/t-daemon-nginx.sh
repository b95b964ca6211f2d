#!/bin/sh
# SPDX-License-Identifier: MIT
# t-daemon-nginx.sh - Debian's nginx as packaged (a root master, two
# worker processes running as www-data) with libhawk preloaded and tracing
# on from the start; a responder running as www-data (README "Security")
# answers name= with the merged statistics of both workers.  The known
# hold: every open connection keeps a pool of exactly connection_pool_size
# bytes (1392 here) from its accept until it closes, so K idle keep-alive
# connections are exactly K blocks of 1392 bytes, spread over the workers
# however they accepted them.  A reload (nginx -s reload: new workers, the
# old ones finish and exit) and the stop leave no dead segment.
# nginx is stripped: its frames are module offsets with their nearest
# symbol (no source lines).
. "$top_srcdir/tests/daemon-lib.sh"
nginx=$(dm_daemon nginx /usr/sbin/nginx)

port=$(free_port)
k=7
pool=1392
mkdir -p "$tmpdir/ngx/logs" "$tmpdir/ngx/tmp"
cat >"$tmpdir/ngx/nginx.conf" <<CONF
worker_processes 2;
user www-data www-data;
pid $tmpdir/ngx/nginx.pid;
error_log $tmpdir/ngx/logs/error.log;
daemon off;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $tmpdir/ngx/tmp/body;
	proxy_temp_path $tmpdir/ngx/tmp/proxy;
	fastcgi_temp_path $tmpdir/ngx/tmp/fastcgi;
	uwsgi_temp_path $tmpdir/ngx/tmp/uwsgi;
	scgi_temp_path $tmpdir/ngx/tmp/scgi;
	connection_pool_size $pool;
	keepalive_timeout 120s;
	server {
		listen 127.0.0.1:$port;
		location / { return 200 "hello\n"; }
	}
}
CONF
workers() { live_pids | tr ' ' '\n' | grep -vx "$master" | tr '\n' ' ' | sed 's/ $//'; }
# nblocks: blocks of $pool bytes in the last pickle, all workers together
nblocks() { pkl "sum(1 for t in s.traces if t.size == $pool)"; }

$dm_env HAWK_NAME=ngx "$nginx" -p "$tmpdir/ngx" -c "$tmpdir/ngx/nginx.conf" \
	-e "$tmpdir/ngx/logs/error.log" >"$tmpdir/ngx/out" 2>&1 &
master=$!
bg_pids=$master
wait_for '[ "$(live_pids | wc -w)" -eq 3 ]'
ok $? "nginx: the master and its 2 workers are traced from the start"
w0=$(workers)

q snapshot/ "name=ngx&format=pickle"
is "$status:$(nblocks)" "200:0" "no connection: no block of $pool bytes"

# K keep-alive connections, each after one request, held until "release"
"$python" - "$port" "$k" "$tmpdir/held" "$tmpdir/release" <<'PY' &
import os, socket, sys, time
port, k, held, release = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conns = []
for i in range(k):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while not data.endswith(b"hello\n"):
        data += s.recv(4096)
    conns.append(s)
open(held, "w").close()
for _ in range(600):
    if os.path.exists(release):
        break
    time.sleep(0.05)
PY
holder=$!
wait_for '[ -e "$tmpdir/held" ]'
ok $? "$k keep-alive connections open, each after one request"
q snapshot/ "name=ngx&format=pickle"
is "$status:$(nblocks)" "200:$k" "snapshot name=ngx: exactly $k blocks of $pool bytes over both workers"
is "$(pkl "sorted({t.domain for t in s.traces})")" "[$(echo "$w0" | sed 's/ /, /')]" \
	"pickle: one domain per worker, nothing of the master's (root's)"
q snapshot/ "name=ngx&count=0&format=traceback"
# lineno would put every pool at ngx_memalign; the accept path's
# traceback holds the connection pools alone
is "$status:$(js "sum(x['mem_blocks_count'] for x in j['stats'] if x['mem_blocks_count'] and x['mem_blocks_size_bytes'] == $pool * x['mem_blocks_count'])")" \
	"200:$k" "JSON (traceback): the connection pools' traceback has exactly the $k blocks"
touch "$tmpdir/release"
wait $holder
wait_for '[ "$(q snapshot/ "name=ngx&format=pickle"; nblocks)" = 0 ]'
ok $? "connections closed: their pools are freed"

# reload: new workers, the old ones finish and exit
"$nginx" -p "$tmpdir/ngx" -c "$tmpdir/ngx/nginx.conf" -e "$tmpdir/ngx/logs/error.log" -s reload
wait_for '[ "$(workers | wc -w)" -eq 2 ] && [ -z "$(for p in $w0; do workers | tr " " "\n" | grep -x $p; done)" ]'
ok $? "nginx -s reload: two new workers"
wait_for '[ -z "$(dead_segments)" ]' 50
is "$(dead_segments)" "" "reload left no dead segment"
q snapshot/ "name=ngx"
is "$status:$(js "sorted(set(p for x in j['stats'] for p in x['pids']))")" \
	"200:[$(workers | sed 's/ /, /')]" "after the reload, name=ngx merges the new workers"

kill -QUIT $master
wait $master
bg_pids=""
wait_for '[ -z "$(ls "$seg")" ]' 50
is "$(ls "$seg" | tr '\n' ' ')" "" "stop (SIGQUIT): no segment left"
dm_leftovers
done_testing
