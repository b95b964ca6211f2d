# SPDX-License-Identifier: MIT
# tests/lib.sh - TAP helpers for the shell scenario tests; source it.
#   ok COND-STATUS DESCRIPTION     (use: cmd; ok $? "what")
#   is GOT WANT DESCRIPTION
#   skip REASON, skip_all REASON, diag TEXT, done_testing
#   tmpdir: a private directory removed at exit (also kills `bg_pids`)
tap_n=0
tap_failed=0
bg_pids=""

diag() { printf '# %s\n' "$*"; }
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"
	else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
is() {
	tap_n=$((tap_n + 1))
	if [ "x$1" = "x$2" ]; then echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"; tap_failed=$((tap_failed + 1))
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
	fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; exit $?; }

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/hawk-test.XXXXXX")
cleanup_tmp() {
	for p in $bg_pids; do kill "$p" 2>/dev/null; done
	for p in $bg_pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmpdir"
}
trap cleanup_tmp EXIT

# stop_process PID: SIGSTOP it and wait (up to 5 s) until the kernel shows
# it stopped ("T" in /proc/PID/stat), so a test never races the signal.
stop_process() {
	kill -STOP "$1" || return 1
	_n=0
	while [ $_n -lt 500 ]; do
		_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
		case $_st in T|t) return 0 ;; esac
		sleep 0.01
		_n=$((_n + 1))
	done
	return 1
}
