// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_firewall: stateless classification of every received packet against
 * the ruleset compiled by fwmapgen.
 *
 * Classification never walks the rules. Each field of the packet (source
 * and destination address, ingress interface, protocol, source and
 * destination port) is looked up once, when some rule uses it, and
 * yields a vector of the rules that accept that value; the AND of the
 * vectors holds every matching rule and its lowest set bit is the first
 * match in file order (Linear Bit Vector Search, as in bpf-iptables). The
 * cost grows with the number of 64-rule words, not with the number of
 * rules or table entries.
 *
 * It is the one XDP program of an interface. A packet it passes carries
 * the verdict in front of it (struct bg_xdp_meta: the rule, how it passed,
 * and room for the later stages' results) for TC, and goes on through the
 * XDP chain: the rate limiter's slot, then the load balancer's
 * (bg_xdp_chain.h); empty slots cost one failed tail call each.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_ct.h"
#include "bg_common_maps.h"
#include "bg_ct_table.h"
#include "bg_xdp_chain.h"
#include "bg_fw_limit_maps.h"
#include "bg_fw_maps.h"
#include "bg_fw_route.h"
#include "bg_frag.h"
#include "bg_rl_maps.h"
#include "bg_scrub_maps.h"
#include "bg_log_maps.h"
#include "bg_syncookie.h"
#include "bg_lb.h"

#define BG_LPM_MAP(_name, _key)                       \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);  \
		__type(key, struct _key);             \
		__type(value, __u32);                 \
		__uint(max_entries, BG_FW_LPM_MAX);   \
		__uint(map_flags, BPF_F_NO_PREALLOC); \
		BG_PINNED;                            \
	} _name SEC(".maps")

BG_LPM_MAP(bg_fw_src4, bg_lpm4_key);
BG_LPM_MAP(bg_fw_dst4, bg_lpm4_key);
BG_LPM_MAP(bg_fw_src6, bg_lpm6_key);
BG_LPM_MAP(bg_fw_dst6, bg_lpm6_key);

#define BG_PORT_MAP(_name)                               \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);     \
		__type(key, struct bg_lpm_port_key);     \
		__type(value, __u32);                    \
		__uint(max_entries, BG_FW_PORT_LPM_MAX); \
		__uint(map_flags, BPF_F_NO_PREALLOC);    \
		BG_PINNED;                               \
	} _name SEC(".maps")

