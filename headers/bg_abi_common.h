/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, what every program shares: pin directory,
 * generations, address families, the interface registry.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_ABI_COMMON_H
#define BG_ABI_COMMON_H

#include <linux/types.h>

#define BG_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#define BG_PIN_SUBDIR "tc/globals"

/*
 * Two generations of every classifier table live side by side: the active
 * one and the one being filled. A packet reads bg_fw_active once and then
 * uses only that generation's entries, so a ruleset switch is one 4-byte
 * store and no packet is classified by a mix of two rulesets.
 */
#define BG_GENS 2

#define BG_IFNAMSIZ 16

enum bg_family {
	BG_FAM_INET = 0,
	BG_FAM_INET6 = 1,
	BG_FAM_MAX = 2,
};

#define BG_FAMF_INET (1 << BG_FAM_INET)
#define BG_FAMF_INET6 (1 << BG_FAM_INET6)

/*
 * bg_ifaces: hash, the interfaces the toolkit runs on (written by up.sh,
 * read by down.sh and status.sh). The network namespace is part of the key
 * because one bpffs can serve several namespaces.
 */
struct bg_iface_key {
	__u64 netns; /* inode of /proc/self/ns/net */
	__u32 ifindex;
	__u32 pad;
};
BG_STATIC_ASSERT(sizeof(struct bg_iface_key) == 16, "bg_iface_key");

struct bg_iface_val {
	__u32 xdp_prog_id;
	__u8 xdp_mode; /* 1 native, 2 generic */
	__u8 flags; /* BG_IFACE_F_* */
	__u8 pad[2];
	char name[BG_IFNAMSIZ];
};
BG_STATIC_ASSERT(sizeof(struct bg_iface_val) == 24, "bg_iface_val");

#define BG_IFACE_F_CLSACT_CREATED (1 << 0)

#endif /* BG_ABI_COMMON_H */
