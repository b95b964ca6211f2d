/* SPDX-License-Identifier: MIT */
/*
 * hawk.c - the `hawk` command: run a program under the tracer, list the
 * targets of a segment directory, start the bundled web front end.
 *
 *   hawk run [--frames N] [--name NAME [--inherit-name]] [--dir DIR]
 *            -- PROGRAM [ARGS]
 *   hawk ps [--dir DIR] [--clean] [--json]
 *   hawk serve [ARGS]       (execs $HAWK_SERVE or pkglibexecdir/hawk-serve)
 *
 * `run` only prepares the environment (LD_PRELOAD, HAWK_TRACEMALLOC,
 * HAWK_NAME, HAWK_NAME_PID, HAWK_DIR) and execs, after refusing a program
 * LD_PRELOAD cannot reach (an ELF file without PT_INTERP): the tracer
 * does the rest inside the program.  `ps` reads segments through ipc/'s
 * validating reader; it sends each live target it may write to one
 * status command (at most PS_REFRESH_MS) so the figures are current, and
 * a target that does not answer (stopped, hung) is listed as last
 * published.  Exit status: 0 ok, 1 error, 2 bad usage; `run`
 * returns 126/127 as a shell does when the program can't be executed.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estimate.h"
#include "seg_read.h"
#include "utf8.h"

#define HAWK_LIB_DEFAULT HAWK_LIBDIR "/libhawk.so.0"
#define HAWK_SERVE_DEFAULT HAWK_PKGLIBEXECDIR "/hawk-serve"
#define PS_REFRESH_MS 250       /* per live target, as the responder's */

static const char usage_main[] =
	"usage: hawk COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  run [--frames N] [--sample BYTES] [--name NAME [--inherit-name]]\n"
	"      [--dir DIR] -- PROGRAM [ARGS]\n"
	"        run PROGRAM with the hawk tracer (libhawk) preloaded\n"
	"  ps [--dir DIR] [--clean] [--json]\n"
	"        list the traced processes of a segment directory\n"
	"  serve [ARGS]\n"
	"        start a private web server answering /debug/prof/mem/\n"
	"        (see hawk serve --help)\n"
	"\n"
	"  hawk --help | --version | COMMAND --help\n"
	"Environment: HAWK_DIR (default " SEG_DIR_DEFAULT "), HAWK_LIB, "
	"HAWK_SERVE.\n"
	"See hawk(1).\n";

static const char usage_run[] =
	"usage: hawk run [--frames N] [--sample BYTES] [--name NAME "
	"[--inherit-name]] [--dir DIR] -- PROGRAM [ARGS]\n"
	"\n"
	"Run PROGRAM with libhawk preloaded (LD_PRELOAD).  Tracing is off\n"
	"until a client starts it, unless --frames or --sample is given.  A\n"
	"statically linked PROGRAM is refused: LD_PRELOAD has no effect on it.\n"
	"\n"
	"  -f, --frames N   start tracing at once, keeping N frames per\n"
	"                   traceback (1..512; sets HAWK_TRACEMALLOC=N)\n"
	"  -s, --sample BYTES\n"
	"                   start sampled tracing at once: one sample per\n"
	"                   BYTES allocated on average (k/M/G suffixes, up to\n"
	"                   1G; e.g. 512k); figures are estimates (sets\n"
	"                   HAWK_SAMPLE=BYTES; 0 = exact)\n"
	"  -n, --name NAME  name of the target in listings and requests\n"
	"                   (HAWK_NAME; default: the program's name); its\n"
	"                   fork children keep it, programs it execs do not\n"
	"  -i, --inherit-name  programs it execs keep NAME too\n"
	"  -d, --dir DIR    segment directory (HAWK_DIR; default\n"
	"                   " SEG_DIR_DEFAULT ")\n"
	"  -h, --help       show this help\n"
	"\n"
	"libhawk is HAWK_LIB if set, else " HAWK_LIB_DEFAULT ".\n";