BG_PORT_MAP(bg_fw_sport);
BG_PORT_MAP(bg_fw_dport);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_GENS *BG_FAM_MAX *BG_FW_PROTOS);
	BG_PINNED;
} bg_fw_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_vec);
	__uint(max_entries, BG_GENS *BG_FW_VEC_PER_GEN);
	BG_PINNED;
} bg_fw_vec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_iface_key);
	__type(value, struct bg_fw_iface_val);
	__uint(max_entries, BG_FW_IFACE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_iface SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_vlan_key);
	__type(value, struct bg_fw_fam_vecs);
	__uint(max_entries, BG_GENS * 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_vlan SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_mac_key);
	__type(value, struct bg_fw_fam_vecs);
	__uint(max_entries, BG_GENS *BG_FW_MAX_IDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_mac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_GENS *BG_FAM_MAX *BG_FW_BYTE_SLOTS);
	BG_PINNED;
} bg_fw_tcpflags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_GENS *BG_FAM_MAX * 2 * BG_FW_BYTE_SLOTS);
	BG_PINNED;
} bg_fw_icmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_GENS *BG_FAM_MAX *BG_FW_DSCP_SLOTS);
	BG_PINNED;
} bg_fw_dscp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_rule);
	__uint(max_entries, BG_GENS *BG_FAM_MAX *BG_FW_MAX_RULES);
	BG_PINNED;
} bg_fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_rinfo_key);
	__type(value, struct bg_fw_rinfo);
	__uint(max_entries, BG_GENS *BG_FW_MAX_IDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_rinfo SEC(".maps");

/*
 * Every rule's text, and the default policy's (id 0), for status.sh: the
 * program never reads it, it declares it so that loading it makes the pin.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_rinfo_key);
	__type(value, struct bg_fw_rtext);
	__uint(max_entries, BG_GENS *(BG_FW_MAX_IDS + 1));
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_rtext SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_gen);
	__uint(max_entries, BG_GENS);
	BG_PINNED;
} bg_fw_gens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_hit);
	__uint(max_entries, BG_GENS *BG_FW_HITS_PER_GEN);
	BG_PINNED;
} bg_fw_hits SEC(".maps");

#define bg_fw_stat_inc(stat) bg_stat_inc(&bg_fw_stats, stat)

struct bg_fw_verdict {
	__u32 rule_id;
	__u8 action;
	__u8 flags;
};

/* Vector id of the packet's source and destination address. */
static __always_inline int bg_fw_addr_vectors(struct bg_pkt *p, __u32 gen,
					      __u32 *src, __u32 *dst)
{
	__u32 *sv, *dv;

	if (p->family == BG_FAM_INET) {
		struct bg_lpm4_key k = { .prefixlen = BG_LPM_GEN_BITS + 32,
					 .gen = gen };

		__builtin_memcpy(k.addr, &p->saddr[0], 4);
		sv = bpf_map_lookup_elem(&bg_fw_src4, &k);
		__builtin_memcpy(k.addr, &p->daddr[0], 4);
		dv = bpf_map_lookup_elem(&bg_fw_dst4, &k);
	} else {
		struct bg_lpm6_key k = { .prefixlen = BG_LPM_GEN_BITS + 128,
					 .gen = gen };

		__builtin_memcpy(k.addr, p->saddr, 16);
		sv = bpf_map_lookup_elem(&bg_fw_src6, &k);
		__builtin_memcpy(k.addr, p->daddr, 16);
		dv = bpf_map_lookup_elem(&bg_fw_dst6, &k);
	}
	/* fwmapgen always stores /0: a miss means a torn or foreign map. */
	if (!sv || !dv)
		return -1;
	*src = *sv;
	*dst = *dv;
	return 0;
}

static __always_inline struct bg_fw_vec *bg_fw_vec_of(__u32 gen, __u32 id)
{
	__u32 idx = (gen & 1) * BG_FW_VEC_PER_GEN + id;

	if (id >= BG_FW_VEC_PER_GEN)
		return NULL;
	return bpf_map_lookup_elem(&bg_fw_vec, &idx);
}

static __always_inline int bg_fw_port_vec(void *map, __u32 gen, __u32 fam,
					  __be16 port, __u32 *id)
{
	struct bg_lpm_port_key k = { .prefixlen = 64 + 16,
				     .gen = gen,
				     .family = fam };
	__u32 *v;

	__builtin_memcpy(k.port, &port, 2);
	v = bpf_map_lookup_elem(map, &k);
	if (!v)
		return -1;
	*id = *v;
	return 0;
}

/* Vector ids of the protocol and port fields (when the ruleset uses them). */
static __always_inline int bg_fw_l4_vectors(struct bg_pkt *p, __u32 gen,
					    struct bg_fw_gen *g, __u32 fam,
					    struct bg_fw_vec **pv,
					    struct bg_fw_vec **spv,
					    struct bg_fw_vec **dpv)
{
	__u32 sid, did;

	if (g->uses_proto) {
		__u32 idx =
			(gen * BG_FAM_MAX + fam) * BG_FW_PROTOS + p->l4_proto;
		__u32 *id = bpf_map_lookup_elem(&bg_fw_proto, &idx);

		if (!id)
			return -1;
		*pv = bg_fw_vec_of(gen, *id);
		if (!*pv)
			return -1;
	}
	if (!g->uses_ports)
		return 0;
	/* Only TCP and UDP headers in hand have ports; everything else
	 * (ICMP, non-first fragments) matches just the rules naming none. */
	if ((p->flags & BG_PKT_L4) &&
	    (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP)) {
		if (bg_fw_port_vec(&bg_fw_sport, gen, fam, p->sport, &sid) ||
		    bg_fw_port_vec(&bg_fw_dport, gen, fam, p->dport, &did))
			return -1;
	} else {
		sid = g->noport[fam];
		did = sid;
	}
	*spv = bg_fw_vec_of(gen, sid);
	*dpv = bg_fw_vec_of(gen, did);
	if (!*spv || !*dpv)
		return -1;
	return 0;
}

/* Vector of a small field: one array slot per value (bg_fw_abi.h). */
static __always_inline struct bg_fw_vec *bg_fw_slot_vec(void *map, __u32 gen,
							__u32 idx)
{
	__u32 *id = bpf_map_lookup_elem(map, &idx);

	return id ? bg_fw_vec_of(gen, *id) : NULL;
}

/* Vector of a value that rules name in a hash, or of the other values. */
static __always_inline struct bg_fw_vec *
bg_fw_named_vec(struct bg_fw_fam_vecs *named, __u32 other, __u32 gen, __u32 fam)
{
	return bg_fw_vec_of(gen, named ? named->vec[fam] : other);
}

static __always_inline struct bg_fw_vec *bg_fw_mac_vec(struct bg_fw_gen *g,
						       __u32 gen, __u32 fam,
						       __u8 dir,
						       const __u8 *addr)
{
	struct bg_fw_mac_key k = { .gen = gen, .dir = dir };

	__builtin_memcpy(k.addr, addr, 6);
	return bg_fw_named_vec(bpf_map_lookup_elem(&bg_fw_mac, &k),
			       g->mac_other[dir & 1][fam], gen, fam);
}

/*
 * Vectors of the link and header fields: VLAN, MAC addresses, TCP flags,
 * ICMP type and code, DSCP. A field no rule uses keeps *v as it is (the
 * caller's stand-in vector).
 */
struct bg_fw_xvecs {
	struct bg_fw_vec *vlan, *msrc, *mdst, *flags, *itype, *icode, *dscp;
};

static __always_inline int bg_fw_x_vectors(void *data, void *data_end,
					   struct bg_pkt *p, __u32 gen,
					   struct bg_fw_gen *g, __u32 fam,
					   struct bg_fw_xvecs *x)
{
	__u32 base = gen * BG_FAM_MAX + fam;

	if (g->uses_vlan) {
		/* The innermost tag: the one the stack would give us. A tag
		 * the NIC took out of the frame is not seen here (README,
		 * "VLANs and XDP"). */
		struct bg_fw_vlan_key k = { .gen = gen, .vid = 0xffff };

		/* A VID 0 tag is a priority tag (802.1p), no VLAN: the stack
		 * strips it and delivers the frame to the VLAN outside it,
		 * so that is the frame's VLAN here too. */
		if (p->vlan_depth >= 1 && p->vlan_id[0])
			k.vid = p->vlan_id[0];
		if (p->vlan_depth == 2 && p->vlan_id[1])
			k.vid = p->vlan_id[1];
		x->vlan = bg_fw_named_vec(bpf_map_lookup_elem(&bg_fw_vlan, &k),
					  g->vlan_other[fam], gen, fam);
		if (!x->vlan)
			return -1;
	}
	if (g->uses_mac) {
		__u8 *eth = data;

		if ((void *)(eth + 12) > data_end)
			return -1;
		if (g->uses_mac & (1 << BG_FW_MAC_SRC)) {
			x->msrc = bg_fw_mac_vec(g, gen, fam, BG_FW_MAC_SRC,
						eth + 6);
			if (!x->msrc)
				return -1;
		}
		if (g->uses_mac & (1 << BG_FW_MAC_DST)) {
			x->mdst =
				bg_fw_mac_vec(g, gen, fam, BG_FW_MAC_DST, eth);
			if (!x->mdst)
				return -1;
		}
	}
	if (g->uses_flags) {
		__u32 v = BG_FW_SLOT_NONE;

		if ((p->flags & BG_PKT_L4) && p->l4_proto == IPPROTO_TCP)
			v = p->tcp_flags;
		x->flags = bg_fw_slot_vec(&bg_fw_tcpflags, gen,
					  base * BG_FW_BYTE_SLOTS + v);
		if (!x->flags)
			return -1;
	}
	if (g->uses_icmp) {
		__u32 t = BG_FW_SLOT_NONE, c = BG_FW_SLOT_NONE;

		if ((p->flags & BG_PKT_L4) && (p->l4_proto == IPPROTO_ICMP ||
					       p->l4_proto == IPPROTO_ICMPV6)) {
			t = p->icmp_type;
			c = p->icmp_code;
		}
		x->itype = bg_fw_slot_vec(&bg_fw_icmp, gen,
					  base * 2 * BG_FW_BYTE_SLOTS + t);
		x->icode =
			bg_fw_slot_vec(&bg_fw_icmp, gen,
				       (base * 2 + 1) * BG_FW_BYTE_SLOTS + c);
		if (!x->itype || !x->icode)
			return -1;
	}
	if (g->uses_dscp) {
		x->dscp =
			bg_fw_slot_vec(&bg_fw_dscp, gen,
				       base * BG_FW_DSCP_SLOTS + (p->tos >> 2));
		if (!x->dscp)
			return -1;
	}
	return 0;
}

/* What phase 0 and the classifier tell, for the program's frame. */
struct bg_fw_judged {
	__u32 gen; /* the ruleset's generation (in) */
	__u32 ct_class; /* phase 0: the packet's connection class */
	__u32 ct_rule; /* phase 0, ct_pass: the rule that opened the flow */
	__u8 ct_pass; /* established or related: skips the rules */
	__u8 ct_refused; /* a connection a source limit refused */
	__u8 cookie_ack; /* the ACK of a SYN cookie handshake, checked */
	__u8 lb_pass; /* ct_pass: a flow of the load balancer's */
	struct bg_fw_verdict v; /* the classifier's */
};

/*
 * First matching rule of the active generation, or the default policy
 * (rule id 0) when none matches.
 */
static __always_inline void bg_fw_classify(struct xdp_md *ctx, struct bg_pkt *p,
					   struct bg_fw_gen *g,
					   struct bg_fw_judged *j)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_fw_verdict *v = &j->v;
	__u32 gen = j->gen & 1, ct_class = j->ct_class;
	struct bg_fw_vec *sv, *dv, *iv, *pv, *spv, *dpv, *stv;
	struct bg_fw_xvecs x;
	__u32 fam = p->family & 1;
	__u32 src_id, dst_id, i;
	__u64 sum;

	v->rule_id = 0;
	v->action = g->default_action;
	v->flags = 0;

	if (bg_fw_addr_vectors(p, gen, &src_id, &dst_id))
		return;
	sv = bg_fw_vec_of(gen, src_id);
	dv = bg_fw_vec_of(gen, dst_id);
	if (!sv || !dv)
		return;
	/* A field no rule uses lets the source vector stand in (x & x == x). */
	iv = sv;
	pv = sv;
	spv = sv;
	dpv = sv;
	stv = sv;
	x.vlan = x.msrc = x.mdst = x.flags = x.itype = x.icode = x.dscp = sv;
	if (bg_fw_l4_vectors(p, gen, g, fam, &pv, &spv, &dpv))
		return;
	if (bg_fw_x_vectors(data, data_end, p, gen, g, fam, &x))
		return;
	if (g->uses_state) {
		stv = bg_fw_vec_of(gen, g->state_vec[fam][ct_class & 3]);
		if (!stv)
			return;
	}
	if (g->uses_iface) {
		struct bg_fw_iface_key ik = { .gen = gen,
					      .ifindex = ctx->ingress_ifindex };
		struct bg_fw_iface_val *ival;
		__u32 iid;

		ival = bpf_map_lookup_elem(&bg_fw_iface, &ik);
		iid = ival ? ival->vec[fam] : g->iface_other[fam];
		iv = bg_fw_vec_of(gen, iid);
		if (!iv)
			return;
	}

	/* Only the words every field has a rule in, lowest first. */
	sum = sv->summary & dv->summary & iv->summary & pv->summary &
	      spv->summary & dpv->summary & stv->summary & x.vlan->summary &
	      x.msrc->summary & x.mdst->summary & x.flags->summary &
	      x.itype->summary & x.icode->summary & x.dscp->summary;
	for (i = 0; i < BG_FW_WORDS; i++) {
		struct bg_fw_rule *r;
		__u64 m;
		__u32 bit, w;

		if (!sum)
			break;
		w = bg_ctz64_nb(sum) & (BG_FW_WORDS - 1);
		sum &= sum - 1;
		m = sv->w[w] & dv->w[w] & iv->w[w] & pv->w[w] & spv->w[w] &
		    dpv->w[w] & stv->w[w] & x.vlan->w[w] & x.msrc->w[w] &
		    x.mdst->w[w] & x.flags->w[w] & x.itype->w[w] &
		    x.icode->w[w] & x.dscp->w[w];
		if (!m)
			continue;
		bit = w * 64 + bg_ctz64(m);
		bit += (gen * BG_FAM_MAX + fam) * BG_FW_MAX_RULES;
		r = bpf_map_lookup_elem(&bg_fw_rules, &bit);
		if (!r)
			return;
		v->rule_id = r->id;
		v->action = r->action;
		v->flags = r->flags;
		return;
	}
}

