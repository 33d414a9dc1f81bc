// SPDX-License-Identifier: GPL-2.0
/*
 * tc_route: the firewall's routing actions (route-to, reply-to, dup-to),
 * on TC ingress, last of the ingress programs (registry pref 80): after
 * conntrack has tracked the packet and every ingress stage has seen it,
 * it sends the packets the firewall marked to the rule's next hop, and
 * copies to its monitor interface. headers/bg_fw_route.h says what each
 * action does and why this is not done in XDP.
 *
 * It runs only where the ruleset routes (the "route" feature of the
 * program registry) and costs a packet of another rule one look at its
 * metadata, one of a tracked flow a lookup of its rule. It returns
 * TC_ACT_UNSPEC for everything it does not redirect.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_xdp_meta.h"
#include "bg_fw_route.h"
#include "bg_fw_maps.h"

static __always_inline void bg_rt_count(enum bg_rt_outcome o, int dup)
{
	switch (o) {
	case BG_RT_SENT:
		bg_stat_inc(&bg_fw_stats,
			    dup ? BG_STAT_DUP_SENT : BG_STAT_ROUTE_SENT);
		break;
	case BG_RT_FIB_MISS:
		bg_stat_inc(&bg_fw_stats, BG_STAT_ROUTE_FIB_MISS);
		break;
	case BG_RT_TOO_BIG:
		bg_stat_inc(&bg_fw_stats, BG_STAT_ROUTE_TOO_BIG);
		break;
	case BG_RT_SKIPPED:
		bg_stat_inc(&bg_fw_stats, BG_STAT_ROUTE_SKIPPED);
		break;
	default:
		break;
	}
}

/* Headers only, as tc_conntrack reads them (see bg_ct_parse there). */
static __always_inline int bg_rt_parse(struct __sk_buff *skb, struct bg_pkt *p)
{
	__u32 len = skb->len, lin = skb->data_end - skb->data;

	if (lin < len && lin < 54)
		bpf_skb_pull_data(skb, len < 192 ? len : 192);
	return bg_parse((void *)(long)skb->data, (void *)(long)skb->data_end,
			len, p, skb->vlan_present ? 1 : 0,
			skb->vlan_tci & 0x0fff,
			skb->gso_size ? BG_PARSE_F_GSO : 0);
}

/*
 * The metadata the firewall wrote: in production from XDP; the test
 * build (BG_RT_TEST_CB) reads it from skb->cb[0..1] instead, which
 * BPF_PROG_TEST_RUN can set and XDP metadata it cannot hand to TC.
 */
static __always_inline int bg_rt_meta(struct __sk_buff *skb,
				      struct bg_xdp_meta *m)
{
#ifdef BG_RT_TEST_CB
	m->rule_id = skb->cb[0];
	m->flags = skb->cb[1] & 0xffff;
	m->status = 0;
	return 1;
#else
	return bg_xdp_meta_get(skb, m);
#endif
}

SEC("tc/ingress")
int bg_rt_ingress(struct __sk_buff *skb)
{
	struct bg_xdp_meta m;
	struct bg_fw_route *r;
	struct bg_pkt p = {};
	long verdict = TC_ACT_UNSPEC;
	__u8 actions;
	int dir;

	if (!bg_rt_meta(skb, &m) ||
	    !(m.flags & (BG_META_F_ROUTE | BG_META_F_CT)))
		return TC_ACT_UNSPEC;
	r = bg_rt_rule(m.rule_id);
	if (!r)
		return TC_ACT_UNSPEC;
	actions = r->actions;
	if (bg_rt_parse(skb, &p) != BG_PARSE_OK || p.family != r->family)
		return TC_ACT_UNSPEC;
	/* Passed by its rule: the rule's direction. Passed as part of a
	 * flow (phase 0): the flow's direction says which action. */
	dir = BG_CT_DIR_ORIG;
	if (m.flags & BG_META_F_CT)
		dir = bg_rt_ct_dir(&p);
	if (dir == BG_CT_DIR_ORIG) {
		if (actions & BG_ROUTE_F_DUP_TO)
			bg_rt_count(bg_rt_dup(skb, &p, r), 1);
		if (actions & BG_ROUTE_F_ROUTE_TO)
			bg_rt_count(bg_rt_send(skb, &p, r->route_to, &verdict),
				    0);
	} else if (dir == BG_CT_DIR_REPLY && (actions & BG_ROUTE_F_REPLY_TO)) {
		bg_rt_count(bg_rt_send(skb, &p, r->reply_to, &verdict), 0);
	}
	return verdict;
}

char _license[] SEC("license") = "GPL";
