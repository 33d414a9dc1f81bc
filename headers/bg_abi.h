/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI: the layout of every pinned map key and value, shared by the
 * BPF programs (progs/), fwmapgen and the other userspace helpers.
 *
 * Rules of this file: fixed-width fields only, explicit padding, a
 * _Static_assert on every size, multi-byte integers in host byte order
 * unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_ABI_H
#define BG_ABI_H

#include <linux/types.h>

#define BG_PIN_SUBDIR "tc/globals"

/*
 * Two generations of every classifier table live side by side: the active
 * one and the one being filled. A packet reads bg_fw_active once and then
 * uses only that generation's entries, so a ruleset switch is one 4-byte
 * store and no packet is classified by a mix of two rulesets.
 */
#define BG_GENS 2

#define BG_FW_MAX_RULES 4096 /* rules applying to one family */
#define BG_FW_MAX_IDS 8192 /* rule ids 1..8192; id 0 = default policy */
#define BG_FW_WORDS (BG_FW_MAX_RULES / 64)
#define BG_FW_LPM_MAX 1048576 /* prefixes per trie, both generations */
#define BG_FW_VEC_MAX 65536 /* distinct rule vectors, both generations */
#define BG_FW_IFACE_MAX 1024
#define BG_FW_LABEL_LEN 64
#define BG_IFNAMSIZ 16
#define BG_FW_SOURCE_LEN 128
#define BG_FW_HITS_PER_GEN (BG_FW_MAX_IDS + 1)

enum bg_family {
	BG_FAM_INET = 0,
	BG_FAM_INET6 = 1,
	BG_FAM_MAX = 2,
};

#define BG_FAMF_INET (1 << BG_FAM_INET)
#define BG_FAMF_INET6 (1 << BG_FAM_INET6)

/* Per-packet connection class, the values of the "state" rule field. */
enum bg_ct_class {
	BG_CT_NEW = 0,
	BG_CT_ESTABLISHED = 1,
	BG_CT_RELATED = 2,
	BG_CT_INVALID = 3,
};

enum bg_action {
	BG_ACT_PASS = 0,
	BG_ACT_BLOCK = 1,
};

enum bg_rule_flags {
	BG_RULE_F_LOG = 1 << 0,
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
	BG_STAT_MAX = 16,
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

struct bg_lpm6_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[16];
};

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
struct bg_fw_vec_key {
	__u32 gen;
	__u32 id;
};

struct bg_fw_vec {
	__u64 w[BG_FW_WORDS];
};

/* bg_fw_rules: array, index (gen * 2 + family) * BG_FW_MAX_RULES + bit. */
struct bg_fw_rule {
	__u32 id; /* 1-based position of the rule in the ruleset */
	__u8 action; /* enum bg_action */
	__u8 flags; /* enum bg_rule_flags */
	__u16 pad;
};

/* bg_fw_rinfo: hash, what status.sh shows for a rule. */
struct bg_fw_rinfo_key {
	__u32 gen;
	__u32 id;
};

struct bg_fw_rinfo {
	__u32 line; /* line of the rule in its ruleset file */
	__u8 action;
	__u8 flags;
	__u8 families; /* BG_FAMF_* the rule applies to */
	__u8 pad;
	char label[BG_FW_LABEL_LEN];
	char iface[BG_IFNAMSIZ]; /* "on IFACE", empty when none */
};

/* bg_fw_iface: hash, interfaces named by "on IFACE" rules. */
struct bg_fw_iface_key {
	__u32 gen;
	__u32 ifindex;
};

struct bg_fw_iface_val {
	__u32 vec[BG_FAM_MAX]; /* vector id per family */
};

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
};

/* bg_fw_active: array of 1, the generation packets use. */
struct bg_fw_active {
	__u32 gen;
	__u32 switches; /* ruleset switches since the maps were created */
};

/* bg_fw_hits: per-CPU array, index gen * BG_FW_HITS_PER_GEN + rule id. */
struct bg_fw_hit {
	__u64 packets;
	__u64 bytes;
};

/*
 * XDP -> TC metadata written in front of the packet on XDP_PASS (the room
 * is 4-byte aligned as bpf_xdp_adjust_meta requires).
 */
struct bg_xdp_meta {
	__u32 rule_id;
	__u16 flags; /* BG_META_F_* */
	__u16 status; /* rate limiter result, 0 = not rate limited */
};

#define BG_META_F_LOG (1 << 0)
#define BG_META_F_DEFAULT (1 << 1) /* passed by the default policy */
#define BG_META_F_CT (1 << 2) /* passed as established/related */

