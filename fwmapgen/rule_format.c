// SPDX-License-Identifier: GPL-2.0
/*
 * Filter rules written back in canonical ruleset syntax, from the parsed
 * struct rule and never from the source text, so the text says what was
 * compiled: macros expanded, blanks normalised, keywords in the order of
 * the grammar, an "any" or an "inet" that changes nothing left out,
 * tables by <NAME>, inline lists sorted and without duplicates, merged
 * port ranges. Parsed again with the same tables, the text compiles to
 * the same rule (test/fwmapgen_format.bats holds fwmapgen to it).
 *
 * And the map that carries the texts to status.sh, bg_fw_rtext.
 */
#include <stdlib.h>
#include <string.h>

#include "bg_addr.h"
#include "emit.h"
#include "rule_route.h"

/* A growing NUL-terminated string. */
struct text {
	char *s;
	size_t n;
	size_t cap;
};

static void add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		t->s = xreallocarray(t->s, t->cap, 1);
	}
	memcpy(t->s + t->n, s, n + 1);
	t->n += n;
}

/* " WORD": every part of a rule after the action starts with a blank. */
static void word(struct text *t, const char *s)
{
	add(t, " ");
	add(t, s);
}

/* " KEYWORD VALUE" */
static void pair(struct text *t, const char *kw, const char *v)
{
	word(t, kw);
	word(t, v);
}

static void num(struct text *t, const char *kw, long v)
{
	char b[32];

	snprintf(b, sizeof(b), " %s %ld", kw, v);
	add(t, b);
}

/* A full-length prefix as a bare address, others ADDR/LEN. */
static void prefix(struct text *t, const struct prefix *p)
{
	char b[BG_ADDR_STRLEN + 8];

	prefix_format(p, b, sizeof(b));
	if (p->len == (p->fam == BG_FAM_INET ? 32 : 128))
		*strchr(b, '/') = '\0';
	add(t, b);
}

/* SRC, DST: [!]ADDR, [!]<NAME> or { ADDR, ... } */
static void addresses(struct text *t, const struct ruleset *rs,
		      const struct rfield *f)
{
	const struct addrset *set = &rs->sets[f->set];
	size_t i;

	add(t, f->neg ? " !" : " ");
	if (set->name) {
		add(t, "<");
		add(t, set->name);
		add(t, ">");
		return;
	}
	/* a one-entry list is the address itself ("!" takes no list) */
	if (set->n == 1) {
		prefix(t, &set->v[0]);
		return;
	}
	add(t, "{");
	for (i = 0; i < set->n; i++) {
		add(t, i ? ", " : " ");
		prefix(t, &set->v[i]);
	}
	add(t, " }");
}

/* PORTS := N | N:M | { N, N:M, ... } */
static void ports(struct text *t, const struct portlist *pl)
{
	char b[32];
	size_t i;

	add(t, " port");
	if (pl->n > 1)
		add(t, " {");
	for (i = 0; i < pl->n; i++) {
		if (pl->v[i].lo == pl->v[i].hi)
			snprintf(b, sizeof(b), "%u", pl->v[i].lo);
		else
			snprintf(b, sizeof(b), "%u:%u", pl->v[i].lo,
				 pl->v[i].hi);
		add(t, i ? ", " : " ");
		add(t, b);
	}
	if (pl->n > 1)
		add(t, " }");
}

/* from|to: left out when it says "any" with no port */
static void endpoint(struct text *t, const struct ruleset *rs,
		     const struct rule *r, int fld)
{
	if (r->f[fld].any && !r->port[fld].n)
		return;
	word(t, fld == FLD_SRC ? "from" : "to");
	if (!r->f[fld].any)
		addresses(t, rs, &r->f[fld]);
	if (r->port[fld].n)
		ports(t, &r->port[fld]);
}

/*
 * inet|inet6, where it narrows what the protocol and the addresses allow
 * (the parser keeps only the result): written where they already allow
 * one family, it would be redundant, and it would turn an inline list
 * holding an address of the other family into an error.
 */
static void family(struct text *t, const struct ruleset *rs,
		   const struct rule *r)
{
	uint8_t implied = (uint8_t)proto_fams(r->proto);
	int fld;

	for (fld = 0; fld < FLD_MAX; fld++)
		if (!r->f[fld].any)
			implied &= rs->sets[r->f[fld].set].fams;
	if (r->fams != implied)
		word(t, r->fams == BG_FAMF_INET ? "inet" : "inet6");
}

static void proto(struct text *t, int p)
{
	static const char *const names[256] = {
		[PROTO_TCP] = "tcp",
		[PROTO_UDP] = "udp",
		[PROTO_ICMP] = "icmp",
		[PROTO_ICMP6] = "icmp6",
	};

	if (p == PROTO_ANY)
		return;
	if (names[p])
		pair(t, "proto", names[p]);
	else
		num(t, "proto", p);
}

/* pf's letters FSRPAUEW, bit 0 (FIN) first */
static void tcp_flags(struct text *t, const struct rule *r)
{
	static const char letters[] = "FSRPAUEW";
	char b[20];
	size_t n = 0;
	int i;

	if (!r->has_flags)
		return;
	for (i = 0; i < 8; i++)
		if (r->flags_set & (1 << i))
			b[n++] = letters[i];
	/* F alone checks every flag; "" alone would be no word at all */
	if (r->flags_mask != 0xff || !n) {
		b[n++] = '/';
		for (i = 0; i < 8; i++)
			if (r->flags_mask & (1 << i))
				b[n++] = letters[i];
	}
	b[n] = '\0';
	pair(t, "flags", b);
}

