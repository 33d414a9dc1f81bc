/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection tracking logic shared by tc_conntrack (which writes the
 * tables) and xdp_firewall (which reads them): key normal form, expiry,
 * the TCP state machine and the classification of one packet against an
 * entry. Pure functions of their arguments: no maps, no helpers, so XDP
 * and TC judge a packet by the same code. A flow's own state (expiry, the
 * TCP state machine) is in bg_ct_state.h; the maps in bg_ct_maps.h and
 * what reads and writes them in bg_ct_table.h.
 */
#ifndef BG_CT_H
#define BG_CT_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "bg_abi.h"
#include "bg_compiler.h"
#include "bg_parse.h"
#include "bg_ct_state.h"

/* Both keys of a flow, whichever family. */
union bg_ct_key {
	struct bg_ct4_key k4;
	struct bg_ct6_key k6;
};

/*
 * Normal form of an IPv4 5-tuple on VLANs vlan[0..1]. Returns the key side
 * of the sender (0 or 1): side 0 is the lower (address, port), address
 * bytes compared first, then the port bytes (network order).
 */
static __always_inline int bg_ct_key4(struct bg_ct4_key *k, __be32 saddr,
				      __be32 daddr, __be16 sport, __be16 dport,
				      __u8 proto, const __u16 *vlan)
{
	__u32 s = bpf_ntohl(saddr), d = bpf_ntohl(daddr);
	__u16 sp = bpf_ntohs(sport), dp = bpf_ntohs(dport);
	int swap = s > d || (s == d && sp > dp);

	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->vlan[0] = vlan[0];
	k->vlan[1] = vlan[1];
	if (swap) {
		k->addr[0] = daddr;
		k->addr[1] = saddr;
		k->port[0] = dport;
		k->port[1] = sport;
		return 1;
	}
	k->addr[0] = saddr;
	k->addr[1] = daddr;
	k->port[0] = sport;
	k->port[1] = dport;
	return 0;
}

/* IPv6: the same, addresses as four big-endian words. */
static __always_inline int bg_ct_key6(struct bg_ct6_key *k, const __be32 *saddr,
				      const __be32 *daddr, __be16 sport,
				      __be16 dport, __u8 proto,
				      const __u16 *vlan)
{
	int swap = 0, decided = 0, i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 s = bpf_ntohl(saddr[i]), d = bpf_ntohl(daddr[i]);

		if (!decided && s != d) {
			swap = s > d;
			decided = 1;
		}
	}
	if (!decided)
		swap = bpf_ntohs(sport) > bpf_ntohs(dport);

	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->vlan[0] = vlan[0];
	k->vlan[1] = vlan[1];
	if (swap) {
		__builtin_memcpy(k->addr[0], daddr, 16);
		__builtin_memcpy(k->addr[1], saddr, 16);
		k->port[0] = dport;
		k->port[1] = sport;
		return 1;
	}
	__builtin_memcpy(k->addr[0], saddr, 16);
	__builtin_memcpy(k->addr[1], daddr, 16);
	k->port[0] = sport;
	k->port[1] = dport;
	return 0;
}

/* The VLAN ids of a parsed packet as the key holds them. */
static __always_inline void bg_ct_vlans(const struct bg_pkt *p, __u16 *vlan)
{
	vlan[0] = p->vlan_depth > 0 ? p->vlan_id[0] : 0;
	vlan[1] = p->vlan_depth > 1 ? p->vlan_id[1] : 0;
}

