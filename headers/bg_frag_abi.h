/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI: fragment tracking. A non-first fragment carries no L4
 * header, so nothing in it says which flow or rule it belongs to. The
 * first fragment of a datagram leaves what the firewall decided for it
 * here, keyed as the kernel's reassembly keys a datagram (addresses,
 * protocol, identification; and the VLANs, as conntrack's keys), and the
 * later fragments read it: the same verdict, rule and flow (README,
 * "Fragments").
 *
 * Two LRU tables per family, so that a flood cannot push out what real
 * traffic needs: bg_frag{4,6}_flow holds the first fragments phase 0
 * passed as part of a tracked flow (replies to what this side opened),
 * bg_frag{4,6}_rule those the rules decided. Fragments nobody asked for
 * only ever fill the second.
 */
#ifndef BG_FRAG_ABI_H
#define BG_FRAG_ABI_H

#include "bg_abi_common.h"

#define BG_FRAG_FLOW_MAX 16384 /* entries per family, tracked flows */
#define BG_FRAG_RULE_MAX 16384 /* entries per family, the rules' verdicts */

/*
 * A source (an IPv4 address, an IPv6 /64) may put this many first
 * fragments in its family's tracked flows' table per timeout period
 * (below); the rest go to the rules' table. So evicting an entry of that
 * table before it expires takes BG_FRAG_FLOW_MAX / BG_FRAG_SRC_QUOTA (16)
 * sources, each with a live flow.
 */
#define BG_FRAG_SRC_QUOTA 1024
#define BG_FRAG_SRC_MAX 65536 /* sources bg_frag_src keeps count of */

/*
 * An entry older than this is gone: the kernel gives up reassembling a
 * datagram after net.ipv4.ipfrag_time (30 s) and
 * net.ipv6.ip6frag_time (60 s), and an identification comes round again.
 */
#define BG_FRAG_TIMEOUT4_SEC 30
#define BG_FRAG_TIMEOUT6_SEC 60

/* Index into bg_frag_made (per-CPU u64): entries each table was given.
 * Nothing deletes them, so made - present = evicted (status.sh). */
enum bg_frag_table {
	BG_FRAG_T_FLOW4 = 0, /* bg_frag4_flow */
	BG_FRAG_T_RULE4 = 1, /* bg_frag4_rule */
	BG_FRAG_T_FLOW6 = 2, /* bg_frag6_flow */
	BG_FRAG_T_RULE6 = 3, /* bg_frag6_rule */
	BG_FRAG_T_MAX = 4,
};

struct bg_frag_key4 {
	__be32 saddr;
	__be32 daddr;
	__u32 id; /* IPv4 identification (16 bits), host order */
	__u16 vlan[2]; /* conntrack's VLAN key (bg_ct_vlans) */
	__u8 proto; /* IPPROTO_*, as the IPv4 header names it */
	__u8 pad[3];
};
BG_STATIC_ASSERT(sizeof(struct bg_frag_key4) == 20, "bg_frag_key4");

struct bg_frag_key6 {
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 id; /* Fragment header identification, host order */
	__u16 vlan[2];
	/* No protocol, as in the kernel's IPv6 reassembly: a later fragment
	 * need not show it (extension headers after the Fragment header). */
	__u8 pad[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_frag_key6) == 44, "bg_frag_key6");

/* bg_frag_src: first fragments a source put in a tracked flows' table. */
struct bg_frag_src_key {
	__u8 family; /* BG_FAM_* */
	__u8 pad[3];
	__be32 addr[4]; /* IPv4 in word 0; IPv6: the /64, the rest 0 */
};
BG_STATIC_ASSERT(sizeof(struct bg_frag_src_key) == 20, "bg_frag_src_key");

struct bg_frag_src {
	__u64 window_ns; /* start of the current period */
	__u64 made; /* entries made in it */
};
BG_STATIC_ASSERT(sizeof(struct bg_frag_src) == 16, "bg_frag_src");

enum bg_frag_flags {
	/* The firewall decided it (XDP ingress): action and rule_id hold.
	 * Without it, an entry tc_conntrack made on egress (in the rules'
	 * table): ports only, never a verdict. */
	BG_FRAG_F_VERDICT = 1 << 0,
	/* Passed in phase 0 as a packet of a tracked flow. */
	BG_FRAG_F_CT = 1 << 1,
	/* The datagram's header fits a conntrack key (TCP, UDP, ICMP echo). */
	BG_FRAG_F_PORTS = 1 << 2,
};

struct bg_frag_entry {
	__u64 ts_ns; /* first fragment seen (conntrack's clock) */
	__u32 rule_id; /* the rule that decided it; phase 0: the flow's */
	__u32 epoch; /* bg_fw_active.switches when the rules decided it */
	__be16 sport; /* the datagram's ports; ICMP echo: id in both */
	__be16 dport;
	__u16 first_end; /* bytes of fragment data the first fragment held */
	__u16 meta_flags; /* the XDP metadata flags it got (bg_xdp_abi.h) */
	__u8 action; /* BG_ACT_PASS or BG_ACT_BLOCK */
	__u8 flags; /* enum bg_frag_flags */
	__u8 proto; /* the datagram's upper-layer protocol (IPPROTO_*) */
	__u8 pad[5];
};
BG_STATIC_ASSERT(sizeof(struct bg_frag_entry) == 32, "bg_frag_entry");

#endif /* BG_FRAG_ABI_H */
