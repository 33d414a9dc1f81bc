/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation that cannot fail: out of memory, the program says so
 * ("PROG: out of memory") and exits with BG_EXIT_ERR.
 */
#ifndef BG_MEM_H
#define BG_MEM_H

#include <stddef.h>

void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
/* @n bytes of @s, NUL-terminated */
char *xstrndup(const char *s, size_t n);
/*
 * Make room for element @n of the growable array @p of *@cap elements of
 * @size bytes: doubles *@cap (from 16) when @n is past it.
 */
void *bg_grow(void *p, size_t *cap, size_t n, size_t size);

#endif /* BG_MEM_H */
