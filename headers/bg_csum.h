/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksum (RFC 1071) helpers for the programs that rewrite
 * packets (NAT, load balancer, TTL/MSS scrub), usable from BPF C and from
 * userspace C alike: pure arithmetic, no helper calls, no libc.
 *
 * Every value is in memory order: a __be16/__be32 exactly as loaded from
 * the packet, a __sum16 exactly as stored in it. The ones' complement sum
 * commutes with byte swapping, so adding memory-order words and storing
 * the result back in memory order gives the right bytes on either byte
 * order without one conversion per word.
 *
 * __wsum is a 32-bit partial sum that is not yet folded and not yet
 * complemented; only bg_csum_fold() turns it into a field value.
 *
 * Buffers (bg_csum_partial(), IPv6 addresses) are read as 16-bit words and
 * must be 2-byte aligned, which every header of a packet is.
 */
#ifndef BG_CSUM_H
#define BG_CSUM_H

#include <linux/types.h>

/*
 * linux/types.h pulls in linux/stddef.h, which defines __always_inline as
 * a bare __inline__ when nothing defined it first: only a hint. Use the
 * attribute, as libbpf's bpf_helpers.h and glibc's sys/cdefs.h do.
 */
#undef __always_inline
#define __always_inline inline __attribute__((__always_inline__))

/* linux/types.h has sparse's __bitwise types but not their __force cast. */
#ifndef __force
#ifdef __CHECKER__
#define __force __attribute__((force))
#else
#define __force
#endif
#endif

/* Longest buffer bg_csum_partial() sums: a full IPv4 or TCP header. */
#define BG_CSUM_PARTIAL_MAX 60

/*
 * A UDP checksum that computes to 0 is sent as 0xffff (RFC 768): on the
 * wire 0 means "no checksum" (IPv4 only; RFC 8200 forbids it for IPv6
 * except for the tunnels of RFC 6935).
 */
#define BG_CSUM_MANGLED_0 ((__force __sum16)0xffff)

/* 16-bit loads from a byte buffer without breaking strict aliasing. */
typedef __u16 __attribute__((__may_alias__)) bg_csum_u16_t;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define bg_csum_htons_(x) ((__u16)__builtin_bswap16(x))
/* A lone last byte is the high half of a word padded with a zero byte. */
#define bg_csum_byte_(b) ((__u32)(b))
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define bg_csum_htons_(x) ((__u16)(x))
#define bg_csum_byte_(b) ((__u32)(b) << 8)
#else
#error "bg_csum.h: unknown byte order"
#endif

/*
 * 64 -> 32 bits with end-around carry. Accumulating in 64 bits lets the
 * loops add words without a carry test per word; BPF has native 64-bit
 * arithmetic. Two rounds suffice: after the first the value is at most
 * 0x1fffffffe, and the second cannot carry again.
 */
static __always_inline __wsum bg_csum_from64_(__u64 s)
{
	s = (s & 0xffffffffULL) + (s >> 32);
	s = (s & 0xffffffffULL) + (s >> 32);
	return (__force __wsum)(__u32)s;
}

/* Ones' complement a + b: the carry out of bit 31 wraps into bit 0. */
static __always_inline __wsum bg_csum_add(__wsum a, __wsum b)
{
	__u32 s = (__force __u32)a + (__force __u32)b;

	return (__force __wsum)(s + (s < (__force __u32)b));
}

/*
 * Ones' complement a - b, as a + ~b: subtracting directly would let a
 * result of zero come out as +0 (0x0000) where a sum of the same data
 * gives -0 (0xffff), which is the whole difficulty of RFC 1624.
 */
static __always_inline __wsum bg_csum_sub(__wsum a, __wsum b)
{
	return bg_csum_add(a, (__force __wsum) ~(__force __u32)b);
}

/*
 * Partial sum -> checksum field: fold to 16 bits and complement. Two folds
 * because the first one can carry into bit 16 again.
 */
static __always_inline __sum16 bg_csum_fold(__wsum csum)
{
	__u32 s = (__force __u32)csum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__force __sum16)(__u16)~s;
}

/* Checksum field -> partial sum, zero-extended (still complemented). */
static __always_inline __wsum bg_csum_unfold(__sum16 n)
{
	return (__force __wsum)(__u32)(__force __u16)n;
}

