# tests/pprof.mk - where people look (issue 14): pprof through the real
# `go tool pprof`, the flame-graph and index pages in headless Chromium,
# the metrics scraped by a real Prometheus (included from tests/local.mk).
#
# The fixture runs under libhawk: no sanitizers, whatever the build.
# -O1 so that grab() is inlined (its DWARF says so); no sibling calls so
# every caller keeps its frame.
check_PROGRAMS += tests/fixtures/pp-leak
tests_fixtures_pp_leak_SOURCES = tests/fixtures/pp-leak.c
tests_fixtures_pp_leak_CFLAGS = $(BASE_CFLAGS) -g -O1 -fno-optimize-sibling-calls
tests_fixtures_pp_leak_LDFLAGS =
tests_fixtures_pp_leak_LDADD = -ldl -lpthread

pprof_sh_tests = tests/t-pprof.sh tests/t-pages.sh tests/t-prometheus.sh
dist_check_SCRIPTS += $(pprof_sh_tests)
TESTS += $(pprof_sh_tests)
EXTRA_DIST += tests/pprof_raw.py tests/pages_dom.py

# the formatters on hand-made snapshots (decoded with protobuf-c and zlib)
check_PROGRAMS += tests/t-fmt-pprof
TESTS += tests/t-fmt-pprof
tests_t_fmt_pprof_SOURCES = tests/t-fmt-pprof.c
tests_t_fmt_pprof_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS) -I$(top_srcdir)/fcgi \
	-I$(top_builddir)/fcgi -I$(top_srcdir)/tests $(PROTOBUF_C_CFLAGS) $(ZLIB_CFLAGS)
tests_t_fmt_pprof_LDADD = fcgi/libresponder.la $(PROTOBUF_C_LIBS) $(ZLIB_LIBS)
