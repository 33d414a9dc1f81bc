/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bg_ct_ifidx: the interfaces bpfguard runs on (ifindex -> BG_CT_IF_*
 * flags, headers/bg_ct_abi.h), filled by the scripts. tc_conntrack does
 * not track again at egress what came in through one of them; tc_route
 * sends a reply of this host out of another interface only if it is one
 * of them, where conntrack sees it leave.
 */
#ifndef BG_CT_IFIDX_MAP_H
#define BG_CT_IFIDX_MAP_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_fw_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, BG_FW_IFACE_MAX);
	BG_PINNED;
} bg_ct_ifidx SEC(".maps");

#endif /* BG_CT_IFIDX_MAP_H */
