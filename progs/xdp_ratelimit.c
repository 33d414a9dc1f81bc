// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_ratelimit: the rate limiter, slot BG_XDP_SLOT_RATELIMIT of the XDP
 * chain. The firewall tail-calls it with every packet it passes; it drops
 * what is over a rate, writes its result into the metadata (conntrack
 * keeps it with the flow) and hands the rest to the next slot.
 *
 * First the DDoS protections of the ruleset's "set" statements, each a
 * per-source token bucket (SYNs, ICMP, UDP from amplification ports, RST,
 * FIN and ACK segments of flows conntrack does not know, half-open
 * handshakes), then the "ratelimit" policies: the policy of the packet is
 * found by the longest prefix of its source and the first match on the
 * rest (headers/bg_rl_abi.h), and metered by the policy's algorithm
 * (headers/bg_rl.h).
 *
 * State is one hash entry per (policy, source), shared by all CPUs and
 * updated under its spin lock: a source's rate is its rate whatever the
 * number of CPUs its packets arrive on (per-CPU buckets would multiply
 * it). A bpf_timer deletes entries that have gone back to their initial
 * state, a bounded batch per tick.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_ct_table.h"
#include "bg_xdp_chain.h"
#include "bg_rl.h"
#include "bg_rl_maps.h"
#include "bg_log_maps.h"
#include "bg_syncookie.h"
#include "bg_scrub_maps.h"
#include "bg_scrub.h"

#ifndef E2BIG
#define E2BIG 7 /* the kernel's errno: a full map refuses an element */
#endif
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1 /* <time.h> is userspace's; the value is the ABI */
#endif

/* A SYN-RECV handshake is forgotten by the half-open count after this. */
#define BG_RL_HALF_OPEN_NS (30 * BG_RL_NS_SECOND)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_rl_key);
	__type(value, struct bg_rl_state);
	__uint(max_entries, BG_RL_STATE_MAX);
	BG_PINNED;
} bg_rl_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_state);
	__uint(max_entries, BG_GENS *BG_RL_POLICY_SLOTS);
	BG_PINNED;
} bg_rl_shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_state);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_rl_syn_all SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_pstat);
	__uint(max_entries, BG_GENS *BG_RL_POLICY_SLOTS);
	BG_PINNED;
} bg_rl_pstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_RL_STAT_MAX);
	BG_PINNED;
} bg_rl_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_sweep);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_rl_sweep SEC(".maps");

static __always_inline void bg_rl_stat_inc(__u32 idx)
{
	bg_stat_inc(&bg_rl_stats, idx);
}

/* What the stage knows of the packet while it judges it. */
struct bg_rl_ctx {
	struct bg_pkt p;
	__u64 now;
	__u32 gen;
	__u32 epoch;
	__u16 meta_flags; /* the firewall's BG_META_F_* (0: none) */
	__u16 verdict; /* enum bg_rl_verdict */
	__u32 cookie_hold; /* a SYN within a cookie hold (bg_rl_cookie_held) */
	__u32 pad;
};

/* Housekeeping --------------------------------------------------------- */

struct bg_rl_sweep_ctx {
	__u64 now;
	__u32 epoch;
	__u32 skip; /* entries the last tick already looked at */
	__u32 seen;
	__u32 looked;
	__u32 deleted;
	__u32 done; /* the batch is full: stop */
};

static long bg_rl_sweep_cb(void *map, struct bg_rl_key *k,
			   struct bg_rl_state *s, struct bg_rl_sweep_ctx *c)
{
	if (c->seen++ < c->skip)
		return 0;
	if (c->looked++ >= BG_RL_SWEEP_BATCH) {
		c->done = 1;
		return 1;
	}
	/* Unlocked read: a packet may be updating the entry. Deleting one
	 * that is back at its initial state loses nothing, and a packet
	 * racing with the delete is metered afresh, as a new source. */
	if (k->epoch != c->epoch ||
	    c->now >= bg_read_once(s->idle_ns) + BG_RL_SWEEP_GRACE_NS) {
		if (!bpf_map_delete_elem(map, k))
			c->deleted++;
	}
	return 0;
}

static __always_inline __u32 bg_rl_epoch(void)
{
	__u32 zero = 0;
	struct bg_fw_active *act = bpf_map_lookup_elem(&bg_fw_active, &zero);

	return act ? act->switches : 0;
}

/* One tick: the next BG_RL_SWEEP_BATCH entries from where the last one
 * stopped; the walk starts over once it has reached the end. */
