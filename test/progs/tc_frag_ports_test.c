// SPDX-License-Identifier: GPL-2.0
/*
 * What a later stage (NAT, IDS, the rate limiter) sees of a fragment's
 * ports through bg_frag_ports() (headers/bg_frag.h), as the program's
 * return value for a test run: sport << 16 | dport (host order), or -1
 * when the packet's datagram has no known ports. Tests only.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_ct.h"
#include "bg_common_maps.h"
#include "bg_ct_table.h"
#include "bg_frag.h"

SEC("tc")
int bg_test_frag_ports(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct bg_pkt p = {};
	__be16 sport, dport;

	if (bg_parse(data, data_end, skb->len, &p, 0, 0, 0) != BG_PARSE_OK ||
	    bg_frag_ports(&p, bg_ct_now(), &sport, &dport))
		return -1;
	return bpf_ntohs(sport) << 16 | bpf_ntohs(dport);
}

char _license[] SEC("license") = "GPL";
