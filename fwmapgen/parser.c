// SPDX-License-Identifier: GPL-2.0
/* Ruleset statements: macros, "set", rules. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define RULE_SYNTAX                                               \
	"pass|block [log] [on IFACE] [inet|inet6] [proto PROTO] " \
	"[from [SRC] [port PORTS]] [to [DST] [port PORTS]] "      \
	"[state STATE[,STATE...]] [label \"TEXT\"]"

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
			       struct bg_pos at)
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
static void define_macro(struct loader *ld, const struct lline *ll,
			 size_t start, size_t len)
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

#define TIMEOUT_MAX 4294967 /* seconds: ~49.7 days, fits u32 */
#define TIMEOUT_NAMES                                                 \
	"tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, " \
	"tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, "    \
	"udp.unreplied, udp.replied or icmp"

/* Index: enum bg_ct_timeout. */
static const char *const timeout_names[BG_CTT_MAX] = {
	[BG_CTT_TCP_SYN_SENT] = "tcp.syn_sent",
	[BG_CTT_TCP_SYN_RECV] = "tcp.syn_recv",
	[BG_CTT_TCP_ESTABLISHED] = "tcp.established",
	[BG_CTT_TCP_FIN_WAIT] = "tcp.fin_wait",
	[BG_CTT_TCP_CLOSE_WAIT] = "tcp.close_wait",
	[BG_CTT_TCP_LAST_ACK] = "tcp.last_ack",
	[BG_CTT_TCP_TIME_WAIT] = "tcp.time_wait",
	[BG_CTT_TCP_CLOSE] = "tcp.close",
	[BG_CTT_UDP_UNREPLIED] = "udp.unreplied",
	[BG_CTT_UDP_REPLIED] = "udp.replied",
	[BG_CTT_ICMP] = "icmp",
};

/* A token's text for a message: a short excerpt, escaped. */
#define TOK_TEXT(t) BG_EXCERPT((t)->s, (t)->n)

/*
 * A decimal number; -1 if @t is not one. Values past 2^32 saturate there,
 * so that any range check rejects them.
 */
static int64_t parse_number(const struct token *t)
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

static void parse_set_default(struct cursor *c, const struct token *kw)
{
	struct loader *ld = c->ld;

	if (accept_word(c, "pass"))
		ld->rs->default_action = BG_ACT_PASS;
	else if (accept_word(c, "block"))
		ld->rs->default_action = BG_ACT_BLOCK;
	else
		unexpected(c, "pass or block");
	expect_eol(c, "set default pass|block");
	if (ld->default_line)
		bg_die_at(ld->file, kw->pos,
			  "default policy already set on line %d",
			  ld->default_line);
	ld->default_line = ld->line;
}

/* set timeout NAME SECONDS */
static void parse_set_timeout(struct cursor *c)
{
	struct loader *ld = c->ld;
	struct token *name, *num;
	int64_t v;
	int i;

	name = peek(c);
	if (name->type != T_WORD)
		unexpected(c, "a timeout name (" TIMEOUT_NAMES ")");
	for (i = 0; i < BG_CTT_MAX; i++)
		if (timeout_names[i] && tok_is(name, timeout_names[i]))
			break;
	if (i == BG_CTT_MAX)
		bg_die_at(ld->file, name->pos,
			  "unknown timeout \"%s\" (expected " TIMEOUT_NAMES ")",
			  TOK_TEXT(name));
	take(c);
	num = peek(c);
	if (num->type == T_EOL)
		unexpected(c, "a number of seconds");
	v = parse_number(num);
	if (v < 0)
		bg_die_at(ld->file, num->pos,
			  "bad timeout \"%s\" (expected a number of seconds)",
			  TOK_TEXT(num));
	if (v == 0)
		bg_die_at(
			ld->file, num->pos,
			"timeout %s can't be 0 (1..%d seconds; leave it unset for the default)",
			timeout_names[i], TIMEOUT_MAX);
	if (v > TIMEOUT_MAX)
		bg_die_at(ld->file, num->pos,
			  "timeout %s of %s seconds is out of range (1..%d)",
			  timeout_names[i], TOK_TEXT(num), TIMEOUT_MAX);
	take(c);
	expect_eol(c, "set timeout NAME SECONDS");
	if (ld->timeout_line[i])
		bg_die_at(ld->file, name->pos,
			  "timeout %s already set on line %d", timeout_names[i],
			  ld->timeout_line[i]);
	ld->timeout_line[i] = ld->line;
	ld->rs->ct_timeout[i] = (uint32_t)v;
	ld->rs->ntimeouts++;
}

