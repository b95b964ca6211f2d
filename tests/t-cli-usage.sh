#!/bin/sh
# SPDX-License-Identifier: MIT
# t-cli-usage.sh - the `hawk` command's usage, help, version, the
# environment `hawk run` gives the program, and `hawk serve` dispatch.
# No tracer needed: HAWK_LIB points at a library the program loads anyway.
. "$top_srcdir/tests/lib.sh"
hawk=$top_builddir/cli/hawk

# status CMD...: run, keep stdout/stderr in files, print the exit status
status() { "$@" >"$tmpdir/out" 2>"$tmpdir/err"; echo $?; }

is "$(status "$hawk")" 2 "no command: exit 2"
is "$(head -n 1 "$tmpdir/err")" "hawk: no command given" "no command: message"
is "$(status "$hawk" frobnicate)" 2 "unknown command: exit 2"
is "$(head -n 1 "$tmpdir/err")" "hawk: unknown command 'frobnicate'" "unknown command: message"
is "$(status "$hawk" --help)" 0 "--help: exit 0"
is "$(head -n 1 "$tmpdir/out")" "usage: hawk COMMAND [OPTIONS]" "--help: usage line"
grep -q '^  ps \[--dir DIR\] \[--clean\] \[--json\]$' "$tmpdir/out"
ok $? "--help lists ps"
is "$(status "$hawk" --version)" 0 "--version: exit 0"
is "$(cat "$tmpdir/out")" "hawk 0.1.0" "--version: package version"
is "$(status "$hawk" run --help)" 0 "run --help: exit 0"
is "$(head -n 1 "$tmpdir/out")" \
   "usage: hawk run [--frames N] [--sample BYTES] [--name NAME [--inherit-name]] [--dir DIR] -- PROGRAM [ARGS]" \
   "run --help: usage line"
is "$(status "$hawk" ps --help)" 0 "ps --help: exit 0"
is "$(head -n 1 "$tmpdir/out")" "usage: hawk ps [--dir DIR] [--clean] [--json]" \
   "ps --help: usage line"

is "$(status "$hawk" run)" 2 "run without program: exit 2"
is "$(head -n 1 "$tmpdir/err")" "hawk: run: no program given" "run without program: message"
for f in 0 513 -1 abc 5x ""; do
	is "$(status "$hawk" run --frames "$f" -- true)" 2 "run --frames '$f': exit 2"
done
is "$(head -n 1 "$tmpdir/err")" "hawk: run: --frames must be a number from 1 to 512, not ''" \
   "bad --frames: message"
is "$(status "$hawk" run --name "$(printf '%064d' 0)" -- true)" 2 "run --name of 64 bytes: exit 2"
is "$(status "$hawk" run --bogus -- true)" 2 "run --bogus: exit 2"
is "$(head -n 1 "$tmpdir/err")" "hawk: run: unknown option '--bogus'" "run --bogus: message"
is "$(status "$hawk" run --frames)" 2 "run --frames without value: exit 2"
is "$(head -n 1 "$tmpdir/err")" "hawk: run: option '--frames' needs an argument" \
   "missing value: message"
is "$(status "$hawk" ps --bogus)" 2 "ps --bogus: exit 2"
is "$(status "$hawk" ps extra)" 2 "ps with an argument: exit 2"
is "$(HAWK_LIB=$tmpdir/nolib.so status "$hawk" run -- true)" 1 "missing libhawk: exit 1"
is "$(cat "$tmpdir/err")" "hawk: run: libhawk $tmpdir/nolib.so: No such file or directory (set HAWK_LIB)" \
   "missing libhawk: message"

# The environment the program gets.  libc is loaded by /bin/sh anyway, so
# preloading it changes nothing.
libc=$(ldd /bin/sh 2>/dev/null | awk '$1 ~ /^libc\.so/ { print $3 }')
show='echo "$LD_PRELOAD|$HAWK_TRACEMALLOC|$HAWK_NAME|$HAWK_DIR"; exit 7'
if [ -n "$libc" ] && [ -r "$libc" ]; then
	out=$(env -u LD_PRELOAD -u HAWK_TRACEMALLOC -u HAWK_NAME -u HAWK_DIR \
		HAWK_LIB="$libc" "$hawk" run --frames 7 --name web --dir "$tmpdir/d" \
		-- /bin/sh -c "$show")
	is "$?|$out" "7|$libc|7|web|$tmpdir/d" "run: environment and exit status"
	# (in a sanitizer build, hawk itself must tolerate the preload)
	out=$(env -u HAWK_TRACEMALLOC -u HAWK_NAME -u HAWK_DIR LD_PRELOAD="$libc" \
		ASAN_OPTIONS=verify_asan_link_order=0 \
		HAWK_LIB="$libc" "$hawk" run -- /bin/sh -c "$show")
	is "$out" "$libc:$libc|||" "run: prepends to LD_PRELOAD, sets nothing else"
	is "$(HAWK_LIB=$libc status "$hawk" run -- "$tmpdir/no-such-program")" 127 \
	   "run: missing program: exit 127"
	is "$(cat "$tmpdir/err")" "hawk: run: $tmpdir/no-such-program: No such file or directory" \
	   "run: missing program: message"
	: >"$tmpdir/noexec"
	is "$(HAWK_LIB=$libc status "$hawk" run -- "$tmpdir/noexec")" 126 \
	   "run: program not executable: exit 126"
else
	for i in 1 2 3 4 5; do skip "libc path not found with ldd"; done
fi

# serve: every argument goes to HAWK_SERVE
printf '#!/bin/sh\necho "serve:$*"; exit 4\n' >"$tmpdir/serve"
chmod +x "$tmpdir/serve"
out=$(HAWK_SERVE=$tmpdir/serve "$hawk" serve --port 8001 --help)
is "$?|$out" "4|serve:--port 8001 --help" "serve: dispatches all arguments"
is "$(HAWK_SERVE=$tmpdir/none status "$hawk" serve)" 127 "serve: missing script: exit 127"
is "$(cat "$tmpdir/err")" "hawk: serve: $tmpdir/none: No such file or directory" \
   "serve: missing script: message"

if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man -l "$top_srcdir/cli/hawk.1" 2>"$tmpdir/err" | grep -q 'hawk ps \[--dir DIR\] \[--clean\] \[--json\]'
	ok $? "man page renders with the ps synopsis"
else
	skip "man not installed"
fi
done_testing
