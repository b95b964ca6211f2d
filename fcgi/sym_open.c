/* SPDX-License-Identifier: MIT */
/*
 * sym_open.c - opening the files a snapshot names for the symbolizer: the
 * module file (through /proc/<pid>/root when that is readable, through
 * /proc/<pid>/map_files when it was replaced) and its separate debug info
 * (build-id directory, .gnu_debuglink; never debuginfod), each reported as
 * the only module of its own Dwfl at bias 0.
 *
 * The caller has taken the target's rights (sym_cred.c) and holds no lock:
 * every path here is untrusted, opened without blocking, regular files
 * only.  libdw maps what it is given (MAP_PRIVATE does not help: a page
 * past the end of a file truncated under the mapping is SIGBUS), so a file
 * whose size someone other than root could change is given to libdw as a
 * private copy in a memfd, which nobody else can touch: a file is mapped
 * as it is only when it is owned by root, writable by no one else, on a
 * local filesystem (bench/README has what the copy costs).  libdw is made
 * to open everything it needs (debug file, symbol table, dwz alt file)
 * while the Dwfl is reported, so that no lookup opens a file later.
 */
#include <config.h>

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "sym_int.h"

/* ------------------------------------------------------- opening files */

/*
 * Separate debug info, without debuginfod: the standard callback looks in
 * /usr/lib/debug/.build-id and follows .gnu_debuglink, but in elfutils it
 * also asks debuginfod when DEBUGINFOD_URLS is set, which may block for
 * minutes (heaptrack turns it off for the same reason), and it opens what
 * it finds with a blocking open() and maps it.  So we do the local part
 * ourselves, always.
 */
static char *debuginfo_path;

/* Whether a file may be given to libdw as it is: only root can change its
 * size.  Else (or if unsure) it is copied. */
static bool
map_safe(int fd, const struct stat *st)
{
	struct statfs fs;

	if (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)) ||
	    fstatfs(fd, &fs) != 0)
		return false;
	switch ((unsigned long)fs.f_type) {
	case EXT4_SUPER_MAGIC:     /* ext2, ext3 and ext4 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case SQUASHFS_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
		return true;
	default:                   /* FUSE, NFS, ...: their server decides */
		return false;
	}
}

int
sym_private_fd(int fd, const struct stat *st, uint64_t *copied)
{
	static const size_t chunk = 256u << 10;
	uint64_t left;
	char *buf;
	int mfd;

	*copied = 0;
	if (map_safe(fd, st))
		return fd;
	if (st->st_size < 0 || (uint64_t)st->st_size > SYM_COPY_MAX) {
		close(fd);
		return -EFBIG;
	}
	mfd = memfd_create("hawk-sym", MFD_CLOEXEC);
	buf = malloc(chunk);
	if (mfd < 0 || !buf)
		goto err;
	/* what is read is what libdw sees: a file cut meanwhile gives a
	 * short copy (an ELF that does not parse), never a fault */
	for (left = (uint64_t)st->st_size; left;) {
		ssize_t r = read(fd, buf, left < chunk ? left : chunk);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (write(mfd, buf, (size_t)r) != r)
			goto err;
		left -= (uint64_t)r;
		*copied += (uint64_t)r;
	}
	free(buf);
	close(fd);
	return mfd;

err:
	free(buf);
	if (mfd >= 0)
		close(mfd);
	close(fd);
	return -ENOMEM;
}

/* A debug file candidate: an untrusted path. */
static __thread uint64_t debug_copied;

static int
open_debug(const char *path)
{
	struct stat st;
	uint64_t copied;
	int fd = sym_open_untrusted(path, &st);

	if (fd < 0)
		return fd;
	fd = sym_private_fd(fd, &st, &copied);
	debug_copied += copied;
	return fd;
}