/*
 * bg_ifaces: hash, the interfaces the toolkit runs on (written by up.sh,
 * read by down.sh and status.sh). The network namespace is part of the key
 * because one bpffs can serve several namespaces.
 */
struct bg_iface_key {
	__u64 netns; /* inode of /proc/self/ns/net */
	__u32 ifindex;
	__u32 pad;
};

struct bg_iface_val {
	__u32 xdp_prog_id;
	__u8 xdp_mode; /* 1 native, 2 generic */
	__u8 flags; /* BG_IFACE_F_* */
	__u8 pad[2];
	char name[BG_IFNAMSIZ];
};

#define BG_IFACE_F_CLSACT_CREATED (1 << 0)

/* bg_ct_ifidx values: flags of an interface bpfguard runs on. */
#define BG_CT_IF_OURS (1 << 0)
/* Strict reverse path (up.sh --reverse-path, the default): where the
 * interface forwards, a flow is opened only by a packet whose source is
 * routed back through it. */
#define BG_CT_IF_RPF_STRICT (1 << 1)

/*
 * bg_ct_local: LRU hash, this host's own addresses. A packet arriving from
 * outside with one of them as its source opens no flow. Seeded by up.sh
 * from the addresses configured, learnt by tc_conntrack from the packets
 * the host itself sends (egress, not forwarded).
 */
struct bg_ct_local_key {
	__u32 family; /* enum bg_family */
	__be32 addr[4]; /* IPv4 in addr[0] */
};

#define BG_CT_LOCAL_MAX 1024
#define BG_CT_LOCAL_SEEDED 1 /* value: written by up.sh */
#define BG_CT_LOCAL_LEARNT 2 /* value: seen leaving the host */

/* bg_fw_log: ring buffer record for a packet that hit a "log" rule. */
struct bg_fw_log_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u32 rule_id;
	__u32 ifindex;
	__u8 action; /* enum bg_action */
	__u8 family; /* enum bg_family */
	__u8 l4_proto;
	__u8 pad;
	__be16 sport;
	__be16 dport;
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 pkt_len;
	__u32 pad2;
};

/*
 * Connection tracking (tc_conntrack writes, xdp_firewall reads).
 *
 * One LRU table per family, bg_ct4 and bg_ct6. The key is the 5-tuple in
 * normal form plus the VLAN ids: side 0 is the endpoint whose (address,
 * port) compares lower (memcmp of the address, then the port in network
 * order), so both directions of a flow find the same entry. Which side
 * opened the flow is in the entry (BG_CTF_ORIGIN_SIDE1), not in the key.
 * ICMP/ICMPv6 echo flows use the echo identifier as both ports.
 *
 * The VLAN ids are part of the key (a zone, as Linux's conntrack zones):
 * a flow tracked on one VLAN is a different flow on another, so a host on
 * VLAN 200 cannot ride a flow of the untagged network. The interface is
 * not in the key, because the two directions of a forwarded flow arrive on
 * two interfaces; the entry records where each direction is expected
 * (bg_ct_entry.ifindex) and packets from anywhere else are INVALID.
 */
struct bg_ct4_key {
	__be32 addr[2];
	__be16 port[2];
	__u16 vlan[2]; /* 802.1Q/802.1ad ids, outermost first; 0: none */
	__u8 proto;
	__u8 pad[3];
};

struct bg_ct6_key {
	__be32 addr[2][4];
	__be16 port[2];
	__u16 vlan[2];
	__u8 proto;
	__u8 pad[3];
};

/* Stored states. UDP and ICMP echo use NEW and ESTABLISHED only. */
enum bg_ct_state {
	BG_CTS_NONE = 0,
	BG_CTS_SYN_SENT = 1,
	BG_CTS_SYN_RECV = 2,
	BG_CTS_ESTABLISHED = 3,
	BG_CTS_FIN_WAIT = 4,
	BG_CTS_CLOSE_WAIT = 5,
	BG_CTS_LAST_ACK = 6,
	BG_CTS_TIME_WAIT = 7,
	BG_CTS_CLOSE = 8,
	BG_CTS_NEW = 9,
	BG_CTS_MAX = 10,
};

