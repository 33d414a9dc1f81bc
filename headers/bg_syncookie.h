/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Answer a TCP SYN to a local listener with a SYN cookie SYN-ACK from XDP
 * (XDP_TX), so that under a SYN flood the kernel never allocates a request
 * socket: the client's returning ACK is validated by the kernel's own
 * cookie check (cookie_v4_check/cookie_v6_check) and only then becomes a
 * connection.
 *
 * Why the kernel accepts the ACK (read in the kernel source, v6.1 and
 * later alike): bpf_tcp_gen_syncookie() (net/core/filter.c) calls
 * tcp_v4_get_syncookie() (net/ipv4/tcp_ipv4.c) or tcp_v6_get_syncookie()
 * (net/ipv6/tcp_ipv6.c). Both call tcp_get_syncookie_mss()
 * (net/ipv4/tcp_input.c) and, when it gives an MSS, compute the cookie
 * and call tcp_synq_overflow(sk) on the listener. That stamp is what
 * cookie_v4_check()/cookie_v6_check() (net/ipv4/syncookies.c,
 * net/ipv6/syncookies.c) test first with tcp_synq_no_recent_overflow():
 * without it every cookie ACK would be ignored. So nothing else is
 * needed, as long as the listener keeps getting cookies at least once
 * per TCP_SYNCOOKIE_VALID (about two minutes).
 *
 * The sysctl: tcp_get_syncookie_mss() hands out a cookie only when
 * net.ipv4.tcp_syncookies is 2, or is 1 AND the listener's SYN queue is
 * full (inet_csk_reqsk_queue_is_full(): more half-open requests than the
 * listen() backlog; "as many" in kernels without the 2025 fix of that
 * test, so listen(0) no longer makes every SYN a cookie); with 0 the
 * helper refuses at once (-ENOENT). With 1, this function thus answers only while the
 * kernel itself would be sending cookies (the queue full of a flood's
 * half-open requests), and passes SYNs on otherwise; with 2 it answers
 * every SYN to a listener, which is what the kernel would do then too.
 * It also refuses when the listener's accept queue is full
 * (LISTENOVERFLOWS). The helper never counts TcpExtSyncookiesSent (only
 * the kernel's own cookie_init_sequence() does), while a validated ACK
 * counts TcpExtSyncookiesRecv as usual.
 *
 * What a cookie connection loses, as with the kernel's own cookies: the
 * SYN-ACK carries only an MSS option (the MSS the helper encoded in the
 * cookie, from the client's MSS option rounded down to the kernel's
 * cookie table), so no window scaling, no SACK, no timestamps, no ECN
 * and no TCP Fast Open data; a SYN's payload is not acknowledged (the
 * client sends it again once connected).
 *
 * Defined behaviour for what is not a plain SYN (the frame is left as it
 * was for every negative result, and the caller passes it on):
 * - SYN with ACK, RST or FIN set, or no SYN: BG_SYNCOOKIE_NOT_SYN;
 * - IPv4 options, IPv6 extension headers, fragments (also an atomic
 *   IPv6 fragment): BG_SYNCOOKIE_UNSUPPORTED. The stack judges them
 *   (source routes, for one, which it drops by default), not a shortcut;
 * - a group (multicast/broadcast) Ethernet address, or a source or
 *   destination address no host answers (IPv4 0/8, 127/8, 224/4 and up;
 *   IPv6 ::, ::1, ff00::/8): BG_SYNCOOKIE_BAD_ADDR, as the stack drops
 *   them, and an answer would be a reflection;
 * - a destination a router would forward (see bg_syncookie_local()):
 *   BG_SYNCOOKIE_NOT_LOCAL;
 * - a TCP header the parser did not give (BG_PKT_L4 unset): MALFORMED;
 * - payload after a SYN's header: ignored, the answer is sent.
 * VLAN tags stay where they are (the answer leaves by the VLAN the SYN
 * came in by). A directed broadcast address (192.0.2.255) is not known
 * here: the caller's antispoofing is where that belongs.
 */
