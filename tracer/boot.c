/* SPDX-License-Identifier: MIT */
/*
 * boot.c - initialisation at load time and clean-up at exit.
 *
 * Order at load (constructor, guard set throughout): bind the interposed
 * functions to the allocator they forward to (interpose.c), read the environment
 * (HAWK_DIR, HAWK_NAME unless HAWK_NAME_PID names another process,
 * HAWK_GROUP, HAWK_TRACEMALLOC), choose libunwind's
 * per-thread cache, install the fork handlers, create the segment and the
 * agent, then start tracing if HAWK_TRACEMALLOC asks (every start first
 * warms libunwind up, once: a process that never traces does not pay it).  Allocations
 * made before that (other constructors, the loader) go straight to glibc:
 * tracing is off until started, so no bootstrap pool is needed.
 *
 * HAWK_TRACEMALLOC=N with N outside 1..512 (or not a number) is ignored
 * with one message on stderr; the process runs untraced.  HAWK_SAMPLE=B
 * makes that start sampled with a mean of B bytes between samples (k/M/G
 * suffixes; 0 = exact); alone it starts sampled tracing with 30 frames;
 * a malformed value is reported and nothing is traced.
 * HAWK_SAMPLE_SEED=N fixes the sampler's random sequence (tests).  HAWK_GROUP
 * naming a group the process is not in is ignored likewise (mode 0600).
 * HAWK_STATS=1 prints one line of table statistics on stderr at exit
 * (bench/run.sh reads it).
 *
 * At exit (destructor; also when a fork child exits): stop the agent and
 * remove this process's segment.  The tables are left alone: other
 * threads may still be allocating.  _exit and _Exit, which skip the
 * destructors (dash ends every `sh -c` with _exit, so every system() and
 * popen() did; so do python's os._exit, forked workers, failed execs),
 * are interposed to remove the segment too.  A process killed by a
 * signal leaves its segment: the next target of the same uid removes it
 * (seg_writer_create's clean-up).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "blocks.h"
#include "control.h"
#include "fastunw.h"
#include "estimate.h"
#include "fork.h"
#include "intern.h"
#include "interpose.h"
#include "sample.h"
#include "unwind.h"

extern char *program_invocation_short_name;

static int stats_at_exit;
static void (*real_exit)(int);
static void (*real_Exit)(int);

/* Parse a decimal 1..SEG_FRAMES_MAX, or return 0. */
static uint32_t
parse_frames(const char *s)
{
	uint32_t v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > SEG_FRAMES_MAX)
			return 0;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	return v <= SEG_FRAMES_MAX ? v : 0;
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* HAWK_NAME applies unless HAWK_NAME_PID names another process (hawk run
 * --name: the name is the process it exec'd and its fork children's,
 * which keep it in memory, not that of a program exec'd later). */
static int
name_is_ours(void)
{
	const char *s = getenv("HAWK_NAME_PID");
	long v = 0;

	if (!s || !*s)
		return 1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000000L)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v == (long)getpid();
}

