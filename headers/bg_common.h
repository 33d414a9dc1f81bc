/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers every bpfguard program uses. No maps here: those are in
 * the *_maps.h headers, so that including a helper never creates one. */
#ifndef BG_COMMON_H
#define BG_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi_common.h"
#include "bg_compiler.h"

/* Pinned under <bpffs>/tc/globals so XDP and TC objects share it by name. */
#define BG_PINNED __uint(pinning, LIBBPF_PIN_BY_NAME)

/*
 * Counter idx of a program's stats map (a per-CPU array of __u64, one
 * index per enum value, summed over CPUs by status.sh) goes up by n.
 * Per-CPU: no atomic, no cache line bouncing between CPUs.
 */
static __always_inline void bg_stat_add(void *map, __u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		*v += n;
}

#define bg_stat_inc(map, idx) bg_stat_add(map, idx, 1)

#endif /* BG_COMMON_H */
