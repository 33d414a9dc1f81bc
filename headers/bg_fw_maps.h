/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps of the firewall that other programs share by name: its counters
 * (enum bg_fw_stat), which tc_route counts its routing outcomes in too.
 */
#ifndef BG_FW_MAPS_H
#define BG_FW_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_STAT_MAX);
	BG_PINNED;
} bg_fw_stats SEC(".maps");

#endif /* BG_FW_MAPS_H */