static __always_inline void bg_rl_sweep_tick(struct bg_rl_sweep *t)
{
	struct bg_rl_sweep_ctx c = {};

	c.now = bg_ct_now();
	c.epoch = bg_rl_epoch();
	c.skip = t->cursor;
	bpf_for_each_map_elem(&bg_rl_state, bg_rl_sweep_cb, &c, 0);
	/* Deleted entries no longer count toward the skip. */
	t->cursor = c.done ? c.skip + c.looked - 1 - c.deleted : 0;
	t->last_tick_ns = c.now;
	bg_rl_stat_inc(BG_RL_STAT_SWEEP_TICKS);
	bg_stat_add(&bg_rl_stats, BG_RL_STAT_SWEEP_EXPIRED, c.deleted);
}

static int bg_rl_timer_cb(void *map, int *key, struct bg_rl_sweep *t)
{
	bg_rl_sweep_tick(t);
	bpf_timer_start(&t->timer, BG_RL_SWEEP_NS, 0);
	return 0;
}

static __always_inline void bg_rl_arm_timer(void)
{
	__u32 zero = 0;
	struct bg_rl_sweep *t = bpf_map_lookup_elem(&bg_rl_sweep, &zero);

	if (!t || t->armed)
		return;
	if (__sync_lock_test_and_set(&t->armed, 1))
		return;
	/* -EBUSY: another CPU initialised it first; start anyway. */
	bpf_timer_init(&t->timer, &bg_rl_sweep, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&t->timer, bg_rl_timer_cb);
	bpf_timer_start(&t->timer, BG_RL_SWEEP_NS, 0);
}

/* Metering -------------------------------------------------------------- */

/*
 * The state entry of key k, made when missing; NULL when the table is
 * full (the caller falls back to a shared bucket).
 */
static __always_inline struct bg_rl_state *
bg_rl_state_get(struct bg_rl_key *k, const struct bg_rl_meter *m, __u64 now)
{
	struct bg_rl_state *s = bpf_map_lookup_elem(&bg_rl_state, k);
	struct bg_rl_state init = {};

	if (s)
		return s;
	bg_rl_state_init(&init, m, now);
	init.epoch = k->epoch;
	/* Another CPU may have made it meanwhile (-EEXIST): take theirs.
	 * A full table (-E2BIG) is not looked at a third time: under a
	 * flood of new sources each walk is a cache miss. */
	if (bpf_map_update_elem(&bg_rl_state, k, &init, BPF_NOEXIST) == -E2BIG)
		return NULL;
	return bpf_map_lookup_elem(&bg_rl_state, k);
}

/* The shared bucket of a policy (bg_rl_shared, slot = gen *
 * BG_RL_POLICY_SLOTS + id) or of all SYNs (bg_rl_syn_all, slot 0),
 * started afresh when it is of an older ruleset. */
static __always_inline int bg_rl_shared_admit(__u32 slot,
					      const struct bg_rl_meter *m,
					      __u32 epoch, __u64 now, void *map)
{
	struct bg_rl_state *s = bpf_map_lookup_elem(map, &slot);
	int ok;

	if (!s)
		return 1;
	bpf_spin_lock(&s->lock);
	if (s->epoch != epoch || !s->stamp_ns) {
		bg_rl_state_init(s, m, now);
		s->epoch = epoch;
	}
	ok = bg_rl_meter_admit(s, m, now);
	bpf_spin_unlock(&s->lock);
	return ok;
}

/* Meter key k: 1 admitted, 0 over. A full table meters the source on the
 * shared bucket of slot instead. */
static __always_inline int bg_rl_admit(struct bg_rl_key *k,
				       const struct bg_rl_meter *m, __u32 slot,
				       __u64 now)
{
	struct bg_rl_state *s = bg_rl_state_get(k, m, now);
	int ok;

	if (!s) {
		bg_rl_stat_inc(BG_RL_STAT_STATE_FULL);
		return bg_rl_shared_admit(slot, m, k->epoch, now,
					  &bg_rl_shared);
	}
	bpf_spin_lock(&s->lock);
	ok = bg_rl_meter_admit(s, m, now);
	bpf_spin_unlock(&s->lock);
	return ok;
}