/* set limit states N */
static void parse_set_limit(struct cursor *c, const struct token *kw)
{
	struct loader *ld = c->ld;
	struct token *num;
	int64_t v;

	if (!accept_word(c, "states"))
		unexpected(c, "\"states\" after \"set limit\"");
	num = peek(c);
	if (num->type == T_EOL)
		unexpected(c, "a number of states");
	v = parse_number(num);
	if (v < 0)
		bg_die_at(ld->file, num->pos,
			  "bad limit \"%s\" (expected a number of states)",
			  TOK_TEXT(num));
	if (v < 1 || v > BG_CT_TABLE_MAX)
		bg_die_at(
			ld->file, num->pos,
			"limit states %s is out of range (1..%d, the table size)",
			TOK_TEXT(num), BG_CT_TABLE_MAX);
	take(c);
	expect_eol(c, "set limit states N");
	if (ld->limit_line)
		bg_die_at(ld->file, kw->pos,
			  "limit states already set on line %d",
			  ld->limit_line);
	ld->limit_line = ld->line;
	ld->rs->ct_limit_states = (uint32_t)v;
}

static void parse_set(struct cursor *c)
{
	struct token *kw = take(c);

	if (accept_word(c, "default"))
		parse_set_default(c, kw);
	else if (accept_word(c, "timeout"))
		parse_set_timeout(c);
	else if (accept_word(c, "limit"))
		parse_set_limit(c, kw);
	else
		unexpected(c, "default, timeout or limit after \"set\"");
}

static const char *fams_desc(uint8_t fams)
{
	if (fams == BG_FAMF_INET)
		return "IPv4 only";
	return fams == BG_FAMF_INET6 ? "IPv6 only" : "IPv4 and IPv6";
}

static void no_family(struct cursor *c, struct bg_pos at, const struct rule *r,
		      uint8_t only, int fld, uint8_t fams)
{
	const struct rfield *src = &r->f[FLD_SRC];
	char msg[160] = "";
	size_t n;

	if (only)
		snprintf(msg, sizeof(msg), "%s rule; ",
			 family_name(only == BG_FAMF_INET6));
	else if (proto_fams(r->proto) != FAMF_BOTH)
		snprintf(msg, sizeof(msg), "proto %s: %s; ",
			 r->proto == PROTO_ICMP ? "icmp" : "icmp6",
			 fams_desc((uint8_t)proto_fams(r->proto)));
	n = strlen(msg);
	if (fld == FLD_DST && !src->any)
		snprintf(msg + n, sizeof(msg) - n, "from: %s; ",
			 fams_desc(c->ld->rs->sets[src->set].fams));
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, "%s: %s",
		 fld == FLD_SRC ? "from" : "to", fams_desc(fams));
	bg_die_at(c->ld->file, at, "rule matches no address family (%s)", msg);
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
	struct bg_pos at = t->pos;
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
			bg_die_at(c->ld->file, t->pos,
				  "\"any\" can't be negated");
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
		bg_die_at(c->ld->file, t->pos,
			  "interface name \"%s\" is longer than %d bytes",
			  TOK_TEXT(t), BG_IFNAMSIZ - 1);
	memcpy(r->iface, t->s, t->n);
	r->ifindex = if_nametoindex(r->iface);
	if (!r->ifindex)
		bg_warn_at(
			c->ld->file, t->pos,
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
		bg_die_at(c->ld->file, t->pos,
			  "label is longer than %d bytes (%zu bytes)",
			  BG_FW_LABEL_LEN - 1, t->n);
	memcpy(r->label, t->s, t->n);
	r->has_label = 1;
	take(c);
}

