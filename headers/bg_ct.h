/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection tracking helpers shared by tc_conntrack (which writes the
 * tables) and xdp_firewall (which reads them): the tables, key normal
 * form, expiry, the TCP state machine as a pure function, and the key of
 * the flow an ICMP/ICMPv6 error quotes. Everything works on data/data_end
 * and struct bg_pkt, so it is usable from XDP and TC alike.
 */
#ifndef BG_CT_H
#define BG_CT_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"

/* Index into bg_ct_stats (per-CPU u64). */
enum bg_ct_stat {
	BG_CT_STAT_NEW = 0, /* packets classified NEW (entry created or not) */
	BG_CT_STAT_ESTABLISHED = 1, /* packets classified ESTABLISHED */
	BG_CT_STAT_RELATED = 2, /* ICMP errors quoting a tracked flow */
	BG_CT_STAT_INVALID = 3, /* packets classified INVALID */
	BG_CT_STAT_OVER_LIMIT = 4, /* new flows not tracked: limit_states */
	BG_CT_STAT_EVICTED = 5, /* entries the LRU dropped (seen by sweeps) */
	BG_CT_STAT_EXPIRED = 6, /* entries deleted because they timed out */
	BG_CT_STAT_MIDSTREAM = 7, /* TCP flows picked up without a SYN */
	BG_CT_STAT_CREATED = 8, /* entries created */
	BG_CT_STAT_SKIPPED = 9, /* egress packets from a bpfguard interface */
	BG_CT_STAT_UNTRACKED = 10, /* not IP, malformed, fragments, other L4 */
	BG_CT_STAT_SWEEPS = 11, /* sweep runs */
	BG_CT_STAT_MAX = 16,
};

/*
 * Internal TCP bookkeeping kept in bg_ct_entry.pad[0] (the ABI has no
 * field for it): which key sides have sent a FIN. Reported upstream as an
 * ABI gap; the layout is unchanged.
 */
#define BG_CT_TF_FIN0 (1 << 0)
#define BG_CT_TF_FIN1 (1 << 1)
#define bg_ct_tflags(e) ((e)->pad[0])

/* td_wscale value meaning "this side's SYN had no window scale option". */
#define BG_CT_WS_NONE 0xff

/*
 * arr[i] for a variable i (0 or 1) in a stack struct: clang turns the
 * address computation of an aligned stack object into an OR, which the
 * verifier refuses on pointers; the barrier forces an ADD.
 */
#define BG_IDX(arr, i)                                         \
	(*({                                                   \
		__u64 __o = ((__u64)(i)&1) * sizeof((arr)[0]); \
		bg_barrier_var(__o);                           \
		(__typeof__(&(arr)[0]))((void *)(arr) + __o);  \
	}))

#define BG_CT_NS 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct4_key);
	__type(value, struct bg_ct_entry);
	__uint(max_entries, BG_CT_TABLE_MAX);
	BG_PINNED;
} bg_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct6_key);
	__type(value, struct bg_ct_entry);
	__uint(max_entries, BG_CT_TABLE_MAX);
	BG_PINNED;
} bg_ct6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_config);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_ct_config SEC(".maps");

/* Both keys of a flow, whichever family. */
union bg_ct_key {
	struct bg_ct4_key k4;
	struct bg_ct6_key k6;
};

static __always_inline __u64 bg_ct_now(const struct bg_ct_config *cfg)
{
	__u64 now = bpf_ktime_get_boot_ns();

	if (cfg)
		now += cfg->clock_offset_ns;
	return now;
}

static __always_inline __u32 bg_ct_default_timeout(__u32 idx)
{
	switch (idx) {
	case BG_CTT_TCP_SYN_SENT:
		return 120;
	case BG_CTT_TCP_SYN_RECV:
		return 60;
	case BG_CTT_TCP_ESTABLISHED:
		return 432000;
	case BG_CTT_TCP_FIN_WAIT:
		return 120;
	case BG_CTT_TCP_CLOSE_WAIT:
		return 60;
	case BG_CTT_TCP_LAST_ACK:
		return 30;
	case BG_CTT_TCP_TIME_WAIT:
		return 120;
	case BG_CTT_TCP_CLOSE:
		return 10;
	case BG_CTT_UDP_UNREPLIED:
		return 30;
	case BG_CTT_UDP_REPLIED:
		return 120;
	default:
		return 30; /* BG_CTT_ICMP */
	}
}

