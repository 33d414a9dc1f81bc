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

#define BG_MAX_VLAN 2
/* More extension headers than this is treated as an attack, not a packet. */
#define BG_MAX_EXTHDR 8

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/*
 * The 6.1 verifier loses the range of a value after a byte swap; the mask
 * that gives it back would be dropped by the compiler as redundant, so it
 * must happen after a barrier. Needed before adding a length to a packet
 * pointer.
 */
#define bg_barrier_var(v) asm volatile("" : "+r"(v))

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
};

struct bg_cursor {
	void *pos;
	void *end;
};

struct bg_pkt {
	__u8 family; /* enum bg_family */
	__u8 l4_proto; /* IPPROTO_*, after extension headers */
	__u8 flags; /* enum bg_pkt_flags */
	__u8 vlan_depth; /* tags in the packet or skb (<= BG_MAX_VLAN) */
	__u16 vlan_id[BG_MAX_VLAN]; /* outermost first */
	__u16 l3_off; /* offset of the IP header from the frame start */
	__u16 l4_off; /* offset of the L4 header (valid with BG_PKT_L4) */
	__u16 l3_len; /* IP datagram length claimed by the header */
	__u8 ttl; /* TTL or hop limit */
	__u8 tcp_flags; /* FIN..CWR byte, with BG_PKT_L4 and TCP */
	__be16 sport; /* TCP/UDP ports; ICMP id in sport */
	__be16 dport;
	__u8 icmp_type;
	__u8 icmp_code;
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
 * First L4 header. It must lie inside both the frame and the datagram the
 * IP header claims (l4_end): a header cut short by either is malformed, the
 * tiny-fragment trick included.
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
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(iph + 1) > c->end)
		return BG_PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return BG_PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	tot = bg_ntohs_bounded(iph->tot_len);
	/* The frame may carry link padding after the datagram, never less. */
	if (tot < hlen || (void *)iph + tot > c->end)
		return BG_PARSE_MALFORMED;
	if ((void *)iph + hlen > c->end)
		return BG_PARSE_MALFORMED;

	p->family = 0; /* BG_FAM_INET */
	p->l3_off = (void *)iph - data;
	p->l3_len = tot;
	p->ttl = iph->ttl;
	p->l4_proto = iph->protocol;
	p->saddr[0] = iph->saddr;
	p->daddr[0] = iph->daddr;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (BG_IP_MF | BG_IP_OFFSET)) {
		p->flags |= BG_PKT_FRAG;
		if (frag & BG_IP_OFFSET) {
			p->flags |= BG_PKT_FRAG_LATER;
			return BG_PARSE_OK;
		}
	}
	c->pos = (void *)iph + hlen;
	return bg_parse_l4(c, p, data, (void *)iph + tot);
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
 * router: ND with hop limit 255 (RFC 4861), MLD with hop limit 1 from a
 * link-local or unspecified source (RFC 2710, 3810), code 0, unfragmented
 * (RFC 6980). Anything else claiming these types is classified normally.
 */
static __always_inline int bg_link_control(struct bg_pkt *p)
{
	__u8 t = p->icmp_type;
	__u32 s0 = bpf_ntohl(p->saddr[0]);

	if (p->icmp_code != 0)
		return 0;
	if (t >= 133 && t <= 137)
		return p->ttl == 255;
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
	void *l4_end;
	__u8 nh;
	int i;

	if ((void *)(ip6h + 1) > c->end)
		return BG_PARSE_MALFORMED;
	if (ip6h->version != 6)
		return BG_PARSE_MALFORMED;
	l4_end = (void *)(ip6h + 1) + bg_ntohs_bounded(ip6h->payload_len);
	if (l4_end > c->end)
		return BG_PARSE_MALFORMED;

	p->family = 1; /* BG_FAM_INET6 */
	p->l3_off = (void *)ip6h - data;
	p->l3_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	p->ttl = ip6h->hop_limit;
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
			__u16 off;

			if ((void *)(fh + 1) > c->end ||
			    (void *)(fh + 1) > l4_end)
				return BG_PARSE_MALFORMED;
			off = bpf_ntohs(fh->frag_off);
			p->flags |= BG_PKT_FRAG;
			nh = fh->nexthdr;
			c->pos = fh + 1;
			if (off & 0xfff8) {
				p->flags |= BG_PKT_FRAG_LATER;
				p->l4_proto = nh;
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

	p->l4_proto = nh;
	if (bg_parse_l4(c, p, data, l4_end) != BG_PARSE_OK)
		return BG_PARSE_MALFORMED;
	if (nh == IPPROTO_ICMPV6 && (p->flags & BG_PKT_L4) &&
	    !(p->flags & BG_PKT_FRAG) && bg_link_control(p))
		return BG_PARSE_ND;
	return BG_PARSE_OK;
}

/*
 * Parse a frame. skb_vlan_tags: tags already taken out of the packet by
 * the stack (0 or 1, TC ingress only); skb_vlan_id: the id of that tag.
 */
static __always_inline int bg_parse(void *data, void *data_end,
				    struct bg_pkt *p, __u8 skb_vlan_tags,
				    __u16 skb_vlan_id)
{
	struct bg_cursor c = { .pos = data, .end = data_end };
	__be16 proto;
	int ret;

	if (skb_vlan_tags) {
		p->vlan_id[0] = skb_vlan_id & 0x0fff;
		p->vlan_depth = 1;
	}
	ret = bg_parse_eth(&c, p, &proto);
	if (ret != BG_PARSE_OK)
		return ret;
	if (proto == bpf_htons(ETH_P_IP))
		return bg_parse_ipv4(&c, p, data);
	if (proto == bpf_htons(ETH_P_IPV6))
		return bg_parse_ipv6(&c, p, data);
	return BG_PARSE_NOT_IP;
}

#endif /* BG_PARSE_H */