static __always_inline void bg_fw_account(__u32 gen, struct bg_fw_verdict *v,
					  __u64 len)
{
	__u32 idx = gen * BG_FW_HITS_PER_GEN + v->rule_id;
	struct bg_fw_hit *h;

	if (v->rule_id > BG_FW_MAX_IDS)
		return;
	h = bpf_map_lookup_elem(&bg_fw_hits, &idx);
	if (h) {
		h->packets++;
		h->bytes += len;
	}
}

static __always_inline void bg_fw_emit_log(struct xdp_md *ctx, struct bg_pkt *p,
					   struct bg_fw_verdict *v, __u64 len)
{
	struct bg_fw_log_event *e;

	e = bpf_ringbuf_reserve(&bg_fw_log, sizeof(*e), 0);
	if (!e) {
		bg_fw_stat_inc(BG_STAT_LOG_LOST);
		return;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->rule_id = v->rule_id;
	e->ifindex = ctx->ingress_ifindex;
	e->action = v->action;
	e->family = p->family;
	e->l4_proto = p->l4_proto;
	e->origin = BG_LOG_FIREWALL;
	e->sport = (p->flags & BG_PKT_L4) ? p->sport : 0;
	e->dport = (p->flags & BG_PKT_L4) ? p->dport : 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->pkt_len = len;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, 0);
}

