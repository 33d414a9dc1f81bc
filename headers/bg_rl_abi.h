/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, the rate limiter (xdp_ratelimit and fwmapgen): its
 * policies, DDoS settings, per-source state and counters.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_RL_ABI_H
#define BG_RL_ABI_H

#include <linux/bpf.h> /* struct bpf_spin_lock, struct bpf_timer */
#include "bg_abi_common.h"

/*
 * Policies: "ratelimit ..." statements, numbered 1..n in file order (the
 * policy id: the same in status, counters, events and --explain). Up to
 * BG_RL_MAX_POLICIES per ruleset.
 */
#define BG_RL_MAX_POLICIES 256
#define BG_RL_POLICY_SLOTS (BG_RL_MAX_POLICIES + 1) /* id 0 unused */
#define BG_RL_LABEL_LEN 64
/*
 * Matching: longest prefix on the source, then first match on the rest.
 * fwmapgen puts every distinct "from" prefix of a family into the
 * family's source trie (bg_rl_src4, bg_rl_src6; "from any" is /0). The
 * value is a candidate list: the policies whose source covers that
 * prefix, the most specific source first and file order among equals.
 * The kernel walks the list of the packet's longest prefix and takes the
 * first policy whose other fields match: the most specific source wins,
 * a broader one applies when no narrower policy matches the rest.
 */
#define BG_RL_CAND_MAX 32 /* policies one source address can meet */
#define BG_RL_CLISTS_PER_GEN 1024 /* distinct source prefixes per gen */
#define BG_RL_LPM_MAX (BG_GENS * BG_RL_CLISTS_PER_GEN)

/* bg_rl_src4 / bg_rl_src6: LPM tries, keys struct bg_lpm4_key and
 * bg_lpm6_key of bg_fw_abi.h (prefixlen = 32 + address prefix, the
 * generation first). Value: __u32, the index of the candidate list in
 * bg_rl_clist (gen * BG_RL_CLISTS_PER_GEN + list). */

/* bg_rl_clist: array, index gen * BG_RL_CLISTS_PER_GEN + list index. */
struct bg_rl_clist {
	__u32 n; /* entries in pol[] */
	__u16 pol[BG_RL_CAND_MAX]; /* policy ids, in the order to try */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_clist) == 68, "bg_rl_clist");

enum bg_rl_algo {
	BG_RL_ALGO_TOKEN_BUCKET = 0, /* the default */
	BG_RL_ALGO_FIXED_WINDOW = 1,
	BG_RL_ALGO_SLIDING_WINDOW = 2,
	BG_RL_ALGO_LEAKY_BUCKET = 3,
	BG_RL_ALGO_MAX = 4,
};

enum bg_rl_action {
	BG_RL_ACT_DROP = 0, /* packets over the rate are dropped */
	BG_RL_ACT_LOG = 1, /* ... are passed and logged (bg_fw_log) */
};

enum bg_rl_policy_flags {
	/* state per source (prefix): "per-source" */
	BG_RL_PF_PER_SOURCE = 1 << 0,
	BG_RL_PF_DST = 1 << 1, /* "to ADDR": dst/dst_plen apply */
	BG_RL_PF_PORTS = 1 << 2, /* "port ...": dport_lo..dport_hi apply */
};

/*
 * bg_rl_policy: array, index gen * BG_RL_POLICY_SLOTS + policy id.
 *
 * A rate is rate packets per interval_ns (N/second: 1e9, N/minute: 6e10).
 * burst: what the algorithm allows above the steady rate:
 *   token-bucket    bucket size in packets (default: rate)
 *   leaky-bucket    bucket size in packets (default: 1, no bursts: the
 *                   packets leave at the constant drain rate)
 *   fixed-window,   not settable: a window admits rate packets
 *   sliding-window
 * rate and burst are at most BG_RL_RATE_MAX, so that burst * interval_ns
 * and the other products the kernel forms stay within 64 bits.
 */
