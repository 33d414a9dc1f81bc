// SPDX-License-Identifier: GPL-2.0
/* Reading whole files, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bg_file.h"
#include "bg_mem.h"

/*
 * The whole of a regular file of at most @max bytes, NUL-terminated.
 * Returns 0, an errno value, BG_READ_NOT_REGULAR or BG_READ_TOO_BIG. Root
 * reads what a configuration names: opening must not block (a FIFO), make
 * a terminal ours, or read without end (/dev/zero); a directory keeps
 * EISDIR.
 */
int bg_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	size_t n = 0, cap;
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	int err = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st))
		err = errno;
	else if (S_ISDIR(st.st_mode))
		err = EISDIR;
	else if (!S_ISREG(st.st_mode))
		err = BG_READ_NOT_REGULAR;
	else if ((uint64_t)st.st_size > max)
		err = BG_READ_TOO_BIG;
	if (err) {
		close(fd);
		return err;
	}
	/* One byte more than the file to see it grow, one for the NUL. */
	cap = (size_t)st.st_size + 2;
	buf = xreallocarray(NULL, cap, 1);
	for (;;) {
		if (n > max) {
			err = BG_READ_TOO_BIG;
			break;
		}
		if (n + 1 == cap) {
			cap = cap > max / 2 ? max + 2 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			err = errno;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}
