# bench/local.mk - rules for bench/ (included from the top-level Makefile.am).
# bench/churn is preloaded with libhawk, so it is built without sanitizers.
# `make bench-tracer` builds what bench/run.sh needs and runs it.
include bench/responder.mk
include bench/scale.mk
check_PROGRAMS += bench/churn
bench_churn_SOURCES = bench/churn.c
bench_churn_CFLAGS = $(BASE_CFLAGS) -O2 -g
bench_churn_LDFLAGS =
bench_churn_LDADD = -lpthread
EXTRA_DIST += bench/run.sh bench/alloc.py bench/README
bench-tracer: bench/churn tracer/libhawk.la
	$(SHELL) $(srcdir)/bench/run.sh --build $(abs_top_builddir)
.PHONY: bench-tracer

# `make bench-metrics`: /debug/prof/mem/metrics with 100 idle targets
EXTRA_DIST += bench/metrics.sh
bench-metrics: tests/fixtures/pp-leak fcgi/hawk-fcgi tracer/libhawk.la cli/hawk-serve
	$(SHELL) $(srcdir)/bench/metrics.sh --build $(abs_top_builddir)
.PHONY: bench-metrics

# `make bench-formats`: one big snapshot in every format
EXTRA_DIST += bench/formats.sh
bench-formats: bench/responder/rb-target fcgi/hawk-fcgi tracer/libhawk.la
	$(SHELL) $(srcdir)/bench/formats.sh --build $(abs_top_builddir)
.PHONY: bench-formats

# `make bench`: every benchmark, tracer then responder.
bench: bench-tracer bench-responder bench-metrics bench-formats
.PHONY: bench
