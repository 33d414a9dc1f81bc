/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounds-checked, cursor-style packet parser shared by the XDP and TC
 * programs. It reads Ethernet, up to two VLAN tags (802.1Q and 802.1ad),
 * IPv4 (with options) or IPv6 (with extension headers), and the first
 * TCP/UDP/ICMP/ICMPv6 header, and fills struct bg_pkt.
 *
 * Every read is checked against the end of the packet, and lengths the
 * headers claim are checked against what is really there, so a caller can
 * trust bg_pkt without checking again. The result decides the verdict for
 * frames that are not classified: BG_PARSE_NOT_IP and BG_PARSE_ND pass,
 * BG_PARSE_MALFORMED drops.
 */
#ifndef BG_PARSE_H
#define BG_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_compiler.h"

#define BG_MAX_VLAN 2
/* More extension headers than this is treated as an attack, not a packet. */
#define BG_MAX_EXTHDR 8

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* A byte-swapped 16-bit length with its range restored (bg_barrier_var). */
static __always_inline __u32 bg_ntohs_bounded(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	bg_barrier_var(x);
	return x & 0xffff;
}

#define BG_IP_MF 0x2000
#define BG_IP_OFFSET 0x1fff

enum bg_parse_result {
	BG_PARSE_OK = 0, /* IPv4/IPv6, bg_pkt filled */
	BG_PARSE_NOT_IP = 1, /* ARP, LLDP, ...: not ours to judge */
	BG_PARSE_ND = 2, /* IPv6 ND/MLD on the link: always passes */
	BG_PARSE_MALFORMED = 3, /* truncated or inconsistent headers */
};

enum bg_pkt_flags {
	BG_PKT_FRAG = 1 << 0, /* part of a fragmented datagram */
	BG_PKT_FRAG_LATER = 1 << 1, /* not the first fragment: no L4 header */
	BG_PKT_L4 = 1 << 2, /* l4 fields below are valid */
	BG_PKT_ND_UNICAST = 1 << 3, /* ND to a global address: see below */
	/* IPv6: has a Fragment header, also an atomic fragment (offset 0,
	 * no more fragments: a whole datagram, RFC 6946, not BG_PKT_FRAG) */
	BG_PKT_FRAG_HDR = 1 << 4,
};

/* bg_parse() flags */
enum bg_parse_flags {
	/*
	 * The frame is a GSO/GRO super-packet (TC only): an IPv4 total
	 * length or IPv6 payload length of 0 means "the rest of the packet"
	 * (BIG TCP, over 64 KiB), as the stack itself reads it.
	 */
	BG_PARSE_F_GSO = 1 << 0,
};

/*
 * l4_proto of a non-first IPv6 fragment whose Fragment header names
 * another extension header: the upper-layer protocol is only in the first
 * fragment, so it is unknown here (IANA reserves 255). Rules naming a
 * protocol never match it; rules naming none do.
 */
#define BG_PROTO_UNKNOWN 255

/* Packets longer than this (2^28 - 1) are taken as this long. */
#define BG_PARSE_MAX_LEN 0x0fffffff

struct bg_cursor {
	void *pos;
	void *end; /* end of the bytes at hand */
	void *claim_end; /* end of the packet (may lie beyond end) */
	__u32 gso; /* 1: BIG TCP, a 0 length field means the rest of it */
};

/*
 * The length a datagram length field v means. A BIG TCP packet (a GSO
 * packet over 64 KiB, TC only) carries 0 there, meaning the rest of the
 * packet: the checks of its headers need no more than 64 KiB of it, and
 * bg_parse() sets the true length at the end.
 */
static __always_inline __u32 bg_len_field(const struct bg_cursor *c, __u32 v)
{
	/* Without a branch: each one here doubles what the verifier walks
	 * in the rest of the parser. v < 2^16, c->gso is 0 or 1. */
	__u32 zero = ((v - 1) >> 31) & 1;

	return v | ((0 - (zero & c->gso)) & 0xffff);
}

