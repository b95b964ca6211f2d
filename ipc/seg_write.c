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
 *  - The target never loads or stores through its mapping of the
 *    segment: anyone who may write the file (the group in HAWK_GROUP
 *    mode) may also truncate it, and a load from a truncated shared
 *    mapping is a SIGBUS that would kill the target.  Every access goes
 *    through the kernel instead, which answers EIO/EFAULT where the
 *    process would die: pread/pwrite for fields, the futex system call
 *    for waits and wake-ups, and FUTEX_WAKE_OP for the two atomic
 *    transitions of cmd_state the agent makes (POSTED->TAKEN by XOR 3,
 *    ->DONE by SET).  The mapping exists only to name the futex word.
 *    The agent checks the file at its tick (seg_writer_check) and makes a
 *    new segment when it was truncated, replaced or removed.
 *  - The file is allocated (posix_fallocate) before anything is written:
 *    a full file system is an error at creation, never a SIGBUS later in
 *    a reader that maps it.
 *  - A segment becomes visible under its final name only once it is
 *    initialised and its SEG_LOCK_ALIVE lock is held: it is built as a
 *    temporary file of an unpredictable name and renamed over
 *    "<pid>.seg" (which also replaces an exec'd predecessor's segment of
 *    the same pid), or to "<pid>.<tag>.seg" when someone else's file
 *    holds that name (segment.h: names).
 *  - The directory must be the user's or root's, and sticky if everyone
 *    may write in it; a creation (and a normal exit) removes a bounded
 *    number of dead files (seg_writer_clean).
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
#include <signal.h>           /* kill(pid, 0) */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>            /* renameat(2) only: no stdio streams */
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>       /* GRND_NONBLOCK */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
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

/* A random 32-bit value, never 0: getrandom, else clock and pid mixed. */
static uint32_t
rand32(void)
{
	static _Atomic uint64_t counter;
	uint64_t x = 0;

	if (syscall(SYS_getrandom, &x, sizeof(x), GRND_NONBLOCK) !=
	    (long)sizeof(x)) {
		x = now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32) ^
		    atomic_fetch_add(&counter, 0x9e3779b97f4a7c15u);
		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9u;
		x ^= x >> 29;
	}
	x ^= x >> 32;
	return (uint32_t)x ? (uint32_t)x : 1u;
}

/* 8 lowercase hex digits of v. */
static void
put_hex32(char *buf, size_t cap, size_t *len, uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 7; i >= 0 && *len + 1 < cap; i--)
		buf[(*len)++] = hex[(v >> (4 * i)) & 15];
	buf[*len] = '\0';
}

/* "why" for a refused directory, into w->why. */
static int
refuse_dir(struct seg_writer *w, const char *a, uint64_t num, const char *b)
{
	size_t len = 0;

	put_str(w->why, sizeof(w->why), &len, a);
	if (b) {
		put_u64(w->why, sizeof(w->why), &len, num);
		put_str(w->why, sizeof(w->why), &len, b);
	}
	return -EPERM;
}

/*
 * Open (creating if missing) the segment directory, refusing a symlink
 * and a directory that someone else could use against us: it must belong
 * to this process's effective uid or to root, and if everyone may write
 * in it, it must be sticky (as /tmp) so that nobody can remove or replace
 * another's files.  A group-writable directory is accepted: its owner
 * chose to trust that group (the HAWK_GROUP set-up, README "Security").  The default shared directory is created 01777 like
 * /tmp so that several users' targets can share it; any other directory
 * we create is 0700.
 */
static int
open_dir(struct seg_writer *w, const char *dir)
{
	int fd;
	int shared = strcmp(dir, SEG_DIR_DEFAULT) == 0;
	struct stat st;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, shared ? 01777 : 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			  O_CLOEXEC);
		/* mkdir's mode went through the umask; fix it if it is ours */
		if (fd >= 0 && shared && fstat(fd, &st) == 0 &&
		    st.st_uid == geteuid() && (st.st_mode & 07777) != 01777)
			fchmod(fd, 01777);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return refuse_dir(w, "owned by uid ", st.st_uid,
				  ", neither this process's uid nor root");
	}
	if ((st.st_mode & 0002) && !(st.st_mode & S_ISVTX)) {
		close(fd);
		return refuse_dir(w, "writable by all without the sticky "
				  "bit (chmod +t)", 0, NULL);
	}
	return fd;
}

