// SPDX-License-Identifier: GPL-2.0
/*
 * ROUTING of a filter rule: route-to ADDR, reply-to ADDR, dup-to IFACE
 * [via ADDR], in this order, each at most once, on "pass" rules only.
 *
 * A next hop is one address of the rule's family: a rule that applies to
 * both families (no inet/inet6 and no address narrowing it) cannot name
 * one, since the other family's packets would have none; say "inet" or
 * "inet6". The kernel side (tc_route) looks the next hop up in the
 * routing table when a packet comes, so it must be reachable then, on a
 * connected network or through a gateway.
 */
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "bg_addr.h"
#include "emit.h"
#include "family.h"
#include "rule_route.h"

#define ROUTE_SYNTAX "[route-to ADDR] [reply-to ADDR] [dup-to IFACE [via ADDR]]"

static const char *const route_kw[RULE_ROUTE_KWS] = { "route-to", "reply-to",
						      "dup-to" };

static int is_route_kw(const struct token *t)
{
	int i;

	for (i = 0; i < RULE_ROUTE_KWS; i++)
		if (tok_is(t, route_kw[i]))
			return 1;
	return tok_is(t, "via");
}

/*
 * Why an address can't be a next hop, or NULL when it can: it must be one
 * host that packets can be sent to, and an IPv6 link-local one would need
 * an interface to go with it.
 */
static const char *not_a_next_hop(const struct prefix *p)
{
	static const uint8_t zero[16];
	const uint8_t *a = p->addr;

	if (p->fam == BG_FAM_INET) {
		if (!memcmp(a, zero, 4) || a[0] == 0)
			return "an unspecified address";
		if (a[0] == 127)
			return "a loopback address";
		if (a[0] >= 224 && a[0] <= 239)
			return "a multicast address";
		if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
			return "the broadcast address";
		return NULL;
	}
	if (!memcmp(a, zero, 16))
		return "an unspecified address";
	if (!memcmp(a, zero, 15) && a[15] == 1)
		return "a loopback address";
	if (a[0] == 0xff)
		return "a multicast address";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "a link-local address (it needs an interface)";
	return NULL;
}

/*
 * The next hop after keyword @kw: one address, of the rule's family
 * (@r->fams, already narrowed by inet/inet6, addresses and protocol).
 */
static void next_hop(struct cursor *c, const struct rule *r,
		     const struct token *kw, struct prefix *p)
{
	struct token *t = peek(c);
	char what[64];
	const char *why;

	snprintf(what, sizeof(what), "a next-hop address after \"%s\"",
		 TOK_TEXT(kw));
	if (t->type != T_WORD || is_keyword(t) || is_route_kw(t))
		unexpected(c, what);
	if (memchr(t->s, '/', t->n))
		bg_die_at(c->ld->file, t->pos,
			  "next hop \"%s\" is a prefix: name one address",
			  TOK_TEXT(t));
	if (host_parse(t->s, t->n, p))
		bg_die_at(c->ld->file, t->pos, "bad address \"%s\"",
			  TOK_TEXT(t));
	why = not_a_next_hop(p);
	if (why)
		bg_die_at(c->ld->file, t->pos,
			  "next hop \"%s\" is %s, not one host to send to",
			  TOK_TEXT(t), why);
	if (r->fams == FAMF_BOTH)
		bg_die_at(
			c->ld->file, t->pos,
			"%s next hop \"%s\" in a rule that applies to IPv4 and IPv6 (say \"%s\", or name addresses of one family)",
			p->fam == BG_FAM_INET ? "IPv4" : "IPv6", TOK_TEXT(t),
			p->fam == BG_FAM_INET ? "inet" : "inet6");
	if (!(r->fams & (1 << p->fam)))
		bg_die_at(c->ld->file, t->pos,
			  "%s next hop \"%s\" in a rule for %s only",
			  p->fam == BG_FAM_INET ? "IPv4" : "IPv6", TOK_TEXT(t),
			  p->fam == BG_FAM_INET ? "IPv6" : "IPv4");
	take(c);
}

static void dup_iface(struct cursor *c, struct rule_route *rt)
{
	struct token *t = peek(c);

	if (t->type != T_WORD || is_keyword(t) || is_route_kw(t))
		unexpected(c, "an interface name after \"dup-to\"");
	if (t->n >= BG_IFNAMSIZ)
		bg_die_at(c->ld->file, t->pos,
			  "interface name \"%s\" is longer than %d bytes",
			  TOK_TEXT(t), BG_IFNAMSIZ - 1);
	memcpy(rt->dup_iface, t->s, t->n);
	rt->dup_ifindex = if_nametoindex(rt->dup_iface);
	if (!rt->dup_ifindex)
		bg_warn_at(
			c->ld->file, t->pos,
			"interface %s does not exist here; dup-to sends no copies (counted as route_skipped)",
			rt->dup_iface);
	take(c);
}

/* A ROUTING keyword left after the part: given twice, or out of order. */
static void route_end(struct cursor *c, struct token **seen)
{
	struct token *t = peek(c);
	int i;

	if (!is_route_kw(t) || tok_is(t, "via"))
		return;
	for (i = 0; i < RULE_ROUTE_KWS; i++)
		if (seen[i] && tok_is(t, route_kw[i]))
			bg_die_at(
				c->ld->file, t->pos,
				"duplicate keyword \"%s\" (a rule takes each keyword once)",
				TOK_TEXT(t));
	bg_die_at(c->ld->file, t->pos,
		  "syntax error: \"%s\" out of order (ROUTING is " ROUTE_SYNTAX
		  ")",
		  TOK_TEXT(t));
}

