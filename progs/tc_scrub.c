// SPDX-License-Identifier: GPL-2.0
/*
 * tc_scrub: traffic normalization, the ruleset's "scrub" statements.
 *
 * bg_scrub_ingress (TC ingress, registry pref 30) and bg_scrub_egress
 * (TC egress, pref 85, before source NAT) find the first statement that
 * matches a packet (headers/bg_scrub_abi.h) and apply its options:
 *
 *   min-ttl N    raise the IPv4 TTL / IPv6 hop limit to N (a host behind
 *                a long path, or one that starts low, still gets there;
 *                it also hides how far away the sender is)
 *   max-mss N    lower the MSS option of a SYN or SYN-ACK to N (a tunnel
 *                or PPPoE link with a small MTU downstream: the endpoints
 *                then never send a segment too big for it, whether or
 *                not ICMP "too big" gets through)
 *   no-df        clear IPv4's don't-fragment bit
 *   random-id    a random IPv4 identification (hosts that count it up
 *                leak how much they send, and let an idle scan use them);
 *                not for fragments, whose reassembly needs theirs
 *
 * Each rewrite keeps the checksums right: the IPv4 header's incrementally
 * (RFC 1624), the TCP checksum through bpf_l4_csum_replace(), which knows
 * the packet's checksum state (a segment the host sends with checksum
 * offload, CHECKSUM_PARTIAL, holds only the pseudo-header's sum: the
 * device sums the options, so the field must stay as it is). A field
 * change and its checksum change cancel out in the packet's sum, so a
 * received packet's CHECKSUM_COMPLETE stays right too.
 *
 * What it cannot read (truncated or inconsistent headers, TCP options cut
 * short) it leaves alone: the firewall and conntrack judge those. It
 * never drops: every packet leaves with TC_ACT_UNSPEC, for the next
 * program. A ruleset without scrub statements does not load it (the
 * "scrub" feature of the program registry).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_common.h"
#include "bg_common_maps.h"
#include "bg_csum.h"
#include "bg_scrub_abi.h"
#include "bg_scrub_maps.h"
#include "bg_scrub.h"

/* Inline 802.1Q/802.1ad tags it looks through (the outer one of a
 * received frame is usually in skb->vlan_tci already). */
#define BG_SCRUB_VLANS 2
/* IPv6 extension headers it walks to find TCP, and their most bytes. */
#define BG_SCRUB_EXTS 4
#define BG_SCRUB_EXT_MAX (BG_SCRUB_EXTS * 2048)
/* The longest headers it reads directly: Ethernet, two tags, IPv6. */
#define BG_SCRUB_PULL (ETH_HLEN + 4 * BG_SCRUB_VLANS + 40)
#define BG_TCP_OPT_MAX 40
#define BG_TCP_OPT_BUF 64 /* a power of 2 above BG_TCP_OPT_MAX */
#define BG_TCP_SYN 0x02
#define BG_TCPOPT_EOL 0
#define BG_TCPOPT_NOP 1
#define BG_TCPOPT_MSS 2
#define BG_TCPOLEN_MSS 4

/* bg_scrub_ip6_walk(): no upper-layer header found (reserved values) */
#define BG_SCRUB_L4_UNKNOWN 255
#define BG_SCRUB_L4_FRAGMENT 254

/* ICMPv6 neighbour discovery: router solicitation .. redirect */
#define BG_ND_FIRST 133
#define BG_ND_LAST 137

#define BG_IP_DF 0x4000
#define BG_IP_MF 0x2000
#define BG_IP_OFFMASK 0x1fff

/* The packet's addresses and where its headers are. */
struct bg_scrub_pkt {
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 l4_off; /* 0: no TCP header to look at */
	__u32 l3_end; /* where the IP datagram ends */
	__u8 family;
	__u8 pad[3];
};

/*
 * IPv4: TTL, don't-fragment and identification, in place, with one
 * incremental update of the header checksum.
 */
