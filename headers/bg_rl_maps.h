/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rate limiter's maps (headers/bg_rl_abi.h tells what each holds).
 * The ruleset maps (policies, tries, settings) are declared by
 * xdp_firewall too, so that they exist wherever the firewall's maps do
 * and a ruleset's batch can always fill them; the state and counters are
 * xdp_ratelimit's own.
 */
#ifndef BG_RL_MAPS_H
#define BG_RL_MAPS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_fw_abi.h"
#include "bg_rl_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct bg_lpm4_key);
	__type(value, __u32);
	__uint(max_entries, BG_RL_LPM_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_rl_src4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct bg_lpm6_key);
	__type(value, __u32);
	__uint(max_entries, BG_RL_LPM_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_rl_src6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_clist);
	__uint(max_entries, BG_GENS *BG_RL_CLISTS_PER_GEN);
	BG_PINNED;
} bg_rl_clist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_policy);
	__uint(max_entries, BG_GENS *BG_RL_POLICY_SLOTS);
	BG_PINNED;
} bg_rl_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_rl_pinfo_key);
	__type(value, struct bg_rl_pinfo);
	__uint(max_entries, BG_GENS *BG_RL_POLICY_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_rl_pinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_config);
	__uint(max_entries, BG_GENS);
	BG_PINNED;
} bg_rl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_GENS *BG_RL_PORT_WORDS);
	BG_PINNED;
} bg_rl_amp_ports SEC(".maps");

/* Written by xdp_ratelimit: its cookie hold, and when a cookie SYN-ACK
 * last went out. The firewall's phase 0 reads the latter: no cookie sent
 * lately, no cookie ACK to check (bg_rl_cookies_recent). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_rl_cookie_hold);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_rl_cookie_hold SEC(".maps");

/* A cookie stays good for about two minutes (TCP_SYNCOOKIE_VALID and the
 * cookie's own age check): ACKs are checked this long after the last
 * cookie SYN-ACK went out. */
#define BG_RL_COOKIE_RECENT_NS (180ULL * 1000000000ULL)

static __always_inline int bg_rl_cookies_recent(__u64 now)
{
	struct bg_rl_cookie_hold *hold;
	__u32 zero = 0;
	__u64 sent;

	hold = bpf_map_lookup_elem(&bg_rl_cookie_hold, &zero);
	if (!hold)
		return 0;
	sent = bg_read_once(hold->sent_ns);
	return sent && now < sent + BG_RL_COOKIE_RECENT_NS;
}

#endif /* BG_RL_MAPS_H */