/* Which timeout applies to an entry (enum bg_ct_timeout). */
static __always_inline __u32 bg_ct_timeout_idx(__u8 proto, __u8 state,
					       __u8 flags)
{
	if (proto == IPPROTO_TCP) {
		if (state >= BG_CTS_SYN_SENT && state <= BG_CTS_CLOSE)
			return state - BG_CTS_SYN_SENT;
		return BG_CTT_TCP_CLOSE;
	}
	if (proto == IPPROTO_UDP)
		return (flags & BG_CTF_SEEN_REPLY) ? BG_CTT_UDP_REPLIED :
						     BG_CTT_UDP_UNREPLIED;
	return BG_CTT_ICMP;
}

/* Timeout in ns; timeouts: bg_ct_config.timeout (may be NULL). */
static __always_inline __u64 bg_ct_timeout_ns(const __u32 *timeouts, __u8 proto,
					      __u8 state, __u8 flags)
{
	__u32 idx = bg_ct_timeout_idx(proto, state, flags);
	__u32 t = 0;

	bg_barrier_var(idx); /* keep the bound check next to the access */
	if (timeouts && idx < BG_CTT_MAX)
		t = timeouts[idx];
	if (!t)
		t = bg_ct_default_timeout(idx);
	return (__u64)t * BG_CT_NS;
}

/* An expired entry is to be treated as absent. */
static __always_inline int bg_ct_expired(const struct bg_ct_config *cfg,
					 const struct bg_ct_entry *e, __u64 now)
{
	__u64 to = bg_ct_timeout_ns(cfg ? cfg->timeout : 0, e->proto, e->state,
				    e->flags);

	return (__s64)(now - e->last_ns) > (__s64)to;
}

/*
 * Normal form of an IPv4 5-tuple. Returns the key side of the sender
 * (0 or 1): side 0 is the lower (address, port), address bytes compared
 * first, then the port bytes (network order).
 */
static __always_inline int bg_ct_key4(struct bg_ct4_key *k, __be32 saddr,
				      __be32 daddr, __be16 sport, __be16 dport,
				      __u8 proto)
{
	__u32 s = bpf_ntohl(saddr), d = bpf_ntohl(daddr);
	__u16 sp = bpf_ntohs(sport), dp = bpf_ntohs(dport);
	int swap = s > d || (s == d && sp > dp);

	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
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
				      __be16 dport, __u8 proto)
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

/*
 * Key of the flow a parsed packet belongs to. Returns the sender's key
 * side (0/1), or -1 when the packet is not trackable: no L4 header (later
 * fragments), another protocol, ICMP other than echo.
 */
static __always_inline int bg_ct_pkt_key(const struct bg_pkt *p,
					 union bg_ct_key *k)
{
	__be16 sport = p->sport, dport = p->dport;

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
	if (p->family == BG_FAM_INET)
		return bg_ct_key4(&k->k4, p->saddr[0], p->daddr[0], sport,
				  dport, p->l4_proto);
	return bg_ct_key6(&k->k6, p->saddr, p->daddr, sport, dport,
			  p->l4_proto);
}

/* Look an entry up; NULL if absent. Does not check expiry. */
static __always_inline struct bg_ct_entry *bg_ct_lookup(__u8 family,
							union bg_ct_key *k)
{
	if (family == BG_FAM_INET)
		return bpf_map_lookup_elem(&bg_ct4, &k->k4);
	return bpf_map_lookup_elem(&bg_ct6, &k->k6);
}

/* Lookup that treats an expired entry as absent (for readers). */
static __always_inline struct bg_ct_entry *
bg_ct_lookup_live(__u8 family, union bg_ct_key *k,
		  const struct bg_ct_config *cfg, __u64 now)
{
	struct bg_ct_entry *e = bg_ct_lookup(family, k);

	if (e && bg_ct_expired(cfg, e, now))
		return NULL;
	return e;
}

