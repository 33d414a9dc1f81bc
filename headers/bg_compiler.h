/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compiler and verifier workarounds, in one place. Each says which
 * verifier (or compiler) behaviour it avoids; remove one only after
 * `make check-kernels` passes without it on the oldest kernel we support.
 */
#ifndef BG_COMPILER_H
#define BG_COMPILER_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * Hide a value from the optimiser. The 6.1 verifier loses the range of a
 * value after a byte swap ("R1 unbounded memory access" once it is added
 * to a packet pointer); the mask that gives it back would be dropped by
 * the compiler as redundant, so it must come after this barrier.
 */
#define bg_barrier_var(v) asm volatile("" : "+r"(v))

/*
 * A load the compiler must do once, here, and not merge with another or
 * move: the seqlock of a conntrack entry reads its sequence word before
 * and after copying the entry (another CPU may be writing it).
 */
#define bg_read_once(x) (*(volatile __typeof__(x) *)&(x))

/* No memory access moves across this point: the seqlock's copy stays
 * between its two reads of the sequence word. */
#define bg_compiler_barrier() asm volatile("" ::: "memory")

/*
 * arr[i] for a variable i (0 or 1) in a stack struct: clang turns the
 * address computation of an aligned stack object into an OR, which the
 * verifier refuses on pointers ("R2 bitwise operator |= on pointer
 * prohibited"); the barrier forces an ADD.
 */
#define BG_IDX(arr, i)                                         \
	(*({                                                   \
		__u64 __o = ((__u64)(i)&1) * sizeof((arr)[0]); \
		bg_barrier_var(__o);                           \
		(__typeof__(&(arr)[0]))((void *)(arr) + __o);  \
	}))

/*
 * The same value, opaque to the verifier (it XORs in an unknown number
 * twice). For bounds that callbacks compare their counters against: the
 * verifier walks a bpf_for_each_map_elem() or bpf_loop() callback until
 * its states repeat, and a counter compared with a known constant is
 * tracked exactly, so they never repeat ("The sequence of 8193 jumps is
 * too complex"). Costs one helper call.
 */
static __always_inline __u64 bg_opaque(__u64 v)
{
	__u64 r = bpf_get_prandom_u32();

	asm volatile("%0 ^= %1; %0 ^= %1" : "+r"(v) : "r"(r));
	return v;
}

/* Index of the lowest set bit; BPF has no ctz instruction. x != 0. */
/*
 * Trailing zeros of x != 0 without a branch (de Bruijn multiplication):
 * in a loop, each branch of bg_ctz64 would multiply the states the
 * verifier walks ("BPF program is too large").
 */
static const __u8 bg_debruijn64[64] = {
	0,  1,	48, 2,	57, 49, 28, 3,	61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,	13, 8,	7,  6,
};

static __always_inline __u32 bg_ctz64_nb(__u64 x)
{
	return bg_debruijn64[((x & -x) * 0x03f79d71b4cb0a89ULL) >> 58];
}

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

#endif /* BG_COMPILER_H */
