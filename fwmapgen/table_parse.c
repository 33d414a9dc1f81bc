// SPDX-License-Identifier: GPL-2.0
/* Tables: "table <NAME> { ... }" and "table <NAME> file "PATH"". */
#include <stdlib.h>
#include <string.h>

#include "family.h"

#define TABLE_SYNTAX "table <NAME> { ADDR, ... } or table <NAME> file \"PATH\""

/* Length of NAME when the line is "table <NAME> ...", else 0. */
static size_t table_def_name(const struct lline *ll, size_t *start)
{
	size_t i = 0, j;

	while (i < ll->n && is_blank(ll->s[i]))
		i++;
	if (ll->n - i < 5 || memcmp(ll->s + i, "table", 5))
		return 0;
	for (i += 5; i < ll->n && is_blank(ll->s[i]);)
		i++;
	if (i >= ll->n || ll->s[i] != '<')
		return 0;
	for (j = ++i; j < ll->n && is_ident(ll->s[j]);)
		j++;
	if (j == i || j >= ll->n || ll->s[j] != '>')
		return 0;
	*start = i;
	return j - i;
}

/* Learn the name first: a use before the definition gets a clear error. */
void table_prescan(struct loader *ld, const struct lline *ll)
{
	size_t start, n = table_def_name(ll, &start);

	if (n && !names_find(&ld->tables, ll->s + start, n))
		names_add(&ld->tables, ll->s + start, n, ll->line);
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

void table_parse(struct cursor *c, const struct lline *raw)
{
	struct loader *ld = c->ld;
	struct token *name;
	struct named *tb;
	int set;

	(void)raw;
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
	ld->rs->sets[set].name = xstrndup(name->s, name->n);
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
