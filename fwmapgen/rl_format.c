// SPDX-License-Identifier: GPL-2.0
/*
 * A "ratelimit" statement written back in canonical syntax, from its
 * parsed form: the match part by the filter rules' formatter (macros
 * expanded, lists sorted, "any" and an "inet" that changes nothing left
 * out), then rate, burst, algorithm, per-source, action and label in the
 * order of the grammar, each left out where it says the default. Parsed
 * again, the text gives the same map entries
 * (test/fwmapgen_ratelimit.bats holds fwmapgen to it).
 */
#include <stdlib.h>
#include <string.h>

#include "rl.h"

char *rl_format(const struct ruleset *rs, const struct rl_policy *pol)
{
	const struct bg_rl_policy *p = &pol->p;
	char *m = rule_format_match(rs, &pol->m), *buf;
	size_t size = strlen(m) + 256 + BG_RL_LABEL_LEN, n = 0;
	uint64_t dflt_burst = p->algo == BG_RL_ALGO_LEAKY_BUCKET ? 1 : p->rate;
	uint8_t full = pol->m.fams == BG_FAMF_INET ? 32 : 128;

	buf = xcalloc(size, 1);
	text_addf(buf, size, &n, "ratelimit%s rate %llu/%s", m,
		  (unsigned long long)p->rate,
		  p->interval_ns == BG_RL_NS_MINUTE ? "minute" : "second");
	free(m);
	if (p->burst != dflt_burst)
		text_addf(buf, size, &n, " burst %llu",
			  (unsigned long long)p->burst);
	if (p->algo != BG_RL_ALGO_TOKEN_BUCKET)
		text_addf(buf, size, &n, " algorithm %s",
			  rl_algo_names[p->algo]);
	if (p->flags & BG_RL_PF_PER_SOURCE) {
		text_addf(buf, size, &n, " per-source");
		if (pol->m.fams != FAMF_BOTH && p->src_plen != full)
			text_addf(buf, size, &n, " prefix %u", p->src_plen);
	}
	if (p->action == BG_RL_ACT_LOG)
		text_addf(buf, size, &n, " action log");
	if (pol->m.has_label)
		text_addf(buf, size, &n, " label \"%s\"", pol->m.label);
	return buf;
}
