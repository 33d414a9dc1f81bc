// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's comparison row: the seed project's design, a linear scan
 * over the rules with bpf_loop, first match wins, on the same ruleset as
 * the firewall's rows (IPv4 source and destination prefixes). What the
 * firewall's bit vectors are measured against; never loaded by up.sh.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_common.h"

#define BG_BENCH_LIN_MAX 4096

struct bg_bench_lin_rule {
	__be32 src;
	__be32 smask;
	__be32 dst;
	__be32 dmask;
	__u32 action; /* 1: drop */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_bench_lin_rule);
	__uint(max_entries, BG_BENCH_LIN_MAX);
	BG_PINNED;
} bg_bench_lin SEC(".maps");

/* [0]: rules in use */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_bench_nlin SEC(".maps");

struct bg_bench_lin_ctx {
	__be32 s;
	__be32 d;
	__u32 hit; /* 1-based rule, 0: none */
};

static long bg_bench_lin_cb(__u32 i, void *vctx)
{
	struct bg_bench_lin_ctx *c = vctx;
	struct bg_bench_lin_rule *r = bpf_map_lookup_elem(&bg_bench_lin, &i);

	if (!r)
		return 1;
	if ((c->s & r->smask) == r->src && (c->d & r->dmask) == r->dst) {
		c->hit = i + 1;
		return 1;
	}
	return 0;
}

SEC("xdp")
int bg_bench_linear(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct bg_bench_lin_ctx c = {};
	struct bg_bench_lin_rule *r;
	__u32 zero = 0, *n, i;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	n = bpf_map_lookup_elem(&bg_bench_nlin, &zero);
	if (!n)
		return XDP_PASS;
	c.s = iph->saddr;
	c.d = iph->daddr;
	bpf_loop(*n < BG_BENCH_LIN_MAX ? *n : BG_BENCH_LIN_MAX, bg_bench_lin_cb,
		 &c, 0);
	if (!c.hit)
		return XDP_PASS;
	i = c.hit - 1;
	r = bpf_map_lookup_elem(&bg_bench_lin, &i);
	return r && r->action ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