static __always_inline void bg_scrub_ip4(struct iphdr *ip,
					 const struct bg_scrub_rule *r, int gso)
{
	__be16 old_ttl = ((__be16 *)ip)[4], old_frag = ip->frag_off;
	__be16 old_id = ip->id;
	__wsum diff = 0;
	__u16 frag = bpf_ntohs(old_frag);

	if ((r->opts & BG_SCRUB_F_MIN_TTL) && ip->ttl < r->min_ttl) {
		ip->ttl = r->min_ttl;
		diff = bg_csum_add(diff,
				   bg_csum_diff2(old_ttl, ((__be16 *)ip)[4]));
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_TTL_RAISED);
	}
	/*
	 * A GRO or GSO super-packet leaves in segments that take their
	 * identifications from its own (consecutive ones, or all the same
	 * one for a sender that sends a fixed one): one drawn here would be
	 * the same for all, and with DF cleared, segments with one ID may be
	 * fragmented and mixed up in reassembly. It keeps both.
	 */
	if (gso && (r->opts & (BG_SCRUB_F_NO_DF | BG_SCRUB_F_RANDOM_ID))) {
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_GSO_KEPT);
		goto out;
	}
	if ((r->opts & BG_SCRUB_F_NO_DF) && (frag & BG_IP_DF)) {
		ip->frag_off = bpf_htons(frag & ~BG_IP_DF);
		diff = bg_csum_add(diff, bg_csum_diff2(old_frag, ip->frag_off));
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_DF_CLEARED);
	}
	if (r->opts & BG_SCRUB_F_RANDOM_ID) {
		if (frag & (BG_IP_MF | BG_IP_OFFMASK)) {
			bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_FRAGMENT);
		} else {
			ip->id = (__be16)bpf_get_prandom_u32();
			diff = bg_csum_add(diff, bg_csum_diff2(old_id, ip->id));
			bg_stat_inc(&bg_scrub_stats,
				    BG_SCRUB_STAT_ID_RANDOMIZED);
		}
	}
out:
	if (diff)
		bg_csum_replace_by_diff(&ip->check, diff);
}

/*
 * The walk of a segment's TCP options, one option per bpf_loop() step, on
 * a copy: an offset into the packet or a fixed stack slot per option
 * would keep the verifier from seeing the walk end (6.1 took minutes, a
 * newer one gives up), a range of offsets into a copy does not. Every
 * MSS option above the limit is lowered in the copy (Linux takes the
 * last well-formed one: a SYN carrying two must not pass with one of
 * them), and the copy goes back into the packet once.
 */
struct bg_scrub_optwalk {
	__u8 opt[BG_TCP_OPT_BUF]; /* the options, copied */
	__u64 off; /* the next option's offset */
	__u64 optlen; /* bytes of options */
	__u64 diff; /* __wsum: the TCP checksum's change */
	__u32 clamped; /* MSS options lowered */
	__u32 malformed; /* an option ran past the others */
	__u32 max; /* max-mss */
	__u32 pad;
};

