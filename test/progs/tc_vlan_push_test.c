// SPDX-License-Identifier: GPL-2.0
/*
 * A test program for the VLAN tests (test/fw_vlan.bats): on a lab
 * client's egress it gives every IPv4/IPv6 frame the 802.1Q tag 10 the
 * way a VLAN device does, with bpf_skb_vlan_push(), which keeps the tag
 * out of the frame (skb->vlan_tci) while the device offloads tag
 * insertion. A veth delivers it so: the receiving XDP program sees an
 * untagged frame, as behind a NIC that strips tags (rx-vlan-offload).
 * With tx-vlan-offload off on the device, the stack writes the tag into
 * the frame before it leaves, and XDP sees it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BG_TEST_VLAN 10

SEC("tc")
int bg_test_vlan_push(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP) &&
	    skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_UNSPEC;
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), BG_TEST_VLAN))
		return TC_ACT_SHOT;
	return TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
