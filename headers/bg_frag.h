/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragment tracking (bg_frag_abi.h): the first fragment of a datagram
 * leaves what was decided for it, the later fragments find it. The
 * firewall (XDP) writes the verdicts; tc_conntrack reads them to count a
 * later fragment's bytes on its flow, and writes the ports of the
 * datagrams leaving (egress) for the same. Any later stage finds a
 * fragment's ports with bg_frag_ports().
 *
 * Needs bg_parse.h and, for bg_frag_ports(), bg_ct_table.h (the clock).
 */
#ifndef BG_FRAG_H
#define BG_FRAG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"

#define BG_FRAG_MAP(_name, _key, _max)               \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_LRU_HASH); \
		__type(key, struct _key);            \
		__type(value, struct bg_frag_entry); \
		__uint(max_entries, _max);           \
		BG_PINNED;                           \
	} _name SEC(".maps")

BG_FRAG_MAP(bg_frag4_flow, bg_frag_key4, BG_FRAG_FLOW_MAX);
BG_FRAG_MAP(bg_frag4_rule, bg_frag_key4, BG_FRAG_RULE_MAX);
BG_FRAG_MAP(bg_frag6_flow, bg_frag_key6, BG_FRAG_FLOW_MAX);
BG_FRAG_MAP(bg_frag6_rule, bg_frag_key6, BG_FRAG_RULE_MAX);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_FRAG_T_MAX);
	BG_PINNED;
} bg_frag_made SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_frag_src_key);
	__type(value, struct bg_frag_src);
	__uint(max_entries, BG_FRAG_SRC_MAX);
	BG_PINNED;
} bg_frag_src SEC(".maps");

union bg_frag_key {
	struct bg_frag_key4 k4;
	struct bg_frag_key6 k6;
};

/*
 * Room for a key and an entry. The firewall has no stack to spare for them
 * (its frame is near the 512 bytes a program has), and only fragments pay
 * for the lookup. Not pinned: each program has its own.
 */
struct bg_frag_scratch {
	union bg_frag_key k;
	struct bg_frag_entry e;
	struct bg_frag_src_key sk;
	struct bg_frag_src sv;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_frag_scratch);
	__uint(max_entries, 1);
} bg_frag_scratch SEC(".maps");

static __always_inline struct bg_frag_scratch *bg_frag_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bg_frag_scratch, &zero);
}

/* The key of a fragment's datagram (bg_frag_abi.h). */
static __always_inline int bg_frag_key_of(const struct bg_pkt *p,
					  union bg_frag_key *k)
{
	__u16 v0 = p->vlan_depth > 0 ? p->vlan_id[0] : 0;
	__u16 v1 = p->vlan_depth > 1 ? p->vlan_id[1] : 0;

	if (!(p->flags & BG_PKT_FRAG))
		return -1;
	if (p->family == BG_FAM_INET) {
		__builtin_memset(&k->k4, 0, sizeof(k->k4));
		k->k4.saddr = p->saddr[0];
		k->k4.daddr = p->daddr[0];
		k->k4.id = p->frag_id;
		k->k4.vlan[0] = v0;
		k->k4.vlan[1] = v1;
		k->k4.proto = p->l4_proto;
		return 0;
	}
	__builtin_memset(&k->k6, 0, sizeof(k->k6));
	__builtin_memcpy(k->k6.saddr, p->saddr, 16);
	__builtin_memcpy(k->k6.daddr, p->daddr, 16);
	k->k6.id = p->frag_id;
	k->k6.vlan[0] = v0;
	k->k6.vlan[1] = v1;
	return 0;
}

static __always_inline __u64 bg_frag_timeout_ns(__u8 family)
{
	return (family == BG_FAM_INET ? BG_FRAG_TIMEOUT4_SEC :
					BG_FRAG_TIMEOUT6_SEC) *
	       1000000000ULL;
}

static __always_inline int bg_frag_live(const struct bg_frag_entry *e,
					__u8 family, __u64 now)
{
	return now - bg_read_once(e->ts_ns) <= bg_frag_timeout_ns(family);
}

/*
 * The entry of a later fragment's datagram, the tracked flows' table
 * first; NULL when there is none or it is older than the kernel would
 * wait for the datagram's fragments.
 */
static __always_inline struct bg_frag_entry *
bg_frag_find(const struct bg_pkt *p, const union bg_frag_key *k, __u64 now)
{
	struct bg_frag_entry *e;

	if (p->family == BG_FAM_INET) {
		e = bpf_map_lookup_elem(&bg_frag4_flow, &k->k4);
		if (!e)
			e = bpf_map_lookup_elem(&bg_frag4_rule, &k->k4);
	} else {
		e = bpf_map_lookup_elem(&bg_frag6_flow, &k->k6);
		if (!e)
			e = bpf_map_lookup_elem(&bg_frag6_rule, &k->k6);
	}
	if (!e || !bg_frag_live(e, p->family, now))
		return NULL;
	return e;
}

/*
 * A first fragment's entry, from its parsed headers: its ports when
 * conntrack could key its flow, its data's extent for the overlap check.
 */
static __always_inline void
bg_frag_entry_init(struct bg_frag_entry *e, const struct bg_pkt *p, __u64 now)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->first_end = p->frag_len;
	e->proto = p->l4_proto;
	if (!(p->flags & BG_PKT_L4))
		return;
	e->sport = p->sport;
	/* An ICMP echo's "ports" are its identifier, twice (bg_ct.h). */
	e->dport =
		(p->l4_proto == IPPROTO_ICMP || p->l4_proto == IPPROTO_ICMPV6) ?
			p->sport :
			p->dport;
	e->flags = BG_FRAG_F_PORTS;
}