static __always_inline int bg_ct_icmp_echo(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

static __always_inline int bg_ct_icmp_echo_request(__u8 proto, __u8 type)
{
	return proto == IPPROTO_ICMP ? type == 8 : type == 128;
}

/* ICMP errors that quote a packet (RELATED candidates). */
static __always_inline int bg_ct_icmp_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* An ICMP/ICMPv6 error of the packet's own family. */
static __always_inline int bg_ct_is_icmp_error(const struct bg_pkt *p)
{
	if (!(p->flags & BG_PKT_L4) || (p->flags & BG_PKT_FRAG_LATER))
		return 0;
	if (p->family == BG_FAM_INET)
		return p->l4_proto == IPPROTO_ICMP &&
		       bg_ct_icmp_error(IPPROTO_ICMP, p->icmp_type);
	return p->l4_proto == IPPROTO_ICMPV6 &&
	       bg_ct_icmp_error(IPPROTO_ICMPV6, p->icmp_type);
}

/*
 * Key of the flow a parsed packet belongs to. Returns the sender's key
 * side (0/1), or -1 when the packet is not trackable: no L4 header (later
 * fragments), another protocol, ICMP other than echo.
 */
static __always_inline int bg_ct_pkt_key(const struct bg_pkt *p,
					 union bg_ct_key *k)
{
	__be16 sport = p->sport, dport = p->dport;
	__u16 vlan[2];

	if (!(p->flags & BG_PKT_L4) || (p->flags & BG_PKT_FRAG_LATER))
		return -1;
	switch (p->l4_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((p->l4_proto == IPPROTO_ICMP) != (p->family == BG_FAM_INET))
			return -1;
		if (!bg_ct_icmp_echo(p->l4_proto, p->icmp_type))
			return -1;
		dport = sport; /* both "ports" are the echo identifier */
		break;
	default:
		return -1;
	}
	bg_ct_vlans(p, vlan);
	if (p->family == BG_FAM_INET)
		return bg_ct_key4(&k->k4, p->saddr[0], p->daddr[0], sport,
				  dport, p->l4_proto, vlan);
	return bg_ct_key6(&k->k6, p->saddr, p->daddr, sport, dport, p->l4_proto,
			  vlan);
}

/* bg_ct_icmp_err_key(): the error quotes nothing we can tell anything of */
#define BG_CT_QUOTE_BAD (-1)
/* bg_ct_icmp_err_key(): it quotes a protocol conntrack does not track */
#define BG_CT_QUOTE_UNTRACKED (-2)

/*
 * Key of the flow an ICMP/ICMPv6 error quotes (p: the parsed error,
 * data/data_end: the frame), on the error's VLANs. The quoted packet must
 * have been sent by the error's destination (the error goes back to the
 * sender) and carry a TCP/UDP header (ports) or an ICMP echo request.
 * IPv6: the quoted header may be followed by a Fragment header of a first
 * fragment (a Packet Too Big for a fragmented datagram), then the L4
 * header. Returns the quoted packet's sender side; BG_CT_QUOTE_UNTRACKED
 * when it quotes another protocol (ESP, GRE, SCTP ...: path MTU discovery
 * for those must not break), BG_CT_QUOTE_BAD otherwise.
 */
static __always_inline int bg_ct_icmp_err_key(void *data, void *data_end,
					      const struct bg_pkt *p,
					      union bg_ct_key *k)
{
	__u32 off = p->l4_off;
	__u16 vlan[2];
	__u8 *l4;
	__be16 sport, dport;
	__u8 proto;

	if (!bg_ct_is_icmp_error(p) || (p->flags & BG_PKT_FRAG))
		return BG_CT_QUOTE_BAD;
	if (off > 512)
		return BG_CT_QUOTE_BAD;
	off += 8; /* the ICMP header */
	bg_ct_vlans(p, vlan);

	if (p->family == BG_FAM_INET) {
		struct iphdr *iph = data + off;
		__u32 hlen;

		if ((void *)(iph + 1) > data_end)
			return BG_CT_QUOTE_BAD;
		if (iph->version != 4 || iph->ihl < 5)
			return BG_CT_QUOTE_BAD;
		if (iph->saddr != p->daddr[0])
			return BG_CT_QUOTE_BAD;
		proto = iph->protocol;
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
		    proto != IPPROTO_ICMP)
			return BG_CT_QUOTE_UNTRACKED;
		if (iph->frag_off & bpf_htons(BG_IP_OFFSET))
			return BG_CT_QUOTE_BAD;
		hlen = iph->ihl * 4;
		l4 = (__u8 *)iph + hlen;
		if ((void *)(l4 + 8) > data_end)
			return BG_CT_QUOTE_BAD;
		sport = *(__be16 *)l4;
		dport = *(__be16 *)(l4 + 2);
		if (proto == IPPROTO_ICMP) {
			if (l4[0] != 8)
				return BG_CT_QUOTE_BAD;
			sport = dport = *(__be16 *)(l4 + 4);
		}
		return bg_ct_key4(&k->k4, iph->saddr, iph->daddr, sport, dport,
				  proto, vlan);
	} else {
		struct ipv6hdr *ip6h = data + off;
		__be32 s[4], d[4];

		if ((void *)(ip6h + 1) > data_end)
			return BG_CT_QUOTE_BAD;
		if (ip6h->version != 6)
			return BG_CT_QUOTE_BAD;
		__builtin_memcpy(s, &ip6h->saddr, 16);
		__builtin_memcpy(d, &ip6h->daddr, 16);
		if (s[0] != p->daddr[0] || s[1] != p->daddr[1] ||
		    s[2] != p->daddr[2] || s[3] != p->daddr[3])
			return BG_CT_QUOTE_BAD;
		l4 = (__u8 *)(ip6h + 1);
		proto = ip6h->nexthdr;
		if (proto == IPPROTO_FRAGMENT) {
			struct bg_ipv6_frag_hdr *fh = (void *)l4;

			if ((void *)(fh + 1) > data_end)
				return BG_CT_QUOTE_BAD;
			if (fh->frag_off & bpf_htons(0xfff8))
				return BG_CT_QUOTE_BAD;
			proto = fh->nexthdr;
			l4 = (__u8 *)(fh + 1);
		}
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
		    proto != IPPROTO_ICMPV6)
			return BG_CT_QUOTE_UNTRACKED;
		if ((void *)(l4 + 8) > data_end)
			return BG_CT_QUOTE_BAD;
		sport = *(__be16 *)l4;
		dport = *(__be16 *)(l4 + 2);
		if (proto == IPPROTO_ICMPV6) {
			if (l4[0] != 128)
				return BG_CT_QUOTE_BAD;
			sport = dport = *(__be16 *)(l4 + 4);
		}
		return bg_ct_key6(&k->k6, s, d, sport, dport, proto, vlan);
	}
}

