/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The firewall's routing actions, phase 4 (README, "Routing actions"):
 * route-to and reply-to send a passed packet to a next hop of the rule
 * instead of where the routing table would, dup-to sends a copy of it to
 * a monitor interface.
 *
 * The firewall (XDP) only marks what a routing rule passes
 * (BG_META_F_ROUTE in the metadata, bg_fw_route_meta()); tc_route, on TC
 * ingress after connection tracking, does the rest. Not XDP_REDIRECT:
 * a frame redirected in XDP never becomes an skb here, so tc_conntrack
 * would see none of the flow's packets (no entry, no window, no reply
 * interface) and stateful rules would take its packets for INVALID. XDP
 * cannot clone a packet either, which dup-to needs.
 *
 * Packets of a flow a routing rule opened carry the flow's rule id
 * (BG_META_F_CT, phase 0): tc_route looks the rule up and the flow's
 * direction in the conntrack entry. The actions:
 *   route-to  the rule's direction: packets it passes, and the packets
 *             of its flows from the initiator;
 *   reply-to  the replies of its flows: at ingress those that arrive,
 *             at egress (bg_rt_egress) those this host makes itself;
 *   dup-to    a copy of what route-to would route, as it arrived.
 */
#ifndef BG_FW_ROUTE_H
#define BG_FW_ROUTE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_parse.h"
#include "bg_ct_table.h"
#include "bg_frag.h"
#include "bg_fw_route_maps.h"

#define BG_AF_INET 2
#define BG_AF_INET6 10

/* XDP: the metadata flag for a packet a rule with rule flags @f passes. */
static __always_inline __u16 bg_fw_route_meta(__u8 f)
{
	return (f & BG_RULE_F_ROUTE) ? BG_META_F_ROUTE : 0;
}

/* What an action did; the program counts it (enum bg_fw_stat). */
enum bg_rt_outcome {
	BG_RT_NONE = 0, /* nothing to do */
	BG_RT_SENT, /* redirected to the next hop, or the copy sent */
	BG_RT_FIB_MISS, /* no usable route: the stack routes it */
	BG_RT_TOO_BIG, /* over the egress MTU: the stack has it */
	BG_RT_SKIPPED, /* not for us to route (TTL, VLAN tag ...) */
};

/* bg_fw_route's entry @id in the generation packets use. */
static __always_inline struct bg_fw_route *bg_rt_entry(__u32 id)
{
	struct bg_fw_route_key k = { .id = id };
	struct bg_fw_active *act;
	__u32 zero = 0;

	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	if (!act)
		return NULL;
	k.gen = act->gen & 1;
	return bpf_map_lookup_elem(&bg_fw_route, &k);
}

/* The routing actions of rule @id in the generation packets use. */
static __always_inline struct bg_fw_route *bg_rt_rule(__u32 id)
{
	/* Id 0, the default policy, never routes: its entry is the union. */
	if (!id)
		return NULL;
	return bg_rt_entry(id);
}

/* Does a rule of the running ruleset have one of @actions (the union
 * of all its rules' actions, entry 0, there only when some rule routes)? */
static __always_inline int bg_rt_any(__u8 actions)
{
	struct bg_fw_route *u = bg_rt_entry(0);

	return u && (u->actions & actions);
}

/*
 * The conntrack key of the flow packet @p belongs to (its side, or -1):
 * for a later fragment, which has no ports, the flow of its datagram,
 * through what the first fragment left (bg_frag.h), so that a datagram's
 * fragments take one way.
 */
static __always_inline int bg_rt_flow_key(const struct bg_pkt *p,
					  union bg_ct_key *k)
{
	struct bg_frag_entry *fe;
	union bg_frag_key fk;
	__u16 vlan[2];

	if (!(p->flags & BG_PKT_FRAG_LATER))
		return bg_ct_pkt_key(p, k);
	if (bg_frag_key_of(p, &fk))
		return -1;
	fe = bg_frag_find(p, &fk, bg_ct_now());
	if (!fe || !(fe->flags & BG_FRAG_F_PORTS))
		return -1;
	bg_ct_vlans(p, vlan);
	if (p->family == BG_FAM_INET)
		return bg_ct_key4(&k->k4, p->saddr[0], p->daddr[0], fe->sport,
				  fe->dport, fe->proto, vlan);
	return bg_ct_key6(&k->k6, p->saddr, p->daddr, fe->sport, fe->dport,
			  fe->proto, vlan);
}

