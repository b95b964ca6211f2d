# tests/sym.mk - tests of the symbolizer (included from tests/local.mk)
#
# t-symbols runs tests/fixtures/sy-fix (built -g -O2, no sanitizers, so its
# line table is the ordinary one; -rdynamic so that a fully stripped copy
# keeps its functions in .dynsym) and symbolizes the return addresses it
# prints.  t-symbols-flush is the same test with the symbolizer's caches
# bounded to a few entries (-DSYM_TINY), so that every flush path runs.
# sy-bench measures cold and warm resolution (not run by check).
check_PROGRAMS += tests/t-symbols tests/t-symbols-flush \
	tests/fixtures/sy-fix tests/fixtures/sy-fix-nopie tests/fixtures/sy-bench
TESTS += tests/t-symbols tests/t-symbols-flush

tests_t_symbols_SOURCES = tests/t-symbols.c $(fcgi_symbols_sources)
tests_t_symbols_CPPFLAGS = $(AM_CPPFLAGS) $(FCGI_CPPFLAGS) $(IPC_CPPFLAGS) \
	$(TESTS_CPPFLAGS) $(fcgi_symbols_cflags)
tests_t_symbols_LDADD = ipc/libipc.la $(fcgi_symbols_libs)
tests_t_symbols_flush_SOURCES = $(tests_t_symbols_SOURCES)
tests_t_symbols_flush_CPPFLAGS = $(tests_t_symbols_CPPFLAGS) -DSYM_TINY
tests_t_symbols_flush_LDADD = ipc/libipc.la $(fcgi_symbols_libs)

tests_fixtures_sy_fix_SOURCES = tests/fixtures/sy-fix.c \
	tests/fixtures/sy-fix-cxx.cc tests/fixtures/sy-fix-deputy.c
tests_fixtures_sy_fix_CFLAGS = $(BASE_CFLAGS) -g -O2
tests_fixtures_sy_fix_CXXFLAGS = -g -O2
tests_fixtures_sy_fix_LDFLAGS = -rdynamic
# the same, as a position-dependent executable (ET_EXEC, load bias 0)
tests_fixtures_sy_fix_nopie_SOURCES = $(tests_fixtures_sy_fix_SOURCES)
tests_fixtures_sy_fix_nopie_CFLAGS = $(BASE_CFLAGS) -g -O2 -fno-pie
tests_fixtures_sy_fix_nopie_CXXFLAGS = -g -O2 -fno-pie
tests_fixtures_sy_fix_nopie_LDFLAGS = -rdynamic -no-pie

tests_fixtures_sy_bench_SOURCES = tests/fixtures/sy-bench.c \
	$(fcgi_symbols_sources)
tests_fixtures_sy_bench_CPPFLAGS = $(AM_CPPFLAGS) $(FCGI_CPPFLAGS) $(IPC_CPPFLAGS) \
	$(fcgi_symbols_cflags)
# it links the reader library, which carries the sanitizers in a sanitizer
# build, so it takes the same flags (its figures come from a plain build)
tests_fixtures_sy_bench_CFLAGS = $(AM_CFLAGS) -g -O2
tests_fixtures_sy_bench_LDADD = ipc/libipc.la $(fcgi_symbols_libs)

# t-sym-stripped.sh: a stripped -rdynamic program through hawk-fcgi (its
# fixture runs under libhawk, so no sanitizers in it)
check_PROGRAMS += tests/fixtures/sy-strip
tests_fixtures_sy_strip_SOURCES = tests/fixtures/sy-strip.c
tests_fixtures_sy_strip_CFLAGS = $(BASE_CFLAGS) -O1
tests_fixtures_sy_strip_LDFLAGS = -rdynamic
dist_check_SCRIPTS += tests/t-sym-stripped.sh
TESTS += tests/t-sym-stripped.sh
