/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, the firewall (xdp_firewall and fwmapgen): its
 * classifier tables, generations, counters and log records.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_FW_ABI_H
#define BG_FW_ABI_H

#include "bg_abi_common.h"

#define BG_FW_MAX_RULES 4096 /* rules applying to one family */
#define BG_FW_MAX_IDS 8192 /* rule ids 1..8192; id 0 = default policy */
#define BG_FW_WORDS (BG_FW_MAX_RULES / 64)
#define BG_FW_LPM_MAX 1048576 /* prefixes per trie, both generations */
#define BG_FW_VEC_PER_GEN 16384 /* distinct rule vectors per generation */
#define BG_FW_IFACE_MAX 1024
#define BG_FW_LABEL_LEN 64
#define BG_FW_SOURCE_LEN 128
#define BG_FW_HITS_PER_GEN (BG_FW_MAX_IDS + 1)

enum bg_action {
	BG_ACT_PASS = 0,
	BG_ACT_BLOCK = 1,
};

enum bg_rule_flags {
	BG_RULE_F_LOG = 1 << 0,
	/* connection limits (max-src-conn ...): bg_fw_limits has the rule */
	BG_RULE_F_LIMIT = 1 << 1,
	/* route-to, reply-to or dup-to: the routing maps have the rule */
	BG_RULE_F_ROUTE = 1 << 2,
};

/* Index into bg_fw_stats (per-CPU u64). */
enum bg_fw_stat {
	BG_STAT_PASS = 0, /* every packet passed, for whatever reason */
	BG_STAT_DROP = 1, /* dropped by a rule or the default policy */
	BG_STAT_MALFORMED = 2, /* dropped: truncated or invalid headers */
	BG_STAT_NON_IP = 3, /* passed: not IPv4/IPv6 (ARP, LLDP ...) */
	BG_STAT_ND = 4, /* passed: IPv6 neighbour discovery */
	BG_STAT_FRAGMENT = 5, /* non-first fragments seen (any verdict) */
	BG_STAT_NO_RULESET = 6, /* passed: no ruleset loaded yet */
	BG_STAT_LOG_LOST = 7, /* log events dropped: ring buffer full */
	BG_STAT_CT_PASS = 8, /* passed: established/related (conntrack) */
	BG_STAT_OVERLOAD = 9, /* dropped: the source is in an overload table */
	BG_STAT_REFUSED = 10, /* dropped: a connection a source limit refused */
	/* 11-15: the routing actions (tc_route counts them; README,
	 * "Routing actions"). Each one leaves the packet to the stack's own
	 * routing unless it says it was sent. */
	BG_STAT_ROUTE_SENT = 11, /* sent to its next hop (route-to, reply-to) */
	BG_STAT_ROUTE_FIB_MISS = 12, /* no usable route to the next hop */
	BG_STAT_ROUTE_TOO_BIG = 13, /* over the next hop's interface MTU */
	BG_STAT_ROUTE_SKIPPED = 14, /* not routed: TTL, VLAN tag; no copy */
	BG_STAT_DUP_SENT = 15, /* copies dup-to sent */
	/* Non-first fragments (README, "Fragments"): */
	BG_STAT_FRAG_TRACKED = 16, /* given their first fragment's verdict */
	BG_STAT_FRAG_UNSEEN = 17, /* first fragment not seen: addresses only */
	BG_STAT_FRAG_OVERLAP = 18, /* dropped: overlaps the first fragment */
	BG_STAT_FRAG_QUOTA = 19, /* a flow's, over its source's quota */
	/* passed: the ACK of a handshake answered with a SYN cookie, its
	 * cookie checked, judged by the rules as its SYN */
	BG_STAT_COOKIE_ACK = 20,
	/* passed in phase 0 as a packet of a flow the load balancer
	 * forwards (its own or its backend's reply) */
	BG_STAT_LB_PASS = 21,
	BG_STAT_MAX = 22,
};

/*
 * LPM trie keys. The generation is the first 32 bits of the trie data, so
 * prefixlen counts it: prefixlen = 32 + address prefix length.
 * Value: __u32, the id of a vector in bg_fw_vec.
 */
#define BG_LPM_GEN_BITS 32

struct bg_lpm4_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_lpm4_key) == 12, "bg_lpm4_key");

struct bg_lpm6_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[16];
};
BG_STATIC_ASSERT(sizeof(struct bg_lpm6_key) == 24, "bg_lpm6_key");

/*
 * bg_fw_sport / bg_fw_dport: LPM tries over TCP/UDP ports. A port range is
 * stored as the prefixes that cover it (at most 30), so ranges cost no
 * expansion; prefixlen = 64 + port prefix length (0..16). Value: vector id.
 */