static long bg_scrub_opt(__u32 i, void *ctx)
{
	struct bg_scrub_optwalk *w = ctx;
	__u64 off = w->off, len;
	__u16 mss;
	__u8 kind;

	if (off >= w->optlen || off > BG_TCP_OPT_MAX - 1)
		return 1;
	kind = w->opt[off & (BG_TCP_OPT_BUF - 1)];
	if (kind == BG_TCPOPT_EOL)
		return 1;
	/* A NOP is an option of one byte: one way on, for the verifier. */
	len = 1;
	if (kind != BG_TCPOPT_NOP) {
		if (off + 1 >= w->optlen) {
			w->malformed = 1;
			return 1;
		}
		len = w->opt[(off + 1) & (BG_TCP_OPT_BUF - 1)];
		if (len < 2 || off + len > w->optlen) {
			w->malformed = 1;
			return 1;
		}
	}
	/* An MSS of another length, Linux skips: so does this. */
	if (kind == BG_TCPOPT_MSS && len == BG_TCPOLEN_MSS) {
		mss = w->opt[(off + 2) & (BG_TCP_OPT_BUF - 1)] << 8 |
		      w->opt[(off + 3) & (BG_TCP_OPT_BUF - 1)];
#ifdef BG_BENCH_SCRUB_REWRITE
		/* make bench: the rewrite on every run of the same buffer */
		if (mss >= w->max) {
#else
		if (mss > w->max) {
#endif
			__be16 from = bpf_htons(mss), to = bpf_htons(w->max);

			/* An MSS after a lone NOP sits at an odd offset. */
			w->diff = (__force __u32)bg_csum_add(
				(__force __wsum)(__u32)w->diff,
				(off & 1) ? bg_csum_diff2_odd(from, to) :
					    bg_csum_diff2(from, to));
			w->opt[(off + 2) & (BG_TCP_OPT_BUF - 1)] = w->max >> 8;
			w->opt[(off + 3) & (BG_TCP_OPT_BUF - 1)] = w->max &
								   0xff;
			w->clamped++;
		}
	}
	w->off = off + len;
	return 0;
}

/*
 * max-mss: the MSS options of the SYN or SYN-ACK whose TCP header is at
 * @l4_off, lowered to @max. An option that runs past the others ends the
 * walk, as it ends Linux's: what came before it counts.
 */
static __always_inline void bg_scrub_mss(struct __sk_buff *skb, __u32 l4_off,
					 __u32 l3_end, __u16 max)
{
	__u32 optlen, opt_off = l4_off + sizeof(struct tcphdr);
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct bg_scrub_optwalk w;
	__u8 *th, hdr[14];

	/* The header's flags in the packet where it holds them (most of
	 * the time: this runs for every TCP segment). */
	if (l4_off > BG_SCRUB_PULL + BG_SCRUB_EXT_MAX)
		return;
	th = data + l4_off;
	if ((void *)(th + sizeof(hdr)) > end) {
		if (bpf_skb_load_bytes(skb, l4_off, hdr, sizeof(hdr)))
			return;
		th = hdr;
	}
	if (!(th[13] & BG_TCP_SYN)) /* a SYN or a SYN-ACK */
		return;
	optlen = (th[12] >> 4) * 4;
	if (optlen <= sizeof(struct tcphdr))
		return;
	/* Options past the datagram's end are the frame's padding. */
	if (l4_off + optlen > l3_end) {
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_OPT_MALFORMED);
		return;
	}
	optlen -= sizeof(struct tcphdr);
	if (optlen == 0 || optlen > BG_TCP_OPT_MAX)
		return;
	__builtin_memset(&w, 0, sizeof(w));
	if (bpf_skb_load_bytes(skb, opt_off, w.opt, optlen))
		return;
	w.optlen = optlen;
	w.max = max;
	bpf_loop(BG_TCP_OPT_MAX, bg_scrub_opt, &w, 0);
	if (w.malformed)
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_OPT_MALFORMED);
	if (!w.clamped)
		return;
	/* The size again, for the verifier: bpf_loop() may have changed
	 * whatever the copy's struct holds. */
	bg_barrier_var(optlen);
	if (optlen == 0 || optlen > BG_TCP_OPT_MAX)
		return;
	/* The options first: once they are in, the checksum's update
	 * (within the bytes the store made writable) cannot fail. */
	if (bpf_skb_store_bytes(skb, opt_off, w.opt, optlen, 0) ||
	    bpf_l4_csum_replace(skb, l4_off + offsetof(struct tcphdr, check), 0,
				(__u32)w.diff, 0)) {
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_ERROR);
		return;
	}
	bg_stat_add(&bg_scrub_stats, BG_SCRUB_STAT_MSS_CLAMPED, w.clamped);
}

/*
 * IPv6: the extension headers, as far as the upper-layer header. Its
 * protocol, its offset in *@l4_off; BG_SCRUB_L4_UNKNOWN past
 * BG_SCRUB_EXTS headers or what cannot be read. A fragment header of an
 * atomic fragment (offset 0, no more fragments) is walked through: Linux
 * hands such a packet on at once, with no reassembly; a real fragment
 * has no upper-layer header of its own to look at here.
 */
static __always_inline __u8 bg_scrub_ip6_walk(struct __sk_buff *skb, __u32 off,
					      __u8 nexthdr, __u32 *l4_off)
{
	__u8 ext[4];
	int i;

	for (i = 0; i < BG_SCRUB_EXTS; i++) {
		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS && nexthdr != IPPROTO_FRAGMENT) {
			*l4_off = off;
			return nexthdr;
		}
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
			return BG_SCRUB_L4_UNKNOWN;
		if (nexthdr == IPPROTO_FRAGMENT) {
			if ((ext[2] << 8 | ext[3]) & 0xfff9)
				return BG_SCRUB_L4_FRAGMENT;
			off += 8;
		} else {
			off += (ext[1] + 1) * 8;
		}
		nexthdr = ext[0];
	}
	return BG_SCRUB_L4_UNKNOWN;
}

/*
 * IPv6: the hop limit raised. IPv6 has no header checksum to balance the
 * change, so a received packet's CHECKSUM_COMPLETE sum takes it
 * (bpf_csum_update() does nothing to the others). Neighbour discovery
 * keeps its hop limit, behind extension headers too: RFC 4861 has a host
 * drop ND messages whose hop limit is not 255 (they come from off the
 * link), and raising it would let those in; a packet whose upper-layer
 * header cannot be found keeps it as well.
 */
