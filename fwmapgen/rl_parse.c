// SPDX-License-Identifier: GPL-2.0
/*
 * The rate limiter's statements: "ratelimit ..." policies, and the DDoS
 * protections "set syn-flood|icmp-flood|udp-amplification|tcp-flood"
 * (set_parse.c hands those over). What they mean is headers/bg_rl_abi.h.
 *
 * A policy's match part (on, inet|inet6, proto, from, to, port) and its
 * label are parsed by the filter rule's own parsers into a struct rule,
 * so both read the same way. A policy is of one address family, or of
 * both when nothing names one: then it is in both tries as /0.
 *
 * The candidate lists are built here, policy by policy, so that a list
 * or a trie that overflows is an error at the statement that does it.
 */
#include <stdlib.h>
#include <string.h>

#include "bg_addr.h"
#include "family.h"
#include "rl.h"

#define RL_SYNTAX                                                            \
	"ratelimit [on IFACE] [inet|inet6] [proto PROTO] [from SRC] "        \
	"[to DST [port PORTS]] rate N/second|N/minute [burst N] "            \
	"[algorithm token-bucket|fixed-window|sliding-window|leaky-bucket] " \
	"[per-source [prefix N]] [action drop|log] [label \"TEXT\"]"

#define RL_KWS 13 /* keywords of a policy, for the duplicate check */

/* Index: enum bg_rl_algo; rl_format.c writes them back. */
const char *const rl_algo_names[BG_RL_ALGO_MAX] = {
	[BG_RL_ALGO_TOKEN_BUCKET] = "token-bucket",
	[BG_RL_ALGO_FIXED_WINDOW] = "fixed-window",
	[BG_RL_ALGO_SLIDING_WINDOW] = "sliding-window",
	[BG_RL_ALGO_LEAKY_BUCKET] = "leaky-bucket",
};

static const char *fam_desc(uint8_t fams)
{
	return fams == BG_FAMF_INET ? "IPv4" : "IPv6";
}

static struct token *keyword(struct cursor *c, const char *word)
{
	return tok_is(peek(c), word) ? take(c) : NULL;
}

/* The word after keyword @kw, which must be there. */
static struct token *arg(struct cursor *c, const char *what)
{
	struct token *t = peek(c);

	if (t->type != T_WORD || is_keyword(t))
		unexpected(c, what);
	return take(c);
}

/* A word after @kw, keywords of rules too ("log", "on"). */
static struct token *word_arg(struct cursor *c, const char *what)
{
	if (peek(c)->type != T_WORD)
		unexpected(c, what);
	return take(c);
}

/* A count after @kw: @lo..@hi. */
static uint32_t count_arg(struct cursor *c, const char *kw, uint32_t lo,
			  uint32_t hi)
{
	char what[64];
	struct token *t;
	int64_t v;

	snprintf(what, sizeof(what), "a number after \"%s\"", kw);
	t = arg(c, what);
	v = parse_number(t);
	if (v < 0)
		bg_die_at(c->ld->file, t->pos,
			  "bad %s \"%s\" (expected a number)", kw, TOK_TEXT(t));
	if (v < lo || v > hi)
		bg_die_at(c->ld->file, t->pos, "%s %s is out of range (%u..%u)",
			  kw, TOK_TEXT(t), lo, hi);
	return (uint32_t)v;
}

/*
 * RATE := N/second | N/minute (@minute: whether a minute may be the
 * interval; the DDoS protections count per second). N: 1..BG_RL_RATE_MAX.
 */
