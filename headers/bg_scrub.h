/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding a packet's scrub statement (headers/bg_scrub_abi.h): for
 * tc_scrub, and for the XDP paths that answer a packet themselves, which
 * tc_scrub then never sees (the SYN cookie answer of xdp_ratelimit).
 * Include bg_common_maps.h and bg_scrub_maps.h first.
 */
#ifndef BG_SCRUB_H
#define BG_SCRUB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_scrub_abi.h"

/* The active generation's settings, if any statement is for @dir. */
static __always_inline const struct bg_scrub_config *bg_scrub_cfg(__u8 dir,
								  __u32 *gen)
{
	const struct bg_scrub_config *cfg;
	struct bg_fw_active *act;
	__u32 zero = 0;

	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	*gen = act ? act->gen & 1 : 0;
	cfg = bpf_map_lookup_elem(&bg_scrub_config, gen);
	if (!cfg || !(cfg->dirs & dir))
		return NULL;
	return cfg;
}

/*
 * The statement for a packet: the first entry of generation @gen that
 * matches direction @dir, interface @ifindex, @family and the addresses
 * (IPv4 ones in word 0, the rest zero).
 */
static __always_inline const struct bg_scrub_rule *
bg_scrub_match(__u32 gen, __u32 n, __u8 dir, __u32 ifindex, __u8 family,
	       const __be32 *saddr, const __be32 *daddr)
{
	const struct bg_scrub_rule *r;
	__u32 key, i, miss;

	for (i = 0; i < BG_SCRUB_MAX; i++) {
		if (i >= n)
			break;
		key = gen * BG_SCRUB_MAX + i;
		r = bpf_map_lookup_elem(&bg_scrub_rules, &key);
		if (!r)
			break;
		if (!(r->dirs & dir) || r->family != family ||
		    (r->ifindex && r->ifindex != ifindex))
			continue;
		miss = ((saddr[0] & r->src_mask[0]) ^ r->src[0]) |
		       ((daddr[0] & r->dst_mask[0]) ^ r->dst[0]);
		if (family == BG_FAM_INET6)
			miss |= ((saddr[1] & r->src_mask[1]) ^ r->src[1]) |
				((saddr[2] & r->src_mask[2]) ^ r->src[2]) |
				((saddr[3] & r->src_mask[3]) ^ r->src[3]) |
				((daddr[1] & r->dst_mask[1]) ^ r->dst[1]) |
				((daddr[2] & r->dst_mask[2]) ^ r->dst[2]) |
				((daddr[3] & r->dst_mask[3]) ^ r->dst[3]);
		if (!miss)
			return r;
	}
	return NULL;
}

/*
 * max-mss for a SYN that arrived on @ifindex and is answered from there:
 * the lower of its own statement's (in, source to destination) and the
 * answer's (out, destination to source); 0 when neither clamps.
 */
static __always_inline __u16 bg_scrub_syn_max(__u32 ifindex, __u8 family,
					      const __be32 *saddr,
					      const __be32 *daddr)
{
	const struct bg_scrub_config *cfg;
	const struct bg_scrub_rule *r;
	__u16 max = 0;
	__u32 gen;

	cfg = bg_scrub_cfg(BG_SCRUB_DIR_IN | BG_SCRUB_DIR_OUT, &gen);
	if (!cfg)
		return 0;
	r = bg_scrub_match(gen, cfg->n, BG_SCRUB_DIR_IN, ifindex, family, saddr,
			   daddr);
	if (r && (r->opts & BG_SCRUB_F_MAX_MSS))
		max = r->max_mss;
	r = bg_scrub_match(gen, cfg->n, BG_SCRUB_DIR_OUT, ifindex, family,
			   daddr, saddr);
	if (r && (r->opts & BG_SCRUB_F_MAX_MSS) && (!max || r->max_mss < max))
		max = r->max_mss;
	return max;
}

#endif /* BG_SCRUB_H */