#define BG_RL_RATE_MAX 100000000u
#define BG_RL_NS_SECOND 1000000000ull
#define BG_RL_NS_MINUTE 60000000000ull

struct bg_rl_policy {
	__u32 id; /* its own id, 0: no policy in this slot */
	__u32 ifindex; /* "on IFACE"; 0: any */
	__u8 family; /* enum bg_family of dst (its source trie tells the rest) */
	__u8 proto; /* IP protocol; 0: any */
	__u8 algo; /* enum bg_rl_algo */
	__u8 action; /* enum bg_rl_action */
	__u8 flags; /* enum bg_rl_policy_flags */
	/* per-source: prefix the source is kept by (32/128 full); 0 in a
	 * policy of both families: the whole address of the packet's */
	__u8 src_plen;
	__u8 dst_plen; /* "to": prefix length of dst */
	__u8 pad;
	__u16 dport_lo; /* "port": destination ports lo..hi, host order */
	__u16 dport_hi;
	__be32 dst[4]; /* "to": IPv4 in word 0, masked to dst_plen */
	__u32 pad2;
	__u64 rate; /* packets per interval_ns */
	__u64 interval_ns;
	__u64 burst; /* packets; see above */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_policy) == 64, "bg_rl_policy");

/* bg_rl_pinfo: hash, key struct bg_rl_pinfo_key {gen, id}: what status.sh
 * shows of a policy (the programs never read it). */
struct bg_rl_pinfo_key {
	__u32 gen;
	__u32 id;
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_pinfo_key) == 8, "bg_rl_pinfo_key");

struct bg_rl_pinfo {
	__u32 line; /* line of the statement in its ruleset file */
	__u32 pad;
	char label[BG_RL_LABEL_LEN];
	char text[448]; /* the statement in canonical syntax, NUL-terminated */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_pinfo) == 520, "bg_rl_pinfo");

/*
 * DDoS protections ("set syn-flood", "set icmp-flood", "set
 * udp-amplification", "set tcp-flood"); 0 turns a limit off. Rates are
 * packets per second and source.
 */
struct bg_rl_config {
	__u32 npolicies; /* policies 1..npolicies */
	__u32 syn_rate; /* SYNs per second from one source */
	__u32 syn_cookies; /* 1: answer SYNs with cookies under a flood */
	/* SYNs per second from all sources together above which SYNs to
	 * local listeners are answered with cookies (syn_cookies) */
	__u32 syn_cookie_above;
	__u32 icmp_rate;
	__u32 icmp_max_payload; /* bytes after the ICMP header; 0: any */
	__u32 udp_amp_rate; /* per source and source port in bg_rl_amp_ports */
	__u32 tcp_half_open; /* SYNs not yet completed per source */
	__u32 tcp_rst_rate; /* RST ... */
	__u32 tcp_fin_rate; /* FIN ... */
	__u32 tcp_ack_rate; /* ... and ACK segments (data or not) per second and
			     * source, of flows conntrack does not know */
	__u32 pad;
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_config) == 48, "bg_rl_config");

/* bg_rl_config: array of BG_GENS. */

/* bg_rl_amp_ports: array of __u64, index gen * BG_RL_PORT_WORDS + port /
 * 64, bit port % 64: the source ports of "set udp-amplification". */
#define BG_RL_PORT_WORDS (65536 / 64)

/*
 * State. One entry per (policy or protection, source): a plain hash, not
 * an LRU, and not per-CPU. Not per-CPU, so that a source is held to its
 * rate however many CPUs its packets arrive on: the entry is updated
 * under its bpf_spin_lock. Not an LRU, so that a flood of new sources
 * cannot evict the state of the sources being limited: entries leave only
 * when idle (the sweep timer). When the table is full, a source without
 * an entry is counted against its policy's shared bucket (bg_rl_shared)
 * and BG_RL_STAT_STATE_FULL goes up.
 */
#define BG_RL_STATE_MAX 65536

