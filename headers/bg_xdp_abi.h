/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, the XDP chain: the metadata XDP hands to TC and the
 * stage slots after the firewall.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_XDP_ABI_H
#define BG_XDP_ABI_H

#include "bg_abi_common.h"

/*
 * XDP -> TC metadata written in front of the packet on XDP_PASS (the room
 * is 4-byte aligned as bpf_xdp_adjust_meta requires).
 */
struct bg_xdp_meta {
	__u32 rule_id;
	__u16 flags; /* BG_META_F_* */
	__u16 status; /* the stages' results (BG_XDP_ST_*), 0 = none */
};
BG_STATIC_ASSERT(sizeof(struct bg_xdp_meta) == 8, "bg_xdp_meta");

#define BG_META_F_LOG (1 << 0)
#define BG_META_F_DEFAULT (1 << 1) /* passed by the default policy */
#define BG_META_F_CT (1 << 2) /* passed as established/related */
#define BG_META_F_LIMIT (1 << 3) /* the rule has connection limits */
/* The ruleset matches VLAN ids and the frame showed XDP no tag: one the
 * device kept out of the frame went unseen (tc_conntrack drops it). */
#define BG_META_F_VLAN_BLIND (1 << 4)
#define BG_META_F_ROUTE (1 << 5) /* its rule routes (bg_fw_route): tc_route */
/* The ACK of a handshake answered with a SYN cookie, its cookie checked
 * (bg_syncookie_ack_valid) and passed by the rule that passes its SYN:
 * tc_conntrack opens its flow. */
#define BG_META_F_COOKIE (1 << 6)

/*
 * bg_xdp_chain: PROG_ARRAY, the XDP stages after the firewall. The firewall
 * stays the program attached to the interface; a packet it passes goes
 * through these slots in order (each stage tail-calls the next filled
 * one), and an empty slot at the end means XDP_PASS. Fixed slots, so that
 * the order never depends on which stages are loaded.
 */
enum bg_xdp_slot {
	BG_XDP_SLOT_RATELIMIT = 0,
	BG_XDP_SLOT_LB = 1,
	BG_XDP_SLOT_MAX = 2,
};

/* bg_xdp_meta.status: each stage's result in its own bits. */
#define BG_XDP_ST_RL_SHIFT 0
#define BG_XDP_ST_RL_MASK 0x00ff /* the rate limiter's verdict */
#define BG_XDP_ST_LB_SHIFT 8
#define BG_XDP_ST_LB_MASK 0xff00 /* the load balancer's */

#endif /* BG_XDP_ABI_H */