enum bg_ct_flags {
	BG_CTF_ORIGIN_SIDE1 = 1 << 0, /* the initiator is key side 1 */
	BG_CTF_SEEN_REPLY = 1 << 1, /* the responder has sent a packet */
	BG_CTF_ASSURED = 1 << 2, /* established with traffic both ways */
	BG_CTF_LOCAL = 1 << 3, /* ends in a local socket */
	BG_CTF_MIDSTREAM = 1 << 4, /* picked up without seeing the SYN */
	BG_CTF_COUNTED = 1 << 5, /* counted in its source's bg_ct_src* */
	BG_CTF_EGRESS = 1 << 6, /* opened leaving the host (TC egress) */
	BG_CTF_UNSWEPT = 1 << 7, /* no slot in the sweep's ring (it was full) */
};

/* TCP bookkeeping per key side (bg_ct_entry.tcp_flags). */
enum bg_ct_tcp_flags {
	BG_CT_TF_FIN0 = 1 << 0, /* side 0 has sent a FIN */
	BG_CT_TF_FIN1 = 1 << 1,
	BG_CT_TF_ACK0 = 1 << 2, /* side 0 has sent an ACK: td_maxack[0] set */
	BG_CT_TF_ACK1 = 1 << 3,
	BG_CT_TF_END0 = 1 << 4, /* td_maxend[0] set (side 1 has acked) */
	BG_CT_TF_END1 = 1 << 5,
};

/* Direction index of per-direction fields: from the initiator or not. */
#define BG_CT_DIR_ORIG 0
#define BG_CT_DIR_REPLY 1

struct bg_ct_entry {
	/* Unique per flow (CPU id in the top byte, a per-CPU count below):
	 * a writer that finds another flow_id after taking the lock knows
	 * its entry was deleted and reused meanwhile. */
	__u64 flow_id;
	__u64 first_ns; /* bpf_ktime_get_boot_ns() (+ test clock offset) */
	__u64 last_ns;
	__u64 packets[2]; /* [BG_CT_DIR_ORIG], [BG_CT_DIR_REPLY]; segments */
	__u64 bytes[2];
	__u64 sock_cookie; /* local socket, from skb->sk on egress; 0 if none */
	/* Sequence lock: odd while tc_conntrack updates the entry. Writers
	 * take it with a compare-and-swap, readers retry on a change. */
	__u32 seq;
	__u32 rule_id; /* firewall rule that admitted the first packet */
	__u32 td_end[2]; /* per key side: highest seq + len sent */
	__u32 td_maxwin[2]; /* per key side: largest window advertised */
	__u32 td_maxack[2]; /* per key side: highest ACK sent (until the
			     * initiator's first ACK: its SYN's seq + 1) */
	__u32 td_maxend[2]; /* per key side: the highest sequence the other
			     * side allowed it (ack + scaled window) */
	/*
	 * Per direction, where its packets are expected: [ORIG] is the
	 * interface the initiator's packets arrive on (a flow opened at TC
	 * ingress) or leave by (opened at egress); [REPLY] the interface
	 * replies arrive on, 0 while not known (a flow to a local socket has
	 * none: its replies are made here).
	 */
	__u32 ifindex[2];
	__u8 td_wscale[2]; /* per key side: window scale from its SYN */
	__u8 state; /* enum bg_ct_state */
	__u8 flags; /* enum bg_ct_flags */
	__u8 proto;
	__u8 tcp_flags; /* enum bg_ct_tcp_flags */
	__u8 pad[2];
	/* Reserved for NAT: the translated address and port of side 1. */
	__be32 nat_addr[4];
	__be16 nat_port;
	__u16 nat_flags;
	/* A hash of the key: a writer checks under the lock that the entry
	 * still holds its flow (an entry may be freed and reused meanwhile). */
	__u32 key_hash;
};

/* Timeouts (bg_ct_config.timeout index). */
enum bg_ct_timeout {
	BG_CTT_TCP_SYN_SENT = 0,
	BG_CTT_TCP_SYN_RECV,
	BG_CTT_TCP_ESTABLISHED,
	BG_CTT_TCP_FIN_WAIT,
	BG_CTT_TCP_CLOSE_WAIT,
	BG_CTT_TCP_LAST_ACK,
	BG_CTT_TCP_TIME_WAIT,
	BG_CTT_TCP_CLOSE,
	BG_CTT_UDP_UNREPLIED,
	BG_CTT_UDP_REPLIED,
	BG_CTT_ICMP,
	BG_CTT_MAX = 12,
};

/*
 * bg_ct_config: array of BG_GENS, the conntrack settings of each ruleset
 * generation ("set timeout", "set limit states"). Conntrack reads the
 * entry of the generation bg_fw_active names, so new settings take effect
 * with the same store that switches the rules, not before.
 */
struct bg_ct_config {
	__u32 timeout[BG_CTT_MAX]; /* seconds; 0 = the built-in default */
	__u32 limit_states; /* cap on flows per family; 0 = the capacity */
	__u32 pad;
};