static const char usage_ps[] =
	"usage: hawk ps [--dir DIR] [--clean] [--json]\n"
	"\n"
	"List the targets of the segment directory: pid, name, state\n"
	"(tracing, idle or dead), traceback limit, current and peak traced\n"
	"memory, the memory the tracer itself uses, and what the traced heap\n"
	"can explain: the process's resident and anonymous memory (RSS,\n"
	"ANON) and where its malloc goes (ALLOC: glibc, the module of its own\n"
	"allocator, or \"bypassed\" when nothing can be traced).  Each live\n"
	"target is first asked to refresh its figures (a status command).\n"
	"\n"
	"  -d, --dir DIR   segment directory (default $HAWK_DIR, else\n"
	"                  " SEG_DIR_DEFAULT ")\n"
	"  -c, --clean     remove the segments of dead processes\n"
	"  -j, --json      print a JSON array, sizes in bytes\n"
	"  -h, --help      show this help\n";

__attribute__((format(printf, 1, 2), noreturn)) static void
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("hawk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'hawk --help'.\n", stderr);
	exit(2);
}

/* getopt_long failed ('?' or ':'): say which option, then exit 2. */
__attribute__((noreturn)) static void
bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		bad_usage("%s: option '%s' needs an argument", cmd, arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		bad_usage("%s: unknown option '-%c'", cmd, optopt);
	bad_usage("%s: unknown option '%s'", cmd, arg);
}

static int
finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "hawk: writing output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static const char *
seg_dir(const char *opt)
{
	const char *d = opt ? opt : getenv("HAWK_DIR");

	return d && *d ? d : SEG_DIR_DEFAULT;
}

/* ------------------------------------------------------------------ run */

/*
 * The file execvp would run for `prog`: `prog` itself if it has a '/',
 * else the first executable PROG in $PATH.  Returns 0 and the path in
 * buf, or -1 (execvp will report the error).
 */
static int
find_program(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *e;

	if (strchr(prog, '/'))
		return snprintf(buf, len, "%s", prog) < (int)len ? 0 : -1;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		size_t n;

		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (snprintf(buf, len, "%.*s%s%s", (int)n, p, n ? "/" : "",
			     prog) < (int)len && access(buf, X_OK) == 0)
			return 0;
		if (!*e)
			return -1;
	}
}

/*
 * 1 if `path` is an ELF executable without a PT_INTERP program header (a
 * static binary: no dynamic loader, so LD_PRELOAD is never read), 0 if it
 * has one, is not ELF (a script: its interpreter is what runs) or cannot
 * be read (execvp will say why).
 */
static int
is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int stat_elf = 0;
	unsigned i;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		goto out;
	if (eh.e_ident[EI_CLASS] == ELFCLASS64) {
		if (eh.e_phentsize != sizeof(Elf64_Phdr))
			goto out;
		stat_elf = 1;
		for (i = 0; i < eh.e_phnum && stat_elf; i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
				  (uint64_t)i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph)) {
				stat_elf = 0;    /* unreadable: let exec say */
				break;
			}
			if (ph.p_type == PT_INTERP)
				stat_elf = 0;
		}
	} else if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		const Elf32_Ehdr *e32 = (const Elf32_Ehdr *)&eh;

		if (e32->e_phentsize != sizeof(Elf32_Phdr))
			goto out;
		stat_elf = 1;
		for (i = 0; i < e32->e_phnum && stat_elf; i++) {
			Elf32_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(e32->e_phoff +
				  (uint64_t)i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph)) {
				stat_elf = 0;
				break;
			}
			if (ph.p_type == PT_INTERP)
				stat_elf = 0;
		}
	}
out:
	close(fd);
	return stat_elf;
}