struct bg_pkt {
	__u8 family; /* enum bg_family */
	__u8 l4_proto; /* IPPROTO_*, after extension headers */
	__u8 flags; /* enum bg_pkt_flags */
	__u8 vlan_depth; /* tags in the packet or skb (<= BG_MAX_VLAN) */
	__u16 vlan_id[BG_MAX_VLAN]; /* outermost first */
	__u16 l3_off; /* offset of the IP header from the frame start */
	__u16 l4_off; /* offset of the L4 header (valid with BG_PKT_L4) */
	__u32 l3_len; /* IP datagram length (over 64 KiB: BIG TCP on TC) */
	__u8 ttl; /* TTL or hop limit */
	__u8 tcp_flags; /* FIN..CWR byte, with BG_PKT_L4 and TCP */
	__be16 sport; /* TCP/UDP ports; ICMP id in sport */
	__be16 dport;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 tos; /* IPv4 TOS or IPv6 traffic class (DSCP << 2 | ECN) */
	__u16 frag_off; /* BG_PKT_FRAG: offset of its data, 8-byte units */
	__u16 frag_len; /* BG_PKT_FRAG: bytes of fragment data it holds */
	__u32 frag_id; /* BG_PKT_FRAG: the datagram's identification */
	/* IPv4 addresses sit in word 0, the rest is zero. */
	__be32 saddr[4];
	__be32 daddr[4];
};

static __always_inline int bg_vlan_proto(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

struct bg_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/*
 * Ethernet and VLAN tags. skb_vlan_tags is the number of tags the caller
 * already holds outside the packet (TC ingress keeps the outer tag in
 * skb->vlan_tci; XDP and BPF_PROG_TEST_RUN keep it inline), so the depth
 * limit counts both.
 */
static __always_inline int bg_parse_eth(struct bg_cursor *c, struct bg_pkt *p,
					__be16 *proto)
{
	struct ethhdr *eth = c->pos;
	__be16 type;
	int i;

	if ((void *)(eth + 1) > c->end)
		return BG_PARSE_MALFORMED;
	c->pos = eth + 1;
	type = eth->h_proto;

#pragma unroll
	for (i = 0; i < BG_MAX_VLAN + 1; i++) {
		struct bg_vlan_hdr *vh = c->pos;

		if (!bg_vlan_proto(type))
			break;
		if (p->vlan_depth >= BG_MAX_VLAN)
			return BG_PARSE_MALFORMED;
		if ((void *)(vh + 1) > c->end)
			return BG_PARSE_MALFORMED;
		/* Constant indexes: the 6.1 verifier rejects a variable one
		 * into a stack array. */
		if (p->vlan_depth == 0)
			p->vlan_id[0] = bpf_ntohs(vh->tci) & 0x0fff;
		else
			p->vlan_id[1] = bpf_ntohs(vh->tci) & 0x0fff;
		p->vlan_depth++;
		type = vh->encap_proto;
		c->pos = vh + 1;
	}
	*proto = type;
	return BG_PARSE_OK;
}

/*
 * A fragment no reassembly may accept, whatever comes with it: its data
 * would end past the largest datagram (65,535 bytes: the "ping of death"),
 * or a later fragment starts where the first fragment's TCP header is
 * (offset 8 or 16), where it could only be meant to rewrite the ports or
 * flags the rules saw (RFC 1858, RFC 3128): in IPv4 when the datagram is
 * TCP; in IPv6 whatever its Fragment header names, which the sender
 * chooses freely and reassembly ignores. p->frag_off and p->l4_proto are
 * set; len is what counts toward the limit besides the offset, as the
 * kernel's reassembly counts it: IPv4, the whole fragment (the header is
 * in the datagram's total length); IPv6, the fragment's data after its
 * Fragment header (the limit is on the payload).
 */
static __always_inline int bg_frag_bad(const struct bg_pkt *p, __u32 len)
{
	__u32 off = (__u32)p->frag_off * 8;

	if (off + len > 0xffff)
		return 1;
	return off && off < 24 &&
	       (p->family == 1 /* IPv6 */ || p->l4_proto == IPPROTO_TCP);
}

/*
 * First L4 header. It must lie inside both the bytes at hand (c->end) and
 * the datagram the IP header claims (l4_end): a header cut short by either
 * is malformed, the tiny-fragment trick included.
 */
static __always_inline int bg_parse_l4(struct bg_cursor *c, struct bg_pkt *p,
				       void *data, void *l4_end)
{
	void *pos = c->pos;

	p->l4_off = pos - data;
	switch (p->l4_proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = pos;
		__u32 hlen;

		if ((void *)(th + 1) > c->end || (void *)(th + 1) > l4_end)
			return BG_PARSE_MALFORMED;
		hlen = th->doff * 4;
		if (hlen < sizeof(*th) || pos + hlen > c->end ||
		    pos + hlen > l4_end)
			return BG_PARSE_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = pos;

		if ((void *)(uh + 1) > c->end || (void *)(uh + 1) > l4_end)
			return BG_PARSE_MALFORMED;
		if (bpf_ntohs(uh->len) < sizeof(*uh))
			return BG_PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* Every ICMP and ICMPv6 message has an 8-byte header. */
		__u8 *ih = pos;

		if ((void *)(ih + 8) > c->end || (void *)(ih + 8) > l4_end)
			return BG_PARSE_MALFORMED;
		p->icmp_type = ih[0];
		p->icmp_code = ih[1];
		/* Echo request/reply identifier: the "port" of a ping flow */
		p->sport = *(__be16 *)(ih + 4);
		break;
	}
	default:
		return BG_PARSE_OK;
	}
	p->flags |= BG_PKT_L4;
	return BG_PARSE_OK;
}

