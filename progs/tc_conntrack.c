// SPDX-License-Identifier: GPL-2.0
/*
 * tc_conntrack: connection tracking at TC ingress and egress.
 *
 * Every IPv4/IPv6 TCP, UDP and ICMP echo flow gets one entry in bg_ct4 or
 * bg_ct6 (key in normal form, see bg_abi.h), with a TCP state machine,
 * per-direction counters and timeouts close to Linux's nf_conntrack. A
 * packet is tracked once: at ingress always, at egress only if it did not
 * come in through an interface bpfguard runs on (bg_ct_ifidx). ICMP errors
 * quoting a tracked flow are RELATED. The programs never decide anything:
 * they always return TC_ACT_UNSPEC.
 *
 * Expired entries are treated as absent and deleted by a sweep that a
 * bpf_timer runs every BG_CT_SWEEP_SEC seconds (armed by the first packet);
 * the tc/sweep program runs the same sweep on demand (tests, tools).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_ct.h"

#define BG_CT_SWEEP_SEC 5
#define BG_CT_SRC_MAX 65536
#define CLOCK_MONOTONIC 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_CT_STAT_MAX);
	BG_PINNED;
} bg_ct_stats SEC(".maps");

/* Live entries in both tables (exact, atomically updated). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_ct_live SEC(".maps");

/* Flows each source initiated and that are still live. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __be32);
	__type(value, __u64);
	__uint(max_entries, BG_CT_SRC_MAX);
	BG_PINNED;
} bg_ct_src4 SEC(".maps");

struct bg_ct_addr6 {
	__be32 a[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct_addr6);
	__type(value, __u64);
	__uint(max_entries, BG_CT_SRC_MAX);
	BG_PINNED;
} bg_ct_src6 SEC(".maps");

/* Interfaces bpfguard runs on (ifindex -> flags), filled by the scripts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_FW_IFACE_MAX);
	BG_PINNED;
} bg_ct_ifidx SEC(".maps");

struct bg_ct_timer_val {
	struct bpf_timer timer;
	__u64 armed; /* 1 once bpf_timer_init succeeded */
	__u64 runs; /* sweeps the timer ran */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_timer_val);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_ct_timer SEC(".maps");

static __always_inline void stat_inc(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&bg_ct_stats, &idx);

	if (v)
		*v += n;
}

static __always_inline void live_add(__s64 n)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&bg_ct_live, &zero);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline __u64 live_get(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&bg_ct_live, &zero);

	return v ? *v : 0;
}

