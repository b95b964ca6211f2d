# tests/daemon.mk - the packaged daemons under libhawk, as deployed
# (included from tests/local.mk): php-fpm, nginx, Apache prefork and
# redis-server, started as root, dropping privileges to www-data, read by
# a responder running as www-data.  Each skips, saying why, when it is
# not root, in the sanitizer build, or when its daemon is not installed.
# SPDX-License-Identifier: MIT
daemon_tests = tests/t-daemon-php-fpm.sh tests/t-daemon-nginx.sh \
	tests/t-daemon-apache.sh tests/t-daemon-redis.sh tests/t-daemon-container.sh
dist_check_SCRIPTS += $(daemon_tests)
TESTS += $(daemon_tests)
EXTRA_DIST += tests/daemon-lib.sh tests/fixtures/daemon/leak.php \
	tests/fixtures/mod_hawkleak.c
