// SPDX-License-Identifier: GPL-2.0
/*
 * The ruleset loader: reads the file, learns the names every family
 * defines, then hands each statement to the family its keyword names
 * (macro definitions, which have no keyword, to macro.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"

/*
 * Statement families by keyword (family.h). The "expected" texts, in this
 * order, make the error for an unknown statement.
 */
static const struct stmt_family families[] = {
	{ "pass", "a rule (pass|block ...)", rule_parse, NULL },
	{ "block", NULL, rule_parse, NULL },
	{ "table", "table", table_parse, table_prescan },
	{ "set", "set default", set_parse, NULL },
	{ "ratelimit", "ratelimit", rl_parse, NULL },
	{ "service", "service", lb_parse, lb_prescan },
	{ "scrub", "scrub", scrub_parse, NULL },
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/*
 * Learn every macro and table name first, so that a reference to one
 * defined further down gets "used before its definition", not "unknown".
 */
static void prescan(struct loader *ld)
{
	size_t i, f;

	for (i = 0; i < ld->lf.n; i++) {
		macro_prescan(ld, &ld->lf.l[i]);
		for (f = 0; f < NFAMILIES; f++)
			if (families[f].prescan)
				families[f].prescan(ld, &ld->lf.l[i]);
	}
}

static const struct stmt_family *family_of(const struct token *t)
{
	size_t f;

	for (f = 0; f < NFAMILIES; f++)
		if (tok_is(t, families[f].keyword))
			return &families[f];
	return NULL;
}

/* "expected a rule (pass|block ...), table, ... or NAME = "VALUE"" */
static void unknown_statement(struct cursor *c)
{
	char what[256] = "";
	size_t f, n;

	for (f = 0; f < NFAMILIES; f++) {
		if (!families[f].expected)
			continue;
		n = strlen(what);
		snprintf(what + n, sizeof(what) - n, "%s%s", n ? ", " : "",
			 families[f].expected);
	}
	n = strlen(what);
	snprintf(what + n, sizeof(what) - n, " or NAME = \"VALUE\"");
	unexpected(c, what);
}

static void parse_statement(struct loader *ld, const struct lline *raw)
{
	struct lline ex = { 0 };
	struct cursor c = { ld, NULL, 0 };
	const struct stmt_family *fam;
	struct token *t;

	ex.line = raw->line;
	expand_macros(ld->file, raw, 0, raw->n, 0, &ex, macro_value, ld,
		      &ld->expanded);
	tokenize(ld->file, &ex, &c.t);
	t = peek(&c);
	fam = family_of(t);
	if (fam)
		fam->parse(&c, raw);
	else if (t->type != T_EOL) /* EOL: macros that expanded to nothing */
		unknown_statement(&c);
	free(c.t);
	lline_free(&ex);
}

static int is_empty(const struct lline *ll)
{
	size_t i;

	for (i = 0; i < ll->n; i++)
		if (!is_blank(ll->s[i]))
			return 0;
	return 1;
}

/*
 * The next line of a statement of several lines (service { ... }): its
 * reader error reported, empty lines skipped, its macros expanded into
 * @ex and its tokens into @c (c->t; the caller frees both). ld->line
 * follows it. Returns 0 at the end of the file.
 */
int block_line(struct loader *ld, struct lline *ex, struct cursor *c)
{
	const struct lline *ll;

	for (;;) {
		if (ld->next >= ld->lf.n)
			return 0;
		ll = &ld->lf.l[ld->next++];
		ld->line = ll->line;
		if (ll->err[0])
			bg_die_at(ld->file, ll->errpos, "%s", ll->err);
		if (is_empty(ll))
			continue;
		memset(ex, 0, sizeof(*ex));
		ex->line = ll->line;
		expand_macros(ld->file, ll, 0, ll->n, 0, ex, macro_value, ld,
			      &ld->expanded);
		c->ld = ld;
		c->i = 0;
		tokenize(ld->file, ex, &c->t);
		if (peek(c)->type != T_EOL)
			return 1;
		/* macros that expanded to nothing */
		free(c->t);
		lline_free(ex);
	}
}

static void parse_line(struct loader *ld, const struct lline *ll)
{
	size_t start, len;

	ld->line = ll->line;
	if (ll->err[0])
		bg_die_at(ld->file, ll->errpos, "%s", ll->err);
	if (is_empty(ll))
		return;
	len = macro_def_name(ll, &start);
	if (len)
		macro_define(ld, ll, start, len);
	else
		parse_statement(ld, ll);
}

/*
 * Table paths are relative to the directory of the real ruleset file, as
 * up.sh sees it (readlink -f): through a symbolic link, --check and a load
 * read the same tables. Messages name that directory as given when it is
 * the same one, else by its real path.
 */
static void ruleset_dirs(struct loader *ld, const char *path, const char *real)
{
	const char *slash = strrchr(real, '/'), *gslash = strrchr(path, '/');
	size_t n = (size_t)(slash - real) + 1;
	size_t gn = gslash ? (size_t)(gslash - path) + 1 : 0;
	char *given = gn ? xstrndup(path, gn) : xstrndup(".", 1);
	char *greal = realpath(given, NULL);
	size_t g = greal ? strlen(greal) : 0;

	ld->dir = xstrndup(real, n);
	if (greal && ((g == n - 1 && !memcmp(greal, real, g)) ||
		      (n == 1 && !strcmp(greal, "/"))))
		ld->shown_dir = xstrndup(path, gn);
	else
		ld->shown_dir = xstrndup(real, n);
	free(greal);
	free(given);
}

void ruleset_load(struct ruleset *rs, const char *path, int allow_state)
{
	struct loader ld = { 0 };
	char *data, *real;
	size_t i, len;
	int err;

	memset(rs, 0, sizeof(*rs));
	rs->path = path;
	rs->default_action = BG_ACT_PASS;
	ld.rs = rs;
	ld.file = path;
	ld.allow_state = allow_state;
	real = realpath(path, NULL);
	if (!real)
		bg_die_plain("%s: cannot read ruleset: %s", path,
			     strerror(errno));
	ruleset_dirs(&ld, path, real);
	err = bg_read_file(real, RULESET_MAX, &data, &len);
	if (err == BG_READ_NOT_REGULAR)
		bg_die_plain("%s: ruleset is not a regular file", path);
	if (err == BG_READ_TOO_BIG)
		bg_die_plain("%s: ruleset is larger than " RULESET_MAX_TEXT,
			     path);
	if (err)
		bg_die_plain("%s: cannot read ruleset: %s", path,
			     strerror(err));
	lfile_read(data, len, &ld.lf);
	free(data);
	prescan(&ld);
	/* a statement of several lines takes the lines after its own */
	while (ld.next < ld.lf.n) {
		i = ld.next++;
		parse_line(&ld, &ld.lf.l[i]);
		for (; i < ld.next; i++)
			lline_free(&ld.lf.l[i]);
	}
	free(ld.lf.l);
	free(ld.dir);
	free(ld.shown_dir);
	free(real);
}
