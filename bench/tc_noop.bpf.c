// SPDX-License-Identifier: GPL-2.0
/* Baseline for make bench: the cost of the TC hook and test-run harness. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_noop(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
