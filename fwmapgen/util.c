// SPDX-License-Identifier: GPL-2.0
/* Allocation, file reading and diagnostics. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwmapgen.h"

static void *check_alloc(void *p)
{
	if (!p) {
		fputs("fwmapgen: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		check_alloc(NULL);
	return check_alloc(realloc(p, n && size ? n * size : 1));
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xcalloc(n + 1, 1);

	memcpy(d, s, n);
	return d;
}

/* Make room for element @n of a growable array of @cap elements. */
void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	return xreallocarray(p, *cap, size);
}

/*
 * The whole of a regular file of at most @max bytes, NUL-terminated.
 * Returns 0, an errno value, READ_NOT_REGULAR or READ_TOO_BIG. Root reads
 * what a ruleset names: opening must not block (a FIFO), make a terminal
 * ours, or read without end (/dev/zero); a directory keeps EISDIR.
 */
int read_file(const char *path, size_t max, char **data, size_t *len)
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
		err = READ_NOT_REGULAR;
	else if ((uint64_t)st.st_size > max)
		err = READ_TOO_BIG;
	if (err) {
		close(fd);
		return err;
	}
	/* One byte more than the file to see it grow, one for the NUL. */
	cap = (size_t)st.st_size + 2;
	buf = xreallocarray(NULL, cap, 1);
	for (;;) {
		if (n > max) {
			err = READ_TOO_BIG;
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

/*
 * At most EXCERPT_MAX bytes of @s for a message, "..." when cut: an error
 * must not copy a file root was tricked into reading (a ruleset naming
 * /etc/shadow as a table) to the terminal or a log. Bytes outside
 * printable ASCII, '"' and '\\' become \xNN, so the excerpt is one
 * unambiguous line.
 */
const char *excerpt(const char *s, size_t n, char *buf)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < EXCERPT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
	}
	if (n > EXCERPT_MAX) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

void die_at(const char *file, struct pos pos, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d:%d: ", file, pos.line, pos.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void warn_at(const char *file, struct pos pos, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d:%d: warning: ", file, pos.line, pos.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Errors of the whole ruleset (capacity), or of the system. */
void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
