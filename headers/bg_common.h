/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers and the maps every bpfguard object shares. */
#ifndef BG_COMMON_H
#define BG_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"

/* Pinned under <bpffs>/tc/globals so XDP and TC objects share it by name. */
#define BG_PINNED __uint(pinning, LIBBPF_PIN_BY_NAME)

/*
 * The interfaces the toolkit runs on. No program reads it; it is declared
 * here so that whichever object is loaded first creates it with BTF, and
 * up.sh/down.sh keep their bookkeeping in the same bpffs as the maps it
 * describes (it vanishes with them, so it can never go stale).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bg_iface_key);
	__type(value, struct bg_iface_val);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	BG_PINNED;
} bg_ifaces SEC(".maps");

/* Index of the lowest set bit; BPF has no ctz instruction. x != 0. */
static __always_inline __u32 bg_ctz64(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffULL)) {
		n += 32;
		x >>= 32;
	}
	if (!(x & 0xffff)) {
		n += 16;
		x >>= 16;
	}
	if (!(x & 0xff)) {
		n += 8;
		x >>= 8;
	}
	if (!(x & 0xf)) {
		n += 4;
		x >>= 4;
	}
	if (!(x & 0x3)) {
		n += 2;
		x >>= 2;
	}
	if (!(x & 0x1))
		n += 1;
	return n;
}

#endif /* BG_COMMON_H */
