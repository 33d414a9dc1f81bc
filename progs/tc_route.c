// SPDX-License-Identifier: GPL-2.0
/*
 * tc_route: the firewall's routing actions (route-to, reply-to, dup-to).
 *
 * bg_rt_ingress, on TC ingress, last of the ingress programs (registry
 * pref 80): after conntrack has tracked the packet and every ingress
 * stage has seen it, it sends the packets the firewall marked to the
 * rule's next hop, and copies to its monitor interface.
 *
 * bg_rt_egress, on TC egress, first of the egress programs (pref 5):
 * reply-to for the replies this host makes itself, to a flow that came
 * in from outside (a local socket's): they never cross an ingress.
 *
 * headers/bg_fw_route.h says what each action does and why this is not
 * done in XDP. Both run only where the ruleset routes (the "route"
 * feature of the program registry). Ingress costs a packet of another
 * rule one look at its metadata, one of a tracked flow a lookup of its
 * rule; egress costs a packet the host sends one lookup (does any rule
 * have reply-to?), and where one does, a parse and a conntrack lookup.
 * They return TC_ACT_UNSPEC for everything they do not redirect.
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
#include "bg_ct_ifidx_map.h"

/* The loopback device: in every network namespace. */
#define BG_LOOPBACK_IFINDEX 1

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
	__u32 orig_if = 0;
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
		dir = bg_rt_ct_dir(&p, &orig_if);
	if (dir == BG_CT_DIR_ORIG) {
		if (actions & BG_ROUTE_F_DUP_TO)
			bg_rt_count(bg_rt_dup(skb, &p, r), 1);
		if (actions & BG_ROUTE_F_ROUTE_TO)
			bg_rt_count(bg_rt_send(skb, &p, r->route_to, &verdict),
				    0);
	} else if (dir == BG_CT_DIR_REPLY && (actions & BG_ROUTE_F_REPLY_TO)) {
		if (bg_rt_onlink_elsewhere(skb, &p, skb->ingress_ifindex,
					   orig_if))
			bg_rt_count(BG_RT_SKIPPED, 0);
		else
			bg_rt_count(bg_rt_send(skb, &p, r->reply_to, &verdict),
				    0);
	}
	return verdict;
}

/*
 * The rule of the flow whose reply, made here, packet @p is, if it has
 * reply-to: a live flow that came in from outside (opened at ingress,
 * with the id of the rule that passed its first packet), not refused by
 * a connection limit, and @p in its reply direction. NULL otherwise: the
 * routing table has it.
 */
static __always_inline struct bg_fw_route *
bg_rt_reply_rule(const struct bg_pkt *p, __u32 *orig_ifindex)
{
	union bg_ct_key k;
	struct bg_ct_entry *ep;
	struct bg_fw_route *r;
	int side;

	side = bg_rt_flow_key(p, &k);
	if (side < 0)
		return NULL;
	ep = bg_ct_lookup(p->family, &k);
	if (!ep || (ep->flags & BG_CTF_EGRESS) ||
	    (ep->limit_flags & BG_CT_LF_REFUSED) ||
	    bg_ct_dir(ep, side) != BG_CT_DIR_REPLY)
		return NULL;
	if (bg_ct_expired(bg_ct_timeouts(bg_ct_cfg()), ep, bg_ct_now()))
		return NULL;
	*orig_ifindex = bg_read_once(ep->ifindex[BG_CT_DIR_ORIG]);
	r = bg_rt_rule(ep->rule_id);
	if (!r || !(r->actions & BG_ROUTE_F_REPLY_TO) || r->family != p->family)
		return NULL;
	return r;
}

/*
 * A reply leaving by the interface of its next hop gets the next hop's
 * Ethernet address (and the interface's). Either the routing table chose
 * that interface (another router on its link: counted), or the reply
 * comes back from a redirect here: right already after bpf_redirect();
 * after a bpf_redirect_neigh() that had to wait for the neighbour, the
 * kernel sends the queued packet on with the header of the route it had
 * (the routing table's next hop, the source address of that route's
 * interface): put right, not counted again. (The bytes are compared
 * without a branch each: the verifier would walk every combination.)
 */
