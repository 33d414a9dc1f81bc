/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The firewall's routing actions (route-to, reply-to, dup-to): the map
 * fwmapgen fills per ruleset generation with each routing rule's actions
 * (headers/bg_fw_abi.h, "Routing"). xdp_firewall declares it too, so that
 * it exists wherever the firewall's maps do and a ruleset's batch can
 * always fill it; tc_route reads it. The logic is in bg_fw_route.h.
 */
#ifndef BG_FW_ROUTE_MAPS_H
#define BG_FW_ROUTE_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_fw_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_fw_route_key);
	__type(value, struct bg_fw_route);
	/* a rule id per rule and the union (id 0), both generations */
	__uint(max_entries, BG_GENS *(BG_FW_MAX_IDS + 1));
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_fw_route SEC(".maps");

#endif /* BG_FW_ROUTE_MAPS_H */