/*
 * Whether entry old stays instead of new: tc_conntrack's (no verdict)
 * stays, a key the firewall shares with one of them being a forgery of
 * this host's address; and a live pass stays against a block, which
 * could only be a forgery aimed at a real datagram's later fragments (a
 * blocked first fragment never reaches its receiver, so no datagram is
 * lost by it).
 */
static __always_inline int bg_frag_keeps(const struct bg_frag_entry *old,
					 const struct bg_frag_entry *new,
					 __u8 family, __u64 now)
{
	if (!(old->flags & BG_FRAG_F_VERDICT))
		return 1;
	return new->action == BG_ACT_BLOCK &&
	       old->action == BG_ACT_PASS &&bg_frag_live(old, family, now);
}

/*
 * Put entry e in table t (map), counted when it is a new one. The
 * firewall's (BPF_ANY) replaces an earlier datagram's with the same key
 * (an identification used again: a new datagram) unless bg_frag_keeps(),
 * and takes the key out of the family's other table (other), so that no
 * older entry there shadows or outlives it. tc_conntrack's (BPF_NOEXIST)
 * never replaces one.
 */
static __always_inline void bg_frag_put(void *map, void *other, __u32 t,
					const void *k,
					const struct bg_frag_entry *e,
					__u64 how, __u8 family)
{
	struct bg_frag_entry *old;
	__u64 *made;

	if (how == BPF_ANY) {
		old = bpf_map_lookup_elem(other, k);
		if (old && bg_frag_keeps(old, e, family, e->ts_ns))
			return;
		old = bpf_map_lookup_elem(map, k);
		if (old) {
			if (!bg_frag_keeps(old, e, family, e->ts_ns))
				bpf_map_update_elem(map, k, e, BPF_ANY);
			return;
		}
		bpf_map_delete_elem(other, k);
	}
	if (bpf_map_update_elem(map, k, e, BPF_NOEXIST))
		return;
	made = bpf_map_lookup_elem(&bg_frag_made, &t);
	if (made)
		*made += 1;
}

/*
 * Record a first fragment's entry, in the tracked flows' table (flow) or
 * the rules' (bg_frag_put(): how).
 */
static __always_inline void bg_frag_record(const struct bg_pkt *p,
					   const union bg_frag_key *k,
					   const struct bg_frag_entry *e,
					   int flow, __u64 how)
{
	if (p->family == BG_FAM_INET) {
		if (flow)
			bg_frag_put(&bg_frag4_flow, &bg_frag4_rule,
				    BG_FRAG_T_FLOW4, &k->k4, e, how,
				    BG_FAM_INET);
		else
			bg_frag_put(&bg_frag4_rule, &bg_frag4_flow,
				    BG_FRAG_T_RULE4, &k->k4, e, how,
				    BG_FAM_INET);
		return;
	}
	if (flow)
		bg_frag_put(&bg_frag6_flow, &bg_frag6_rule, BG_FRAG_T_FLOW6,
			    &k->k6, e, how, BG_FAM_INET6);
	else
		bg_frag_put(&bg_frag6_rule, &bg_frag6_flow, BG_FRAG_T_RULE6,
			    &k->k6, e, how, BG_FAM_INET6);
}

/*
 * Whether packet p's source may put one more first fragment in a tracked
 * flows' table (BG_FRAG_SRC_QUOTA per timeout period), counted when it
 * may. x: scratch room for the source's key and value.
 */
static __always_inline int bg_frag_src_may(const struct bg_pkt *p,
					   struct bg_frag_scratch *x, __u64 now)
{
	struct bg_frag_src *s;

	__builtin_memset(&x->sk, 0, sizeof(x->sk));
	x->sk.family = p->family;
	x->sk.addr[0] = p->saddr[0];
	if (p->family == BG_FAM_INET6)
		x->sk.addr[1] = p->saddr[1];
	s = bpf_map_lookup_elem(&bg_frag_src, &x->sk);
	if (!s) {
		x->sv.window_ns = now;
		x->sv.made = 1;
		bpf_map_update_elem(&bg_frag_src, &x->sk, &x->sv, BPF_ANY);
		return 1;
	}
	if (now - bg_read_once(s->window_ns) > bg_frag_timeout_ns(p->family)) {
		/* A new period; two CPUs may both start it: one more. */
		s->window_ns = now;
		s->made = 1;
		return 1;
	}
	return __sync_fetch_and_add(&s->made, 1) < BG_FRAG_SRC_QUOTA;
}

/*
 * For later stages: the ports of a packet's datagram, from the packet or,
 * for a later fragment, from what its first fragment left. 0 on success.
 */
static __always_inline int bg_frag_ports(const struct bg_pkt *p, __u64 now,
					 __be16 *sport, __be16 *dport)
{
	struct bg_frag_scratch *x;
	struct bg_frag_entry *e;

	if (!(p->flags & BG_PKT_FRAG_LATER)) {
		if (!(p->flags & BG_PKT_L4))
			return -1;
		*sport = p->sport;
		*dport = p->dport;
		return 0;
	}
	x = bg_frag_scratch_get();
	if (!x || bg_frag_key_of(p, &x->k))
		return -1;
	e = bg_frag_find(p, &x->k, now);
	if (!e || !(e->flags & BG_FRAG_F_PORTS))
		return -1;
	*sport = e->sport;
	*dport = e->dport;
	return 0;
}

#endif /* BG_FRAG_H */
