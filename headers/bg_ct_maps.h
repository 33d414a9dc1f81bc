/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection tracking maps shared by tc_conntrack and xdp_firewall:
 * the flow tables, the settings per ruleset generation and the test clock.
 * What reads and writes them is in bg_ct_table.h.
 */
#ifndef BG_CT_MAPS_H
#define BG_CT_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_ct_abi.h"
#include "bg_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct4_key);
	__type(value, struct bg_ct_entry);
	__uint(max_entries, BG_CT_TABLE_MAX + BG_CT_LRU_SLACK);
	BG_PINNED;
} bg_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct6_key);
	__type(value, struct bg_ct_entry);
	__uint(max_entries, BG_CT_TABLE_MAX + BG_CT_LRU_SLACK);
	BG_PINNED;
} bg_ct6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_config);
	__uint(max_entries, BG_GENS);
	BG_PINNED;
} bg_ct_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_ct_clock SEC(".maps");

#endif /* BG_CT_MAPS_H */
