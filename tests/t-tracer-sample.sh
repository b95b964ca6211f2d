#!/bin/sh
# SPDX-License-Identifier: MIT
# t-tracer-sample.sh - sampled tracing through the ipc reader (hawk-dump):
# the estimates of three known sites (1,000,000 x 64 B, 2,000 x 64 KiB,
# 16 x 8 MiB, tests/fixtures/tr-sample.c) at several rates and seeds, the
# three views, exact allocation totals, and start/stop/fork/exec/realloc
# in sampled mode.
#
# Tolerance of one run: a site of n blocks of s bytes at rate R has each
# block sampled with p = 1 - exp(-s/R) (p = 1 when s >= R), and the
# estimate sum(1/p) over the sampled blocks has variance n (1 - p) / p.
# A run passes when |est_count - n| <= 5 sd + 1 and |est_size - n s| <=
# (5 sd + 1) s (a 5-sigma band: a false failure has odds ~1e-6 per check).
# Over 20 seeds at 128 KiB the mean estimate of each site must be within 3%
# of the truth (sd of the mean: 1.0% for the 64-byte site, 0.6% for the
# 64 KiB one).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fixtures/tr-lib.sh"

fxs=$fxdir/tr-sample
[ -x "$fxs" ] || skip_all "tests/fixtures/tr-sample not built"
l_small=$(site tr-sample.c SMALL)
l_mid=$(site tr-sample.c MID)
l_big=$(site tr-sample.c BIG)

# figs PID [VIEW]: "SITE est_count est_size count size" for the three
# sites (SITE = small, mid, big; absent sites are not printed), summed
# over the tracebacks that end at the site's line
figs() {
	hd "$1" snapshot ${2:-live} >"$tmpdir/snap" || return 1
	awk '$1 == "trace" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		t = v["est_count"] " " v["est_size"] " " v["count"] " " v["size"]
		first = 1; next }
	$1 == "frame" && first { print $4, t; first = 0 }' "$tmpdir/snap" \
		>"$tmpdir/tr"
	cut -d' ' -f1 "$tmpdir/tr" | "$ADDR2LINE" -e "$fxs" |
		sed 's/ (discriminator.*//; s|.*/||' >"$tmpdir/lines"
	paste -d' ' "$tmpdir/lines" "$tmpdir/tr" | awk -v s="$l_small" \
		-v m="$l_mid" -v b="$l_big" '{
		n = ""
		if ($1 == "tr-sample.c:" s) n = "small"
		if ($1 == "tr-sample.c:" m) n = "mid"
		if ($1 == "tr-sample.c:" b) n = "big"
		if (n != "") { c[n] += $3; z[n] += $4; k[n] += $5; y[n] += $6 } }
	END { for (n in c) print n, c[n], z[n], k[n], y[n] }' | sort
}

# within RATE N SIZE EST_COUNT EST_SIZE: "ok" or the reason
within() {
	awk -v r="$1" -v n="$2" -v s="$3" -v c="$4" -v z="$5" 'BEGIN {
		p = s >= r ? 1 : 1 - exp(-s / r)
		sd = sqrt(n * (1 - p) / p)
		dc = c - n; if (dc < 0) dc = -dc
		dz = z - n * s; if (dz < 0) dz = -dz
		if (dc <= 5 * sd + 1 && dz <= (5 * sd + 1) * s) print "ok"
		else printf "count %d size %d, want %d +- %.0f blocks\n", c, z, n, 5 * sd + 1 }'
}

# check_run RATE LABEL: every site of $tmpdir/f within its tolerance
check_run() {
	cr_rate=$1 cr_label=$2
	for spec in "small 1000000 64" "mid 2000 65536" "big 16 8388608"; do
		set -- $spec
		got=$(awk -v n="$1" '$1 == n { print $2, $3 }' "$tmpdir/f")
		if [ -z "$got" ]; then
			is "missing" "ok" "$cr_label: site $1 present"
			continue
		fi
		# shellcheck disable=SC2086  # two numbers
		is "$(within "$cr_rate" "$2" "$3" $got)" ok \
			"$cr_label: site $1 within 5 sd"
	done
}

run() {   # run RATE SEED: start the fixture sampled
	fx_start "$fxs" HAWK_SAMPLE="$1" HAWK_SAMPLE_SEED="$2"
	[ "$fx_ready" = ready ]
}

