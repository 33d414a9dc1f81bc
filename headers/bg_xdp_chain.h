/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an XDP stage does with a packet it lets through: hand it to the
 * next filled slot of the chain, and leave its result for TC in the
 * metadata the firewall wrote in front of the packet.
 */
#ifndef BG_XDP_CHAIN_H
#define BG_XDP_CHAIN_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_xdp_abi.h"
#include "bg_xdp_maps.h"

/*
 * Tail-call the first filled slot from `first` on. A tail call that
 * succeeds does not return; an empty slot falls through to the next, and
 * past the last one the packet passes. The slot order is fixed, so a stage
 * passes its own slot + 1.
 */
static __always_inline int bg_xdp_next(struct xdp_md *ctx, __u32 first)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < BG_XDP_SLOT_MAX; i++)
		if (i >= first)
			bpf_tail_call(ctx, &bg_xdp_chain, i);
	return XDP_PASS;
}

/* The metadata in front of the packet, or NULL when there is none (the
 * firewall passed it before writing any, or the driver has no room). */
static __always_inline struct bg_xdp_meta *bg_xdp_meta(struct xdp_md *ctx)
{
	struct bg_xdp_meta *m = (void *)(long)ctx->data_meta;

	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return NULL;
	return m;
}

/* A stage's result into its bits of bg_xdp_meta.status (BG_XDP_ST_*). */
static __always_inline void bg_xdp_status_set(struct xdp_md *ctx, __u16 mask,
					      __u16 shift, __u16 val)
{
	struct bg_xdp_meta *m = bg_xdp_meta(ctx);

	if (m)
		m->status = (m->status & ~mask) | ((val << shift) & mask);
}

#endif /* BG_XDP_CHAIN_H */