static __always_inline int bg_parse_ipv4(struct bg_cursor *c, struct bg_pkt *p,
					 void *data)
{
	struct iphdr *iph = c->pos;
	void *l4_end;
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(iph + 1) > c->end)
		return BG_PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return BG_PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	if ((void *)iph + hlen > c->end)
		return BG_PARSE_MALFORMED;
	tot = bg_len_field(c, bg_ntohs_bounded(iph->tot_len));
	l4_end = (void *)iph + tot;
	/* Link padding after the datagram is fine, never less. */
	if (tot < hlen || l4_end > c->claim_end)
		return BG_PARSE_MALFORMED;

	p->family = 0; /* BG_FAM_INET */
	p->l3_off = (void *)iph - data;
	p->l3_len = tot;
	p->ttl = iph->ttl;
	p->tos = iph->tos;
	p->l4_proto = iph->protocol;
	p->saddr[0] = iph->saddr;
	p->daddr[0] = iph->daddr;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (BG_IP_MF | BG_IP_OFFSET)) {
		p->flags |= BG_PKT_FRAG;
		p->frag_off = frag & BG_IP_OFFSET;
		p->frag_id = bpf_ntohs(iph->id);
		p->frag_len = tot - hlen;
		if (bg_frag_bad(p, tot))
			return BG_PARSE_MALFORMED;
		if (frag & BG_IP_OFFSET) {
			p->flags |= BG_PKT_FRAG_LATER;
			return BG_PARSE_OK;
		}
	}
	c->pos = (void *)iph + hlen;
	return bg_parse_l4(c, p, data, l4_end);
}

struct bg_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct bg_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 identification;
};

static __always_inline int bg_ipv6_exthdr(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_MH;
}