#ifndef BG_SYNCOOKIE_H
#define BG_SYNCOOKIE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_abi_common.h"
#include "bg_compiler.h"
#include "bg_csum.h"
#include "bg_parse.h"

/*
 * Results of bg_syncookie_answer() other than XDP_TX (negative: the frame
 * is unchanged and should go on to the stack). The caller counts them by
 * -result - 1 (0 .. BG_SYNCOOKIE_NR - 1).
 */
enum bg_syncookie_result {
	BG_SYNCOOKIE_NOT_SYN = -1, /* not a pure SYN (ACK/RST/FIN/no SYN) */
	BG_SYNCOOKIE_NO_LISTENER = -2, /* no listening socket for it */
	BG_SYNCOOKIE_REFUSED = -3, /* the helper gave no cookie (sysctl) */
	BG_SYNCOOKIE_MALFORMED = -4, /* no usable TCP header */
	BG_SYNCOOKIE_UNSUPPORTED = -5, /* IP options, ext headers, fragment */
	BG_SYNCOOKIE_BAD_ADDR = -6, /* multicast, broadcast, loopback ... */
	BG_SYNCOOKIE_NOT_LOCAL = -7, /* a router forwards it: not ours */
};

#define BG_SYNCOOKIE_NR 7

/* TCP flags byte (offset 13) and options (uapi linux/tcp.h has neither) */
#define BG_TCP_FIN 0x01
#define BG_TCP_SYN 0x02
#define BG_TCP_RST 0x04
#define BG_TCP_ACK 0x10
#define BG_TCPOPT_MSS 2
#define BG_TCPOLEN_MSS 4

/* The answer's TCP header: 20 bytes and one MSS option (doff 6). */
struct bg_syncookie_tcp {
	struct tcphdr th;
	__u8 mss_kind; /* BG_TCPOPT_MSS */
	__u8 mss_len; /* BG_TCPOLEN_MSS */
	__be16 mss;
};

/* The SYN's TCP header with its options, for the helper. */
struct bg_syncookie_syn {
	struct tcphdr th;
	__u8 opt[40];
};

#define BG_SYNCOOKIE_TTL 64
/*
 * No window scaling with cookies: 16 bits are all the window there is;
 * 64240 (44 * 1460) is what Linux itself offers in a SYN-ACK on Ethernet.
 */
#define BG_SYNCOOKIE_WINDOW 64240
/* Ethernet, two VLAN tags: the furthest an IP header starts. */
#define BG_SYNCOOKIE_MAX_L3_OFF (ETH_HLEN + 4 * BG_MAX_VLAN)

static __always_inline int bg_syncookie_bad_ip4(__be32 a)
{
	__u32 h = bpf_ntohl(a);
	__u8 top = h >> 24;

	/* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 and
	 * 255.255.255.255 */
	return top == 0 || top == 127 || top >= 224;
}

static __always_inline int bg_syncookie_bad_ip6(const __be32 a[4])
{
	/* ff00::/8 multicast */
	if ((bpf_ntohl(a[0]) >> 24) == 0xff)
		return 1;
	/* :: (unspecified) and ::1 (loopback) */
	return !(a[0] | a[1] | a[2]) && bpf_ntohl(a[3]) <= 1;
}

/*
 * A wildcard listener (0.0.0.0:22) matches a SYN to any address, local or
 * not: the socket lookup does not ask the routing table, the stack does
 * that before it. On a router, a SYN passing through to a host behind it
 * must not be answered in that host's name (the connection would break,
 * or be hijacked). The FIB tells: NOT_FWDED for a local destination (and
 * for broadcast, and for no route at all), SUCCESS/NO_NEIGH and the
 * others when the packet would be forwarded or dropped. FWD_DISABLED (the
 * usual host, forwarding off): the FIB says nothing more, but then a
 * non-local destination is never forwarded, its ACK never reaches a
 * socket, and no connection can come of an answer.
 */
