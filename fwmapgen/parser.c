// SPDX-License-Identifier: GPL-2.0
/* Ruleset statements: macros, "set default", rules. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define RULE_SYNTAX \
	"pass|block [log] [on IFACE] [inet|inet6] [from SRC] [to DST] [label \"TEXT\"]"

const char *family_name(int fam)
{
	return fam == BG_FAM_INET ? "inet" : "inet6";
}

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

	ns->v = grow(ns->v, &ns->cap, ns->n, sizeof(*ns->v));
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

static void describe(const struct token *t, char *buf, size_t size)
{
	int n = t->n > 60 ? 60 : (int)t->n;

	switch (t->type) {
	case T_EOL:
		snprintf(buf, size, "end of line");
		break;
	case T_STRING:
		snprintf(buf, size, "string \"%.*s\"", n, t->s);
		break;
	case T_TABLE:
		snprintf(buf, size, "<%.*s>", n, t->s);
		break;
	case T_WORD:
		snprintf(buf, size, "\"%.*s\"", n, t->s);
		break;
	default:
		snprintf(buf, size, "'%c'", t->s[0]);
		break;
	}
}

void unexpected(struct cursor *c, const char *expected)
{
	char what[80];

	describe(peek(c), what, sizeof(what));
	die_at(c->ld->file, peek(c)->pos,
	       "syntax error: unexpected %s, expected %s", what, expected);
}

void expect_eol(struct cursor *c, const char *syntax)
{
	char what[80];

	if (peek(c)->type == T_EOL)
		return;
	describe(peek(c), what, sizeof(what));
	die_at(c->ld->file, peek(c)->pos,
	       "syntax error: unexpected %s (syntax: %s)", what, syntax);
}

/* Length of NAME when the line is "NAME = ...", else 0. */
static size_t macro_def_name(const struct lline *ll, size_t *start)
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

/*
 * Learn every macro and table name first, so that a reference to one
 * defined further down gets "used before its definition", not "unknown".
 */
static void prescan(struct loader *ld)
{
	size_t i, start, n;

	for (i = 0; i < ld->lf.n; i++) {
		const struct lline *ll = &ld->lf.l[i];

		n = macro_def_name(ll, &start);
		if (n && !names_find(&ld->macros, ll->s + start, n))
			names_add(&ld->macros, ll->s + start, n, ll->line);
		n = table_def_name(ll, &start);
		if (n && !names_find(&ld->tables, ll->s + start, n))
			names_add(&ld->tables, ll->s + start, n, ll->line);
	}
}

static const char *macro_value(void *ctx, const char *name, size_t n,
			       struct pos at)
{
	struct loader *ld = ctx;
	struct named *m = names_find(&ld->macros, name, n);

	if (!m)
		die_at(ld->file, at, "unknown macro $%.*s", (int)n, name);
	if (!m->defined && m->line == ld->line)
		die_at(ld->file, at, "macro $%.*s refers to itself", (int)n,
		       name);
	if (!m->defined)
		die_at(ld->file, at,
		       "macro $%.*s used before its definition on line %d",
		       (int)n, name, m->line);
	return m->value;
}

/* NAME = "VALUE": $NAME references in VALUE are expanded right here. */
static void define_macro(struct loader *ld, const struct lline *ll,
			 size_t start, size_t len)
{
	struct named *m = names_find(&ld->macros, ll->s + start, len);
	struct lline val = { 0 };
	struct cursor c = { ld, NULL, 0 };
	size_t i = start + len, from;
	struct token *t;

	if (m && m->defined)
		die_at(ld->file, ll->p[start],
		       "duplicate macro %.*s (first defined on line %d)",
		       (int)len, ll->s + start, m->line);
	while (is_blank(ll->s[i]))
		i++;
	/* macro_def_name() saw the '=' */
	for (i++; i < ll->n && is_blank(ll->s[i]);)
		i++;
	if (i >= ll->n || ll->s[i] != '"')
		die_at(ld->file, i < ll->n ? ll->p[i] : ll->p[ll->n - 1],
		       "syntax error: a macro value must be a quoted string (NAME = \"VALUE\")");
	tokenize(ld->file, ll, &c.t);
	c.i = 3;
	expect_eol(&c, "NAME = \"VALUE\"");
	t = &c.t[2];
	from = (size_t)(t->s - ll->s);
	expand_macros(ld->file, ll, from, from + t->n, 1, &val, macro_value,
		      ld);
	if (!m)
		m = names_add(&ld->macros, ll->s + start, len, ld->line);
	m->value = val.n ? xstrndup(val.s, val.n) : xstrndup("", 0);
	m->defined = 1;
	lline_free(&val);
	free(c.t);
}