struct bg_lpm_port_key {
	__u32 prefixlen;
	__u32 gen;
	__u32 family;
	__u8 port[2]; /* network byte order */
	__u8 pad[2];
};
BG_STATIC_ASSERT(sizeof(struct bg_lpm_port_key) == 16, "bg_lpm_port_key");

#define BG_FW_PORT_LPM_MAX 65536
#define BG_FW_PROTOS 256

/* bg_fw_proto: array, index (gen * 2 + family) * 256 + IP protocol. */

/*
 * Rule vectors (Linear Bit Vector Search). Every field lookup yields a
 * vector with bit i set when the family's i-th rule (file order) accepts the
 * packet's value for that field; the AND of all fields' vectors has the
 * matching rules, and its lowest set bit is the first match. Bit i is bit
 * (i % 64) of w[i / 64]; only the first nwords words of a family are read.
 */

/*
 * bg_fw_vec: array, index gen * BG_FW_VEC_PER_GEN + vector id. An array:
 * its lookup is a few instructions where a hash's is a hash and a walk
 * (two to fourteen per packet); 2 x 16384 x 520 bytes = 17 MiB.
 */
struct bg_fw_vec {
	__u64 w[BG_FW_WORDS];
	/* Bit i set when w[i] is not 0: the AND of the fields' summaries
	 * names the only words where a rule can match, so a packet matching
	 * few or no rules reads few words, not all 64. */
	__u64 summary;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_vec) == 520, "bg_fw_vec");

/* bg_fw_rules: array, index (gen * 2 + family) * BG_FW_MAX_RULES + bit. */
struct bg_fw_rule {
	__u32 id; /* 1-based position of the rule in the ruleset */
	__u8 action; /* enum bg_action */
	__u8 flags; /* enum bg_rule_flags */
	__u16 pad;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_rule) == 8, "bg_fw_rule");

/* bg_fw_rinfo: hash, what status.sh shows for a rule. */
struct bg_fw_rinfo_key {
	__u32 gen;
	__u32 id;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_rinfo_key) == 8, "bg_fw_rinfo_key");

struct bg_fw_rinfo {
	__u32 line; /* line of the rule in its ruleset file */
	__u8 action;
	__u8 flags;
	__u8 families; /* BG_FAMF_* the rule applies to */
	__u8 pad;
	char label[BG_FW_LABEL_LEN];
	char iface[BG_IFNAMSIZ]; /* "on IFACE", empty when none */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_rinfo) == 88, "bg_fw_rinfo");

/* bg_fw_iface: hash, interfaces named by "on IFACE" rules. */
struct bg_fw_iface_key {
	__u32 gen;
	__u32 ifindex;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_iface_key) == 8, "bg_fw_iface_key");

struct bg_fw_iface_val {
	__u32 vec[BG_FAM_MAX]; /* vector id per family */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_iface_val) == 8, "bg_fw_iface_val");

/*
 * Vector ids per family, the value of the hashes over values rules name
 * (bg_fw_vlan, bg_fw_mac).
 */
struct bg_fw_fam_vecs {
	__u32 vec[BG_FAM_MAX];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_fam_vecs) == 8, "bg_fw_fam_vecs");

/*
 * bg_fw_vlan: hash, the 802.1Q ids that "vlan N" rules name. A packet's id
 * is its innermost tag; untagged packets and ids no rule names take
 * bg_fw_gen.vlan_other (the rules without "vlan").
 */
struct bg_fw_vlan_key {
	__u32 gen;
	__u32 vid;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_vlan_key) == 8, "bg_fw_vlan_key");

/*
 * bg_fw_mac: hash, the Ethernet addresses "mac-src" and "mac-dst" rules
 * name; addresses no rule names take bg_fw_gen.mac_other[dir].
 */
enum bg_fw_mac_dir {
	BG_FW_MAC_SRC = 0,
	BG_FW_MAC_DST = 1,
	BG_FW_MAC_DIRS = 2,
};

struct bg_fw_mac_key {
	__u32 gen;
	__u8 dir; /* enum bg_fw_mac_dir */
	__u8 pad;
	__u8 addr[6];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_mac_key) == 12, "bg_fw_mac_key");

/*
 * Small fields are arrays of vector ids, one slot per value and a last
 * one for packets without the header the field reads:
 * bg_fw_tcpflags: index (gen * 2 + family) * BG_FW_BYTE_SLOTS + the TCP
 *   flags byte (FIN = bit 0 ... CWR = bit 7), or BG_FW_SLOT_NONE for a
 *   packet with no TCP header in hand (other protocols, later fragments);
 * bg_fw_icmp: index ((gen * 2 + family) * 2 + part) * BG_FW_BYTE_SLOTS +
 *   the ICMP type (part 0) or code (part 1), or BG_FW_SLOT_NONE;
 * bg_fw_dscp: index (gen * 2 + family) * BG_FW_DSCP_SLOTS + DSCP (the
 *   upper six bits of the IPv4 TOS / IPv6 traffic class).
 */