/*
 * Key of the flow an ICMP/ICMPv6 error quotes (p: the parsed error,
 * data/data_end: the frame). The quoted packet must have been sent by the
 * error's destination (the error goes back to the sender) and carry a
 * TCP/UDP header (ports) or an ICMP echo request. IPv6: the quoted header
 * must be followed directly by the L4 header (no extension headers).
 * Returns the quoted packet's sender side, or -1.
 */
static __always_inline int bg_ct_icmp_err_key(void *data, void *data_end,
					      const struct bg_pkt *p,
					      union bg_ct_key *k)
{
	__u32 off = p->l4_off;
	__u8 *l4;
	__be16 sport, dport;
	__u8 proto;

	if (!(p->flags & BG_PKT_L4) || (p->flags & BG_PKT_FRAG))
		return -1;
	if (!bg_ct_icmp_error(p->l4_proto, p->icmp_type))
		return -1;
	if (off > 512)
		return -1;
	off += 8; /* the ICMP header */

	if (p->family == BG_FAM_INET) {
		struct iphdr *iph = data + off;
		__u32 hlen;

		if (p->l4_proto != IPPROTO_ICMP)
			return -1;
		if ((void *)(iph + 1) > data_end)
			return -1;
		if (iph->version != 4 || iph->ihl < 5)
			return -1;
		if (iph->frag_off & bpf_htons(BG_IP_OFFSET))
			return -1;
		if (iph->saddr != p->daddr[0])
			return -1;
		hlen = iph->ihl * 4;
		l4 = (__u8 *)iph + hlen;
		if ((void *)(l4 + 8) > data_end)
			return -1;
		proto = iph->protocol;
		sport = *(__be16 *)l4;
		dport = *(__be16 *)(l4 + 2);
		if (proto == IPPROTO_ICMP) {
			if (l4[0] != 8)
				return -1;
			sport = dport = *(__be16 *)(l4 + 4);
		} else if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
			return -1;
		}
		return bg_ct_key4(&k->k4, iph->saddr, iph->daddr, sport, dport,
				  proto);
	} else {
		struct ipv6hdr *ip6h = data + off;
		__be32 s[4], d[4];

		if (p->l4_proto != IPPROTO_ICMPV6)
			return -1;
		if ((void *)(ip6h + 1) > data_end)
			return -1;
		if (ip6h->version != 6)
			return -1;
		__builtin_memcpy(s, &ip6h->saddr, 16);
		__builtin_memcpy(d, &ip6h->daddr, 16);
		if (s[0] != p->daddr[0] || s[1] != p->daddr[1] ||
		    s[2] != p->daddr[2] || s[3] != p->daddr[3])
			return -1;
		l4 = (__u8 *)(ip6h + 1);
		if ((void *)(l4 + 8) > data_end)
			return -1;
		proto = ip6h->nexthdr;
		sport = *(__be16 *)l4;
		dport = *(__be16 *)(l4 + 2);
		if (proto == IPPROTO_ICMPV6) {
			if (l4[0] != 128)
				return -1;
			sport = dport = *(__be16 *)(l4 + 4);
		} else if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
			return -1;
		}
		return bg_ct_key6(&k->k6, s, d, sport, dport, proto);
	}
}

/* ------------------------------------------------------------- TCP */

#define BG_TCP_FIN 0x01
#define BG_TCP_SYN 0x02
#define BG_TCP_RST 0x04
#define BG_TCP_PSH 0x08
#define BG_TCP_ACK 0x10
#define BG_TCP_URG 0x20

#define BG_TCPB(f) (1ULL << (f))
/* Valid flag combinations (ECE/CWR ignored), as Linux's tcp_valid_flags. */
#define BG_TCP_VALID_FLAGS                                                     \
	(BG_TCPB(BG_TCP_SYN) | BG_TCPB(BG_TCP_SYN | BG_TCP_URG) |              \
	 BG_TCPB(BG_TCP_SYN | BG_TCP_ACK) | BG_TCPB(BG_TCP_RST) |              \
	 BG_TCPB(BG_TCP_RST | BG_TCP_ACK) |                                    \
	 BG_TCPB(BG_TCP_RST | BG_TCP_ACK | BG_TCP_PSH) |                       \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK) |                                    \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_URG) | BG_TCPB(BG_TCP_ACK) | \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_URG) |                                    \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_PSH) |                       \
	 BG_TCPB(BG_TCP_FIN | BG_TCP_ACK | BG_TCP_PSH | BG_TCP_URG) |          \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_PSH) |                                    \
	 BG_TCPB(BG_TCP_ACK | BG_TCP_PSH | BG_TCP_URG))

