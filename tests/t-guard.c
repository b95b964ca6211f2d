/* SPDX-License-Identifier: MIT */
/*
 * t-guard.c - unit test of tracer/guard.h's lock-order check (built with
 * HAWK_DEBUG whatever the configuration): locks taken in the declared
 * order pass and leave nothing held; a lock of a lower rank, a lower
 * shard of the same rank or the same shard twice aborts the process with
 * a message naming both locks.  Each violation runs in a child process.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"
#include "tap.h"

static pthread_mutex_t ctl = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reg = PTHREAD_MUTEX_INITIALIZER;
static struct lock intern[64], blocks[64];

static int
none_held(void)
{
	unsigned r;

	for (r = 0; r < LOCK_RANK_N; r++)
		if (guard_witness_held[r])
			return 0;
	return 1;
}

/* Run fn in a child with stderr in a pipe: 1 if it died of SIGABRT with
 * `msg` as its stderr, 0 otherwise (the reason goes to diag). */
static int
aborts_with(void (*fn)(void), const char *msg)
{
	char buf[256];
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return 0;
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigaction(SIGABRT, &sa, NULL);
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len,
			 sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
		diag("child did not abort (status %#x)", status);
		return 0;
	}
	if (strcmp(buf, msg) != 0) {
		diag("stderr: %s", buf);
		return 0;
	}
	return 1;
}

static void
intern_under_blocks(void)
{
	lock_take(&blocks[0], LOCK_RANK_BLOCKS, 0);
	lock_take(&intern[0], LOCK_RANK_INTERN, 0);
}

static void
lower_shard(void)
{
	lock_take(&intern[5], LOCK_RANK_INTERN, 5);
	lock_take(&intern[3], LOCK_RANK_INTERN, 3);
}

static void
same_shard_twice(void)
{
	lock_take(&intern[2], LOCK_RANK_INTERN, 2);
	lock_take(&intern[2], LOCK_RANK_INTERN, 2);
}

static void
ctl_under_defer(void)
{
	mutex_take(&reg, LOCK_RANK_DEFER);
	mutex_take(&ctl, LOCK_RANK_CTL);
}

int
main(void)
{
	unsigned i;

	/* the order of fork's prepare: everything, lowest first */
	mutex_take(&ctl, LOCK_RANK_CTL);
	mutex_take(&reg, LOCK_RANK_DEFER);
	for (i = 0; i < 64; i++)
		lock_take(&intern[i], LOCK_RANK_INTERN, i);
	for (i = 0; i < 64; i++)
		lock_take(&blocks[i], LOCK_RANK_BLOCKS, i);
	ok(guard_witness_held[LOCK_RANK_INTERN] == ~(uint64_t)0 &&
	   guard_witness_held[LOCK_RANK_BLOCKS] == ~(uint64_t)0,
	   "every shard taken in order is recorded as held");
	for (i = 64; i-- > 0;)
		lock_give(&blocks[i], LOCK_RANK_BLOCKS, i);
	for (i = 64; i-- > 0;)
		lock_give(&intern[i], LOCK_RANK_INTERN, i);
	mutex_give(&reg, LOCK_RANK_DEFER);
	mutex_give(&ctl, LOCK_RANK_CTL);
	ok(none_held(), "given back in any order: nothing held");

	/* the hot path: one shard at a time, any shard, any rank */
	lock_take(&blocks[9], LOCK_RANK_BLOCKS, 9);
	lock_give(&blocks[9], LOCK_RANK_BLOCKS, 9);
	lock_take(&intern[40], LOCK_RANK_INTERN, 40);
	lock_give(&intern[40], LOCK_RANK_INTERN, 40);
	lock_take(&intern[1], LOCK_RANK_INTERN, 1);
	lock_give(&intern[1], LOCK_RANK_INTERN, 1);
	ok(none_held(), "one lock at a time, in any order");

	/* a fork child's reset */
	mutex_take(&ctl, LOCK_RANK_CTL);
	lock_take(&blocks[0], LOCK_RANK_BLOCKS, 0);
	witness_reset();
	ok(none_held(), "witness_reset forgets every lock");
	lock_give(&blocks[0], LOCK_RANK_BLOCKS, 0);
	pthread_mutex_unlock(&ctl);

#define MSG "hawk: lock order violated: taking "
	ok(aborts_with(intern_under_blocks,
		       MSG "intern shard 0 while holding: blocks shard\n"),
	   "an intern shard under a blocks shard aborts");
	ok(aborts_with(lower_shard,
		       MSG "intern shard 3 while holding: intern shard\n"),
	   "a lower shard of the same rank aborts");
	ok(aborts_with(same_shard_twice,
		       MSG "intern shard 2 while holding: intern shard\n"),
	   "the same shard twice aborts");
	ok(aborts_with(ctl_under_defer,
		       MSG "control_lock 0 while holding: defer registry\n"),
	   "control_lock under the defer registry aborts");
	return done_testing();
}