/*
 * Direction (BG_CT_DIR_ORIG or BG_CT_DIR_REPLY) of a packet of a tracked
 * flow (a later fragment: of its datagram's flow), or -1: not a flow's
 * own packet (an ICMP error, a fragment of an unknown datagram), or no
 * entry. Phase 0 judged the packet on the same entry already.
 */
static __always_inline int bg_rt_ct_dir(const struct bg_pkt *p,
					__u32 *orig_ifindex)
{
	union bg_ct_key k;
	struct bg_ct_entry *ep;
	int side;

	side = bg_rt_flow_key(p, &k);
	if (side < 0)
		return -1;
	ep = bg_ct_lookup(p->family, &k);
	if (!ep)
		return -1;
	*orig_ifindex = bg_read_once(ep->ifindex[BG_CT_DIR_ORIG]);
	return bg_ct_dir(ep, side);
}

/*
 * The FIB lookup of next hop @nh for packet @p, as if forwarded from
 * interface @iif (a packet this host sends: from lo, as the kernel looks
 * up its own output routes, so "ip rule ... iif lo" applies). The kernel
 * answers only if forwarding is on for @iif.
 */
static __always_inline long bg_rt_fib(struct __sk_buff *skb,
				      const struct bg_pkt *p, const __be32 *nh,
				      __u32 iif, struct bpf_fib_lookup *f)
{
	f->ifindex = iif;
	f->l4_protocol = p->l4_proto;
	if (p->flags & BG_PKT_L4) {
		f->sport = p->sport;
		f->dport = p->dport;
	}
	if (p->family == BG_FAM_INET) {
		f->family = BG_AF_INET;
		f->tos = p->tos;
		f->ipv4_src = p->saddr[0];
		f->ipv4_dst = nh[0];
	} else {
		f->family = BG_AF_INET6;
		__builtin_memcpy(f->ipv6_src, p->saddr, 16);
		__builtin_memcpy(f->ipv6_dst, nh, 16);
	}
	return bpf_fib_lookup(skb, f, sizeof(*f), 0);
}

/*
 * Is reply @p for an address on one of this host's links other than
 * @orig_ifindex, where its flow's first packet came in? (Looked up as if
 * from @iif: directly connected, the FIB's next hop is the address
 * itself.) Then that first packet was forged from the link's address
 * space, and reply-to, which sends replies back the way the flow came,
 * would show the forger this host's replies to an address it does not
 * own: a whole TCP session in a neighbour's name. By the routing table
 * the reply reaches the address's owner, which resets it.
 */
static __always_inline int bg_rt_onlink_elsewhere(struct __sk_buff *skb,
						  const struct bg_pkt *p,
						  __u32 iif, __u32 orig_ifindex)
{
	struct bpf_fib_lookup f = {};
	long ret;

	ret = bg_rt_fib(skb, p, p->daddr, iif, &f);
	if ((ret != BPF_FIB_LKUP_RET_SUCCESS &&
	     ret != BPF_FIB_LKUP_RET_NO_NEIGH) ||
	    f.ifindex == orig_ifindex)
		return 0;
	if (p->family == BG_FAM_INET)
		return f.ipv4_dst == p->daddr[0];
	return f.ipv6_dst[0] == p->daddr[0] && f.ipv6_dst[1] == p->daddr[1] &&
	       f.ipv6_dst[2] == p->daddr[2] && f.ipv6_dst[3] == p->daddr[3];
}

/*
 * One hop less: the IPv4 TTL (and the header checksum) or the IPv6 hop
 * limit, as a router does. The caller made sure it is above 1.
 */
static __always_inline int bg_rt_dec_ttl(struct __sk_buff *skb,
					 const struct bg_pkt *p)
{
	__u32 off = p->l3_off;
	__u8 ttl = p->ttl - 1;

	if (p->family == BG_FAM_INET6)
		return bpf_skb_store_bytes(skb, off + 7, &ttl, 1, 0);
	/* The checksum covers the TTL as the high byte of the 16-bit word
	 * it shares with the protocol. */
	if (bpf_l3_csum_replace(skb, off + 10, bpf_htons((__u16)p->ttl << 8),
				bpf_htons((__u16)ttl << 8), 2))
		return -1;
	return bpf_skb_store_bytes(skb, off + 8, &ttl, 1, 0);
}

/*
 * Out of the interface of FIB result @f (@ret: the lookup's return, a
 * success or a next hop without a neighbour entry) to its next hop. One
 * the neighbour table does not know yet is resolved by the neighbour
 * layer (the packet queued meanwhile); else the Ethernet addresses come
 * from @f. *verdict is the program's return value.
 */
