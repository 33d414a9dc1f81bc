// SPDX-License-Identifier: GPL-2.0
/*
 * bg_syncookie_answer() alone (test/syncookie.bats): every TCP SYN the
 * parser accepts is handed to it, everything else passes. What it
 * returned is counted, so that a test can tell the cookie path from the
 * kernel's own handshake.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_syncookie.h"

/*
 * Index 0: SYN-ACKs sent (XDP_TX); k (1..BG_SYNCOOKIE_NR): result -k of enum
 * bg_syncookie_result; BG_TEST_SC_SEEN: TCP SYNs handed over.
 */
enum {
	BG_TEST_SC_TX = 0,
	BG_TEST_SC_SEEN = BG_SYNCOOKIE_NR + 1,
	BG_TEST_SC_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_TEST_SC_MAX);
} bg_test_sc_stats SEC(".maps");

static __always_inline void bg_test_sc_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&bg_test_sc_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int bg_test_syncookie(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bg_pkt p = {};
	int ret, clamped = 0;

	if (bg_parse(data, data_end, data_end - data, &p, 0, 0, 0) !=
		    BG_PARSE_OK ||
	    p.l4_proto != IPPROTO_TCP || !(p.flags & BG_PKT_L4) ||
	    !(p.tcp_flags & BG_TCP_SYN))
		return XDP_PASS;
	bg_test_sc_count(BG_TEST_SC_SEEN);
	ret = bg_syncookie_answer(ctx, &p, 0, &clamped);
	if (ret == XDP_TX) {
		bg_test_sc_count(BG_TEST_SC_TX);
		return XDP_TX;
	}
	if (ret < 0 && ret >= -BG_SYNCOOKIE_NR) {
		bg_test_sc_count(-ret);
		return XDP_PASS;
	}
	/* XDP_ABORTED: the frame changed and could not be finished. */
	return ret;
}

char _license[] SEC("license") = "GPL";
