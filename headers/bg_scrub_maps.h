/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic normalization's maps (headers/bg_scrub_abi.h tells what each
 * holds). Declared by xdp_firewall too, so that they exist wherever the
 * firewall's maps do and a ruleset's batch can always fill them.
 */
#ifndef BG_SCRUB_MAPS_H
#define BG_SCRUB_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_scrub_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_scrub_config);
	__uint(max_entries, BG_GENS);
	BG_PINNED;
} bg_scrub_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_scrub_rule);
	__uint(max_entries, BG_GENS *BG_SCRUB_MAX);
	BG_PINNED;
} bg_scrub_rules SEC(".maps");

/* What tc_scrub (and the SYN cookie answer, for max-mss) rewrote. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_SCRUB_STAT_MAX);
	BG_PINNED;
} bg_scrub_stats SEC(".maps");

#endif /* BG_SCRUB_MAPS_H */
