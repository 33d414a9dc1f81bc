/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, connection tracking (tc_conntrack writes, xdp_firewall
 * reads): flow keys and entries, settings, counters.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_CT_ABI_H
#define BG_CT_ABI_H

#include "bg_abi_common.h"

/* Per-packet connection class, the values of the "state" rule field. */
enum bg_ct_class {
	BG_CT_NEW = 0,
	BG_CT_ESTABLISHED = 1,
	BG_CT_RELATED = 2,
	BG_CT_INVALID = 3,
};

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
BG_STATIC_ASSERT(sizeof(struct bg_ct_local_key) == 20, "bg_ct_local_key");

#define BG_CT_LOCAL_MAX 1024
#define BG_CT_LOCAL_SEEDED 1 /* value: written by up.sh */
#define BG_CT_LOCAL_LEARNT 2 /* value: seen leaving the host */

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
BG_STATIC_ASSERT(sizeof(struct bg_ct4_key) == 20, "bg_ct4_key");

struct bg_ct6_key {
	__be32 addr[2][4];
	__be16 port[2];
	__u16 vlan[2];
	__u8 proto;
	__u8 pad[3];
};
BG_STATIC_ASSERT(sizeof(struct bg_ct6_key) == 44, "bg_ct6_key");

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
	/* What the XDP stages said of the flow's first packet seen at TC
	 * ingress (bg_xdp_meta.status, BG_XDP_ST_*); 0: none. */
	__u16 xdp_status;
	/* Reserved for NAT: the translated address and port of side 1. */
	__be32 nat_addr[4];
	__be16 nat_port;
	__u16 nat_flags;
	/* A hash of the key: a writer checks under the lock that the entry
	 * still holds its flow (an entry may be freed and reused meanwhile). */
	__u32 key_hash;
	/* The connection limits of the rule that admitted the flow: what
	 * it is counted in (BG_CT_LF_*), the ruleset generation whose
	 * rule_id that is, and the ruleset's epoch (bg_fw_active.switches
	 * when it was admitted): counts of an older ruleset are never
	 * those of a newer one that reuses the generation. */
	__u8 limit_flags;
	__u8 limit_gen;
	__u8 pad[2];
	__u32 limit_epoch;
};
BG_STATIC_ASSERT(sizeof(struct bg_ct_entry) == 152, "bg_ct_entry");

enum bg_ct_limit_flags {
	BG_CT_LF_RULE = 1 << 0, /* its rule has connection limits */
	BG_CT_LF_STATES = 1 << 1, /* counted in its rule's bg_fw_rstates */
	BG_CT_LF_CONN = 1 << 2, /* counted in its source's bg_fw_srclim */
	BG_CT_LF_DONE = 1 << 3, /* its establishment has been counted */
	/* Refused by a source limit: its packets are dropped, in XDP and
	 * TC, until the entry expires (time_wait, 120 s by default: longer
	 * than the server's half-open connection waits for the ACK). */
	BG_CT_LF_REFUSED = 1 << 4,
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
	/* not a flow's: how long a source stays in an overload table */
	BG_CTT_OVERLOAD,
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
BG_STATIC_ASSERT(sizeof(struct bg_ct_config) == 56, "bg_ct_config");

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
BG_STATIC_ASSERT(sizeof(struct bg_ct_count) == 32, "bg_ct_count");

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

/* Index into bg_ct_stats (per-CPU u64). */
enum bg_ct_stat {
	BG_CT_STAT_NEW = 0, /* packets classified NEW (entry created or not) */
	BG_CT_STAT_ESTABLISHED = 1, /* packets classified ESTABLISHED */
	BG_CT_STAT_RELATED = 2, /* ICMP errors quoting a tracked flow */
	BG_CT_STAT_INVALID = 3, /* packets classified INVALID */
	BG_CT_STAT_OVER_LIMIT = 4, /* new flows not tracked: limit_states */
	BG_CT_STAT_EVICTED = 5, /* entries found missing by the sweep */
	BG_CT_STAT_EXPIRED = 6, /* entries deleted because they timed out */
	BG_CT_STAT_MIDSTREAM = 7, /* TCP flows picked up without a SYN */
	BG_CT_STAT_CREATED = 8, /* entries created */
	BG_CT_STAT_SKIPPED = 9, /* egress packets from a bpfguard interface */
	/* Not IP, malformed, other L4; later fragments of no known flow. */
	BG_CT_STAT_UNTRACKED = 10,
	BG_CT_STAT_SWEEPS = 11, /* sweep ticks */
	BG_CT_STAT_WRONG_IFACE = 12, /* INVALID: arrived from the wrong side */
	BG_CT_STAT_RST_IGNORED = 13, /* in-window RST not at the exact seq */
	BG_CT_STAT_LOCK_BUSY = 14, /* update given up: entry locked too long */
	BG_CT_STAT_UNSWEPT = 15, /* flows created without a slot in the ring */
	BG_CT_STAT_SPOOFED = 16, /* no flow: a local or off-path source */
	BG_CT_STAT_LIMIT_STATES = 17, /* new flows refused: rule max-states */
	BG_CT_STAT_LIMIT_CONN = 18, /* refused: over max-src-conn(-rate) */
	BG_CT_STAT_OVERLOADED = 19, /* sources put in an overload table */
	BG_CT_STAT_VLAN_HIDDEN = 20, /* dropped: VLAN tag XDP could not see */
	BG_CT_STAT_OVERLOAD_FLUSH = 21, /* table walks of overload flushes */
	BG_CT_STAT_FRAG_COUNTED = 22, /* later fragments counted on a flow */
	/* TCP flows opened by the ACK of a SYN cookie handshake (the
	 * firewall checked the cookie: BG_META_F_COOKIE), not counted in midstream */
	BG_CT_STAT_COOKIE = 23,
	BG_CT_STAT_MAX = 24,
};
#endif /* BG_CT_ABI_H */