/* Copy the source address masked to plen bits (0..128) into k. */
static __always_inline void bg_rl_key_src(struct bg_rl_key *k,
					  const struct bg_pkt *p, __u32 plen)
{
	__u32 w;

	k->family = p->family;
	k->plen = plen;
#pragma unroll
	for (w = 0; w < 4; w++) {
		__u32 bits = plen > 32 * w ? plen - 32 * w : 0;
		__u32 mask = bits >= 32 ? ~0u : bits ? ~0u << (32 - bits) : 0;

		k->addr[w] = p->saddr[w] & bpf_htonl(mask);
	}
}

/* DDoS protections ------------------------------------------------------- */

#define BG_TCP_FIN 0x01
#define BG_TCP_SYN 0x02
#define BG_TCP_RST 0x04
#define BG_TCP_ACK 0x10

/*
 * A token bucket of rate packets a second (burst: one second's worth) for
 * protection kind, per source (an IPv4 address, an IPv6 /64: what one
 * subscriber holds); 1 admitted. On a full table a protection lets the
 * packet through (counted as state_full): a shared bucket there would put
 * every new source, and every kind, on one rate. With create 0 a source
 * without an entry is let through and gets none.
 */
static __always_inline int bg_rl_bucket(struct bg_rl_ctx *c, __u16 kind,
					__u32 rate, __be16 port, int create)
{
	struct bg_rl_meter m = {
		.rate = rate,
		.interval_ns = BG_RL_NS_SECOND,
		.burst = rate,
		.algo = BG_RL_ALGO_TOKEN_BUCKET,
	};
	struct bg_rl_key k = { .epoch = c->epoch, .kind = kind, .port = port };
	struct bg_rl_state *s;
	int ok;

	bg_rl_key_src(&k, &c->p, c->p.family == BG_FAM_INET ? 32 : 64);
	if (!create) {
		s = bpf_map_lookup_elem(&bg_rl_state, &k);
		if (!s)
			return 1;
	} else {
		s = bg_rl_state_get(&k, &m, c->now);
	}
	if (!s) {
		bg_rl_stat_inc(BG_RL_STAT_STATE_FULL);
		return 1;
	}
	bpf_spin_lock(&s->lock);
	ok = bg_rl_meter_admit(s, &m, c->now);
	bpf_spin_unlock(&s->lock);
	return ok;
}

static __always_inline int bg_rl_protect(struct bg_rl_ctx *c, __u16 kind,
					 __u32 rate, __be16 port)
{
	return bg_rl_bucket(c, kind, rate, port, 1);
}

/* A protection of rate (0: off) over the packet's source: the counter
 * that drops it, or 0. */
static __always_inline __u32 bg_rl_flood(struct bg_rl_ctx *c, __u16 kind,
					 __u32 rate, __u32 stat)
{
	return rate && !bg_rl_protect(c, kind, rate, 0) ? stat : 0;
}

static __always_inline int bg_rl_pure_syn(const struct bg_pkt *p)
{
	return (p->flags & BG_PKT_L4) && !(p->flags & BG_PKT_FRAG_LATER) &&
	       p->l4_proto == IPPROTO_TCP &&
	       (p->tcp_flags & (BG_TCP_SYN | BG_TCP_ACK | BG_TCP_RST |
				BG_TCP_FIN)) == BG_TCP_SYN;
}

/*
 * A global function, verified once on its own, called from the stage's
 * entry: inlined, the cookie's rewrite multiplied the paths of everything
 * before it past the verifier's budget, and called from deeper down, its
 * frame took the stack of the calls past 512 bytes. It may rewrite the
 * frame: the caller uses no packet pointer after.
 */
__noinline int bg_rl_cookie_answer(struct xdp_md *ctx, const struct bg_pkt *p)
{
	int ret, clamped = 0;
	__u16 max;

	if (!p)
		return BG_SYNCOOKIE_MALFORMED;
	/* scrub's max-mss: tc_scrub never sees a SYN answered here. */
	max = bg_scrub_syn_max(ctx->ingress_ifindex, p->family, p->saddr,
			       p->daddr);
	ret = bg_syncookie_answer(ctx, p, max, &clamped);
	if (ret == XDP_TX && clamped)
		bg_stat_inc(&bg_scrub_stats, BG_SCRUB_STAT_MSS_CLAMPED);
	return ret;
}

