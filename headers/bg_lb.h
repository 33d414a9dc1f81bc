/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bg_lb.h: the load balancer's flow key (headers/bg_lb_abi.h has the
 * tables' layout), shared by xdp_loadbalancer and by the firewall's phase
 * 0, which asks the load balancer's tables whether a packet is of a flow
 * it forwards: those flows never reach tc_conntrack (the load balancer
 * sends their packets from XDP), so conntrack cannot tell.
 */
#ifndef BG_LB_H
#define BG_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_parse.h"

/* A packet's flow key: its own addresses, ports and protocol. */
static __always_inline void bg_lb_flow_key_of(struct bg_lb_flow_key *k,
					      const struct bg_pkt *p)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->l4_proto;
	k->family = p->family;
	k->pad[0] = 0;
	k->pad[1] = 0;
}

static __always_inline int bg_lb_addr_eq(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
}

/*
 * The flow table's and the reverse translation table's types, as the
 * inner maps of the firewall's bg_fw_lb_flows, bg_fw_lb_rnat and
 * bg_fw_lb_vips (the kernel compares type, key and value sizes and
 * flags, not the size).
 * Sizes, not types: clang leaves a type met only this deep behind
 * pointers as a forward declaration, which libbpf cannot size.
 */
struct bg_lb_flow_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct bg_lb_flow_key));
	__uint(value_size, sizeof(struct bg_lb_flow));
	__uint(max_entries, 1);
};

struct bg_lb_rnat_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct bg_lb_flow_key));
	__uint(value_size, sizeof(struct bg_lb_rnat));
	__uint(max_entries, 1);
};

/* The services' map (bg_lb_vip): BPF_F_NO_PREALLOC, as the outer's
 * inner map must have it too. */
struct bg_lb_vip_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(struct bg_lb_vip_key));
	__uint(value_size, sizeof(struct bg_lb_svc));
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

#endif /* BG_LB_H */