static __always_inline int bg_syncookie_local(struct xdp_md *ctx,
					      const struct bg_pkt *p)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.l4_protocol = IPPROTO_TCP;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.ifindex = ctx->ingress_ifindex;
	if (p->family == BG_FAM_INET) {
		fib.family = 2; /* AF_INET */
		fib.ipv4_src = p->saddr[0];
		fib.ipv4_dst = p->daddr[0];
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	return rc == BPF_FIB_LKUP_RET_NOT_FWDED ||
	       rc == BPF_FIB_LKUP_RET_FWD_DISABLED;
}

/* A header with one option, an MSS: what the helper reads of it. */
#define BG_SYNCOOKIE_CLAMP_LEN (sizeof(struct tcphdr) + BG_TCPOLEN_MSS)

/*
 * scrub's max-mss for a SYN answered here (progs/tc_scrub.c never sees
 * it): when the helper encoded an MSS above @max_mss in cookie @ck, the
 * copy @syn becomes the same header with a single MSS option of
 * @max_mss, for the helper to encode again (it rounds down to its table,
 * as for any client). The helper reads nothing else of the options: a
 * cookie SYN-ACK carries no other. 1: ask the helper again.
 */
static __always_inline int bg_syncookie_clamp(struct bg_syncookie_syn *syn,
					      __s64 ck, __u16 max_mss,
					      int *clamped)
{
	__u8 *th = (__u8 *)&syn->th;

	if (ck < 0 || !max_mss || (__u16)(ck >> 32) <= max_mss)
		return 0;
	th[12] = (BG_SYNCOOKIE_CLAMP_LEN / 4) << 4 | (th[12] & 0x0f);
	syn->opt[0] = BG_TCPOPT_MSS;
	syn->opt[1] = BG_TCPOLEN_MSS;
	syn->opt[2] = max_mss >> 8;
	syn->opt[3] = max_mss & 0xff;
	*clamped = 1;
	return 1;
}

/*
 * Answer the SYN in ctx, parsed by bg_parse() into *p (TCP, BG_PKT_L4),
 * with a cookie SYN-ACK built in place, its MSS at most @max_mss (0: no
 * limit; *@clamped set when it lowered the client's). Returns XDP_TX when the frame is
 * now that SYN-ACK, a negative enum bg_syncookie_result with the frame
 * untouched otherwise; XDP_ABORTED only if the frame changed size and
 * could then not be read again (the verifier's view; it cannot happen).
 */
