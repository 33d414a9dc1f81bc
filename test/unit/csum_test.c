// SPDX-License-Identifier: GPL-2.0
/*
 * headers/bg_csum.h against checksums computed from scratch.
 *
 * The reference shares no code with the header: it reads bytes as
 * big-endian numbers and reduces the plain sum modulo 0xffff with '%',
 * where the header adds memory-order words with end-around carries. Every
 * rewrite is applied to the packet bytes, the checksum is updated with the
 * incremental helpers, and the stored field must equal the reference over
 * the rewritten packet bit for bit (0x0000 and 0xffff are not the same).
 *
 * Usage: csum_test [seed]. Prints one summary line; on the first mismatch
 * prints what was being checked, the seed and the packet, and exits 1.
 */
#include "bg_csum.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_SEED 20240601ULL

#define N_IPV4_HDR 20000
#define N_L4 40000
#define REWRITES 8
#define N_FORCED_ZERO 5000
#define N_PARTIAL 20000

static unsigned long long seed;
static unsigned long checks;

/* What is being checked, for the failure report. */
static struct {
	const char *group;
	unsigned long iter;
	const char *op;
	const uint8_t *pkt;
	size_t len;
} ctx;

/* splitmix64: small, seedable, good enough to pick packets. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

/* A partial sum to start from: large ones make the carries matter. */
static __wsum rnd_wsum(void)
{
	static const uint32_t special[] = { 0, 0xffffffff, 0xffff0000,
					    0x0000ffff, 0xfffffffe };

	if (!rnd_below(4))
		return (__wsum)special[rnd_below(5)];
	return (__wsum)rnd();
}

static void dump(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 256; i++)
		printf("%02x%s", p[i],
		       (i % 16 == 15 || i + 1 == len) ? "\n" : " ");
	if (len > 256)
		printf("... (%zu bytes)\n", len);
}

static void expect(const char *what, unsigned want, unsigned got)
{
	checks++;
	if (want == got)
		return;
	printf("csum_test: FAIL %s, case %lu, op %s: %s: want 0x%04x, got 0x%04x\n",
	       ctx.group, ctx.iter, ctx.op ? ctx.op : "-", what, want, got);
	printf("csum_test: seed %llu (rerun: csum_test %llu)\n", seed, seed);
	if (ctx.pkt) {
		printf("csum_test: bytes (%zu):\n", ctx.len);
		dump(ctx.pkt, ctx.len);
	}
	exit(1);
}

/* ---- reference ---------------------------------------------------------- */

struct ref {
	uint64_t total;
	int nonzero;
};

/*
 * Adds bytes as big-endian 16-bit numbers, an odd last byte padded with a
 * zero; the word at even offset skip counts as zero (skip < 0: none).
 */
static void ref_add(struct ref *r, const uint8_t *p, size_t len, long skip)
{
	size_t i;

	for (i = 0; i < len; i += 2) {
		unsigned w = (unsigned)p[i] << 8;

		if (i + 1 < len)
			w |= p[i + 1];
		if ((long)i == skip)
			w = 0;
		r->total += w;
		r->nonzero |= w != 0;
	}
}

/* Ones' complement sum: data that is not all zero sums to 1..0xffff. */
static unsigned ref_sum(const struct ref *r)
{
	unsigned s = (unsigned)(r->total % 0xffff);

	if (!s && r->nonzero)
		s = 0xffff;
	return s;
}

static unsigned ref_csum(const struct ref *r)
{
	return 0xffff & ~ref_sum(r);
}

/* A memory-order 32-bit partial sum is worth its two 16-bit halves. */
static void ref_add_wsum(struct ref *r, __wsum w)
{
	uint32_t v = (uint32_t)w;

	r->total += ntohs((uint16_t)v) + ntohs((uint16_t)(v >> 16));
	r->nonzero |= v != 0;
}