/* Per-source counter of the initiator of key k (family fam). */
static __always_inline void src_add(__u8 fam, const void *key, __u8 eflags,
				    __s64 n)
{
	__u32 side = (eflags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;
	__u64 *v, one = 1;

	if (fam == BG_FAM_INET) {
		const struct bg_ct4_key *k = key;
		__be32 a = BG_IDX(k->addr, side);

		v = bpf_map_lookup_elem(&bg_ct_src4, &a);
		if (v)
			__sync_fetch_and_add(v, n);
		else if (n > 0)
			bpf_map_update_elem(&bg_ct_src4, &a, &one, BPF_NOEXIST);
	} else {
		const struct bg_ct6_key *k = key;
		struct bg_ct_addr6 a;

		__builtin_memcpy(a.a, side ? k->addr[1] : k->addr[0], 16);
		v = bpf_map_lookup_elem(&bg_ct_src6, &a);
		if (v)
			__sync_fetch_and_add(v, n);
		else if (n > 0)
			bpf_map_update_elem(&bg_ct_src6, &a, &one, BPF_NOEXIST);
	}
}

/* An entry leaves the live set (closed for good, or deleted). */
static __always_inline void uncount(__u8 fam, const void *key,
				    struct bg_ct_entry *e)
{
	if (e->flags & BG_CTF_COUNTED) {
		e->flags &= ~BG_CTF_COUNTED;
		src_add(fam, key, e->flags, -1);
	}
}

/* ----------------------------------------------------------- sweep */

struct bpf_map;

struct sweep_ctx {
	__u64 now;
	__u64 seen;
	__u32 timeout[BG_CTT_MAX];
	__u32 fam;
	__u32 pad;
};

static __always_inline long sweep_one(struct bpf_map *map, const void *key,
				      struct bg_ct_entry *e,
				      struct sweep_ctx *c)
{
	__u64 to = bg_ct_timeout_ns(c->timeout, e->proto, e->state, e->flags);

	if ((__s64)(c->now - e->last_ns) > (__s64)to) {
		if (e->flags & BG_CTF_COUNTED) {
			e->flags &= ~BG_CTF_COUNTED;
			src_add(c->fam, key, e->flags, -1);
		}
		if (!bpf_map_delete_elem(map, key)) {
			live_add(-1);
			stat_inc(BG_CT_STAT_EXPIRED, 1);
		}
		return 0;
	}
	c->seen++;
	return 0;
}

static long sweep4(struct bpf_map *map, const void *key, void *val, void *ctx)
{
	return sweep_one(map, key, val, ctx);
}

static long sweep6(struct bpf_map *map, const void *key, void *val, void *ctx)
{
	struct sweep_ctx *c = ctx;

	c->fam = BG_FAM_INET6;
	return sweep_one(map, key, val, ctx);
}

/*
 * Delete every expired entry of both tables, then reconcile the live
 * counter with what is really there: the difference is what the LRU
 * evicted behind our back.
 */
static __always_inline void sweep(void)
{
	struct sweep_ctx c = {};
	__u32 zero = 0, i;
	struct bg_ct_config *cfg = bpf_map_lookup_elem(&bg_ct_config, &zero);
	__u64 live, *lv;

	c.now = bg_ct_now(cfg);
	if (cfg) {
#pragma unroll
		for (i = 0; i < BG_CTT_MAX; i++)
			c.timeout[i] = cfg->timeout[i];
	}
	c.fam = BG_FAM_INET;
	bpf_for_each_map_elem(&bg_ct4, sweep4, &c, 0);
	bpf_for_each_map_elem(&bg_ct6, sweep6, &c, 0);
	stat_inc(BG_CT_STAT_SWEEPS, 1);

	lv = bpf_map_lookup_elem(&bg_ct_live, &zero);
	if (!lv)
		return;
	live = *lv;
	if (live > c.seen) {
		stat_inc(BG_CT_STAT_EVICTED, live - c.seen);
		__sync_fetch_and_add(lv, -(__s64)(live - c.seen));
	}
}

static int timer_cb(void *map, int *key, struct bg_ct_timer_val *t)
{
	sweep();
	t->runs++;
	bpf_timer_start(&t->timer, BG_CT_SWEEP_SEC * BG_CT_NS, 0);
	return 0;
}

static __always_inline void arm_timer(void)
{
	__u32 zero = 0;
	struct bg_ct_timer_val *t = bpf_map_lookup_elem(&bg_ct_timer, &zero);

	if (!t || t->armed)
		return;
	if (__sync_lock_test_and_set(&t->armed, 1))
		return;
	/* -EBUSY: another CPU initialised it first; start anyway. */
	bpf_timer_init(&t->timer, &bg_ct_timer, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&t->timer, timer_cb);
	bpf_timer_start(&t->timer, BG_CT_SWEEP_SEC * BG_CT_NS, 0);
}

/* ------------------------------------------------------------ TCP */

/* Window scale option of a SYN, BG_CT_WS_NONE when absent. */
static __always_inline __u8 tcp_wscale(struct __sk_buff *skb, __u32 off,
				       __u32 doff)
{
	__u8 opt[64];
	__u32 len = doff * 4, i = 0, n;

	if (len <= 20 || len > 60)
		return BG_CT_WS_NONE;
	len -= 20;
	bg_barrier_var(len);
	if (len < 4)
		return BG_CT_WS_NONE;
	/* Same value (a multiple of 4 in 4..40); a range the 6.1 verifier
	 * sees as non-zero. */
	len = ((len - 4) & 0x3c) + 4;
	if (bpf_skb_load_bytes(skb, off + 20, opt, len))
		return BG_CT_WS_NONE;
#pragma unroll
	for (n = 0; n < 20; n++) {
		__u8 kind, olen;

		if (i >= len || i >= 39)
			break;
		kind = opt[i & 0x3f];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		olen = opt[(i + 1) & 0x3f];
		if (kind == 3 && olen == 3 && i + 2 < len)
			return opt[(i + 2) & 0x3f] > 14 ? 14 :
							  opt[(i + 2) & 0x3f];
		if (olen < 2)
			break;
		i += olen;
	}
	return BG_CT_WS_NONE;
}

static __always_inline int tcp_seg(struct __sk_buff *skb, void *data,
				   void *data_end, const struct bg_pkt *p,
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
	plen = p->l3_len - (p->l4_off - p->l3_off);
	if (plen < hlen)
		return -1;
	s->flags = p->tcp_flags;
	s->seq = bpf_ntohl(th->seq);
	s->ack = bpf_ntohl(th->ack_seq);
	s->win = bpf_ntohs(th->window);
	s->end = s->seq + (plen - hlen) + !!(s->flags & BG_TCP_SYN) +
		 !!(s->flags & BG_TCP_FIN);
	s->wscale = BG_CT_WS_NONE;
	if (s->flags & BG_TCP_SYN)
		s->wscale = tcp_wscale(skb, off, th->doff);
	return 0;
}

/* ---------------------------------------------------------- main path */

static __always_inline int ct_insert(__u8 fam, union bg_ct_key *k,
				     struct bg_ct_entry *e)
{
	if (fam == BG_FAM_INET)
		return bpf_map_update_elem(&bg_ct4, &k->k4, e, BPF_NOEXIST);
	return bpf_map_update_elem(&bg_ct6, &k->k6, e, BPF_NOEXIST);
}

static __always_inline int ct_delete(__u8 fam, union bg_ct_key *k)
{
	if (fam == BG_FAM_INET)
		return bpf_map_delete_elem(&bg_ct4, &k->k4);
	return bpf_map_delete_elem(&bg_ct6, &k->k6);
}

/* Remove an entry that timed out or is being replaced. */
static __always_inline void ct_remove(__u8 fam, union bg_ct_key *k,
				      struct bg_ct_entry *e)
{
	uncount(fam, k, e);
	if (!ct_delete(fam, k))
		live_add(-1);
}

/* A local socket for the flow of an ingress packet? */
static __always_inline int local_sock(struct __sk_buff *skb,
				      const struct bg_pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;

	if (p->family == BG_FAM_INET) {
		t.ipv4.saddr = p->saddr[0];
		t.ipv4.daddr = p->daddr[0];
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		len = sizeof(t.ipv6);
	}
	if (p->l4_proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else if (p->l4_proto == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		return 0;
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

static __always_inline void count_class(int cls)
{
	switch (cls) {
	case BG_CT_NEW:
		stat_inc(BG_CT_STAT_NEW, 1);
		break;
	case BG_CT_ESTABLISHED:
		stat_inc(BG_CT_STAT_ESTABLISHED, 1);
		break;
	case BG_CT_RELATED:
		stat_inc(BG_CT_STAT_RELATED, 1);
		break;
	default:
		stat_inc(BG_CT_STAT_INVALID, 1);
	}
}

/* Track one packet; returns its class (enum bg_ct_class) or -1. */
static __always_inline int track(struct __sk_buff *skb, int egress)
{
	struct bg_pkt p = {};
	union bg_ct_key k = {};
	struct bg_ct_seg seg = {};
	struct bg_ct_entry *ep, e;
	struct bg_ct_config *cfg;
	void *data, *data_end;
	__u32 zero = 0, dir, side;
	__u64 now;
	int s, cls, ret;

	if (egress && skb->ingress_ifindex) {
		__u32 ifi = skb->ingress_ifindex;

		if (bpf_map_lookup_elem(&bg_ct_ifidx, &ifi)) {
			stat_inc(BG_CT_STAT_SKIPPED, 1);
			return -1;
		}
	}
	/* GSO and paged skbs: the headers and the IP length check need the
	 * bytes in the linear part. */
	if (skb->data_end - skb->data < skb->len)
		bpf_skb_pull_data(skb, skb->len);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;

	/*
	 * A VLAN tag the stack already took out (skb->vlan_tci at TC
	 * ingress) is simply not in the bytes: the VLAN is not part of the
	 * flow key, so both forms track the same. Passing the tag count to
	 * bg_parse would only tighten its depth limit (and its vlan_id store
	 * at a variable index trips the 6.1 verifier after clang's
	 * pointer-or optimisation).
	 */
	ret = bg_parse(data, data_end, &p, 0, 0);
	if (ret != BG_PARSE_OK && ret != BG_PARSE_ND) {
		stat_inc(BG_CT_STAT_UNTRACKED, 1);
		return -1;
	}
#ifdef BG_BENCH_NEWFLOW
	/* make bench only: every run is a flow never seen before. */
	p.sport = (__be16)bpf_get_prandom_u32();
	p.saddr[0] ^= bpf_get_prandom_u32() & bpf_htonl(0xffff);
#endif
	cfg = bpf_map_lookup_elem(&bg_ct_config, &zero);
	now = bg_ct_now(cfg);
	arm_timer();

	if ((p.flags & BG_PKT_L4) &&
	    (p.l4_proto == IPPROTO_ICMP || p.l4_proto == IPPROTO_ICMPV6) &&
	    bg_ct_icmp_error(p.l4_proto, p.icmp_type)) {
		s = bg_ct_icmp_err_key(data, data_end, &p, &k);
		if (s >= 0) {
			ep = bg_ct_lookup_live(p.family, &k, cfg, now);
			if (ep) {
				stat_inc(BG_CT_STAT_RELATED, 1);
				return BG_CT_RELATED;
			}
		}
		stat_inc(BG_CT_STAT_INVALID, 1);
		return BG_CT_INVALID;
	}

	s = bg_ct_pkt_key(&p, &k);
	if (s < 0) {
		stat_inc(BG_CT_STAT_UNTRACKED, 1);
		return -1;
	}
	side = s & 1;
	if (p.l4_proto == IPPROTO_TCP &&
	    tcp_seg(skb, data, data_end, &p, &seg) < 0) {
		stat_inc(BG_CT_STAT_UNTRACKED, 1);
		return -1;
	}

	ep = bg_ct_lookup(p.family, &k);
	if (ep) {
		e = *ep;
		if (bg_ct_expired(cfg, &e, now)) {
			stat_inc(BG_CT_STAT_EXPIRED, 1);
			ct_remove(p.family, &k, &e);
			ep = NULL;
		} else if (p.l4_proto == IPPROTO_TCP &&
			   (e.state == BG_CTS_TIME_WAIT ||
			    e.state == BG_CTS_CLOSE) &&
			   (seg.flags & 0x3f & ~BG_TCP_URG) == BG_TCP_SYN) {
			/* A new connection reusing the tuple. */
			ct_remove(p.family, &k, &e);
			ep = NULL;
		}
	}

	if (!ep) {
		__u64 limit;

		__builtin_memset(&e, 0, sizeof(e));
		e.proto = p.l4_proto;
		e.first_ns = now;
		e.flags = side ? BG_CTF_ORIGIN_SIDE1 : 0;
		if (egress)
			e.flags |= BG_CTF_EGRESS;
		e.td_wscale[0] = e.td_wscale[1] = BG_CT_WS_NONE;
		cls = BG_CT_NEW;
		if (p.l4_proto == IPPROTO_TCP) {
			__u8 f = seg.flags & 0x3f;

			if (!bg_ct_tcp_flags_valid(f))
				goto invalid;
			if ((f & ~BG_TCP_URG) == BG_TCP_SYN) {
				e.state = BG_CTS_SYN_SENT;
				bg_ct_td_init(&e, side, &seg);
			} else if (egress && (f & ~(BG_TCP_PSH | BG_TCP_URG)) ==
						     BG_TCP_ACK) {
				/* Loose pick-up of an existing session. */
				e.state = BG_CTS_ESTABLISHED;
				e.flags |= BG_CTF_MIDSTREAM;
				e.td_wscale[0] = e.td_wscale[1] = 0;
				bg_ct_td_init(&e, side, &seg);
				cls = BG_CT_ESTABLISHED;
			} else {
				/* Like Linux without nf_conntrack_tcp_loose
				 * on this path: not a connection start. */
				goto invalid;
			}
		} else if (p.l4_proto == IPPROTO_UDP) {
			e.state = BG_CTS_NEW;
		} else {
			if (!bg_ct_icmp_echo_request(p.l4_proto, p.icmp_type))
				goto invalid; /* echo reply without request */
			e.state = BG_CTS_NEW;
		}

		limit = cfg && cfg->limit_states ? cfg->limit_states :
						   2 * BG_CT_TABLE_MAX;
		if (live_get() >= limit) {
			stat_inc(BG_CT_STAT_OVER_LIMIT, 1);
			count_class(cls);
			return cls;
		}
		e.last_ns = now;
		e.packets[BG_CT_DIR_ORIG] = 1;
		e.bytes[BG_CT_DIR_ORIG] = skb->len;
		if (!egress) {
			void *meta = (void *)(long)skb->data_meta;

			if (meta + sizeof(struct bg_xdp_meta) <= data)
				e.rule_id =
					((struct bg_xdp_meta *)meta)->rule_id;
			if (local_sock(skb, &p))
				e.flags |= BG_CTF_LOCAL;
		} else if (skb->sk) {
			e.sock_cookie = bpf_get_socket_cookie(skb);
		}
		e.flags |= BG_CTF_COUNTED;
		if (ct_insert(p.family, &k, &e)) {
			/* Lost a race with another CPU: count as seen. */
			count_class(cls);
			return cls;
		}
		live_add(1);
		src_add(p.family, &k, e.flags, 1);
		stat_inc(BG_CT_STAT_CREATED, 1);
		if (e.flags & BG_CTF_MIDSTREAM)
			stat_inc(BG_CT_STAT_MIDSTREAM, 1);
		count_class(cls);
		return cls;
	}

	/* Existing entry: e holds a copy of *ep. */
	dir = (side == ((e.flags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0)) ?
		      BG_CT_DIR_ORIG :
		      BG_CT_DIR_REPLY;
	if (p.l4_proto == IPPROTO_TCP) {
		cls = bg_ct_tcp_step(&e, side, &seg);
		if (cls == BG_CT_INVALID)
			goto invalid;
	} else {
		if (p.l4_proto != IPPROTO_UDP &&
		    bg_ct_icmp_echo_request(p.l4_proto, p.icmp_type) !=
			    (dir == BG_CT_DIR_ORIG))
			goto invalid; /* requests one way, replies the other */
		if (dir == BG_CT_DIR_REPLY) {
			e.flags |= BG_CTF_SEEN_REPLY;
			e.state = BG_CTS_ESTABLISHED;
		} else if (e.flags & BG_CTF_SEEN_REPLY) {
			e.flags |= BG_CTF_ASSURED;
		}
		cls = (e.flags & BG_CTF_SEEN_REPLY) ? BG_CT_ESTABLISHED :
						      BG_CT_NEW;
	}
	if ((e.state == BG_CTS_TIME_WAIT || e.state == BG_CTS_CLOSE) &&
	    p.l4_proto == IPPROTO_TCP)
		uncount(p.family, &k, &e);

	/* last_ns first: a reader pairing the new state with the old
	 * timestamp could see a short timeout expire early. */
	ep->last_ns = now;
	ep->state = e.state;
	ep->flags = e.flags;
	ep->pad[0] = e.pad[0];
	ep->td_end[0] = e.td_end[0];
	ep->td_end[1] = e.td_end[1];
	ep->td_maxwin[0] = e.td_maxwin[0];
	ep->td_maxwin[1] = e.td_maxwin[1];
	ep->td_wscale[0] = e.td_wscale[0];
	ep->td_wscale[1] = e.td_wscale[1];
	if (dir == BG_CT_DIR_ORIG) {
		__sync_fetch_and_add(&ep->packets[0], 1);
		__sync_fetch_and_add(&ep->bytes[0], skb->len);
	} else {
		__sync_fetch_and_add(&ep->packets[1], 1);
		__sync_fetch_and_add(&ep->bytes[1], skb->len);
	}
	if (egress && !ep->sock_cookie && skb->sk)
		ep->sock_cookie = bpf_get_socket_cookie(skb);
	count_class(cls);
	return cls;

invalid:
	stat_inc(BG_CT_STAT_INVALID, 1);
	return BG_CT_INVALID;
}

SEC("tc/ingress")
int bg_ct_ingress(struct __sk_buff *skb)
{
	track(skb, 0);
	return TC_ACT_UNSPEC;
}

SEC("tc/egress")
int bg_ct_egress(struct __sk_buff *skb)
{
	track(skb, 1);
	return TC_ACT_UNSPEC;
}

/* Run the sweep now (tools and tests; the timer runs it periodically). */
SEC("tc/sweep")
int bg_ct_sweep(struct __sk_buff *skb)
{
	sweep();
	return TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
