/* SPDX-License-Identifier: MIT */
/*
 * fcgi_config.h - the responder's settings: config file, then environment.
 * (Named so as not to shadow autoconf's config.h.)
 */
#ifndef HAWK_FCGI_CONFIG_H
#define HAWK_FCGI_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_UIDS_MAX 32

struct config {
	char dir[4096];            /* segment directory */
	char prefix[256];          /* route prefix, "" or "/..." (no
				      trailing slash) */
	uint32_t max_duration;     /* largest duration= (seconds) */
	uint32_t threads;          /* FastCGI worker threads */
	uint32_t timeout_ms;       /* per-command timeout */
	int allow_any;             /* allow_uids = * */
	uid_t allow[CONFIG_UIDS_MAX]; /* segment owners we read */
	size_t n_allow;
	char listen[4096];         /* --listen / listen=: "" = fd 0 */
	unsigned socket_mode;      /* unix socket mode for listen */
	uint32_t max_snapshot_mb;  /* largest snapshot stream read (MiB) */
};

/* Defaults: dir /dev/shm/hawk, prefix /debug, max_duration 300, threads
 * 4, timeout_ms 5000, allow_uids = the responder's own uid, socket_mode
 * 0660, max_snapshot_mb 1024. */
void config_defaults(struct config *c);

/*
 * Read `path`.  A missing file is an error when `explicit`, else the
 * defaults stand.  On error `err` holds "FILE:LINE: reason" (or
 * "FILE: reason") and the result is -EINVAL or the open error.
 */
int config_load(struct config *c, const char *path, int explicit,
		char *err, size_t errlen);

/* Apply HAWK_DIR, HAWK_PREFIX, HAWK_MAX_DURATION, HAWK_THREADS,
 * HAWK_TIMEOUT_MS, HAWK_ALLOW_UIDS, HAWK_MAX_SNAPSHOT_MB; err is "HAWK_X: reason". */
int config_env(struct config *c, char *err, size_t errlen);

/*
 * Set one setting by its hawk.conf name ("threads", "socket_mode", ...)
 * from its text, validated as in the file: 0, or -EINVAL with the reason
 * ("threads must be 1..256") in why.  The command line's options go
 * through here too, so every setting is checked in one place.
 */
int config_set(struct config *c, const char *key, const char *value,
	       char *why, size_t len);

/* Whether segments owned by `uid` may be read. */
int config_uid_allowed(const struct config *c, uid_t uid);

#endif /* HAWK_FCGI_CONFIG_H */
