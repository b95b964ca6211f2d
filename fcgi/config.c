/* SPDX-License-Identifier: MIT */
/*
 * config.c - hawk-fcgi's settings: built-in defaults, then the config file
 * (`key = value` lines, '#' comments, blank lines), then HAWK_* environment
 * variables, each later source overriding the earlier one.
 *
 * A bad setting is fatal at start, reported as "FILE:LINE: reason" (or
 * "HAWK_X: reason" for the environment): a responder must never run with a
 * half-understood configuration.  Unknown keys are errors too (a typo in
 * "allow_uids" must not silently fall back to the default).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_config.h"
#include "segment.h"

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", SEG_DIR_DEFAULT);
	snprintf(c->prefix, sizeof(c->prefix), "/debug");
	c->max_duration = 300;
	c->threads = 4;
	c->timeout_ms = 5000;
	c->allow[0] = getuid();
	c->n_allow = 1;
	c->socket_mode = 0660;
	c->max_snapshot_mb = 1024;
}

static int
parse_num(const char *v, uint64_t lo, uint64_t hi, int base, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!*v || !isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, base);
	if (errno || *end || n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 0;
}

static int
parse_uids(struct config *c, char *v, char *why, size_t len)
{
	char *tok, *save = NULL;
	struct passwd pw, *res;
	char buf[4096];
	uint64_t n;

	c->allow_any = 0;
	c->n_allow = 0;
	for (tok = strtok_r(v, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "*") == 0) {
			c->allow_any = 1;
			continue;
		}
		if (c->n_allow == CONFIG_UIDS_MAX) {
			snprintf(why, len, "more than %d uids",
				 CONFIG_UIDS_MAX);
			return -EINVAL;
		}
		if (parse_num(tok, 0, UINT32_MAX - 1, 10, &n) == 0) {
			c->allow[c->n_allow++] = (uid_t)n;
			continue;
		}
		if (getpwnam_r(tok, &pw, buf, sizeof(buf), &res) || !res) {
			snprintf(why, len, "unknown user \"%s\"", tok);
			return -EINVAL;
		}
		c->allow[c->n_allow++] = res->pw_uid;
	}
	if (!c->allow_any && c->n_allow == 0) {
		snprintf(why, len, "empty uid list (use * for any owner)");
		return -EINVAL;
	}
	return 0;
}

/* Apply one setting; on error write the reason into `why`. */
static int
set(struct config *c, const char *k, char *v, char *why, size_t len)
{
	uint64_t n;
	size_t l;

	if (strcmp(k, "dir") == 0) {
		if (v[0] != '/' || strlen(v) >= sizeof(c->dir)) {
			snprintf(why, len, "dir must be an absolute path");
			return -EINVAL;
		}
		snprintf(c->dir, sizeof(c->dir), "%s", v);
	} else if (strcmp(k, "prefix") == 0) {
		l = strlen(v);
		while (l && v[l - 1] == '/')
			v[--l] = '\0';
		if ((l && v[0] != '/') || l >= sizeof(c->prefix) ||
		    strpbrk(v, "?#% \t")) {
			snprintf(why, len, "prefix must be empty or a path "
				 "such as /debug (no ?, #, %%, spaces)");
			return -EINVAL;
		}
		memcpy(c->prefix, v, l + 1);
	} else if (strcmp(k, "max_duration") == 0) {
		if (parse_num(v, 1, 86400, 10, &n)) {
			snprintf(why, len, "max_duration must be 1..86400 "
				 "seconds");
			return -EINVAL;
		}
		c->max_duration = (uint32_t)n;
	} else if (strcmp(k, "threads") == 0) {
		if (parse_num(v, 1, 256, 10, &n)) {
			snprintf(why, len, "threads must be 1..256");
			return -EINVAL;
		}
		c->threads = (uint32_t)n;
	} else if (strcmp(k, "timeout_ms") == 0) {
		if (parse_num(v, 10, 600000, 10, &n)) {
			snprintf(why, len, "timeout_ms must be 10..600000");
			return -EINVAL;
		}
		c->timeout_ms = (uint32_t)n;
	} else if (strcmp(k, "max_snapshot_mb") == 0) {
		if (parse_num(v, 1, 1048576, 10, &n)) {
			snprintf(why, len, "max_snapshot_mb must be 1..1048576");
			return -EINVAL;
		}
		c->max_snapshot_mb = (uint32_t)n;
	} else if (strcmp(k, "allow_uids") == 0) {
		return parse_uids(c, v, why, len);
	} else if (strcmp(k, "listen") == 0) {
		if (strlen(v) >= sizeof(c->listen)) {
			snprintf(why, len, "listen address too long");
			return -EINVAL;
		}
		snprintf(c->listen, sizeof(c->listen), "%s", v);
	} else if (strcmp(k, "socket_mode") == 0) {
		if (parse_num(v, 0, 0777, 8, &n)) {
			snprintf(why, len, "socket_mode must be octal "
				 "0..0777");
			return -EINVAL;
		}
		c->socket_mode = (unsigned)n;
	} else {
		snprintf(why, len, "unknown setting \"%s\"", k);
		return -EINVAL;
	}
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value,
	   char *why, size_t len)
{
	char v[4096];

	if (strlen(value) >= sizeof(v)) {
		snprintf(why, len, "%s: value too long", key);
		return -EINVAL;
	}
	memcpy(v, value, strlen(value) + 1);
	return set(c, key, v, why, len);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
config_load(struct config *c, const char *path, int explicit,
	    char *err, size_t errlen)
{
	char line[8192], why[256], *k, *v, *eq;
	unsigned lineno = 0;
	FILE *f;
	int e;

	f = fopen(path, "re");
	if (!f) {
		e = -errno;
		if (e == -ENOENT && !explicit)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
				 lineno);
			fclose(f);
			return -EINVAL;
		}
		k = trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected key = value",
				 path, lineno);
			fclose(f);
			return -EINVAL;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (set(c, k, v, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
	return 0;
}

int
config_env(struct config *c, char *err, size_t errlen)
{
	static const char *const map[][2] = {
		{ "HAWK_DIR", "dir" },
		{ "HAWK_PREFIX", "prefix" },
		{ "HAWK_MAX_DURATION", "max_duration" },
		{ "HAWK_THREADS", "threads" },
		{ "HAWK_TIMEOUT_MS", "timeout_ms" },
		{ "HAWK_ALLOW_UIDS", "allow_uids" },
		{ "HAWK_MAX_SNAPSHOT_MB", "max_snapshot_mb" },
	};
	char buf[4096], why[256];
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		v = getenv(map[i][0]);
		if (!v)
			continue;
		snprintf(buf, sizeof(buf), "%s", v);
		if (set(c, map[i][1], trim(buf), why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", map[i][0], why);
			return -EINVAL;
		}
	}
	return 0;
}

int
config_uid_allowed(const struct config *c, uid_t uid)
{
	size_t i;

	if (c->allow_any)
		return 1;
	for (i = 0; i < c->n_allow; i++)
		if (c->allow[i] == uid)
			return 1;
	return 0;
}
