// SPDX-License-Identifier: GPL-2.0
/*
 * A test program for the program registry (test/registry.bats): what a TC
 * program to come (NAT, IDS ...) looks like to up.sh, down.sh and
 * status.sh, reduced to something a test can see. It reads the active
 * ruleset generation, as every bpfguard program does (which is how down.sh
 * knows it for bpfguard's), counts the packets it sees per direction and
 * has no verdict: TC_ACT_UNSPEC, the next filter runs.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_common_maps.h"

enum bg_test_tc_stat {
	BG_TEST_TC_INGRESS = 0,
	BG_TEST_TC_EGRESS = 1,
	BG_TEST_TC_MAX = 2,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_TEST_TC_MAX);
	BG_PINNED;
} bg_test_tc_stats SEC(".maps");

static __always_inline int bg_test_tc(__u32 stat)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(&bg_fw_active, &zero))
		bg_stat_inc(&bg_test_tc_stats, stat);
	return TC_ACT_UNSPEC;
}

SEC("tc/ingress")
int bg_test_tc_ingress(struct __sk_buff *skb)
{
	return bg_test_tc(BG_TEST_TC_INGRESS);
}

SEC("tc/egress")
int bg_test_tc_egress(struct __sk_buff *skb)
{
	return bg_test_tc(BG_TEST_TC_EGRESS);
}

char _license[] SEC("license") = "GPL";