static void rate_arg(struct cursor *c, const char *kw, int minute, __u64 *rate,
		     __u64 *interval_ns)
{
	const char *units = minute ? "N/second or N/minute" : "N/second";
	struct token *t, num;
	const char *slash;
	char what[80];
	int64_t v;

	snprintf(what, sizeof(what), "a rate (%s) after \"%s\"", units, kw);
	t = arg(c, what);
	slash = memchr(t->s, '/', t->n);
	num = *t;
	num.n = slash ? (size_t)(slash - t->s) : t->n;
	v = parse_number(&num);
	if (!slash || v < 0)
		bg_die_at(c->ld->file, t->pos, "bad rate \"%s\" (expected %s)",
			  TOK_TEXT(t), units);
	num.s = slash + 1;
	num.n = t->n - (size_t)(num.s - t->s);
	if (tok_is(&num, "second")) {
		*interval_ns = BG_RL_NS_SECOND;
	} else if (minute && tok_is(&num, "minute")) {
		*interval_ns = BG_RL_NS_MINUTE;
	} else {
		bg_die_at(c->ld->file, t->pos,
			  "bad rate unit in \"%s\" (expected %s)", TOK_TEXT(t),
			  units);
	}
	if (v < 1 || v > BG_RL_RATE_MAX)
		bg_die_at(c->ld->file, t->pos,
			  "rate %s is out of range (1..%u packets)",
			  TOK_TEXT(t), BG_RL_RATE_MAX);
	*rate = (uint64_t)v;
}

/* A per-second rate into a bg_rl_config field. */
static uint32_t rate_sec(struct cursor *c, const char *kw)
{
	__u64 rate, interval;

	rate_arg(c, kw, 0, &rate, &interval);
	return (uint32_t)rate;
}

/*
 * SRC, DST with the rule's parser (no address family forced on it, so
 * that the messages below say what is wrong with a policy); then the
 * policy's family, narrowed in @fams. @why: what narrowed it so far.
 */
static void rl_field(struct cursor *c, struct rule *r, int fld, uint8_t *fams,
		     const char **why)
{
	const char *name = fld == FLD_SRC ? "from" : "to";
	struct token *t = peek(c);
	const struct addrset *set;

	if (fld == FLD_DST && (t->type == T_LBRACE || t->type == T_TABLE))
		bg_die_at(
			c->ld->file, t->pos,
			"a ratelimit's \"to\" is one address or prefix (or any), not a list");
	r->fams = FAMF_BOTH;
	set = stmt_addr_field(c, r, fld, 0, "ratelimit");
	if (!set)
		return;
	if (set->fams == FAMF_BOTH)
		bg_die_at(
			c->ld->file, t->pos,
			"\"%s\" mixes IPv4 and IPv6 (a ratelimit policy is of one address family: write one for each)",
			name);
	if (!(*fams & set->fams))
		bg_die_at(
			c->ld->file, t->pos,
			"families mixed: %s is %s, %s is %s (a ratelimit policy is of one address family)",
			*why, fam_desc(*fams), name, fam_desc(set->fams));
	if (*fams == FAMF_BOTH)
		*why = name;
	*fams = set->fams;
}

/* The longest source prefix of @pol that covers @q, or -1 if none. */
static int covers(const struct ruleset *rs, const struct rl_policy *pol,
		  const struct prefix *q)
{
	const struct addrset *set;
	int best = -1;
	size_t i;

	if (pol->dead || !(pol->m.fams & (1 << q->fam)))
		return -1;
	if (pol->m.f[FLD_SRC].any)
		return 0;
	set = &rs->sets[pol->m.f[FLD_SRC].set];
	for (i = 0; i < set->n; i++)
		if (set->v[i].len > best && prefix_contains(&set->v[i], q))
			best = set->v[i].len;
	return best;
}

/* Policy @id into the list of @nd: after the longer and equal prefixes. */
static void cand_add(struct cursor *c, const struct token *at,
		     struct rl_node *nd, uint32_t id, int plen)
{
	struct bg_rl_clist *l = &nd->list;
	char b[BG_ADDR_STRLEN + 8];
	uint32_t i;

	if (l->n == BG_RL_CAND_MAX) {
		prefix_format(&nd->p, b, sizeof(b));
		bg_die_at(
			c->ld->file, at->pos,
			"too many ratelimit policies for source %s (more than %d apply to it)",
			b, BG_RL_CAND_MAX);
	}
	for (i = l->n; i > 0 && nd->plen[i - 1] < plen; i--) {
		l->pol[i] = l->pol[i - 1];
		nd->plen[i] = nd->plen[i - 1];
	}
	l->pol[i] = (uint16_t)id;
	nd->plen[i] = (uint8_t)plen;
	l->n++;
}