static int
cmd_hawk_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "frames", required_argument, NULL, 'f' },
		{ "sample", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "inherit-name", no_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *frames = NULL, *name = NULL, *dir = NULL, *lib, *old;
	const char *sample = NULL;
	char *preload, path[4096], pid[16];
	uint64_t rate;
	int c, inherit = 0;

	while ((c = getopt_long(argc, argv, "+:f:s:n:id:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			if (snap_parse_sampling(optarg, &rate) < 0)
				bad_usage("run: --sample must be a number of "
					  "bytes from 0 to 1G (k/M/G suffixes), "
					  "not '%s'", optarg);
			sample = optarg;
			break;
		case 'f': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 ||
			    v > (long)SEG_FRAMES_MAX)
				bad_usage("run: --frames must be a number "
					  "from 1 to %u, not '%s'",
					  SEG_FRAMES_MAX, optarg);
			frames = optarg;
			break;
		}
		case 'n':
			if (!*optarg || strlen(optarg) >= SEG_NAME_MAX)
				bad_usage("run: --name must have 1 to %u "
					  "bytes", SEG_NAME_MAX - 1);
			name = optarg;
			break;
		case 'i':
			inherit = 1;
			break;
		case 'd':
			if (!*optarg)
				bad_usage("run: --dir must not be empty");
			dir = optarg;
			break;
		case 'h':
			fputs(usage_run, stdout);
			return finish_output();
		default:
			bad_option("run", c, argv);
		}
	}
	if (optind >= argc)
		bad_usage("run: no program given");
	if (inherit && !name)
		bad_usage("run: --inherit-name needs --name");
	if (find_program(argv[optind], path, sizeof(path)) == 0 &&
	    is_static_elf(path)) {
		fprintf(stderr, "hawk: run: %s is statically linked (no "
			"dynamic loader, so LD_PRELOAD has no effect): nothing "
			"could be traced; not running it\n", path);
		return 1;
	}

	lib = getenv("HAWK_LIB");
	if (!lib || !*lib)
		lib = HAWK_LIB_DEFAULT;
	if (access(lib, R_OK) != 0) {
		fprintf(stderr, "hawk: run: libhawk %s: %s (set HAWK_LIB)\n",
			lib, strerror(errno));
		return 1;
	}
	/* Prepend, keeping what the caller preloads (ld.so accepts ':' and
	 * ' ' as separators). */
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t len = strlen(lib) + 1 + strlen(old) + 1;

		preload = malloc(len);
		if (!preload) {
			fprintf(stderr, "hawk: run: out of memory\n");
			return 1;
		}
		snprintf(preload, len, "%s:%s", lib, old);
	} else {
		preload = strdup(lib);
		if (!preload) {
			fprintf(stderr, "hawk: run: out of memory\n");
			return 1;
		}
	}
	/* exec keeps the pid: the name is this process's (and its fork
	 * children's), not that of the programs it execs (boot.c) */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    (frames && setenv("HAWK_TRACEMALLOC", frames, 1) < 0) ||
	    (sample && setenv("HAWK_SAMPLE", sample, 1) < 0) ||
	    (name && setenv("HAWK_NAME", name, 1) < 0) ||
	    (name && !inherit && setenv("HAWK_NAME_PID", pid, 1) < 0) ||
	    (name && inherit && unsetenv("HAWK_NAME_PID") < 0) ||
	    (dir && setenv("HAWK_DIR", dir, 1) < 0)) {
		fprintf(stderr, "hawk: run: setenv: %s\n", strerror(errno));
		free(preload);
		return 1;
	}
	free(preload);
	fflush(NULL);
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "hawk: run: %s: %s\n", argv[optind], strerror(c));
	return c == ENOENT ? 127 : 126;
}

/* ------------------------------------------------------------------- ps */

struct ps_list {
	struct seg_info *v;
	size_t n, cap;
	int bad;                   /* invalid segment files seen */
	int oom;
};

/* seg_list's argument for both callbacks */
struct ps_bad {
	struct ps_list *l;
	const char *dir;
	int clean;
};

/*
 * Ask a live target to publish its status now (CMD_STATUS) and re-read
 * it, as the responder's targets/ does, so that both show the same
 * figures.  Any failure (not ours to write, no answer in PS_REFRESH_MS)
 * keeps what was read.
 */
static void
ps_refresh(const char *dir, struct seg_info *info)
{
	struct seg_client cl;
	struct seg_info fresh;
	char err[4600];
	int dirfd, rc;

	if (!info->alive)
		return;
	if (seg_client_open(&cl, dir, info->pid, err, sizeof(err)) != 0)
		return;
	rc = cl.info.uid == info->uid ?
	     cmd_run(&cl, CMD_STATUS, 0, 0, PS_REFRESH_MS, NULL, err,
		     sizeof(err)) : -EACCES;
	seg_client_close(&cl);
	if (rc)
		return;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return;
	if (seg_info_read(dirfd, info->file, &fresh, err, sizeof(err)) == 0 &&
	    fresh.uid == info->uid && fresh.pid == info->pid)
		*info = fresh;
	close(dirfd);
}

static int
ps_collect(const struct seg_info *info, void *arg)
{
	struct ps_list *l = ((struct ps_bad *)arg)->l;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct seg_info *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = 1;
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = *info;
	ps_refresh(((struct ps_bad *)arg)->dir, &l->v[l->n]);
	l->n++;
	return 0;
}