static __always_inline int bg_ct_tcp_flags_valid(__u8 flags)
{
	return (BG_TCP_VALID_FLAGS >> (flags & 0x3f)) & 1;
}

/* One TCP segment, as the state machine needs it (host byte order). */
struct bg_ct_seg {
	__u32 seq;
	__u32 ack;
	__u32 end; /* seq + payload + SYN + FIN */
	__u32 win; /* unscaled window field */
	__u8 flags;
	__u8 wscale; /* window scale option of a SYN, BG_CT_WS_NONE if none */
	__u8 pad[2];
};

#define bg_before(a, b) ((__s32)((a) - (b)) < 0)
#define bg_after(a, b) bg_before(b, a)

static __always_inline __u32 bg_ct_ws(const struct bg_ct_entry *e, __u32 side)
{
	__u8 ws = BG_IDX(e->td_wscale, side & 1);

	return ws > 14 ? 0 : ws;
}

/* Initialise one side's window data from a segment it sent. */
static __always_inline void bg_ct_td_init(struct bg_ct_entry *e, __u32 side,
					  const struct bg_ct_seg *s)
{
	side &= 1;
	BG_IDX(e->td_end, side) = s->end;
	BG_IDX(e->td_maxwin, side) = s->win ? s->win : 1;
	if (s->flags & BG_TCP_SYN)
		BG_IDX(e->td_wscale, side) = s->wscale;
}

/*
 * Simplified tcp_in_window: the segment must lie within what the receiver
 * can have allowed (seq <= sender's end + receiver's largest window, end
 * not older than one window), and its ACK must not acknowledge data the
 * receiver never sent or data older than one ack window. Sides not yet
 * initialised and MIDSTREAM flows (window scale unknown) are liberal.
 * On success the sender's end and largest window are updated.
 */
static __always_inline int bg_ct_tcp_in_window(struct bg_ct_entry *e, __u32 snd,
					       const struct bg_ct_seg *s)
{
	__u32 rcv = (snd ^ 1) & 1, win, maxack;

	snd &= 1;
	win = s->win;
	if (!(s->flags & BG_TCP_SYN))
		win <<= bg_ct_ws(e, snd);
	if (!BG_IDX(e->td_maxwin, snd)) {
		bg_ct_td_init(e, snd, s);
		BG_IDX(e->td_maxwin, snd) = win ? win : 1;
	} else if (!(e->flags & BG_CTF_MIDSTREAM) &&
		   BG_IDX(e->td_maxwin, rcv)) {
		if (bg_after(s->seq, BG_IDX(e->td_end, snd) +
					     BG_IDX(e->td_maxwin, rcv)))
			return 0;
		if (bg_before(s->end, BG_IDX(e->td_end, snd) -
					      BG_IDX(e->td_maxwin, rcv)))
			return 0;
	}
	if ((s->flags & BG_TCP_ACK) && BG_IDX(e->td_maxwin, rcv) &&
	    !(e->flags & BG_CTF_MIDSTREAM)) {
		maxack = BG_IDX(e->td_maxwin, snd) > 66000 ?
				 BG_IDX(e->td_maxwin, snd) :
				 66000;
		if (bg_after(s->ack, BG_IDX(e->td_end, rcv)))
			return 0;
		if (bg_before(s->ack, BG_IDX(e->td_end, rcv) - maxack))
			return 0;
	}
	if (bg_after(s->end, BG_IDX(e->td_end, snd)))
		BG_IDX(e->td_end, snd) = s->end;
	if (win > BG_IDX(e->td_maxwin, snd))
		BG_IDX(e->td_maxwin, snd) = win;
	return 1;
}

/*
 * The TCP state machine: a pure function of an existing entry (a copy,
 * updated in place on success) and one segment sent by key side snd.
 * Returns the packet's class (enum bg_ct_class). On BG_CT_INVALID the
 * entry must be left as it was (the caller discards the copy).
 * Entries in TIME_WAIT/CLOSE reopened by a SYN are the caller's business
 * (they are replaced by a new entry before this is called).
 */
