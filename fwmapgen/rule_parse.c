// SPDX-License-Identifier: GPL-2.0
/* Filter rules: "pass|block ...", each one a struct rule. */
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"

#define RULE_SYNTAX                                                        \
	"pass|block [log] [on IFACE] [inet|inet6] [vlan N] [proto PROTO] " \
	"[from [SRC] [port PORTS]] [to [DST] [port PORTS]] [flags F/M] "   \
	"[icmp-type N [code N]] [mac-src MAC] [mac-dst MAC] [dscp N] "     \
	"[state STATE[,STATE...]] "                                        \
	"[route-to ADDR] [reply-to ADDR] [dup-to IFACE [via ADDR]] "       \
	"[label \"TEXT\"]"

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
void rule_parse_field(struct cursor *c, struct rule *r, int fld, uint8_t only)
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

/*
 * "from" or "to" (@fld) of a statement that matches addresses as rules
 * do, but not negated and naming at least one address (a ratelimit, a
 * scrub; @stmt names it in the errors): the field's set, NULL for any.
 */
const struct addrset *stmt_addr_field(struct cursor *c, struct rule *r, int fld,
				      uint8_t only, const char *stmt)
{
	const char *name = fld == FLD_SRC ? "from" : "to";
	struct token *t = peek(c);
	const struct addrset *set;

	if (t->type == T_BANG)
		bg_die_at(c->ld->file, t->pos, "a %s's \"%s\" can't be negated",
			  stmt, name);
	r->f[fld].any = 0;
	rule_parse_field(c, r, fld, only);
	if (r->f[fld].any)
		return NULL;
	set = &c->ld->rs->sets[r->f[fld].set];
	if (!set->n)
		bg_die_at(c->ld->file, t->pos,
			  "\"%s\" names no address (an empty list or table)",
			  name);
	return set;
}

void parse_iface_name(struct cursor *c, char name[BG_IFNAMSIZ],
		      unsigned int *ifindex, const char *what)
{
	struct token *t = peek(c);

	if (t->type != T_WORD)
		unexpected(c, "an interface name after \"on\"");
	if (t->n >= BG_IFNAMSIZ)
		bg_die_at(c->ld->file, t->pos,
			  "interface name \"%s\" is longer than %d bytes",
			  TOK_TEXT(t), BG_IFNAMSIZ - 1);
	memcpy(name, t->s, t->n);
	*ifindex = if_nametoindex(name);
	if (!*ifindex)
		bg_warn_at(c->ld->file, t->pos,
			   "interface %s does not exist here; its %s nothing",
			   name, what);
	take(c);
}

static void parse_iface(struct cursor *c, struct rule *r)
{
	parse_iface_name(c, r->iface, &r->ifindex, "rules match");
	c->ld->rs->uses_iface = 1;
}

void parse_label_text(struct cursor *c, char *label, size_t size)
{
	struct token *t = peek(c);

	if (t->type != T_STRING)
		unexpected(c, "a quoted text after \"label\"");
	if (t->n >= size)
		bg_die_at(c->ld->file, t->pos,
			  "label is longer than %zu bytes (%zu bytes)",
			  size - 1, t->n);
	memcpy(label, t->s, t->n);
	take(c);
}

static void parse_label(struct cursor *c, struct rule *r)
{
	parse_label_text(c, r->label, sizeof(r->label));
	r->has_label = 1;
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

int parse_proto_arg(struct cursor *c, uint8_t only)
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
	take(c);
	return p;
}

