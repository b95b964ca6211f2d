#!/bin/sh
# SPDX-License-Identifier: MIT
# t-daemon-container.sh - the README's container recipe, with the kernel's
# namespaces standing in for a container runtime: the application runs in
# a pid namespace of its own (its pid 1) with HAWK_DIR on a tmpfs volume;
# a responder (as www-data) in the same pid namespace reads it exactly,
# while one in another pid namespace sees it dead (a segment names its
# process by the pid the process sees); a volume far smaller than a
# snapshot does not matter (a snapshot streams through a socket there,
# nothing is stored) and the application runs on unharmed.
# Runs in a mount namespace of its own, so its tmpfs mounts vanish with it.
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP not root: needs namespaces and tmpfs mounts"
	exit 0
fi
if [ -z "${HAWK_T_MNTNS:-}" ]; then
	command -v unshare >/dev/null || { echo "1..0 # SKIP unshare not found"; exit 0; }
	HAWK_T_MNTNS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
. "$top_srcdir/tests/daemon-lib.sh"
command -v nsenter >/dev/null || skip_all "nsenter not found (util-linux)"
app=$(dm_reach "$top_builddir/tests/fixtures/tr-alloc")
src=$top_srcdir/tests/fixtures/tr-alloc.c
site=$(grep -n '/\* SITE_MALLOC \*/' "$src" | head -n 1 | cut -d: -f1)

# the shared volume: a tmpfs at HAWK_DIR, group www-data, setgid
vol=$seg
mount -t tmpfs -o size=16m,mode=2770,gid="$(id -g www-data)" hawk-vol "$vol" ||
	skip_all "cannot mount a tmpfs"

# app_start: the application in a new pid namespace (as its pid 1, with
# its own /proc), running as www-data, commands on a fifo; sets ns_pid
# (the host pid of its pid 1)
app_n=0
app_start() {
	app_n=$((app_n + 1))
	mkfifo "$tmpdir/in$app_n" "$tmpdir/out$app_n"
	env "$dm_tag" HAWK_DIR="$vol" HAWK_NAME=app HAWK_TRACEMALLOC=8 \
		unshare --pid --fork --mount-proc \
		env LD_PRELOAD="$lib" $asww "$app" \
		<"$tmpdir/in$app_n" >"$tmpdir/out$app_n" 2>"$tmpdir/err$app_n" &
	ushare=$!
	bg_pids=$ushare
	exec 3>"$tmpdir/in$app_n" 4<"$tmpdir/out$app_n"
	read -r ready <&4
	ns_pid=$(cat /proc/$ushare/task/$ushare/children | tr -d ' ')
}
app() { echo "$*" >&3; read -r reply <&4; echo "$reply"; }
app_stop() {
	echo exit >&3
	exec 3>&- 4<&-
	wait $ushare
}
# qns ROUTE QUERY: a request by a responder in the application's pid
# namespace (nsenter), with that namespace's /proc mounted for it
qns() {
	nsenter --target "$ns_pid" --pid -- unshare --mount --propagation private \
		--mount-proc $asww env -i PATH="$PATH" REQUEST_METHOD=GET \
		SCRIPT_NAME=/debug PATH_INFO="/prof/mem/tracemalloc/$1" \
		REQUEST_URI="/debug/prof/mem/tracemalloc/$1?$2" QUERY_STRING="$2" \
		"$fcgi" --config "$tmpdir/hawk.conf" >"$tmpdir/resp" 2>"$tmpdir/resp.err"
	status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmpdir/resp")
	sed '1,/^\r$/d' "$tmpdir/resp" >"$tmpdir/body"
}

app_start
is "$ready" ready "the application runs in its own pid namespace"
is "$(ls "$vol")" "1.seg" "its segment on the volume names it by its own pid, 1"
is "$(app malloc 1000 4096)" ok "it holds 1000 blocks of 4096 bytes"

qns snapshot/ "name=app"
is "$status:$(js "[(x['lineno'], x['mem_blocks_count'], x['mem_blocks_size_bytes']) for x in j['stats'] if x['filename'].endswith('tr-alloc.c')]")" \
	"200:[($site, 1000, 4096000)]" \
	"a responder in the same pid namespace: exact, at tr-alloc.c:$site"
q targets/
is "$status:$(js "[(t['pid'], t['alive']) for t in j]")" "200:[(1, False)]" \
	"a responder in another pid namespace sees it dead"
q snapshot/ "name=app"
is "$status" 404 "... and cannot profile it"
app_stop
is "$?:$(ls "$vol")" "0:" "the application exits 0 and its segment goes"

# a volume far too small for the snapshot as a file: a snapshot is a
# stream, nothing of it is written there, so it works
umount "$vol"
mount -t tmpfs -o size=64k,mode=2770,gid="$(id -g www-data)" hawk-vol "$vol"
app_start
is "$(app malloc 20000 16)" ok "the application holds 20000 small blocks"
qns snapshot/ "name=app&format=pickle"
is "$status:$("$PYTHON3" -c 'import tracemalloc,sys
s=tracemalloc.Snapshot.load(sys.argv[1])
print(sum(1 for t in s.traces if t.size == 16 and
          any(f.filename.endswith("tr-alloc.c") for f in t.traceback)))' \
	"$tmpdir/body")" "200:20000" \
	"a pickle of 20000 blocks from a 64 KiB volume: every block"
is "$(ls "$vol" | tr '\n' ' ')" "1.seg " "nothing of it left on the volume"
is "$(app malloc 1 16)" ok "the application runs on"
qns targets/
is "$status:$(js "[(t['alive'], t['tracing'], t['traced_current_bytes']) for t in j]")" \
	"200:[(True, True, 320016)]" "and is still traced, its figures intact"
app_stop
is $? 0 "the application exits 0"
umount "$vol"
dm_leftovers
done_testing