/*
 * IPv6 cannot work without neighbour discovery (ICMPv6 133-137) and, with
 * snooping switches, multicast listener messages (130-132, 143); they pass
 * whatever the ruleset says. Only in the form that cannot have crossed a
 * router and will not cross one: ND with hop limit 255 (RFC 4861) sent to
 * a link-local or link-scope multicast address, MLD with hop limit 1 from
 * a link-local or unspecified source (RFC 2710, 3810), code 0,
 * unfragmented (RFC 6980). ND to any other address (a unicast neighbour
 * probe, or an attempt to have a gateway forward ND) is BG_PARSE_ND only
 * when the caller finds it is not to be forwarded: the parser flags it
 * BG_PKT_ND_UNICAST and returns BG_PARSE_OK. Anything else claiming these
 * types is classified normally.
 */
static __always_inline int bg_link_control(struct bg_pkt *p)
{
	__u8 t = p->icmp_type;
	__u32 s0 = bpf_ntohl(p->saddr[0]), d0 = bpf_ntohl(p->daddr[0]);

	if (p->icmp_code != 0)
		return 0;
	if (t >= 133 && t <= 137) {
		if (p->ttl != 255)
			return 0;
		if ((d0 & 0xffc00000) == 0xfe800000 ||
		    (d0 & 0xffff0000) == 0xff020000)
			return 1;
		p->flags |= BG_PKT_ND_UNICAST;
		return 0;
	}
	if (t == 130 || t == 131 || t == 132 || t == 143)
		return p->ttl == 1 && ((s0 & 0xffc00000) == 0xfe800000 ||
				       !(p->saddr[0] | p->saddr[1] |
					 p->saddr[2] | p->saddr[3]));
	return 0;
}

static __always_inline int bg_parse_ipv6(struct bg_cursor *c, struct bg_pkt *p,
					 void *data)
{
	struct ipv6hdr *ip6h = c->pos;
	__u16 frag_fo = 0;
	void *l4_end;
	__u32 plen;
	__u8 nh;
	int i;

	if ((void *)(ip6h + 1) > c->end)
		return BG_PARSE_MALFORMED;
	if (ip6h->version != 6)
		return BG_PARSE_MALFORMED;
	plen = bg_len_field(c, bg_ntohs_bounded(ip6h->payload_len));
	l4_end = (void *)(ip6h + 1) + plen;
	if (l4_end > c->claim_end)
		return BG_PARSE_MALFORMED;

	p->family = 1; /* BG_FAM_INET6 */
	p->l3_off = (void *)ip6h - data;
	p->l3_len = sizeof(*ip6h) + plen;
	p->ttl = ip6h->hop_limit;
	p->tos = (((__u8 *)ip6h)[0] << 4) | (((__u8 *)ip6h)[1] >> 4);
	__builtin_memcpy(p->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6h->daddr, 16);
	c->pos = ip6h + 1;
	nh = ip6h->nexthdr;

#pragma unroll
	for (i = 0; i < BG_MAX_EXTHDR; i++) {
		struct bg_ipv6_opt_hdr *oh = c->pos;
		__u32 len;

		if (!bg_ipv6_exthdr(nh))
			break;
		if ((void *)(oh + 1) > c->end || (void *)(oh + 1) > l4_end)
			return BG_PARSE_MALFORMED;
		if (nh == IPPROTO_FRAGMENT) {
			struct bg_ipv6_frag_hdr *fh = c->pos;
			__u16 fo;

			if ((void *)(fh + 1) > c->end ||
			    (void *)(fh + 1) > l4_end)
				return BG_PARSE_MALFORMED;
			fo = bpf_ntohs(fh->frag_off);
			nh = fh->nexthdr;
			c->pos = fh + 1;
			p->flags |= BG_PKT_FRAG;
			frag_fo = fo;
			p->frag_off = fo >> 3;
			p->frag_id = bpf_ntohl(fh->identification);
			p->l4_proto = nh;
			p->frag_len = l4_end - c->pos;
			if (bg_frag_bad(p, p->frag_len))
				return BG_PARSE_MALFORMED;
			if (fo & 0xfff8) {
				p->flags |= BG_PKT_FRAG_LATER;
				/* Headers after the Fragment header are in
				 * the first fragment only. */
				p->l4_proto = bg_ipv6_exthdr(nh) ?
						      BG_PROTO_UNKNOWN :
						      nh;
				return BG_PARSE_OK;
			}
			continue;
		}
		/* AH counts its length in 4-byte units, the others in 8. */
		if (nh == IPPROTO_AH)
			len = (oh->hdrlen + 2) * 4;
		else
			len = (oh->hdrlen + 1) * 8;
		if (c->pos + len > c->end || c->pos + len > l4_end)
			return BG_PARSE_MALFORMED;
		nh = oh->nexthdr;
		c->pos += len;
	}
	if (bg_ipv6_exthdr(nh))
		return BG_PARSE_MALFORMED;
	/* An atomic fragment (offset 0, M 0: RFC 6946) is a whole datagram.
	 * Here, not in the loop: a branch there multiplies what the
	 * verifier walks. */
	if ((p->flags & BG_PKT_FRAG) && !(frag_fo & 0xfff9))
		p->flags = (p->flags & ~BG_PKT_FRAG) | BG_PKT_FRAG_HDR;

	p->l4_proto = nh;
	if (bg_parse_l4(c, p, data, l4_end) != BG_PARSE_OK)
		return BG_PARSE_MALFORMED;
	if (nh == IPPROTO_ICMPV6 && (p->flags & BG_PKT_L4) &&
	    !(p->flags & (BG_PKT_FRAG | BG_PKT_FRAG_HDR)) && bg_link_control(p))
		return BG_PARSE_ND;
	return BG_PARSE_OK;
}

