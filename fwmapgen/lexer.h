/* SPDX-License-Identifier: GPL-2.0 */
/* Logical lines and tokens of the ruleset language. */
#ifndef FWMAPGEN_LEXER_H
#define FWMAPGEN_LEXER_H

#include "fwmapgen.h"

/*
 * A logical line: physical lines joined at trailing backslashes, comments
 * removed. Every byte remembers where it came from so that errors point at
 * the physical file; bytes a macro expands to point at the '$'.
 */
struct lline {
	char *s; /* NUL-terminated */
	struct bg_pos *p;
	size_t n;
	size_t cap;
	int line; /* first physical line */
	/* Reader errors are reported when the line is parsed, in file order. */
	char err[96]; /* the first one of the line; "" when none */
	struct bg_pos errpos;
};

struct lfile {
	struct lline *l;
	size_t n;
	size_t cap;
};

enum tok_type {
	T_EOL = 0,
	T_WORD,
	T_STRING, /* s/n: the text between the quotes */
	T_TABLE, /* s/n: NAME of <NAME> */
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_BANG,
	T_EQ,
	T_LPAREN, /* ( and ): a scrub's options */
	T_RPAREN,
};

struct token {
	enum tok_type type;
	const char *s;
	size_t n;
	struct bg_pos pos;
};

/* Returns the macro value; dies itself when @name can't be used here. */
typedef const char *(*macro_fn)(void *ctx, const char *name, size_t n,
				struct bg_pos at);

void lfile_read(const char *data, size_t len, struct lfile *lf);
void lline_push(struct lline *ll, char c, struct bg_pos p);
void lline_free(struct lline *ll);
int is_blank(int c);
int is_print(int c);
int is_ident_start(int c);
int is_ident(int c);
/*
 * Macro expansion is bounded: nested macros grow tenfold a level, so 430
 * bytes once made 2.4 GB. A line with its macros expanded stays under
 * EXPAND_LINE_MAX (a list of 10,000 addresses is about 200 KB), and all
 * that macros add over a ruleset under EXPAND_TOTAL_MAX, the size of the
 * biggest ruleset.
 */
#define EXPAND_LINE_MAX (1u << 20)
#define EXPAND_LINE_MAX_TEXT "1 MiB"
#define EXPAND_TOTAL_MAX RULESET_MAX
#define EXPAND_TOTAL_MAX_TEXT RULESET_MAX_TEXT

/* @total: bytes macros added so far, over the whole ruleset */
void expand_macros(const char *file, const struct lline *in, size_t from,
		   size_t to, int in_quotes, struct lline *out, macro_fn fn,
		   void *ctx, size_t *total);
size_t tokenize(const char *file, const struct lline *ll, struct token **out);
int tok_is(const struct token *t, const char *word);
char *collapse(const struct lline *ll);

#endif /* FWMAPGEN_LEXER_H */
