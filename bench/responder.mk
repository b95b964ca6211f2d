# bench/responder.mk - responder benchmarks (included from bench/local.mk)
# `make bench-responder` builds the target and runs bench/responder/run.sh
# (not part of `make check`: it takes a minute and measures, not asserts).
EXTRA_PROGRAMS = bench/responder/rb-target
bench_responder_rb_target_SOURCES = bench/responder/rb-target.c
bench_responder_rb_target_CFLAGS = $(BASE_CFLAGS) -g -O1 -fno-optimize-sibling-calls
bench_responder_rb_target_LDFLAGS =
EXTRA_DIST += bench/responder/run.sh
CLEANFILES += bench/responder/rb-target

bench-responder: bench/responder/rb-target fcgi/hawk-fcgi tracer/libhawk.la
	$(SHELL) $(srcdir)/bench/responder/run.sh '$(abs_top_builddir)' \
	  '$(PYTHON3)'
.PHONY: bench-responder
