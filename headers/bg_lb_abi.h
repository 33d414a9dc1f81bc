/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI, the load balancer (xdp_loadbalancer, fwmapgen and the
 * health checker): services, backends, the scheduling ring, the flow and
 * reverse translation tables, counters.
 * Shared by the BPF programs (progs/), fwmapgen and the other userspace
 * helpers; bg-abi prints it for the scripts and tests.
 *
 * Rules of the ABI headers: fixed-width fields only, explicit padding, a
 * size assertion next to every struct, multi-byte integers in host byte
 * order unless the name says otherwise (addresses are network byte order).
 * Changing a layout changes the map: down.sh, then up.sh.
 */
#ifndef BG_LB_ABI_H
#define BG_LB_ABI_H

#include "bg_abi_common.h"

/*
 * Services: "service NAME VIP port PORT proto tcp|udp ... { backend ... }"
 * statements, numbered 1..n in file order (the service id), up to
 * BG_LB_MAX_SERVICES per ruleset. Backends are numbered across the whole
 * ruleset, 0..n-1 in file order (the backend index), up to
 * BG_LB_MAX_BACKENDS; a service's backends are consecutive.
 */
#define BG_LB_MAX_SERVICES 256
#define BG_LB_SVC_SLOTS (BG_LB_MAX_SERVICES + 1) /* id 0 unused */
#define BG_LB_MAX_BACKENDS 4096
#define BG_LB_NAME_LEN 32

/*
 * The ring: every service's lookup table, one array of backend indexes
 * per generation, each service a slice of it (ring_off, ring_size). All
 * three schedulers read it: maglev at a hash of the flow's 5-tuple,
 * source-hash at a hash of the client's address, round-robin at a
 * per-service counter. fwmapgen fills it with Maglev's population (a
 * backend of weight W takes W turns per round) for maglev and
 * source-hash, and with the smooth weighted round-robin order for
 * round-robin, so every scheduler honours the weights. ring_size is the
 * smallest of the primes 1021, 2053, 4099, 8209, 16411, 32771 and 65537
 * that is at least 100 x the service's backends (fwmapgen refuses a
 * service of more than 655).
 */
#define BG_LB_RING_PER_GEN 524288
#define BG_LB_RING_MAX (BG_GENS * BG_LB_RING_PER_GEN)
#define BG_LB_RING_MAX_SIZE 65537

enum bg_lb_sched {
	BG_LB_SCHED_MAGLEV = 0, /* the default */
	BG_LB_SCHED_ROUND_ROBIN = 1,
	BG_LB_SCHED_SOURCE_HASH = 2,
	BG_LB_SCHED_MAX = 3,
};

/*
 * bg_lb_vip: hash, struct bg_lb_vip_key -> struct bg_lb_svc. A packet
 * belongs to a service only when its destination address, port and
 * protocol are all the service's.
 */
struct bg_lb_vip_key {
	__u32 gen; /* first, as in every generation-keyed map (bg-purge) */
	__u8 addr[16]; /* IPv4: the first 4 bytes, the rest zero */
	__be16 port;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum bg_family */
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_vip_key) == 24, "bg_lb_vip_key");

struct bg_lb_svc {
	__u32 id; /* 1..BG_LB_MAX_SERVICES */
	__u32 ring_off; /* its slice of bg_lb_ring, from gen * PER_GEN */
	__u32 ring_size; /* 0: no backend is up by configuration */
	__u16 sched; /* enum bg_lb_sched */
	__u16 nbackends;
	__u32 first_backend; /* backend index of its first backend */
	__u32 pad;
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_svc) == 24, "bg_lb_svc");

/* bg_lb_ring: array of __u32 backend indexes, index gen * PER_GEN + off.
 * The position a flow reads (headers/bg_lb_hash.h for the hash):
 *   maglev       bg_lb_hash(client addr, sport << 16 | dport, proto, id)
 *   source-hash  bg_lb_hash(client addr, 0, 0, id)
 *   round-robin  bg_lb_rr[gen * SVC_SLOTS + id]++ (one shared counter)
 * each modulo ring_size. When the backend there is down, the flow tries
 * the positions (h + i * step) % ring_size for i = 1..BG_LB_PROBES, with
 * step = rotl(h, 16) % (ring_size - 1) + 1 (maglev, source-hash; h the
 * hash) or 1 (round-robin, h the turn), then it is dropped (no_backend).
 */
#define BG_LB_PROBES 32

/* bg_lb_rr: array of __u64, index gen * SVC_SLOTS + id, round-robin's turn. */

/*
 * bg_lb_backend: array, index gen * BG_LB_MAX_BACKENDS + backend index.
 * Its family is the service's.
 */
struct bg_lb_backend {
	__u8 addr[16];
	__be16 port; /* the service's port when none is given */
	__u8 family;
	__u8 flags; /* BG_LB_BF_* */
	__u32 weight;
	__u32 svc; /* its service's id */
	__u32 pad;
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_backend) == 32, "bg_lb_backend");

#define BG_LB_BF_DOWN (1 << 0) /* "down": administratively out */

/*
 * bg_lb_health: array, index gen * BG_LB_MAX_BACKENDS + backend index:
 * is the backend up? fwmapgen writes 1 (0 for "down" backends) with the
 * ruleset, the health checker flips it. New flows avoid a down backend;
 * a flow pinned to one moves at its next packet.
 */
struct bg_lb_health {
	__u32 up;
	__u32 changes; /* flips by the health checker */
	__u64 since_ns; /* bpf_ktime_get_boot_ns() clock of the last flip */
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_health) == 16, "bg_lb_health");

