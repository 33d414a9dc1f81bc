// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_loadbalancer: the L4 load balancer, slot BG_XDP_SLOT_LB of the XDP
 * chain, the last stage: what the firewall and the rate limiter let
 * through reaches it.
 *
 * A packet to a service (its destination address, port and protocol all
 * a service's VIP) gets the backend of its flow: the flow table's when it
 * has one, else one chosen on the service's ring (headers/bg_lb_abi.h).
 * Its destination is rewritten to the backend, the checksums follow, and
 * it leaves by the next hop the FIB names (XDP_TX, or a redirect to the
 * next hop's interface); what the FIB cannot place (no route, neighbour
 * not resolved yet, over the egress MTU, TTL at its end) goes to the
 * stack, which forwards it or sends the ICMP error. A backend's reply
 * (the reverse translation table holds its flow) leaves with the VIP as
 * its source, so the client only ever sees the VIP.
 *
 * Everything else goes on untouched (XDP_PASS: the chain ends here).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_common_maps.h"
#include "bg_parse.h"
#include "bg_csum.h"
#include "bg_ct_table.h"
#include "bg_xdp_chain.h"
#include "bg_lb_hash.h"
#include "bg_lb.h"

#define BG_AF_INET 2
#define BG_AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_lb_vip_key);
	__type(value, struct bg_lb_svc);
	__uint(max_entries, BG_GENS *BG_LB_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_lb_vip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_LB_RING_MAX);
	BG_PINNED;
} bg_lb_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_lb_backend);
	__uint(max_entries, BG_GENS *BG_LB_MAX_BACKENDS);
	BG_PINNED;
} bg_lb_backend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_lb_health);
	__uint(max_entries, BG_GENS *BG_LB_MAX_BACKENDS);
	BG_PINNED;
} bg_lb_health SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_lb_sinfo);
	__uint(max_entries, BG_GENS *BG_LB_SVC_SLOTS);
	BG_PINNED;
} bg_lb_sinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_GENS *BG_LB_SVC_SLOTS);
	BG_PINNED;
} bg_lb_rr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_lb_flow_key);
	__type(value, struct bg_lb_flow);
	__uint(max_entries, BG_LB_FLOW_MAX);
	BG_PINNED;
} bg_lb_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_lb_flow_key);
	__type(value, struct bg_lb_rnat);
	__uint(max_entries, BG_LB_FLOW_MAX);
	BG_PINNED;
} bg_lb_rnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_lb_bstat);
	__uint(max_entries, BG_GENS *BG_LB_MAX_BACKENDS);
	BG_PINNED;
} bg_lb_bstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_LB_STAT_MAX);
	BG_PINNED;
} bg_lb_stats SEC(".maps");

#define bg_lb_stat_inc(idx) bg_stat_inc(&bg_lb_stats, idx)

struct bg_lb_ctx {
	struct bg_pkt p;
	__u32 gen;
	__u32 epoch;
	__u64 now;
};

/*
 * The parsed packet, handed from the entry point to bg_lb_run(). The
 * verifier then sees its fields as plain numbers in the second function
 * instead of walking the rest of the program once per way the parser can
 * end (the offsets it tracks exactly made that a million instructions).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_lb_ctx);
	__uint(max_entries, 1);
} bg_lb_scratch SEC(".maps");

/*
 * The headers the rewrite touches, checked against data_end. Offsets are
 * masked so the verifier sees them bounded: an IP header after at most two
 * VLAN tags, the L4 header within the first 1 KiB (IPv6 extension headers
 * included; the parser walks no further).
 */
static __always_inline void *bg_lb_hdr(struct xdp_md *ctx, __u32 off,
				       __u32 mask, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *h;

	h = data + (off & mask);
	if (h + len > data_end)
		return NULL;
	return h;
}