/*
 * SYN cookies ("set syn-flood ... cookies on"): once more SYNs arrive
 * from all sources together than syn_cookie_above a second (a flood,
 * spoofed sources included, which no per-source limit sees), a SYN to a
 * listening socket of this host is answered with a cookie SYN-ACK
 * (XDP_TX, bg_rl_cookie_answer()) and never reaches the listener's SYN
 * queue; the kernel takes the returning ACK through its own cookie check
 * (headers/bg_syncookie.h tells why, and what net.ipv4.tcp_syncookies
 * must be). 1: answer this SYN with a cookie.
 */
static __always_inline int bg_rl_wants_cookie(struct bg_rl_ctx *c,
					      const struct bg_rl_config *cfg)
{
	struct bg_rl_meter m = {
		.rate = cfg->syn_cookie_above,
		.interval_ns = BG_RL_NS_SECOND,
		.burst = cfg->syn_cookie_above,
		.algo = BG_RL_ALGO_TOKEN_BUCKET,
	};
	struct bg_rl_cookie_hold *hold;
	__u32 zero = 0;

	if (!cfg->syn_cookies || !cfg->syn_cookie_above ||
	    !bg_rl_pure_syn(&c->p))
		return 0;
	if (c->cookie_hold)
		return 1;
	hold = bpf_map_lookup_elem(&bg_rl_cookie_hold, &zero);
	if (!hold)
		return 0;
	if (bg_rl_shared_admit(zero, &m, c->epoch, c->now, &bg_rl_syn_all))
		return 0;
	bg_read_once(hold->epoch) = c->epoch;
	bg_read_once(hold->until_ns) = c->now + BG_RL_NS_SECOND;
	return 1;
}

/* A cookie SYN-ACK went out: the firewall checks cookie ACKs for a while
 * (bg_rl_cookies_recent). Written once a second at most: under a flood
 * every CPU would otherwise write the same cache line per packet. */
static __always_inline void bg_rl_cookie_sent(__u64 now)
{
	struct bg_rl_cookie_hold *hold;
	__u32 zero = 0;

	hold = bpf_map_lookup_elem(&bg_rl_cookie_hold, &zero);
	if (hold && now - bg_read_once(hold->sent_ns) > BG_RL_NS_SECOND)
		bg_read_once(hold->sent_ns) = now;
}

/*
 * 1 when the packet is a SYN within a cookie hold (headers/bg_rl_abi.h,
 * bg_rl_cookie_hold), read without a lock. A hold further ahead than a
 * second is from a clock that went back (the tests').
 */
static __always_inline int bg_rl_cookie_held(struct bg_rl_ctx *c,
					     const struct bg_rl_config *cfg)
{
	struct bg_rl_cookie_hold *hold;
	__u32 zero = 0;
	__u64 until;

	if (!cfg->syn_cookies || !cfg->syn_cookie_above ||
	    !bg_rl_pure_syn(&c->p))
		return 0;
	hold = bpf_map_lookup_elem(&bg_rl_cookie_hold, &zero);
	if (!hold)
		return 0;
	until = bg_read_once(hold->until_ns);
	return until > c->now && until - c->now <= BG_RL_NS_SECOND &&
	       bg_read_once(hold->epoch) == c->epoch;
}

/* IPv6 neighbour discovery (hop limit 255) and MLD (1), which no ICMP
 * limit may starve; from farther away they are ICMP like any other. */
static __always_inline int bg_rl_icmp6_link(const struct bg_pkt *p)
{
	__u8 type = p->icmp_type;

	if (type >= 133 && type <= 137)
		return p->ttl == 255;
	return (type >= 130 && type <= 132) || type == 143 ? p->ttl == 1 : 0;
}

/* ICMP errors (they quote a packet: path MTU discovery needs them whole). */
static __always_inline int bg_rl_icmp_error(const struct bg_pkt *p)
{
	if (p->family == BG_FAM_INET)
		return p->icmp_type == 3 || p->icmp_type == 11 ||
		       p->icmp_type == 12;
	return p->icmp_type >= 1 && p->icmp_type <= 4;
}

/*
 * The handshake this ACK completes, if it is one conntrack has in SYN
 * RECV: one half-open handshake of its source less.
 */
static __always_inline void bg_rl_half_open_done(struct bg_rl_ctx *c)
{
	struct bg_rl_key k = { .epoch = c->epoch, .kind = BG_RL_K_HALF_OPEN };
	struct bg_ct_entry *ep;
	union bg_ct_key ck;
	struct bg_rl_state *s;

	bg_rl_key_src(&k, &c->p, c->p.family == BG_FAM_INET ? 32 : 64);
	s = bpf_map_lookup_elem(&bg_rl_state, &k);
	if (!s || !bg_read_once(s->level))
		return;
	if (bg_ct_pkt_key(&c->p, &ck))
		return;
	ep = bg_ct_lookup(c->p.family, &ck);
	if (!ep || bg_read_once(ep->state) != BG_CTS_SYN_RECV)
		return;
	bpf_spin_lock(&s->lock);
	if (s->level)
		s->level--;
	bpf_spin_unlock(&s->lock);
}

