/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON strings from arbitrary bytes (interface names, labels, paths).
 *
 * The output is printable ASCII: '"' and '\\' are escaped, control
 * characters become \b \f \n \r \t or \u00XX (DEL too), valid UTF-8
 * becomes \uXXXX (a surrogate pair above U+FFFF), and every byte that is
 * not part of valid UTF-8 (stray continuation bytes, overlong forms,
 * surrogates, past U+10FFFF, cut sequences) becomes \ufffd.
 */
#ifndef BG_JSON_H
#define BG_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Room for the quoted form of @n bytes, with the NUL. */
#define BG_JSON_QUOTED_SIZE(n) ((n)*6 + 3)

/*
 * @s[0..@n) quoted into @buf like snprintf: returns the length of the
 * whole quoted string, writes at most @size bytes with the NUL, and never
 * cuts an escape in two.
 */
size_t bg_json_quote(char *buf, size_t size, const char *s, size_t n);
/* The quoted form of the string @s to @f; returns EOF on error. */
int bg_json_fputs(FILE *f, const char *s);

#endif /* BG_JSON_H */
