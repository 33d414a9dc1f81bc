/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the firewall's connection limits (bg_fw_abi.h), shared by
 * xdp_firewall (phase 0 drops overloaded sources) and tc_conntrack (counts
 * flows and connections, and overloads sources). Pinned by name: both
 * objects use the same maps.
 */
#ifndef BG_FW_LIMIT_MAPS_H
#define BG_FW_LIMIT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_rinfo_key);
	__type(value, struct bg_fw_limit);
	__uint(max_entries, BG_GENS *BG_FW_MAX_IDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_GENS *BG_FW_HITS_PER_GEN);
	BG_PINNED;
} bg_fw_rstates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_fw_srclim_key);
	__type(value, struct bg_fw_srclim);
	__uint(max_entries, BG_FW_SRCLIM_MAX);
	BG_PINNED;
} bg_fw_srclim SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_fw_overload_key);
	__type(value, struct bg_fw_overload);
	__uint(max_entries, BG_FW_OVERLOAD_MAX);
	BG_PINNED;
} bg_fw_overload SEC(".maps");

/*
 * The source a connection limit counts and overloads, in place: an IPv4
 * address (addr[0]; the rest zero), or the /64 of an IPv6 address (its
 * last 64 bits zero). One IPv6 host holds a /64 and can send from any of
 * its 2^64 addresses: counted per address, it would have a fresh count
 * for every connection and could churn the LRU tables with no end.
 */
static __always_inline void bg_fw_limit_src(__be32 *addr, __u32 fam)
{
	if (fam == BG_FAM_INET)
		addr[1] = 0;
	addr[2] = addr[3] = 0;
}

/* The overload table's key of source addr (IPv4 in addr[0]). */
static __always_inline void bg_fw_overload_key_of(struct bg_fw_overload_key *k,
						  __u32 fam, const __be32 *addr)
{
	k->family = fam;
	k->addr[0] = addr[0];
	k->addr[1] = fam == BG_FAM_INET ? 0 : addr[1];
	k->addr[2] = k->addr[3] = 0;
}

#endif /* BG_FW_LIMIT_MAPS_H */
