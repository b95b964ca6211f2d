/* SPDX-License-Identifier: MIT */
/*
 * seg_dir.c - open a segment directory for reading, refusing one that
 * someone else controls.
 *
 * Whoever owns a directory, or may write to it without the sticky bit, can
 * delete and rename the files in it: such a person could withdraw other
 * users' segments and snapshots or put their own in their place.  So a
 * reader accepts a directory only when it is owned by the reader's
 * effective uid or by root, and is not writable by everybody unless it has
 * the sticky bit (as /tmp and the default /dev/shm/hawk, 01777).  A
 * directory writable by its group trusts that group: the owner (root or
 * the reader) chose it, as in the documented 2770 root:www-data setup
 * where the responder removes the files dead targets leave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg_live.h"
#include "seg_read.h"

int
seg_dir_open(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();
	int fd, e;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		seg_seterr(err, errlen, "reading segment directory %s: %s", dir,
			   strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		seg_seterr(err, errlen, "reading segment directory %s: %s", dir,
			   strerror(e));
		return -e;
	}
	if (st.st_uid != me && st.st_uid != 0) {
		close(fd);
		seg_seterr(err, errlen, "segment directory %s is owned by uid "
			   "%u, not by uid %u or root: refused (its owner can "
			   "replace or remove what is in it); create it as "
			   "root with mode 1777", dir, (unsigned)st.st_uid,
			   (unsigned)me);
		return -EPERM;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		close(fd);
		seg_seterr(err, errlen, "segment directory %s has mode %04o: "
			   "writable by everybody without the sticky bit: "
			   "refused (give it mode 1777, 2770 or 0700)", dir,
			   (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return fd;
}