/* The node of prefix @q; a new one holds the policies before. */
static void node_add(struct cursor *c, const struct token *at,
		     const struct prefix *q)
{
	struct ruleset *rs = c->ld->rs;
	struct rl_lists *ls = rs->rl_lists;
	struct rl_node *nd;
	size_t i;
	int plen;

	for (i = 0; i < ls->n; i++)
		if (!prefix_cmp(&ls->v[i].p, q))
			return;
	if (ls->n == BG_RL_CLISTS_PER_GEN)
		bg_die_at(
			c->ld->file, at->pos,
			"too many ratelimit source prefixes (more than %d, IPv4 and IPv6 together, counting /0)",
			BG_RL_CLISTS_PER_GEN);
	ls->v = bg_grow(ls->v, &ls->cap, ls->n, sizeof(*ls->v));
	nd = &ls->v[ls->n++];
	memset(nd, 0, sizeof(*nd));
	nd->p = *q;
	for (i = 0; i < rs->nrl; i++) {
		plen = covers(rs, &rs->rl[i], q);
		if (plen >= 0)
			cand_add(c, at, nd, rs->rl[i].p.id, plen);
	}
}

/*
 * The tries' prefixes of @pol (/0 of each family it is of, and every
 * source prefix), then @pol into every list its sources cover.
 */
static void index_policy(struct cursor *c, const struct token *at,
			 const struct rl_policy *pol)
{
	struct ruleset *rs = c->ld->rs;
	const struct addrset *set = NULL;
	struct prefix root;
	size_t i;
	int f, plen;

	if (!rs->rl_lists)
		rs->rl_lists = xcalloc(1, sizeof(*rs->rl_lists));
	if (pol->dead)
		return;
	if (!pol->m.f[FLD_SRC].any)
		set = &rs->sets[pol->m.f[FLD_SRC].set];
	for (f = 0; f < BG_FAM_MAX; f++) {
		if (!(pol->m.fams & (1 << f)))
			continue;
		memset(&root, 0, sizeof(root));
		root.fam = (uint8_t)f;
		node_add(c, at, &root);
		for (i = 0; set && i < set->n; i++)
			node_add(c, at, &set->v[i]);
	}
	for (i = 0; i < rs->rl_lists->n; i++) {
		plen = covers(rs, pol, &rs->rl_lists->v[i].p);
		if (plen >= 0)
			cand_add(c, at, &rs->rl_lists->v[i], pol->p.id, plen);
	}
}

static void duplicate(struct cursor *c, const struct token *t)
{
	bg_die_at(
		c->ld->file, t->pos,
		"duplicate keyword \"%s\" (a ratelimit takes each keyword once)",
		TOK_TEXT(t));
}

/* After the last keyword: one given twice, or out of order, or junk. */
static void rl_end(struct cursor *c, struct token *const *seen)
{
	struct token *t = peek(c);
	size_t i;

	for (i = 0; i < RL_KWS; i++)
		if (seen[i] && t->type == T_WORD && t->n == seen[i]->n &&
		    !memcmp(t->s, seen[i]->s, t->n))
			duplicate(c, t);
	if ((tok_is(t, "inet") || tok_is(t, "inet6")) && seen[1])
		duplicate(c, t);
	expect_eol(c, RL_SYNTAX);
}

static void parse_algo(struct cursor *c, struct rl_policy *pol)
{
	struct token *t = arg(c, "an algorithm after \"algorithm\"");
	int a;

	for (a = 0; a < BG_RL_ALGO_MAX; a++)
		if (tok_is(t, rl_algo_names[a]))
			break;
	if (a == BG_RL_ALGO_MAX)
		bg_die_at(
			c->ld->file, t->pos,
			"unknown algorithm \"%s\" (expected token-bucket, fixed-window, sliding-window or leaky-bucket)",
			TOK_TEXT(t));
	pol->p.algo = (uint8_t)a;
}

/* per-source [prefix N]: N within the policy's one family */
static void parse_per_source(struct cursor *c, struct rl_policy *pol,
			     struct token *kw)
{
	uint8_t fams = pol->m.fams;
	uint32_t full = fams == BG_FAMF_INET ? 32 : 128;