/* Rule ids and per-family bits, within what the maps can hold. */
static void add_rule(struct cursor *c, struct rule *r, struct bg_pos at)
{
	struct ruleset *rs = c->ld->rs;
	int f;

	if (rs->nrules >= BG_FW_MAX_IDS)
		bg_die_at(c->ld->file, at,
			  "too many rules (more than %d in total)",
			  BG_FW_MAX_IDS);
	for (f = 0; f < BG_FAM_MAX; f++) {
		r->bit[f] = -1;
		if (!(r->fams & (1 << f)))
			continue;
		if (rs->nfam[f] >= BG_FW_MAX_RULES)
			bg_die_at(
				c->ld->file, at,
				"too many %s rules (more than %d apply to %s)",
				family_name(f), BG_FW_MAX_RULES,
				f == BG_FAM_INET ? "IPv4" : "IPv6");
		r->bit[f] = rs->nfam[f]++;
	}
	rs->rules = bg_grow(rs->rules, &rs->rules_cap, rs->nrules, sizeof(*r));
	r->id = (int)rs->nrules + 1;
	rs->rules[rs->nrules++] = *r;
}

/* ICMP is IPv4's, ICMPv6 IPv6's; every other protocol exists in both. */
int proto_fams(int proto)
{
	if (proto == PROTO_ICMP)
		return BG_FAMF_INET;
	return proto == PROTO_ICMP6 ? BG_FAMF_INET6 : FAMF_BOTH;
}

/* A decimal number 0..@max, digits only. */
static int parse_num(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 6)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* tcp|udp|icmp|icmp6|NUMBER; -1 when it is none of them */
int proto_parse(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int num;
	} names[] = {
		{ "tcp", PROTO_TCP },
		{ "udp", PROTO_UDP },
		{ "icmp", PROTO_ICMP },
		{ "icmp6", PROTO_ICMP6 },
	};
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && !memcmp(names[i].name, s, n))
			return names[i].num;
	return parse_num(s, n, 255, &v) ? -1 : (int)v;
}

static void parse_proto(struct cursor *c, struct rule *r, uint8_t only)
{
	struct token *t = peek(c);
	int p, fams;

	if (t->type != T_WORD)
		unexpected(c, "a protocol after \"proto\"");
	p = proto_parse(t->s, t->n);
	if (p < 0)
		bg_die_at(
			c->ld->file, t->pos,
			"bad protocol \"%s\" (expected tcp, udp, icmp, icmp6 or a number from 0 to 255)",
			TOK_TEXT(t));
	fams = proto_fams(p);
	if (only && !(only & fams))
		bg_die_at(c->ld->file, t->pos,
			  "proto %s is %s only: it can't be in an %s rule",
			  TOK_TEXT(t), fams == BG_FAMF_INET ? "IPv4" : "IPv6",
			  family_name(only == BG_FAMF_INET6));
	r->proto = p;
	r->fams &= (uint8_t)fams;
	c->ld->rs->uses_proto = 1;
	take(c);
}

/* N, N:M or N-M, inclusive */
static void port_range(struct cursor *c, const struct token *t,
		       struct portlist *pl)
{
	const char *sep = NULL;
	struct portrange r;
	size_t i, n1;

	for (i = 0; i < t->n && !sep; i++)
		if (t->s[i] == ':' || t->s[i] == '-')
			sep = t->s + i;
	n1 = sep ? (size_t)(sep - t->s) : t->n;
	if (parse_num(t->s, n1, 65535, &r.lo) ||
	    (sep && parse_num(sep + 1, t->n - n1 - 1, 65535, &r.hi)))
		bg_die_at(
			c->ld->file, t->pos,
			"bad port \"%s\" (ports are numbers from 0 to 65535, ranges N:M or N-M)",
			TOK_TEXT(t));
	if (!sep)
		r.hi = r.lo;
	if (r.lo > r.hi)
		bg_die_at(
			c->ld->file, t->pos,
			"reversed port range \"%s\" (the first port must not be above the second)",
			TOK_TEXT(t));
	pl->v = bg_grow(pl->v, &pl->cap, pl->n, sizeof(*pl->v));
	pl->v[pl->n++] = r;
}

