// SPDX-License-Identifier: GPL-2.0
/*
 * The reference evaluator behind --explain and --eval: the rules in file
 * order, every field tested directly against the ruleset, first match
 * wins. It shares nothing with rule_compile.c on purpose: it is the oracle
 * the vectors and the kernel program are tested against.
 */
#include <stdio.h>
#include <string.h>

#include "fwmapgen.h"
#include "lb.h"
#include "rl.h"
#include "rule_route.h"
#include "scrub.h"

/* Is @a in one of the set's prefixes of its family? */
static int set_contains(const struct addrset *set, const struct prefix *a)
{
	const struct prefix *top = set->top[a->fam];
	size_t lo = 0, hi = set->ntop[a->fam];

	/*
	 * The top-level prefixes are disjoint and sorted: only the last one
	 * starting at or before @a can contain it.
	 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(top[mid].addr, a->addr, sizeof(a->addr)) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && prefix_contains(&top[lo - 1], a);
}

static int field_match(const struct ruleset *rs, const struct rfield *f,
		       const struct prefix *a)
{
	if (f->any)
		return 1;
	return set_contains(&rs->sets[f->set], a) != f->neg;
}

/* A packet without ports matches no rule that names one. */
static int port_match(const struct portlist *pl, const struct packet *pk,
		      int fld)
{
	size_t i;

	if (!pl->n)
		return 1;
	if (!pk->has_ports)
		return 0;
	for (i = 0; i < pl->n; i++)
		if (pk->port[fld] >= pl->v[i].lo &&
		    pk->port[fld] <= pl->v[i].hi)
			return 1;
	return 0;
}

int rule_match(const struct ruleset *rs, const struct rule *r,
	       const struct packet *pk)
{
	if (!(r->fams & (1 << pk->fam)))
		return 0;
	if (r->iface[0]) {
		/* Warned about at load time: the rule matches nothing. */
		if (!r->ifindex)
			return 0;
		if (!pk->has_iface || strcmp(r->iface, pk->iface))
			return 0;
	}
	if (r->proto != PROTO_ANY && r->proto != pk->proto)
		return 0;
	if (!port_match(&r->port[FLD_SRC], pk, FLD_SRC) ||
	    !port_match(&r->port[FLD_DST], pk, FLD_DST))
		return 0;
	if (r->states && !(r->states & (1 << pk->state)))
		return 0;
	if (r->vlan >= 0 && r->vlan != pk->vlan)
		return 0;
	if (r->has_flags &&
	    (!pk->has_tcp || (pk->tcp_flags & r->flags_mask) != r->flags_set))
		return 0;
	if (r->icmp_type >= 0 &&
	    (!pk->has_icmp || pk->icmp_type != r->icmp_type ||
	     (r->icmp_code >= 0 && pk->icmp_code != r->icmp_code)))
		return 0;
	if ((r->has_mac[BG_FW_MAC_SRC] &&
	     memcmp(r->mac[BG_FW_MAC_SRC], pk->mac[BG_FW_MAC_SRC], 6)) ||
	    (r->has_mac[BG_FW_MAC_DST] &&
	     memcmp(r->mac[BG_FW_MAC_DST], pk->mac[BG_FW_MAC_DST], 6)))
		return 0;
	if (r->dscp >= 0 && r->dscp != pk->dscp)
		return 0;
	return field_match(rs, &r->f[FLD_SRC], &pk->src) &&
	       field_match(rs, &r->f[FLD_DST], &pk->dst);
}

/* The first matching rule, or NULL for the default policy. */
const struct rule *eval_packet(const struct ruleset *rs,
			       const struct packet *pk)
{
	size_t i;

	for (i = 0; i < rs->nrules; i++)
		if (rule_match(rs, &rs->rules[i], pk))
			return &rs->rules[i];
	return NULL;
}

const char *action_name(uint8_t action)
{
	return action == BG_ACT_BLOCK ? "block" : "pass";
}

/*
 * What a later fragment gets (README, "Fragments"): the rules judge it only
 * when the firewall did not see its first fragment; the verdict printed is
 * that case's.
 */
static void explain_frag(const struct packet *pk)
{
	if (!pk->frag)
		return;
	printf("fragment: gets its first fragment's verdict, rule and flow when "
	       "the firewall saw that fragment in the last %d s; the verdict "
	       "above, on its addresses alone, when it did not\n",
	       pk->fam == BG_FAM_INET6 ? BG_FRAG_TIMEOUT6_SEC :
					 BG_FRAG_TIMEOUT4_SEC);
}

/* --explain: the verdict, and the rule that decides it with its text. */
void explain_packet(const struct ruleset *rs, const struct packet *pk)
{
	const struct rule *r = eval_packet(rs, pk);

	if (!r) {
		printf("verdict: %s\nrule: 0 (default policy)\n",
		       action_name(rs->default_action));
		explain_frag(pk);
		rl_explain(stdout, rs, pk);
		lb_explain(stdout, rs, pk);
		scrub_explain(stdout, rs, pk);
		return;
	}
	printf("verdict: %s\nrule: %d (%s:%d)\n", action_name(r->action), r->id,
	       rs->path, r->line);
	if (r->has_label)
		printf("label: \"%s\"\n", r->label);
	if (r->limits) {
		char lim[160];

		rule_limits_text(r, lim, sizeof(lim));
		printf("limits: %s\n", lim);
	}
	route_explain(stdout, r);
	printf("text: %s\n", r->text);
	explain_frag(pk);
	rl_explain(stdout, rs, pk);
	lb_explain(stdout, rs, pk);
	scrub_explain(stdout, rs, pk);
}