static void parse_set(struct cursor *c)
{
	struct loader *ld = c->ld;
	struct token *kw = take(c);

	if (!accept_word(c, "default"))
		unexpected(c, "\"default\" after \"set\"");
	if (accept_word(c, "pass"))
		ld->rs->default_action = BG_ACT_PASS;
	else if (accept_word(c, "block"))
		ld->rs->default_action = BG_ACT_BLOCK;
	else
		unexpected(c, "pass or block");
	expect_eol(c, "set default pass|block");
	if (ld->default_line)
		die_at(ld->file, kw->pos,
		       "default policy already set on line %d",
		       ld->default_line);
	ld->default_line = ld->line;
}

static const char *fams_desc(uint8_t fams)
{
	if (fams == BG_FAMF_INET)
		return "IPv4 only";
	return fams == BG_FAMF_INET6 ? "IPv6 only" : "IPv4 and IPv6";
}

static void no_family(struct cursor *c, struct pos at, const struct rule *r,
		      uint8_t only, int fld, uint8_t fams)
{
	const struct rfield *src = &r->f[FLD_SRC];
	char msg[160] = "";
	size_t n;

	if (only)
		snprintf(msg, sizeof(msg), "%s rule; ",
			 family_name(only == BG_FAMF_INET6));
	n = strlen(msg);
	if (fld == FLD_DST && !src->any)
		snprintf(msg + n, sizeof(msg) - n, "from: %s; ",
			 fams_desc(c->ld->rs->sets[src->set].fams));
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, "%s: %s",
		 fld == FLD_SRC ? "from" : "to", fams_desc(fams));
	die_at(c->ld->file, at, "rule matches no address family (%s)", msg);
}

static int single_set(struct cursor *c, const struct token *t, uint8_t only)
{
	int set = new_set(c->ld->rs);
	struct prefix p;

	parse_addr(c->ld, t, only, &p);
	addrset_add(&c->ld->rs->sets[set], &p);
	addrset_finish(&c->ld->rs->sets[set]);
	return set;
}

static int list_set(struct cursor *c, uint8_t only)
{
	int set = new_set(c->ld->rs);

	parse_list(c, set, only);
	addrset_finish(&c->ld->rs->sets[set]);
	return set;
}

/* SRC, DST := any | [!]ADDR | [!]<NAME> | { ADDR, ... } */
static void parse_field(struct cursor *c, struct rule *r, int fld, uint8_t only)
{
	struct rfield *f = &r->f[fld];
	struct token *t = peek(c);
	struct pos at = t->pos;
	uint8_t fams;

	if (accept_word(c, "any")) {
		f->any = 1;
		return;
	}
	if (t->type == T_BANG) {
		take(c);
		f->neg = 1;
		t = peek(c);
		if (tok_is(t, "any"))
			die_at(c->ld->file, t->pos, "\"any\" can't be negated");
		if (t->type != T_WORD && t->type != T_TABLE)
			unexpected(c, "an address or <table> after '!'");
	}
	if (t->type == T_WORD)
		f->set = single_set(c, take(c), only);
	else if (t->type == T_TABLE)
		f->set = table_ref(c, take(c));
	else if (t->type == T_LBRACE)
		f->set = list_set(c, only);
	else
		unexpected(c, "an address, <table>, { list } or any");
	fams = c->ld->rs->sets[f->set].fams;
	if (!(r->fams & fams))
		no_family(c, at, r, only, fld, fams);
	r->fams &= fams;
}

static void parse_iface(struct cursor *c, struct rule *r)
{
	struct token *t = peek(c);

	if (t->type != T_WORD)
		unexpected(c, "an interface name after \"on\"");
	if (t->n >= BG_IFNAMSIZ)
		die_at(c->ld->file, t->pos,
		       "interface name \"%.*s\" is longer than %d bytes",
		       (int)t->n, t->s, BG_IFNAMSIZ - 1);
	memcpy(r->iface, t->s, t->n);
	r->ifindex = if_nametoindex(r->iface);
	if (!r->ifindex)
		warn_at(c->ld->file, t->pos,
			"interface %s does not exist here; its rules match nothing",
			r->iface);
	c->ld->rs->uses_iface = 1;
	take(c);
}

