/* SPDX-License-Identifier: MIT */
/*
 * main.c - hawk-fcgi: options, configuration, and the two ways of being
 * run: as a FastCGI application (fd 0 is a listening socket, or --listen)
 * with a pool of worker threads each in FCGX_Accept_r (libfcgi's
 * examples/threaded.c pattern, accept serialised by a mutex), or as a CGI
 * program that answers the one request in its environment and exits.
 *
 * - The responder is never traced: if LD_PRELOAD carries libhawk (a web
 *   server's own preload leaking into its children), it is removed and the
 *   program re-executes itself once.
 * - Workers share one symbolizer, whose cache lives as long as the process.
 * - Shutdown on SIGTERM, SIGINT, SIGUSR1 or SIGHUP (lighttpd and mod_fcgid
 *   send SIGTERM): the signals are blocked in every worker and taken by
 *   sigwait in a thread of their own; the process exits as soon as no
 *   request is in flight, so a fixed-duration profile still stops the
 *   tracing it started.  (libfcgi's own handlers would only make
 *   FCGX_Accept_r fail in the one thread the signal happened to hit.)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_config.h"
#include "seg_read.h"
#include "serve.h"
#include "symbols.h"

#define REEXEC_ENV "HAWK_FCGI_REEXEC"

static struct config cfg;
static struct symbolizer *sym;
static int listen_fd;

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
/* protects the fields below */
static pthread_cond_t state_cond = PTHREAD_COND_INITIALIZER;
static unsigned active;
static int shutting;