/* pread/pwrite exactly len bytes at off of the segment: 0 or -errno
 * (-EIO for a short transfer: the file was truncated under us). */
static int
seg_pread(const struct seg_writer *w, void *buf, size_t len, size_t off)
{
	ssize_t n = pread(w->fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int
seg_pwrite(const struct seg_writer *w, const void *buf, size_t len,
	   size_t off)
{
	ssize_t n = pwrite(w->fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

#define FIELD_OFF(f) offsetof(struct seg_header, f)

/*
 * Kinds of names in the segment directory (see segment.h):
 *   "<pid>.seg", "<pid>.<tag>.seg"      segments
 *   "<pid>.snap.<seq>"                  snapshots
 *   ".<pid>.seg.<tag>.tmp"              a segment being created
 * Returns the kind and sets *pid, or NAME_OTHER.
 */
enum name_kind { NAME_OTHER, NAME_SEG, NAME_SNAP, NAME_TMP };

static const char *
parse_pid(const char *p, int32_t *pid)
{
	int64_t v = 0;

	if (*p < '1' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return NULL;
	}
	*pid = (int32_t)v;
	return p;
}

static int
is_hex8(const char *p)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static enum name_kind
name_kind(const char *name, int32_t *pid)
{
	const char *p;

	if (name[0] == '.') {
		p = parse_pid(name + 1, pid);
		if (!p || strncmp(p, ".seg.", 5) != 0)
			return NAME_OTHER;
		p += 4;                        /* at ".<tag>.tmp" or ".tmp" */
		if (strcmp(p, ".tmp") == 0)
			return NAME_TMP;       /* before the tags */
		if (p[0] == '.' && is_hex8(p + 1) && strcmp(p + 9, ".tmp") == 0)
			return NAME_TMP;
		return NAME_OTHER;
	}
	p = parse_pid(name, pid);
	if (!p)
		return NAME_OTHER;
	if (strcmp(p, SEG_SUFFIX) == 0)
		return NAME_SEG;
	if (p[0] == '.' && is_hex8(p + 1) && strcmp(p + 9, SEG_SUFFIX) == 0)
		return NAME_SEG;
	if (strncmp(p, SNAP_INFIX, sizeof(SNAP_INFIX) - 1) == 0) {
		p += sizeof(SNAP_INFIX) - 1;
		if (*p < '0' || *p > '9')
			return NAME_OTHER;
		while (*p >= '0' && *p <= '9')
			p++;
		return *p ? NAME_OTHER : NAME_SNAP;
	}
	return NAME_OTHER;
}

/* 1 when some process holds the alive lock of the segment open as fd. */
static int
locked_alive(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SEG_LOCK_ALIVE;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return 1;              /* cannot tell: keep it */
	return fl.l_type != F_UNLCK;
}

/*
 * Remove dead files from the directory: segments whose alive lock nobody
 * holds (their process exited by a signal, or exec'd a program without
 * libhawk), and snapshots and half-created segments of pids that no
 * longer exist.  Any user's that this process may open and remove (its
 * own; any in a group directory it may write; all for root): a dead file
 * is nobody's business any more.  Bounded work per call: at most
 * SEG_CLEAN_SCAN entries looked at, SEG_CLEAN_OPEN segments opened,
 * SEG_CLEAN_UNLINK files removed, so a start costs little even in a big
 * directory, and since every start removes more than the one file a
 * process can leave, dead files do not accumulate.  Pids are this pid
 * namespace's: one directory per pid namespace (README).
 */
void
seg_writer_clean(struct seg_writer *w)
{
	char buf[2048] __attribute__((aligned(8)));
	unsigned scanned = 0, opened = 0, removed = 0;
	uid_t me = geteuid();
	struct stat dst;
	int dfd, any;
	long n;

	dfd = openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	/* whose files we could remove at all: in a sticky directory only
	 * our own, unless we are root or own the directory (so that files
	 * others made cannot use up the bounds below) */
	any = me == 0 || (fstat(dfd, &dst) == 0 &&
			  (!(dst.st_mode & S_ISVTX) || dst.st_uid == me));
	while (scanned < SEG_CLEAN_SCAN && removed < SEG_CLEAN_UNLINK &&
	       (n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n && removed < SEG_CLEAN_UNLINK) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			const char *name = buf + off + 19;
			enum name_kind kind;
			struct stat st, now;
			int32_t pid = 0;
			int fd, dead;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			scanned++;
			kind = name_kind(name, &pid);
			/* of our pid, only an exec'd predecessor's segment
			 * under another name than ours */
			if (kind == NAME_OTHER || (pid == w->pid &&
			    (kind != NAME_SEG || strcmp(name, w->file) == 0)))
				continue;
			/* a snapshot is a socket (a regular file before
			 * version 3) */
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !(S_ISREG(st.st_mode) || (kind == NAME_SNAP &&
						      S_ISSOCK(st.st_mode))) ||
			    (!any && st.st_uid != me))
				continue;
			/* a segment is renamed into place whole: another size
			 * is not a live one (or one its agent is replacing) */
			if (kind == NAME_SEG && st.st_size != SEG_HEADER_SIZE) {
				if (unlinkat(dfd, name, 0) == 0)
					removed++;
				continue;
			}
			if (kind != NAME_SEG) {
				if (kill(pid, 0) == 0 || errno != ESRCH)
					continue;
				if (unlinkat(dfd, name, 0) == 0)
					removed++;
				continue;
			}
			if (opened >= SEG_CLEAN_OPEN)
				continue;
			opened++;
			fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
				    O_NONBLOCK | O_NOCTTY);
			if (fd < 0)
				continue;
			dead = !locked_alive(fd) && fstat(fd, &st) == 0 &&
			       fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
			       st.st_ino == now.st_ino && st.st_dev == now.st_dev;
			close(fd);
			if (dead && unlinkat(dfd, name, 0) == 0)
				removed++;
		}
	}
	close(dfd);
}

/* Is "<dir>/<fin>" free for us to rename over: missing, or a regular
 * file of our own (a predecessor's of this pid, dead or exec'd)?  A file
 * of someone else's there is a squatter's (or of a dead process of
 * another uid): we must not and in a sticky directory cannot replace it. */
static int
name_ours(int dfd, const char *fin)
{
	struct stat st;

	if (fstatat(dfd, fin, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode) && st.st_uid == geteuid();
}

int
seg_writer_create(struct seg_writer *w, const char *dir, const char *name,
		  uint32_t max_frames, mode_t mode, gid_t gid)
{
	char tmp[64], fin[64];
	size_t len;
	int fd = -1, dfd, rc, tries, e;
	struct seg_header *h = MAP_FAILED;
	struct seg_header hdr;
	struct flock fl;

	memset(w, 0, sizeof(*w));
	w->fd = w->dirfd = -1;
	w->h = NULL;
	w->pid = (int32_t)getpid();
	w->start_time = self_start_time();
	len = 0;
	put_str(w->name, sizeof(w->name), &len, name ? name : "");
	if (mode != 0600 && mode != 0660)
		return -EINVAL;

	dfd = open_dir(w, dir);
	if (dfd < 0)
		return dfd;

	/* an unpredictable temporary name: nobody can squat it */
	for (tries = 0; tries < 16; tries++) {
		len = 0;
		put_str(tmp, sizeof(tmp), &len, ".");
		put_u64(tmp, sizeof(tmp), &len, (uint64_t)w->pid);
		put_str(tmp, sizeof(tmp), &len, SEG_SUFFIX ".");
		put_hex32(tmp, sizeof(tmp), &len, rand32());
		put_str(tmp, sizeof(tmp), &len, ".tmp");
		fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
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
	/* allocated now: a full file system is an error here, never a
	 * SIGBUS later in whoever maps the file */
	e = posix_fallocate(fd, 0, SEG_HEADER_SIZE);
	if (e) {
		rc = -e;
		goto fail_file;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = SEG_MAGIC;
	hdr.version = SEG_VERSION;
	hdr.header_size = SEG_HEADER_SIZE;
	hdr.pid = w->pid;
	hdr.start_time = w->start_time;
	memcpy(hdr.name, w->name, sizeof(hdr.name));
	hdr.max_frames = max_frames;
	hdr.heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	hdr.ready = 1;             /* invisible until renamed: complete */
	w->fd = fd;
	rc = seg_pwrite(w, &hdr, sizeof(hdr), 0);
	w->fd = -1;
	if (rc < 0)
		goto fail_file;
	/* the futex words' addresses; never loaded or stored through */
	h = mmap(NULL, SEG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (h == MAP_FAILED) {
		rc = -errno;
		goto fail_file;
	}

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SEG_LOCK_ALIVE;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		rc = -errno;
		goto fail_map;
	}

	/* "<pid>.seg", or "<pid>.<tag>.seg" where that name is squatted */
	len = 0;
	put_u64(fin, sizeof(fin), &len, (uint64_t)w->pid);
	put_str(fin, sizeof(fin), &len, SEG_SUFFIX);
	rc = -EEXIST;
	if (name_ours(dfd, fin))
		rc = renameat(dfd, tmp, dfd, fin) < 0 ? -errno : 0;
	for (tries = 0; rc < 0 && tries < 16; tries++) {
		if (rc != -EEXIST && rc != -EPERM && rc != -EACCES)
			goto fail_map;
		len = 0;
		put_u64(fin, sizeof(fin), &len, (uint64_t)w->pid);
		put_str(fin, sizeof(fin), &len, ".");
		put_hex32(fin, sizeof(fin), &len, rand32());
		put_str(fin, sizeof(fin), &len, SEG_SUFFIX);
		rc = renameat2(dfd, tmp, dfd, fin, RENAME_NOREPLACE) < 0 ?
		     -errno : 0;
	}
	if (rc < 0)
		goto fail_map;
	len = 0;
	put_str(w->file, sizeof(w->file), &len, fin);
	len = 0;
	put_str(w->path, sizeof(w->path), &len, dir);
	put_str(w->path, sizeof(w->path), &len, "/");
	put_str(w->path, sizeof(w->path), &len, fin);
	w->fd = fd;
	w->dirfd = dfd;
	w->h = h;
	w->flags = 0;
	w->heartbeat_ns = hdr.heartbeat_ns;
	seg_writer_clean(w);
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
seg_writer_unlink(struct seg_writer *w)
{
	struct stat a, b;

	if (w->fd < 0 || w->dirfd < 0)
		return;
	/* only if the name still refers to our file (not a successor's) */
	if (fstat(w->fd, &a) == 0 &&
	    fstatat(w->dirfd, w->file, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlinkat(w->dirfd, w->file, 0);
}

void
seg_writer_remove(struct seg_writer *w)
{
	if (w->fd < 0)
		return;
	seg_writer_unlink(w);
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

int
seg_writer_check(struct seg_writer *w)
{
	struct stat st;
	struct seg_header hdr;
	int rc;

	if (w->fd < 0)
		return -EBADF;
	if (fstat(w->fd, &st) < 0)
		return -errno;
	if (st.st_nlink == 0)
		return -ENOENT;
	if (st.st_size != SEG_HEADER_SIZE)
		return -EIO;
	rc = seg_pread(w, &hdr, sizeof(hdr), 0);
	if (rc < 0)
		return rc;
	if (hdr.magic != SEG_MAGIC || hdr.version != SEG_VERSION ||
	    hdr.pid != w->pid || hdr.start_time != w->start_time ||
	    memcmp(hdr.name, w->name, sizeof(hdr.name)) != 0)
		return -EIO;
	return 0;
}

int
seg_writer_publish(struct seg_writer *w, const struct seg_status *st)
{
	struct seg_header b;
	size_t lo = FIELD_OFF(flags), hi = FIELD_OFF(cmd_state);
	int rc;

	/* flags .. reserved0: the status fields, one run of the header */
	if (w->fd < 0)
		return -EBADF;
	memset(&b, 0, sizeof(b));
	w->flags = st->flags;
	b.flags = st->flags;
	b.tracing = st->tracing;
	b.frames = st->frames;
	b.traced_current = st->traced_current;
	b.traced_peak = st->traced_peak;
	b.tracer_memory = st->tracer_memory;
	b.dropped = st->dropped;
	b.heartbeat_ns = w->heartbeat_ns;
	b.last_error = st->last_error;
	b.alloc_mode = st->alloc_mode;
	b.rss_bytes = st->rss_bytes;
	b.anon_bytes = st->anon_bytes;
	if (st->alloc_path) {
		size_t len = 0;

		put_str(b.alloc_path, sizeof(b.alloc_path), &len,
			st->alloc_path);
	}
	b.sampling = st->sampling;
	rc = seg_pwrite(w, (const char *)&b + lo, hi - lo, lo);
	if (rc < 0)
		return rc;
	/* alloc_mode .. the end of alloc_path: the second run */
	lo = FIELD_OFF(alloc_mode);
	hi = FIELD_OFF(alloc_path) + sizeof(b.alloc_path);
	rc = seg_pwrite(w, (const char *)&b + lo, hi - lo, lo);
	if (rc < 0)
		return rc;
	rc = seg_pwrite(w, &b.sampling, sizeof(b.sampling),
			FIELD_OFF(sampling));
	if (rc < 0)
		return rc;
	/* the lease of the tracing session: its own field */
	return seg_pwrite(w, &st->lease_ns, sizeof(st->lease_ns),
			  FIELD_OFF(lease_ns));
}

static long
futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
      const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* Atomic read-modify-write of cmd_state by the kernel (FUTEX_WAKE_OP),
 * then wake up to nr_wake waiters: no SIGBUS if the file was truncated
 * (the kernel answers EFAULT instead). */
static int
state_op(struct seg_writer *w, int op, int oparg, int nr_wake)
{
	_Atomic uint32_t *state = (_Atomic uint32_t *)&w->h->cmd_state;

	if (syscall(SYS_futex, state, FUTEX_WAKE_OP, nr_wake, (void *)0L,
		    state, FUTEX_OP(op, oparg, FUTEX_OP_CMP_EQ, 0)) < 0)
		return -errno;
	return 0;
}

static void
heartbeat(struct seg_writer *w)
{
	w->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	seg_pwrite(w, &w->heartbeat_ns, sizeof(w->heartbeat_ns),
		   FIELD_OFF(heartbeat_ns));
}

int
seg_agent_wait(struct seg_writer *w, int timeout_ms)
{
	uint32_t s, cmd[3];
	struct timespec ts;
	int rc;

	if (!w->h)
		return -EBADF;
	heartbeat(w);
	rc = seg_pread(w, &s, sizeof(s), FIELD_OFF(cmd_state));
	if (rc < 0)
		return rc;
	if (s != CMD_POSTED) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		/* one wait: a wake-up without a command returns 0 so that the
		 * caller can look at its own flags (e.g. exit) */
		if (futex((_Atomic uint32_t *)&w->h->cmd_state, FUTEX_WAIT, s,
			  &ts) < 0 &&
		    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return -errno;
		heartbeat(w);
		rc = seg_pread(w, &s, sizeof(s), FIELD_OFF(cmd_state));
		if (rc < 0)
			return rc;
		if (s != CMD_POSTED)
			return 0;
	}
	/*
	 * Take it: POSTED ^ 3 = TAKEN.  If the client withdrew it meanwhile
	 * (POSTED -> IDLE), IDLE ^ 3 = DONE, which the next client clears as
	 * the leftover of a finished command: exactly one side wins, as with
	 * a compare-and-swap, without our touching the mapping.
	 */
	{
		/* while POSTED the result fields are stale (the previous
		 * command's, collected): clear them, so that a withdrawn
		 * command turned DONE reads as cancelled, not as that one */
		struct {
			int32_t result;
			uint32_t seq;
		} clr = { -ECANCELED, 0 };

		seg_pwrite(w, &clr, sizeof(clr), FIELD_OFF(cmd_result));
	}
	rc = state_op(w, FUTEX_OP_XOR, CMD_POSTED ^ CMD_TAKEN, 0);
	if (rc < 0)
		return rc;
	rc = seg_pread(w, &s, sizeof(s), FIELD_OFF(cmd_state));
	if (rc < 0)
		return rc;
	if (s != CMD_TAKEN)
		return 0;
	rc = seg_pread(w, cmd, sizeof(cmd), FIELD_OFF(cmd_op));
	if (rc < 0)
		return rc;
	w->cmd_op = cmd[0];
	w->cmd_frames = cmd[1];
	w->cmd_flags = cmd[2];
	w->cmd_lease_ns = 0;
	rc = seg_pread(w, &w->cmd_lease_ns, sizeof(w->cmd_lease_ns),
		       FIELD_OFF(cmd_lease_ns));
	if (rc < 0)
		return rc;
	w->cmd_sampling = 0;
	rc = seg_pread(w, &w->cmd_sampling, sizeof(w->cmd_sampling),
		       FIELD_OFF(cmd_sampling));
	if (rc < 0)
		return rc;
	w->cmd_token = 0;
	rc = seg_pread(w, &w->cmd_token, sizeof(w->cmd_token),
		       FIELD_OFF(cmd_token));
	if (rc < 0)
		return rc;
	return 1;
}

void
seg_agent_kick(struct seg_writer *w)
{
	if (w->h)
		futex((_Atomic uint32_t *)&w->h->cmd_state, FUTEX_WAKE,
		      INT_MAX, NULL);
}

void
seg_agent_done(struct seg_writer *w, int result, uint32_t snap_seq)
{
	struct {
		int32_t result;
		uint32_t seq, count;
	} b;

	_Static_assert(offsetof(struct seg_header, snap_seq) ==
		       offsetof(struct seg_header, cmd_result) + 4 &&
		       offsetof(struct seg_header, cmd_count) ==
		       offsetof(struct seg_header, cmd_result) + 8,
		       "result fields are one contiguous run");
	if (!w->h)
		return;
	b.result = result;
	b.seq = snap_seq;
	b.count = ++w->cmd_count;
	seg_pwrite(w, &b, sizeof(b), FIELD_OFF(cmd_result));
	/* DONE, and every waiter woken, in one call */
	state_op(w, FUTEX_OP_SET, CMD_DONE, INT_MAX);
}

static void
snap_name(char *buf, size_t cap, int32_t pid, uint32_t seq)
{
	size_t len = 0;

	put_u64(buf, cap, &len, (uint64_t)pid);
	put_str(buf, cap, &len, SNAP_INFIX);
	put_u64(buf, cap, &len, seq);
}

/* The socket's address: "/proc/self/fd/<dirfd>/<name>", so that it fits
 * sun_path whatever the directory's path (bind and connect resolve the
 * descriptor's link to the directory itself). */
static int
snap_addr(struct sockaddr_un *sa, int dirfd, const char *name)
{
	size_t len = 0;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	put_str(sa->sun_path, sizeof(sa->sun_path), &len, "/proc/self/fd/");
	put_u64(sa->sun_path, sizeof(sa->sun_path), &len, (uint64_t)dirfd);
	put_str(sa->sun_path, sizeof(sa->sun_path), &len, "/");
	put_str(sa->sun_path, sizeof(sa->sun_path), &len, name);
	return len + 1 < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

static void
snap_unlink_name(struct snap_writer *sw)
{
	if (sw->name[0] && sw->dirfd >= 0)
		unlinkat(sw->dirfd, sw->name, 0);
	sw->name[0] = '\0';
}

int
snap_writer_listen(struct snap_writer *sw, struct seg_writer *w,
		   uint32_t *seq)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t mode = 0600;
	int tries, rc;

	memset(sw, 0, sizeof(*sw));
	sw->lfd = sw->fd = -1;
	sw->dirfd = w->dirfd;
	*seq = 0;
	if (w->fd < 0 || w->dirfd < 0)
		return sw->err = -EBADF;
	if (fstat(w->fd, &st) == 0)
		mode = st.st_mode & 0660;
	sw->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0);
	if (sw->lfd < 0)
		return sw->err = -errno;
	/* an unpredictable name, never an existing one: nobody can make our
	 * snapshot fail by creating its name first */
	for (tries = 0; tries < 16; tries++) {
		*seq = rand32();
		snap_name(sw->name, sizeof(sw->name), w->pid, *seq);
		rc = snap_addr(&sa, w->dirfd, sw->name);
		if (rc < 0)
			break;
		rc = bind(sw->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ?
		     -errno : 0;
		if (rc != -EADDRINUSE)
			break;
	}
	if (rc < 0) {
		sw->name[0] = '\0';
		*seq = 0;
		close(sw->lfd);
		sw->lfd = -1;
		return sw->err = rc;
	}
	/* same owner group and mode as the segment, whatever the umask (a
	 * client connecting meanwhile still has to send the token) */
	if (fchmodat(w->dirfd, sw->name, mode, 0) < 0 ||
	    ((mode & 0060) && fchownat(w->dirfd, sw->name, (uid_t)-1,
				       st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) ||
	    listen(sw->lfd, 8) < 0) {
		rc = -errno;
		snap_writer_close(sw);
		*seq = 0;
		return sw->err = rc;
	}
	return 0;
}

static int
ms_left(uint64_t deadline)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000);
}

/* Receive exactly 8 bytes from fd by `deadline`: 0, or -errno. */
static int
snap_token_read(int fd, uint64_t *v, uint64_t deadline)
{
	char *p = (char *)v;
	size_t got = 0;

	while (got < sizeof(*v)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int ms = ms_left(deadline);

		if (!ms)
			return -ETIMEDOUT;
		if (poll(&pf, 1, ms) < 0 && errno != EINTR)
			return -errno;
		n = recv(fd, p + got, sizeof(*v) - got, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int
snap_writer_accept(struct snap_writer *sw, uint64_t token)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) +
		       (uint64_t)SNAP_ACCEPT_MS * 1000000u;
	int rc = -ETIMEDOUT;

	if (sw->err)
		return sw->err;
	while (sw->fd < 0) {
		struct pollfd pf = { .fd = sw->lfd, .events = POLLIN };
		uint64_t got = 0, tend;
		int ms = ms_left(end), fd;

		if (!ms || (sw->cancel && *sw->cancel))
			break;
		if (ms > 100)
			ms = 100;  /* to see *cancel */
		if (poll(&pf, 1, ms) < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		fd = accept4(sw->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		tend = now_ns(CLOCK_MONOTONIC) +
		       (uint64_t)SNAP_TOKEN_MS * 1000000u;
		if (tend > end)
			tend = end;
		/* token 0: the command came without one (nothing secret
		 * to prove); the socket's mode still applies */
		if (snap_token_read(fd, &got, tend) == 0 && got == token)
			sw->fd = fd;
		else
			close(fd);     /* not our client: keep waiting */
	}
	snap_unlink_name(sw);
	close(sw->lfd);
	sw->lfd = -1;
	if (sw->fd < 0)
		return sw->err = rc;
	return 0;
}

void
snap_writer_write(struct snap_writer *sw, const void *buf, size_t len)
{
	const char *p = buf;
	uint64_t stall = 0;

	while (!sw->err && len) {
		ssize_t n = send(sw->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			sw->off += (uint64_t)n;
			stall = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			sw->err = -errno;      /* EPIPE, ECONNRESET: gone */
			break;
		}
		if (sw->cancel && *sw->cancel) {
			sw->err = -ECANCELED;
			break;
		}
		if (!stall)
			stall = now_ns(CLOCK_MONOTONIC) +
				(uint64_t)SNAP_STALL_MS * 1000000u;
		else if (!ms_left(stall)) {
			sw->err = -ETIMEDOUT;  /* reads nothing: given up */
			break;
		}
		{
			struct pollfd pf = { .fd = sw->fd, .events = POLLOUT };
			int ms = ms_left(stall), r, e;

			if (sw->wait_begin)
				sw->wait_begin(sw->wait_arg);
			r = poll(&pf, 1, ms > 100 ? 100 : ms);
			e = errno;
			if (sw->wait_end && sw->wait_end(sw->wait_arg)) {
				sw->err = -ECANCELED;
				break;
			}
			if (r < 0 && e != EINTR) {
				sw->err = -e;
				break;
			}
		}
	}
}

int
snap_writer_close(struct snap_writer *sw)
{
	snap_unlink_name(sw);
	if (sw->lfd >= 0)
		close(sw->lfd);
	if (sw->fd >= 0)
		close(sw->fd);
	sw->lfd = sw->fd = -1;
	return sw->err;
}

void
snap_writer_unlink(struct seg_writer *w, uint32_t seq)
{
	char name[32];

	if (w->dirfd < 0)
		return;
	snap_name(name, sizeof(name), w->pid, seq);
	unlinkat(w->dirfd, name, 0);
}
