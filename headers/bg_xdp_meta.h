/* SPDX-License-Identifier: GPL-2.0 */
/* TC's side of the XDP metadata (bg_xdp_abi.h): what the firewall and the
 * XDP stages decided about a packet, read in front of skb->data. */
#ifndef BG_XDP_META_H
#define BG_XDP_META_H

#include <linux/bpf.h>
#include "bg_xdp_abi.h"

/* Copy the metadata into *m; 0 when there is none (no bpfguard XDP, or
 * an XDP_PASS that wrote none), then *m is all zero. */
static __always_inline int bg_xdp_meta_get(struct __sk_buff *skb,
					   struct bg_xdp_meta *m)
{
	void *meta = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;

	if (meta + sizeof(*m) > data) {
		__builtin_memset(m, 0, sizeof(*m));
		return 0;
	}
	__builtin_memcpy(m, meta, sizeof(*m));
	return 1;
}

#endif /* BG_XDP_META_H */
