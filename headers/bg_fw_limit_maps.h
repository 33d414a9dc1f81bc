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

#endif /* BG_FW_LIMIT_MAPS_H */
