// SPDX-License-Identifier: GPL-2.0
/*
 * Macros: NAME = "VALUE" lines, and the $NAME references lexer.c expands
 * in every later line (and in later macro values).
 */
#include <stdlib.h>

#include "family.h"

/* Length of NAME when the line is "NAME = ...", else 0. */
size_t macro_def_name(const struct lline *ll, size_t *start)
{
	size_t i = 0, j, k;

	while (i < ll->n && is_blank(ll->s[i]))
		i++;
	if (i >= ll->n || !is_ident_start(ll->s[i]))
		return 0;
	for (j = i; j < ll->n && is_ident(ll->s[j]);)
		j++;
	for (k = j; k < ll->n && is_blank(ll->s[k]);)
		k++;
	if (k >= ll->n || ll->s[k] != '=')
		return 0;
	*start = i;
	return j - i;
}

/* Learn the name first: a use before the definition gets a clear error. */
void macro_prescan(struct loader *ld, const struct lline *ll)
{
	size_t start, n = macro_def_name(ll, &start);

	if (n && !names_find(&ld->macros, ll->s + start, n))
		names_add(&ld->macros, ll->s + start, n, ll->line);
}

const char *macro_value(void *ctx, const char *name, size_t n, struct bg_pos at)
{
	struct loader *ld = ctx;
	struct named *m = names_find(&ld->macros, name, n);

	if (!m)
		bg_die_at(ld->file, at, "unknown macro $%s",
			  BG_EXCERPT(name, n));
	if (!m->defined && m->line == ld->line)
		bg_die_at(ld->file, at, "macro $%s refers to itself",
			  BG_EXCERPT(name, n));
	if (!m->defined)
		bg_die_at(ld->file, at,
			  "macro $%s used before its definition on line %d",
			  BG_EXCERPT(name, n), m->line);
	return m->value;
}

/* NAME = "VALUE": $NAME references in VALUE are expanded right here. */
void macro_define(struct loader *ld, const struct lline *ll, size_t start,
		  size_t len)
{
	struct named *m = names_find(&ld->macros, ll->s + start, len);
	struct lline val = { 0 };
	struct cursor c = { ld, NULL, 0 };
	size_t i = start + len, from;
	struct token *t;

	if (m && m->defined)
		bg_die_at(ld->file, ll->p[start],
			  "duplicate macro %s (first defined on line %d)",
			  BG_EXCERPT(ll->s + start, len), m->line);
	while (is_blank(ll->s[i]))
		i++;
	/* macro_def_name() saw the '=' */
	for (i++; i < ll->n && is_blank(ll->s[i]);)
		i++;
	if (i >= ll->n || ll->s[i] != '"')
		bg_die_at(
			ld->file, i < ll->n ? ll->p[i] : ll->p[ll->n - 1],
			"syntax error: a macro value must be a quoted string (NAME = \"VALUE\")");
	tokenize(ld->file, ll, &c.t);
	c.i = 3;
	expect_eol(&c, "NAME = \"VALUE\"");
	t = &c.t[2];
	from = (size_t)(t->s - ll->s);
	expand_macros(ld->file, ll, from, from + t->n, 1, &val, macro_value, ld,
		      &ld->expanded);
	if (!m)
		m = names_add(&ld->macros, ll->s + start, len, ld->line);
	m->value = val.n ? xstrndup(val.s, val.n) : xstrndup("", 0);
	m->defined = 1;
	lline_free(&val);
	free(c.t);
}
