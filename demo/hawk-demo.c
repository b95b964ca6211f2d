/* SPDX-License-Identifier: MIT */
/*
 * hawk-demo.c - a small C "service" for the quick start: it handles fake
 * requests on a few threads, allocating at a handful of known sites, and
 * leaks at exactly one of them, so that a profile taken with curl shows
 * something meaningful.
 *
 * Allocation sites (functions are noinline so each is a frame of its own):
 *  - parse_request(): a buffer per request, freed when the request is done;
 *  - render_response(): the response text, freed when the request is done;
 *  - cache_put(): a 64-slot cache of 2 KiB values per worker, one slot
 *    replaced per request: a steady live set that turns over;
 *  - remember_session(): THE LEAK.  1 KiB per request, linked into a list
 *    that nothing ever frees while the process runs.  To keep the demo
 *    harmless it is bounded: after 64 MiB the list is dropped (freed) and
 *    the leak starts over.
 *
 * It allocates only through malloc/calloc/realloc/free, so it runs
 * unchanged under libhawk (`hawk run -- hawk-demo`, or LD_PRELOAD).  Stops
 * cleanly on SIGINT/SIGTERM, freeing everything.  Never exits on its own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_SLOTS   64
#define CACHE_VALUE   2048
#define SESSION_SIZE  1024
#define LEAK_LIMIT    (64u << 20)
#define NOINLINE      __attribute__((noinline))

struct session {
	struct session *next;
	char data[SESSION_SIZE - sizeof(struct session *)];
};

struct worker {
	pthread_t thread;
	unsigned id;
	unsigned long served;
	char *cache[CACHE_SLOTS];
};

static volatile sig_atomic_t stopping;
static unsigned opt_rate = 50;      /* requests per second per worker */
static unsigned opt_threads = 2;

/* protects the fields below */
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions;
static size_t sessions_bytes;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static NOINLINE char *
parse_request(unsigned id, unsigned long n)
{
	char *req = malloc(512);                      /* per-request buffer */

	if (req)
		snprintf(req, 512, "GET /item/%lu?worker=%u HTTP/1.1", n, id);
	return req;
}

static NOINLINE char *
render_response(const char *req)
{
	size_t len = strlen(req) + 64;
	char *body = malloc(len);                     /* response text */

	if (body)
		snprintf(body, len, "200 OK: %s", req);
	return body;
}

static NOINLINE void
cache_put(struct worker *w, unsigned long n, const char *body)
{
	unsigned slot = (unsigned)(n % CACHE_SLOTS);
	char *v = malloc(CACHE_VALUE);                /* cache value */

	if (!v)
		return;
	snprintf(v, CACHE_VALUE, "%s", body);
	free(w->cache[slot]);
	w->cache[slot] = v;
}

static NOINLINE void
remember_session(unsigned long n)
{
	struct session *s = malloc(sizeof(*s));       /* THE LEAK */

	if (!s)
		return;
	snprintf(s->data, sizeof(s->data), "session %lu", n);
	pthread_mutex_lock(&sessions_lock);
	s->next = sessions;
	sessions = s;
	sessions_bytes += sizeof(*s);
	if (sessions_bytes >= LEAK_LIMIT) {
		/* bounded demo: drop the whole list and start leaking again */
		while (sessions) {
			s = sessions->next;
			free(sessions);
			sessions = s;
		}
		sessions_bytes = 0;
	}
	pthread_mutex_unlock(&sessions_lock);
}

static NOINLINE void
handle_request(struct worker *w, unsigned long n)
{
	char *req = parse_request(w->id, n);
	char *body;

	if (!req)
		return;
	body = render_response(req);
	if (body) {
		cache_put(w, n, body);
		remember_session(n);
	}
	free(body);
	free(req);
	w->served++;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec pause = { 0, 1000000000L / opt_rate };
	unsigned long n = 0;

	while (!stopping) {
		handle_request(w, n++);
		while (nanosleep(&pause, &pause) == -1 && errno == EINTR &&
		       !stopping)
			;
		pause.tv_nsec = 1000000000L / opt_rate;
	}
	return NULL;
}

static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: hawk-demo [--rate N] [--threads N]\n"
		"A fake service for hawk's quick start: N worker threads "
		"(default 2) each\nhandle --rate requests per second "
		"(default 50), leaking 1 KiB per request\nin "
		"remember_session()."
		"  Run it under the tracer:  hawk run -- hawk-demo\n");
}

int
main(int argc, char **argv)
{
	struct worker *workers;
	struct sigaction sa;
	unsigned i, j;

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--rate") &&
			   i + 1 < (unsigned)argc) {
			if (parse_uint(argv[++i], 1, 10000, &opt_rate) < 0) {
				fputs("hawk-demo: --rate: 1..10000\n", stderr);
				return 2;
			}
		} else if (!strcmp(argv[i], "--threads") &&
			   i + 1 < (unsigned)argc) {
			if (parse_uint(argv[++i], 1, 64, &opt_threads) < 0) {
				fputs("hawk-demo: --threads: 1..64\n", stderr);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	workers = calloc(opt_threads, sizeof(*workers));
	if (!workers) {
		perror("hawk-demo: calloc");
		return 1;
	}
	for (i = 0; i < opt_threads; i++) {
		int err;

		workers[i].id = i;
		err = pthread_create(&workers[i].thread, NULL, worker_main,
				     &workers[i]);
		if (err) {
			fprintf(stderr, "hawk-demo: pthread_create: %s\n",
				strerror(err));
			stopping = 1;
			opt_threads = i;
			break;
		}
	}
	fprintf(stderr, "hawk-demo: pid %ld, %u workers, %u requests/s "
		"each; leaking 1 KiB per request\n", (long)getpid(),
		opt_threads, opt_rate);

	for (i = 0; i < opt_threads; i++) {
		pthread_join(workers[i].thread, NULL);
		for (j = 0; j < CACHE_SLOTS; j++)
			free(workers[i].cache[j]);
	}
	while (sessions) {
		struct session *s = sessions->next;

		free(sessions);
		sessions = s;
	}
	free(workers);
	return 0;
}