static int cmp_range(const void *a, const void *b)
{
	const struct portrange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge overlapping or adjacent ranges. */
static void ports_finish(struct portlist *pl)
{
	size_t i, o = 0;

	qsort(pl->v, pl->n, sizeof(*pl->v), cmp_range);
	for (i = 0; i < pl->n; i++) {
		if (o && pl->v[i].lo <= pl->v[o - 1].hi + 1) {
			if (pl->v[i].hi > pl->v[o - 1].hi)
				pl->v[o - 1].hi = pl->v[i].hi;
			continue;
		}
		pl->v[o++] = pl->v[i];
	}
	pl->n = o;
}

/* PORTS := N | N:M | { N, N:M, ... } */
static void parse_ports(struct cursor *c, struct rule *r, int fld,
			const struct token *kw)
{
	struct portlist *pl = &r->port[fld];
	struct token *t = peek(c), *open;

	if (r->proto != PROTO_TCP && r->proto != PROTO_UDP)
		bg_die_at(c->ld->file, kw->pos,
			  "\"port\" needs proto tcp or proto udp");
	if (t->type == T_WORD) {
		port_range(c, take(c), pl);
	} else if (t->type == T_LBRACE) {
		open = take(c);
		for (;;) {
			t = peek(c);
			if (t->type == T_RBRACE)
				break;
			if (t->type == T_EOL)
				bg_die_at(
					c->ld->file, open->pos,
					"syntax error: unterminated '{' (missing '}'; end a line with '\\' to continue the list)");
			if (t->type != T_WORD || is_keyword(t))
				unexpected(c, "a port or '}'");
			port_range(c, take(c), pl);
			if (peek(c)->type == T_COMMA)
				take(c);
		}
		if (!pl->n)
			bg_die_at(c->ld->file, open->pos,
				  "empty port list (it would match nothing)");
		take(c);
	} else {
		unexpected(c, "a port, N:M or { list } after \"port\"");
	}
	ports_finish(pl);
	c->ld->rs->uses_ports = 1;
}

static void duplicate(struct cursor *c, const struct token *t)
{
	bg_die_at(c->ld->file, t->pos,
		  "duplicate keyword \"%s\" (a rule takes each keyword once)",
		  TOK_TEXT(t));
}

/* from|to [SRC|DST] [port PORTS]: at least one of the two */
static void parse_endpoint(struct cursor *c, struct rule *r, int fld,
			   uint8_t only, const struct token *kw)
{
	struct token *t = peek(c);

	if (!tok_is(t, "port")) {
		if (t->type == T_EOL || (is_keyword(t) && !tok_is(t, "any")))
			bg_die_at(
				c->ld->file, kw->pos,
				"syntax error: \"%s\" needs an address, a port or both",
				TOK_TEXT(kw));
		r->f[fld].any = 0;
		parse_field(c, r, fld, only);
	}
	if (tok_is(peek(c), "port")) {
		t = take(c);
		parse_ports(c, r, fld, t);
		if (tok_is(peek(c), "port"))
			duplicate(c, peek(c));
	}
}

/* STATE[,STATE...] */
static void parse_state(struct cursor *c, struct rule *r,
			const struct token *kw)
{
	static const char *const names[BG_CT_CLASSES] = {
		[BG_CT_NEW] = "new",
		[BG_CT_ESTABLISHED] = "established",
		[BG_CT_RELATED] = "related",
		[BG_CT_INVALID] = "invalid",
	};
	struct token *t;
	int i;

	for (;;) {
		t = peek(c);
		if (t->type != T_WORD)
			unexpected(
				c,
				"a state (new, established, related or invalid)");
		for (i = 0; i < BG_CT_CLASSES; i++)
			if (tok_is(t, names[i]))
				break;
		if (i == BG_CT_CLASSES)
			bg_die_at(
				c->ld->file, t->pos,
				"bad state \"%s\" (expected new, established, related or invalid)",
				TOK_TEXT(t));
		r->states |= (uint8_t)(1 << i);
		take(c);
		if (peek(c)->type != T_COMMA)
			break;
		take(c);
	}
	if (!c->ld->allow_state)
		bg_die_at(
			c->ld->file, kw->pos,
			"state needs connection tracking, which this build does not have");
	c->ld->rs->uses_state = 1;
}

/* Keywords after the last one parsed: out of order, or given twice. */
static void rule_end(struct cursor *c, const struct token *const *seen,
		     size_t nseen)
{
	struct token *t = peek(c);
	size_t i;

	for (i = 0; i < nseen; i++)
		if (seen[i] && t->type == T_WORD && t->n == seen[i]->n &&
		    !memcmp(t->s, seen[i]->s, t->n))
			duplicate(c, t);
	if (tok_is(t, "inet") || tok_is(t, "inet6"))
		for (i = 0; i < nseen; i++)
			if (seen[i] && (tok_is(seen[i], "inet") ||
					tok_is(seen[i], "inet6")))
				duplicate(c, t);
	expect_eol(c, RULE_SYNTAX);
}

static struct token *keyword(struct cursor *c, const char *word)
{
	return tok_is(peek(c), word) ? take(c) : NULL;
}

static void parse_rule(struct cursor *c, const struct lline *raw)
{
	struct token *first = take(c), *seen[8] = { NULL };
	struct rule r = { 0 };
	uint8_t only = 0;

	r.line = raw->line;
	r.proto = PROTO_ANY;
	r.action = tok_is(first, "block") ? BG_ACT_BLOCK : BG_ACT_PASS;
	if ((seen[0] = keyword(c, "log")))
		r.flags |= BG_RULE_F_LOG;
	if ((seen[1] = keyword(c, "on")))
		parse_iface(c, &r);
	if ((seen[2] = keyword(c, "inet")))
		only = BG_FAMF_INET;
	else if ((seen[2] = keyword(c, "inet6")))
		only = BG_FAMF_INET6;
	r.fams = only ? only : FAMF_BOTH;
	r.f[FLD_SRC].any = r.f[FLD_DST].any = 1;
	if ((seen[3] = keyword(c, "proto")))
		parse_proto(c, &r, only);
	if ((seen[4] = keyword(c, "from")))
		parse_endpoint(c, &r, FLD_SRC, only, seen[4]);
	if ((seen[5] = keyword(c, "to")))
		parse_endpoint(c, &r, FLD_DST, only, seen[5]);
	if ((seen[6] = keyword(c, "state")))
		parse_state(c, &r, seen[6]);
	if ((seen[7] = keyword(c, "label")))
		parse_label(c, &r);
	rule_end(c, (const struct token *const *)seen, 8);
	r.text = collapse(raw);
	add_rule(c, &r, first->pos);
}

static void parse_statement(struct loader *ld, const struct lline *raw)
{
	struct lline ex = { 0 };
	struct cursor c = { ld, NULL, 0 };
	struct token *t;

	ex.line = raw->line;
	expand_macros(ld->file, raw, 0, raw->n, 0, &ex, macro_value, ld,
		      &ld->expanded);
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
	if (ll->err[0])
		bg_die_at(ld->file, ll->errpos, "%s", ll->err);
	if (is_empty(ll))
		return;
	len = macro_def_name(ll, &start);
	if (len)
		define_macro(ld, ll, start, len);
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
	for (i = 0; i < ld.lf.n; i++) {
		parse_line(&ld, &ld.lf.l[i]);
		lline_free(&ld.lf.l[i]);
	}
	free(ld.lf.l);
	free(ld.dir);
	free(ld.shown_dir);
	free(real);
}