/*
 * Rewrite one end of the packet, the destination (dst 1) or the source,
 * to @addr (4 or 16 bytes, network order) and @port, with the IPv4 header
 * checksum and the TCP/UDP checksum following by RFC 1624 differences
 * (a UDP checksum of 0, "none", stays 0). Returns 0, or -1 when the
 * headers are not at hand (nothing changed then).
 */
static __always_inline int bg_lb_rewrite(struct xdp_md *ctx, struct bg_pkt *p,
					 const __u8 *addr, __be16 port, int dst)
{
	__sum16 *l4sum;
	__be16 *l4port;
	__wsum diff;
	__u8 *l4;

	/* Headers past the masks of bg_lb_hdr (a chain of IPv6 extension
	 * headers over 1 KiB) are refused, not wrapped onto others. */
	if (p->l4_off > 0x3ff || p->l3_off > 0x3f)
		return -1;
	if (p->l4_proto == IPPROTO_UDP) {
		struct udphdr *uh =
			bg_lb_hdr(ctx, p->l4_off, 0x3ff, sizeof(*uh));

		if (!uh)
			return -1;
		l4 = (__u8 *)uh;
		l4sum = &uh->check;
	} else {
		struct tcphdr *th =
			bg_lb_hdr(ctx, p->l4_off, 0x3ff, sizeof(*th));

		if (!th)
			return -1;
		l4 = (__u8 *)th;
		l4sum = &th->check;
	}
	l4port = (__be16 *)(l4 + (dst ? 2 : 0));

	if (p->family == BG_FAM_INET) {
		struct iphdr *ip = bg_lb_hdr(ctx, p->l3_off, 0x3f, sizeof(*ip));
		__be32 *a, na;

		if (!ip)
			return -1;
		__builtin_memcpy(&na, addr, 4);
		a = dst ? &ip->daddr : &ip->saddr;
		diff = bg_csum_diff4(*a, na);
		bg_csum_replace_by_diff(&ip->check, diff);
		*a = na;
	} else {
		struct ipv6hdr *ip6 =
			bg_lb_hdr(ctx, p->l3_off, 0x3f, sizeof(*ip6));
		__be32 na[4], *a;

		if (!ip6)
			return -1;
		__builtin_memcpy(na, addr, 16);
		a = dst ? ip6->daddr.in6_u.u6_addr32 :
			  ip6->saddr.in6_u.u6_addr32;
		diff = bg_csum_diff16(a, na);
		__builtin_memcpy(a, na, 16);
	}
	diff = bg_csum_add(diff, bg_csum_diff2(*l4port, port));
	*l4port = port;
	if (p->l4_proto == IPPROTO_UDP)
		bg_csum_udp_replace_by_diff(l4sum, diff);
	else
		bg_csum_replace_by_diff(l4sum, diff);
	if (dst) {
		__builtin_memcpy(p->daddr, addr, 16);
		p->dport = port;
	} else {
		__builtin_memcpy(p->saddr, addr, 16);
		p->sport = port;
	}
	return 0;
}

/* One less hop, as a router does before sending it on. */
static __always_inline int bg_lb_dec_ttl(struct xdp_md *ctx, struct bg_pkt *p)
{
	if (p->family == BG_FAM_INET) {
		struct iphdr *ip = bg_lb_hdr(ctx, p->l3_off, 0x3f, sizeof(*ip));
		__be16 old, new;

		if (!ip)
			return -1;
		old = *(__be16 *)&ip->ttl;
		ip->ttl--;
		new = *(__be16 *)&ip->ttl;
		bg_csum_replace2(&ip->check, old, new);
	} else {
		struct ipv6hdr *ip6 =
			bg_lb_hdr(ctx, p->l3_off, 0x3f, sizeof(*ip6));

		if (!ip6)
			return -1;
		ip6->hop_limit--;
	}
	return 0;
}

/*
 * Send the rewritten packet to its next hop: the FIB's answer gives the
 * interface and both MAC addresses. *oif gets the interface even when the
 * neighbour is not resolved yet (the FIB fills it before that step).
 * What the FIB cannot place goes to the stack, which resolves the
 * neighbour, or sends the ICMP error, and forwards it itself.
 */