/* bg_fw_cookie_ack's socket tuple. Not on its stack: the 6.1 verifier
 * adds a global function's frame to the program's (456 bytes here)
 * against the 512-byte limit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bpf_sock_tuple);
	__uint(max_entries, 1);
} bg_fw_cookie_tuple SEC(".maps");

/*
 * The client's ACK of a handshake xdp_ratelimit answered with a SYN
 * cookie, checked with the kernel's cookie secret (bg_syncookie_ack_valid),
 * only while cookie SYN-ACKs went out lately (bg_rl_cookies_recent). A
 * global function, verified once on its own: its socket lookup and
 * tuple stay out of the program's one 512-byte frame.
 */
__noinline int bg_fw_cookie_ack(struct xdp_md *ctx, const struct bg_pkt *p)
{
	struct bpf_sock_tuple *tup;
	__u32 zero = 0;

	if (!ctx || !p || p->l4_proto != IPPROTO_TCP ||
	    (p->tcp_flags & (BG_TCP_SYN | BG_TCP_ACK | BG_TCP_RST |
			     BG_TCP_FIN)) != BG_TCP_ACK ||
	    !bg_rl_cookies_recent(bg_ct_now()))
		return 0;
	tup = bpf_map_lookup_elem(&bg_fw_cookie_tuple, &zero);
	if (!tup)
		return 0;
	return bg_syncookie_ack_valid(ctx, p, tup);
}

/*
 * The load balancer's flow table and reverse translation table, for phase
 * 0 (bg_fw_lb_flow): slot 0 of each holds the table while
 * xdp_loadbalancer is up (scripts/lib/loadbalancer.sh puts it in and
 * takes it out) and nothing otherwise. In a map of maps because the tables
 * are large (two LRU tables of BG_LB_FLOW_MAX entries, which the kernel
 * allocates whole): a firewall without services does not pay for them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	BG_PINNED;
	__array(values, struct bg_lb_flow_inner);
} bg_fw_lb_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	BG_PINNED;
	__array(values, struct bg_lb_rnat_inner);
} bg_fw_lb_rnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	BG_PINNED;
	__array(values, struct bg_lb_vip_inner);
} bg_fw_lb_vips SEC(".maps");

/* bg_fw_lb_flow's keys and what it needs of the packet: the program's
 * frame and a function's called from it share 512 bytes, and the
 * firewall's takes nearly all of them. */
struct bg_fw_lb_keys {
	struct bg_lb_flow_key flow;
	struct bg_lb_vip_key vip;
	__u8 peer[16]; /* the packet's source and its port */
	__be16 peer_port;
	__u8 tcp_flags;
	__u8 reply; /* found as a reply */
	__u32 ifindex; /* where the packet came in */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_lb_keys);
	__uint(max_entries, 1);
} bg_fw_lb_key SEC(".maps");

/*
 * Is a packet conntrack does not pass one of a flow the load balancer
 * forwards, seen lately? Its packets leave from XDP and never reach
 * tc_conntrack, so without this a stateful ruleset would pass a client's
 * SYN to a VIP and block everything after it (state invalid), the
 * backend's SYN-ACK included. Yes for:
 *  - a reply the reverse translation table holds, coming in on the
 *    interface the flow leaves by, from the backend the flow's entry
 *    names (it marks the flow replied);
 *  - a packet of the flow table's (from the client to the VIP) once the
 *    backend answered: before that, only its SYN went through the rules,
 *    and what follows it is no more established than conntrack would
 *    call it (forged ACKs after a passed SYN, from a forged source too);
 * and only while the flow's service is still one of the running ruleset
 * (checked when the balancer has not seen the flow since a switch: a
 * removed service's flows are not established), and while the flow saw a
 * packet (the client's or a reply) within conntrack's timeout of an
 * established flow of its protocol, of time_wait once a FIN or RST went
 * by. A global function, verified once on its own.
 */