	pol->p.flags |= BG_RL_PF_PER_SOURCE;
	/* both families: 0, the kernel keeps each source by its full
	 * address (32 or 128 bits, the packet's family) */
	pol->p.src_plen = fams == FAMF_BOTH ? 0 : (uint8_t)full;
	if (!kw)
		return;
	if (fams == FAMF_BOTH)
		bg_die_at(
			c->ld->file, kw->pos,
			"\"prefix\" needs the policy's address family (say inet or inet6, or name addresses of one family)");
	pol->p.src_plen = (uint8_t)count_arg(c, "prefix", 1, full);
	pol->has_prefix = 1;
}

static void parse_action(struct cursor *c, struct rl_policy *pol)
{
	struct token *t = word_arg(c, "drop or log after \"action\"");

	if (tok_is(t, "drop"))
		pol->p.action = BG_RL_ACT_DROP;
	else if (tok_is(t, "log"))
		pol->p.action = BG_RL_ACT_LOG;
	else
		bg_die_at(c->ld->file, t->pos,
			  "unknown action \"%s\" (expected drop or log)",
			  TOK_TEXT(t));
}

/* burst: within the algorithm's use of it, else its default */
static void set_burst(struct cursor *c, struct rl_policy *pol,
		      const struct token *kw)
{
	struct bg_rl_policy *p = &pol->p;

	if (kw && (p->algo == BG_RL_ALGO_FIXED_WINDOW ||
		   p->algo == BG_RL_ALGO_SLIDING_WINDOW))
		bg_die_at(
			c->ld->file, kw->pos,
			"\"burst\" does not apply to %s (a window admits rate packets)",
			rl_algo_names[p->algo]);
	if (kw)
		return;
	p->burst = p->algo == BG_RL_ALGO_LEAKY_BUCKET ? 1 : p->rate;
}

/* The policy's bg_rl_policy fields from its match part. */
static void fill_match(struct cursor *c, struct rl_policy *pol)
{
	const struct rule *r = &pol->m;
	struct bg_rl_policy *p = &pol->p;
	const struct prefix *d;

	p->ifindex = r->ifindex;
	p->family = r->fams == BG_FAMF_INET6 ? BG_FAM_INET6 : BG_FAM_INET;
	p->proto = r->proto == PROTO_ANY ? 0 : (uint8_t)r->proto;
	if (!r->f[FLD_DST].any) {
		d = &c->ld->rs->sets[r->f[FLD_DST].set].v[0];
		p->flags |= BG_RL_PF_DST;
		p->dst_plen = d->len;
		memcpy(p->dst, d->addr, sizeof(p->dst));
	}
	if (r->port[FLD_DST].n) {
		p->flags |= BG_RL_PF_PORTS;
		p->dport_lo = (uint16_t)r->port[FLD_DST].v[0].lo;
		p->dport_hi = (uint16_t)r->port[FLD_DST].v[0].hi;
	}
}

