/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, traffic normalization (tc_scrub and fwmapgen): the
 * "scrub" statements of the ruleset and their counters.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_SCRUB_ABI_H
#define BG_SCRUB_ABI_H

#include "bg_abi_common.h"

/*
 * A scrub statement names options for the packets it matches:
 *
 *   scrub [on IFACE] [in|out] [inet|inet6] [from SRC] [to DST] (OPTIONS)
 *
 * The first statement that matches a packet applies, in file order (as
 * the NAT statements; pf's own scrub rules were last-match, but a
 * normalization that depends on a later line is hard to read). fwmapgen
 * writes each statement as one entry per (source prefix, destination
 * prefix) pair of its lists and tables, in order, BG_SCRUB_MAX entries a
 * generation at most: the kernel tries them one after the other. A
 * ruleset has few of them; a first match over a handful of entries costs
 * less than the tries' lookups would.
 */
#define BG_SCRUB_MAX 64
#define BG_SCRUB_MIN_MSS \
	64 /* the smallest max-mss (RFC 879's 536 is a
			     * default, not a floor; 64 keeps a segment's
			     * headers from being most of it) */

/* bg_scrub_config: array, index gen. */
struct bg_scrub_config {
	__u32 n; /* entries of the generation in bg_scrub_rules */
	__u8 dirs; /* BG_SCRUB_DIR_* of any entry: a quick skip */
	__u8 pad[3];
};
BG_STATIC_ASSERT(sizeof(struct bg_scrub_config) == 8, "bg_scrub_config");

enum bg_scrub_dir {
	BG_SCRUB_DIR_IN = 1 << 0, /* TC ingress: "in" */
	BG_SCRUB_DIR_OUT = 1 << 1, /* TC egress: "out" */
};

enum bg_scrub_opt {
	BG_SCRUB_F_MIN_TTL = 1 << 0, /* raise TTL / hop limit to min_ttl */
	BG_SCRUB_F_MAX_MSS = 1 << 1, /* clamp the MSS option of SYNs */
	BG_SCRUB_F_NO_DF = 1 << 2, /* clear IPv4 don't-fragment */
	BG_SCRUB_F_RANDOM_ID = 1 << 3, /* random IPv4 identification */
};

/*
 * bg_scrub_rules: array, index gen * BG_SCRUB_MAX + entry. An address
 * matches a side when (address & mask) == addr (masks of 0: any).
 */
struct bg_scrub_rule {
	__u32 ifindex; /* 0: any interface */
	__u16 id; /* the statement: its position among scrub statements */
	__u8 dirs; /* BG_SCRUB_DIR_* */
	__u8 family; /* enum bg_family */
	__u8 opts; /* BG_SCRUB_F_* */
	__u8 min_ttl;
	__u16 max_mss;
	__be32 src[4];
	__be32 src_mask[4];
	__be32 dst[4];
	__be32 dst_mask[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_scrub_rule) == 76, "bg_scrub_rule");

/* bg_scrub_stats: per-CPU array of __u64, index enum bg_scrub_stat. */
enum bg_scrub_stat {
	BG_SCRUB_STAT_MATCHED = 0, /* packets a statement matched */
	BG_SCRUB_STAT_TTL_RAISED = 1, /* TTL or hop limit raised */
	BG_SCRUB_STAT_MSS_CLAMPED = 2, /* MSS options lowered */
	BG_SCRUB_STAT_DF_CLEARED = 3, /* don't-fragment bits cleared */
	BG_SCRUB_STAT_ID_RANDOMIZED = 4, /* IPv4 identifications replaced */
	BG_SCRUB_STAT_OPT_MALFORMED = 5, /* TCP options cut short: left */
	BG_SCRUB_STAT_FRAGMENT = 6, /* fragments: their ID kept */
	BG_SCRUB_STAT_ERROR = 7, /* a rewrite the kernel refused */
	BG_SCRUB_STAT_GSO_KEPT = 8, /* super-packets: DF and ID kept */
	BG_SCRUB_STAT_MAX = 9,
};

#endif /* BG_SCRUB_ABI_H */