/*
 * How long a flow reuses the next hop its last FIB lookup named: a route
 * or neighbour change reaches a running flow within this time.
 */
#define BG_LB_HOP_NS 1000000000ULL

/*
 * Out by the next hop: the flow's (fl, may be NULL) while fresh and the
 * packet fits its MTU, else the FIB's, which the flow then keeps. *oif:
 * the interface the flow leaves by (0: the FIB could not tell).
 */
static __always_inline int bg_lb_xmit(struct xdp_md *ctx, struct bg_pkt *p,
				      __u32 *oif, struct bg_lb_flow *fl,
				      __u64 now)
{
	struct bpf_fib_lookup f = {};
	const __u8 *dmac, *smac;
	struct ethhdr *eth;
	__u32 ifindex;
	long rc;

	if (fl && fl->hop_ns && now - fl->hop_ns < BG_LB_HOP_NS &&
	    p->l3_len <= fl->hop_mtu) {
		ifindex = fl->hop_ifindex;
		*oif = ifindex;
		dmac = fl->hop_dmac;
		smac = fl->hop_smac;
		goto send;
	}

	f.ifindex = ctx->ingress_ifindex;
	f.l4_protocol = p->l4_proto;
	f.sport = p->sport;
	f.dport = p->dport;
	f.tot_len = p->l3_len;
	if (p->family == BG_FAM_INET) {
		f.family = BG_AF_INET;
		f.tos = p->tos;
		f.ipv4_src = p->saddr[0];
		f.ipv4_dst = p->daddr[0];
	} else {
		f.family = BG_AF_INET6;
		__builtin_memcpy(f.ipv6_src, p->saddr, 16);
		__builtin_memcpy(f.ipv6_dst, p->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ||
	    rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		*oif = f.ifindex;
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		bg_lb_stat_inc(BG_LB_STAT_TOO_BIG);
		return XDP_PASS;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		bg_lb_stat_inc(BG_LB_STAT_FIB_MISS);
		return XDP_PASS;
	}
	ifindex = f.ifindex;
	dmac = f.dmac;
	smac = f.smac;
	if (fl) {
		/* Written by whichever CPU looked last, the time last (stores
		 * keep their order on the JITs' hosts; the compiler is held
		 * to it): a reader takes a hop the time says is complete. A
		 * flow whose hop changes may send a packet or two of the
		 * change to a mix of the old and the new one. */
		/* The largest packet the FIB passed for this hop lately:
		 * on success the kernel (6.1) leaves the MTU unsaid, and
		 * tot_len, the packet's length, is within it. */
		__u16 mtu = p->l3_len;

		if (fl->hop_ns && now - fl->hop_ns < BG_LB_HOP_NS &&
		    fl->hop_ifindex == f.ifindex && fl->hop_mtu > mtu)
			mtu = fl->hop_mtu;
		fl->hop_ifindex = f.ifindex;
		fl->hop_mtu = mtu;
		__builtin_memcpy(fl->hop_dmac, f.dmac, ETH_ALEN);
		__builtin_memcpy(fl->hop_smac, f.smac, ETH_ALEN);
		bg_compiler_barrier();
		fl->hop_ns = now;
	}
send:
	/* A tagged frame would leave with its tag on another link. */
	if (p->vlan_depth) {
		bg_lb_stat_inc(BG_LB_STAT_VLAN);
		return XDP_PASS;
	}
	if (p->ttl <= 1) {
		bg_lb_stat_inc(BG_LB_STAT_TTL);
		return XDP_PASS;
	}
	eth = bg_lb_hdr(ctx, 0, 0, sizeof(*eth));
	if (!eth || bg_lb_dec_ttl(ctx, p))
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (ifindex == ctx->ingress_ifindex) {
		bg_lb_stat_inc(BG_LB_STAT_TX);
		return XDP_TX;
	}
	bg_lb_stat_inc(BG_LB_STAT_REDIRECT);
	return bpf_redirect(ifindex, 0);
}

static __always_inline int bg_lb_up(__u32 gen, __u32 b)
{
	__u32 idx = gen * BG_LB_MAX_BACKENDS + b;
	struct bg_lb_health *h;

	if (b >= BG_LB_MAX_BACKENDS)
		return 0;
	h = bpf_map_lookup_elem(&bg_lb_health, &idx);
	return h && bg_read_once(h->up);
}

/* Most backends a service has (fwmapgen refuses more). */
#define BG_LB_SVC_BACKENDS_MAX 655

/*
 * The ring's positions from @pos on, @step apart, until one names a
 * backend that is up: its index. When BG_LB_PROBES positions are all
 * down (most backends down, or a heavy weight down: long runs of it),
 * the service's own backends from @pos % @n on, so that no flow is
 * dropped while one is up. -1: none is. A function of its own, verified
 * once: inlined, its loops multiplied every path through the parser.
 * @svcb packs the generation (bit 0), the service's backend count (bits
 * 1-10) and its first backend (bits 11-22): five arguments at most.
 */
__noinline int bg_lb_probe(__u32 svcb, __u32 ring_off, __u32 m, __u32 pos,
			   __u32 step)
{
	__u32 gen = svcb & 1, n = (svcb >> 1) & 0x3ff, first = svcb >> 11;
	__u32 base = gen * BG_LB_RING_PER_GEN + ring_off, idx, i, b, *r;

	if (!m)
		return -1;
	for (i = 0; i <= BG_LB_PROBES; i++) {
		idx = base + pos;
		r = bpf_map_lookup_elem(&bg_lb_ring, &idx);
		if (r && bg_lb_up(gen, *r))
			return *r & (BG_LB_MAX_BACKENDS - 1);
		pos = (pos + step) % m;
	}
	if (!n || n > BG_LB_SVC_BACKENDS_MAX)
		return -1;
	pos %= n;
	for (i = 0; i < BG_LB_SVC_BACKENDS_MAX && i < n; i++) {
		b = first + (pos + i) % n;
		idx = gen * BG_LB_MAX_BACKENDS + b;
		if (b < BG_LB_MAX_BACKENDS && bg_lb_up(gen, b)) {
			struct bg_lb_backend *be =
				bpf_map_lookup_elem(&bg_lb_backend, &idx);

			/* "down" in the ruleset is out of the ring and
			 * stays out of this scan. */
			if (be && !(be->flags & BG_LB_BF_DOWN))
				return b;
		}
	}
	return -1;
}

static __always_inline int bg_lb_pick(struct bg_lb_ctx *c,
				      const struct bg_lb_svc *svc)
{
	__u32 m = svc->ring_size, h, step;
	struct bg_pkt *p = &c->p;

	if (!m || m > BG_LB_RING_MAX_SIZE ||
	    svc->ring_off >= BG_LB_RING_PER_GEN)
		return -1;
	if (svc->sched == BG_LB_SCHED_ROUND_ROBIN) {
		__u32 k = c->gen * BG_LB_SVC_SLOTS + svc->id;
		__u64 *turn = bpf_map_lookup_elem(&bg_lb_rr, &k);

		h = turn ? (__u32)__sync_fetch_and_add(turn, 1) : 0;
		step = 1;
	} else {
		__u32 ports = 0, proto = 0;

		if (svc->sched == BG_LB_SCHED_MAGLEV) {
			ports = (__u32)bpf_ntohs(p->sport) << 16 |
				bpf_ntohs(p->dport);
			proto = p->l4_proto;
		}
		h = bg_lb_hash(p->saddr, p->family ? 4 : 1, ports, proto,
			       svc->id);
		step = bg_lb_rotl(h, 16) % (m > 1 ? m - 1 : 1) + 1;
	}
	return bg_lb_probe((c->gen & 1) | (svc->nbackends & 0x3ff) << 1 |
				   (svc->first_backend & 0xfff) << 11,
			   svc->ring_off, m, h % m, step);
}

static __always_inline void bg_lb_bstat(__u32 gen, __u32 b, __u64 bytes,
					int flow, int reply)
{
	__u32 idx = gen * BG_LB_MAX_BACKENDS + (b & (BG_LB_MAX_BACKENDS - 1));
	struct bg_lb_bstat *s = bpf_map_lookup_elem(&bg_lb_bstats, &idx);

	if (!s)
		return;
	if (reply) {
		s->replies++;
		return;
	}
	s->packets++;
	s->bytes += bytes;
	s->flows += flow;
}

/*
 * The flow's backend: kept while it is up and, after a ruleset switch,
 * while the same index still names the same backend of the same service;
 * otherwise a new one from the ring (the flow has moved). Returns the
 * backend, NULL when none is up.
 */
static __always_inline const struct bg_lb_backend *
bg_lb_flow_backend(struct bg_lb_ctx *c, const struct bg_lb_svc *svc,
		   struct bg_lb_flow_key *k, __u32 *bidx, int *fresh,
		   struct bg_lb_flow **flp)
{
	const struct bg_lb_backend *be = NULL;
	struct bg_lb_flow *fl, nfl = {};
	__u32 idx;
	int b;

	*fresh = 0;
	fl = bpf_map_lookup_elem(&bg_lb_flow, k);
	if (fl) {
		b = fl->backend & (BG_LB_MAX_BACKENDS - 1);
		idx = c->gen * BG_LB_MAX_BACKENDS + b;
		be = bpf_map_lookup_elem(&bg_lb_backend, &idx);
		/* Within the service's backends of this ruleset: a slot past
		 * them may hold what an older ruleset left there. */
		if (b - svc->first_backend >= svc->nbackends)
			be = NULL;
		if (be && fl->epoch != c->epoch &&
		    (be->svc != svc->id || be->port != fl->bport ||
		     !bg_lb_addr_eq(be->addr, fl->baddr)))
			be = NULL;
		if (be && bg_lb_up(c->gen, b)) {
			fl->last_ns = c->now;
			if (fl->epoch != c->epoch)
				fl->epoch = c->epoch;
			/* A SYN on the tuple of a flow: a new connection
			 * (the port reused), unanswered and open so far. */
			if (c->p.l4_proto == IPPROTO_TCP &&
			    bg_ct_tcp_is_syn(c->p.tcp_flags) &&
			    (fl->replied || fl->closing)) {
				fl->replied = 0;
				fl->closing = 0;
			}
			__sync_fetch_and_add(&fl->packets, 1);
			__sync_fetch_and_add(&fl->bytes, c->p.l3_len);
			*bidx = b;
			*flp = fl;
			return be;
		}
		bg_lb_stat_inc(BG_LB_STAT_MOVED);
	}
	b = bg_lb_pick(c, svc);
	if (b < 0)
		return NULL;
	b &= BG_LB_MAX_BACKENDS - 1;
	idx = c->gen * BG_LB_MAX_BACKENDS + b;
	be = bpf_map_lookup_elem(&bg_lb_backend, &idx);
	if (!be)
		return NULL;
	if (!fl)
		bg_lb_stat_inc(BG_LB_STAT_NEW_FLOW);
	nfl.backend = b;
	nfl.epoch = c->epoch;
	__builtin_memcpy(nfl.baddr, be->addr, 16);
	nfl.bport = be->port;
	nfl.svc = svc->id;
	nfl.last_ns = c->now;
	nfl.packets = 1;
	nfl.bytes = c->p.l3_len;
	if (bpf_map_update_elem(&bg_lb_flow, k, &nfl, BPF_ANY))
		bg_lb_stat_inc(BG_LB_STAT_FLOW_FULL);
	*bidx = b;
	*fresh = 1;
	return be;
}

/* A packet to a service: to its flow's backend. */
static __always_inline int bg_lb_forward(struct xdp_md *ctx,
					 struct bg_lb_ctx *c,
					 const struct bg_lb_svc *svc)
{
	struct bg_lb_flow_key k, rk;
	const struct bg_lb_backend *be;
	struct bg_lb_flow *fl = NULL;
	struct bg_lb_rnat rn = {};
	__u32 b = 0, oif = 0;
	int fresh, ret;

	bg_lb_stat_inc(BG_LB_STAT_PACKETS);
	bg_lb_flow_key_of(&k, &c->p);
	be = bg_lb_flow_backend(c, svc, &k, &b, &fresh, &fl);
	if (!be) {
		bg_lb_stat_inc(BG_LB_STAT_NO_BACKEND);
		return XDP_DROP;
	}
	__builtin_memcpy(rn.vaddr, c->p.daddr, 16);
	rn.vport = c->p.dport;
	rn.svc = svc->id;
	rn.backend = b;
	if (bg_lb_rewrite(ctx, &c->p, be->addr, be->port, 1)) {
		bg_lb_stat_inc(BG_LB_STAT_MALFORMED);
		return XDP_DROP;
	}
	bg_lb_bstat(c->gen, b, c->p.l3_len, fresh, 0);
	bg_xdp_status_set(ctx, BG_XDP_ST_LB_MASK, BG_XDP_ST_LB_SHIFT,
			  BG_LB_ST_FORWARD);
	ret = bg_lb_xmit(ctx, &c->p, &oif, fl, c->now);
	/*
	 * The backend's replies (from it, to the client) are translated
	 * once the FIB named the interface they come back on. Checked on
	 * every packet: an entry the LRU let go (a flood of new flows keeps
	 * the table busy) or a first packet the FIB could not place is
	 * written again by the flow's next one.
	 */
	if (oif) {
		struct bg_lb_rnat *old;

		__builtin_memcpy(rk.saddr, c->p.daddr, 16);
		__builtin_memcpy(rk.daddr, c->p.saddr, 16);
		rk.sport = c->p.dport;
		rk.dport = c->p.sport;
		rk.proto = k.proto;
		rk.family = k.family;
		rk.pad[0] = 0;
		rk.pad[1] = 0;
		rn.ifindex = oif;
		old = bpf_map_lookup_elem(&bg_lb_rnat, &rk);
		/* (a SYN writes it afresh: the flow's entry was reset, its
		 * first reply must mark it again) */
		if (!old || bg_ct_tcp_is_syn(c->p.tcp_flags) ||
		    old->ifindex != oif || old->vport != rn.vport ||
		    old->backend != b || !bg_lb_addr_eq(old->vaddr, rn.vaddr))
			bpf_map_update_elem(&bg_lb_rnat, &rk, &rn, BPF_ANY);
	}
	return ret;
}

/*
 * Not to a service: a backend's reply to a client of one? Then its source
 * becomes the VIP the client contacted. Returns -1 when it is not one.
 */
static __always_inline int bg_lb_reply(struct xdp_md *ctx, struct bg_lb_ctx *c)
{
	struct bg_lb_flow_key k;
	struct bg_lb_rnat *rn;
	__u32 oif = 0;

	bg_lb_flow_key_of(&k, &c->p);
	rn = bpf_map_lookup_elem(&bg_lb_rnat, &k);
	if (!rn)
		return -1;
	if (rn->ifindex != ctx->ingress_ifindex) {
		bg_lb_stat_inc(BG_LB_STAT_REPLY_IFACE);
		return -1;
	}
	/* The flow's first reply: its entry learns the backend answered
	 * (the firewall passes its next packets as established only then),
	 * once per reply translation entry. */
	if (!rn->flow_replied) {
		struct bg_lb_flow *fl;

		__builtin_memcpy(k.saddr, c->p.daddr, 16);
		__builtin_memcpy(k.daddr, rn->vaddr, 16);
		k.sport = c->p.dport;
		k.dport = rn->vport;
		fl = bpf_map_lookup_elem(&bg_lb_flow, &k);
		if (fl && fl->bport == c->p.sport &&
		    bg_lb_addr_eq(fl->baddr, (const __u8 *)c->p.saddr)) {
			if (!fl->replied)
				fl->replied = 1;
			rn->flow_replied = 1;
		}
	}
	if (bg_lb_rewrite(ctx, &c->p, rn->vaddr, rn->vport, 0)) {
		bg_lb_stat_inc(BG_LB_STAT_MALFORMED);
		return XDP_DROP;
	}
	bg_lb_stat_inc(BG_LB_STAT_REPLY);
	bg_lb_bstat(c->gen, rn->backend, 0, 0, 1);
	bg_xdp_status_set(ctx, BG_XDP_ST_LB_MASK, BG_XDP_ST_LB_SHIFT,
			  BG_LB_ST_REPLY);
	return bg_lb_xmit(ctx, &c->p, &oif, NULL, 0);
}

/* Everything after the parser (bg_lb_scratch says why apart). */
__noinline int bg_lb_run(struct xdp_md *ctx)
{
	struct bg_lb_vip_key vk = {};
	struct bg_lb_svc *svc;
	struct bg_lb_ctx *c;
	__u32 zero = 0;
	int ret;

	c = bpf_map_lookup_elem(&bg_lb_scratch, &zero);
	if (!c)
		return XDP_PASS;
	vk.gen = c->gen & 1;
	__builtin_memcpy(vk.addr, c->p.daddr, 16);
	vk.port = c->p.dport;
	vk.proto = c->p.l4_proto;
	vk.family = c->p.family;
	svc = bpf_map_lookup_elem(&bg_lb_vip, &vk);
	if (svc) {
		/* A fragment has its ports in the first fragment alone: the
		 * rest could not follow it to the same backend. */
		if (c->p.flags & BG_PKT_FRAG) {
			bg_lb_stat_inc(BG_LB_STAT_FRAG);
			return XDP_DROP;
		}
		if (!(c->p.flags & BG_PKT_L4)) {
			bg_lb_stat_inc(BG_LB_STAT_MALFORMED);
			return XDP_DROP;
		}
		c->now = bg_ct_now();
		return bg_lb_forward(ctx, c, svc);
	}
	if (!(c->p.flags & BG_PKT_L4) || (c->p.flags & BG_PKT_FRAG))
		return XDP_PASS;
	c->now = bg_ct_now();
	ret = bg_lb_reply(ctx, c);
	return ret < 0 ? XDP_PASS : ret;
}

SEC("xdp")
int bg_lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_fw_active *act;
	struct bg_lb_ctx *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&bg_lb_scratch, &zero);
	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	if (!c || !act)
		return XDP_PASS;
	__builtin_memset(&c->p, 0, sizeof(c->p));
	if (bg_parse(data, data_end, data_end - data, &c->p, 0, 0,
		     BG_PARSE_F_GSO) != BG_PARSE_OK ||
	    (c->p.l4_proto != IPPROTO_TCP && c->p.l4_proto != IPPROTO_UDP))
		return XDP_PASS;
	c->gen = act->gen & 1;
	c->epoch = act->switches;
#ifdef BG_LB_BENCH_NEWFLOW
	/* make bench only: every run is a flow never seen before (the
	 * rewrite changes the destination alone, from what the packet
	 * holds; the source is only the flow's key). */
	c->p.sport = (__be16)bpf_get_prandom_u32();
	c->p.saddr[0] ^= bpf_get_prandom_u32() & bpf_htonl(0xffff);
#endif
	return bg_lb_run(ctx);
}

char _license[] SEC("license") = "GPL";