static void parse_label(struct cursor *c, struct rule *r)
{
	struct token *t = peek(c);

	if (t->type != T_STRING)
		unexpected(c, "a quoted text after \"label\"");
	if (t->n >= BG_FW_LABEL_LEN)
		die_at(c->ld->file, t->pos,
		       "label is longer than %d bytes (%zu bytes)",
		       BG_FW_LABEL_LEN - 1, t->n);
	memcpy(r->label, t->s, t->n);
	r->has_label = 1;
	take(c);
}

/* Rule ids and per-family bits, within what the maps can hold. */
static void add_rule(struct cursor *c, struct rule *r, struct pos at)
{
	struct ruleset *rs = c->ld->rs;
	int f;

	if (rs->nrules >= BG_FW_MAX_IDS)
		die_at(c->ld->file, at,
		       "too many rules (more than %d in total)", BG_FW_MAX_IDS);
	for (f = 0; f < BG_FAM_MAX; f++) {
		r->bit[f] = -1;
		if (!(r->fams & (1 << f)))
			continue;
		if (rs->nfam[f] >= BG_FW_MAX_RULES)
			die_at(c->ld->file, at,
			       "too many %s rules (more than %d apply to %s)",
			       family_name(f), BG_FW_MAX_RULES,
			       f == BG_FAM_INET ? "IPv4" : "IPv6");
		r->bit[f] = rs->nfam[f]++;
	}
	rs->rules = grow(rs->rules, &rs->rules_cap, rs->nrules, sizeof(*r));
	r->id = (int)rs->nrules + 1;
	rs->rules[rs->nrules++] = *r;
}

static void parse_rule(struct cursor *c, const struct lline *raw)
{
	struct token *first = take(c);
	struct rule r = { 0 };
	uint8_t only = 0;

	r.line = raw->line;
	r.action = tok_is(first, "block") ? BG_ACT_BLOCK : BG_ACT_PASS;
	if (accept_word(c, "log"))
		r.flags |= BG_RULE_F_LOG;
	if (accept_word(c, "on"))
		parse_iface(c, &r);
	if (accept_word(c, "inet"))
		only = BG_FAMF_INET;
	else if (accept_word(c, "inet6"))
		only = BG_FAMF_INET6;
	r.fams = only ? only : FAMF_BOTH;
	r.f[FLD_SRC].any = r.f[FLD_DST].any = 1;
	if (accept_word(c, "from")) {
		r.f[FLD_SRC].any = 0;
		parse_field(c, &r, FLD_SRC, only);
	}
	if (accept_word(c, "to")) {
		r.f[FLD_DST].any = 0;
		parse_field(c, &r, FLD_DST, only);
	}
	if (accept_word(c, "label"))
		parse_label(c, &r);
	expect_eol(c, RULE_SYNTAX);
	r.text = collapse(raw);
	add_rule(c, &r, first->pos);
}

static void parse_statement(struct loader *ld, const struct lline *raw)
{
	struct lline ex = { 0 };
	struct cursor c = { ld, NULL, 0 };
	struct token *t;

	ex.line = raw->line;
	expand_macros(ld->file, raw, 0, raw->n, 0, &ex, macro_value, ld);
	tokenize(ld->file, &ex, &c.t);
	t = peek(&c);
	if (t->type == T_EOL)
		; /* only macros that expanded to nothing */
	else if (tok_is(t, "pass") || tok_is(t, "block"))
		parse_rule(&c, raw);
	else if (tok_is(t, "table"))
		parse_table(&c);
	else if (tok_is(t, "set"))
		parse_set(&c);
	else
		unexpected(
			&c,
			"a rule (pass|block ...), table, set default or NAME = \"VALUE\"");
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

static void parse_line(struct loader *ld, const struct lline *ll)
{
	size_t start, len;

	ld->line = ll->line;
	if (ll->err)
		die_at(ld->file, ll->errpos, "syntax error: %s", ll->err);
	if (is_empty(ll))
		return;
	len = macro_def_name(ll, &start);
	if (len)
		define_macro(ld, ll, start, len);
	else
		parse_statement(ld, ll);
}

void ruleset_load(struct ruleset *rs, const char *path)
{
	struct loader ld = { 0 };
	size_t i;
	int err;

	memset(rs, 0, sizeof(*rs));
	rs->path = path;
	rs->default_action = BG_ACT_PASS;
	ld.rs = rs;
	ld.file = path;
	err = lfile_read(path, &ld.lf);
	if (err)
		die("%s: cannot read ruleset: %s", path, strerror(err));
	prescan(&ld);
	for (i = 0; i < ld.lf.n; i++) {
		parse_line(&ld, &ld.lf.l[i]);
		lline_free(&ld.lf.l[i]);
	}
	free(ld.lf.l);
}
