#!/usr/bin/env bats
# headers/bg_csum.h, the checksum helpers of the rewriting programs.
#
#   1. test/unit/csum_test.c: every helper against checksums computed from
#      scratch, in userspace (gcc).
#   2. The header builds for BPF: an XDP and a TC program that use the
#      helpers on packet pointers compile with clang -target bpf, and no
#      helper is left out of line.
#   3. The kernel accepts that object and, run with BPF_PROG_TEST_RUN, it
#      rewrites packets whose checksums still verify (root, libbpf).

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"

# XDP: drop an IPv4 header whose checksum fails, decrement the TTL,
# rewrite the destination address and port (TCP: as one NAT diff) and an
# MSS at an odd offset; fill in a missing UDP checksum when the datagram
# fits bg_csum_partial(). TC: rewrite the IPv4 destination through the
# kernel's csum helpers, from a bg_csum_diff4().
write_prog() {
	cat >"$BATS_TEST_TMPDIR/csum_prog.c" <<'EOF'
#include "bg_csum.h"

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NEW4 bpf_htonl(0xc0000201) /* 192.0.2.1 */
#define NEW_PORT bpf_htons(8080)
#define NEW_MSS bpf_htons(1200)
#define IP_CHECK_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_DADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))

static __always_inline int tcp_rewrite(struct tcphdr *th, void *end,
				       __wsum addr_diff)
{
	__u8 *opt = (void *)(th + 1);
	__be16 mss;

	if ((void *)(th + 1) > end)
		return XDP_DROP;
	bg_csum_replace_by_diff(&th->check,
				bg_csum_add(addr_diff,
					    bg_csum_diff2(th->dest, NEW_PORT)));
	th->dest = NEW_PORT;
	/* NOP, then MSS: its value starts at offset 23 */
	if ((void *)(opt + 5) > end || opt[0] != 1 || opt[1] != 2 ||
	    opt[2] != 4)
		return XDP_PASS;
	__builtin_memcpy(&mss, opt + 3, 2);
	bg_csum_replace_by_diff(&th->check, bg_csum_diff2_odd(mss, NEW_MSS));
	mss = NEW_MSS;
	__builtin_memcpy(opt + 3, &mss, 2);
	return XDP_PASS;
}

SEC("xdp")
int csum_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *uh;
	__wsum s;
	/*
	 * 64 bits and opaque, so that its bounds come from 64-bit compares:
	 * 6.1 knows nothing of what be16 gives, and a 32-bit compare does
	 * not tell it about the whole register.
	 */
	__u64 ulen;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__be16 old;
		__u32 hl;

		if ((void *)(ip + 1) > end)
			return XDP_DROP;
		hl = ip->ihl * 4;
		if (hl < sizeof(*ip) || (void *)ip + hl > end)
			return XDP_DROP;
		if (bg_csum_fold(bg_csum_partial(ip, hl, end, 0)))
			return XDP_DROP;
		__builtin_memcpy(&old, &ip->ttl, 2);
		ip->ttl--;
		bg_csum_replace2(&ip->check, old, *(__be16 *)&ip->ttl);
		if (ip->protocol == IPPROTO_TCP) {
			if (tcp_rewrite((void *)ip + hl, end,
					bg_csum_diff4(ip->daddr, NEW4)) !=
			    XDP_PASS)
				return XDP_DROP;
		} else if (ip->protocol == IPPROTO_UDP) {
			uh = (void *)ip + hl;
			if ((void *)(uh + 1) > end)
				return XDP_DROP;
			bg_csum_udp_replace4(&uh->check, ip->daddr, NEW4);
			bg_csum_udp_replace2(&uh->check, uh->dest, NEW_PORT);
			uh->dest = NEW_PORT;
		}
		bg_csum_replace4(&ip->check, ip->daddr, NEW4);
		ip->daddr = NEW4;
		if (ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		uh = (void *)ip + hl;
		if ((void *)(uh + 1) > end || uh->check)
			return XDP_PASS;
		ulen = bpf_ntohs(uh->len);
		barrier_var(ulen);
		if (ulen > BG_CSUM_PARTIAL_MAX || (void *)uh + ulen > end)
			return XDP_PASS;
		if (ulen < sizeof(*uh))
			return XDP_PASS;
		s = bg_csum_partial(uh, ulen, end, 0);
		s = bg_csum_pseudo4(ip->saddr, ip->daddr, ulen, IPPROTO_UDP, s);
		uh->check = bg_csum_udp_final(bg_csum_fold(s));
		return XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__be32 new6[4] = { bpf_htonl(0x20010db8), 0, 0, bpf_htonl(1) };

		if ((void *)(ip6 + 1) > end)
			return XDP_DROP;
		if (ip6->nexthdr == IPPROTO_TCP) {
			struct tcphdr *th = (void *)(ip6 + 1);

			if ((void *)(th + 1) > end)
				return XDP_DROP;
			bg_csum_replace16(&th->check,
					  ip6->daddr.in6_u.u6_addr32, new6);
			if (tcp_rewrite(th, end, 0) != XDP_PASS)
				return XDP_DROP;
		} else if (ip6->nexthdr == IPPROTO_UDP) {
			uh = (void *)(ip6 + 1);
			if ((void *)(uh + 1) > end)
				return XDP_DROP;
			bg_csum_udp_replace16(&uh->check,
					      ip6->daddr.in6_u.u6_addr32, new6);
			bg_csum_udp_replace2(&uh->check, uh->dest, NEW_PORT);
			uh->dest = NEW_PORT;
		}
		__builtin_memcpy(&ip6->daddr, new6, sizeof(new6));
		if (ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		uh = (void *)(ip6 + 1);
		if ((void *)(uh + 1) > end || uh->check)
			return XDP_PASS;
		ulen = bpf_ntohs(uh->len);
		barrier_var(ulen);
		if (ulen > BG_CSUM_PARTIAL_MAX || (void *)uh + ulen > end)
			return XDP_PASS;
		if (ulen < sizeof(*uh))
			return XDP_PASS;
		s = bg_csum_partial(uh, ulen, end, 0);
		s = bg_csum_pseudo6(ip6->saddr.in6_u.u6_addr32,
				    ip6->daddr.in6_u.u6_addr32, ulen,
				    IPPROTO_UDP, s);
		uh->check = bg_csum_udp_final(bg_csum_fold(s));
	}
	return XDP_PASS;
}

SEC("tc")
int csum_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u64 flags = BPF_F_PSEUDO_HDR;
	__be32 na = NEW4;
	__u32 csoff;
	__wsum d;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	csoff = ETH_HLEN + ip->ihl * 4;
	if (ip->protocol == IPPROTO_TCP) {
		csoff += __builtin_offsetof(struct tcphdr, check);
	} else if (ip->protocol == IPPROTO_UDP) {
		csoff += __builtin_offsetof(struct udphdr, check);
		flags |= BPF_F_MARK_MANGLED_0;
	} else {
		return TC_ACT_OK;
	}
	d = bg_csum_diff4(ip->daddr, na);
	if (bpf_l3_csum_replace(skb, IP_CHECK_OFF, 0, d, 0) ||
	    bpf_l4_csum_replace(skb, csoff, 0, d, flags) ||
	    bpf_skb_store_bytes(skb, IP_DADDR_OFF, &na, sizeof(na), 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
EOF
}

build_prog() {
	write_prog
	clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror \
		-I"$REPO/headers" -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$BATS_TEST_TMPDIR/csum_prog.c" -o "$BATS_TEST_TMPDIR/csum_prog.o"
}

@test "csum: incremental updates match from-scratch checksums (unit test)" {
	run gcc -O2 -Wall -Wextra -Werror -I"$REPO/headers" \
		-o "$BATS_TEST_TMPDIR/csum_test" "$REPO/test/unit/csum_test.c"
	echo "$output"
	[ "$status" -eq 0 ]

	run "$BATS_TEST_TMPDIR/csum_test"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^csum_test:\ all\ [0-9]+\ checks\ passed\ \(seed\ [0-9]+: ]] || false
}

@test "csum: bg_csum.h builds for BPF, every helper inlined" {
	run build_prog
	echo "$output"
	[ "$status" -eq 0 ]

	# A helper the compiler kept out of line would be a function symbol
	# (and a BPF-to-BPF call); the programs are the only functions.
	run readelf -sW "$BATS_TEST_TMPDIR/csum_prog.o"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" FUNC "*" csum_xdp"* ]] || false
	[[ "$output" == *" FUNC "*" csum_tc"* ]] || false
	[ "$(grep -c ' FUNC ' <<<"$output")" -eq 2 ]
}

