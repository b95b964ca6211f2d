#!/bin/sh
# SPDX-License-Identifier: MIT
# t-daemon-apache.sh - Debian's Apache with mpm_prefork as packaged (a root
# parent, three children running as www-data) with libhawk preloaded and
# tracing on from the start, and a tiny module with a deliberate leak
# (tests/fixtures/mod_hawkleak.c, built here with apxs -g): the request
# "/leak?N" leaks N blocks of 3333 bytes at its LEAK_SITE line.  A
# responder running as www-data (README "Security") answers name= with the
# merged statistics of every child: exactly the sum of all N at that line,
# whichever child served each request.  Children recycled by
# MaxConnectionsPerChild, a graceful restart and the stop leave no dead
# segment.
. "$top_srcdir/tests/daemon-lib.sh"
apache=$(dm_daemon apache2 "${APACHE2:-/usr/sbin/apache2}")
moddir=${APACHE_MODDIR:-/usr/lib/apache2/modules}
[ -f "$moddir/mod_mpm_prefork.so" ] || skip_all "mod_mpm_prefork.so not found in $moddir"
apxs=$(command -v apxs || command -v apxs2) ||
	skip_all "apxs not found (Debian package apache2-dev)"
curl=${CURL:-$(command -v curl)}
[ -n "$curl" ] || skip_all "curl not found"

ad=$tmpdir/apache
mkdir -p "$ad/run" "$ad/logs" "$ad/mod"
chmod 755 "$ad" "$ad/mod"
src=$ad/mod/mod_hawkleak.c
cp "$top_srcdir/tests/fixtures/mod_hawkleak.c" "$src"
chmod 644 "$src"
(cd "$ad/mod" && "$apxs" -c -Wc,-g -Wc,-O0 mod_hawkleak.c) >"$ad/apxs.log" 2>&1
ok $? "apxs builds the leaking module"
chmod -R a+rX "$ad/mod"
site=$(grep -n '/\* LEAK_SITE \*/' "$src" | head -n 1 | cut -d: -f1)
code=$(sed -n "${site}p" "$src" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//')

port=$(free_port)
cat >"$ad/httpd.conf" <<CONF
ServerRoot "$ad"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$ad/run/httpd.pid"
ErrorLog "$ad/logs/error.log"
LogLevel warn
DefaultRuntimeDir "$ad/run"
Mutex file:$ad/run default
LoadModule mpm_prefork_module "$moddir/mod_mpm_prefork.so"
LoadModule authz_core_module "$moddir/mod_authz_core.so"
LoadModule hawkleak_module "$ad/mod/.libs/mod_hawkleak.so"
User www-data
Group www-data
DocumentRoot "$ad"
<Directory />
	Require all denied
</Directory>
<Location /leak>
	Require all granted
	SetHandler hawkleak
</Location>
StartServers 3
MinSpareServers 3
MaxSpareServers 3
MaxRequestWorkers 3
MaxConnectionsPerChild 4
KeepAlive Off
CONF
children() { live_pids | tr ' ' '\n' | grep -vx "$apid" | tr '\n' ' ' | sed 's/ $//'; }
leak() { "$curl" -s --max-time 30 "http://127.0.0.1:$port/leak?$1"; }
# the leak site's statistic in the last JSON body: "count size pids"
site_stat() {
	js "' '.join(str(v) for x in j['stats'] if x['filename'] == '$src' and x['lineno'] == $site for v in (x['mem_blocks_count'], x['mem_blocks_size_bytes'], len(x['pids'])))"
}

# in a session of its own: Apache signals its whole process group at stop
$dm_env HAWK_NAME=web setsid "$apache" -d "$ad" -f "$ad/httpd.conf" -DFOREGROUND \
	</dev/null >"$ad/out" 2>&1 &
apid=$!
bg_pids=$apid
wait_for '[ "$(live_pids | wc -w)" -eq 4 ]'
ok $? "apache2 (prefork): the parent and its 3 children are traced from the start"
c0=$(children)

# 1 + 2 + ... + 6 blocks over 6 requests (one connection each: every
# child serves some, none reaches MaxConnectionsPerChild yet)
total=0
served=""
for n in 1 2 3 4 5 6; do
	r=$(leak $n)
	served="$served ${r##* }"
	total=$((total + n))
done
is "$(echo "$served" | tr ' ' '\n' | grep -c .)" 6 "6 leaking requests answered"
q snapshot/ "name=web&count=0"
is "$status:$(site_stat)" \
	"200:$total $((total * 3333)) $(echo "$served" | tr ' ' '\n' | sort -u | grep -c .)" \
	"name=web: exactly $total blocks of 3333 bytes at mod_hawkleak.c:$site, merged over the children that served them"
is "$(js "[(x['function'], x['code']) for x in j['stats'] if x['lineno'] == $site][0]")" \
	"('leak_one', '$code')" "... in leak_one, with its source line"
q snapshot/ "name=web&format=pickle"
is "$(pkl "[(x.count, x.size) for x in s.statistics('lineno') if x.traceback[0].filename == '$src' and x.traceback[0].lineno == $site]")" \
	"[($total, $((total * 3333)))]" "pickle (tracemalloc's own statistics): the same $total blocks"

# recycling: MaxConnectionsPerChild 4 replaces every child
i=0
while [ $i -lt 12 ]; do leak 0 >/dev/null; i=$((i + 1)); done
wait_for '[ "$(children | wc -w)" -eq 3 ] && [ -z "$(for p in $c0; do children | tr " " "\n" | grep -x $p; done)" ]'
ok $? "MaxConnectionsPerChild: the children were replaced"
wait_for '[ -z "$(dead_segments)" ]' 50
is "$(dead_segments)" "" "recycled children left no dead segment"

# graceful restart: new children, the parent stays
c1=$(children)
kill -USR1 $apid
wait_for '[ "$(children | wc -w)" -eq 3 ] && [ -z "$(for p in $c1; do children | tr " " "\n" | grep -x $p; done)" ]'
ok $? "graceful restart: new children"
wait_for '[ -z "$(dead_segments)" ]' 50
is "$(dead_segments)" "" "graceful restart left no dead segment"
r=$(leak 5)
q snapshot/ "name=web&count=0"
is "$status:$(site_stat)" "200:5 16665 1" "the new children: 5 blocks, one child"

kill -TERM $apid
wait $apid
bg_pids=""
wait_for '[ -z "$(ls "$seg")" ]' 50
is "$(ls "$seg" | tr '\n' ' ')" "" "stop: no segment left"
dm_leftovers
done_testing