/*
 * Sum of the first min(len, end - buf, BG_CSUM_PARTIAL_MAX) bytes of buf,
 * added to sum; an odd last byte counts as if followed by a zero byte.
 *
 * The constant bound is what lets the verifier accept the loop (bounded
 * loops, 5.3+), and testing each word against end is what lets it accept
 * reads through a packet pointer whose length it cannot know (IHL, doff).
 * Leaving the loop at the first word past len or end keeps the paths it
 * walks few: the same loop without breaks, unrolled to straight-line
 * code, took an XDP program with three calls past the verifier's limit
 * of 1M instructions.
 *
 * The test against end is not the caller's bounds check: a short packet
 * silently yields the sum of what is there. The caller must itself check
 * that buf + len <= end and len <= BG_CSUM_PARTIAL_MAX before trusting
 * the result; userspace passes end = buf + len.
 *
 * To fill in a header checksum, zero the field and store
 * bg_csum_fold(bg_csum_partial(...)); to verify one, sum the header with
 * its checksum in place and expect bg_csum_fold() to give 0.
 */
static __always_inline __wsum bg_csum_partial(const void *buf, __u32 len,
					      const void *end, __wsum sum)
{
	const __u8 *p = (const __u8 *)buf;
	const __u8 *e = (const __u8 *)end;
	__u64 s = (__force __u32)sum;
	__u32 i;

	/*
	 * Make p opaque. Otherwise the compiler may rebuild p + i from the
	 * caller's pointers (data + ihl + i), or hand a pointer this loop
	 * compared against end on to the caller's own later reads; either
	 * way the verifier sees a packet pointer whose range it has not
	 * checked on that path and rejects the program.
	 */
	__asm__ __volatile__("" : "+r"(p));
	for (i = 0; i < BG_CSUM_PARTIAL_MAX; i += 2) {
		if (i >= len || p + i + 1 > e)
			break;
		if (i + 1 == len || p + i + 2 > e) {
			s += bg_csum_byte_(p[i]);
			break;
		}
		s += *(const bg_csum_u16_t *)(p + i);
	}
	return bg_csum_from64_(s);
}

/*
 * Checksum differences. bg_csum_diffN(from, to) is the change of the sum
 * when an N-bit field changes from `from' to `to', i.e. ~from + to; the
 * same value, modulo 0xffff, as bpf_csum_diff(&from, N/8, &to, N/8, 0)
 * but without the helper call, so it also runs in userspace and costs a
 * few instructions. Diffs of several fields combine with bg_csum_add().
 *
 * TC programs hand a diff to the kernel, which then also keeps skb->csum
 * (CHECKSUM_COMPLETE) and the pseudo-header seed of a CHECKSUM_PARTIAL
 * packet right:
 *
 *	bpf_l3_csum_replace(skb, ip_check_off, 0, diff, 0);
 *	bpf_l4_csum_replace(skb, l4_check_off, 0, diff, flags);
 *
 * with flags BPF_F_PSEUDO_HDR when the diff covers only pseudo-header
 * fields (addresses), 0 when it covers only fields inside the L4 segment
 * (ports, MSS), plus BPF_F_MARK_MANGLED_0 for UDP. Never one call for
 * both kinds: with CHECKSUM_PARTIAL the field holds just the pseudo-header
 * sum, which must follow address changes and must not follow port changes.
 * XDP programs apply a diff with bg_csum_replace_by_diff() or, for UDP,
 * bg_csum_udp_replace_by_diff().
 *
 * A 16-bit value is zero-extended: ~from then has 0xffff in its high half,
 * which is 0 modulo 0xffff, so it folds away.
 */
static __always_inline __wsum bg_csum_diff2(__be16 from, __be16 to)
{
	return bg_csum_add((__force __wsum) ~(__u32)(__force __u16)from,
			   (__force __wsum)(__u32)(__force __u16)to);
}

/*
 * A 16-bit field at an odd offset from the start of the summed data (the
 * MSS after a lone NOP in the TCP options) straddles two words: its first
 * byte is the low half of one, its second the high half of the next. That
 * weighs the field by 2^8, which modulo 0xffff is a byte swap.
 */
static __always_inline __wsum bg_csum_diff2_odd(__be16 from, __be16 to)
{
	return bg_csum_diff2(
		(__force __be16)__builtin_bswap16((__force __u16)from),
		(__force __be16)__builtin_bswap16((__force __u16)to));
}

static __always_inline __wsum bg_csum_diff4(__be32 from, __be32 to)
{
	return bg_csum_add((__force __wsum) ~(__force __u32)from,
			   (__force __wsum)to);
}

/* from and to point to 16-byte IPv6 addresses, 2-byte aligned. */
static __always_inline __wsum bg_csum_diff16(const __be32 from[4],
					     const __be32 to[4])
{
	const bg_csum_u16_t *f = (const bg_csum_u16_t *)from;
	const bg_csum_u16_t *t = (const bg_csum_u16_t *)to;
	__u64 s = 0;
	int i;

	/* ~f[i] as 16 bits: 0xffff - f[i], so no borrow to propagate. */
	for (i = 0; i < 8; i++)
		s += (__u32)(__u16)~f[i] + t[i];
	return bg_csum_from64_(s);
}