/* ---- packet bytes --------------------------------------------------------- */

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static __be16 ld16(const uint8_t *p)
{
	__be16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static __be32 ld32(const uint8_t *p)
{
	__be32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static __sum16 ldsum(const uint8_t *p)
{
	__sum16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void stsum(uint8_t *p, __sum16 v)
{
	memcpy(p, &v, sizeof(v));
}

/* A helper's __sum16 (memory order) as a number. */
static unsigned num(__sum16 c)
{
	return ntohs((uint16_t)c);
}

static __be16 be16(unsigned v)
{
	return (__be16)htons((uint16_t)v);
}

/* ---- IPv4 header ---------------------------------------------------------- */

static unsigned ref_ip(const uint8_t *ip, unsigned hl)
{
	struct ref r = { 0 };

	ref_add(&r, ip, hl, 10);
	return ref_csum(&r);
}

static void ip_replace2(uint8_t *ip, unsigned off, unsigned v)
{
	__sum16 c = ldsum(ip + 10);
	__be16 old = ld16(ip + off);

	wr16(ip + off, v);
	bg_csum_replace2(&c, old, ld16(ip + off));
	stsum(ip + 10, c);
}

static void ip_replace4(uint8_t *ip, unsigned off, __be32 new)
{
	__sum16 c = ldsum(ip + 10);

	bg_csum_replace4(&c, ld32(ip + off), new);
	memcpy(ip + off, &new, 4);
	stsum(ip + 10, c);
}

/* TTL and protocol share a word: decrementing the TTL changes that word. */
static void ip_ttl_dec(uint8_t *ip)
{
	unsigned ttl = (uint8_t)(ip[8] - 1);

	ip_replace2(ip, 8, ttl << 8 | ip[9]);
}

static void check_ip(const uint8_t *ip, unsigned hl)
{
	expect("ipv4 header checksum", ref_ip(ip, hl), rd16(ip + 10));
	expect("ipv4 header verifies (bg_csum_partial)", 0,
	       num(bg_csum_fold(bg_csum_partial(ip, hl, ip + hl, 0))));
}

static void test_ipv4_hdr(void)
{
	uint8_t buf[128] __attribute__((aligned(8)));
	unsigned long it;

	ctx.group = "ipv4 header";
	for (it = 0; it < N_IPV4_HDR; it++) {
		uint8_t *ip = buf + 2 * rnd_below(16);
		unsigned hl = 4 * (5 + rnd_below(11));
		__sum16 c;
		int k;

		ctx.iter = it;
		ctx.op = "fill";
		ctx.pkt = ip;
		ctx.len = hl;
		rnd_fill(ip, hl);
		ip[0] = (uint8_t)(0x40 | hl / 4);
		ip[10] = ip[11] = 0;
		c = bg_csum_fold(bg_csum_partial(ip, hl, ip + hl, 0));
		expect("bg_csum_partial over header", ref_ip(ip, hl), num(c));
		wr16(ip + 10, ref_ip(ip, hl));
		check_ip(ip, hl);

		for (k = 0; k < REWRITES; k++) {
			__be32 a = (__be32)rnd();
			unsigned tos = rnd_below(256);
			/* an option word, or saddr when there is none */
			unsigned opt = 12;

			if (hl > 20)
				opt = 20 + 4 * rnd_below((hl - 20) / 4);
			switch (rnd_below(7)) {
			case 0:
				ctx.op = "saddr (replace4)";
				ip_replace4(ip, 12, a);
				break;
			case 1:
				ctx.op = "daddr (replace4)";
				ip_replace4(ip, 16, a);
				break;
			case 2:
				ctx.op = "ttl decrement (replace2)";
				ip_ttl_dec(ip);
				break;
			case 3:
				ctx.op = "tos (replace2)";
				ip_replace2(ip, 0, (unsigned)ip[0] << 8 | tos);
				break;
			case 4:
				ctx.op = "id (replace2)";
				ip_replace2(ip, 4, rnd_below(0x10000));
				break;
			case 5:
				ctx.op = "option word (replace4)";
				ip_replace4(ip, opt, a);
				break;
			default: {
				__be16 oid = ld16(ip + 4);
				__be32 oaddr = ld32(ip + 12);
				__wsum d;

				ctx.op = "saddr+id in one diff";
				wr16(ip + 4, rnd_below(0x10000));
				memcpy(ip + 12, &a, 4);
				d = bg_csum_diff2(oid, ld16(ip + 4));
				d = bg_csum_add(bg_csum_diff4(oaddr, a), d);
				c = ldsum(ip + 10);
				bg_csum_replace_by_diff(&c, d);
				stsum(ip + 10, c);
				break;
			}
			}
			check_ip(ip, hl);
		}
	}
}

/* ---- TCP/UDP over IPv4 and IPv6 ------------------------------------------- */

struct pkt {
	int v6;
	int udp;
	int udp_none; /* IPv4 UDP sent without a checksum */
	uint8_t *ip;
	unsigned iphl;
	uint8_t *seg;
	unsigned seglen;
	unsigned hl; /* TCP/UDP header length */
	unsigned coff; /* offset of the checksum in the segment */
	int mss_off; /* offset of the MSS value in the segment, -1: none */
	__sum16 partial; /* the field as a CHECKSUM_PARTIAL skb holds it */
};

static uint8_t proto(const struct pkt *p)
{
	return p->udp ? 17 : 6;
}

static void ref_pseudo(const struct pkt *p, struct ref *r)
{
	uint8_t ph[40];

	if (p->v6) {
		memcpy(ph, p->ip + 8, 32);
		ph[32] = (uint8_t)(p->seglen >> 24);
		ph[33] = (uint8_t)(p->seglen >> 16);
		ph[34] = (uint8_t)(p->seglen >> 8);
		ph[35] = (uint8_t)p->seglen;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = proto(p);
		ref_add(r, ph, 40, -1);
	} else {
		memcpy(ph, p->ip + 12, 8);
		ph[8] = 0;
		ph[9] = proto(p);
		ph[10] = (uint8_t)(p->seglen >> 8);
		ph[11] = (uint8_t)p->seglen;
		ref_add(r, ph, 12, -1);
	}
}

static unsigned ref_l4(const struct pkt *p)
{
	struct ref r = { 0 };
	unsigned c;

	if (p->udp_none)
		return 0;
	ref_pseudo(p, &r);
	ref_add(&r, p->seg, p->seglen, p->coff);
	c = ref_csum(&r);
	if (p->udp && !c)
		c = 0xffff;
	return c;
}

static unsigned ref_pseudo_sum(const struct pkt *p)
{
	struct ref r = { 0 };

	ref_pseudo(p, &r);
	return ref_sum(&r);
}

static void check_pkt(const struct pkt *p)
{
	expect(p->udp ? "udp checksum" : "tcp checksum", ref_l4(p),
	       rd16(p->seg + p->coff));
	expect("pseudo-header seed of a CHECKSUM_PARTIAL skb",
	       ref_pseudo_sum(p), num(p->partial));
	if (!p->v6)
		expect("ipv4 header checksum", ref_ip(p->ip, p->iphl),
		       rd16(p->ip + 10));
}

/* The L4 checksum the way a program fills it in: header helpers only. */
static __sum16 csum_l4_helpers(struct pkt *p)
{
	uint8_t *ck = p->seg + p->coff;
	uint8_t save[2] = { ck[0], ck[1] };
	struct ref r = { 0 };
	__wsum s;
	__sum16 c;

	ck[0] = ck[1] = 0;
	s = bg_csum_partial(p->seg, p->hl, p->seg + p->hl, 0);
	ck[0] = save[0];
	ck[1] = save[1];
	/* The payload may be longer than bg_csum_partial() takes. */
	ref_add(&r, p->seg + p->hl, p->seglen - p->hl, -1);
	s = bg_csum_add(s, (__wsum)htons((uint16_t)ref_sum(&r)));
	if (p->v6)
		s = bg_csum_pseudo6((const __be32 *)(p->ip + 8),
				    (const __be32 *)(p->ip + 24), p->seglen,
				    proto(p), s);
	else
		s = bg_csum_pseudo4(ld32(p->ip + 12), ld32(p->ip + 16),
				    (__u16)p->seglen, proto(p), s);
	c = bg_csum_fold(s);
	return p->udp ? bg_csum_udp_final(c) : c;
}

/* The pseudo-header sum alone, uncomplemented, as the kernel seeds it. */
static __sum16 partial_helpers(const struct pkt *p)
{
	__wsum s;

	if (p->v6)
		s = bg_csum_pseudo6((const __be32 *)(p->ip + 8),
				    (const __be32 *)(p->ip + 24), p->seglen,
				    proto(p), 0);
	else
		s = bg_csum_pseudo4(ld32(p->ip + 12), ld32(p->ip + 16),
				    (__u16)p->seglen, proto(p), 0);
	return (__sum16)~bg_csum_fold(s);
}

static void build(struct pkt *p, uint8_t *buf)
{
	unsigned pl;

	memset(p, 0, sizeof(*p));
	p->v6 = rnd() & 1;
	p->udp = rnd() & 1;
	p->ip = buf + 2 * rnd_below(16);
	if (p->v6)
		p->iphl = 40;
	else
		p->iphl = 4 * (5 + (rnd_below(4) ? 0 : rnd_below(11)));
	pl = rnd_below(4) ? rnd_below(64) : rnd_below(1461);
	p->hl = p->udp ? 8 : 20 + 4 * rnd_below(11);
	p->seglen = p->hl + pl;
	p->seg = p->ip + p->iphl;
	p->coff = p->udp ? 6 : 16;
	p->mss_off = -1;
	rnd_fill(p->ip, p->iphl + p->seglen);

	if (p->v6) {
		p->ip[0] = (uint8_t)(0x60 | (p->ip[0] & 0x0f));
		wr16(p->ip + 4, p->seglen);
		p->ip[6] = proto(p);
	} else {
		p->ip[0] = (uint8_t)(0x40 | p->iphl / 4);
		wr16(p->ip + 2, p->iphl + p->seglen);
		p->ip[9] = proto(p);
		wr16(p->ip + 10, ref_ip(p->ip, p->iphl));
	}
	if (p->udp) {
		wr16(p->seg + 4, p->seglen);
		p->udp_none = !p->v6 && !rnd_below(8);
	} else {
		p->seg[12] = (uint8_t)((p->hl / 4) << 4 | (p->seg[12] & 0x0f));
		/* NOPs first put the MSS at either parity. */
		if (p->hl >= 24 && (rnd() & 1)) {
			unsigned k = rnd_below(p->hl - 20 - 3);

			memset(p->seg + 20, 1, k);
			p->seg[20 + k] = 2;
			p->seg[21 + k] = 4;
			p->mss_off = (int)(22 + k);
		}
	}
	wr16(p->seg + p->coff, ref_l4(p));
	p->partial = (__sum16)htons((uint16_t)ref_pseudo_sum(p));
	ctx.pkt = p->ip;
	ctx.len = p->iphl + p->seglen;
}

/* An update of fields inside the segment (ports, MSS, payload). */
static void l4_update(struct pkt *p, __wsum diff)
{
	__sum16 c = ldsum(p->seg + p->coff);

	if (p->udp)
		bg_csum_udp_replace_by_diff(&c, diff);
	else
		bg_csum_replace_by_diff(&c, diff);
	stsum(p->seg + p->coff, c);
}

/*
 * An update of the pseudo-header: also what bpf_l4_csum_replace() with
 * BPF_F_PSEUDO_HDR does to a CHECKSUM_PARTIAL skb (net/core/utils.c).
 */
static void pseudo_update(struct pkt *p, __wsum diff)
{
	p->partial = (__sum16)~bg_csum_fold(
		bg_csum_add(bg_csum_unfold(p->partial), diff));
}

static void port_op(struct pkt *p, unsigned off, unsigned v)
{
	__sum16 c = ldsum(p->seg + p->coff);
	__be16 old = ld16(p->seg + off);

	wr16(p->seg + off, v);
	if (p->udp)
		bg_csum_udp_replace2(&c, old, ld16(p->seg + off));
	else
		bg_csum_replace2(&c, old, ld16(p->seg + off));
	stsum(p->seg + p->coff, c);
}

/* Rewrites saddr (which 0) or daddr, and with port_off >= 0 a port too. */
static void addr_op(struct pkt *p, int which, int port_off)
{
	__sum16 c = ldsum(p->seg + p->coff);
	__be16 oport = 0, nport = 0;
	__wsum d;

	if (port_off >= 0) {
		oport = ld16(p->seg + port_off);
		wr16(p->seg + port_off, rnd_below(0x10000));
		nport = ld16(p->seg + port_off);
	}
	if (p->v6) {
		__be32 na[4];
		uint8_t *a = p->ip + (which ? 24 : 8);

		rnd_fill((uint8_t *)na, sizeof(na));
		/* old read in place from the packet, 2-byte aligned */
		d = bg_csum_diff16((const __be32 *)a, na);
		if (port_off >= 0)
			l4_update(p,
				  bg_csum_add(d, bg_csum_diff2(oport, nport)));
		else if (p->udp)
			bg_csum_udp_replace16(&c, (const __be32 *)a, na);
		else
			bg_csum_replace16(&c, (const __be32 *)a, na);
		memcpy(a, na, sizeof(na));
	} else {
		uint8_t *a = p->ip + (which ? 16 : 12);
		__be32 oa = ld32(a), na = (__be32)rnd();

		d = bg_csum_diff4(oa, na);
		if (port_off >= 0)
			l4_update(p,
				  bg_csum_add(d, bg_csum_diff2(oport, nport)));
		else if (p->udp)
			bg_csum_udp_replace4(&c, oa, na);
		else
			bg_csum_replace4(&c, oa, na);
		ip_replace4(p->ip, which ? 16 : 12, na);
	}
	if (port_off < 0)
		stsum(p->seg + p->coff, c);
	pseudo_update(p, d);
}

/* A 16-bit field at any offset of the segment, odd ones included. */
static void field_op(struct pkt *p, unsigned off, unsigned v)
{
	__be16 old = ld16(p->seg + off);

	wr16(p->seg + off, v);
	if (off & 1)
		l4_update(p, bg_csum_diff2_odd(old, ld16(p->seg + off)));
	else
		l4_update(p, bg_csum_diff2(old, ld16(p->seg + off)));
}

static void word32_op(struct pkt *p, unsigned off)
{
	__sum16 c = ldsum(p->seg + p->coff);
	__be32 old = ld32(p->seg + off), new = (__be32)rnd();

	memcpy(p->seg + off, &new, 4);
	if (p->udp)
		bg_csum_udp_replace4(&c, old, new);
	else
		bg_csum_replace4(&c, old, new);
	stsum(p->seg + p->coff, c);
}

static void test_l4(void)
{
	uint8_t buf[2048] __attribute__((aligned(8)));
	unsigned long it;
	struct pkt p;

	ctx.group = "tcp/udp";
	for (it = 0; it < N_L4; it++) {
		unsigned pl;
		int k;

		ctx.iter = it;
		ctx.op = "fill";
		build(&p, buf);
		pl = p.seglen - p.hl;
		check_pkt(&p);
		if (!p.udp_none)
			expect("checksum from bg_csum_partial + pseudo-header",
			       rd16(p.seg + p.coff), num(csum_l4_helpers(&p)));
		expect("pseudo-header sum", ref_pseudo_sum(&p),
		       num(partial_helpers(&p)));

		for (k = 0; k < REWRITES; k++) {
			unsigned off;

			switch (rnd_below(9)) {
			case 0:
				ctx.op = "saddr";
				addr_op(&p, 0, -1);
				break;
			case 1:
				ctx.op = "daddr";
				addr_op(&p, 1, -1);
				break;
			case 2:
				ctx.op = "sport";
				port_op(&p, 0, rnd_below(0x10000));
				break;
			case 3:
				ctx.op = "dport";
				port_op(&p, 2, rnd_below(0x10000));
				break;
			case 4:
				ctx.op = "nat: address+port in one diff";
				addr_op(&p, (int)(rnd() & 1), (int)(rnd() & 2));
				break;
			case 5:
				ctx.op = "ttl/hop limit decrement";
				if (p.v6)
					p.ip[7]--; /* not in the pseudo-header */
				else
					ip_ttl_dec(p.ip);
				break;
			case 6:
				if (p.mss_off >= 0) {
					ctx.op = p.mss_off & 1 ? "mss, odd" :
								 "mss, even";
					field_op(&p, (unsigned)p.mss_off,
						 536 + rnd_below(1000));
					break;
				}
				/* fall through */
			case 7:
				if (pl >= 2) {
					off = p.hl + rnd_below(pl - 1);
					ctx.op = off & 1 ? "payload, odd" :
							   "payload, even";
					field_op(&p, off, rnd_below(0x10000));
					break;
				}
				ctx.op = "sport";
				port_op(&p, 0, rnd_below(0x10000));
				break;
			default:
				ctx.op = "32-bit field (seq/ack or payload)";
				off = 4 + 4 * (rnd() & 1);
				if (p.udp && pl >= 4)
					off = 8 + 2 * rnd_below(pl / 2 - 1);
				if (!p.udp || pl >= 4)
					word32_op(&p, off);
				else
					port_op(&p, 2, rnd_below(0x10000));
				break;
			}
			check_pkt(&p);
		}
	}
}

/* ---- the two zeros -------------------------------------------------------- */

/*
 * bg_csum_replace2/4() against what recomputing gives: the sum S' of the
 * rewritten data is never +0 (the data is not all zero), and HC' = ~S'.
 */
static void test_replace_exhaustive(void)
{
	static const unsigned special[][2] = {
		{ 0x0000, 0x0000 }, { 0xffff, 0xffff }, { 0x0000, 0xffff },
		{ 0xffff, 0x0000 }, { 0x0001, 0x0000 }, { 0x0000, 0x0001 },
		{ 0x5555, 0x3285 }, { 0xfffe, 0xffff },
	};
	static const uint32_t special4[][2] = {
		{ 0xffffffff, 0x00000000 },
		{ 0x00000000, 0xffffffff },
		{ 0xffff0000, 0x0000ffff },
		{ 0x00000000, 0x00000000 },
	};
	unsigned hc, j;

	ctx.group = "replace2/replace4 over every checksum value";
	ctx.pkt = NULL;
	for (hc = 0; hc <= 0xffff; hc++) {
		ctx.iter = hc;
		for (j = 0; j < 16; j++) {
			unsigned m, mn, s, want, got;
			__sum16 c;

			if (j < 8) {
				m = special[j][0];
				mn = special[j][1];
			} else if (j == 8) {
				m = mn = rnd_below(0x10000);
			} else {
				m = rnd_below(0x10000);
				mn = rnd_below(0x10000);
			}
			s = ((0xffff - hc) + (0xffff - m) + mn) % 0xffff;
			if (!s)
				s = 0xffff;
			want = 0xffff - s;

			ctx.op = "bg_csum_replace2";
			c = (__sum16)htons((uint16_t)hc);
			bg_csum_replace2(&c, be16(m), be16(mn));
			expect("HC' = ~(~HC + ~m + m')", want, num(c));

			ctx.op = "bg_csum_udp_replace2";
			c = (__sum16)htons((uint16_t)hc);
			bg_csum_udp_replace2(&c, be16(m), be16(mn));
			got = num(c);
			if (!hc)
				expect("udp: no checksum stays 0", 0, got);
			else
				expect("udp: computed 0 is sent as 0xffff",
				       want ? want : 0xffff, got);
		}
		for (j = 0; j < 6; j++) {
			uint32_t f, t;
			unsigned s, want;
			__sum16 c;

			if (j < 4) {
				f = special4[j][0];
				t = special4[j][1];
			} else {
				f = (uint32_t)rnd();
				t = j == 4 ? f : (uint32_t)rnd();
			}
			s = ((0xffff - hc) + (0xffff - (f >> 16)) +
			     (0xffff - (f & 0xffff)) + (t >> 16) +
			     (t & 0xffff)) %
			    0xffff;
			if (!s)
				s = 0xffff;
			want = 0xffff - s;

			/* f = 0xffffffff, t = 0: a diff of exactly 0 */
			ctx.op = "bg_csum_replace4";
			c = (__sum16)htons((uint16_t)hc);
			bg_csum_replace4(&c, (__be32)htonl(f),
					 (__be32)htonl(t));
			expect("HC' = ~(~HC + ~m + m')", want, num(c));
		}
	}

	/* RFC 1624 section 4 example: eqn 2 would give 0xffff. */
	ctx.op = "rfc 1624 section 4";
	{
		__sum16 c = (__sum16)htons(0xdd2f);

		bg_csum_replace2(&c, be16(0x5555), be16(0x3285));
		expect("HC' of the example", 0x0000, num(c));
	}
}

/*
 * Rewrites that make the recomputed checksum exactly 0x0000: TCP and the
 * IPv4 header must then hold 0x0000, UDP 0xffff; and back again.
 */
static void test_forced_zero(void)
{
	uint8_t buf[2048] __attribute__((aligned(8)));
	unsigned long it;
	struct pkt p;

	ctx.group = "checksum forced to zero";
	for (it = 0; it < N_FORCED_ZERO; it++) {
		unsigned orig, old, v;
		struct ref r = { 0 };
		uint8_t save[2];

		ctx.iter = it;
		do
			build(&p, buf);
		while (p.udp_none);

		ctx.op = "dport that zeroes the l4 checksum";
		old = rd16(p.seg + 2);
		orig = rd16(p.seg + p.coff);
		memcpy(save, p.seg + 2, 2);
		p.seg[2] = p.seg[3] = 0;
		ref_pseudo(&p, &r);
		ref_add(&r, p.seg, p.seglen, p.coff);
		memcpy(p.seg + 2, save, 2);
		v = (0xffff - ref_sum(&r) % 0xffff) % 0xffff;
		port_op(&p, 2, v);
		check_pkt(&p);
		expect("zero result", p.udp ? 0xffff : 0x0000,
		       rd16(p.seg + p.coff));
		ctx.op = "dport back from the zero checksum";
		port_op(&p, 2, old);
		check_pkt(&p);
		expect("original checksum restored", orig,
		       rd16(p.seg + p.coff));

		if (!p.v6) {
			uint8_t *ip = p.ip;
			struct ref h = { 0 };

			ctx.op = "ipv4 id that zeroes the header checksum";
			old = rd16(ip + 4);
			orig = rd16(ip + 10);
			ip[4] = ip[5] = 0;
			ref_add(&h, ip, p.iphl, 10);
			v = (0xffff - ref_sum(&h) % 0xffff) % 0xffff;
			wr16(ip + 4, old);
			ip_replace2(ip, 4, v);
			check_ip(ip, p.iphl);
			expect("zero ipv4 header checksum", 0x0000,
			       rd16(ip + 10));
			ip_replace2(ip, 4, old);
			expect("original ipv4 checksum restored", orig,
			       rd16(ip + 10));
		}
	}

	ctx.group = "udp without checksum";
	ctx.pkt = NULL;
	for (it = 0; it < N_FORCED_ZERO; it++) {
		__be32 a[4], b[4];
		__sum16 c = 0;

		ctx.iter = it;
		rnd_fill((uint8_t *)a, sizeof(a));
		rnd_fill((uint8_t *)b, sizeof(b));
		ctx.op = "udp_replace2/4/16/by_diff on 0";
		bg_csum_udp_replace2(&c, (__be16)rnd(), (__be16)rnd());
		bg_csum_udp_replace4(&c, (__be32)rnd(), (__be32)rnd());
		bg_csum_udp_replace16(&c, a, b);
		bg_csum_udp_replace_by_diff(&c, (__wsum)rnd());
		expect("stays 0", 0, num(c));
	}
	ctx.op = "bg_csum_udp_final";
	expect("final(0)", 0xffff, num(bg_csum_udp_final(0)));
	expect("final(0xffff)", 0xffff,
	       num(bg_csum_udp_final((__sum16)0xffff)));
	expect("final(x)", 0x1234,
	       num(bg_csum_udp_final((__sum16)htons(0x1234))));
}

/* ---- primitives and bg_csum_partial ---------------------------------------- */

static void test_primitives(void)
{
	unsigned long it;

	ctx.group = "fold/add/sub";
	ctx.pkt = NULL;
	ctx.op = "fixed";
	expect("fold(0)", 0xffff, (__u16)bg_csum_fold(0));
	expect("fold(0xffffffff)", 0x0000, (__u16)bg_csum_fold(0xffffffff));
	expect("fold(0xffff)", 0x0000, (__u16)bg_csum_fold(0xffff));
	expect("fold(0x10000)", 0xfffe, (__u16)bg_csum_fold(0x10000));
	expect("fold(0xfffeffff) carries twice", 0x0001,
	       (__u16)bg_csum_fold(0xfffeffff));
	expect("unfold", 0xbeef, (unsigned)bg_csum_unfold((__sum16)0xbeef));

	ctx.op = "random";
	for (it = 0; it < 1000000; it++) {
		uint32_t a = (uint32_t)rnd(), b = (uint32_t)rnd();
		uint64_t s = (uint64_t)a + b;
		uint64_t d = (uint64_t)a + (0xffffffffULL - b);
		uint32_t want =
			(uint32_t)(s >= 1ULL << 32 ? s - 0xffffffffULL : s);
		uint32_t wsub =
			(uint32_t)(d >= 1ULL << 32 ? d - 0xffffffffULL : d);
		uint32_t got = (uint32_t)bg_csum_add(a, b);
		uint32_t gsub = (uint32_t)bg_csum_sub(a, b);

		ctx.iter = it;
		/* a - a is -0: 0xffffffff, never +0 */
		if (want != got || wsub != gsub ||
		    (uint32_t)bg_csum_sub(a, a) != 0xffffffff) {
			printf("csum_test: FAIL add/sub a=0x%08x b=0x%08x: add want 0x%08x got 0x%08x, sub want 0x%08x got 0x%08x, sub(a, a) 0x%08x\n",
			       a, b, want, got, wsub, gsub,
			       (uint32_t)bg_csum_sub(a, a));
			printf("csum_test: seed %llu\n", seed);
			exit(1);
		}
		checks++;
	}
}

static void test_partial(void)
{
	uint8_t buf[96] __attribute__((aligned(8)));
	long page = sysconf(_SC_PAGESIZE);
	unsigned long it;
	uint8_t *map;

	ctx.group = "bg_csum_partial";
	for (it = 0; it < N_PARTIAL; it++) {
		uint8_t *p = buf + 2 * rnd_below(8);
		unsigned len = rnd_below(71), avail = len, n;
		__wsum w = rnd_wsum();
		struct ref r = { 0 };
		__sum16 c;

		ctx.iter = it;
		if (!rnd_below(4))
			avail = rnd_below(len + 1);
		rnd_fill(p, len);
		if (!rnd_below(16))
			memset(p, 0, len);
		n = len < avail ? len : avail;
		if (n > BG_CSUM_PARTIAL_MAX)
			n = BG_CSUM_PARTIAL_MAX;
		ctx.op = len & 1 ? "odd length" : "even length";
		ctx.pkt = p;
		ctx.len = len;
		ref_add(&r, p, n, -1);
		ref_add_wsum(&r, w);
		c = bg_csum_fold(bg_csum_partial(p, len, p + avail, w));
		expect("sum of min(len, end - buf, BG_CSUM_PARTIAL_MAX) bytes",
		       ref_csum(&r), num(c));
	}

	/* Never reads past end: the byte after it is unmapped (2-aligned). */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE)) {
		perror("csum_test: mmap");
		exit(1);
	}
	ctx.op = "end at an unmapped page";
	for (it = 0; it <= BG_CSUM_PARTIAL_MAX; it += 2) {
		uint8_t *end = map + page, *p = end - it;
		struct ref r = { 0 };

		ctx.iter = it;
		ctx.pkt = p;
		ctx.len = it;
		rnd_fill(p, it);
		ref_add(&r, p, it, -1);
		expect("sum up to end", ref_csum(&r),
		       num(bg_csum_fold(bg_csum_partial(p, BG_CSUM_PARTIAL_MAX,
							end, 0))));
	}
	munmap(map, 2 * page);
}

/* Pseudo-header sums on their own: any length, protocol and seed. */
static void test_pseudo(void)
{
	uint8_t buf[48] __attribute__((aligned(8)));
	unsigned long it;

	ctx.group = "pseudo-header";
	for (it = 0; it < N_PARTIAL; it++) {
		uint8_t *a = buf + 2 * rnd_below(4), ph[40] = { 0 };
		uint32_t len = (uint32_t)rnd();
		uint8_t pr = (uint8_t)rnd();
		__wsum w = rnd_wsum(), s;
		struct ref r = { 0 };

		ctx.iter = it;
		ctx.pkt = a;
		rnd_fill(a, 32);
		if (!rnd_below(4))
			len = rnd_below(2) ? 0xffffffff : 0x10000;
		if (rnd() & 1) {
			ctx.op = "ipv6";
			ctx.len = 32;
			memcpy(ph, a, 32);
			ph[32] = (uint8_t)(len >> 24);
			ph[33] = (uint8_t)(len >> 16);
			ph[34] = (uint8_t)(len >> 8);
			ph[35] = (uint8_t)len;
			ph[39] = pr;
			ref_add(&r, ph, 40, -1);
			s = bg_csum_pseudo6((const __be32 *)a,
					    (const __be32 *)(a + 16), len, pr,
					    w);
		} else {
			ctx.op = "ipv4";
			ctx.len = 8;
			len &= 0xffff;
			memcpy(ph, a, 8);
			ph[9] = pr;
			ph[10] = (uint8_t)(len >> 8);
			ph[11] = (uint8_t)len;
			ref_add(&r, ph, 12, -1);
			s = bg_csum_pseudo4(ld32(a), ld32(a + 4), (__u16)len,
					    pr, w);
		}
		ref_add_wsum(&r, w);
		expect("pseudo-header checksum", ref_csum(&r),
		       num(bg_csum_fold(s)));
	}

	/*
	 * All ones everywhere: the first 64 -> 32 bit fold carries out of
	 * bit 31 again as soon as length and protocol add anything.
	 */
	ctx.op = "ipv4, carries out of the first fold";
	ctx.pkt = NULL;
	for (it = 0; it < 8; it++) {
		uint8_t ph[12] = { 0xff, 0xff, 0xff, 0xff,
				   0xff, 0xff, 0xff, 0xff };
		uint16_t len = ntohs((uint16_t)it);
		struct ref r = { 0 };

		ctx.iter = it;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		ref_add(&r, ph, 12, -1);
		ref_add_wsum(&r, (__wsum)0xffffffff);
		expect("pseudo-header checksum", ref_csum(&r),
		       num(bg_csum_fold(bg_csum_pseudo4(0xffffffff, 0xffffffff,
							len, 0, 0xffffffff))));
	}
}

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : DEFAULT_SEED;
	rng_state = seed;

	test_primitives();
	test_partial();
	test_pseudo();
	test_replace_exhaustive();
	test_ipv4_hdr();
	test_l4();
	test_forced_zero();

	printf("csum_test: all %lu checks passed (seed %llu: %d ipv4 headers, %d tcp/udp packets, %d rewrites each, %d forced-zero packets)\n",
	       checks, seed, N_IPV4_HDR, N_L4, REWRITES, N_FORCED_ZERO);
	return 0;
}