static void parse_proto(struct cursor *c, struct rule *r, uint8_t only)
{
	r->proto = parse_proto_arg(c, only);
	r->fams &= (uint8_t)proto_fams(r->proto);
	c->ld->rs->uses_proto = 1;
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

/* PORTS := N | N:M | { N, N:M, ... }, sorted and merged into @pl */
void parse_ports_arg(struct cursor *c, int proto, const struct token *kw,
		     struct portlist *pl)
{
	struct token *t = peek(c), *open;

	if (proto != PROTO_TCP && proto != PROTO_UDP)
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
}

static void parse_ports(struct cursor *c, struct rule *r, int fld,
			const struct token *kw)
{
	parse_ports_arg(c, r->proto, kw, &r->port[fld]);
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
		rule_parse_field(c, r, fld, only);
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

/* The word after a keyword, which must be there. */
static struct token *arg(struct cursor *c, const char *what)
{
	struct token *t = peek(c);

	if (t->type != T_WORD || is_keyword(t))
		unexpected(c, what);
	return take(c);
}

static void parse_vlan(struct cursor *c, struct rule *r)
{
	struct token *t = arg(c, "a VLAN id after \"vlan\"");
	uint32_t v;

	if (parse_num(t->s, t->n, 4095, &v) || !v)
		bg_die_at(
			c->ld->file, t->pos,
			"bad VLAN id \"%s\" (a number from 1 to 4095; 0 is a priority tag, no VLAN)",
			TOK_TEXT(t));
	r->vlan = (int)v;
	c->ld->rs->uses_vlan = 1;
}

/* F/M, or F alone (M: every flag), in pf's letters FSRPAUEW */
static void parse_flags(struct cursor *c, struct rule *r,
			const struct token *kw)
{
	struct token *t;
	const char *slash;
	int f, m;

	if (r->proto != PROTO_TCP)
		bg_die_at(c->ld->file, kw->pos,
			  "\"flags\" needs proto tcp (TCP flags)");
	t = arg(c, "TCP flags after \"flags\" (as in flags S/SA)");
	slash = memchr(t->s, '/', t->n);
	f = tcp_flags_parse(t->s, slash ? (size_t)(slash - t->s) : t->n);
	m = slash ? tcp_flags_parse(slash + 1,
				    t->n - (size_t)(slash - t->s) - 1) :
		    0xff;
	if (f < 0 || m <= 0)
		bg_die_at(
			c->ld->file, t->pos,
			"bad TCP flags \"%s\" (F/M in the letters FSRPAUEW, each once, as in flags S/SA)",
			TOK_TEXT(t));
	if (f & ~m)
		bg_die_at(
			c->ld->file, t->pos,
			"flags %s never match: a flag that must be set is not among the flags checked (after the '/')",
			TOK_TEXT(t));
	r->has_flags = 1;
	r->flags_set = (uint8_t)f;
	r->flags_mask = (uint8_t)m;
	c->ld->rs->uses_flags = 1;
}

static int byte_arg(struct cursor *c, const char *what, const char *name)
{
	struct token *t = arg(c, what);
	uint32_t v;

	if (parse_num(t->s, t->n, 255, &v))
		bg_die_at(c->ld->file, t->pos,
			  "bad %s \"%s\" (a number from 0 to 255)", name,
			  TOK_TEXT(t));
	return (int)v;
}

/* icmp-type N [code N] */
static void parse_icmp(struct cursor *c, struct rule *r, const struct token *kw,
		       struct token **code)
{
	if (r->proto != PROTO_ICMP && r->proto != PROTO_ICMP6)
		bg_die_at(c->ld->file, kw->pos,
			  "\"icmp-type\" needs proto icmp or proto icmp6");
	r->icmp_type =
		byte_arg(c, "an ICMP type after \"icmp-type\"", "ICMP type");
	if ((*code = tok_is(peek(c), "code") ? take(c) : NULL))
		r->icmp_code =
			byte_arg(c, "an ICMP code after \"code\"", "ICMP code");
	c->ld->rs->uses_icmp = 1;
}

static void parse_mac(struct cursor *c, struct rule *r, int dir)
{
	struct token *t = arg(c, "an Ethernet address (aa:bb:cc:dd:ee:ff)");

	if (mac_parse(t->s, t->n, r->mac[dir]))
		bg_die_at(
			c->ld->file, t->pos,
			"bad Ethernet address \"%s\" (six hex bytes, as in 02:00:5e:10:00:01)",
			TOK_TEXT(t));
	r->has_mac[dir] = 1;
	c->ld->rs->uses_mac |= 1 << dir;
}

static void parse_dscp(struct cursor *c, struct rule *r)
{
	struct token *t = arg(c, "a DSCP value after \"dscp\"");

	r->dscp = dscp_parse(t->s, t->n);
	if (r->dscp < 0)
		bg_die_at(
			c->ld->file, t->pos,
			"bad dscp \"%s\" (a number from 0 to 63, ef, af11..af43 or cs0..cs7)",
			TOK_TEXT(t));
	c->ld->rs->uses_dscp = 1;
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

void rule_parse(struct cursor *c, const struct lline *raw)
{
	struct token *first = take(c);
	struct token *seen[15 + RULE_LIMIT_KWS + RULE_ROUTE_KWS] = { NULL };
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
	r.vlan = r.icmp_type = r.icmp_code = r.dscp = -1;
	if ((seen[8] = keyword(c, "vlan")))
		parse_vlan(c, &r);
	if ((seen[3] = keyword(c, "proto")))
		parse_proto(c, &r, only);
	if ((seen[4] = keyword(c, "from")))
		parse_endpoint(c, &r, FLD_SRC, only, seen[4]);
	if ((seen[5] = keyword(c, "to")))
		parse_endpoint(c, &r, FLD_DST, only, seen[5]);
	if ((seen[9] = keyword(c, "flags")))
		parse_flags(c, &r, seen[9]);
	if ((seen[10] = keyword(c, "icmp-type")))
		parse_icmp(c, &r, seen[10], &seen[11]);
	if ((seen[12] = keyword(c, "mac-src")))
		parse_mac(c, &r, BG_FW_MAC_SRC);
	if ((seen[13] = keyword(c, "mac-dst")))
		parse_mac(c, &r, BG_FW_MAC_DST);
	if ((seen[14] = keyword(c, "dscp")))
		parse_dscp(c, &r);
	if ((seen[6] = keyword(c, "state")))
		parse_state(c, &r, seen[6]);
	rule_parse_limits(c, &r, &seen[15]);
	rule_parse_route(c, &r, &seen[15 + RULE_LIMIT_KWS]);
	if ((seen[7] = keyword(c, "label")))
		parse_label(c, &r);
	rule_end(c, (const struct token *const *)seen,
		 sizeof(seen) / sizeof(seen[0]));
	r.text = collapse(raw);
	add_rule(c, &r, first->pos);
}
