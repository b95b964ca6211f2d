/* SPDX-License-Identifier: MIT */
/*
 * seg_write.c - the segment writer and the agent side of the command
 * protocol, used inside the target by tracer/.  Layout in segment.h, API
 * in seg_write.h.
 *
 * Invariants
 *  - Never calls malloc, stdio or anything that may: it runs before the
 *    tracer is initialised, in a fork child handler and at exit.  Numbers
 *    are formatted by hand, files read with read(2).
 *  - A segment becomes visible under its final name only once it is
 *    initialised and its SEG_LOCK_ALIVE lock is held: it is built as a
 *    temporary file and renamed over "<pid>.seg" (which also replaces an
 *    exec'd predecessor's segment of the same pid).
 *  - Every descriptor is O_CLOEXEC, so exec and exit drop the alive lock.
 *  - Futexes are shared (no FUTEX_PRIVATE_FLAG): the header is a shared
 *    file mapping that other processes wait on.
 */
#include "config.h"

#include "seg_write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>            /* renameat only: no stdio streams */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "seg_proc.h"

/* Append the decimal form of v to buf at *len (bounded by cap). */
static void
put_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && *len + 1 < cap)
		buf[(*len)++] = tmp[--n];
	buf[*len] = '\0';
}

static void
put_str(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

/* Field 22 of /proc/self/stat: start time in clock ticks since boot, or
 * 0 when it cannot be read (the reader then counts the target as dead). */
static uint64_t
self_start_time(void)
{
	uint64_t v;

	return seg_proc_self_start_time(&v) == 0 ? v : 0;
}

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Open (creating if missing) the segment directory, refusing a symlink.
 * The default shared directory is created 01777 like /tmp so that several
 * users' targets can share it; any other directory we create is 0700.
 */
static int
open_dir(const char *dir)
{
	int fd;
	int shared = strcmp(dir, SEG_DIR_DEFAULT) == 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	if (mkdir(dir, shared ? 01777 : 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (shared) {
		struct stat st;

		/* mkdir's mode went through the umask; fix it if it is ours */
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_mode & 07777) != 01777)
			fchmod(fd, 01777);
	}
	return fd;
}

int
seg_writer_create(struct seg_writer *w, const char *dir, const char *name,
		  uint32_t max_frames, mode_t mode, gid_t gid)
{
	char tmp[64], fin[64];
	size_t len;
	int fd = -1, dfd, rc, tries;
	struct seg_header *h = MAP_FAILED;
	struct flock fl;

	memset(w, 0, sizeof(*w));
	w->fd = w->dirfd = -1;
	w->h = NULL;
	w->pid = (int32_t)getpid();
	if (mode != 0600 && mode != 0660)
		return -EINVAL;

	len = 0;
	put_str(w->path, sizeof(w->path), &len, dir);
	put_str(w->path, sizeof(w->path), &len, "/");
	put_u64(w->path, sizeof(w->path), &len, (uint64_t)w->pid);
	put_str(w->path, sizeof(w->path), &len, SEG_SUFFIX);

	len = 0;
	put_u64(fin, sizeof(fin), &len, (uint64_t)w->pid);
	put_str(fin, sizeof(fin), &len, SEG_SUFFIX);
	len = 0;
	put_str(tmp, sizeof(tmp), &len, ".");
	put_str(tmp, sizeof(tmp), &len, fin);
	put_str(tmp, sizeof(tmp), &len, ".tmp");

	dfd = open_dir(dir);
	if (dfd < 0)
		return dfd;

	for (tries = 0; tries < 2; tries++) {
		fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
		/* a leftover of a dead process with our pid */
		unlinkat(dfd, tmp, 0);
	}
	if (fd < 0) {
		rc = -errno;
		goto fail_dir;
	}
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto fail_file;
	}
	if (mode == 0660 && gid != (gid_t)-1 &&
	    fchown(fd, (uid_t)-1, gid) < 0) {
		rc = -errno;
		goto fail_file;
	}
	if (ftruncate(fd, SEG_HEADER_SIZE) < 0) {
		rc = -errno;
		goto fail_file;
	}
	h = mmap(NULL, SEG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (h == MAP_FAILED) {
		rc = -errno;
		goto fail_file;
	}
	h->magic = SEG_MAGIC;
	h->version = SEG_VERSION;
	h->header_size = SEG_HEADER_SIZE;
	h->pid = w->pid;
	h->start_time = self_start_time();
	len = 0;
	put_str(h->name, sizeof(h->name), &len, name ? name : "");
	h->max_frames = max_frames;
	h->heartbeat_ns = now_ns(CLOCK_MONOTONIC);

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SEG_LOCK_ALIVE;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		rc = -errno;
		goto fail_map;
	}
	if (renameat(dfd, tmp, dfd, fin) < 0) {
		rc = -errno;
		goto fail_map;
	}
	atomic_store_explicit((_Atomic uint32_t *)&h->ready, 1,
			      memory_order_release);
	w->fd = fd;
	w->dirfd = dfd;
	w->h = h;
	return 0;

fail_map:
	munmap(h, SEG_HEADER_SIZE);
fail_file:
	close(fd);
	unlinkat(dfd, tmp, 0);
fail_dir:
	close(dfd);
	return rc;
}

