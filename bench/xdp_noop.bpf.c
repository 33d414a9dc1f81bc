// SPDX-License-Identifier: GPL-2.0
/* Baseline for make bench: the cost of the XDP hook and test-run harness. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_noop(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