void rl_parse(struct cursor *c, const struct lline *raw)
{
	struct ruleset *rs = c->ld->rs;
	struct token *first = take(c), *seen[RL_KWS] = { NULL }, *pfx = NULL;
	struct rl_policy pol;
	struct rule *r = &pol.m;
	const char *why = NULL;
	uint8_t only = 0, fams;

	if (rs->nrl >= BG_RL_MAX_POLICIES)
		bg_die_at(c->ld->file, first->pos,
			  "too many ratelimit policies (more than %d)",
			  BG_RL_MAX_POLICIES);
	memset(&pol, 0, sizeof(pol));
	r->line = raw->line;
	r->proto = PROTO_ANY;
	r->vlan = r->icmp_type = r->icmp_code = r->dscp = -1;
	r->f[FLD_SRC].any = r->f[FLD_DST].any = 1;
	if ((seen[0] = keyword(c, "on")))
		parse_iface_name(c, r->iface, &r->ifindex, "policy matches");
	if ((seen[1] = keyword(c, "inet")))
		only = BG_FAMF_INET;
	else if ((seen[1] = keyword(c, "inet6")))
		only = BG_FAMF_INET6;
	fams = only ? only : FAMF_BOTH;
	if (only)
		why = only == BG_FAMF_INET ? "inet" : "inet6";
	if ((seen[2] = keyword(c, "proto"))) {
		r->proto = parse_proto_arg(c, only);
		if (fams == FAMF_BOTH && proto_fams(r->proto) != FAMF_BOTH)
			why = r->proto == PROTO_ICMP ? "proto icmp" :
						       "proto icmp6";
		fams &= (uint8_t)proto_fams(r->proto);
	}
	if ((seen[3] = keyword(c, "from")))
		rl_field(c, r, FLD_SRC, &fams, &why);
	if ((seen[4] = keyword(c, "to"))) {
		if (!tok_is(peek(c), "port"))
			rl_field(c, r, FLD_DST, &fams, &why);
		if ((seen[5] = keyword(c, "port"))) {
			parse_ports_arg(c, r->proto, seen[5],
					&r->port[FLD_DST]);
			if (r->port[FLD_DST].n > 1)
				bg_die_at(
					c->ld->file, seen[5]->pos,
					"a ratelimit's \"port\" is one port or one range N:M");
		}
	}
	r->fams = fams;
	if (!(seen[6] = keyword(c, "rate"))) {
		if (peek(c)->type == T_EOL)
			bg_die_at(
				c->ld->file, first->pos,
				"ratelimit needs a rate (rate N/second or N/minute)");
		rl_end(c, seen);
	}
	rate_arg(c, "rate", 1, &pol.p.rate, &pol.p.interval_ns);
	if ((seen[7] = keyword(c, "burst"))) {
		pol.p.burst = count_arg(c, "burst", 1, BG_RL_RATE_MAX);
		pol.has_burst = 1;
	}
	if ((seen[8] = keyword(c, "algorithm")))
		parse_algo(c, &pol);
	set_burst(c, &pol, seen[7]);
	if ((seen[9] = keyword(c, "per-source"))) {
		if ((pfx = keyword(c, "prefix")))
			seen[12] = pfx;
		parse_per_source(c, &pol, pfx);
	}
	if ((seen[10] = keyword(c, "action")))
		parse_action(c, &pol);
	if ((seen[11] = keyword(c, "label"))) {
		parse_label_text(c, r->label, sizeof(r->label));
		r->has_label = 1;
	}
	rl_end(c, seen);
	pol.dead = r->iface[0] && !r->ifindex;
	pol.p.id = (uint32_t)rs->nrl + 1;
	fill_match(c, &pol);
	index_policy(c, first, &pol);
	rs->rl = bg_grow(rs->rl, &rs->rl_cap, rs->nrl, sizeof(*rs->rl));
	rs->rl[rs->nrl++] = pol;
	rs->rl_cfg.npolicies = (uint32_t)rs->nrl;
}

/* set syn-flood rate N/second [global N/second] [cookies on|off] */
static void parse_syn_flood(struct cursor *c)
{
	struct bg_rl_config *cfg = &c->ld->rs->rl_cfg;
	struct token *t;

	if (!accept_word(c, "rate"))
		unexpected(c, "\"rate\" after \"set syn-flood\"");
	cfg->syn_rate = rate_sec(c, "rate");
	cfg->syn_cookie_above = cfg->syn_rate;
	if (accept_word(c, "global"))
		cfg->syn_cookie_above = rate_sec(c, "global");
	cfg->syn_cookies = 1;
	if (accept_word(c, "cookies")) {
		t = word_arg(c, "on or off after \"cookies\"");
		if (tok_is(t, "off"))
			cfg->syn_cookies = 0;
		else if (!tok_is(t, "on"))
			bg_die_at(c->ld->file, t->pos,
				  "bad cookies \"%s\" (expected on or off)",
				  TOK_TEXT(t));
	}
	expect_eol(
		c,
		"set syn-flood rate N/second [global N/second] [cookies on|off]");
}