__noinline int bg_fw_lb_flow(struct xdp_md *ctx, const struct bg_pkt *p)
{
	struct bg_fw_lb_keys *k;
	struct bg_fw_active *act;
	struct bg_lb_rnat *rn;
	struct bg_lb_flow *fl;
	struct bg_lb_svc *svc;
	__u32 zero = 0;
	__u64 to, now;
	void *m;

	if (!ctx || !p || !(p->flags & BG_PKT_L4) ||
	    (p->flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER)) ||
	    (p->l4_proto != IPPROTO_TCP && p->l4_proto != IPPROTO_UDP))
		return 0;
	k = bpf_map_lookup_elem(&bg_fw_lb_key, &zero);
	if (!k)
		return 0;
	/* All it needs of ctx and the packet, in k: few values live across
	 * the lookups below, so few go on the shared stack. */
	bg_lb_flow_key_of(&k->flow, p);
	__builtin_memcpy(k->peer, p->saddr, 16);
	k->peer_port = p->sport;
	k->tcp_flags = p->l4_proto == IPPROTO_TCP ? p->tcp_flags : 0;
	k->reply = 0;
	k->ifindex = ctx->ingress_ifindex;

	m = bpf_map_lookup_elem(&bg_fw_lb_flows, &zero);
	if (!m)
		return 0;
	fl = bpf_map_lookup_elem(m, &k->flow);
	if (fl) {
		if (!bg_read_once(fl->replied))
			return 0;
	} else {
		m = bpf_map_lookup_elem(&bg_fw_lb_rnat, &zero);
		if (!m)
			return 0;
		rn = bpf_map_lookup_elem(m, &k->flow);
		if (!rn || rn->ifindex != k->ifindex)
			return 0;
		/* The flow it answers: from the client to the VIP. */
		__builtin_memcpy(k->flow.saddr, k->flow.daddr, 16);
		__builtin_memcpy(k->flow.daddr, rn->vaddr, 16);
		k->flow.sport = k->flow.dport;
		k->flow.dport = rn->vport;
		k->reply = 1;
		m = bpf_map_lookup_elem(&bg_fw_lb_flows, &zero);
		if (!m)
			return 0;
		fl = bpf_map_lookup_elem(m, &k->flow);
		if (!fl || fl->bport != k->peer_port ||
		    !bg_lb_addr_eq(fl->baddr, k->peer))
			return 0;
	}
	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	if (!act)
		return 0;
	if (bg_read_once(fl->epoch) != bg_read_once(act->switches)) {
		k->vip.gen = bg_read_once(act->gen) & 1;
		__builtin_memcpy(k->vip.addr, k->flow.daddr, 16);
		k->vip.port = k->flow.dport;
		k->vip.proto = k->flow.proto;
		k->vip.family = k->flow.family;
		m = bpf_map_lookup_elem(&bg_fw_lb_vips, &zero);
		if (!m)
			return 0;
		svc = bpf_map_lookup_elem(m, &k->vip);
		if (!svc || svc->id != fl->svc)
			return 0;
	}
	if ((k->tcp_flags & (BG_TCP_FIN | BG_TCP_RST)) && !fl->closing)
		fl->closing = 1;
	to = bg_ct_timeout_ns(bg_ct_timeouts(bg_ct_cfg()), k->flow.proto,
			      bg_read_once(fl->closing) ? BG_CTS_TIME_WAIT :
							  BG_CTS_ESTABLISHED,
			      BG_CTF_SEEN_REPLY);
	now = bg_ct_now();
	if ((__s64)(now - bg_read_once(fl->last_ns)) > (__s64)to)
		return 0;
	/* A reply keeps its flow alive too (the balancer times the
	 * client's packets only): a backend streaming to a silent client. */
	if (k->reply) {
		if (!fl->replied)
			fl->replied = 1;
		fl->last_ns = now;
	}
	return 1;
}

/*
 * Phase 0 for a packet conntrack does not pass: of a flow the load
 * balancer forwards (bg_fw_lb_flow)? Asked also when conntrack has an
 * entry, whose word on such a flow is no better than none: the first
 * packet of a flow the balancer hands to the stack (no neighbour yet)
 * makes tc_conntrack open a flow to the backend, which then never sees
 * the client's ACK (the balancer sends those from XDP) and calls the
 * backend's answer invalid. A SYN goes to the rules (as bg_fw_ct_class
 * has it).
 */
static __always_inline int
bg_fw_ct_lb(struct xdp_md *ctx, const struct bg_pkt *p, struct bg_fw_judged *o)
{
	if ((p->l4_proto == IPPROTO_TCP && bg_ct_tcp_is_syn(p->tcp_flags)) ||
	    !bg_fw_lb_flow(ctx, p))
		return 0;
	o->ct_pass = 1;
	o->lb_pass = 1;
	o->ct_rule = 0;
	return 1;
}

/*
 * The class of a packet of no live flow (phase 0 opens none). Conntrack
 * never saw the SYN of a handshake answered with a cookie (XDP_TX), so
 * the client's ACK is of no flow, INVALID: while the rate limiter hands
 * out cookies (lately: bg_rl_cookies_recent), such an ACK whose cookie
 * the kernel takes is NEW, and the rules judge it as the SYN it stands
 * for (o->cookie_ack; bg_fw_xdp): a source they block gets nothing from
 * a cookie it guessed or got otherwise, and the flow tc_conntrack opens
 * from it (BG_META_F_COOKIE) carries the rule's id and limits. A forged
 * ACK fails the check and stays INVALID.
 */
static __always_inline __u32 bg_fw_ct_new_class(struct xdp_md *ctx,
						const struct bg_pkt *p,
						struct bg_fw_judged *o)
{
	__u8 state;
	int mid;
	__u32 cls = bg_ct_new_class(p, 0, &state, &mid);

	if (cls != BG_CT_INVALID || p->l4_proto != IPPROTO_TCP ||
	    !bg_fw_cookie_ack(ctx, p))
		return cls;
	o->cookie_ack = 1;
	return BG_CT_NEW;
}