static void
read_group(const char *name)
{
	struct group *gr = getgrnam(name);
	gid_t groups[256];
	int n, i;

	if (!gr) {
		agent_msg("HAWK_GROUP=", name, ": no such group; using 0600");
		return;
	}
	if (gr->gr_gid == getegid())
		goto member;
	n = getgroups(256, groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			goto member;
	agent_msg("HAWK_GROUP=", name,
		  ": not a group of this process; using 0600");
	return;
member:
	agent_mode = 0660;
	agent_gid = gr->gr_gid;
}

__attribute__((constructor)) static void
boot_init(void)
{
	const char *s;
	uint32_t frames = 0;
	uint64_t sampling = 0;
	int sample_env_bad = 0;

	guard_active = 1;
	/* first: which allocator every malloc goes to from now on */
	interpose_bind();
	agent_alloc_mode = (uint32_t)interpose_mode;
	copy_str(agent_alloc_path, sizeof(agent_alloc_path),
		 interpose_provider);
	real_exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
	real_Exit = (void (*)(int))dlsym(RTLD_NEXT, "_Exit");
	creds_init();
	s = getenv("HAWK_DIR");
	copy_str(agent_dir, sizeof(agent_dir), s && *s ? s : SEG_DIR_DEFAULT);
	s = getenv("HAWK_NAME");
	if (!s || !*s || !name_is_ours())
		s = program_invocation_short_name;
	copy_str(agent_name, sizeof(agent_name), s ? s : "");
	s = getenv("HAWK_GROUP");
	if (s && *s)
		read_group(s);
	s = getenv("HAWK_STATS");
	stats_at_exit = s && *s == '1';
	s = getenv("HAWK_TRACEMALLOC");
	if (s && *s) {
		frames = parse_frames(s);
		if (!frames)
			agent_msg("HAWK_TRACEMALLOC=", s,
				  ": not a frame count 1..512; not tracing");
	}

	if (unwind_init() < 0) {
		agent_msg("libunwind does not work here; tracing disabled",
			  "", "");
		guard_active = 0;
		return;
	}
	s = getenv("HAWK_SAMPLE");
	if (s && *s) {
		if (snap_parse_sampling(s, &sampling) < 0) {
			agent_msg("HAWK_SAMPLE=", s, ": not a number of bytes "
				  "0..1G (k/M/G suffixes); not tracing");
			sample_env_bad = 1;
		} else if (sampling && !frames &&
			   !getenv("HAWK_TRACEMALLOC")) {
			frames = SEG_FRAMES_DEFAULT;
		}
	}
	s = getenv("HAWK_SAMPLE_SEED");
	if (s && *s)
		core_sample_seed = strtoull(s, NULL, 0);

	s = getenv("HAWK_UNWIND");
	if (fu_init(s) == -EINVAL)
		agent_msg("HAWK_UNWIND=", s,
			  ": not fast, libunwind or check; using fast");
	core_init();
	control_hooks_init(&core_hot, &interpose_rec);
	control_hooks_sampled(&interpose_sample);
	/* the tables accept generation 0 until the first start */
	intern_reset(0);
	blocks_reset(0);
	if (fork_init() < 0)
		agent_msg("pthread_atfork failed", "", "");
	/* without a segment nobody could see or stop it: no tracing */
	if (agent_start() == 0 && frames && !sample_env_bad) {
		control_take();
		control_start_sampled(frames, 0, sampling);
		agent_publish_status();
		control_give();
	}
	guard_active = 0;
}

static void
put_num(char *buf, size_t *len, const char *key, uint64_t v)
{
	char tmp[24];
	int n = 0;

	while (*key)
		buf[(*len)++] = *key++;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[(*len)++] = tmp[--n];
}

static void
print_stats(void)
{
	char line[384];
	size_t len = 0;
	struct fu_stats fs;

	put_num(line, &len, "hawk: stats blocks=", blocks_count());
	put_num(line, &len, " blocks_bytes=", blocks_bytes());
	put_num(line, &len, " traces=", intern_count());
	put_num(line, &len, " traces_bytes=", intern_bytes());
	put_num(line, &len, " memory=", arena_bytes() + sample_bytes());
	put_num(line, &len, " sampled=", sample_count());
	put_num(line, &len, " sampled_bytes=", sample_table_bytes());
	put_num(line, &len, " sampled_current=", sample_current());
	fu_get_stats(&fs);
	put_num(line, &len, " unwind_fallback=", fs.fallback);
	put_num(line, &len, " unwind_rules=", fs.parsed);
	if (fu_mode == FU_CHECK) {
		put_num(line, &len, " unwind_checked=", fs.checked);
		put_num(line, &len, " unwind_mismatch=", fs.mismatch);
	}
	line[len++] = '\n';
	if (write(2, line, len) < 0)
		return;
}

__attribute__((destructor)) static void
boot_fini(void)
{
	guard_active = 1;
	if (stats_at_exit)
		print_stats();
	agent_shutdown();
	guard_active = 0;
}

/* _exit and _Exit: remove the segment, then the real one.  The real
 * functions are resolved at load (boot_init): no dlsym here, which could
 * wait for the loader's lock in a vfork child whose parent's other thread
 * holds it. */
static __attribute__((noreturn)) void
leave(void (*real)(int), int status)
{
	guard_active = 1;
	agent_exit_now();
	if (real)
		real(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

HAWK_EXPORT void
_exit(int status)
{
	leave(real_exit, status);
}

HAWK_EXPORT void
_Exit(int status)
{
	leave(real_Exit, status);
}