/* set icmp-flood rate N/second [max-payload BYTES] */
static void parse_icmp_flood(struct cursor *c)
{
	struct bg_rl_config *cfg = &c->ld->rs->rl_cfg;

	if (!accept_word(c, "rate"))
		unexpected(c, "\"rate\" after \"set icmp-flood\"");
	cfg->icmp_rate = rate_sec(c, "rate");
	if (accept_word(c, "max-payload"))
		cfg->icmp_max_payload = count_arg(c, "max-payload", 1, 65535);
	expect_eol(c, "set icmp-flood rate N/second [max-payload BYTES]");
}

/* set udp-amplification ports PORTS rate N/second */
static void parse_udp_amp(struct cursor *c)
{
	struct ruleset *rs = c->ld->rs;
	struct portlist pl = { 0 };
	struct token *kw = peek(c);
	uint32_t port;
	size_t i;

	if (!accept_word(c, "ports"))
		unexpected(c, "\"ports\" after \"set udp-amplification\"");
	/* the rule's PORTS (one port, N:M, or a { list }) of UDP */
	parse_ports_arg(c, PROTO_UDP, kw, &pl);
	if (!accept_word(c, "rate"))
		unexpected(c, "\"rate\" after the ports");
	rs->rl_cfg.udp_amp_rate = rate_sec(c, "rate");
	expect_eol(c, "set udp-amplification ports PORTS rate N/second");
	if (!rs->rl_amp_ports)
		rs->rl_amp_ports =
			xcalloc(BG_RL_PORT_WORDS, sizeof(*rs->rl_amp_ports));
	for (i = 0; i < pl.n; i++)
		for (port = pl.v[i].lo; port <= pl.v[i].hi; port++)
			rs->rl_amp_ports[port / 64] |= 1ull << (port % 64);
	free(pl.v);
}

/* set tcp-flood [half-open N] [rst N/second] [fin N/second] [ack N/second] */
static void parse_tcp_flood(struct cursor *c, const struct token *kw)
{
	struct bg_rl_config *cfg = &c->ld->rs->rl_cfg;
	int any = 0;

	if (accept_word(c, "half-open")) {
		cfg->tcp_half_open =
			count_arg(c, "half-open", 1, BG_RL_RATE_MAX);
		any = 1;
	}
	if (accept_word(c, "rst")) {
		cfg->tcp_rst_rate = rate_sec(c, "rst");
		any = 1;
	}
	if (accept_word(c, "fin")) {
		cfg->tcp_fin_rate = rate_sec(c, "fin");
		any = 1;
	}
	if (accept_word(c, "ack")) {
		cfg->tcp_ack_rate = rate_sec(c, "ack");
		any = 1;
	}
	expect_eol(
		c,
		"set tcp-flood [half-open N] [rst N/second] [fin N/second] [ack N/second]");
	if (!any)
		bg_die_at(
			c->ld->file, kw->pos,
			"set tcp-flood needs half-open, rst, fin or ack (at least one)");
}

int rl_set_parse(struct cursor *c, const struct token *kw)
{
	static const char *const names[] = { "syn-flood", "icmp-flood",
					     "udp-amplification", "tcp-flood" };
	struct loader *ld = c->ld;
	struct token *what = peek(c);
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (tok_is(what, names[i]))
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return 0;
	take(c);
	switch (i) {
	case 0:
		parse_syn_flood(c);
		break;
	case 1:
		parse_icmp_flood(c);
		break;
	case 2:
		parse_udp_amp(c);
		break;
	default:
		parse_tcp_flood(c, what);
		break;
	}
	if (ld->rl_set_line[i])
		bg_die_at(ld->file, kw->pos, "%s already set on line %d",
			  names[i], ld->rl_set_line[i]);
	ld->rl_set_line[i] = ld->line;
	return 1;
}

int rl_used(const struct ruleset *rs)
{
	const struct bg_rl_config *cfg = &rs->rl_cfg;

	return rs->nrl || cfg->syn_rate || cfg->icmp_rate ||
	       cfg->udp_amp_rate || cfg->tcp_half_open || cfg->tcp_rst_rate ||
	       cfg->tcp_fin_rate || cfg->tcp_ack_rate;
}