/* A new handshake from the source: 1 when it is within its half-open
 * limit (and now counted), 0 over. */
static __always_inline int bg_rl_half_open_new(struct bg_rl_ctx *c, __u32 max)
{
	struct bg_rl_key k = { .epoch = c->epoch, .kind = BG_RL_K_HALF_OPEN };
	struct bg_rl_meter m = {};
	struct bg_rl_state *s;
	int ok = 0;

	bg_rl_key_src(&k, &c->p, c->p.family == BG_FAM_INET ? 32 : 64);
	s = bg_rl_state_get(&k, &m, c->now);
	if (!s) {
		bg_rl_stat_inc(BG_RL_STAT_STATE_FULL);
		return 1;
	}
	bpf_spin_lock(&s->lock);
	/* Handshakes neither completed nor retried for a while are gone
	 * from the server too (SYN-RECV timeout): forget them. */
	if (c->now >= s->idle_ns)
		s->level = 0;
	if (s->level < max) {
		s->level++;
		s->passed++;
		s->idle_ns = c->now + BG_RL_HALF_OPEN_NS;
		ok = 1;
	} else {
		s->over++;
	}
	bpf_spin_unlock(&s->lock);
	return ok;
}

/*
 * The protections of "set syn-flood|icmp-flood|udp-amplification|
 * tcp-flood": returns the counter of the protection that drops the
 * packet, or 0 when none does.
 */
static __always_inline __u32 bg_rl_protections(struct bg_rl_ctx *c,
					       const struct bg_rl_config *cfg)
{
	struct bg_pkt *p = &c->p;
	__u8 f = p->tcp_flags;

	if (!(p->flags & BG_PKT_L4) || (p->flags & BG_PKT_FRAG_LATER))
		return 0;

	if (p->l4_proto == IPPROTO_TCP) {
		/* Segments of flows conntrack knows are not a flood of
		 * this kind: the firewall passed them as established. */
		int known = c->meta_flags & BG_META_F_CT;

		if ((f & (BG_TCP_SYN | BG_TCP_ACK)) == BG_TCP_SYN) {
			/* In a cookie hold (a flood: its sources are likely
			 * forged), a source without an entry gets none: a
			 * spoofed flood would fill the table with sources
			 * that send once, and every walk of it is a cache
			 * miss. Sources that have one are still held to the
			 * rate. */
			if (cfg->syn_rate &&
			    !bg_rl_bucket(c, BG_RL_K_SYN, cfg->syn_rate, 0,
					  !c->cookie_hold))
				return BG_RL_STAT_SYN_FLOOD;
			/* Nor is a SYN in the hold half-open: answered
			 * with a cookie, it holds nothing in the kernel,
			 * and its ACK never completes a SYN-RECV. */
			if (cfg->tcp_half_open && !known && !c->cookie_hold &&
			    !bg_rl_half_open_new(c, cfg->tcp_half_open))
				return BG_RL_STAT_HALF_OPEN;
			return 0;
		}
		if (known) {
			if (cfg->tcp_half_open &&
			    (f & (BG_TCP_SYN | BG_TCP_ACK | BG_TCP_RST |
				  BG_TCP_FIN)) == BG_TCP_ACK)
				bg_rl_half_open_done(c);
			return 0;
		}
		if (f & BG_TCP_RST)
			return bg_rl_flood(c, BG_RL_K_RST, cfg->tcp_rst_rate,
					   BG_RL_STAT_RST_FLOOD);
		if (f & BG_TCP_FIN)
			return bg_rl_flood(c, BG_RL_K_FIN, cfg->tcp_fin_rate,
					   BG_RL_STAT_FIN_FLOOD);
		if (f & BG_TCP_ACK)
			return bg_rl_flood(c, BG_RL_K_ACK, cfg->tcp_ack_rate,
					   BG_RL_STAT_ACK_FLOOD);
		return 0;
	}

	/* Answers to this host's own queries and flows passed as
	 * established are not reflections, and the replies of known flows
	 * not a flood: UDP and ICMP limits meter the rest. */
	if (c->meta_flags & BG_META_F_CT)
		return 0;

	if (p->l4_proto == IPPROTO_UDP) {
		__u32 port = bpf_ntohs(p->sport);
		__u32 idx = c->gen * BG_RL_PORT_WORDS + (port >> 6);
		__u64 *w;

		if (!cfg->udp_amp_rate)
			return 0;
		w = bpf_map_lookup_elem(&bg_rl_amp_ports, &idx);
		if (!w || !(*w & (1ull << (port & 63))))
			return 0;
		return bg_rl_protect(c, BG_RL_K_UDP_AMP, cfg->udp_amp_rate,
				     p->sport) ?
			       0 :
			       BG_RL_STAT_UDP_AMP;
	}

	if ((p->l4_proto == IPPROTO_ICMP && p->family == BG_FAM_INET) ||
	    (p->l4_proto == IPPROTO_ICMPV6 && p->family == BG_FAM_INET6 &&
	     !bg_rl_icmp6_link(p))) {
		/* The ICMP payload: after the 8 bytes of ICMP header. */
		__u32 hdrs = p->l4_off - p->l3_off + 8;
		__u32 payload = p->l3_len > hdrs ? p->l3_len - hdrs : 0;

		if (cfg->icmp_max_payload && payload > cfg->icmp_max_payload &&
		    !bg_rl_icmp_error(p))
			return BG_RL_STAT_ICMP_SIZE;
		if (cfg->icmp_rate &&
		    !bg_rl_protect(c, BG_RL_K_ICMP, cfg->icmp_rate, 0))
			return BG_RL_STAT_ICMP_FLOOD;
	}
	return 0;
}