# --- several rates, a few seeds each; views on the first seed ----------
for rate in 64k 512k 2M; do
	case $rate in 64k) r=65536 ;; 512k) r=524288 ;; 2M) r=2097152 ;; esac
	for seed in 1 2 3; do
		run $rate $seed
		ok $? "rate $rate seed $seed: fixture ready"
		figs $fx_pid >"$tmpdir/f"
		check_run $r "rate $rate seed $seed live"
		if [ $seed = 1 ]; then
			st=$(hd $fx_pid status)
			is "$(field tracing "$st") $(field sampling "$st") $(field frames "$st")" \
				"1 $r 30" "rate $rate: status says sampled at $r, 30 frames"
			big=$(awk '$1 == "big" { print $2, $3, $4, $5 }' "$tmpdir/f")
			is "$big" "16 134217728 16 134217728" \
				"rate $rate: 8 MiB blocks are always sampled (exact)"
			cp "$tmpdir/f" "$tmpdir/live"
			figs $fx_pid allocated >"$tmpdir/f"
			check_run $r "rate $rate allocated"
			cp "$tmpdir/f" "$tmpdir/alloc"
			is "$(fx free)" ok "rate $rate: small and mid sites freed"
			is "$(figs $fx_pid | cut -d' ' -f1 | tr '\n' ' ')" "big " \
				"rate $rate: live view keeps only the 8 MiB site"
			is "$(figs $fx_pid allocated)" "$(cat "$tmpdir/alloc")" \
				"rate $rate: allocated view unchanged by the frees"
			# the copy at the peak lags the peak by at most 1/32
			# and one block (8 MiB here): sample.c
			figs $fx_pid peak >"$tmpdir/f"
			res=$(awk 'NR == FNR { l[$1] = $3; lt += $3; next }
				{ if ($3 > l[$1]) bad = bad " " $1; pt += $3 }
				END { if (bad != "") print "above the live set:" bad
				      else if (pt < (lt - 8388608) * 32 / 33)
					print "peak copy " pt " of " lt
				      else print "ok" }' "$tmpdir/live" "$tmpdir/f")
			is "$res" ok "rate $rate: peak view = the live set before the frees, within 1/32"
			grep -q "view=2 .*peak_time=[1-9]" "$tmpdir/snap"
			ok $? "rate $rate: the peak copy has its time"
			is "$(fx again)" ok "rate $rate: allocated again"
			figs $fx_pid allocated >"$tmpdir/f"
			is "$(awk '$1 == "big" { print $2, $3 }' "$tmpdir/f")" \
				"16 134217728" "rate $rate: allocated big unchanged"
			is "$(awk '$1 == "small" { print ($4 > 0) }' "$tmpdir/f")" 1 \
				"rate $rate: allocated small still there"
			is "$(within $r 2000000 64 $(awk '$1 == "small" { print $2, $3 }' "$tmpdir/f"))" \
				ok "rate $rate: allocated small counts both rounds"
		fi
		fx_stop
	done
done

# --- 20 seeds at 128 KiB: the mean estimate within 3% ----------------
: >"$tmpdir/all"
seed=1
while [ $seed -le 20 ]; do
	run 128k $((seed * 7919))
	figs $fx_pid >>"$tmpdir/all"
	fx_stop
	seed=$((seed + 1))
done
for spec in "small 1000000 64" "mid 2000 65536" "big 16 8388608"; do
	set -- $spec
	res=$(awk -v n="$1" -v want="$2" -v s="$3" '$1 == n {
		k++; c += $2; z += $3 }
	END {
		if (k != 20) { print "runs " k; exit }
		mc = c / k / want; mz = z / k / (want * s)
		if (mc > 0.97 && mc < 1.03 && mz > 0.97 && mz < 1.03) print "ok"
		else printf "mean count %.4f size %.4f of the truth\n", mc, mz }' \
		"$tmpdir/all")
	is "$res" ok "128k, 20 seeds: mean estimate of site $1 within 3%"
done

# --- reproducible with a seed ---------------------------------------------
run 512k 42
figs $fx_pid >"$tmpdir/a"
fx_stop
run 512k 42
figs $fx_pid >"$tmpdir/b"
fx_stop
is "$(cat "$tmpdir/b")" "$(cat "$tmpdir/a")" "HAWK_SAMPLE_SEED: same seed, same samples"

# --- exact mode: exact totals, no peak profile --------------------------
fx_start "$fxs" HAWK_TRACEMALLOC=30 -- 100000
is "$fx_ready" ready "exact: fixture ready"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field sampling "$st")" "1 0" "exact: status sampling=0"
is "$(figs $fx_pid | tr '\n' ';')" \
	"big 16 134217728 16 134217728;mid 2000 131072000 2000 131072000;small 100000 6400000 100000 6400000;" \
	"exact: live figures exact, estimates = figures"