/*
 * Phase 0: the packet's connection class from the conntrack table that
 * tc_conntrack maintains, by the same rules (bg_ct.h) on a copy of the
 * entry: TC commits state, XDP only reads. Sets *pass for what netfilter
 * would call ESTABLISHED or RELATED: replies of a tracked flow and packets
 * of a flow that has seen one, in its window and from the side they are
 * expected on; ICMP errors quoting such a flow. An expired entry is
 * absent. A SYN is NEW (the rules decide it again) unless it is part of a
 * handshake under way, and INVALID inside a live flow.
 *
 * The whole program is one frame of at most 512 bytes of stack, and the
 * entry copy is the largest part of it: what phase 0 needs only before
 * the copy lives in a scope that ends before it.
 */
static __always_inline __u32 bg_fw_ct_class(struct xdp_md *ctx,
					    struct bg_pkt *p,
					    struct bg_fw_judged *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_ct_seg seg = {};
	struct bg_ct_entry *ep;
	__u32 cls;
	int side;

	/* The key in a scope of its own: its stack is reused for the copy. */
	{
		union bg_ct_key k;

		side = bg_ct_pkt_key(p, &k);
		if (side < 0)
			return BG_CT_NEW; /* not tracked: the rules decide */
		if (p->l4_proto == IPPROTO_TCP &&
		    bg_ct_seg_parse(data, data_end, p, &seg) < 0)
			return BG_CT_INVALID;
		ep = bg_ct_lookup(p->family, &k);
	}
	if (!ep)
		goto no_flow;
	{
		struct bg_ct_entry e;
		int ignore, wrong;

		/* The clock only when an entry was found: most packets of a
		 * flood find none. */
		bg_ct_read(ep, &e);
		if (bg_ct_expired(bg_ct_timeouts(bg_ct_cfg()), &e,
				  bg_ct_now()) ||
		    bg_ct_reopens(&e, p))
			goto no_flow;
		/* A connection a source limit refused (tc_conntrack) stays
		 * so. */
		if (e.limit_flags & BG_CT_LF_REFUSED) {
			o->ct_refused = 1;
			return BG_CT_INVALID;
		}
		cls = bg_ct_step(&e, p, &seg, side, 0, ctx->ingress_ifindex,
				 &ignore, &wrong);
		o->ct_rule = e.rule_id;
	}
	/* A SYN goes to the rules whatever a flow under way says of it. */
	if (p->l4_proto == IPPROTO_TCP && bg_ct_tcp_is_syn(p->tcp_flags) &&
	    cls != BG_CT_INVALID)
		return BG_CT_NEW;
	if (cls == BG_CT_ESTABLISHED || cls == BG_CT_RELATED)
		o->ct_pass = 1;
	else if (bg_fw_ct_lb(ctx, p, o))
		cls = BG_CT_ESTABLISHED;
	return cls;
no_flow:
	if (bg_fw_ct_lb(ctx, p, o))
		return BG_CT_ESTABLISHED;
	/* One place for both: the checks below are verified once. */
	return bg_fw_ct_new_class(ctx, p, o);
}

/* Phase 0 of an ICMP error: RELATED when it quotes a live flow. */
static __always_inline __u32 bg_fw_ct_icmp_error(struct xdp_md *ctx,
						 struct bg_pkt *p,
						 struct bg_fw_judged *o)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_ct_entry *ep, e;
	union bg_ct_key k;
	__u32 cls;
	int side;

	side = bg_ct_icmp_err_key(data, data_end, p, &k);
	if (side == BG_CT_QUOTE_UNTRACKED)
		return BG_CT_NEW; /* the rules decide */
	if (side < 0)
		return BG_CT_INVALID;
	ep = bg_ct_lookup(p->family, &k);
	if (!ep)
		return BG_CT_INVALID;
	bg_ct_read(ep, &e);
	if (bg_ct_expired(bg_ct_timeouts(bg_ct_cfg()), &e, bg_ct_now()))
		return BG_CT_INVALID;
	cls = bg_ct_related(&e, side, 0, ctx->ingress_ifindex);
	if (cls == BG_CT_ESTABLISHED || cls == BG_CT_RELATED) {
		o->ct_pass = 1;
		o->ct_rule = e.rule_id;
	}
	return cls;
}

/*
 * Phase 0, first: a source that exceeded a rule's connection limit sits in
 * an overload table (tc_conntrack puts it there) until its entry expires,
 * and every packet from it is dropped, its flows' included.
 */
static __always_inline int bg_fw_overloaded(struct bg_pkt *p)
{
	struct bg_fw_overload_key k;
	struct bg_fw_overload *o;

	bg_fw_overload_key_of(&k, p->family, p->saddr);
	o = bpf_map_lookup_elem(&bg_fw_overload, &k);
	return o && bg_read_once(o->expires_ns) > bg_ct_now();
}

/*
 * Neighbour discovery to a global address (BG_PKT_ND_UNICAST) is link
 * control only when this host will not forward it: it is for one of our
 * addresses, or the host forwards nothing on this interface. Otherwise a
 * gateway would pass on, whatever the rules say, ND aimed through it.
 */
static __always_inline int bg_fw_nd_stays(struct xdp_md *ctx, struct bg_pkt *p)
{
	struct bpf_fib_lookup f = {};
	long ret;

	f.family = 10; /* AF_INET6 */
	f.ifindex = ctx->ingress_ifindex;
	__builtin_memcpy(f.ipv6_src, p->saddr, 16);
	__builtin_memcpy(f.ipv6_dst, p->daddr, 16);
	ret = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
	return ret == BPF_FIB_LKUP_RET_NOT_FWDED ||
	       ret == BPF_FIB_LKUP_RET_FWD_DISABLED;
}

