# tests/local.mk - the test suite, run by `make check` through automake's
# TAP driver.  Each area keeps its tests in its own fragment.
# Every test speaks TAP: C tests (no extension) use LOG_DRIVER, shell
# scenarios (.sh) SH_LOG_DRIVER; TEST_LOG_DRIVER would only cover *.test.
TAP_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .sh
LOG_DRIVER = $(TAP_DRIVER)
SH_LOG_DRIVER = $(TAP_DRIVER)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	PYTHON3='$(PYTHON3)'; LIGHTTPD='$(LIGHTTPD)'; APACHE2='$(APACHE2)'; \
	ADDR2LINE='$(ADDR2LINE)'; CURL='$(CURL)'; APACHE_MODDIR='$(apache_moddir)'; \
	HAWK_SANITIZE='$(SAN_CFLAGS)'; \
	export top_srcdir top_builddir PYTHON3 LIGHTTPD APACHE2 ADDR2LINE CURL APACHE_MODDIR HAWK_SANITIZE;
noinst_HEADERS += tests/tap.h tests/proc-stat.h tests/snap-build.h
EXTRA_DIST += tests/lib.sh tests/README

include tests/ipc.mk
include tests/tracer.mk
include tests/fcgi.mk
include tests/sym.mk
include tests/e2e.mk
include tests/daemon.mk
include tests/pprof.mk
