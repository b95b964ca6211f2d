# tests/fcgi.mk - tests of fcgi (included from tests/local.mk)
fcgi_unit_tests = tests/t-stats tests/t-tbtrie tests/t-fmt-json tests/t-fmt-pickle \
	tests/t-params tests/t-route tests/t-config
check_PROGRAMS += $(fcgi_unit_tests)
TESTS += $(fcgi_unit_tests)
fcgi_test_cppflags = $(AM_CPPFLAGS) $(FCGI_CPPFLAGS) $(IPC_CPPFLAGS) \
	$(TESTS_CPPFLAGS)
fcgi_test_ldadd = fcgi/libresponder.la ipc/libipc.la
tests_t_stats_SOURCES = tests/t-stats.c
tests_t_stats_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_stats_LDADD = $(fcgi_test_ldadd)
tests_t_tbtrie_SOURCES = tests/t-tbtrie.c
tests_t_tbtrie_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_tbtrie_LDADD = $(fcgi_test_ldadd)
tests_t_fmt_json_SOURCES = tests/t-fmt-json.c
tests_t_fmt_json_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_fmt_json_LDADD = $(fcgi_test_ldadd)
tests_t_fmt_pickle_SOURCES = tests/t-fmt-pickle.c
tests_t_fmt_pickle_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_fmt_pickle_LDADD = $(fcgi_test_ldadd)
tests_t_params_SOURCES = tests/t-params.c
tests_t_params_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_params_LDADD = $(fcgi_test_ldadd)
tests_t_route_SOURCES = tests/t-route.c
tests_t_route_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_route_LDADD = $(fcgi_test_ldadd)
tests_t_config_SOURCES = tests/t-config.c
tests_t_config_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_config_LDADD = $(fcgi_test_ldadd)
EXTRA_DIST += tests/fmt_pickle_check.py

# CGI-mode scenario tests against fixture targets under libhawk (no
# sanitizers in the fixtures: they run with libhawk preloaded).
check_PROGRAMS += tests/fixtures/fc-leak
tests_fixtures_fc_leak_SOURCES = tests/fixtures/fc-leak.c
tests_fixtures_fc_leak_CFLAGS = $(BASE_CFLAGS) -g -O0
tests_fixtures_fc_leak_LDFLAGS =
fcgi_sh_tests = tests/t-fcgi-cgi.sh tests/t-fcgi-fastcgi.sh \
	tests/t-fcgi-multi.sh tests/t-fcgi-lease.sh tests/t-fcgi-leftovers.sh \
	tests/t-fcgi-sample.sh
dist_check_SCRIPTS += $(fcgi_sh_tests)
TESTS += $(fcgi_sh_tests)
EXTRA_DIST += tests/fcgi_client.py tests/fcgi-lib.sh

# snapstat.c against the real symbolizer and snapshot parser
check_PROGRAMS += tests/t-snapstat
TESTS += tests/t-snapstat
tests_t_snapstat_SOURCES = tests/t-snapstat.c fcgi/snapstat.c \
	fcgi/textpool.c $(fcgi_symbols_sources)
tests_t_snapstat_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_snapstat_CFLAGS = $(AM_CFLAGS) $(fcgi_symbols_cflags) -g -O1
tests_t_snapstat_LDADD = $(fcgi_test_ldadd) ipc/libipc.la $(fcgi_symbols_libs)
# a traceback in several consecutive records reads as in one (segment.h)
check_PROGRAMS += tests/t-snap-repeat
TESTS += tests/t-snap-repeat
tests_t_snap_repeat_SOURCES = tests/t-snap-repeat.c fcgi/snapstat.c \
	fcgi/textpool.c $(fcgi_symbols_sources)
tests_t_snap_repeat_CPPFLAGS = $(fcgi_test_cppflags)
tests_t_snap_repeat_CFLAGS = $(AM_CFLAGS) $(fcgi_symbols_cflags) -g -O1
tests_t_snap_repeat_LDADD = $(fcgi_test_ldadd) ipc/libipc.la $(fcgi_symbols_libs)
