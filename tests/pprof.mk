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