/* Policies --------------------------------------------------------------- */

/* Whether the first plen bits of a and net are equal (net is masked). */
static __always_inline int bg_rl_prefix_eq(const __be32 *a, const __be32 *net,
					   __u32 plen)
{
	__u32 w;

#pragma unroll
	for (w = 0; w < 4; w++) {
		__u32 bits = plen > 32 * w ? plen - 32 * w : 0;
		__u32 mask = bits >= 32 ? ~0u : bits ? ~0u << (32 - bits) : 0;

		if ((a[w] ^ net[w]) & bpf_htonl(mask))
			return 0;
	}
	return 1;
}

/* The rest of a policy, after its source: interface, protocol,
 * destination and port. */
static __always_inline int bg_rl_policy_fits(struct xdp_md *ctx,
					     const struct bg_pkt *p,
					     const struct bg_rl_policy *pol)
{
	if (pol->ifindex && pol->ifindex != ctx->ingress_ifindex)
		return 0;
	if (pol->proto && pol->proto != p->l4_proto)
		return 0;
	if ((pol->flags & BG_RL_PF_DST) &&
	    (pol->family != p->family ||
	     !bg_rl_prefix_eq(p->daddr, pol->dst, pol->dst_plen)))
		return 0;
	if (pol->flags & BG_RL_PF_PORTS) {
		__u16 port = bpf_ntohs(p->dport);

		if (!(p->flags & BG_PKT_L4) || (p->flags & BG_PKT_FRAG_LATER) ||
		    (p->l4_proto != IPPROTO_TCP && p->l4_proto != IPPROTO_UDP))
			return 0;
		if (port < pol->dport_lo || port > pol->dport_hi)
			return 0;
	}
	return 1;
}

/* The policy of the packet: the candidates of its longest source prefix,
 * first fit. NULL: none. */
static __always_inline const struct bg_rl_policy *
bg_rl_policy_of(struct xdp_md *ctx, const struct bg_rl_ctx *c)
{
	const struct bg_pkt *p = &c->p;
	const struct bg_rl_clist *cl;
	__u32 *li, idx, i;

	if (p->family == BG_FAM_INET) {
		struct bg_lpm4_key k = { .prefixlen = BG_LPM_GEN_BITS + 32,
					 .gen = c->gen };

		__builtin_memcpy(k.addr, p->saddr, 4);
		li = bpf_map_lookup_elem(&bg_rl_src4, &k);
	} else {
		struct bg_lpm6_key k = { .prefixlen = BG_LPM_GEN_BITS + 128,
					 .gen = c->gen };

		__builtin_memcpy(k.addr, p->saddr, 16);
		li = bpf_map_lookup_elem(&bg_rl_src6, &k);
	}
	/* Its generation's part of bg_rl_clist only. */
	if (!li || *li / BG_RL_CLISTS_PER_GEN != c->gen)
		return NULL;
	idx = *li;
	cl = bpf_map_lookup_elem(&bg_rl_clist, &idx);
	if (!cl)
		return NULL;
	for (i = 0; i < BG_RL_CAND_MAX; i++) {
		const struct bg_rl_policy *pol;
		__u32 id, slot;

		if (i >= cl->n)
			break;
		id = cl->pol[i];
		if (!id || id > BG_RL_MAX_POLICIES)
			continue;
		slot = c->gen * BG_RL_POLICY_SLOTS + id;
		pol = bpf_map_lookup_elem(&bg_rl_policy, &slot);
		if (pol && pol->id == id && bg_rl_policy_fits(ctx, p, pol))
			return pol;
	}
	return NULL;
}