/* ------------------------------------------------- where packets come from */

/*
 * May a packet of direction dir (BG_CT_DIR_*) of this flow arrive where it
 * did? egress: the packet leaves through TC egress (made here, or
 * forwarded after its own ingress was judged): always. ifindex: the
 * interface an ingress packet arrived on.
 *
 * A flow opened at ingress expects its initiator's packets on the
 * interface it was opened on and replies anywhere else, once learnt (the
 * interface a forwarded packet of it left by); a flow to a local socket
 * has no ingress reply at all (replies are made here). A flow opened at
 * egress expects replies where it left and no initiator packet from
 * outside. So a forged packet from the initiator's side that claims to be
 * a reply, the trick of a spoofed first packet, is not part of the flow.
 */
static __always_inline int bg_ct_iface_ok(const struct bg_ct_entry *e,
					  __u32 dir, int egress, __u32 ifindex)
{
	if (egress)
		return 1;
	if (e->flags & BG_CTF_EGRESS)
		return dir == BG_CT_DIR_REPLY &&
		       ifindex == e->ifindex[BG_CT_DIR_REPLY];
	if (dir == BG_CT_DIR_ORIG)
		return ifindex == e->ifindex[BG_CT_DIR_ORIG];
	return e->ifindex[BG_CT_DIR_REPLY] != 0 &&
	       ifindex == e->ifindex[BG_CT_DIR_REPLY];
}