static __always_inline int bg_ct_tcp_step(struct bg_ct_entry *e, __u32 snd,
					  const struct bg_ct_seg *s)
{
	__u8 f = s->flags, st = e->state;
	__u32 orig = (e->flags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;
	__u32 reply = (snd & 1) != orig;
	__u8 mybit = (snd & 1) ? BG_CT_TF_FIN1 : BG_CT_TF_FIN0;
	__u8 ns = st;

	if (!bg_ct_tcp_flags_valid(f))
		return BG_CT_INVALID;

	if (f & BG_TCP_RST) {
		if (!bg_ct_tcp_in_window(e, snd, s))
			return BG_CT_INVALID;
		ns = BG_CTS_CLOSE;
	} else if ((f & BG_TCP_SYN) && !(f & BG_TCP_ACK)) {
		if (st != BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		if (!reply) {
			/* Retransmitted SYN: stays SYN_SENT. */
			bg_ct_td_init(e, snd, s);
		} else {
			/* Simultaneous open: both sides sent a SYN. */
			bg_ct_td_init(e, snd, s);
			ns = BG_CTS_SYN_RECV;
		}
	} else if (f & BG_TCP_SYN) { /* SYN+ACK */
		if (st == BG_CTS_SYN_SENT && reply) {
			if (s->ack != BG_IDX(e->td_end, orig & 1))
				return BG_CT_INVALID;
			bg_ct_td_init(e, snd, s);
			/* Scaling only when both SYNs carried the option. */
			if (e->td_wscale[0] == BG_CT_WS_NONE ||
			    e->td_wscale[1] == BG_CT_WS_NONE)
				e->td_wscale[0] = e->td_wscale[1] = 0;
			ns = BG_CTS_SYN_RECV;
		} else if (st == BG_CTS_SYN_RECV ||
			   (st == BG_CTS_ESTABLISHED && reply)) {
			/* Retransmission, or the SYN+ACKs of a simultaneous
			 * open. */
			if (e->td_wscale[0] == BG_CT_WS_NONE ||
			    e->td_wscale[1] == BG_CT_WS_NONE)
				e->td_wscale[0] = e->td_wscale[1] = 0;
		} else {
			return BG_CT_INVALID;
		}
	} else if (f & BG_TCP_FIN) { /* FIN+ACK (FIN alone is invalid) */
		if (st == BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		if (!bg_ct_tcp_in_window(e, snd, s))
			return BG_CT_INVALID;
		if (st == BG_CTS_SYN_RECV || st == BG_CTS_ESTABLISHED)
			ns = BG_CTS_FIN_WAIT;
		else if ((st == BG_CTS_FIN_WAIT || st == BG_CTS_CLOSE_WAIT) &&
			 !(bg_ct_tflags(e) & mybit))
			ns = BG_CTS_LAST_ACK; /* the second FIN */
		bg_ct_tflags(e) |= mybit;
	} else { /* ACK, possibly with data */
		if (st == BG_CTS_SYN_SENT)
			return BG_CT_INVALID;
		if (!bg_ct_tcp_in_window(e, snd, s))
			return BG_CT_INVALID;
		if (st == BG_CTS_SYN_RECV)
			ns = BG_CTS_ESTABLISHED;
		else if (st == BG_CTS_FIN_WAIT && !(bg_ct_tflags(e) & mybit))
			ns = BG_CTS_CLOSE_WAIT; /* the peer acked the FIN */
		else if (st == BG_CTS_LAST_ACK)
			ns = BG_CTS_TIME_WAIT;
	}

	e->state = ns;
	if (reply)
		e->flags |= BG_CTF_SEEN_REPLY;
	if (ns == BG_CTS_ESTABLISHED && (e->flags & BG_CTF_SEEN_REPLY))
		e->flags |= BG_CTF_ASSURED;
	if (reply || (e->flags & BG_CTF_SEEN_REPLY))
		return BG_CT_ESTABLISHED;
	return BG_CT_NEW;
}

#endif /* BG_CT_H */
