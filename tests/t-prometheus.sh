#!/bin/sh
# SPDX-License-Identifier: MIT
# t-prometheus.sh - /debug/prof/mem/metrics scraped by a real Prometheus
# (Debian prometheus): `hawk serve` on loopback, a pp-leak target under
# libhawk, Prometheus scraping every second into a private TSDB; the values
# read back through Prometheus's HTTP API equal what targets/ says, and
# promtool accepts the exposition.
. "$top_srcdir/tests/lib.sh"

fcgi=$top_builddir/fcgi/hawk-fcgi
lib=$top_builddir/tracer/.libs/libhawk.so
serve=$top_builddir/cli/hawk-serve
pp_fix=$top_builddir/tests/fixtures/pp-leak
[ -x "$fcgi" ] || skip_all "fcgi/hawk-fcgi not built"
[ -f "$lib" ] || skip_all "tracer/.libs/libhawk.so not built yet"
[ -x "$serve" ] || skip_all "cli/hawk-serve not built"
[ -x "$pp_fix" ] || skip_all "tests/fixtures/pp-leak not built"
[ -n "${PYTHON3:-}" ] || skip_all "python3 not found by configure"
[ -n "${CURL:-}" ] || skip_all "curl not found by configure"
[ -n "${LIGHTTPD:-}" ] && [ -x "$LIGHTTPD" ] ||
	skip_all "lighttpd not found (Debian package lighttpd)"
PROMETHEUS=$(command -v prometheus) ||
	skip_all "prometheus not found (Debian package prometheus)"
PROMTOOL=$(command -v promtool) || PROMTOOL=""

seg=$tmpdir/seg
mkdir "$seg" "$tmpdir/xdg" "$tmpdir/prom" "$tmpdir/a"
chmod 700 "$tmpdir/xdg"
free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
pport=$(free_port)
base=http://127.0.0.1:$port
prom=http://127.0.0.1:$pport
T=/debug/prof/mem/tracemalloc
get() { # get URL: body in $tmpdir/body, status in $code
	code=$("$CURL" -s -g -o "$tmpdir/body" -w '%{http_code}' --max-time 30 "$1")
}
js() { "$PYTHON3" -c "import json,sys; j=json.load(open(sys.argv[1])); print(($1))" "$tmpdir/body"; }
waitfile() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
	[ -e "$1" ]
}

XDG_RUNTIME_DIR=$tmpdir/xdg HAWK_FCGI=$fcgi LIGHTTPD=$LIGHTTPD \
	"$serve" --port "$port" --dir "$seg" >"$tmpdir/serve.out" 2>&1 &
spid=$!
bg_pids="$spid"
i=0
while ! grep -q 'Ctrl-C to stop' "$tmpdir/serve.out" && [ $i -lt 400 ]; do
	kill -0 $spid 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
grep -q 'Ctrl-C to stop' "$tmpdir/serve.out"
ok $? "hawk serve listens on $base" || { sed 's/^/# /' "$tmpdir/serve.out"; done_testing; }

HAWK_DIR=$seg HAWK_NAME=pp-leak LD_PRELOAD=$lib "$pp_fix" "$tmpdir/a" &
a=$!
bg_pids="$bg_pids $a"
waitfile "$tmpdir/a/ready" && waitfile "$seg/$a.seg"; ok $? "fixture started"
get "$base$T/start/?pid=$a"
is "$code" 200 "start"
touch "$tmpdir/a/go"
waitfile "$tmpdir/a/done"; ok $? "the fixture leaked"

get "$base/debug/prof/mem/metrics"
is "$code" 200 "metrics: 200"
cp "$tmpdir/body" "$tmpdir/metrics.txt"
grep -q "^hawk_tracing{pid=\"$a\",name=\"pp-leak\"} 1$" "$tmpdir/metrics.txt"
ok $? "metrics: hawk_tracing{pid,name} 1"
if [ -n "$PROMTOOL" ]; then
	"$PROMTOOL" check metrics <"$tmpdir/metrics.txt" >"$tmpdir/lint" 2>&1
	ok $? "promtool check metrics accepts the exposition"
	sed 's/^/# /' "$tmpdir/lint"
else
	skip "promtool not found"
fi

cat >"$tmpdir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hawk
    metrics_path: /debug/prof/mem/metrics
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
"$PROMETHEUS" --config.file="$tmpdir/prometheus.yml" \
	--storage.tsdb.path="$tmpdir/prom" \
	--web.listen-address="127.0.0.1:$pport" >"$tmpdir/prom.log" 2>&1 &
ppid_=$!
bg_pids="$bg_pids $ppid_"

# q PROMQL: the value of the first sample of an instant query, or ""
q() {
	"$CURL" -s -g --max-time 10 --data-urlencode "query=$1" "$prom/api/v1/query" >"$tmpdir/q.json" 2>/dev/null
	"$PYTHON3" -c "import json,sys
try:
    r = json.load(open(sys.argv[1]))['data']['result']
    print(r[0]['value'][1] if r else '')
except Exception:
    print('')" "$tmpdir/q.json"
}
# wait up to 40 s for Prometheus to start and scrape hawk twice
i=0
while [ "$(q "count_over_time(hawk_tracing{pid=\"$a\"}[1m])")" = "" ] ||
	[ "$(q "count_over_time(hawk_tracing{pid=\"$a\"}[1m])")" -lt 2 ]; do
	i=$((i + 1))
	[ $i -ge 200 ] && break
	kill -0 $ppid_ 2>/dev/null || break
	sleep 0.2
done
is "$(q "up{job=\"hawk\"}")" 1 "Prometheus scrapes hawk serve (up == 1)"

get "$base$T/targets/?pid=$a"
cur=$(js "j[0]['traced_current_bytes']")
peak=$(js "j[0]['traced_peak_bytes']")
is "$(q "hawk_traced_current_bytes{pid=\"$a\",name=\"pp-leak\"}")" "$cur" \
	"hawk_traced_current_bytes through Prometheus = targets/ ($cur)"
is "$(q "hawk_traced_peak_bytes{pid=\"$a\"}")" "$peak" \
	"hawk_traced_peak_bytes through Prometheus = targets/"
is "$(q "hawk_tracing{pid=\"$a\"}"):$(q "hawk_dropped_allocations{pid=\"$a\"}")" \
	"1:$(js "j[0]['dropped']")" "hawk_tracing 1, hawk_dropped_allocations = targets/"
is "$(q "hawk_tracer_memory_bytes{pid=\"$a\"} > 0")" \
	"$(js "j[0]['tracer_memory_bytes']")" "hawk_tracer_memory_bytes = targets/"
is "$(q "sum(hawk_responder_requests_total{route=\"metrics\",status=\"200\"}) > 0" | sed 's/^[0-9][0-9]*$/counted/')" \
	counted "the responders count the scrapes (route=metrics, status=200)"

kill $ppid_
wait $ppid_
kill -TERM $spid
wait $spid
touch "$tmpdir/a/quit"
wait $a
bg_pids=""
done_testing
