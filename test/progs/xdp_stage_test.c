// SPDX-License-Identifier: GPL-2.0
/*
 * A test stage for the XDP chain (test/xdp_chain.bats): what the rate
 * limiter's slot will hold, reduced to something a test can see. It counts
 * the UDP datagrams it is handed, drops those to the discard port (9),
 * marks the rest with a status for TC (conntrack keeps it in the flow) and
 * hands every packet to the next slot.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_xdp_chain.h"

#define BG_TEST_STATUS 0x5a

enum bg_test_stage_stat {
	BG_TEST_STAGE_SEEN = 0,
	BG_TEST_STAGE_DROPPED = 1,
	BG_TEST_STAGE_MAX = 2,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_TEST_STAGE_MAX);
	BG_PINNED;
} bg_test_stage_stats SEC(".maps");

SEC("xdp")
int bg_test_stage(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_pkt p = {};

	/* UDP and IPv4 ICMP only: the lab's ARP and ND, which the firewall
	 * passes too, would make the counts of a test depend on their
	 * timing. */
	if (bg_parse(data, data_end, data_end - data, &p, 0, 0, 0) !=
		    BG_PARSE_OK ||
	    (p.l4_proto != IPPROTO_UDP &&
	     !(p.family == BG_FAM_INET && p.l4_proto == IPPROTO_ICMP)))
		return bg_xdp_next(ctx, BG_XDP_SLOT_RATELIMIT + 1);
	bg_stat_inc(&bg_test_stage_stats, BG_TEST_STAGE_SEEN);
	if (p.dport == bpf_htons(9)) {
		bg_stat_inc(&bg_test_stage_stats, BG_TEST_STAGE_DROPPED);
		return XDP_DROP;
	}
	bg_xdp_status_set(ctx, BG_XDP_ST_RL_MASK, BG_XDP_ST_RL_SHIFT,
			  BG_TEST_STATUS);
	return bg_xdp_next(ctx, BG_XDP_SLOT_RATELIMIT + 1);
}

char _license[] SEC("license") = "GPL";