/*
 * XDP -> TC metadata in front of the packet: the rule that passed it. A
 * driver without metadata support just doesn't get it; the verdict stands.
 */
static __always_inline void bg_fw_write_meta(struct xdp_md *ctx, __u32 rule_id,
					     __u16 flags)
{
	struct bg_xdp_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data)
		return;
	m->rule_id = rule_id;
	m->flags = flags;
	m->status = 0;
}

/*
 * A first fragment's verdict, for its later fragments (bg_frag.h): in the
 * tracked flows' table when phase 0 passed it as part of a flow
 * (BG_META_F_CT), else in the rules' table, with the ruleset's epoch.
 */
static __always_inline void bg_fw_frag_first(struct bg_pkt *p, __u32 rule_id,
					     __u32 action, __u32 meta_flags,
					     __u32 epoch)
{
	int ct = !!(meta_flags & BG_META_F_CT);
	struct bg_frag_scratch *x = bg_frag_scratch_get();
	__u64 now;

	/* Later fragments leave nothing: only a first one has the header
	 * the verdict was made on. */
	if ((p->flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER)) != BG_PKT_FRAG ||
	    !x || bg_frag_key_of(p, &x->k))
		return;
	now = bg_ct_now();
	bg_frag_entry_init(&x->e, p, now);
	x->e.rule_id = rule_id;
	x->e.epoch = epoch;
	x->e.meta_flags = meta_flags;
	x->e.action = action;
	x->e.flags |= BG_FRAG_F_VERDICT | (ct ? BG_FRAG_F_CT : 0);
	/* A flow's peer could fill the flows' table with first fragments of
	 * its own flow: past its quota they go to the rules' table. */
	if (ct && !bg_frag_src_may(p, x, now)) {
		bg_fw_stat_inc(BG_STAT_FRAG_QUOTA);
		ct = 0;
	}
	bg_frag_record(p, &x->k, &x->e, ct, BPF_ANY);
}

/*
 * A non-first fragment gets what its first fragment got: its verdict, its
 * rule (and that rule's counters), its flow (the metadata tc_conntrack
 * counts it on). The verdict of a rule holds while that ruleset does: after
 * a switch the new rules judge the fragment like one whose first fragment
 * was not seen. Returns XDP_DROP, XDP_PASS (the metadata written: the
 * caller goes on through the chain), or -1 when no first fragment is
 * known: the caller classifies the fragment on its addresses.
 */
static __always_inline int bg_fw_frag_later(struct xdp_md *ctx,
					    struct bg_pkt *p, __u32 gen,
					    __u32 epoch, __u64 len)
{
	struct bg_frag_scratch *x = bg_frag_scratch_get();
	struct bg_fw_verdict v = {};
	struct bg_frag_entry *fe;

	if (!x || bg_frag_key_of(p, &x->k))
		return -1;
	fe = bg_frag_find(p, &x->k, bg_ct_now());
	if (!fe || !(fe->flags & BG_FRAG_F_VERDICT) ||
	    (!(fe->flags & BG_FRAG_F_CT) && fe->epoch != epoch)) {
		bg_fw_stat_inc(BG_STAT_FRAG_UNSEEN);
		return -1;
	}
	/* Data where the first fragment had some: no reassembly takes it
	 * (RFC 5722; Linux drops the datagram), and it could only be meant
	 * to make the datagram say something else than the rules saw. */
	if ((__u32)p->frag_off * 8 < fe->first_end) {
		bg_fw_stat_inc(BG_STAT_FRAG_OVERLAP);
		bg_fw_stat_inc(BG_STAT_DROP);
		return XDP_DROP;
	}
	bg_fw_stat_inc(BG_STAT_FRAG_TRACKED);
	v.rule_id = fe->rule_id;
	v.action = fe->action;
	if (fe->flags & BG_FRAG_F_CT)
		bg_fw_stat_inc(BG_STAT_CT_PASS);
	else
		bg_fw_account(gen, &v, len);
	if (v.action == BG_ACT_BLOCK) {
		bg_fw_stat_inc(BG_STAT_DROP);
		return XDP_DROP;
	}
	bg_fw_stat_inc(BG_STAT_PASS);
	bg_fw_write_meta(ctx, v.rule_id, fe->meta_flags);
	return XDP_PASS;
}

/*
 * make bench's stage rows: a build with -DBG_FW_BENCH_STAGE=N stops after
 * stage N (1 parse, 2 the ruleset's generation, 3 phase 0, 4 the
 * classifier, 5 the counters), so each stage's cost is the difference
 * between two rows. Never in the programs up.sh loads.
 */
#ifdef BG_FW_BENCH_STAGE
/* The asm keeps what the stages computed: unused, the compiler would drop
 * the work the row is to measure. */
#define BG_FW_BENCH_STOP(n)                                               \
	do {                                                              \
		if (BG_FW_BENCH_STAGE == (n)) {                           \
			asm volatile("" : : "r"(&p), "r"(&v) : "memory"); \
			return XDP_DROP;                                  \
		}                                                         \
	} while (0)
#else
#define BG_FW_BENCH_STOP(n) \
	do {                \
	} while (0)
#endif

/* The frame's headers, bg_pkt filled. */
static __always_inline int bg_fw_parse(struct xdp_md *ctx, struct bg_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* Generic XDP may see a BIG TCP GRO packet (over 64 KiB, length
	 * field 0); native XDP frames never exceed 64 KiB. */
	return bg_parse(data, data_end, data_end - data, p, 0, 0,
			BG_PARSE_F_GSO);
}