static __always_inline int bg_syncookie_answer(struct xdp_md *ctx,
					       const struct bg_pkt *p,
					       __u16 max_mss, int *clamped)
{
	struct bg_syncookie_syn syn = {};
	struct bg_syncookie_tcp out = {};
	struct bpf_sock_tuple tup = {};
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off, l4_off, l3_hlen, tup_len, thlen, new_len;
	__u32 cur_len, doff;
	struct bpf_sock *sk;
	struct ethhdr *eth;
	__be32 seq;
	__s64 ck;
	__wsum sum;
	void *iph;
	int delta;

	if (!(p->flags & BG_PKT_L4) || p->l4_proto != IPPROTO_TCP)
		return BG_SYNCOOKIE_MALFORMED;
	if ((p->tcp_flags &
	     (BG_TCP_SYN | BG_TCP_ACK | BG_TCP_RST | BG_TCP_FIN)) != BG_TCP_SYN)
		return BG_SYNCOOKIE_NOT_SYN;
	if (p->flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER | BG_PKT_FRAG_HDR))
		return BG_SYNCOOKIE_UNSUPPORTED;

	/* Bounded offsets, so that the verifier can follow the pointers. */
	if (l3_off > BG_SYNCOOKIE_MAX_L3_OFF)
		return BG_SYNCOOKIE_MALFORMED;
	bg_barrier_var(l3_off);
	l3_off &= 0x3f;
	if (p->family == BG_FAM_INET) {
		l3_hlen = sizeof(struct iphdr);
		tup_len = sizeof(tup.ipv4);
		if (bg_syncookie_bad_ip4(p->saddr[0]) ||
		    bg_syncookie_bad_ip4(p->daddr[0]))
			return BG_SYNCOOKIE_BAD_ADDR;
		tup.ipv4.saddr = p->saddr[0];
		tup.ipv4.daddr = p->daddr[0];
		tup.ipv4.sport = p->sport;
		tup.ipv4.dport = p->dport;
	} else {
		l3_hlen = sizeof(struct ipv6hdr);
		tup_len = sizeof(tup.ipv6);
		if (bg_syncookie_bad_ip6(p->saddr) ||
		    bg_syncookie_bad_ip6(p->daddr))
			return BG_SYNCOOKIE_BAD_ADDR;
		__builtin_memcpy(tup.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(tup.ipv6.daddr, p->daddr, 16);
		tup.ipv6.sport = p->sport;
		tup.ipv6.dport = p->dport;
	}
	/* IPv4 options or IPv6 extension headers: the TCP header is not
	 * right after the fixed header. */
	if (p->l4_off != l3_off + l3_hlen)
		return BG_SYNCOOKIE_UNSUPPORTED;
	l4_off = l3_off + l3_hlen;
	/* Or the compiler takes p->l4_off again, whose range is lost. */
	bg_barrier_var(l4_off);
	l4_off &= 0x7f;

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return BG_SYNCOOKIE_MALFORMED;
	/* The group bit: a SYN sent to (or from) many is the stack's to
	 * drop (PACKET_BROADCAST/MULTICAST), never to answer. */
	if ((eth->h_dest[0] | eth->h_source[0]) & 1)
		return BG_SYNCOOKIE_BAD_ADDR;

	{
		struct tcphdr *th = data + l4_off;

		if ((void *)(th + 1) > data_end)
			return BG_SYNCOOKIE_MALFORMED;
		doff = th->doff;
		seq = th->seq;
	}
	if (doff < sizeof(struct tcphdr) / 4)
		return BG_SYNCOOKIE_MALFORMED;
	/*
	 * 20 plus a multiple of 4, so that even the 6.1 verifier sees a
	 * length of at least 20: it loses the lower bound of a plain
	 * doff * 4 in the range check the compiler makes of it, and then
	 * rejects a possibly zero-sized read.
	 */
	thlen = sizeof(struct tcphdr) + ((doff - 5) & 0xf) * 4;
	bg_barrier_var(thlen);
	if (thlen > sizeof(syn))
		return BG_SYNCOOKIE_MALFORMED;
	/* The helper wants th_len == doff * 4 and reads the options for the
	 * MSS: a copy on the stack gives it all of them with a length the
	 * verifier can bound (the packet may end right after them). */
	if (bpf_xdp_load_bytes(ctx, l4_off, &syn, thlen))
		return BG_SYNCOOKIE_MALFORMED;

	if (!bg_syncookie_local(ctx, p))
		return BG_SYNCOOKIE_NOT_LOCAL;
	sk = bpf_skc_lookup_tcp(ctx, &tup, tup_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return BG_SYNCOOKIE_NO_LISTENER;
	/* An established or TIME_WAIT socket, or a request socket: the
	 * stack's to deal with (a retransmitted SYN, a reuse). */
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return BG_SYNCOOKIE_NO_LISTENER;
	}
	/* The helper reads only addresses and the version of the IP header. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + l3_off;
	if (p->family == BG_FAM_INET) {
		if (iph + sizeof(struct iphdr) > data_end) {
			bpf_sk_release(sk);
			return BG_SYNCOOKIE_MALFORMED;
		}
		ck = bpf_tcp_gen_syncookie(sk, iph, sizeof(struct iphdr),
					   &syn.th, thlen);
		if (bg_syncookie_clamp(&syn, ck, max_mss, clamped))
			ck = bpf_tcp_gen_syncookie(sk, iph,
						   sizeof(struct iphdr),
						   &syn.th,
						   BG_SYNCOOKIE_CLAMP_LEN);
	} else {
		if (iph + sizeof(struct ipv6hdr) > data_end) {
			bpf_sk_release(sk);
			return BG_SYNCOOKIE_MALFORMED;
		}
		ck = bpf_tcp_gen_syncookie(sk, iph, sizeof(struct ipv6hdr),
					   &syn.th, thlen);
		if (bg_syncookie_clamp(&syn, ck, max_mss, clamped))
			ck = bpf_tcp_gen_syncookie(sk, iph,
						   sizeof(struct ipv6hdr),
						   &syn.th,
						   BG_SYNCOOKIE_CLAMP_LEN);
	}
	bpf_sk_release(sk);
	if (ck < 0)
		return BG_SYNCOOKIE_REFUSED;

	/* The answer's TCP header, summed on the stack before it goes in. */
	out.th.source = p->dport;
	out.th.dest = p->sport;
	/* The cookie is the ISN in host order (the kernel's own isn). */
	out.th.seq = bpf_htonl((__u32)ck);
	out.th.ack_seq = bpf_htonl(bpf_ntohl(seq) + 1);
	/* doff 6 and SYN|ACK, as bytes: no bitfield order to depend on */
	((__u8 *)&out.th)[12] = (sizeof(out) / 4) << 4;
	((__u8 *)&out.th)[13] = BG_TCP_SYN | BG_TCP_ACK;
	out.th.window = bpf_htons(BG_SYNCOOKIE_WINDOW);
	out.mss_kind = BG_TCPOPT_MSS;
	out.mss_len = BG_TCPOLEN_MSS;
	out.mss = bpf_htons((__u16)(ck >> 32));
	sum = (__wsum)bpf_csum_diff(NULL, 0, (__be32 *)&out, sizeof(out), 0);
	if (p->family == BG_FAM_INET)
		sum = bg_csum_pseudo4(p->daddr[0], p->saddr[0], sizeof(out),
				      IPPROTO_TCP, sum);
	else
		sum = bg_csum_pseudo6(p->daddr, p->saddr, sizeof(out),
				      IPPROTO_TCP, sum);
	out.th.check = bg_csum_fold(sum);

	/* Exactly the answer's length: shrink (or, for a SYN without
	 * options and without link padding, grow) the tail. */
	new_len = l4_off + sizeof(out);
	cur_len = data_end - data;
	delta = (int)new_len - (int)cur_len;
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return BG_SYNCOOKIE_UNSUPPORTED;

	/* Every packet pointer is stale after bpf_xdp_adjust_tail(). */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	{
		__u8 mac[ETH_ALEN];

		__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	}

	if (p->family == BG_FAM_INET) {
		struct iphdr *ip4 = data + l3_off;
		struct bg_syncookie_tcp *th = data + l3_off + sizeof(*ip4);

		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		ip4->version = 4;
		ip4->ihl = 5;
		ip4->tos = 0;
		ip4->tot_len = bpf_htons(sizeof(*ip4) + sizeof(out));
		ip4->id = 0;
		ip4->frag_off = bpf_htons(0x4000); /* DF */
		ip4->ttl = BG_SYNCOOKIE_TTL;
		ip4->protocol = IPPROTO_TCP;
		ip4->check = 0;
		ip4->saddr = p->daddr[0];
		ip4->daddr = p->saddr[0];
		ip4->check = bg_csum_fold((__wsum)bpf_csum_diff(
			NULL, 0, (__be32 *)ip4, sizeof(*ip4), 0));
		__builtin_memcpy(th, &out, sizeof(out));
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct bg_syncookie_tcp *th = data + l3_off + sizeof(*ip6);

		if ((void *)(th + 1) > data_end)
			return XDP_ABORTED;
		/* Version 6, traffic class 0 (no ECN), flow label 0 */
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(sizeof(out));
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = BG_SYNCOOKIE_TTL;
		__builtin_memcpy(&ip6->saddr, p->daddr, 16);
		__builtin_memcpy(&ip6->daddr, p->saddr, 16);
		__builtin_memcpy(th, &out, sizeof(out));
	}
	return XDP_TX;
}