/* What a state entry limits: a policy id (1..) or a protection. */
enum bg_rl_kind {
	BG_RL_K_SYN = 0xff01, /* SYNs of a source (syn_rate) */
	BG_RL_K_SYN_ALL = 0xff02, /* unused: bg_rl_syn_all holds these */
	BG_RL_K_ICMP = 0xff03,
	BG_RL_K_UDP_AMP = 0xff04, /* keyed by source and source port */
	BG_RL_K_HALF_OPEN = 0xff05,
	BG_RL_K_RST = 0xff06,
	BG_RL_K_FIN = 0xff07,
	BG_RL_K_ACK = 0xff08,
};

struct bg_rl_key {
	__u32 epoch; /* bg_fw_active.switches: a new ruleset starts afresh */
	__u16 kind; /* policy id or enum bg_rl_kind */
	__u8 family; /* enum bg_family */
	__u8 plen; /* the prefix addr is masked to; 0: shared by all sources */
	__be16 port; /* BG_RL_K_UDP_AMP: the source port; else 0 */
	__u16 pad;
	__be32 addr[4]; /* IPv4 in addr[0] */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_key) == 28, "bg_rl_key");

/*
 * The algorithms' state (I = interval_ns, R = rate, B = burst):
 * token-bucket   level: tokens * I, at most B * I; stamp: last refill;
 *                refills R per ns elapsed, a packet takes I
 * leaky-bucket   level: content * I, drains R per ns elapsed, a packet
 *                adds I and fits while level <= (B - 1) * I
 * fixed-window   stamp: window start (a multiple of I); level: packets
 *                admitted in it
 * sliding-window stamp: current window start; level: its count; prev: the
 *                window before; admitted while prev * (I - into) / I +
 *                level < R
 * half-open      level: SYNs not yet followed by their ACK
 */
struct bg_rl_state {
	struct bpf_spin_lock lock;
	__u32 epoch; /* bg_rl_shared: the epoch the entry is of */
	/* When the entry is back where a new one starts (a full token
	 * bucket, an empty leaky one, windows gone by): the sweep deletes it
	 * from then on, which changes nothing a packet could tell. */
	__u64 idle_ns;
	__u64 stamp_ns;
	__u64 level;
	__u64 prev;
	__u64 passed; /* packets admitted */
	__u64 over; /* packets over the limit (dropped, or logged) */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_state) == 56, "bg_rl_state");

/* bg_rl_state: hash of BG_RL_STATE_MAX, key struct bg_rl_key. */
/* bg_rl_shared: array, index gen * BG_RL_POLICY_SLOTS + policy id: the
 * bucket of a policy without per-source, and the one sources share when
 * bg_rl_state is full. */

/*
 * bg_rl_syn_all: array of 1 struct bg_rl_state, the token bucket of all
 * sources' SYNs ("set syn-flood ... global N/second"), started afresh for
 * a new ruleset (its epoch). Not in bg_rl_state: a table full of a
 * flood's sources must not keep it from being made.
 *
 * bg_rl_cookie_hold: array of 1: once that bucket is empty, every SYN is
 * answered with a cookie until until_ns (a second on), read without the
 * lock: under a flood no CPU takes the bucket's lock or writes its cache
 * line. The bucket, not charged meanwhile, is full again when the second
 * ends: at most its one second's worth of SYNs a second reaches the
 * listeners, as without the hold.
 */
struct bg_rl_cookie_hold {
	__u64 until_ns; /* cookies for every SYN until then */
	__u32 epoch; /* of the ruleset that started the hold */
	__u32 pad;
	/* When a cookie SYN-ACK last went out (XDP_TX), to the second: the
	 * firewall checks cookie ACKs only for a while after it. */
	__u64 sent_ns;
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_cookie_hold) == 24, "bg_rl_cookie_hold");

/* bg_rl_pstats: per-CPU array, index gen * BG_RL_POLICY_SLOTS + policy id. */
struct bg_rl_pstat {
	__u64 packets; /* packets the policy applied to */
	__u64 over; /* ... over its rate: dropped (drop) or logged (log) */
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_pstat) == 16, "bg_rl_pstat");