@test "csum: the verifier accepts it and rewritten packets still verify (root)" {
	run build_prog
	echo "$output"
	[ "$status" -eq 0 ]

	cat >"$BATS_TEST_TMPDIR/csum_run.c" <<'EOF'
/*
 * Loads csum_prog.o, runs each packet through BPF_PROG_TEST_RUN and checks
 * the result with a checksum computed from scratch.
 */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

enum { XDP, TC };

struct tcase {
	const char *name;
	int prog, v6, proto, ipopt, mss, zero, bad, plen;
	int want; /* verdict */
	int filled; /* a missing UDP checksum gets filled in */
};

static const struct tcase cases[] = {
	{ "v4 tcp, mss at an odd offset", XDP, 0, 6, 0, 1, 0, 0, 7, 2, 0 },
	{ "v4 tcp, ip options", XDP, 0, 6, 2, 1, 0, 0, 10, 2, 0 },
	{ "v4 tcp, no options", XDP, 0, 6, 0, 0, 0, 0, 0, 2, 0 },
	{ "v4 udp", XDP, 0, 17, 0, 0, 0, 0, 11, 2, 0 },
	{ "v4 udp, ip options", XDP, 0, 17, 1, 0, 0, 0, 52, 2, 0 },
	{ "v4 udp without checksum", XDP, 0, 17, 0, 0, 1, 0, 13, 2, 1 },
	{ "v4 udp without checksum, long", XDP, 0, 17, 0, 0, 1, 0, 100, 2, 0 },
	{ "v4 bad header checksum", XDP, 0, 6, 0, 0, 0, 1, 4, 1, 0 },
	{ "v6 tcp, mss at an odd offset", XDP, 1, 6, 0, 1, 0, 0, 9, 2, 0 },
	{ "v6 udp", XDP, 1, 17, 0, 0, 0, 0, 5, 2, 0 },
	{ "v6 udp with a zero checksum", XDP, 1, 17, 0, 0, 1, 0, 51, 2, 1 },
	{ "tc v4 tcp", TC, 0, 6, 1, 0, 0, 0, 33, 0, 0 },
	{ "tc v4 udp", TC, 0, 17, 0, 0, 0, 0, 3, 0, 0 },
	{ "tc v4 udp without checksum", TC, 0, 17, 0, 0, 1, 0, 3, 0, 0 },
};

static const unsigned char new4[4] = { 192, 0, 2, 1 };
static const unsigned char new6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

static unsigned sum(const unsigned char *p, unsigned n, unsigned long t)
{
	unsigned i;

	for (i = 0; i < n; i += 2)
		t += (unsigned)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	while (t >> 16)
		t = (t & 0xffff) + (t >> 16);
	return t;
}

/* Pseudo-header plus segment: 0xffff when the checksum in it verifies. */
static unsigned l4_sum(const unsigned char *ip, int v6, int proto,
		       const unsigned char *l4, unsigned len)
{
	unsigned char ph[40] = { 0 };

	if (v6) {
		memcpy(ph, ip + 8, 32);
		ph[34] = len >> 8;
		ph[35] = len;
		ph[39] = proto;
	} else {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		ph[10] = len >> 8;
		ph[11] = len;
	}
	return sum(l4, len, sum(ph, v6 ? 40 : 12, 0));
}

static int fail(const struct tcase *c, const char *what)
{
	printf("FAIL %s: %s\n", c->name, what);
	return 1;
}

static int run(int fd, const struct tcase *c, int k)
{
	unsigned char pkt[256], out[256], *ip = pkt + 14, *l4, *oip, *ol4;
	unsigned iphl = c->v6 ? 40 : 20 + 4 * c->ipopt;
	unsigned hl = c->proto == 6 ? (c->mss ? 28 : 20) : 8;
	unsigned len4 = hl + c->plen, len = 14 + iphl + len4, co, i, v;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_out = out,
		    .data_size_in = len, .data_size_out = sizeof(out));

	for (i = 0; i < len; i++)
		pkt[i] = i * 37 + k * 11 + 1;
	l4 = ip + iphl;
	co = c->proto == 6 ? 16 : 6;
	pkt[12] = c->v6 ? 0x86 : 0x08;
	pkt[13] = c->v6 ? 0xdd : 0x00;
	if (c->v6) {
		ip[0] = 0x60;
		ip[4] = len4 >> 8;
		ip[5] = len4;
		ip[6] = c->proto;
	} else {
		ip[0] = 0x40 | iphl / 4;
		ip[2] = (iphl + len4) >> 8;
		ip[3] = iphl + len4;
		ip[6] = ip[7] = 0;
		ip[8] = 64;
		ip[9] = c->proto;
		ip[10] = ip[11] = 0;
		v = ~sum(ip, iphl, 0) & 0xffff;
		ip[10] = v >> 8;
		ip[11] = v ^ (c->bad ? 0x55 : 0);
	}
	if (c->proto == 17) {
		l4[4] = len4 >> 8;
		l4[5] = len4;
	} else {
		l4[12] = hl / 4 << 4;
		if (c->mss)
			memcpy(l4 + 20, "\1\2\4\5\264\1\1\0", 8);
	}
	l4[co] = l4[co + 1] = 0;
	v = ~l4_sum(ip, c->v6, c->proto, l4, len4) & 0xffff;
	if (!c->zero) {
		l4[co] = v ? v >> 8 : 0xff;
		l4[co + 1] = v ? v : 0xff;
	}

	if (bpf_prog_test_run_opts(fd, &o)) {
		perror("BPF_PROG_TEST_RUN");
		return fail(c, "test run");
	}
	if ((int)o.retval != c->want)
		return fail(c, "verdict");
	if (c->bad)
		return 0;
	oip = out + 14;
	ol4 = oip + iphl;
	if (c->v6 && memcmp(oip + 24, new6, 16))
		return fail(c, "daddr not rewritten");
	if (!c->v6 && memcmp(oip + 16, new4, 4))
		return fail(c, "daddr not rewritten");
	if (!c->v6 && sum(oip, iphl, 0) != 0xffff)
		return fail(c, "ipv4 header checksum");
	if (!c->v6 && c->prog == XDP && oip[8] != 63)
		return fail(c, "ttl");
	if (c->prog == XDP && (ol4[2] << 8 | ol4[3]) != 8080)
		return fail(c, "dport not rewritten");
	if (c->mss && (ol4[23] << 8 | ol4[24]) != 1200)
		return fail(c, "mss not rewritten");
	if (c->zero && !c->filled) {
		if (ol4[co] || ol4[co + 1])
			return fail(c, "udp 'no checksum' did not stay 0");
		return 0;
	}
	if (l4_sum(oip, c->v6, c->proto, ol4, len4) != 0xffff)
		return fail(c, "l4 checksum");
	if (c->proto == 17 && !ol4[co] && !ol4[co + 1])
		return fail(c, "udp checksum 0");
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	int fd[2], k, bad = 0, n = sizeof(cases) / sizeof(cases[0]);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		printf("FAIL: %s does not load\n", argc > 1 ? argv[1] : "-");
		return 1;
	}
	fd[XDP] = bpf_program__fd(
		bpf_object__find_program_by_name(obj, "csum_xdp"));
	fd[TC] = bpf_program__fd(
		bpf_object__find_program_by_name(obj, "csum_tc"));
	for (k = 0; k < n; k++)
		bad |= run(fd[cases[k].prog], &cases[k], k);
	bpf_object__close(obj);
	if (!bad)
		printf("bpf csum: %d packets ok\n", n);
	return bad;
}
EOF
	run gcc -O2 -Wall -Werror -o "$BATS_TEST_TMPDIR/csum_run" \
		"$BATS_TEST_TMPDIR/csum_run.c" -lbpf
	echo "$output"
	[ "$status" -eq 0 ]

	run "$BATS_TEST_TMPDIR/csum_run" "$BATS_TEST_TMPDIR/csum_prog.o"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^bpf\ csum:\ [0-9]+\ packets\ ok$ ]] || false
}