static void
ps_invalid(const char *file, const char *reason, void *arg)
{
	struct ps_bad *b = arg;
	char err[4600];
	long pid;

	fprintf(stderr, "hawk: %s\n", reason);
	b->l->bad++;
	if (!b->clean)
		return;
	/* an invalid file nobody holds the alive lock of is dead too */
	pid = strtol(file, NULL, 10);
	if (pid > 0 && pid <= INT32_MAX &&
	    seg_remove_dead(b->dir, (int32_t)pid, err, sizeof(err)) == 0)
		printf("removed invalid segment %s\n", file);
}

/* "123 B", "4.0 KiB", "1.5 MiB" ... */
static const char *
human(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	double d = (double)v;
	int i = -1;

	if (v < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", v);
		return buf;
	}
	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", d, unit[i]);
	return buf;
}

static const char *
state_of(const struct seg_info *i)
{
	return !i->alive ? "dead" : i->tracing ? "tracing" : "idle";
}

/* A JSON string; a byte that is not valid UTF-8 becomes \xNN, as Python's
 * backslashreplace shows it (a name is whatever bytes the target chose). */
static void
json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s) {
		size_t n = utf8_seq(s, strlen((const char *)s), NULL);

		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20)
			printf("\\u%04x", *s);
		else if (n == 0)
			printf("\\\\x%02x", *s);
		else
			fwrite(s, 1, n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

static void
ps_json(const struct ps_list *l)
{
	size_t k;

	putchar('[');
	for (k = 0; k < l->n; k++) {
		const struct seg_info *i = &l->v[k];

		printf("%s\n  {\"pid\": %" PRId32 ", \"name\": ",
		       k ? "," : "", i->pid);
		json_string(i->name);
		printf(", \"state\": \"%s\", \"alive\": %s, \"tracing\": %s, "
		       "\"frames\": %" PRIu32 ", \"max_frames\": %" PRIu32
		       ", \"traced_current\": %" PRIu64
		       ", \"traced_peak\": %" PRIu64
		       ", \"tracer_memory\": %" PRIu64
		       ", \"dropped\": %" PRIu64 ", \"last_error\": %" PRId32
		       ", \"uid\": %ju, \"start_time\": %" PRIu64
		       ", \"rss\": %" PRIu64 ", \"anon\": %" PRIu64
		       ", \"sampling\": %" PRIu64
		       ", \"allocator\": \"%s\", \"allocator_path\": ",
		       state_of(i), i->alive ? "true" : "false",
		       i->tracing ? "true" : "false", i->frames,
		       i->max_frames, i->traced_current, i->traced_peak,
		       i->tracer_memory, i->dropped, i->last_error,
		       (uintmax_t)i->uid, i->start_time, i->rss_bytes,
		       i->anon_bytes, i->sampling,
		       seg_alloc_name(i->alloc_mode));
		if (i->alloc_path[0])
			json_string(i->alloc_path);
		else
			fputs("null", stdout);
		putchar('}');
	}
	printf("%s]\n", l->n ? "\n" : "");
}

/* The name for a terminal: control bytes (a target chose them) become '?'
 * so that a name can't send escape sequences to the operator's terminal. */
static const char *
printable(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ?
			 '?' : name[i];
	buf[i] = '\0';
	return buf;
}

static void
ps_table(const struct ps_list *l)
{
	char cur[32], peak[32], mem[32], frames[16], name[SEG_NAME_MAX];
	char rss[32], anon[32], alloc[SEG_ALLOC_PATH_MAX + 16], mode[32];
	size_t k;

	printf("%7s  %-20s %-7s %6s %10s %10s %10s %10s %10s %10s  %s\n",
	       "PID", "NAME", "STATE", "FRAMES", "CURRENT", "PEAK",
	       "TRACER-MEM", "RSS", "ANON", "SAMPLING", "ALLOC");
	for (k = 0; k < l->n; k++) {
		const struct seg_info *i = &l->v[k];

		if (i->tracing)
			snprintf(frames, sizeof(frames), "%" PRIu32,
				 i->frames);
		else
			snprintf(frames, sizeof(frames), "-");
		/* 0: a tracer that predates these figures */
		if (i->rss_bytes) {
			human(i->rss_bytes, rss, sizeof(rss));
			human(i->anon_bytes, anon, sizeof(anon));
		} else {
			snprintf(rss, sizeof(rss), "-");
			snprintf(anon, sizeof(anon), "-");
		}
		if (i->alloc_mode == SEG_ALLOC_BYPASSED)
			snprintf(alloc, sizeof(alloc), "bypassed (%s)",
				 i->alloc_path[0] ? i->alloc_path : "?");
		else if (i->alloc_path[0])
			printable(i->alloc_path, alloc, sizeof(alloc));
		else
			snprintf(alloc, sizeof(alloc), "glibc");
		if (!i->tracing)
			snprintf(mode, sizeof(mode), "-");
		else if (!i->sampling)
			snprintf(mode, sizeof(mode), "exact");
		else
			human(i->sampling, mode, sizeof(mode));
		printf("%7" PRId32 "  %-20s %-7s %6s %10s %10s %10s %10s %10s"
		       " %10s  %s\n",
		       i->pid, printable(i->name, name, sizeof(name)),
		       state_of(i), frames,
		       human(i->traced_current, cur, sizeof(cur)),
		       human(i->traced_peak, peak, sizeof(peak)),
		       human(i->tracer_memory, mem, sizeof(mem)), rss, anon,
		       mode, alloc);
	}
}

static int
cmd_hawk_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "clean", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ps_list l = { 0 };
	struct ps_bad b = { &l, NULL, 0 };
	const char *dir = NULL;
	int c, json = 0, rc, status = 0;
	size_t k, kept;

	while ((c = getopt_long(argc, argv, "+:d:cjh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				bad_usage("ps: --dir must not be empty");
			dir = optarg;
			break;
		case 'c':
			b.clean = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(usage_ps, stdout);
			return finish_output();
		default:
			bad_option("ps", c, argv);
		}
	}
	if (optind < argc)
		bad_usage("ps: unexpected argument '%s'", argv[optind]);
	dir = seg_dir(dir);
	b.dir = dir;

	rc = seg_list(dir, ps_collect, ps_invalid, &b);
	if (l.oom) {
		fprintf(stderr, "hawk: ps: out of memory\n");
		free(l.v);
		return 1;
	}
	if (rc == -EPERM) {
		char why[4400];
		int fd = seg_dir_open(dir, why, sizeof(why));

		if (fd >= 0)
			close(fd);
		fprintf(stderr, "hawk: ps: %s\n", why);
		free(l.v);
		return 1;
	}
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "hawk: ps: reading %s: %s\n", dir,
			strerror(-rc));
		free(l.v);
		return 1;
	}
	if (b.clean) {
		for (k = kept = 0; k < l.n; k++) {
			char err[4600];

			if (l.v[k].alive) {
				l.v[kept++] = l.v[k];
				continue;
			}
			rc = seg_remove_dead(dir, l.v[k].pid, err,
					     sizeof(err));
			if (rc == 0) {
				printf("removed dead segment %" PRId32
				       " (%s)\n", l.v[k].pid, l.v[k].name);
			} else {
				fprintf(stderr, "hawk: ps: %s\n", err);
				l.v[kept++] = l.v[k];
				status = 1;
			}
		}
		l.n = kept;
	}
	if (json)
		ps_json(&l);
	else
		ps_table(&l);
	free(l.v);
	return finish_output() || status;
}

/* ---------------------------------------------------------------- serve */

static int
cmd_hawk_serve(int argc, char **argv)
{
	const char *path = getenv("HAWK_SERVE");
	int e;

	if (!path || !*path)
		path = HAWK_SERVE_DEFAULT;
	argv[0] = (char *)path;
	fflush(NULL);
	execv(path, argv);
	e = errno;
	fprintf(stderr, "hawk: serve: %s: %s\n", path, strerror(e));
	return e == ENOENT ? 127 : 126;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	opterr = 0;
	if (argc < 2)
		bad_usage("no command given");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return finish_output();
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("hawk %s\n", PACKAGE_VERSION);
		return finish_output();
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_hawk_run(argc - 1, argv + 1);
	if (strcmp(cmd, "ps") == 0)
		return cmd_hawk_ps(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return cmd_hawk_serve(argc - 1, argv + 1);
	bad_usage("unknown command '%s'", cmd);
}
