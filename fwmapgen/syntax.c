// SPDX-License-Identifier: GPL-2.0
/*
 * What every statement family parses with: names of macros and tables, a
 * cursor over a statement's tokens, syntax errors, numbers, and the
 * address lists of rules and tables.
 */
#include <string.h>

#include "syntax.h"

struct named *names_find(struct names *ns, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strlen(ns->v[i].name) == n && !memcmp(ns->v[i].name, s, n))
			return &ns->v[i];
	return NULL;
}

struct named *names_add(struct names *ns, const char *s, size_t n, int line)
{
	struct named *nm;

	ns->v = bg_grow(ns->v, &ns->cap, ns->n, sizeof(*ns->v));
	nm = &ns->v[ns->n++];
	memset(nm, 0, sizeof(*nm));
	nm->name = xstrndup(s, n);
	nm->line = line;
	return nm;
}

struct token *peek(struct cursor *c)
{
	return &c->t[c->i];
}

struct token *take(struct cursor *c)
{
	struct token *t = &c->t[c->i];

	if (t->type != T_EOL)
		c->i++;
	return t;
}

int accept_word(struct cursor *c, const char *word)
{
	if (!tok_is(peek(c), word))
		return 0;
	c->i++;
	return 1;
}

/* The message text of a token; @size: at least DESCRIBE_SIZE. */
#define DESCRIBE_SIZE (BG_EXCERPT_SIZE + 16)

static void describe(const struct token *t, char *buf, size_t size)
{
	const char *text = BG_EXCERPT(t->s, t->n);

	switch (t->type) {
	case T_EOL:
		snprintf(buf, size, "end of line");
		break;
	case T_STRING:
		snprintf(buf, size, "string \"%s\"", text);
		break;
	case T_TABLE:
		snprintf(buf, size, "<%s>", text);
		break;
	case T_WORD:
		snprintf(buf, size, "\"%s\"", text);
		break;
	default:
		snprintf(buf, size, "'%c'", t->s[0]);
		break;
	}
}

void unexpected(struct cursor *c, const char *expected)
{
	char what[DESCRIBE_SIZE];

	describe(peek(c), what, sizeof(what));
	bg_die_at(c->ld->file, peek(c)->pos,
		  "syntax error: unexpected %s, expected %s", what, expected);
}

void expect_eol(struct cursor *c, const char *syntax)
{
	char what[DESCRIBE_SIZE];

	if (peek(c)->type == T_EOL)
		return;
	describe(peek(c), what, sizeof(what));
	bg_die_at(c->ld->file, peek(c)->pos,
		  "syntax error: unexpected %s (syntax: %s)", what, syntax);
}

/*
 * A decimal number; -1 if @t is not one. Values past 2^32 saturate there,
 * so that any range check rejects them.
 */
int64_t parse_number(const struct token *t)
{
	int64_t v = 0;
	size_t i;

	if (t->type != T_WORD || !t->n)
		return -1;
	for (i = 0; i < t->n; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return -1;
		if (v <= UINT32_MAX)
			v = v * 10 + (t->s[i] - '0');
	}
	return v;
}

int new_set(struct ruleset *rs)
{
	rs->sets =
		bg_grow(rs->sets, &rs->sets_cap, rs->nsets, sizeof(*rs->sets));
	memset(&rs->sets[rs->nsets], 0, sizeof(rs->sets[0]));
	return (int)rs->nsets++;
}

/*
 * @only: the rule's inet/inet6, which turns a literal address of the
 * other family into an error (0 for tables, which may mix families).
 */
void parse_addr(struct loader *ld, const struct token *t, uint8_t only,
		struct prefix *p)
{
	enum addr_err err = prefix_parse(t->s, t->n, p);
	char msg[320];

	if (err) {
		addr_err_msg(err, t->s, t->n, msg, sizeof(msg));
		bg_die_at(ld->file, t->pos, "%s", msg);
	}
	if (only && !(only & (1 << p->fam)))
		bg_die_at(ld->file, t->pos, "%s address \"%s\" in an %s rule",
			  p->fam == BG_FAM_INET ? "IPv4" : "IPv6",
			  BG_EXCERPT(t->s, t->n),
			  family_name(only == BG_FAMF_INET6));
}

/* A rule keyword inside { } means a '}' is missing, not a bad address. */
int is_keyword(const struct token *t)
{
	static const char *const words[] = {
		"any",	      "from",	      "to",
		"on",	      "label",	      "log",
		"inet",	      "inet6",	      "proto",
		"port",	      "state",	      "vlan",
		"flags",      "icmp-type",    "code",
		"mac-src",    "mac-dst",      "dscp",
		"max-states", "max-src-conn", "max-src-conn-rate",
		"overload",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (tok_is(t, words[i]))
			return 1;
	return 0;
}

/* { ADDR, ADDR ... }: commas are optional, a trailing one is allowed. */
void parse_list(struct cursor *c, int set, uint8_t only)
{
	struct loader *ld = c->ld;
	struct token *open = take(c);
	struct prefix p;

	for (;;) {
		struct token *t = peek(c);

		if (t->type == T_RBRACE)
			break;
		if (t->type == T_EOL)
			bg_die_at(
				ld->file, open->pos,
				"syntax error: unterminated '{' (missing '}'; end a line with '\\' to continue the list)");
		if (t->type != T_WORD || is_keyword(t))
			unexpected(c, "an address or '}'");
		parse_addr(ld, t, only, &p);
		addrset_add(&ld->rs->sets[set], &p);
		take(c);
		if (peek(c)->type == T_COMMA)
			take(c);
	}
	take(c);
}
