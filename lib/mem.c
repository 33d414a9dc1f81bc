// SPDX-License-Identifier: GPL-2.0
/* Allocation that cannot fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg_mem.h"
#include "bg_msg.h"

static void *check_alloc(void *p)
{
	if (!p)
		bg_die(BG_EXIT_ERR, "out of memory");
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

void *bg_grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	return xreallocarray(p, *cap, size);
}