SEC("xdp")
int bg_fw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct bg_pkt p = {};
	struct bg_fw_active *act;
	struct bg_fw_gen *g;
	struct bg_fw_judged j = {};
	struct bg_fw_verdict *v = &j.v;
	__u32 zero = 0, gen, epoch;
	int ret;
	__u16 blind, meta;
	__u8 flags;

	ret = bg_fw_parse(ctx, &p);
#ifdef BG_FW_BENCH_NEWFRAG
	/* make bench only: every first fragment starts a new datagram. */
	p.frag_id = bpf_get_prandom_u32();
#endif
	BG_FW_BENCH_STOP(1);
	if (ret == BG_PARSE_OK && (p.flags & BG_PKT_ND_UNICAST) &&
	    bg_fw_nd_stays(ctx, &p))
		ret = BG_PARSE_ND;
	if (ret == BG_PARSE_MALFORMED) {
		bg_fw_stat_inc(BG_STAT_MALFORMED);
		return XDP_DROP;
	}
	if (ret != BG_PARSE_OK) {
		bg_fw_stat_inc(ret == BG_PARSE_ND ? BG_STAT_ND :
						    BG_STAT_NON_IP);
		bg_fw_stat_inc(BG_STAT_PASS);
		return bg_xdp_next(ctx, 0);
	}
	if (p.flags & BG_PKT_FRAG_LATER)
		bg_fw_stat_inc(BG_STAT_FRAGMENT);

	/* One read of the active generation pins the whole ruleset used. */
	act = bpf_map_lookup_elem(&bg_fw_active, &zero);
	if (!act)
		return bg_xdp_next(ctx, 0);
	/* Once: the generation and the epoch fragments are recorded with. */
	gen = act->gen & 1;
	epoch = act->switches;
	j.gen = gen;
	g = bpf_map_lookup_elem(&bg_fw_gens, &gen);
	if (!g || !g->loaded) {
		bg_fw_stat_inc(BG_STAT_NO_RULESET);
		bg_fw_stat_inc(BG_STAT_PASS);
		return bg_xdp_next(ctx, 0);
	}

	if (g->uses_overload && bg_fw_overloaded(&p)) {
		bg_fw_stat_inc(BG_STAT_OVERLOAD);
		bg_fw_stat_inc(BG_STAT_DROP);
		return XDP_DROP;
	}

	if (p.flags & BG_PKT_FRAG_LATER) {
		ret = bg_fw_frag_later(ctx, &p, gen, epoch, len);
		if (ret == XDP_PASS)
			return bg_xdp_next(ctx, 0);
		if (ret >= 0)
			return ret;
	}

	/* Phase 0: established and related traffic skips the rules. */
	BG_FW_BENCH_STOP(2);
	if (bg_ct_is_icmp_error(&p))
		j.ct_class = bg_fw_ct_icmp_error(ctx, &p, &j);
	else
		j.ct_class = bg_fw_ct_class(ctx, &p, &j);
	BG_FW_BENCH_STOP(3);
	if (j.ct_refused) {
		bg_fw_stat_inc(BG_STAT_REFUSED);
		bg_fw_stat_inc(BG_STAT_DROP);
		return XDP_DROP;
	}
	/* Judged without a tag the device may have kept out of the frame:
	 * tc_conntrack checks (bg_ct_vlan_hidden). */
	blind = g->uses_vlan && !p.vlan_depth ? BG_META_F_VLAN_BLIND : 0;
	if (j.ct_pass) {
		bg_fw_stat_inc(j.lb_pass ? BG_STAT_LB_PASS : BG_STAT_CT_PASS);
		bg_fw_stat_inc(BG_STAT_PASS);
		if ((p.flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER)) ==
		    BG_PKT_FRAG)
			bg_fw_frag_first(&p, j.ct_rule, BG_ACT_PASS,
					 BG_META_F_CT | blind, 0);
		bg_fw_write_meta(ctx, j.ct_rule, BG_META_F_CT | blind);
		return bg_xdp_next(ctx, 0);
	}

	/* A checked cookie ACK is judged as the SYN it stands for (one call:
	 * the classifier inlined twice would be twice the code to fetch). */
	flags = p.tcp_flags;
	if (j.cookie_ack)
		p.tcp_flags = BG_TCP_SYN;
	bg_fw_classify(ctx, &p, g, &j);
	p.tcp_flags = flags;
	BG_FW_BENCH_STOP(4);
	bg_fw_account(gen, v, len);
	BG_FW_BENCH_STOP(5);
	if (v->flags & BG_RULE_F_LOG)
		bg_fw_emit_log(ctx, &p, v, len);

	meta = (v->flags & BG_RULE_F_LOG ? BG_META_F_LOG : 0) | blind |
	       (v->flags & BG_RULE_F_LIMIT ? BG_META_F_LIMIT : 0) |
	       (v->rule_id ? 0 : BG_META_F_DEFAULT) |
	       bg_fw_route_meta(v->flags);
	if ((p.flags & (BG_PKT_FRAG | BG_PKT_FRAG_LATER)) == BG_PKT_FRAG)
		bg_fw_frag_first(&p, v->rule_id, v->action, meta, epoch);
	if (v->action == BG_ACT_BLOCK) {
		bg_fw_stat_inc(BG_STAT_DROP);
		return XDP_DROP;
	}
	bg_fw_stat_inc(BG_STAT_PASS);
	if (j.cookie_ack) {
		bg_fw_stat_inc(BG_STAT_COOKIE_ACK);
		meta |= BG_META_F_COOKIE;
	}
	bg_fw_write_meta(ctx, v->rule_id, meta);
	return bg_xdp_next(ctx, 0);
}

char _license[] SEC("license") = "GPL";