static __always_inline enum bg_rt_outcome
bg_rt_redirect(struct __sk_buff *skb, const struct bg_pkt *p,
	       const struct bpf_fib_lookup *f, long ret, long *verdict)
{
	struct bpf_redir_neigh n = {};

	if (ret == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* After the lookup, the IPv4 destination holds the next
		 * hop's. */
		if (p->family == BG_FAM_INET) {
			n.nh_family = BG_AF_INET;
			n.ipv4_nh = f->ipv4_dst;
		} else {
			n.nh_family = BG_AF_INET6;
			__builtin_memcpy(n.ipv6_nh, f->ipv6_dst, 16);
		}
		*verdict = bpf_redirect_neigh(f->ifindex, &n, sizeof(n), 0);
		return BG_RT_SENT;
	}
	if (bpf_skb_store_bytes(skb, 0, f->dmac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, f->smac, 6, 0))
		return BG_RT_SKIPPED;
	*verdict = bpf_redirect(f->ifindex, 0);
	return BG_RT_SENT;
}

/*
 * route-to / reply-to: send the packet to next hop @nh. On success
 * *verdict is the program's return value (TC_ACT_REDIRECT); otherwise the
 * packet is left to the stack, which routes it by its own table: it sends
 * the ICMP errors (time exceeded, fragmentation needed, unreachable) that
 * are due, so a packet we cannot send never just vanishes.
 */
static __always_inline enum bg_rt_outcome bg_rt_send(struct __sk_buff *skb,
						     const struct bg_pkt *p,
						     const __be32 *nh,
						     long *verdict)
{
	struct bpf_fib_lookup f = {};
	__u32 mtu = 0;
	long ret;

	/* A tag would go out on the next hop's link as it came in. */
	if (p->vlan_depth || p->ttl <= 1)
		return BG_RT_SKIPPED;
	ret = bg_rt_fib(skb, p, nh, skb->ingress_ifindex, &f);
	/* Without tot_len, TC's lookup checks the packet against the egress
	 * MTU itself, as the stack would forward it (4 bytes of slack for a
	 * VLAN tag, any GSO packet fits). */
	if (ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return BG_RT_TOO_BIG;
	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return BG_RT_FIB_MISS;
	/* Exactly, and GSO packets segment by segment. */
	if (bpf_check_mtu(skb, f.ifindex, &mtu, 0, BPF_MTU_CHK_SEGS))
		return BG_RT_TOO_BIG;
	if (bg_rt_dec_ttl(skb, p))
		return BG_RT_SKIPPED;
	return bg_rt_redirect(skb, p, &f, ret, verdict);
}

/*
 * dup-to IFACE [via ADDR]: a copy out of IFACE, the packet as it came in
 * (via: to ADDR's Ethernet address, from IFACE's). The copy shares the
 * packet's data until bpf_clone_redirect() gives the original a head of
 * its own, so the addresses are written before the clone and the
 * original's put back after it. A next hop the neighbour table does not
 * know yet gets no copy (it could not be resolved for a clone).
 */
static __always_inline enum bg_rt_outcome bg_rt_dup(struct __sk_buff *skb,
						    const struct bg_pkt *p,
						    const struct bg_fw_route *r)
{
	struct bpf_fib_lookup f = {};
	__u8 eth[12];
	long ret;

	if (!r->dup_ifindex)
		return BG_RT_SKIPPED;
	if (!(r->actions & BG_ROUTE_F_DUP_VIA))
		return bpf_clone_redirect(skb, r->dup_ifindex, 0) ?
			       BG_RT_SKIPPED :
			       BG_RT_SENT;
	f.ifindex = r->dup_ifindex;
	if (r->family == BG_FAM_INET) {
		f.family = BG_AF_INET;
		f.ipv4_dst = r->dup_via[0];
	} else {
		f.family = BG_AF_INET6;
		__builtin_memcpy(f.ipv6_dst, r->dup_via, 16);
	}
	ret = bpf_fib_lookup(skb, &f, sizeof(f),
			     BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS || f.ifindex != r->dup_ifindex)
		return BG_RT_SKIPPED;
	if (bpf_skb_load_bytes(skb, 0, eth, sizeof(eth)) ||
	    bpf_skb_store_bytes(skb, 0, f.dmac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, f.smac, 6, 0))
		return BG_RT_SKIPPED;
	ret = bpf_clone_redirect(skb, r->dup_ifindex, 0);
	if (bpf_skb_store_bytes(skb, 0, eth, sizeof(eth), 0))
		return BG_RT_SKIPPED;
	return ret ? BG_RT_SKIPPED : BG_RT_SENT;
}

#endif /* BG_FW_ROUTE_H */