static void mac(struct text *t, const char *kw, const uint8_t m[6])
{
	char b[40];

	snprintf(b, sizeof(b), " %s %02x:%02x:%02x:%02x:%02x:%02x", kw, m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	add(t, b);
}

/* The name where the value has one (ef, afXY, csN), else the number. */
static void dscp(struct text *t, int v)
{
	char b[16];

	if (v < 0)
		return;
	if (v == 46)
		snprintf(b, sizeof(b), "ef");
	else if (!(v & 7))
		snprintf(b, sizeof(b), "cs%d", v >> 3);
	else if (v >> 3 >= 1 && v >> 3 <= 4 && !(v & 1) && (v & 7) <= 6)
		snprintf(b, sizeof(b), "af%d%d", v >> 3, (v & 7) >> 1);
	else
		snprintf(b, sizeof(b), "%d", v);
	pair(t, "dscp", b);
}

static void states(struct text *t, uint8_t states)
{
	static const char *const names[BG_CT_CLASSES] = {
		[BG_CT_NEW] = "new",
		[BG_CT_ESTABLISHED] = "established",
		[BG_CT_RELATED] = "related",
		[BG_CT_INVALID] = "invalid",
	};
	const char *sep = " ";
	int i;

	if (!states)
		return;
	add(t, " state");
	for (i = 0; i < BG_CT_CLASSES; i++) {
		if (!(states & (1 << i)))
			continue;
		add(t, sep);
		add(t, names[i]);
		sep = ",";
	}
}

/* on, inet|inet6, vlan, proto, from, to: each part after a blank */
static void match(struct text *t, const struct ruleset *rs,
		  const struct rule *r)
{
	if (r->iface[0])
		pair(t, "on", r->iface);
	family(t, rs, r);
	if (r->vlan >= 0)
		num(t, "vlan", r->vlan);
	proto(t, r->proto);
	endpoint(t, rs, r, FLD_SRC);
	endpoint(t, rs, r, FLD_DST);
}

char *rule_format_match(const struct ruleset *rs, const struct rule *r)
{
	struct text t = { 0 };

	add(&t, "");
	match(&t, rs, r);
	return t.s;
}

char *rule_format(const struct ruleset *rs, const struct rule *r)
{
	struct text t = { 0 };

	add(&t, action_name(r->action));
	if (r->flags & BG_RULE_F_LOG)
		word(&t, "log");
	match(&t, rs, r);
	tcp_flags(&t, r);
	if (r->icmp_type >= 0)
		num(&t, "icmp-type", r->icmp_type);
	if (r->icmp_code >= 0)
		num(&t, "code", r->icmp_code);
	if (r->has_mac[BG_FW_MAC_SRC])
		mac(&t, "mac-src", r->mac[BG_FW_MAC_SRC]);
	if (r->has_mac[BG_FW_MAC_DST])
		mac(&t, "mac-dst", r->mac[BG_FW_MAC_DST]);
	dscp(&t, r->dscp);
	states(&t, r->states);
	/* CONNECTION-LIMITS and ROUTING: formatted by their own files
	 * (rule_limits.c, rule_route.c), here, in this order, between
	 * "state" and "label" as rule_parse() reads them. */
	if (r->limits) {
		char lim[160];

		rule_limits_text(r, lim, sizeof(lim));
		add(&t, " ");
		add(&t, lim);
	}
	if (r->route) {
		char route[256];

		rule_route_text(r, route, sizeof(route));
		add(&t, " ");
		add(&t, route);
	}
	if (r->has_label) {
		add(&t, " label \"");
		add(&t, r->label);
		add(&t, "\"");
	}
	return t.s;
}

/*
 * The text into the map's fixed array: one that does not fit is cut at
 * the last blank that leaves room for the marker, and flagged.
 */
int text_fill(char *buf, size_t size, const char *s)
{
	const size_t room = size - sizeof(BG_FW_RTEXT_CUT);
	size_t n = strlen(s), keep;

	memset(buf, 0, size);
	if (n < size) {
		memcpy(buf, s, n);
		return 0;
	}
	for (keep = room; keep > 0 && s[keep] != ' ';)
		keep--;
	if (!keep)
		keep = room;
	memcpy(buf, s, keep);
	memcpy(buf + keep, BG_FW_RTEXT_CUT, sizeof(BG_FW_RTEXT_CUT));
	return 1;
}

static void rtext_fill(struct bg_fw_rtext *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	v->len = (uint32_t)strlen(s);
	if (text_fill(v->text, sizeof(v->text), s))
		v->flags = BG_FW_RTEXT_F_CUT;
}

/* bg_fw_rtext: the default policy as id 0, then every rule by its id. */
void rule_text_emit(struct emitter *e)
{
	struct bg_fw_rinfo_key k = { .gen = e->gen, .id = 0 };
	struct bg_fw_rtext v;
	char *s;
	size_t i;

	rtext_fill(&v, e->rs->default_action == BG_ACT_BLOCK ?
			       "set default block" :
			       "set default pass");
	map_line(e, "bg_fw_rtext", &k, sizeof(k), &v, sizeof(v));
	for (i = 0; i < e->rs->nrules; i++) {
		k.id = (uint32_t)e->rs->rules[i].id;
		s = rule_format(e->rs, &e->rs->rules[i]);
		rtext_fill(&v, s);
		free(s);
		map_line(e, "bg_fw_rtext", &k, sizeof(k), &v, sizeof(v));
	}
}
