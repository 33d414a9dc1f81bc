/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The XDP chain (bg_xdp_abi.h): the PROG_ARRAY of the stages after the
 * firewall, pinned so that a stage loaded later (bpftool prog load ... map
 * name bg_xdp_chain pinned P) fills a slot of the same array, with
 * bpftool map update ... value pinned PROG.
 *
 * No BTF for key and value: the kernel refuses BTF on a PROG_ARRAY (its
 * values are program fds in, ids out), so sizes are given instead.
 */
#ifndef BG_XDP_MAPS_H
#define BG_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"
#include "bg_xdp_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, BG_XDP_SLOT_MAX);
	BG_PINNED;
} bg_xdp_chain SEC(".maps");

#endif /* BG_XDP_MAPS_H */
