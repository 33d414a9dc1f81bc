// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic normalization, "scrub" statements (what they do:
 * progs/tc_scrub.c; their entries: headers/bg_scrub_abi.h):
 *
 *   scrub [on IFACE] [in|out] [inet|inet6] [from SRC] [to DST] (OPTIONS)
 *   OPTIONS: min-ttl N, max-mss N, no-df, random-id (commas optional)
 *
 * The match part is read by the filter rule's own parsers, so addresses,
 * lists, tables and macros read the same way. Each statement becomes one
 * kernel entry per (source prefix, destination prefix) of each family it
 * is of, in file order; a ruleset that needs more than BG_SCRUB_MAX is
 * an error at the statement that goes over.
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "family.h"
#include "scrub.h"

#define SCRUB_SYNTAX                                                  \
	"scrub [on IFACE] [in|out] [inet|inet6] [from SRC] [to DST] " \
	"(min-ttl N, max-mss N, no-df, random-id)"

static const char *const opt_names[] = { "min-ttl", "max-mss", "no-df",
					 "random-id" };

/* Masks of a /len prefix, in network byte order, as the kernel's words. */
static void prefix_to(const struct prefix *p, __be32 addr[4], __be32 mask[4])
{
	uint8_t m[16] = { 0 };
	int i;

	for (i = 0; i < p->len; i++)
		m[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	memcpy(mask, m, 16);
	memcpy(addr, p->addr, 16);
}

static void not_ports(struct cursor *c)
{
	if (tok_is(peek(c), "port"))
		bg_die_at(c->ld->file, peek(c)->pos,
			  "a scrub matches addresses, not ports (syntax: %s)",
			  SCRUB_SYNTAX);
}

static void field(struct cursor *c, struct rule *r, int fld, uint8_t only)
{
	not_ports(c);
	stmt_addr_field(c, r, fld, only, "scrub");
	not_ports(c);
}

/* A number @lo..@hi after option @kw. */
static uint32_t opt_num(struct cursor *c, const struct token *kw, uint32_t lo,
			uint32_t hi)
{
	struct token *t = peek(c);
	int64_t v;

	if (t->type != T_WORD)
		unexpected(c, "a number");
	v = parse_number(t);
	if (v < lo || v > hi)
		bg_die_at(c->ld->file, t->pos,
			  "%.*s must be %u to %u, not \"%s\"", (int)kw->n,
			  kw->s, lo, hi, TOK_TEXT(t));
	take(c);
	return (uint32_t)v;
}

/* ( OPTION [,] ... ) */
static void parse_opts(struct cursor *c, struct scrub_stmt *st, uint8_t fams)
{
	struct token *open = peek(c), *t;
	size_t i;

	if (open->type != T_LPAREN) {
		if (open->type == T_EOL)
			bg_die_at(
				c->ld->file, open->pos,
				"scrub needs its options in parentheses (syntax: %s)",
				SCRUB_SYNTAX);
		unexpected(c, "from, to or (options)");
	}
	take(c);
	for (;;) {
		t = peek(c);
		if (t->type == T_RPAREN)
			break;
		if (t->type != T_WORD)
			unexpected(c,
				   "min-ttl, max-mss, no-df, random-id or ')'");
		for (i = 0; i < 4; i++)
			if (tok_is(t, opt_names[i]))
				break;
		if (i == 4)
			bg_die_at(
				c->ld->file, t->pos,
				"unknown scrub option \"%s\" (expected min-ttl, max-mss, no-df or random-id)",
				TOK_TEXT(t));
		if (st->opts & (1u << i))
			bg_die_at(c->ld->file, t->pos,
				  "duplicate scrub option \"%s\"",
				  opt_names[i]);
		if ((1u << i) & (BG_SCRUB_F_NO_DF | BG_SCRUB_F_RANDOM_ID) &&
		    fams == BG_FAMF_INET6)
			bg_die_at(
				c->ld->file, t->pos,
				"%s is for IPv4 (an IPv6 header has no don't-fragment bit or identification), and this scrub is inet6",
				opt_names[i]);
		st->opts |= (uint8_t)(1u << i);
		take(c);
		if (i == 0)
			st->min_ttl = (uint8_t)opt_num(c, t, 1, 255);
		else if (i == 1)
			st->max_mss = (uint16_t)opt_num(c, t, BG_SCRUB_MIN_MSS,
							65535);
		if (peek(c)->type == T_COMMA)
			take(c);
	}
	if (!st->opts)
		bg_die_at(
			c->ld->file, t->pos,
			"scrub needs an option (min-ttl, max-mss, no-df or random-id)");
	take(c);
}

/*
 * The prefixes of @f of family @fam: its set's that no other of them
 * covers (a covered one would be an entry that never decides), or /0
 * for any.
 */
static size_t side(const struct ruleset *rs, const struct rfield *f, int fam,
		   const struct prefix **v, struct prefix *any)
{
	memset(any, 0, sizeof(*any));
	any->fam = (uint8_t)fam;
	if (f->any) {
		*v = any;
		return 1;
	}
	*v = rs->sets[f->set].top[fam];
	return rs->sets[f->set].ntop[fam];
}

/* The statement's entries, appended to the ruleset's. */
static void lay_out(struct cursor *c, const struct token *first,
		    const struct rule *r, struct scrub_stmt *st)
{
	struct ruleset *rs = c->ld->rs;
	const struct prefix *sv, *dv;
	struct prefix sany, dany;
	struct bg_scrub_rule *e;
	size_t ns, nd, i, j;
	int fam;

	st->first = rs->nscrub_rules;
	for (fam = 0; fam < BG_FAM_MAX; fam++) {
		if (!(r->fams & (1 << fam)))
			continue;
		/* no-df and random-id do nothing to IPv6: such a statement
		 * must not be the first match of an IPv6 packet, and hide
		 * a later one that would do something. */
		if (fam == BG_FAM_INET6 &&
		    !(st->opts & (BG_SCRUB_F_MIN_TTL | BG_SCRUB_F_MAX_MSS)))
			continue;
		ns = side(rs, &r->f[FLD_SRC], fam, &sv, &sany);
		nd = side(rs, &r->f[FLD_DST], fam, &dv, &dany);
		for (i = 0; i < ns; i++) {
			if (sv[i].fam != fam)
				continue;
			for (j = 0; j < nd; j++) {
				if (dv[j].fam != fam)
					continue;
				if (rs->nscrub_rules == BG_SCRUB_MAX)
					bg_die_at(
						c->ld->file, first->pos,
						"too many scrub entries (more than %d: a scrub takes one for each pair of its from and to addresses, per family)",
						BG_SCRUB_MAX);
				e = &rs->scrub_rules[rs->nscrub_rules++];
				memset(e, 0, sizeof(*e));
				e->ifindex = r->ifindex;
				e->id = (uint16_t)(rs->nscrub + 1);
				e->dirs = st->dirs;
				e->family = (uint8_t)fam;
				e->opts = st->opts;
				e->min_ttl = st->min_ttl;
				e->max_mss = st->max_mss;
				prefix_to(&sv[i], e->src, e->src_mask);
				prefix_to(&dv[j], e->dst, e->dst_mask);
			}
		}
	}
	st->n = rs->nscrub_rules - st->first;
}

void scrub_parse(struct cursor *c, const struct lline *raw)
{
	struct ruleset *rs = c->ld->rs;
	struct token *first = take(c), *t;
	struct scrub_stmt st;
	struct rule r;
	uint8_t only = 0;

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	st.line = raw->line;
	r.line = raw->line;
	r.proto = PROTO_ANY;
	r.vlan = r.icmp_type = r.icmp_code = r.dscp = -1;
	r.f[FLD_SRC].any = r.f[FLD_DST].any = 1;
	if (accept_word(c, "on"))
		parse_iface_name(c, r.iface, &r.ifindex, "statement matches");
	memcpy(st.iface, r.iface, sizeof(st.iface));
	if (accept_word(c, "in"))
		st.dirs = BG_SCRUB_DIR_IN;
	else if (accept_word(c, "out"))
		st.dirs = BG_SCRUB_DIR_OUT;
	else
		st.dirs = BG_SCRUB_DIR_IN | BG_SCRUB_DIR_OUT;
	if (accept_word(c, "inet"))
		only = BG_FAMF_INET;
	else if (accept_word(c, "inet6"))
		only = BG_FAMF_INET6;
	r.fams = only ? only : FAMF_BOTH;
	if (accept_word(c, "from"))
		field(c, &r, FLD_SRC, only);
	if (accept_word(c, "to"))
		field(c, &r, FLD_DST, only);
	t = peek(c);
	if (tok_is(t, "proto") || tok_is(t, "port"))
		bg_die_at(
			c->ld->file, t->pos,
			"a scrub matches interface, direction, family and addresses (syntax: %s)",
			SCRUB_SYNTAX);
	parse_opts(c, &st, r.fams);
	expect_eol(c, SCRUB_SYNTAX);
	if (!rs->scrub_rules)
		rs->scrub_rules =
			xcalloc(BG_SCRUB_MAX, sizeof(*rs->scrub_rules));
	/* "on IFACE" of an interface not here: the statement matches
	 * nothing until the ruleset is loaded again. */
	if (!(r.iface[0] && !r.ifindex))
		lay_out(c, first, &r, &st);
	rs->scrub = bg_grow(rs->scrub, &rs->scrub_cap, rs->nscrub,
			    sizeof(*rs->scrub));
	rs->scrub[rs->nscrub++] = st;
}

/*
 * Always the generation's settings, n = 0 without any statement (an older
 * ruleset's entries then never match), and its entries.
 */
void scrub_emit(struct emitter *e)
{
	const struct ruleset *rs = e->rs;
	struct bg_scrub_config cfg;
	uint32_t key;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n = (uint32_t)rs->nscrub_rules;
	for (i = 0; i < rs->nscrub_rules; i++)
		cfg.dirs |= rs->scrub_rules[i].dirs;
	for (i = 0; i < rs->nscrub_rules; i++) {
		key = e->gen * BG_SCRUB_MAX + (uint32_t)i;
		map_line(e, "bg_scrub_rules", &key, sizeof(key),
			 &rs->scrub_rules[i], sizeof(rs->scrub_rules[i]));
	}
	key = e->gen;
	map_line(e, "bg_scrub_config", &key, sizeof(key), &cfg, sizeof(cfg));
}

/* Does kernel entry @e match @pk (family and addresses)? */
static int entry_match(const struct bg_scrub_rule *e, const struct packet *pk)
{
	__be32 s[4], d[4];
	int i;

	if (e->family != pk->fam)
		return 0;
	memcpy(s, pk->src.addr, 16);
	memcpy(d, pk->dst.addr, 16);
	for (i = 0; i < 4; i++)
		if ((s[i] & e->src_mask[i]) != e->src[i] ||
		    (d[i] & e->dst_mask[i]) != e->dst[i])
			return 0;
	return 1;
}

/*
 * The kernel's first match over the same entries, for each direction: a
 * second reading of what tc_scrub does, in plain C.
 */
void scrub_explain(FILE *f, const struct ruleset *rs, const struct packet *pk)
{
	static const char *const dname[] = { "in", "out" };
	const struct scrub_stmt *st;
	size_t i, j;
	int d, found;

	if (!rs->nscrub)
		return;
	for (d = 0; d < 2; d++) {
		found = 0;
		for (i = 0; i < rs->nscrub && !found; i++) {
			st = &rs->scrub[i];
			if (!(st->dirs & (1 << d)) ||
			    (st->iface[0] &&
			     (!pk->has_iface || strcmp(st->iface, pk->iface))))
				continue;
			for (j = 0; j < st->n && !found; j++)
				found = entry_match(
					&rs->scrub_rules[st->first + j], pk);
			if (!found)
				continue;
			fprintf(f,
				"scrub %s: statement %zu (line %d):", dname[d],
				i + 1, st->line);
			if (st->opts & BG_SCRUB_F_MIN_TTL)
				fprintf(f, " min-ttl %u", st->min_ttl);
			if (st->opts & BG_SCRUB_F_MAX_MSS)
				fprintf(f, " max-mss %u", st->max_mss);
			if ((st->opts & BG_SCRUB_F_NO_DF) &&
			    pk->fam == BG_FAM_INET)
				fprintf(f, " no-df");
			if ((st->opts & BG_SCRUB_F_RANDOM_ID) &&
			    pk->fam == BG_FAM_INET)
				fprintf(f, " random-id");
			fprintf(f, "\n");
		}
		if (!found)
			fprintf(f, "scrub %s: none\n", dname[d]);
	}
}