static __always_inline enum bg_rt_outcome
bg_rt_fix_eth(struct __sk_buff *skb, const struct bpf_fib_lookup *f)
{
	__u8 eth[12], dst = 0, src = 0;
	int i;

	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)))
		return BG_RT_SKIPPED;
#pragma unroll
	for (i = 0; i < 6; i++) {
		dst |= eth[i] ^ f->dmac[i];
		src |= eth[6 + i] ^ f->smac[i];
	}
	if (!dst)
		return BG_RT_NONE;
	if (bpf_skb_store_bytes(skb, 0, f->dmac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, f->smac, 6, 0))
		return BG_RT_SKIPPED;
	return src ? BG_RT_NONE : BG_RT_SENT;
}

/*
 * reply-to for a reply this host makes: to next hop @nh, looked up as the
 * host's own traffic (from lo). The packet is as the host made it: its
 * TTL stays. Out of another interface only where bpfguard runs (conntrack
 * sees the reply leave there, once: this program comes before it).
 */
static __always_inline enum bg_rt_outcome
bg_rt_send_local(struct __sk_buff *skb, const struct bg_pkt *p,
		 const __be32 *nh, long *verdict)
{
	struct bpf_fib_lookup f = {};
	__u32 mtu = 0, ifi;
	long ret;

	if (p->vlan_depth || skb->vlan_present)
		return BG_RT_SKIPPED;
	ret = bg_rt_fib(skb, p, nh, BG_LOOPBACK_IFINDEX, &f);
	if (ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return BG_RT_TOO_BIG;
	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return BG_RT_FIB_MISS;
	ifi = f.ifindex;
	if (ifi == skb->ifindex) {
		if (ret == BPF_FIB_LKUP_RET_SUCCESS)
			return bg_rt_fix_eth(skb, &f);
		/* Back here once resolved, and counted then. */
		bg_rt_redirect(skb, p, &f, ret, verdict);
		return BG_RT_NONE;
	}
	if (!bpf_map_lookup_elem(&bg_ct_ifidx, &ifi))
		return BG_RT_SKIPPED;
	if (bpf_check_mtu(skb, ifi, &mtu, 0, BPF_MTU_CHK_SEGS))
		return BG_RT_TOO_BIG;
	return bg_rt_redirect(skb, p, &f, ret, verdict);
}

/*
 * Everything after parsing: the program's return value. A global
 * function: the verifier checks it once, with its inputs unknown, instead
 * of once for every way the parser can end.
 */
__noinline int bg_rt_egress_pkt(struct __sk_buff *skb, struct bg_pkt *p)
{
	struct bg_fw_route *r;
	long verdict = TC_ACT_UNSPEC;
	__u32 orig_if = 0;

	if (!skb || !p)
		return TC_ACT_UNSPEC;
	r = bg_rt_reply_rule(p, &orig_if);
	if (!r)
		return verdict;
	if (bg_rt_onlink_elsewhere(skb, p, BG_LOOPBACK_IFINDEX, orig_if))
		bg_rt_count(BG_RT_SKIPPED, 0);
	else
		bg_rt_count(bg_rt_send_local(skb, p, r->reply_to, &verdict), 0);
	return verdict;
}

SEC("tc/egress")
int bg_rt_egress(struct __sk_buff *skb)
{
	struct bg_pkt p = {};

	/* A forwarded packet was routed, or not, at its ingress. */
	if (skb->ingress_ifindex || !bg_rt_any(BG_ROUTE_F_REPLY_TO))
		return TC_ACT_UNSPEC;
	if (bg_rt_parse(skb, &p) != BG_PARSE_OK)
		return TC_ACT_UNSPEC;
	return bg_rt_egress_pkt(skb, &p);
}

char _license[] SEC("license") = "GPL";