/* bg_lb_sinfo: array, index gen * SVC_SLOTS + id: for status and checks. */
enum bg_lb_check {
	BG_LB_CHECK_NONE = 0,
	BG_LB_CHECK_TCP = 1,
	BG_LB_CHECK_HTTP = 2,
};

#define BG_LB_PATH_LEN 128

struct bg_lb_sinfo {
	char name[BG_LB_NAME_LEN];
	__u32 line; /* of its "service" statement */
	__u16 check; /* enum bg_lb_check, from "set health NAME ..." */
	__u16 pad;
	__u32 interval_s;
	__u32 timeout_s;
	__u32 fall; /* failed checks in a row that take a backend down */
	__u32 rise; /* good checks in a row that bring it back */
	char path[BG_LB_PATH_LEN]; /* http: the path requested */
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_sinfo) == 184, "bg_lb_sinfo");

/*
 * bg_lb_flow: LRU hash shared by all CPUs, the client side of a flow ->
 * its backend. Shared rather than per-CPU: a flow whose packets arrive
 * on several queues keeps its backend, and the operator lists one table.
 * When it is full the least recently used flow goes; under Maglev the
 * flow finds the same backend again as long as the backend set is the
 * same, so a flood of new flows costs affinity only of round-robin flows.
 */
struct bg_lb_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_flow_key) == 40, "bg_lb_flow_key");

struct bg_lb_flow {
	__u32 backend; /* backend index in the ruleset of epoch */
	__u32 epoch; /* bg_fw_active.switches when it was chosen */
	__u8 baddr[16]; /* the backend's address and port: after a ruleset */
	__be16 bport; /* switch the flow stays if the same index still is it */
	__u16 pad;
	__u32 svc;
	__u64 last_ns; /* last packet, bpf_ktime_get_boot_ns() */
	__u64 packets;
	__u64 bytes;
	/* The next hop the FIB named for the flow's last lookup, reused by
	 * its packets for BG_LB_HOP_NS (xdp_loadbalancer: the lookup is the
	 * costliest part of a packet); hop_ns 0: none. */
	__u64 hop_ns;
	__u32 hop_ifindex;
	__u16 hop_mtu; /* the FIB's MTU towards the next hop */
	__u8 hop_dmac[6];
	__u8 hop_smac[6];
	/* For the firewall's phase 0 (xdp_firewall, bg_fw_lb_flow): the
	 * backend answered (a reply the balancer translated or the firewall
	 * passed), and a FIN or RST was seen (the flow's time then runs
	 * out as conntrack's time_wait does). */
	__u8 replied;
	__u8 closing;
	__u8 pad2[4];
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_flow) == 88, "bg_lb_flow");

#define BG_LB_FLOW_MAX 262144

/*
 * bg_lb_rnat: LRU hash, the backend side of a flow (saddr backend,
 * daddr client, as its replies carry them) -> the address and port the
 * client contacted: replies leave with the VIP as their source.
 */
struct bg_lb_rnat {
	__u8 vaddr[16];
	__be16 vport;
	__u8 flow_replied; /* the flow's entry has replied set */
	__u8 pad;
	__u32 svc;
	__u32 backend;
	/* The interface the flow leaves by towards the backend (from the
	 * FIB; an entry is written only once it is known). Only replies that
	 * come in there are translated: a packet forged with a backend's
	 * address from the clients' side is not turned into one from the
	 * VIP. */
	__u32 ifindex;
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_rnat) == 32, "bg_lb_rnat");

/* bg_lb_bstats: per-CPU array, index gen * MAX_BACKENDS + backend. */
struct bg_lb_bstat {
	__u64 packets; /* client to backend */
	__u64 bytes;
	__u64 flows; /* flows given to it (new and moved) */
	__u64 replies; /* backend to client, translated back */
};
BG_STATIC_ASSERT(sizeof(struct bg_lb_bstat) == 32, "bg_lb_bstat");

/* bg_lb_stats: per-CPU array of __u64, one per counter. */
enum bg_lb_stat {
	BG_LB_STAT_PACKETS = 0, /* packets to a service */
	BG_LB_STAT_NEW_FLOW = 1, /* flows given a backend */
	BG_LB_STAT_MOVED = 2, /* flows moved off a down backend */
	BG_LB_STAT_REPLY = 3, /* replies translated back to the VIP */
	BG_LB_STAT_TX = 4, /* sent back out of the interface (XDP_TX) */
	BG_LB_STAT_REDIRECT = 5, /* redirected to the next hop's interface */
	BG_LB_STAT_FIB_MISS = 6, /* no route or neighbour: to the stack */
	BG_LB_STAT_TOO_BIG = 7, /* over the egress MTU: to the stack */
	BG_LB_STAT_TTL = 8, /* TTL / hop limit at its end: to the stack */
	BG_LB_STAT_NO_BACKEND = 9, /* no backend up: dropped */
	BG_LB_STAT_FRAG = 10, /* a fragment to a VIP: dropped (no ports) */
	BG_LB_STAT_MALFORMED = 11, /* to a VIP but cut short: dropped */
	BG_LB_STAT_FLOW_FULL = 12, /* flow table refused an entry */
	BG_LB_STAT_VLAN = 13, /* tagged: rewritten, then to the stack */
	BG_LB_STAT_REPLY_IFACE = 14, /* a "reply" on the wrong interface */
	BG_LB_STAT_MAX = 15,
};

/* bg_xdp_meta.status, BG_XDP_ST_LB_*: what the balancer did. */
enum bg_lb_status {
	BG_LB_ST_NONE = 0,
	BG_LB_ST_FORWARD = 1, /* rewritten to a backend */
	BG_LB_ST_REPLY = 2, /* a backend's reply, rewritten to the VIP */
};

#endif /* BG_LB_ABI_H */