__attribute__((format(printf, 1, 2), noreturn))
static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("hawk-fcgi: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int
is_libhawk(const char *entry, size_t len)
{
	const char *base = entry, *p;

	for (p = entry; p < entry + len; p++)
		if (*p == '/')
			base = p + 1;
	return (size_t)(entry + len - base) >= 7 &&
		strncmp(base, "libhawk", 7) == 0;
}

/* Drop libhawk from LD_PRELOAD and re-execute once (ld.so already loaded
 * it into this process). */
static void
scrub_preload(char **argv)
{
	const char *lp = getenv("LD_PRELOAD"), *s, *e;
	char *out;
	size_t n, o = 0;
	int found = 0;

	if (!lp || !strstr(lp, "libhawk"))
		return;
	out = malloc(strlen(lp) + 1);
	if (!out)
		die("out of memory");
	for (s = lp; *s; s = e) {
		while (*s == ':' || *s == ' ')
			s++;
		for (e = s; *e && *e != ':' && *e != ' '; e++)
			;
		n = (size_t)(e - s);
		if (!n)
			continue;
		if (is_libhawk(s, n)) {
			found = 1;
			continue;
		}
		if (o)
			out[o++] = ':';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	if (!found) {
		free(out);
		return;
	}
	if (o)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	free(out);
	if (getenv(REEXEC_ENV))
		return;                 /* already re-executed: never loop */
	setenv(REEXEC_ENV, "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "hawk-fcgi: re-executing without libhawk: %s\n",
		strerror(errno));
}

static int
stdout_sink(void *arg, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len) {
		w = write(1, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
fcgx_sink(void *arg, const void *buf, size_t len)
{
	const char *p = buf;
	int n;

	while (len) {
		n = len > (1u << 30) ? 1 << 30 : (int)len;
		if (FCGX_PutStr(p, n, arg) != n)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *
worker(void *unused)
{
	FCGX_Request req;
	struct route_req r;
	int rc;

	if (FCGX_InitRequest(&req, listen_fd, 0))
		return NULL;
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		pthread_mutex_lock(&state_lock);
		active++;
		pthread_mutex_unlock(&state_lock);
		r.method = FCGX_GetParam("REQUEST_METHOD", req.envp);
		r.script_name = FCGX_GetParam("SCRIPT_NAME", req.envp);
		r.path_info = FCGX_GetParam("PATH_INFO", req.envp);
		r.request_uri = FCGX_GetParam("REQUEST_URI", req.envp);
		r.query = FCGX_GetParam("QUERY_STRING", req.envp);
		serve_request(&cfg, sym, &r, fcgx_sink, req.out);
		FCGX_Finish_r(&req);
#ifdef HAVE_MALLOC_TRIM
		/* a snapshot is tens of MiB: give it back between requests */
		malloc_trim(0);
#endif
		pthread_mutex_lock(&state_lock);
		active--;
		pthread_cond_broadcast(&state_cond);
		pthread_mutex_unlock(&state_lock);
	}
	pthread_mutex_lock(&state_lock);
	shutting = 1;
	pthread_cond_broadcast(&state_cond);
	pthread_mutex_unlock(&state_lock);
	return NULL;
}

/* Take the shutdown signals; see the file comment. */
static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (sigwait(set, &sig) != 0)
		;
	FCGX_ShutdownPending();
	pthread_mutex_lock(&state_lock);
	shutting = 1;
	pthread_cond_broadcast(&state_cond);
	pthread_mutex_unlock(&state_lock);
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: hawk-fcgi [--config FILE] [--listen HOST:PORT|:PORT|/PATH]\n"
"                 [--socket-mode MODE] [--threads N]\n"
"  FastCGI responder for hawk's /debug/prof/mem/ and /debug/pprof/ routes.\n"
"  Serves FastCGI on fd 0 when that is a listening socket, on --listen\n"
"  when given, else answers one CGI request from the environment.\n"
"  Default configuration file: %s/hawk/hawk.conf.  See hawk-fcgi(8).\n",
		HAWK_SYSCONFDIR);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = HAWK_SYSCONFDIR "/hawk/hawk.conf";
	const char *listen_opt = NULL, *mode_opt = NULL, *threads_opt = NULL;
	int explicit = 0, o, rc, reexec;
	char err[8192];
	static pthread_t tids[256 + 1];  /* threads <= 256 (config.c) */
	sigset_t sigs;
	uint32_t i, started = 0;

	scrub_preload(argv);
	reexec = getenv(REEXEC_ENV) != NULL;
	unsetenv(REEXEC_ENV);
	while ((o = getopt_long(argc, argv, "c:l:m:t:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			explicit = 1;
			break;
		case 'l':
			listen_opt = optarg;
			break;
		case 'm':
			mode_opt = optarg;
			break;
		case 't':
			threads_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hawk-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	config_defaults(&cfg);
	if (config_load(&cfg, config, explicit, err, sizeof(err)) ||
	    config_env(&cfg, err, sizeof(err)))
		die("%s", err);
	if (listen_opt)
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen_opt);
	/* the options' values are checked where the file's are */
	if (mode_opt && config_set(&cfg, "socket_mode", mode_opt, err,
				   sizeof(err)))
		die("--socket-mode: %s, not \"%s\"", err, mode_opt);
	if (threads_opt && config_set(&cfg, "threads", threads_opt, err,
				      sizeof(err)))
		die("--threads: %s, not \"%s\"", err, threads_opt);
	/* libhawk made a segment for us before the re-exec: remove it */
	if (reexec)
		seg_remove_dead(cfg.dir, (int32_t)getpid(), err, sizeof(err));

	if (FCGX_Init())
		die("FCGX_Init failed");
	sym = sym_new();
	if (!sym)
		die("out of memory");
	if (!cfg.listen[0] && FCGX_IsCGI()) {
		struct route_req r = {
			.method = getenv("REQUEST_METHOD"),
			.script_name = getenv("SCRIPT_NAME"),
			.path_info = getenv("PATH_INFO"),
			.request_uri = getenv("REQUEST_URI"),
			.query = getenv("QUERY_STRING"),
		};

		signal(SIGPIPE, SIG_IGN);
		rc = serve_request(&cfg, sym, &r, stdout_sink, NULL);
		sym_free(sym);
		return rc < 0 ? 1 : 0;
	}
	if (cfg.listen[0]) {
		/* bind() makes the socket file with mode 0777 & ~umask:
		 * it is born with socket_mode (0..0777), never open to
		 * others for a moment as a chmod after bind would be */
		mode_t old_mask = umask(0777 & ~cfg.socket_mode);

		listen_fd = FCGX_OpenSocket(cfg.listen, 128);
		umask(old_mask);
		if (listen_fd < 0)
			die("listen %s: cannot open the socket", cfg.listen);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (pthread_create(&tids[cfg.threads], NULL, signal_thread, &sigs))
		die("cannot start the signal thread");
	for (i = 0; i < cfg.threads; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL) == 0)
			started++;
	if (!started)
		die("cannot start worker threads");
	pthread_mutex_lock(&state_lock);
	while (!shutting || active)
		pthread_cond_wait(&state_cond, &state_lock);
	pthread_mutex_unlock(&state_lock);
	/* the other workers may sit in accept(): leave without them */
	exit(0);
}
