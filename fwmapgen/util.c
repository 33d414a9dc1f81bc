// SPDX-License-Identifier: GPL-2.0
/* Allocation, file reading and diagnostics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The whole file, NUL-terminated; NULL with errno set on failure. */
char *slurp(const char *path, size_t *len)
{
	size_t n = 0, cap = 65536, got;
	FILE *f = fopen(path, "rb");
	char *buf;
	int err;

	if (!f)
		return NULL;
	buf = xreallocarray(NULL, cap, 1);
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
	}
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err) {
		free(buf);
		errno = err ? err : EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
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
