// SPDX-License-Identifier: GPL-2.0
/* Tables: "table <NAME> { ... }" and "table <NAME> file "PATH"". */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define TABLE_SYNTAX "table <NAME> { ADDR, ... } or table <NAME> file \"PATH\""

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
	static const char *const words[] = { "any",   "from", "to",   "on",
					     "label", "log",  "inet", "inet6",
					     "proto", "port", "state" };
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

/* @dir + PATH, or PATH alone when it is absolute. */
static char *table_path(const char *dir, const char *p, size_t n)
{
	size_t d = strlen(dir);
	char *out;

	if (n && p[0] == '/')
		return xstrndup(p, n);
	out = xcalloc(d + n + 1, 1);
	memcpy(out, dir, d);
	memcpy(out + d, p, n);
	return out;
}

static void table_file_line(struct addrset *set, const char *path, int line,
			    const char *s, size_t n)
{
	const char *hash = memchr(s, '#', n);
	size_t i = 0, j, k;
	enum addr_err err;
	struct prefix p;
	char msg[320];

	/*
	 * A NUL would end the address early ("192.0.2.1\0garbage" read as
	 * 192.0.2.1); other bytes than printable ASCII and blanks can't be
	 * in an address. A comment may hold any text but NUL.
	 */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		struct bg_pos p = { line, (int)i + 1 };

		if (!c)
			bg_die_at(path, p, "NUL byte in a table file");
		if ((!hash || s + i < hash) && !is_print(c) && !is_blank(c))
			bg_die_at(
				path, p,
				"byte 0x%02x is not printable ASCII (0x20 to 0x7e)",
				c);
	}
	if (hash)
		n = (size_t)(hash - s);
	i = 0;
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n)
		return;
	for (j = i; j < n && !is_blank(s[j]);)
		j++;
	for (k = j; k < n && is_blank(s[k]);)
		k++;
	if (k < n)
		bg_die_at(
			path, (struct bg_pos){ line, (int)k + 1 },
			"unexpected \"%s\" after the address (one address per line)",
			BG_EXCERPT(s + k, n - k));
	err = prefix_parse(s + i, j - i, &p);
	if (err) {
		addr_err_msg(err, s + i, j - i, msg, sizeof(msg));
		bg_die_at(path, (struct bg_pos){ line, (int)i + 1 }, "%s", msg);
	}
	addrset_add(set, &p);
}

static void load_table_file(struct loader *ld, int set, const struct token *t)
{
	/* read from the real directory, named as the user knows it */
	char *real = table_path(ld->dir, t->s, t->n);
	char *path = table_path(ld->shown_dir, t->s, t->n);
	size_t len, off = 0;
	int line = 0, err;
	char *data;

	err = bg_read_file(real, TABLE_FILE_MAX, &data, &len);
	if (err == BG_READ_NOT_REGULAR)
		bg_die_at(ld->file, t->pos,
			  "table file \"%s\" is not a regular file", path);
	if (err == BG_READ_TOO_BIG)
		bg_die_at(
			ld->file, t->pos,
			"table file \"%s\" is larger than " TABLE_FILE_MAX_TEXT,
			path);
	if (err)
		bg_die_at(ld->file, t->pos, "cannot read table file \"%s\": %s",
			  path, strerror(err));
	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : len - off;

		table_file_line(&ld->rs->sets[set], path, ++line, data + off,
				n);
		off += n + 1;
	}
	free(data);
	free(path);
	free(real);
}

void parse_table(struct cursor *c)
{
	struct loader *ld = c->ld;
	struct token *name;
	struct named *tb;
	int set;

	take(c);
	name = peek(c);
	if (name->type != T_TABLE)
		unexpected(c, "<NAME> after \"table\"");
	take(c);
	tb = names_find(&ld->tables, name->s, name->n);
	if (tb && tb->defined)
		bg_die_at(ld->file, name->pos,
			  "duplicate table <%s> (first defined on line %d)",
			  BG_EXCERPT(name->s, name->n), tb->line);
	if (!tb)
		tb = names_add(&ld->tables, name->s, name->n, ld->line);
	set = new_set(ld->rs);
	if (peek(c)->type == T_LBRACE) {
		parse_list(c, set, 0);
	} else if (accept_word(c, "file")) {
		if (peek(c)->type != T_STRING)
			unexpected(c, "a quoted path after \"file\"");
		load_table_file(ld, set, take(c));
	} else {
		unexpected(c, "'{' or file after the table name");
	}
	expect_eol(c, TABLE_SYNTAX);
	addrset_finish(&ld->rs->sets[set]);
	tb->defined = 1;
	tb->set = set;
	ld->rs->table_entries += ld->rs->sets[set].n;
	ld->rs->ntables++;
}

int table_ref(struct cursor *c, const struct token *t)
{
	struct loader *ld = c->ld;
	struct named *tb = names_find(&ld->tables, t->s, t->n);

	if (!tb)
		bg_die_at(ld->file, t->pos, "unknown table <%s>",
			  BG_EXCERPT(t->s, t->n));
	if (!tb->defined)
		bg_die_at(ld->file, t->pos,
			  "table <%s> used before its definition on line %d",
			  BG_EXCERPT(t->s, t->n), tb->line);
	return tb->set;
}