/*
 * 1 when the frame is the client's ACK (data allowed) of a handshake a
 * listener of this namespace answered with a SYN cookie, the cookie
 * checked by the kernel (bpf_tcp_check_syncookie(): the kernel's cookie
 * secret, the 4-tuple, the cookie's age; it also wants the listener to
 * have handed out a cookie within TCP_SYNCOOKIE_VALID). A forged or
 * replayed-too-late ACK gives 0. The kernel's own check takes the same
 * ACK again when it reaches the listener; this one is for the firewall,
 * to which the ACK belongs to no flow (conntrack never saw the SYN).
 * tup: room for the socket tuple (the caller's: a map value keeps it off
 * a stack that is short of room).
 */
static __always_inline int bg_syncookie_ack_valid(struct xdp_md *ctx,
						  const struct bg_pkt *p,
						  struct bpf_sock_tuple *tup)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off, l4_off, l3_hlen, tup_len;
	struct bpf_sock *sk;
	struct tcphdr *th;
	void *iph;
	long ret;

	if (!(p->flags & BG_PKT_L4) || p->l4_proto != IPPROTO_TCP ||
	    (p->flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER | BG_PKT_FRAG_HDR)))
		return 0;
	if ((p->tcp_flags &
	     (BG_TCP_SYN | BG_TCP_ACK | BG_TCP_RST | BG_TCP_FIN)) != BG_TCP_ACK)
		return 0;
	if (l3_off > BG_SYNCOOKIE_MAX_L3_OFF)
		return 0;
	bg_barrier_var(l3_off);
	l3_off &= 0x3f;
	__builtin_memset(tup, 0, sizeof(*tup));
	if (p->family == BG_FAM_INET) {
		l3_hlen = sizeof(struct iphdr);
		tup_len = sizeof(tup->ipv4);
		tup->ipv4.saddr = p->saddr[0];
		tup->ipv4.daddr = p->daddr[0];
		tup->ipv4.sport = p->sport;
		tup->ipv4.dport = p->dport;
	} else {
		l3_hlen = sizeof(struct ipv6hdr);
		tup_len = sizeof(tup->ipv6);
		__builtin_memcpy(tup->ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(tup->ipv6.daddr, p->daddr, 16);
		tup->ipv6.sport = p->sport;
		tup->ipv6.dport = p->dport;
	}
	/* As the answer: no IPv4 options, no IPv6 extension headers (the
	 * answer never made a cookie for those). */
	if (p->l4_off != l3_off + l3_hlen)
		return 0;
	l4_off = l3_off + l3_hlen;
	bg_barrier_var(l4_off);
	l4_off &= 0x7f;

	sk = bpf_skc_lookup_tcp(ctx, tup, tup_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return 0;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + l3_off;
	th = data + l4_off;
	if ((void *)(th + 1) > data_end) {
		bpf_sk_release(sk);
		return 0;
	}
	/* The helper reads the addresses (and the version) of the IP header
	 * and the fixed TCP header only. */
	ret = -1;
	if (p->family == BG_FAM_INET) {
		if (iph + sizeof(struct iphdr) <= data_end)
			ret = bpf_tcp_check_syncookie(
				sk, iph, sizeof(struct iphdr), th, sizeof(*th));
	} else {
		if (iph + sizeof(struct ipv6hdr) <= data_end)
			ret = bpf_tcp_check_syncookie(sk, iph,
						      sizeof(struct ipv6hdr),
						      th, sizeof(*th));
	}
	bpf_sk_release(sk);
	return ret == 0;
}

#endif /* BG_SYNCOOKIE_H */
