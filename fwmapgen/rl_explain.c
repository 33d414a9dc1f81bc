// SPDX-License-Identifier: GPL-2.0
/*
 * --explain: the ratelimit policy that applies to a packet, found the way
 * xdp_ratelimit finds it (headers/bg_rl_abi.h, "Matching"): the longest
 * source prefix of the packet's family among the tries' prefixes, then
 * the first policy of its candidate list whose other fields match. A
 * candidate's source covers that prefix, so the rule matcher's test of
 * the source holds by construction; the rest is the filter rules' own.
 */
#include <stdio.h>

#include "rl.h"

static const struct rl_node *longest(const struct rl_lists *ls,
				     const struct prefix *src)
{
	const struct rl_node *best = NULL;
	size_t i;

	for (i = 0; ls && i < ls->n; i++)
		if (prefix_contains(&ls->v[i].p, src) &&
		    (!best || ls->v[i].p.len > best->p.len))
			best = &ls->v[i];
	return best;
}

void rl_explain(FILE *f, const struct ruleset *rs, const struct packet *pk)
{
	const struct rl_node *nd;
	const struct rl_policy *pol;
	uint32_t i;

	if (!rs->nrl)
		return;
	nd = longest(rs->rl_lists, &pk->src);
	for (i = 0; nd && i < nd->list.n; i++) {
		pol = &rs->rl[nd->list.pol[i] - 1];
		if (rule_match(rs, &pol->m, pk)) {
			fprintf(f, "ratelimit: policy %u (line %d)\n",
				pol->p.id, pol->m.line);
			return;
		}
	}
	fprintf(f, "ratelimit: none\n");
}