static __always_inline void bg_rl_log(struct xdp_md *ctx,
				      const struct bg_pkt *p, __u32 id)
{
	struct bg_fw_log_event *e;

	e = bpf_ringbuf_reserve(&bg_fw_log, sizeof(*e), 0);
	if (!e) {
		bg_rl_stat_inc(BG_RL_STAT_LOG_LOST);
		return;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->rule_id = id;
	e->ifindex = ctx->ingress_ifindex;
	e->action = BG_ACT_PASS;
	e->family = p->family;
	e->l4_proto = p->l4_proto;
	e->origin = BG_LOG_RATELIMIT;
	e->sport = (p->flags & BG_PKT_L4) ? p->sport : 0;
	e->dport = (p->flags & BG_PKT_L4) ? p->dport : 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->pkt_len = ctx->data_end - ctx->data;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, 0);
}

/* The packet under its policy: 1 passes, 0 drop. */
static __always_inline int bg_rl_police(struct xdp_md *ctx, struct bg_rl_ctx *c,
					const struct bg_rl_policy *pol)
{
	__u32 slot = c->gen * BG_RL_POLICY_SLOTS + pol->id;
	struct bg_rl_meter m = {
		.rate = pol->rate,
		.interval_ns = pol->interval_ns,
		.burst = pol->burst,
		.algo = pol->algo,
	};
	struct bg_rl_pstat *ps;
	int ok;

	if (pol->flags & BG_RL_PF_PER_SOURCE) {
		struct bg_rl_key k = { .epoch = c->epoch, .kind = pol->id };
		__u32 plen = pol->src_plen;

		/* A policy of both families keeps each source whole. */
		if (!plen || plen > (c->p.family == BG_FAM_INET ? 32 : 128))
			plen = c->p.family == BG_FAM_INET ? 32 : 128;
		bg_rl_key_src(&k, &c->p, plen);
		ok = bg_rl_admit(&k, &m, slot, c->now);
	} else {
		ok = bg_rl_shared_admit(slot, &m, c->epoch, c->now,
					&bg_rl_shared);
	}

	ps = bpf_map_lookup_elem(&bg_rl_pstats, &slot);
	if (ps) {
		ps->packets++;
		if (!ok)
			ps->over++;
	}
	if (ok) {
		bg_rl_stat_inc(BG_RL_STAT_PASS);
		c->verdict = BG_RL_V_PASS;
		return 1;
	}
	if (pol->action == BG_RL_ACT_LOG) {
		bg_rl_stat_inc(BG_RL_STAT_LOG);
		bg_rl_log(ctx, &c->p, pol->id);
		c->verdict = BG_RL_V_OVER_LOGGED;
		return 1;
	}
	bg_rl_stat_inc(BG_RL_STAT_DROP);
	return 0;
}

/*
 * The stage's two halves are global functions, each verified once on its
 * own: inlined into one program, their paths multiplied past the
 * verifier's budget. Each gets the stage's context c (a pointer the
 * verifier allows to be NULL) and returns what the stage does next.
 */

/* Verdicts of the halves: go on, drop, or the frame was rewritten into
 * a cookie SYN-ACK to send back. */
enum bg_rl_next {
	BG_RL_NEXT = 0,
	BG_RL_DROP = 1,
	BG_RL_COOKIE = 2, /* answer the SYN with a cookie */
};

