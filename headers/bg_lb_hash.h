/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The load balancer's flow hash, shared by xdp_loadbalancer and fwmapgen
 * (--explain names the backend the kernel picks, and the tests check the
 * two agree). MurmurHash3's 32-bit mixing over 32-bit words: a few
 * multiplies per word, no table, the same in BPF and in C.
 *
 * What it hashes is the ABI: maglev hashes the client's address, then
 * its source port and the destination port (sport << 16 | dport, host
 * order), then the protocol; source-hash the address alone. The service's
 * id is the seed, so that two services do not send the same clients to
 * the same ring positions.
 */
#ifndef BG_LB_HASH_H
#define BG_LB_HASH_H

#include <linux/types.h>

static inline __u32 bg_lb_rotl(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline __u32 bg_lb_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = bg_lb_rotl(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = bg_lb_rotl(h, 13);
	return h * 5 + 0xe6546b64;
}

static inline __u32 bg_lb_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * @addr: 4 (IPv4) or 16 (IPv6) bytes in network order, read as four
 * native 32-bit words (@n4 of them: 1 or 4). @ports 0 and @proto 0 for
 * source-hash.
 */
static inline __u32 bg_lb_hash(const __u32 *addr, int n4, __u32 ports,
			       __u32 proto, __u32 seed)
{
	__u32 h = seed;

	h = bg_lb_mix(h, addr[0]);
	if (n4 == 4) {
		h = bg_lb_mix(h, addr[1]);
		h = bg_lb_mix(h, addr[2]);
		h = bg_lb_mix(h, addr[3]);
	}
	h = bg_lb_mix(h, ports);
	h = bg_lb_mix(h, proto);
	return bg_lb_final(h, (__u32)(n4 + 2) * 4);
}

#endif /* BG_LB_HASH_H */