void rule_parse_route(struct cursor *c, struct rule *r, struct token **seen)
{
	struct rule_route rt = { 0 };
	struct token *via;
	int i;

	for (i = 0; i < RULE_ROUTE_KWS; i++) {
		if (!tok_is(peek(c), route_kw[i]))
			continue;
		seen[i] = take(c);
		if (r->action != BG_ACT_PASS)
			bg_die_at(
				c->ld->file, seen[i]->pos,
				"\"%s\" on a block rule (only passed packets are routed)",
				route_kw[i]);
		if (i < 2 && r->vlan >= 0)
			bg_die_at(
				c->ld->file, seen[i]->pos,
				"\"%s\" in a vlan rule (VLAN-tagged packets are not routed)",
				route_kw[i]);
		rt.actions |= (uint8_t)(1 << i);
		if (i == 0)
			next_hop(c, r, seen[i], &rt.route_to);
		else if (i == 1)
			next_hop(c, r, seen[i], &rt.reply_to);
		else
			dup_iface(c, &rt);
		if (i == 2 && (via = tok_is(peek(c), "via") ? take(c) : NULL)) {
			next_hop(c, r, via, &rt.dup_via);
			rt.actions |= BG_ROUTE_F_DUP_VIA;
			if (tok_is(peek(c), "via"))
				bg_die_at(
					c->ld->file, peek(c)->pos,
					"duplicate keyword \"via\" (a rule takes each keyword once)");
		}
	}
	route_end(c, seen);
	if (!rt.actions)
		return;
	/* next_hop() checked each one against the rule's single family */
	rt.fam = (r->fams & BG_FAMF_INET6) ? BG_FAM_INET6 : BG_FAM_INET;
	r->route = xcalloc(1, sizeof(*r->route));
	*r->route = rt;
	r->flags |= BG_RULE_F_ROUTE;
}

int route_used(const struct ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->nrules; i++)
		if (rs->rules[i].route)
			return 1;
	return 0;
}

static void put_addr(__be32 out[4], const struct prefix *p)
{
	memcpy(out, p->addr, p->fam == BG_FAM_INET ? 4 : 16);
}

/*
 * bg_fw_route: {gen, id} -> the rule's actions, for the rules that route;
 * then {gen, 0}, the union of them all (headers/bg_fw_abi.h). Nothing at
 * all for a ruleset without routing, so its batch and digest are those
 * of before routing existed.
 */
void route_emit(struct emitter *e)
{
	struct bg_fw_route_key k = { .gen = e->gen };
	struct bg_fw_route v, all;
	size_t i;

	memset(&all, 0, sizeof(all));
	for (i = 0; i < e->rs->nrules; i++) {
		const struct rule *r = &e->rs->rules[i];
		const struct rule_route *rt = r->route;

		if (!rt)
			continue;
		memset(&v, 0, sizeof(v));
		v.actions = rt->actions;
		v.family = rt->fam;
		v.dup_ifindex = rt->dup_ifindex;
		if (rt->actions & BG_ROUTE_F_ROUTE_TO)
			put_addr(v.route_to, &rt->route_to);
		if (rt->actions & BG_ROUTE_F_REPLY_TO)
			put_addr(v.reply_to, &rt->reply_to);
		if (rt->actions & BG_ROUTE_F_DUP_VIA)
			put_addr(v.dup_via, &rt->dup_via);
		k.id = (uint32_t)r->id;
		map_line(e, "bg_fw_route", &k, sizeof(k), &v, sizeof(v));
		all.actions |= rt->actions;
	}
	if (!all.actions)
		return;
	k.id = 0;
	map_line(e, "bg_fw_route", &k, sizeof(k), &all, sizeof(all));
}

/*
 * ROUTING as the ruleset says it, canonical: the actions in grammar order,
 * addresses in their shortest form. "" for a rule without routing.
 */
void rule_route_text(const struct rule *r, char *buf, size_t size)
{
	const struct rule_route *rt = r->route;
	char a[BG_ADDR_STRLEN];
	size_t n = 0;

	buf[0] = '\0';
	if (!rt)
		return;
	if (rt->actions & BG_ROUTE_F_ROUTE_TO) {
		bg_addr_format(rt->route_to.addr, rt->fam, a, sizeof(a));
		text_addf(buf, size, &n, "route-to %s", a);
	}
	if (rt->actions & BG_ROUTE_F_REPLY_TO) {
		bg_addr_format(rt->reply_to.addr, rt->fam, a, sizeof(a));
		text_addf(buf, size, &n, "%sreply-to %s", n ? " " : "", a);
	}
	if (rt->actions & BG_ROUTE_F_DUP_TO)
		text_addf(buf, size, &n, "%sdup-to %s", n ? " " : "",
			  rt->dup_iface);
	if (rt->actions & BG_ROUTE_F_DUP_VIA) {
		bg_addr_format(rt->dup_via.addr, rt->fam, a, sizeof(a));
		text_addf(buf, size, &n, " via %s", a);
	}
}

/* --explain: "routing: ..." (a dup-to interface missing here said so). */
void route_explain(FILE *f, const struct rule *r)
{
	char text[ROUTE_TEXT_SIZE];

	if (!r->route)
		return;
	rule_route_text(r, text, sizeof(text));
	fprintf(f, "routing: %s%s\n", text,
		(r->route->actions & BG_ROUTE_F_DUP_TO) &&
				!r->route->dup_ifindex ?
			" (dup-to: no such interface here, no copies)" :
			"");
}