/* Release mapping and descriptors (the file stays). */
static void
release(struct seg_writer *w)
{
	if (w->h)
		munmap(w->h, SEG_HEADER_SIZE);
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->h = NULL;
	w->fd = w->dirfd = -1;
}

void
seg_writer_remove(struct seg_writer *w)
{
	char fin[64];
	size_t len = 0;
	struct stat a, b;

	if (w->fd < 0)
		return;
	put_u64(fin, sizeof(fin), &len, (uint64_t)w->pid);
	put_str(fin, sizeof(fin), &len, SEG_SUFFIX);
	/* only if the name still refers to our file (not a successor's) */
	if (fstat(w->fd, &a) == 0 &&
	    fstatat(w->dirfd, fin, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlinkat(w->dirfd, fin, 0);
	release(w);
}

void
seg_writer_forget(struct seg_writer *w)
{
	/*
	 * The alive lock belongs to the open file description, which the
	 * parent still holds: closing our copy of the descriptor leaves it.
	 */
	release(w);
}

static long
futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
      const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

int
seg_agent_wait(struct seg_writer *w, int timeout_ms)
{
	struct seg_header *h = w->h;
	_Atomic uint32_t *state;
	uint32_t s, posted;
	struct timespec ts;

	if (!h)
		return -EBADF;
	state = (_Atomic uint32_t *)&h->cmd_state;
	h->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	s = atomic_load_explicit(state, memory_order_acquire);
	if (s != CMD_POSTED) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		/* one wait: a wake-up without a command returns 0 so that the
		 * caller can look at its own flags (e.g. exit) */
		if (futex(state, FUTEX_WAIT, s, &ts) < 0 &&
		    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return -errno;
		h->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	}
	posted = CMD_POSTED;
	if (atomic_compare_exchange_strong_explicit(state, &posted, CMD_TAKEN,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return 1;
	return 0;
}

void
seg_agent_done(struct seg_writer *w, int result, uint32_t snap_seq)
{
	struct seg_header *h = w->h;

	if (!h)
		return;
	h->cmd_result = result;
	h->snap_seq = snap_seq;
	h->cmd_count++;
	atomic_store_explicit((_Atomic uint32_t *)&h->cmd_state, CMD_DONE,
			      memory_order_release);
	futex((_Atomic uint32_t *)&h->cmd_state, FUTEX_WAKE, INT_MAX, NULL);
}

static void
snap_name(char *buf, size_t cap, int32_t pid, uint32_t seq)
{
	size_t len = 0;

	put_u64(buf, cap, &len, (uint64_t)pid);
	put_str(buf, cap, &len, SNAP_INFIX);
	put_u64(buf, cap, &len, seq);
}

int
snap_writer_open(struct snap_writer *sw, struct seg_writer *w, uint32_t seq)
{
	char name[64];
	struct stat st;
	mode_t mode = 0600;

	sw->fd = -1;
	sw->err = 0;
	sw->off = 0;
	if (w->fd < 0)
		return sw->err = -EBADF;
	if (fstat(w->fd, &st) == 0)
		mode = st.st_mode & 0660;
	snap_name(name, sizeof(name), w->pid, seq);
	sw->fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
			O_NOFOLLOW | O_CLOEXEC, mode);
	if (sw->fd < 0)
		return sw->err = -errno;
	/* same owner group and mode as the segment, whatever the umask */
	fchmod(sw->fd, mode);
	if (mode & 0060)
		fchown(sw->fd, (uid_t)-1, st.st_gid);
	return 0;
}

/* pwrite all of buf at off, or make the error sticky; bytes written. */
static uint64_t
write_at(struct snap_writer *sw, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	uint64_t done = 0;
	ssize_t n;

	while (!sw->err && len) {
		n = pwrite(sw->fd, p, len, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sw->err = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
		done += (uint64_t)n;
	}
	return done;
}

void
snap_writer_write(struct snap_writer *sw, const void *buf, size_t len)
{
	sw->off += write_at(sw, buf, len, sw->off);
}

void
snap_writer_pwrite(struct snap_writer *sw, const void *buf, size_t len,
		   uint64_t off)
{
	write_at(sw, buf, len, off);
}

void
snap_writer_align(struct snap_writer *sw)
{
	static const char zero[8];

	if (sw->off % 8)
		snap_writer_write(sw, zero, 8 - sw->off % 8);
}

int
snap_writer_close(struct snap_writer *sw)
{
	if (sw->fd >= 0 && close(sw->fd) < 0 && !sw->err)
		sw->err = -errno;
	sw->fd = -1;
	return sw->err;
}

void
snap_writer_unlink(struct seg_writer *w, uint32_t seq)
{
	char name[64];

	if (w->dirfd < 0)
		return;
	snap_name(name, sizeof(name), w->pid, seq);
	unlinkat(w->dirfd, name, 0);
}
