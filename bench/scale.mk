# bench/scale.mk - the production-sized heap benchmark (included from
# bench/local.mk).  `make bench-scale [SCALE_BLOCKS=N]` builds the target
# and runs bench/scale/run.sh (not part of `make check`: it measures).
# built with the tests: tests/t-scale-snapshot.sh runs it (1 M blocks)
check_PROGRAMS += bench/scale/scale-target
bench_scale_scale_target_SOURCES = bench/scale/scale-target.c
bench_scale_scale_target_CFLAGS = $(BASE_CFLAGS) -g -O1 -fno-optimize-sibling-calls
bench_scale_scale_target_LDFLAGS =
bench_scale_scale_target_LDADD = -lpthread
EXTRA_DIST += bench/scale/run.sh bench/scale/sample.py bench/scale/stall.sh
SCALE_BLOCKS = 10000000

bench-scale: bench/scale/scale-target fcgi/hawk-fcgi tracer/libhawk.la
	nice $(SHELL) $(srcdir)/bench/scale/run.sh '$(abs_top_builddir)' \
	  '$(SCALE_BLOCKS)' "$$(( $(SCALE_BLOCKS) / 10 ))" '$(PYTHON3)'
.PHONY: bench-scale

# the allocation stalls during snapshots alone (bench/scale/stall.sh)
bench-stall: bench/scale/scale-target tests/hawk-dump tracer/libhawk.la
	nice $(SHELL) $(srcdir)/bench/scale/stall.sh '$(abs_top_builddir)' \
	  '$(SCALE_BLOCKS)' "$$(( $(SCALE_BLOCKS) / 10 ))"
.PHONY: bench-stall

# large snapshots through the responder (1 M blocks): two clients at once,
# a client gone mid-snapshot, a target killed mid-snapshot
dist_check_SCRIPTS += tests/t-scale-snapshot.sh
TESTS += tests/t-scale-snapshot.sh