fx free >/dev/null
fx again >/dev/null
is "$(figs $fx_pid allocated | tr '\n' ';')" \
	"big 16 134217728 16 134217728;mid 4000 262144000 4000 262144000;small 200000 12800000 200000 12800000;" \
	"exact: allocation totals count the freed blocks too"
hd $fx_pid snapshot peak >/dev/null 2>"$tmpdir/err"
ok $([ $? -ne 0 ]; echo $?) "exact: peak view refused"
grep -q "Operation not supported\|not supported" "$tmpdir/err"
ok $? "exact: the refusal says why ($(cat "$tmpdir/err"))"
fx_stop

# --- start/stop with a rate; realloc; fork and exec keep the mode --------
fx_start "$fxdir/tr-alloc"
hd $fx_pid start 12 sample=1 >/dev/null
ok $? "start with sample=1 (every block is at least the rate: exact figures)"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field sampling "$st") $(field frames "$st")" "1 1 12" \
	"status: sampled at 1 byte, 12 frames"
fx malloc 10 1000 >/dev/null
fx calloc 3 40 >/dev/null
fx realloc >/dev/null
is "$(trace_of $fx_pid tr-alloc.c MALLOC | cut -d' ' -f2-3)" "size=10000 count=10" \
	"sampled at 1: malloc site exact"
is "$(trace_of $fx_pid tr-alloc.c CALLOC | cut -d' ' -f2-3)" "size=120 count=3" \
	"sampled at 1: calloc site exact"
is "$(trace_of $fx_pid tr-alloc.c REALLOC2 | cut -d' ' -f2-3)" "size=64 count=1" \
	"sampled at 1: realloc moves the record"
reply=$(fx fork)
child=${reply#ok }
st=$(hd $child status)
is "$(field tracing "$st") $(field sampling "$st") $(field frames "$st")" "1 1 12" \
	"forked child keeps the mode and rate"
is "$(trace_of $child tr-alloc.c CHILD | cut -d' ' -f2-3)" "size=2331 count=7" \
	"child: its own 7 x 333 bytes"
is "$(trace_of $child tr-alloc.c MALLOC | cut -d' ' -f2-3)" "size=10000 count=10" \
	"child: the parent's sampled blocks"
is "$(fx childfree)" ok "child frees its blocks"
is "$(trace_of $child tr-alloc.c CHILD)" "" "child: freed sampled blocks gone"
is "$(fx reap)" "ok 0" "child exited"
fx free >/dev/null
is "$(trace_of $fx_pid tr-alloc.c MALLOC)" "" "free of sampled blocks forgets them"
hd $fx_pid stop >/dev/null
ok $? "stop"
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field sampling "$st")" "0 0" "stopped: not tracing, sampling 0"
hd $fx_pid start 5 >/dev/null
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field sampling "$st")" "1 0" "a start without a rate is exact"
hd $fx_pid stop >/dev/null
fx_stop

fx_start "$fxdir/tr-alloc" HAWK_SAMPLE=4k HAWK_SAMPLE_SEED=5
st=$(hd $fx_pid status)
is "$(field tracing "$st") $(field sampling "$st") $(field frames "$st")" "1 4096 30" \
	"HAWK_SAMPLE alone: sampled tracing with 30 frames"
is "$(fx exec newimage)" "ok exec" "exec'd"
st=$(hd $fx_pid status)
is "$(field name "$st") $(field tracing "$st") $(field sampling "$st")" "newimage 1 4096" \
	"the new image traces sampled again (HAWK_SAMPLE is inherited)"
fx_stop

fx_start "$fxdir/tr-alloc" HAWK_SAMPLE=12x
st=$(hd $fx_pid status)
is "$(field tracing "$st")" 0 "HAWK_SAMPLE=12x: not tracing"
grep -q 'HAWK_SAMPLE=12x' "$tmpdir/err$fx_n"
ok $? "HAWK_SAMPLE=12x: reported on stderr"
fx_stop
is "$(ls "$hdir")" "" "no segment left"
done_testing