/* The DDoS protections, and whether a SYN gets a cookie. */
__noinline int bg_rl_protect_all(struct bg_rl_ctx *c)
{
	const struct bg_rl_config *cfg;
	__u32 why, gen;

	if (!c)
		return BG_RL_NEXT;
	gen = c->gen & 1;
	cfg = bpf_map_lookup_elem(&bg_rl_config, &gen);
	if (!cfg)
		return BG_RL_NEXT;
	c->cookie_hold = bg_rl_cookie_held(c, cfg);
	why = bg_rl_protections(c, cfg);
	if (why) {
		bg_rl_stat_inc(why);
		return BG_RL_DROP;
	}
	return bg_rl_wants_cookie(c, cfg) ? BG_RL_COOKIE : BG_RL_NEXT;
}

/* The policy of the packet, if any, and its meter: c->verdict says. */
__noinline int bg_rl_policies(struct xdp_md *ctx, struct bg_rl_ctx *c)
{
	const struct bg_rl_policy *pol;
	const struct bg_rl_config *cfg;
	__u32 gen;

	if (!c)
		return BG_RL_NEXT;
	c->verdict = BG_RL_V_NO_POLICY;
	gen = c->gen & 1;
	cfg = bpf_map_lookup_elem(&bg_rl_config, &gen);
	if (!cfg || !cfg->npolicies)
		return BG_RL_NEXT;
	pol = bg_rl_policy_of(ctx, c);
	if (!pol)
		return BG_RL_NEXT;
	return bg_rl_police(ctx, c, pol) ? BG_RL_NEXT : BG_RL_DROP;
}

SEC("xdp")
int bg_rl_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_fw_active *act;
	struct bg_xdp_meta *meta;
	struct bg_rl_ctx c = {};
	__u32 zero = 0;
	int ret;

	bg_rl_stat_inc(BG_RL_STAT_SEEN);
	c.verdict = BG_RL_V_NO_POLICY;
	/* As the firewall: generic XDP may see a BIG TCP GRO packet. */
	ret = bg_parse(data, data_end, data_end - data, &c.p, 0, 0,
		       BG_PARSE_F_GSO);
	if (ret == BG_PARSE_MALFORMED) {
		bg_rl_stat_inc(BG_RL_STAT_MALFORMED);
		return XDP_DROP;
	}
	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	if (ret != BG_PARSE_OK || !act)
		goto next;
	c.gen = act->gen & 1;
	c.epoch = act->switches;
	bg_rl_arm_timer();
	c.now = bg_ct_now();
	meta = bg_xdp_meta(ctx);
	if (meta)
		c.meta_flags = meta->flags;

	ret = bg_rl_protect_all(&c);
	if (ret == BG_RL_DROP)
		return XDP_DROP;
	if (ret == BG_RL_COOKIE) {
		if (bg_rl_cookie_answer(ctx, &c.p) == XDP_TX) {
			bg_rl_stat_inc(BG_RL_STAT_COOKIE_SENT);
			bg_rl_cookie_sent(c.now);
			return XDP_TX;
		}
		/* No listener, the sysctl, ...: the stack has it. */
		bg_rl_stat_inc(BG_RL_STAT_COOKIE_FAIL);
	}
	if (bg_rl_policies(ctx, &c) == BG_RL_DROP)
		return XDP_DROP;
next:
	if (c.verdict == BG_RL_V_NO_POLICY)
		bg_rl_stat_inc(BG_RL_STAT_NO_POLICY);
	bg_xdp_status_set(ctx, BG_XDP_ST_RL_MASK, BG_XDP_ST_RL_SHIFT,
			  c.verdict);
	return bg_xdp_next(ctx, BG_XDP_SLOT_RATELIMIT + 1);
}

/*
 * One sweep tick now (tools and tests: BPF_PROG_TEST_RUN of any frame;
 * nothing attaches this program). Returns the entries it deleted. Its
 * section is "xdp.frags", a name libbpf 1.1 and bpftool know as XDP:
 * iproute2 picks a program by its section, and "xdp" is the stage's
 * alone (and one "tc/..." section would make check-kernels load the
 * whole object as TC).
 */
SEC("xdp.frags")
int bg_rl_sweep_now(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct bg_rl_sweep *t = bpf_map_lookup_elem(&bg_rl_sweep, &zero);
	__u64 before, *n;

	if (!t)
		return 0;
	n = bpf_map_lookup_elem(&bg_rl_stats,
				&(__u32){ BG_RL_STAT_SWEEP_EXPIRED });
	before = n ? *n : 0;
	bg_rl_sweep_tick(t);
	return n ? *n - before : 0;
}

char _license[] SEC("license") = "GPL";
