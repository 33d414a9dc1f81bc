/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every statement family parses with (syntax.c): the loader's state,
 * names of macros and tables, a cursor over a statement's tokens, syntax
 * errors, numbers, and the address lists of rules and tables.
 */
#ifndef FWMAPGEN_SYNTAX_H
#define FWMAPGEN_SYNTAX_H

#include "lexer.h"

/* A macro or a table, known from the pre-scan before it is defined. */
struct named {
	char *name;
	int line; /* line of the first definition */
	int defined;
	char *value; /* macro */
	int set; /* table: index into ruleset.sets */
};

struct names {
	struct named *v;
	size_t n;
	size_t cap;
};

struct loader {
	struct ruleset *rs;
	const char *file; /* the ruleset as given, for messages */
	/*
	 * Relative table paths: @dir is the directory of the real ruleset
	 * file, "/"-terminated; @shown_dir the same directory as messages
	 * name it ("" for the current directory).
	 */
	char *dir;
	char *shown_dir;
	struct lfile lf;
	size_t next; /* the line of lf to parse next */
	struct names macros; /* macro.c */
	struct names tables; /* table_parse.c */
	struct names services; /* lb_parse.c: every "service NAME" line */
	/* set_parse.c: where "set default", each "set timeout" and "set limit
	 * states" were */
	int default_line;
	int timeout_line[BG_CTT_MAX];
	int limit_line;
	/* rl_parse.c: where each DDoS "set" was (syn-flood, icmp-flood,
	 * udp-amplification, tcp-flood) */
	int rl_set_line[4];
	int line; /* first line of the statement being parsed */
	int allow_state; /* "state" accepted (evaluator modes) */
	size_t expanded; /* bytes macros added, bounded by EXPAND_TOTAL_MAX */
};

struct cursor {
	struct loader *ld;
	struct token *t;
	size_t i;
};

struct named *names_find(struct names *ns, const char *s, size_t n);
struct named *names_add(struct names *ns, const char *s, size_t n, int line);

struct token *peek(struct cursor *c);
struct token *take(struct cursor *c);
int accept_word(struct cursor *c, const char *word);
void unexpected(struct cursor *c, const char *expected)
	__attribute__((noreturn));
void expect_eol(struct cursor *c, const char *syntax);
/* A token's text for a message: a short excerpt, escaped. */
#define TOK_TEXT(t) BG_EXCERPT((t)->s, (t)->n)
int64_t parse_number(const struct token *t);

int new_set(struct ruleset *rs);
void parse_addr(struct loader *ld, const struct token *t, uint8_t only,
		struct prefix *p);
void parse_list(struct cursor *c, int set, uint8_t only);
int is_keyword(const struct token *t);

#endif /* FWMAPGEN_SYNTAX_H */
