# tests/tracer.mk - tests of tracer/ (included from tests/local.mk).
# Fixtures are preloaded with libhawk, so like libhawk they are built
# without sanitizers even in the sanitizer build (X_CFLAGS = BASE_CFLAGS,
# X_LDFLAGS empty); the table unit tests do get the sanitizers.
# the tracer's tests and the fixtures that call hawk.h include tracer/
tracer_test_cppflags = $(AM_CPPFLAGS) $(TRACER_CPPFLAGS) $(TESTS_CPPFLAGS)
check_PROGRAMS += tests/fixtures/tr-alloc tests/fixtures/tr-cxx \
	tests/fixtures/tr-link tests/fixtures/tr-defer tests/fixtures/tr-unwind \
	tests/fixtures/tr-creds tests/fixtures/tr-sample \
	tests/fixtures/tr-place \
	tests/t-intern \
	tests/t-blocks tests/t-blocks-scan tests/t-cfi tests/t-guard
tests_fixtures_tr_alloc_SOURCES = tests/fixtures/tr-alloc.c
tests_fixtures_tr_alloc_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_alloc_LDFLAGS =
tests_fixtures_tr_alloc_LDADD = -lpthread
tests_fixtures_tr_sample_SOURCES = tests/fixtures/tr-sample.c
tests_fixtures_tr_sample_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_sample_LDFLAGS =
tests_fixtures_tr_sample_LDADD =
tests_fixtures_tr_place_SOURCES = tests/fixtures/tr-place.c
tests_fixtures_tr_place_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_place_LDFLAGS =
tests_fixtures_tr_place_LDADD =
tests_fixtures_tr_cxx_SOURCES = tests/fixtures/tr-cxx.cc
tests_fixtures_tr_cxx_CXXFLAGS = -g -O0 -std=c++17
tests_fixtures_tr_cxx_LDFLAGS =
# -O2: no frame pointers, as the code the walker meets in production
tests_fixtures_tr_unwind_SOURCES = tests/fixtures/tr-unwind.c
tests_fixtures_tr_unwind_CFLAGS = $(BASE_CFLAGS) -g -O2
tests_fixtures_tr_unwind_LDFLAGS =
tests_fixtures_tr_unwind_LDADD = -lpthread -ldl
# the module tr-unwind loads with dlopen (a shared object only: -module)
check_LTLIBRARIES += tests/fixtures/tr-dl.la
tests_fixtures_tr_dl_la_SOURCES = tests/fixtures/tr-dl.c
tests_fixtures_tr_dl_la_CFLAGS = $(BASE_CFLAGS) -g -O2
tests_fixtures_tr_dl_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere
# preloaded before libhawk: mprotect refuses PROT_EXEC (t-tracer-place)
check_LTLIBRARIES += tests/fixtures/tr-noexec.la
tests_fixtures_tr_noexec_la_SOURCES = tests/fixtures/tr-noexec.c
tests_fixtures_tr_noexec_la_CFLAGS = $(BASE_CFLAGS) -O2
tests_fixtures_tr_noexec_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere
tests_fixtures_tr_creds_SOURCES = tests/fixtures/tr-creds.c
tests_fixtures_tr_creds_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_creds_LDFLAGS =
tests_fixtures_tr_link_CPPFLAGS = $(tracer_test_cppflags)
tests_fixtures_tr_link_SOURCES = tests/fixtures/tr-link.c
tests_fixtures_tr_link_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_link_LDFLAGS =
tests_fixtures_tr_link_LDADD = tracer/libhawk.la
tests_fixtures_tr_defer_CPPFLAGS = $(tracer_test_cppflags)
tests_fixtures_tr_defer_SOURCES = tests/fixtures/tr-defer.c
tests_fixtures_tr_defer_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_defer_LDFLAGS =
tests_fixtures_tr_defer_LDADD = tracer/libhawk.la -lpthread
tests_t_intern_CPPFLAGS = $(tracer_test_cppflags)
tests_t_intern_SOURCES = tests/t-intern.c tracer/intern.c tracer/arena.c \
	tracer/guard.c
tests_t_intern_CFLAGS = $(AM_CFLAGS) $(UNWIND_CFLAGS)
tests_t_blocks_CPPFLAGS = $(tracer_test_cppflags)
tests_t_blocks_SOURCES = tests/t-blocks.c tracer/blocks.c tracer/arena.c \
	tracer/guard.c