/* Direction of a packet sent by key side `side` (BG_CT_DIR_*). */
static __always_inline __u32 bg_ct_dir(const struct bg_ct_entry *e, __u32 side)
{
	__u32 orig = (e->flags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;

	return (side & 1) == orig ? BG_CT_DIR_ORIG : BG_CT_DIR_REPLY;
}

/* ------------------------------------------------------------- TCP */

/*
 * The segment of a parsed TCP packet (p has BG_PKT_L4, l4_proto TCP). The
 * window scale option is the caller's to read (only SYNs carry it): it is
 * left BG_CT_WS_NONE. -1 when the header is not at hand.
 */
static __always_inline int bg_ct_seg_parse(void *data, void *data_end,
					   const struct bg_pkt *p,
					   struct bg_ct_seg *s)
{
	__u32 off = p->l4_off, hlen, plen;
	struct tcphdr *th;

	if (off > 512)
		return -1;
	th = data + off;
	if ((void *)(th + 1) > data_end)
		return -1;
	hlen = th->doff * 4;
	plen = p->l3_len - (off - p->l3_off);
	if (plen < hlen)
		return -1;
	s->flags = p->tcp_flags;
	s->seq = bpf_ntohl(th->seq);
	s->ack = bpf_ntohl(th->ack_seq);
	s->win = bpf_ntohs(th->window);
	s->end = s->seq + (plen - hlen) + !!(s->flags & BG_TCP_SYN) +
		 !!(s->flags & BG_TCP_FIN);
	s->wscale = BG_CT_WS_NONE;
	s->doff = th->doff;
	return 0;
}

/* A SYN for a tuple whose flow is over: a new flow, the old entry goes. */
static __always_inline int bg_ct_reopens(const struct bg_ct_entry *e,
					 const struct bg_pkt *p)
{
	return p->l4_proto == IPPROTO_TCP &&
	       (e->state == BG_CTS_TIME_WAIT || e->state == BG_CTS_CLOSE) &&
	       bg_ct_tcp_is_syn(p->tcp_flags);
}

/* ----------------------------------------------------- classification */

/*
 * Class of a trackable packet (bg_ct_pkt_key() >= 0) that has no live
 * entry, and the state of the entry it opens (*state; BG_CTS_NONE: it
 * opens none). A TCP segment other than a SYN opens nothing, except one
 * the host sends (egress) that shows an established session: picked up
 * mid-stream, like Linux's loose tracking.
 */
static __always_inline int bg_ct_new_class(const struct bg_pkt *p, int egress,
					   __u8 *state, int *midstream)
{
	__u8 f = p->tcp_flags & 0x3f;

	*state = BG_CTS_NONE;
	*midstream = 0;
	if (p->l4_proto == IPPROTO_TCP) {
		if (!bg_ct_tcp_flags_valid(f))
			return BG_CT_INVALID;
		if (bg_ct_tcp_is_syn(f)) {
			*state = BG_CTS_SYN_SENT;
			return BG_CT_NEW;
		}
		if (egress && (f & ~(BG_TCP_PSH | BG_TCP_URG)) == BG_TCP_ACK) {
			*state = BG_CTS_ESTABLISHED;
			*midstream = 1;
			return BG_CT_ESTABLISHED;
		}
		return BG_CT_INVALID;
	}
	if (p->l4_proto == IPPROTO_UDP) {
		*state = BG_CTS_NEW;
		return BG_CT_NEW;
	}
	/* ICMP echo: a reply without its request is not a flow. */
	if (!bg_ct_icmp_echo_request(p->l4_proto, p->icmp_type))
		return BG_CT_INVALID;
	*state = BG_CTS_NEW;
	return BG_CT_NEW;
}

/*
 * One packet of a live entry: e is a copy, updated in place (the caller
 * stores it back unless the class is BG_CT_INVALID or *ignore is set).
 * side: the sender's key side; egress/ifindex: where the packet is (see
 * bg_ct_iface_ok). *wrong_iface is set when that alone made it INVALID.
 */
static __always_inline int bg_ct_step(struct bg_ct_entry *e,
				      const struct bg_pkt *p,
				      const struct bg_ct_seg *s, __u32 side,
				      int egress, __u32 ifindex, int *ignore,
				      int *wrong_iface)
{
	__u32 dir = bg_ct_dir(e, side);

	*ignore = 0;
	*wrong_iface = 0;
	/*
	 * The initiator's packet leaves the host, tracked here (made here, or
	 * forwarded from an interface bpfguard does not run on), but the flow
	 * says it was opened from outside: that first packet was forged with
	 * the source of a host on this side, to have its tuple ready when the
	 * real host uses it. The real flow takes it over.
	 */
	if (egress && dir == BG_CT_DIR_ORIG && !(e->flags & BG_CTF_EGRESS)) {
		e->flags |= BG_CTF_EGRESS;
		e->ifindex[BG_CT_DIR_ORIG] = ifindex;
		e->ifindex[BG_CT_DIR_REPLY] = ifindex;
	}
	if (!bg_ct_iface_ok(e, dir, egress, ifindex)) {
		*wrong_iface = 1;
		return BG_CT_INVALID;
	}
	if (p->l4_proto == IPPROTO_TCP)
		return bg_ct_tcp_step(e, side, s, egress, ignore);
	/* UDP and echo: requests one way, replies the other. */
	if (p->l4_proto != IPPROTO_UDP &&
	    bg_ct_icmp_echo_request(p->l4_proto, p->icmp_type) !=
		    (dir == BG_CT_DIR_ORIG))
		return BG_CT_INVALID;
	if (dir == BG_CT_DIR_REPLY) {
		e->flags |= BG_CTF_SEEN_REPLY;
		e->state = BG_CTS_ESTABLISHED;
	} else if (e->flags & BG_CTF_SEEN_REPLY) {
		e->flags |= BG_CTF_ASSURED;
	}
	return (e->flags & BG_CTF_SEEN_REPLY) ? BG_CT_ESTABLISHED : BG_CT_NEW;
}

/*
 * An ICMP error quoting a live entry (e, copy or entry): RELATED when it
 * arrives where packets going opposite to the quoted one are expected
 * (the error travels back to the quoted packet's sender), else INVALID.
 * quoted_side: bg_ct_icmp_err_key()'s result.
 */
static __always_inline int bg_ct_related(const struct bg_ct_entry *e,
					 __u32 quoted_side, int egress,
					 __u32 ifindex)
{
	__u32 dir = bg_ct_dir(e, quoted_side) ^ 1;

	return bg_ct_iface_ok(e, dir, egress, ifindex) ? BG_CT_RELATED :
							 BG_CT_INVALID;
}

#endif /* BG_CT_H */