/*
 * Parse a frame: data..data_end are the bytes at hand, pkt_len the true
 * length of the packet from data (XDP: the same; TC: skb->len, which is
 * more when the payload is in pages, as in GRO and TSO packets). The IP
 * header's length claims are checked against pkt_len, reads against
 * data_end. skb_vlan_tags: tags already taken out of the packet by the
 * stack (0 or 1, TC: skb->vlan_present); skb_vlan_id: the id of that tag.
 * flags: enum bg_parse_flags.
 */
static __always_inline int bg_parse(void *data, void *data_end, __u32 pkt_len,
				    struct bg_pkt *p, __u8 skb_vlan_tags,
				    __u16 skb_vlan_id, __u32 flags)
{
	struct bg_cursor c = { .pos = data, .end = data_end };
	__be16 proto;
	int ret;

	/*
	 * Claims are compared as packet pointers, which the verifier takes
	 * with variable offsets below 2^29 (and prunes far better than the
	 * same checks on scalar offsets). Beyond the bytes at hand they are
	 * only compared, never read.
	 */
	if (pkt_len > BG_PARSE_MAX_LEN)
		pkt_len = BG_PARSE_MAX_LEN;
	bg_barrier_var(pkt_len);
	pkt_len &= BG_PARSE_MAX_LEN;
	c.claim_end = data + pkt_len;
	/* 1 for a GSO packet over 64 KiB (pkt_len < 2^28), branch-free. */
	c.gso = (flags & BG_PARSE_F_GSO) & ((0xffff - pkt_len) >> 31);
	if (skb_vlan_tags) {
		p->vlan_id[0] = skb_vlan_id & 0x0fff;
		p->vlan_depth = 1;
	}
	ret = bg_parse_eth(&c, p, &proto);
	if (ret != BG_PARSE_OK)
		return ret;
	if (proto == bpf_htons(ETH_P_IP))
		ret = bg_parse_ipv4(&c, p, data);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = bg_parse_ipv6(&c, p, data);
	else
		return BG_PARSE_NOT_IP;
	/* A BIG TCP datagram (bg_len_field) is the rest of the packet. */
	if (c.gso && ret != BG_PARSE_MALFORMED &&
	    p->l3_len == (p->family ? sizeof(struct ipv6hdr) : 0) + 0xffff)
		p->l3_len = pkt_len - p->l3_off;
	return ret;
}

#endif /* BG_PARSE_H */