static int
find_debuginfo(Dwfl_Module *mod, void **user, const char *modname,
	       Dwarf_Addr base, const char *file_name,
	       const char *debuglink, GElf_Word crc, char **debug_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	char buf[4096];
	int len, fd;

	(void)user;
	(void)modname;
	(void)base;
	(void)crc;
	len = dwfl_module_build_id(mod, &id, &vaddr);
	if (len > 1) {
		int o = snprintf(buf, sizeof(buf),
				 "/usr/lib/debug/.build-id/%02x/", id[0]);

		for (int i = 1; i < len && o < (int)sizeof(buf) - 8; i++)
			o += snprintf(buf + o, sizeof(buf) - o, "%02x", id[i]);
		snprintf(buf + o, sizeof(buf) - o, ".debug");
		fd = open_debug(buf);
		if (fd >= 0)
			goto found;
	}
	if (debuglink && file_name && !strchr(debuglink, '/')) {
		const char *slash = strrchr(file_name, '/');
		int dlen = slash ? (int)(slash - file_name) : 0;

		for (unsigned i = 0; i < 3; i++) {
			if (i == 0)
				snprintf(buf, sizeof(buf), "%.*s/%s", dlen,
					 file_name, debuglink);
			else if (i == 1)
				snprintf(buf, sizeof(buf), "%.*s/.debug/%s",
					 dlen, file_name, debuglink);
			else
				snprintf(buf, sizeof(buf),
					 "/usr/lib/debug%.*s/%s", dlen,
					 file_name, debuglink);
			if (strcmp(buf, file_name) == 0)
				continue;
			fd = open_debug(buf);
			if (fd >= 0)
				goto found;
		}
	}
	return -1;
found:
	*debug_name = strdup(buf);
	return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = NULL,          /* we report each ELF with its fd */
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/*
 * Open a module file: through /proc/<pid>/root when the target's root is
 * readable (another mount namespace), else by its path.  Returns an fd of a
 * regular file or -errno; *used names the path opened (static buffer of the
 * caller).
 */
int
sym_open_module(int32_t pid, const char *path, char *used, size_t usedlen,
		struct stat *st)
{
	int fd = -ENOENT;

	if (path[0] != '/')
		return -ENOENT;
	if (pid > 0 && snprintf(used, usedlen, "/proc/%" PRId32 "/root%s",
				pid, path) < (int)usedlen)
		fd = sym_open_untrusted(used, st);
	if (fd < 0 && fd != -ENOEXEC) {
		if (snprintf(used, usedlen, "%s", path) >= (int)usedlen)
			return -ENAMETOOLONG;
		fd = sym_open_untrusted(used, st);
	}
	return fd;
}

int
sym_open_mapped(int32_t pid, uint64_t lo, uint64_t hi, char *used,
		size_t usedlen, struct stat *st)
{
	unsigned long long a, b, ino;
	char maps[64], *line = NULL;
	size_t cap = 0;
	int fd = -ENOENT;
	FILE *f;

	if (pid <= 0)
		return -ENOENT;
	snprintf(maps, sizeof(maps), "/proc/%" PRId32 "/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%llx-%llx %*s %*s %*s %llu", &a, &b,
			   &ino) != 3 || !ino || a >= hi || b <= lo)
			continue;
		if (snprintf(used, usedlen, "/proc/%" PRId32
			     "/map_files/%llx-%llx", pid, a, b) >=
		    (int)usedlen)
			break;
		fd = sym_open_untrusted(used, st);
		break;
	}
	free(line);
	fclose(f);
	return fd;
}

void
sym_file_destroy(struct sym_file *f)
{
	struct sym_cu *c, *tmp;
	struct sym_name *e, *etmp;

	HASH_ITER(hh, f->cus, c, tmp) {
		HASH_DEL(f->cus, c);
		free(c->fns);
		free(c);
	}
	HASH_ITER(hh, f->names, e, etmp) {
		HASH_DEL(f->names, e);
		free(e);
	}
	if (f->dwfl)
		dwfl_end(f->dwfl);
	free(f->key);
	free(f);
}

/* Report `fd` (consumed; st its fstat) as the only module of a new Dwfl,
 * at bias 0, and make libdw open now whatever else it will need. */
struct sym_file *
sym_file_report(const char *key, const char *name, int fd,
		const struct stat *st)
{
	struct sym_file *f = calloc(1, sizeof(*f));
	Dwarf_Addr bias;
	Dwarf *dw;

	if (!f)
		goto err_fd;
	f->key = strdup(key);
	f->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!f->key || !f->dwfl)
		goto err_free;
	fd = sym_private_fd(fd, st, &f->copied);
	if (fd < 0)
		goto err_free;
	debug_copied = 0;
	dwfl_report_begin(f->dwfl);
	f->mod = dwfl_report_elf(f->dwfl, name, name, fd, 0, false);
	fd = -1;                   /* libdwfl owns it now, even on failure */
	if (dwfl_report_end(f->dwfl, NULL, NULL) != 0 || !f->mod)
		goto err_free;
	dw = dwfl_module_getdwarf(f->mod, &bias);
	dwfl_module_getsymtab(f->mod);
	if (dw)
		dwarf_getalt(dw);
	f->copied += debug_copied;
	return f;

err_free:
	sym_file_destroy(f);
err_fd:
	if (fd >= 0)
		close(fd);
	return NULL;
}

void
sym_hex(char *out, const uint8_t *id, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	out[2 * len] = '\0';
}

bool
sym_build_id_is(Dwfl_Module *mod, const uint8_t *want, uint32_t len)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);

	return n > 0 && (uint32_t)n == len && memcmp(id, want, len) == 0;
}

/*
 * Find or create the file entry serving module `m` of process `pid`.
 * Sets *state.  Caller holds lock.
 */
