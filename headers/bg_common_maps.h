/* SPDX-License-Identifier: GPL-2.0 */
/* The maps every bpfguard object shares: the interface registry and the
 * active ruleset generation. */
#ifndef BG_COMMON_MAPS_H
#define BG_COMMON_MAPS_H

#include "bg_common.h"
#include "bg_fw_abi.h"

/*
 * The interfaces the toolkit runs on. No program reads it; it is declared
 * here so that whichever object is loaded first creates it with BTF, and
 * up.sh/down.sh keep their bookkeeping in the same bpffs as the maps it
 * describes (it vanishes with them, so it can never go stale).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_iface_key);
	__type(value, struct bg_iface_val);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_ifaces SEC(".maps");

/*
 * The generation of the ruleset packets use (fwmapgen fills the other one,
 * up.sh flips this). Shared: conntrack reads its settings through it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_fw_active);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_fw_active SEC(".maps");

#endif /* BG_COMMON_MAPS_H */
