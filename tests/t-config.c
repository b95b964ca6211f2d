/* SPDX-License-Identifier: MIT */
/*
 * t-config.c - the responder's configuration file and HAWK_* overrides:
 * defaults, every setting, the FILE:LINE of each kind of mistake, a
 * missing file, and the shipped conf/hawk.conf (all defaults).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_config.h"
#include "tap.h"

static char path[] = "/tmp/hawk-t-config.XXXXXX";
static char err[8192];
static struct config c;

static int
load(const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	config_defaults(&c);
	err[0] = '\0';
	return config_load(&c, path, 1, err, sizeof(err));
}

static void
bad(const char *text, const char *want_suffix)
{
	char want[8300];
	int r = load(text);

	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	ok(r == -EINVAL && strcmp(err, want) == 0, "bad config -> \"%s\"",
	   want_suffix);
	if (strcmp(err, want))
		diag("got \"%s\"", err);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char shipped[4096];
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);

	config_defaults(&c);
	ok(strcmp(c.dir, "/dev/shm/hawk") == 0 &&
	   strcmp(c.prefix, "/debug") == 0 && c.max_duration == 300 &&
	   c.threads == 4 && c.timeout_ms == 5000 && !c.allow_any &&
	   c.n_allow == 1 && c.allow[0] == getuid() && c.listen[0] == 0 &&
	   c.socket_mode == 0660 && c.max_snapshot_mb == 1024, "defaults");

	ok(load("# comment\n\n  dir = /tmp/x  \nprefix=/a/b/\n"
		"max_duration = 30\nthreads=2\ntimeout_ms = 250\n"
		"allow_uids = 0, 1000 root\nlisten = 127.0.0.1:9000\n"
		"socket_mode = 0600\n") == 0, "every setting");
	ok(strcmp(c.dir, "/tmp/x") == 0 && strcmp(c.prefix, "/a/b") == 0 &&
	   c.max_duration == 30 && c.threads == 2 && c.timeout_ms == 250 &&
	   c.n_allow == 3 && c.allow[1] == 1000 && c.allow[2] == 0 &&
	   strcmp(c.listen, "127.0.0.1:9000") == 0 &&
	   c.socket_mode == 0600, "values (trailing slash of prefix dropped)");
	ok(config_uid_allowed(&c, 1000) && !config_uid_allowed(&c, 5),
	   "uid list");
	ok(load("allow_uids = *\nprefix = /\n") == 0 && c.allow_any &&
	   config_uid_allowed(&c, 12345) && c.prefix[0] == 0,
	   "allow_uids = * and an empty (root) prefix");

	bad("threads = 0\n", "1: threads must be 1..256");
	bad("\n# x\nthreads = many\n", "3: threads must be 1..256");
	bad("max_duration = 0\n", "1: max_duration must be 1..86400 seconds");
	bad("max_duration = 86401\n",
	    "1: max_duration must be 1..86400 seconds");
	bad("timeout_ms = 5\n", "1: timeout_ms must be 10..600000");
	ok(load("max_snapshot_mb = 16\n") == 0 && c.max_snapshot_mb == 16,
	   "max_snapshot_mb");
	bad("max_snapshot_mb = 0\n", "1: max_snapshot_mb must be 1..1048576");
	bad("dir = relative\n", "1: dir must be an absolute path");
	bad("prefix = debug\n", "1: prefix must be empty or a path such as "
	    "/debug (no ?, #, %, spaces)");
	bad("allow_uids = nosuchuser_hawk\n",
	    "1: unknown user \"nosuchuser_hawk\"");
	bad("allow_uids =\n", "1: empty uid list (use * for any owner)");
	bad("socket_mode = 999\n", "1: socket_mode must be octal 0..0777");
	bad("thread = 3\n", "1: unknown setting \"thread\"");
	bad("threads 3\n", "1: expected key = value");

	config_defaults(&c);
	ok(config_load(&c, "/nonexistent/hawk.conf", 0, err, sizeof(err)) ==
	   0 && c.threads == 4, "missing default file: defaults");
	ok(config_load(&c, "/nonexistent/hawk.conf", 1, err, sizeof(err)) ==
	   -ENOENT && strcmp(err, "/nonexistent/hawk.conf: No such file or "
			     "directory") == 0,
	   "missing explicit file: error");

	config_defaults(&c);
	setenv("HAWK_THREADS", "8", 1);
	setenv("HAWK_DIR", "/tmp/hd", 1);
	setenv("HAWK_ALLOW_UIDS", "*", 1);
	setenv("HAWK_MAX_DURATION", "45", 1);
	setenv("HAWK_TIMEOUT_MS", "100", 1);
	setenv("HAWK_PREFIX", "/p", 1);
	ok(config_env(&c, err, sizeof(err)) == 0 && c.threads == 8 &&
	   strcmp(c.dir, "/tmp/hd") == 0 && c.allow_any &&
	   c.max_duration == 45 && c.timeout_ms == 100 &&
	   strcmp(c.prefix, "/p") == 0, "environment overrides");
	setenv("HAWK_MAX_DURATION", "forever", 1);
	ok(config_env(&c, err, sizeof(err)) == -EINVAL &&
	   strcmp(err, "HAWK_MAX_DURATION: max_duration must be 1..86400 "
		  "seconds") == 0, "bad environment value names the variable");

	if (top) {
		struct config d;

		snprintf(shipped, sizeof(shipped), "%s/conf/hawk.conf", top);
		config_defaults(&c);
		config_defaults(&d);
		err[0] = '\0';
		ok(config_load(&c, shipped, 1, err, sizeof(err)) == 0 &&
		   memcmp(&c, &d, sizeof(c)) == 0,
		   "conf/hawk.conf parses and states the defaults");
		if (err[0])
			diag("%s", err);
	} else {
		skip("top_srcdir not set");
	}
	unlink(path);

	/* the command line's --threads and --socket-mode go through here */
	config_defaults(&c);
	is_int(config_set(&c, "threads", "8", err, sizeof(err)), 0,
	       "config_set threads 8");
	is_int(c.threads, 8, "threads set");
	is_int(config_set(&c, "threads", "0", err, sizeof(err)), -EINVAL,
	       "config_set threads 0: refused");
	is_str(err, "threads must be 1..256", "with the file's reason");
	is_int(c.threads, 8, "threads unchanged by the refusal");
	is_int(config_set(&c, "socket_mode", "0600", err, sizeof(err)), 0,
	       "config_set socket_mode 0600");
	is_int(c.socket_mode, 0600, "socket_mode set (octal)");
	is_int(config_set(&c, "socket_mode", "999", err, sizeof(err)),
	       -EINVAL, "config_set socket_mode 999: refused");
	is_int(config_set(&c, "nosuch", "1", err, sizeof(err)), -EINVAL,
	       "config_set of an unknown setting: refused");
	return done_testing();
}