static __always_inline void bg_scrub_ip6(struct __sk_buff *skb,
					 struct ipv6hdr *ip6, __u8 proto,
					 __u32 l4_off,
					 const struct bg_scrub_rule *r)
{
	__be16 old = ((__be16 *)ip6)[3]; /* next header, hop limit */
	__u8 type;

	if (!(r->opts & BG_SCRUB_F_MIN_TTL) || ip6->hop_limit >= r->min_ttl)
		return;
	if (proto == BG_SCRUB_L4_UNKNOWN)
		return;
	if (proto == IPPROTO_ICMPV6 &&
	    (bpf_skb_load_bytes(skb, l4_off, &type, 1) ||
	     (type >= BG_ND_FIRST && type <= BG_ND_LAST)))
		return;
	ip6->hop_limit = r->min_ttl;
	bpf_csum_update(skb,
			(__force __u32)bg_csum_diff2(old, ((__be16 *)ip6)[3]));
	bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_TTL_RAISED);
}

static __always_inline int bg_scrub(struct __sk_buff *skb, __u8 dir)
{
	const struct bg_scrub_config *cfg;
	struct bg_scrub_pkt p = {};
	const struct bg_scrub_rule *r;
	void *data, *end;
	struct ethhdr *eth;
	__u32 off = ETH_HLEN, gen, l4;
	__be16 proto;
	__u8 nexthdr;
	int i;

	cfg = bg_scrub_cfg(dir, &gen);
	if (!cfg)
		return TC_ACT_UNSPEC;
	if (skb->data_end - skb->data < BG_SCRUB_PULL &&
	    skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < BG_SCRUB_PULL ?
					       skb->len :
					       BG_SCRUB_PULL);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return TC_ACT_UNSPEC;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < BG_SCRUB_VLANS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if (data + off + 4 > end)
			return TC_ACT_UNSPEC;
		proto = *(__be16 *)(data + off + 2);
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5 ||
		    bpf_ntohs(ip->tot_len) < ip->ihl * 4 ||
		    skb->len < off + bpf_ntohs(ip->tot_len))
			return TC_ACT_UNSPEC;
		p.family = BG_FAM_INET;
		p.l3_end = off + bpf_ntohs(ip->tot_len);
		p.saddr[0] = ip->saddr;
		p.daddr[0] = ip->daddr;
		if (ip->protocol == IPPROTO_TCP &&
		    !(ip->frag_off & bpf_htons(BG_IP_MF | BG_IP_OFFMASK)))
			p.l4_off = off + ip->ihl * 4;
		r = bg_scrub_match(gen, cfg->n, dir, skb->ifindex, p.family,
				   p.saddr, p.daddr);
		if (!r)
			return TC_ACT_UNSPEC;
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_MATCHED);
		if (r->opts & (BG_SCRUB_F_MIN_TTL | BG_SCRUB_F_NO_DF |
			       BG_SCRUB_F_RANDOM_ID))
			bg_scrub_ip4(ip, r, skb->gso_size != 0);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end || ip6->version != 6 ||
		    skb->len < off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len))
			return TC_ACT_UNSPEC;
		p.family = BG_FAM_INET6;
		p.l3_end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(p.saddr, &ip6->saddr, 16);
		__builtin_memcpy(p.daddr, &ip6->daddr, 16);
		r = bg_scrub_match(gen, cfg->n, dir, skb->ifindex, p.family,
				   p.saddr, p.daddr);
		if (!r)
			return TC_ACT_UNSPEC;
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_MATCHED);
		l4 = off + sizeof(*ip6);
		nexthdr = ip6->nexthdr;
		if (r->opts & (BG_SCRUB_F_MIN_TTL | BG_SCRUB_F_MAX_MSS))
			nexthdr = bg_scrub_ip6_walk(skb, l4, nexthdr, &l4);
		/* The packet again: the walk's helper calls may have moved
		 * it (for the verifier; they do not). */
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		ip6 = data + off;
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_UNSPEC;
		bg_scrub_ip6(skb, ip6, nexthdr, l4, r);
		if (nexthdr == IPPROTO_TCP)
			p.l4_off = l4;
	} else {
		return TC_ACT_UNSPEC;
	}
	if ((r->opts & BG_SCRUB_F_MAX_MSS) && p.l4_off)
		bg_scrub_mss(skb, p.l4_off, p.l3_end, r->max_mss);
	return TC_ACT_UNSPEC;
}

SEC("tc/ingress")
int bg_scrub_ingress(struct __sk_buff *skb)
{
	return bg_scrub(skb, BG_SCRUB_DIR_IN);
}

SEC("tc/egress")
int bg_scrub_egress(struct __sk_buff *skb)
{
	return bg_scrub(skb, BG_SCRUB_DIR_OUT);
}

char _license[] SEC("license") = "GPL";