/*
 * RFC 1624 eqn 3, HC' = ~(~HC + ~m + m'), with diff = ~m + m'. Only
 * additions: a sum of data that is not all zero never reaches +0, so HC'
 * is never 0xffff, exactly like a checksum computed from scratch. RFC
 * 1141's HC' = HC + m + ~m' (RFC 1624 eqn 2) gives 0xffff where
 * recomputing gives 0x0000 (the example of RFC 1624 section 4), and a
 * receiver or a later full recomputation disagrees with it. Zero-extending
 * HC keeps ~HC nonzero even when HC is 0xffff and the diff is 0.
 */
static __always_inline void bg_csum_replace_by_diff(__sum16 *csum, __wsum diff)
{
	*csum = bg_csum_fold(bg_csum_add(diff, ~bg_csum_unfold(*csum)));
}

static __always_inline void bg_csum_replace2(__sum16 *csum, __be16 old,
					     __be16 new)
{
	bg_csum_replace_by_diff(csum, bg_csum_diff2(old, new));
}

static __always_inline void bg_csum_replace4(__sum16 *csum, __be32 old,
					     __be32 new)
{
	bg_csum_replace_by_diff(csum, bg_csum_diff4(old, new));
}

static __always_inline void
bg_csum_replace16(__sum16 *csum, const __be32 old[4], const __be32 new[4])
{
	bg_csum_replace_by_diff(csum, bg_csum_diff16(old, new));
}

/*
 * UDP: a stored 0 is "no checksum" and must stay 0, or the receiver would
 * start checking a checksum nobody computed; a result of 0 must go out as
 * 0xffff, or it would read as "no checksum" and go unchecked. The same
 * rule serves IPv6, where a 0 is either invalid (and should stay so) or a
 * permitted RFC 6935 tunnel checksum.
 */
static __always_inline __sum16 bg_csum_udp_final(__sum16 csum)
{
	return csum ? csum : BG_CSUM_MANGLED_0;
}

static __always_inline void bg_csum_udp_replace_by_diff(__sum16 *csum,
							__wsum diff)
{
	if (!*csum)
		return;
	bg_csum_replace_by_diff(csum, diff);
	*csum = bg_csum_udp_final(*csum);
}

static __always_inline void bg_csum_udp_replace2(__sum16 *csum, __be16 old,
						 __be16 new)
{
	bg_csum_udp_replace_by_diff(csum, bg_csum_diff2(old, new));
}

static __always_inline void bg_csum_udp_replace4(__sum16 *csum, __be32 old,
						 __be32 new)
{
	bg_csum_udp_replace_by_diff(csum, bg_csum_diff4(old, new));
}

static __always_inline void
bg_csum_udp_replace16(__sum16 *csum, const __be32 old[4], const __be32 new[4])
{
	bg_csum_udp_replace_by_diff(csum, bg_csum_diff16(old, new));
}

/*
 * Pseudo-header sums (RFC 793/768, RFC 8200 8.1) added to sum, the partial
 * sum of the TCP/UDP segment (header with its checksum field zero, and
 * payload); bg_csum_fold() of the result is the checksum, to be passed
 * through bg_csum_udp_final() for UDP. len is the segment length in host
 * order; protocol and length enter as the big-endian words they are in
 * the pseudo-header, hence the swap.
 */
static __always_inline __wsum bg_csum_pseudo4(__be32 saddr, __be32 daddr,
					      __u16 len, __u8 proto, __wsum sum)
{
	__u64 s = (__u64)(__force __u32)sum;

	s += (__force __u32)saddr;
	s += (__force __u32)daddr;
	s += bg_csum_htons_(len);
	s += bg_csum_htons_(proto);
	return bg_csum_from64_(s);
}

/* saddr and daddr point to 16-byte IPv6 addresses, 2-byte aligned. */
static __always_inline __wsum bg_csum_pseudo6(const __be32 saddr[4],
					      const __be32 daddr[4], __u32 len,
					      __u8 proto, __wsum sum)
{
	const bg_csum_u16_t *sa = (const bg_csum_u16_t *)saddr;
	const bg_csum_u16_t *da = (const bg_csum_u16_t *)daddr;
	__u64 s = (__u64)(__force __u32)sum;
	int i;

	for (i = 0; i < 8; i++)
		s += (__u32)sa[i] + da[i];
	/* The upper-layer length is 32 bits wide here: two words. */
	s += bg_csum_htons_(len >> 16);
	s += bg_csum_htons_(len & 0xffff);
	s += bg_csum_htons_(proto);
	return bg_csum_from64_(s);
}

#endif /* BG_CSUM_H */
