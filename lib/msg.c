// SPDX-License-Identifier: GPL-2.0
/* Messages, exit codes and excerpts of input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_msg.h"

static const char *prog = "bpfguard";

void bg_set_prog(const char *name)
{
	prog = name;
}

const char *bg_prog(void)
{
	return prog;
}

void bg_verr(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void bg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bg_verr(fmt, ap);
	va_end(ap);
}

void bg_die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	bg_verr(fmt, ap);
	va_end(ap);
	exit(status);
}

void bg_usage_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	exit(BG_EXIT_USAGE);
}

void bg_die_plain(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(BG_EXIT_ERR);
}

void bg_die_at(const char *file, struct bg_pos pos, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d:%d: ", file, pos.line, pos.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(BG_EXIT_ERR);
}

void bg_warn_at(const char *file, struct bg_pos pos, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d:%d: warning: ", file, pos.line, pos.col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * At most BG_EXCERPT_MAX bytes of @s, "..." when cut: an error must not
 * copy a file root was tricked into reading (a ruleset naming /etc/shadow
 * as a table) to the terminal or a log. Bytes outside printable ASCII,
 * '"' and '\\' become \xNN, so the excerpt is one unambiguous line.
 */
const char *bg_excerpt(const char *s, size_t n, char *buf)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < BG_EXCERPT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
	}
	if (n > BG_EXCERPT_MAX) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