tests_t_blocks_LDADD = -lpthread
# the sliced collection walks, with small slices and their holds timed
tests_t_blocks_scan_CPPFLAGS = $(tracer_test_cppflags) -DBLOCKS_SLICE=64u \
	-DBLOCKS_HOLD_STATS
tests_t_blocks_scan_SOURCES = tests/t-blocks-scan.c tracer/blocks.c \
	tracer/arena.c tracer/guard.c
tests_t_blocks_scan_LDADD = -lpthread
# the CFI reader on its own, and the walker over it
tests_t_cfi_CPPFLAGS = $(tracer_test_cppflags)
tests_t_cfi_SOURCES = tests/t-cfi.c tracer/cfi.c tracer/fastunw.c \
	tracer/arena.c tracer/guard.c
tests_t_cfi_LDADD = -lpthread
# the lock-order check, compiled in whatever the configuration
tests_t_guard_CPPFLAGS = $(tracer_test_cppflags) -DHAWK_DEBUG
tests_t_guard_SOURCES = tests/t-guard.c tracer/guard.c
tests_t_guard_LDADD = -lpthread
EXTRA_DIST += tests/fixtures/tr-lib.sh
tracer_tests = tests/t-tracer-basic.sh tests/t-tracer-threads.sh \
	tests/t-tracer-cxx.sh tests/t-tracer-fork.sh tests/t-tracer-exec.sh \
	tests/t-tracer-env.sh tests/t-tracer-link.sh tests/t-tracer-unwind.sh \
	tests/t-tracer-defer.sh tests/t-tracer-foreign.sh \
	tests/t-tracer-creds.sh tests/t-tracer-leftovers.sh \
	tests/t-tracer-hostile.sh tests/t-tracer-sample.sh \
	tests/t-tracer-place.sh
dist_check_SCRIPTS += $(tracer_tests)
TESTS += tests/t-intern tests/t-blocks tests/t-blocks-scan tests/t-cfi tests/t-guard $(tracer_tests)
# a static binary `hawk run` must refuse (t-cli-run.sh)
check_PROGRAMS += tests/fixtures/cli-static
tests_fixtures_cli_static_SOURCES = tests/fixtures/cli-static.c
tests_fixtures_cli_static_CFLAGS = $(BASE_CFLAGS)
tests_fixtures_cli_static_LDFLAGS = -all-static
# an executable that defines malloc itself (t-tracer-foreign.sh)
check_PROGRAMS += tests/fixtures/tr-ownmalloc
tests_fixtures_tr_ownmalloc_SOURCES = tests/fixtures/tr-ownmalloc.c
tests_fixtures_tr_ownmalloc_CFLAGS = $(BASE_CFLAGS) -O0
tests_fixtures_tr_ownmalloc_LDFLAGS = -rdynamic
# the foreign-allocator fixture (jemalloc linked as a library)
if HAVE_JEMALLOC
check_PROGRAMS += tests/fixtures/tr-jemalloc
tests_fixtures_tr_jemalloc_SOURCES = tests/fixtures/tr-jemalloc.c
tests_fixtures_tr_jemalloc_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_jemalloc_LDFLAGS =
tests_fixtures_tr_jemalloc_LDADD = -ljemalloc
endif
# a pickle of one call site's millions of blocks (t-snapshot-onesite.sh)
check_PROGRAMS += tests/fixtures/tr-onesite
tests_fixtures_tr_onesite_SOURCES = tests/fixtures/tr-onesite.c
tests_fixtures_tr_onesite_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_tr_onesite_LDFLAGS =
tests_fixtures_tr_onesite_LDADD =
dist_check_SCRIPTS += tests/t-snapshot-onesite.sh
TESTS += tests/t-snapshot-onesite.sh
# one index's sizes in parts that resume (blocks_collect_sizes_at)
check_PROGRAMS += tests/t-blocks-parts
tests_t_blocks_parts_CPPFLAGS = $(tracer_test_cppflags) -DBLOCKS_SLICE=64u
tests_t_blocks_parts_SOURCES = tests/t-blocks-parts.c tracer/blocks.c \
	tracer/arena.c tracer/guard.c
tests_t_blocks_parts_LDADD = -lpthread
TESTS += tests/t-blocks-parts