/* Index into bg_rl_stats (per-CPU u64). */
enum bg_rl_stat {
	BG_RL_STAT_SEEN = 0, /* packets the stage looked at */
	BG_RL_STAT_NO_POLICY = 1, /* passed: no policy applies */
	BG_RL_STAT_PASS = 2, /* passed: within its policy's rate */
	BG_RL_STAT_DROP = 3, /* dropped: over a policy's rate (drop) */
	BG_RL_STAT_LOG = 4, /* passed and logged: over a policy (log) */
	BG_RL_STAT_STATE_FULL = 5, /* bg_rl_state full: shared bucket used */
	BG_RL_STAT_SYN_FLOOD = 6, /* dropped: a source's SYN rate */
	BG_RL_STAT_COOKIE_SENT = 7, /* SYN answered with a cookie SYN-ACK */
	BG_RL_STAT_COOKIE_FAIL = 8, /* cookie wanted, none made: passed on
				     * (no listener, the sysctl, the queue not
				     * full with tcp_syncookies=1 ...) */
	BG_RL_STAT_ICMP_FLOOD = 9, /* dropped: a source's ICMP rate */
	BG_RL_STAT_ICMP_SIZE = 10, /* dropped: ICMP payload over the limit */
	BG_RL_STAT_UDP_AMP = 11, /* dropped: amplification port rate */
	BG_RL_STAT_HALF_OPEN = 12, /* dropped: too many half-open */
	BG_RL_STAT_RST_FLOOD = 13, /* dropped: RSTs of unknown flows */
	BG_RL_STAT_FIN_FLOOD = 14, /* dropped: FINs of unknown flows */
	BG_RL_STAT_ACK_FLOOD = 15, /* dropped: ACKs of unknown flows */
	BG_RL_STAT_LOG_LOST = 16, /* log records lost: ring buffer full */
	BG_RL_STAT_SWEEP_TICKS = 17, /* housekeeping timer runs */
	BG_RL_STAT_SWEEP_EXPIRED = 18, /* state entries it removed */
	BG_RL_STAT_MALFORMED = 19, /* dropped: headers cut short */
	BG_RL_STAT_MAX = 20,
};

/*
 * The stage's result in bg_xdp_meta.status (BG_XDP_ST_RL_MASK), which
 * conntrack keeps with the flow (bg_ct_entry.xdp_status). A dropped
 * packet reaches no one, so only passing results are here.
 */
enum bg_rl_verdict {
	BG_RL_V_NONE = 0, /* the stage did not run */
	BG_RL_V_NO_POLICY = 1, /* no policy applies */
	BG_RL_V_PASS = 2, /* within its policy's rate */
	BG_RL_V_OVER_LOGGED = 3, /* over the rate of an "action log" policy */
};

/*
 * Housekeeping: bg_rl_sweep (array of 1) holds the bpf_timer. Each tick
 * visits at most BG_RL_SWEEP_BATCH entries of bg_rl_state from where the
 * last one stopped and deletes those BG_RL_SWEEP_GRACE_NS past their
 * idle_ns (the grace keeps a flood's sources in status.sh's top talkers
 * for a while after it ends), and those of an older ruleset (epoch); a
 * tick comes every BG_RL_SWEEP_NS.
 */
#define BG_RL_SWEEP_NS 1000000000ull
#define BG_RL_SWEEP_BATCH 8192
#define BG_RL_SWEEP_GRACE_NS (30 * BG_RL_NS_SECOND)

struct bg_rl_sweep {
	struct bpf_timer timer;
	__u32 armed; /* 1 once the timer is set up */
	__u32 cursor; /* entries to skip next tick */
	__u64 last_tick_ns;
};
BG_STATIC_ASSERT(sizeof(struct bg_rl_sweep) == 32, "bg_rl_sweep");

#endif /* BG_RL_ABI_H */
