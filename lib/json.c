// SPDX-License-Identifier: GPL-2.0
/* JSON string escaping. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bg_json.h"

/* The longest escape: a surrogate pair, \uXXXX\uXXXX. */
#define ESC_MAX 12

/*
 * The code point of the UTF-8 sequence at @s (@n bytes left) in *@cp,
 * returns its length; 0 when the sequence is not valid UTF-8.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The escape for the bytes at @s into @out; returns the bytes used. */
static size_t escape_one(const unsigned char *s, size_t n, char *out)
{
	uint32_t cp;
	size_t len;

	switch (s[0]) {
	case '"':
		strcpy(out, "\\\"");
		return 1;
	case '\\':
		strcpy(out, "\\\\");
		return 1;
	case '\b':
		strcpy(out, "\\b");
		return 1;
	case '\f':
		strcpy(out, "\\f");
		return 1;
	case '\n':
		strcpy(out, "\\n");
		return 1;
	case '\r':
		strcpy(out, "\\r");
		return 1;
	case '\t':
		strcpy(out, "\\t");
		return 1;
	}
	if (s[0] < 0x20 || s[0] == 0x7f) {
		snprintf(out, ESC_MAX + 1, "\\u%04x", s[0]);
		return 1;
	}
	if (s[0] < 0x80) {
		out[0] = (char)s[0];
		out[1] = '\0';
		return 1;
	}
	len = utf8_decode(s, n, &cp);
	if (!len) {
		strcpy(out, "\\ufffd");
		return 1;
	}
	if (cp < 0x10000) {
		snprintf(out, ESC_MAX + 1, "\\u%04x", cp);
	} else {
		cp -= 0x10000;
		snprintf(out, ESC_MAX + 1, "\\u%04x\\u%04x",
			 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
	}
	return len;
}

/*
 * Add @piece to the length *@o; write it after the *@w bytes written when
 * everything before it was written and it fits whole with a NUL after it.
 */
static void put(char *buf, size_t size, size_t *o, size_t *w, const char *piece)
{
	size_t n = strlen(piece);

	if (*w == *o && *o + n < size) {
		memcpy(buf + *o, piece, n);
		*w += n;
	}
	*o += n;
}

size_t bg_json_quote(char *buf, size_t size, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[ESC_MAX + 1];
	size_t i = 0, o = 0, w = 0;

	put(buf, size, &o, &w, "\"");
	while (i < n) {
		i += escape_one(p + i, n - i, esc);
		put(buf, size, &o, &w, esc);
	}
	put(buf, size, &o, &w, "\"");
	if (size)
		buf[w] = '\0';
	return o;
}

int bg_json_fputs(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = strlen(s);
	char esc[ESC_MAX + 1];

	if (fputc('"', f) == EOF)
		return EOF;
	while (i < n) {
		i += escape_one(p + i, n - i, esc);
		if (fputs(esc, f) == EOF)
			return EOF;
	}
	return fputc('"', f) == EOF ? EOF : 0;
}
