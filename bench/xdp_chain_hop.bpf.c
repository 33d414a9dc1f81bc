// SPDX-License-Identifier: GPL-2.0
/* make bench: a no-op that ends as the firewall does, through the XDP
 * chain (bg_xdp_next), to measure what the hop costs: into empty slots,
 * and into a no-op stage. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_xdp_chain.h"

SEC("xdp")
int bg_bench_chain(struct xdp_md *ctx)
{
	return bg_xdp_next(ctx, 0);
}

char _license[] SEC("license") = "GPL";