/*
 * bg_ct_live: array of BG_FAM_MAX, the flows of each family. Monotonic
 * counters only, each changed by one atomic add when an insert or delete
 * has succeeded: live = inserted - deleted - evicted is exact but for the
 * operations in flight on other CPUs, and never below zero.
 */
struct bg_ct_count {
	__u64 inserted; /* entries conntrack created */
	__u64 deleted; /* entries conntrack deleted (expired, replaced) */
	__u64 evicted; /* entries found missing by the sweep (LRU, flush) */
	__u64 unswept; /* live entries without a slot in the sweep's ring */
};

/* bg_ct_clock: array of 1, __s64 nanoseconds added to conntrack's clock.
 * A test hook (tests age entries without waiting); 0 in production. */

/*
 * Flows per family: "set limit states" may go up to BG_CT_TABLE_MAX. The
 * LRU tables hold a quarter more (BG_CT_LRU_SLACK), because the kernel's
 * LRU keeps up to ~256 free entries per CPU on local lists and evicts once
 * its shared list runs dry: with the slack it never has to evict a flow
 * below the limit on machines of up to 64 CPUs (at the default size). So
 * an LRU table's max_entries is 5/4 of what conntrack tracks in it. ~210
 * bytes per IPv4 and ~235 per IPv6 entry preallocated: ~36 MiB in all by
 * default. Fixed at build time: make EXTRA_BPF_CFLAGS=-DBG_CT_TABLE_MAX=N
 * (a multiple of 4; and down.sh first).
 */
#ifndef BG_CT_TABLE_MAX
#define BG_CT_TABLE_MAX 65536
#endif
#define BG_CT_LRU_SLACK (BG_CT_TABLE_MAX / 4)

#define BG_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
BG_STATIC_ASSERT(sizeof(struct bg_lpm4_key) == 12, "bg_lpm4_key");
BG_STATIC_ASSERT(sizeof(struct bg_lpm6_key) == 24, "bg_lpm6_key");
BG_STATIC_ASSERT(sizeof(struct bg_fw_vec_key) == 8, "bg_fw_vec_key");
BG_STATIC_ASSERT(sizeof(struct bg_fw_vec) == 512, "bg_fw_vec");
BG_STATIC_ASSERT(sizeof(struct bg_fw_rule) == 8, "bg_fw_rule");
BG_STATIC_ASSERT(sizeof(struct bg_fw_rinfo_key) == 8, "bg_fw_rinfo_key");
BG_STATIC_ASSERT(sizeof(struct bg_fw_rinfo) == 88, "bg_fw_rinfo");
BG_STATIC_ASSERT(sizeof(struct bg_fw_iface_key) == 8, "bg_fw_iface_key");
BG_STATIC_ASSERT(sizeof(struct bg_fw_iface_val) == 8, "bg_fw_iface_val");
BG_STATIC_ASSERT(sizeof(struct bg_fw_gen) == 240, "bg_fw_gen");
BG_STATIC_ASSERT(sizeof(struct bg_lpm_port_key) == 16, "bg_lpm_port_key");
BG_STATIC_ASSERT(sizeof(struct bg_fw_active) == 8, "bg_fw_active");
BG_STATIC_ASSERT(sizeof(struct bg_fw_hit) == 16, "bg_fw_hit");
BG_STATIC_ASSERT(sizeof(struct bg_xdp_meta) == 8, "bg_xdp_meta");
BG_STATIC_ASSERT(sizeof(struct bg_iface_key) == 16, "bg_iface_key");
BG_STATIC_ASSERT(sizeof(struct bg_iface_val) == 24, "bg_iface_val");
BG_STATIC_ASSERT(sizeof(struct bg_fw_log_event) == 64, "bg_fw_log_event");
BG_STATIC_ASSERT(sizeof(struct bg_ct4_key) == 20, "bg_ct4_key");
BG_STATIC_ASSERT(sizeof(struct bg_ct6_key) == 44, "bg_ct6_key");
BG_STATIC_ASSERT(sizeof(struct bg_ct_entry) == 144, "bg_ct_entry");
BG_STATIC_ASSERT(sizeof(struct bg_ct_config) == 56, "bg_ct_config");
BG_STATIC_ASSERT(sizeof(struct bg_ct_count) == 32, "bg_ct_count");
BG_STATIC_ASSERT(sizeof(struct bg_ct_local_key) == 20, "bg_ct_local_key");

#endif /* BG_ABI_H */
