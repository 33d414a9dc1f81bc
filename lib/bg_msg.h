/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages and exit codes of every bpfguard helper and engine.
 *
 * "PROG: MSG" for what the program says about itself (bg_err, bg_die),
 * "FILE:LINE:COL: MSG" for what it says about its input (bg_die_at), and
 * short escaped excerpts when a message quotes input (bg_excerpt).
 */
#ifndef BG_MSG_H
#define BG_MSG_H

#include <stdarg.h>
#include <stddef.h>

/* The exit status of every helper: success, error, usage error. */
#define BG_EXIT_OK 0
#define BG_EXIT_ERR 1
#define BG_EXIT_USAGE 2

#define BG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* The PROG of messages ("bpfguard" until set; bg_opt_parse sets it). */
void bg_set_prog(const char *name);
const char *bg_prog(void);

/* "PROG: MSG" on standard error. */
void bg_err(const char *fmt, ...) BG_PRINTF(1, 2);
void bg_verr(const char *fmt, va_list ap) BG_PRINTF(1, 0);
/* "PROG: MSG", then exit(@status); standard output is flushed first. */
void bg_die(int status, const char *fmt, ...) BG_PRINTF(2, 3)
	__attribute__((noreturn));
/* "PROG: MSG (see PROG --help)", then exit(BG_EXIT_USAGE). */
void bg_usage_error(const char *fmt, ...) BG_PRINTF(1, 2)
	__attribute__((noreturn));
/* MSG as given (it names its own subject: "FILE: ..."), exit(BG_EXIT_ERR). */
void bg_die_plain(const char *fmt, ...) BG_PRINTF(1, 2)
	__attribute__((noreturn));

/* 1-based line and column (in bytes) in a file. */
struct bg_pos {
	int line;
	int col;
};

/* "FILE:LINE:COL: MSG", then exit(BG_EXIT_ERR). */
void bg_die_at(const char *file, struct bg_pos pos, const char *fmt, ...)
	BG_PRINTF(3, 4) __attribute__((noreturn));
/* "FILE:LINE:COL: warning: MSG" */
void bg_warn_at(const char *file, struct bg_pos pos, const char *fmt, ...)
	BG_PRINTF(3, 4);

/*
 * Input quoted in a message: BG_EXCERPT_MAX bytes at most, escaped, "..."
 * when cut. @buf holds BG_EXCERPT_SIZE bytes.
 */
#define BG_EXCERPT_MAX 32
#define BG_EXCERPT_SIZE (BG_EXCERPT_MAX * 4 + sizeof("..."))
const char *bg_excerpt(const char *s, size_t n, char *buf);
/* An excerpt in a buffer that lives until the end of the enclosing block */
#define BG_EXCERPT(s, n) bg_excerpt((s), (n), (char[BG_EXCERPT_SIZE]){ 0 })

#endif /* BG_MSG_H */