#define BG_FW_BYTE_SLOTS 257
#define BG_FW_SLOT_NONE 256
#define BG_FW_DSCP_SLOTS 64

/* bg_fw_gens: array of BG_GENS, the header of each generation. */
struct bg_fw_gen {
	__u32 loaded; /* 1 once every entry of the generation is in */
	__u32 nids; /* rules in the ruleset: ids 1..nids */
	__u32 nrules[BG_FAM_MAX]; /* rules applying to each family */
	__u32 nwords[BG_FAM_MAX]; /* vector words in use per family */
	__u32 iface_other[BG_FAM_MAX]; /* vector for interfaces no rule names */
	__u8 default_action; /* enum bg_action */
	__u8 uses_iface; /* some rule says "on IFACE" */
	__u8 uses_proto; /* some rule says "proto": bg_fw_proto is filled */
	__u8 uses_ports; /* some rule names a port: bg_fw_[sd]port filled */
	__u8 uses_state; /* some rule says "state" (needs conntrack) */
	__u8 pad[3];
	__u8 digest[32]; /* SHA-256 of the compiled ruleset */
	char source[BG_FW_SOURCE_LEN]; /* path of the ruleset file */
	/* Port vector for packets without ports (not TCP/UDP, non-first
	 * fragments): the rules that name no port. */
	__u32 noport[BG_FAM_MAX];
	/* Vector per connection state (enum bg_ct_class) and family. */
	__u32 state_vec[BG_FAM_MAX][4];
	__u8 uses_vlan; /* some rule says "vlan": bg_fw_vlan is filled */
	__u8 uses_flags; /* "flags": bg_fw_tcpflags is filled */
	__u8 uses_icmp; /* "icmp-type": bg_fw_icmp is filled */
	__u8 uses_mac; /* 1 << enum bg_fw_mac_dir: bg_fw_mac is filled */
	__u8 uses_dscp; /* "dscp": bg_fw_dscp is filled */
	__u8 uses_overload; /* some rule says "overload": phase 0 checks it */
	__u8 pad2[2];
	__u32 vlan_other[BG_FAM_MAX];
	__u32 mac_other[BG_FW_MAC_DIRS][BG_FAM_MAX];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_gen) == 272, "bg_fw_gen");

/* bg_fw_active: array of 1, the generation packets use. */
struct bg_fw_active {
	__u32 gen;
	__u32 switches; /* ruleset switches since the maps were created */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_active) == 8, "bg_fw_active");

/* bg_fw_hits: per-CPU array, index gen * BG_FW_HITS_PER_GEN + rule id. */
struct bg_fw_hit {
	__u64 packets;
	__u64 bytes;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_hit) == 16, "bg_fw_hit");

/* Who wrote a bg_fw_log record. */
enum bg_log_origin {
	BG_LOG_FIREWALL = 0, /* a "log" rule; rule_id is the rule's */
	BG_LOG_RATELIMIT = 1, /* an "action log" policy over its rate;
			       * rule_id is the policy id */
};

/* bg_fw_log: ring buffer record for a packet that hit a "log" rule. */
struct bg_fw_log_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u32 rule_id;
	__u32 ifindex;
	__u8 action; /* enum bg_action */
	__u8 family; /* enum bg_family */
	__u8 l4_proto;
	__u8 origin; /* enum bg_log_origin */
	__be16 sport;
	__be16 dport;
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 pkt_len;
	__u32 pad2;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_log_event) == 64, "bg_fw_log_event");

/* Connection limits */

#define BG_FW_TABLE_NAME_LEN 32
#define BG_FW_SRCLIM_MAX 65536
#define BG_FW_OVERLOAD_MAX 65536

/*
 * bg_fw_limits: hash, key struct bg_fw_rinfo_key {gen, rule id}: the
 * connection limits of a rule with BG_RULE_F_LIMIT (0: no such limit).
 */
struct bg_fw_limit {
	__u32 max_states; /* flows the rule's packets may have open */
	__u32 max_src_conn; /* established TCP connections per source */
	__u32 rate_conns; /* max-src-conn-rate N/S: N connections ... */
	__u32 rate_secs; /* ... per S seconds and source */
	__u8 overload; /* 1: a source over a limit goes into the table */
	__u8 flush; /* 1: and its flows are deleted */
	__u8 pad[2];
	char table[BG_FW_TABLE_NAME_LEN]; /* the overload table's name */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_limit) == 52, "bg_fw_limit");

/*
 * bg_fw_rstates: array of __u64, index gen * BG_FW_HITS_PER_GEN + rule id:
 * flows alive that the rule admitted (max-states).
 */

