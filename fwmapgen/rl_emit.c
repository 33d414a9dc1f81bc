// SPDX-License-Identifier: GPL-2.0
/*
 * The rate limiter's map entries (headers/bg_rl_abi.h): every policy and
 * its information, the source tries and their candidate lists (built by
 * rl_parse.c), the DDoS settings and the amplification ports.
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "rl.h"

BG_STATIC_ASSERT(BG_RL_LABEL_LEN == BG_FW_LABEL_LEN,
		 "a policy's label is parsed as a rule's");

static void emit_policies(struct emitter *e)
{
	struct bg_rl_pinfo_key k = { .gen = e->gen };
	struct bg_rl_pinfo info;
	uint32_t key;
	size_t i;
	char *s;

	for (i = 0; i < e->rs->nrl; i++) {
		const struct rl_policy *pol = &e->rs->rl[i];

		key = e->gen * BG_RL_POLICY_SLOTS + pol->p.id;
		map_line(e, "bg_rl_policy", &key, sizeof(key), &pol->p,
			 sizeof(pol->p));
		memset(&info, 0, sizeof(info));
		info.line = (uint32_t)pol->m.line;
		memcpy(info.label, pol->m.label, sizeof(info.label));
		s = rl_format(e->rs, pol);
		text_fill(info.text, sizeof(info.text), s);
		free(s);
		k.id = pol->p.id;
		map_line(e, "bg_rl_pinfo", &k, sizeof(k), &info, sizeof(info));
	}
}

/* Each prefix into its family's trie, pointing at its candidate list. */
static void emit_lists(struct emitter *e)
{
	const struct rl_lists *ls = e->rs->rl_lists;
	struct bg_lpm4_key k4;
	struct bg_lpm6_key k6;
	uint32_t idx;
	size_t i;

	for (i = 0; ls && i < ls->n; i++) {
		const struct rl_node *nd = &ls->v[i];

		idx = e->gen * BG_RL_CLISTS_PER_GEN + (uint32_t)i;
		if (nd->p.fam == BG_FAM_INET) {
			memset(&k4, 0, sizeof(k4));
			k4.prefixlen = BG_LPM_GEN_BITS + nd->p.len;
			k4.gen = e->gen;
			memcpy(k4.addr, nd->p.addr, sizeof(k4.addr));
			map_line(e, "bg_rl_src4", &k4, sizeof(k4), &idx,
				 sizeof(idx));
		} else {
			memset(&k6, 0, sizeof(k6));
			k6.prefixlen = BG_LPM_GEN_BITS + nd->p.len;
			k6.gen = e->gen;
			memcpy(k6.addr, nd->p.addr, sizeof(k6.addr));
			map_line(e, "bg_rl_src6", &k6, sizeof(k6), &idx,
				 sizeof(idx));
		}
		map_line(e, "bg_rl_clist", &idx, sizeof(idx), &nd->list,
			 sizeof(nd->list));
	}
}

/*
 * Settings: always, all zeros when nothing is set (the defaults back, as
 * bg_ct_config). The port bits: every word of the generation when
 * udp-amplification is set, overwriting what an older ruleset left; none
 * without it, since the kernel reads them only when udp_amp_rate != 0.
 */
static void emit_config(struct emitter *e)
{
	uint32_t key = e->gen, w;

	map_line(e, "bg_rl_config", &key, sizeof(key), &e->rs->rl_cfg,
		 sizeof(e->rs->rl_cfg));
	if (!e->rs->rl_amp_ports)
		return;
	for (w = 0; w < BG_RL_PORT_WORDS; w++) {
		key = e->gen * BG_RL_PORT_WORDS + w;
		map_line(e, "bg_rl_amp_ports", &key, sizeof(key),
			 &e->rs->rl_amp_ports[w], sizeof(uint64_t));
	}
}

void rl_emit(struct emitter *e)
{
	emit_policies(e);
	emit_lists(e);
	emit_config(e);
}
