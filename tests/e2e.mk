# tests/e2e.mk - end-to-end tests through real web servers (lighttpd
# mod_fastcgi, Apache mod_fcgid, Apache mod_proxy_fcgi) and `hawk serve`
# (included from tests/local.mk).
# SPDX-License-Identifier: MIT
#
# The fixture targets run under libhawk: no sanitizers, whatever the build.
check_PROGRAMS += tests/fixtures/e2e-target
tests_fixtures_e2e_target_SOURCES = tests/fixtures/e2e-target.c
tests_fixtures_e2e_target_CFLAGS = $(BASE_CFLAGS) -g -fno-optimize-sibling-calls
tests_fixtures_e2e_target_LDFLAGS =

e2e_tests = tests/t-e2e-lighttpd.sh tests/t-e2e-fcgid.sh \
	tests/t-e2e-proxy-fcgi.sh tests/t-serve.sh tests/t-serve-fault.sh
dist_check_SCRIPTS += $(e2e_tests)
TESTS += $(e2e_tests)
EXTRA_DIST += tests/e2e-lib.sh