/*
 * bg_fw_srclim: LRU hash, a source's established connections and recent
 * connection rate under one rule (max-src-conn, max-src-conn-rate).
 */
struct bg_fw_srclim_key {
	__u32 epoch; /* the ruleset's: bg_fw_active.switches */
	__u32 rule_id;
	__u32 family; /* enum bg_family */
	__be32 addr[4]; /* IPv4 in addr[0] */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_srclim_key) == 28, "bg_fw_srclim_key");

struct bg_fw_srclim {
	__u64 win_start_ns; /* start of the current rate window */
	__u64 conns; /* established connections open now */
	__u32 win_count; /* connections established in this window */
	__u32 prev_count; /* ... in the window before it */
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_srclim) == 24, "bg_fw_srclim");

/*
 * bg_fw_overload: LRU hash, the sources put in an overload table; phase 0
 * drops their packets until expires_ns (conntrack's clock).
 */
struct bg_fw_overload_key {
	__u32 family; /* enum bg_family */
	__be32 addr[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_overload_key) == 20, "bg_fw_overload_key");

enum bg_fw_overload_reason {
	BG_FW_OVL_CONN = 1, /* max-src-conn */
	BG_FW_OVL_RATE = 2, /* max-src-conn-rate */
};

struct bg_fw_overload {
	__u64 since_ns;
	__u64 expires_ns;
	__u32 rule_id; /* the rule whose limit it exceeded */
	__u8 reason; /* enum bg_fw_overload_reason */
	__u8 flush; /* its flows were deleted */
	__u8 pad[2];
	char table[BG_FW_TABLE_NAME_LEN];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_overload) == 56, "bg_fw_overload");

/* Rule text ---------------------------------------------------------- */

/*
 * bg_fw_rtext: hash, key struct bg_fw_rinfo_key {gen, id}: each rule of a
 * generation written back in canonical ruleset syntax by fwmapgen
 * (fwmapgen/rule_format.c) from what it parsed: macros expanded, tables
 * by name, keywords in grammar order. status.sh shows it beside the
 * rule's counters; the programs never read it. Id 0 holds the default
 * policy as "set default pass|block". The text is printable ASCII ending
 * in a NUL; one of len >= BG_FW_RTEXT_LEN bytes is cut at a blank and
 * ends in BG_FW_RTEXT_CUT, with BG_FW_RTEXT_F_CUT set.
 */
#define BG_FW_RTEXT_LEN 512
#define BG_FW_RTEXT_CUT " ..."

enum bg_fw_rtext_flags {
	BG_FW_RTEXT_F_CUT = 1 << 0, /* text is the start of a longer one */
};

struct bg_fw_rtext {
	__u32 len; /* length of the whole text, also of a cut one */
	__u32 flags; /* enum bg_fw_rtext_flags */
	char text[BG_FW_RTEXT_LEN];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_rtext) == 520, "bg_fw_rtext");

/* Routing */

/*
 * The routing actions of "pass" rules: route-to, reply-to, dup-to
 * (bg_fw_route.actions). A rule with any of them has BG_RULE_F_ROUTE in
 * bg_fw_rule.flags; the firewall then marks the packets it passes with
 * BG_META_F_ROUTE and tc_route (TC ingress) carries the actions out.
 */
enum bg_route_flags {
	BG_ROUTE_F_ROUTE_TO = 1 << 0, /* the flows' packets to route_to */
	BG_ROUTE_F_REPLY_TO = 1 << 1, /* the flows' replies to reply_to */
	BG_ROUTE_F_DUP_TO = 1 << 2, /* copies of them out of dup_ifindex */
	BG_ROUTE_F_DUP_VIA = 1 << 3, /* ... addressed to dup_via's MAC */
};

/*
 * bg_fw_route: hash, the routing actions of a rule, {gen, rule id} as in
 * bg_fw_rinfo. Id 0 (the default policy, which never routes) holds the
 * union of the actions of the generation's rules, and only in a
 * generation that has some: the scripts read it to tell whether the
 * running ruleset routes (the "route" feature of the program registry).
 */
struct bg_fw_route_key {
	__u32 gen;
	__u32 id;
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_route_key) == 8, "bg_fw_route_key");

struct bg_fw_route {
	__u8 actions; /* BG_ROUTE_F_* */
	__u8 family; /* enum bg_family of the addresses below */
	__u8 pad[2];
	__u32 dup_ifindex; /* dup-to IFACE; 0: not here when compiled */
	__be32 route_to[4]; /* next hops, IPv4 in word 0 */
	__be32 reply_to[4];
	__be32 dup_via[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_fw_route) == 56, "bg_fw_route");

#endif /* BG_FW_ABI_H */
