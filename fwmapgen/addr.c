// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses and prefixes, and the sets rules refer to; address families
 * and protocols.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_addr.h"
#include "fwmapgen.h"

static int addr_bits(int fam)
{
	return fam == BG_FAM_INET ? 32 : 128;
}

static int parse_plen(const char *s, size_t n, int max)
{
	int v = 0;
	size_t i;

	if (n == 0 || n > 3)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

static int has_host_bits(const struct prefix *p)
{
	int i, nbytes = addr_bits(p->fam) / 8;

	for (i = 0; i < nbytes; i++) {
		int keep = p->len - i * 8;
		uint8_t mask = keep >= 8 ? 0xff :
			       keep <= 0 ? 0 :
					   (uint8_t)(0xff << (8 - keep));

		if (p->addr[i] & ~mask)
			return 1;
	}
	return 0;
}

static void clear_host_bits(struct prefix *p)
{
	int i;

	for (i = 0; i < 16; i++) {
		int keep = p->len - i * 8;

		if (keep <= 0)
			p->addr[i] = 0;
		else if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* Plain address, no prefix length: 0 on success. */
int host_parse(const char *s, size_t n, struct prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, ':', n)) {
		out->fam = BG_FAM_INET6;
		out->len = 128;
		return inet_pton(AF_INET6, buf, out->addr) == 1 ? 0 : -1;
	}
	out->fam = BG_FAM_INET;
	out->len = 32;
	return inet_pton(AF_INET, buf, out->addr) == 1 ? 0 : -1;
}

/* ADDR or ADDR/LEN; a bare address is a host prefix. */
enum addr_err prefix_parse(const char *s, size_t n, struct prefix *out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int plen;

	if (host_parse(s, alen, out))
		return ADDR_BAD;
	if (!slash)
		return ADDR_OK;
	plen = parse_plen(slash + 1, n - alen - 1, addr_bits(out->fam));
	if (plen < 0)
		return ADDR_BAD_PREFIX;
	out->len = (uint8_t)plen;
	return has_host_bits(out) ? ADDR_HOST_BITS : ADDR_OK;
}

void addr_err_msg(enum addr_err err, const char *s, size_t n, char *buf,
		  size_t size)
{
	struct prefix p;
	char fixed[INET6_ADDRSTRLEN + 8];
	const char *text = BG_EXCERPT(s, n);

	switch (err) {
	case ADDR_BAD_PREFIX:
		prefix_parse(s, n, &p);
		snprintf(buf, size,
			 "bad prefix length in \"%s\" (%s allows /0 to /%d)",
			 text, p.fam == BG_FAM_INET ? "IPv4" : "IPv6",
			 addr_bits(p.fam));
		break;
	case ADDR_HOST_BITS:
		prefix_parse(s, n, &p);
		clear_host_bits(&p);
		prefix_format(&p, fixed, sizeof(fixed));
		snprintf(buf, size,
			 "host bits set in \"%s\" (did you mean %s?)", text,
			 fixed);
		break;
	default:
		snprintf(buf, size, "bad address \"%s\"", text);
		break;
	}
}

/* Family, then address, then length: a prefix sorts before those it covers. */
int prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int r;

	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	r = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (r)
		return r;
	return (int)a->len - (int)b->len;
}

int prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	int full = outer->len / 8, rest = outer->len % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (outer->fam != inner->fam || outer->len > inner->len)
		return 0;
	if (memcmp(outer->addr, inner->addr, (size_t)full))
		return 0;
	return !rest || !((outer->addr[full] ^ inner->addr[full]) & mask);
}

void prefix_format(const struct prefix *p, char *buf, size_t size)
{
	char a[BG_ADDR_STRLEN];

	bg_addr_format(p->addr, p->fam, a, sizeof(a));
	snprintf(buf, size, "%s/%d", a, p->len);
}

void addrset_add(struct addrset *set, const struct prefix *p)
{
	set->v = bg_grow(set->v, &set->cap, set->n, sizeof(*set->v));
	set->v[set->n++] = *p;
}

static int cmp_prefix(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

/*
 * Keep per family only the prefixes that no other prefix of the set
 * covers: they are disjoint, so the evaluator can binary search them.
 */
static void addrset_top(struct addrset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		const struct prefix *p = &set->v[i];
		int f = p->fam;
		struct prefix *last =
			set->ntop[f] ? &set->top[f][set->ntop[f] - 1] : NULL;

		if (last && prefix_contains(last, p))
			continue;
		if (!set->top[f])
			set->top[f] = xcalloc(set->n, sizeof(*p));
		set->top[f][set->ntop[f]++] = *p;
	}
}

/* Sort, drop duplicates and find the families of a complete set. */
void addrset_finish(struct addrset *set)
{
	size_t i, o = 0;

	if (set->n)
		qsort(set->v, set->n, sizeof(*set->v), cmp_prefix);
	set->fams = 0;
	for (i = 0; i < set->n; i++) {
		if (o && !prefix_cmp(&set->v[o - 1], &set->v[i]))
			continue;
		set->v[o++] = set->v[i];
		set->fams |= (uint8_t)(1 << set->v[i].fam);
	}
	set->n = o;
	/* An empty set matches nothing in either family. */
	if (!set->n)
		set->fams = FAMF_BOTH;
	addrset_top(set);
}

const char *family_name(int fam)
{
	return fam == BG_FAM_INET ? "inet" : "inet6";
}

/* ICMP is IPv4's, ICMPv6 IPv6's; every other protocol exists in both. */
int proto_fams(int proto)
{
	if (proto == PROTO_ICMP)
		return BG_FAMF_INET;
	return proto == PROTO_ICMP6 ? BG_FAMF_INET6 : FAMF_BOTH;
}

/* A decimal number 0..@max, digits only. */
int parse_num(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 6)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* tcp|udp|icmp|icmp6|NUMBER; -1 when it is none of them */
int proto_parse(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int num;
	} names[] = {
		{ "tcp", PROTO_TCP },
		{ "udp", PROTO_UDP },
		{ "icmp", PROTO_ICMP },
		{ "icmp6", PROTO_ICMP6 },
	};
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && !memcmp(names[i].name, s, n))
			return names[i].num;
	return parse_num(s, n, 255, &v) ? -1 : (int)v;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, size_t n, uint8_t out[6])
{
	int i, hi, lo;

	if (n != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[3 * i]);
		lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* RFC 2474 class selectors, RFC 2597 assured forwarding, RFC 3246 EF */
int dscp_parse(const char *s, size_t n)
{
	uint32_t v;

	if (!parse_num(s, n, 63, &v))
		return (int)v;
	if (n == 2 && !memcmp(s, "ef", 2))
		return 46;
	if (n == 3 && !memcmp(s, "cs", 2) && s[2] >= '0' && s[2] <= '7')
		return (s[2] - '0') << 3;
	if (n == 4 && !memcmp(s, "af", 2) && s[2] >= '1' && s[2] <= '4' &&
	    s[3] >= '1' && s[3] <= '3')
		return (s[2] - '0') << 3 | (s[3] - '0') << 1;
	return -1;
}

int tcp_flags_parse(const char *s, size_t n)
{
	static const char letters[] = "FSRPAUEW";
	const char *at;
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		at = s[i] ? strchr(letters, s[i]) : NULL;
		if (!at || (v & (1 << (at - letters))))
			return -1;
		v |= 1 << (at - letters);
	}
	return v;
}

void text_addf(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= size)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += (size_t)k;
}

int endpoint_split(const char *s, size_t n, struct prefix *out,
		   const char **port, size_t *port_len)
{
	const char *a = s, *colon = NULL;
	size_t an = n, i;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || (close + 1 < s + n && close[1] != ':'))
			return -1;
		a = s + 1;
		an = (size_t)(close - a);
		if (close + 1 < s + n)
			colon = close + 1;
	} else {
		for (i = 0; i < n; i++)
			if (s[i] == ':')
				colon = colon ? s + n : s + i;
		/* one ':' only: IPv4:PORT; more: a bare IPv6 address */
		if (colon == s + n)
			colon = NULL;
		if (colon)
			an = (size_t)(colon - s);
	}
	if (host_parse(a, an, out) ||
	    (n && s[0] == '[' && out->fam != BG_FAM_INET6) ||
	    (n && s[0] != '[' && colon && out->fam != BG_FAM_INET))
		return -1;
	*port = colon ? colon + 1 : NULL;
	*port_len = colon ? (size_t)(s + n - colon - 1) : 0;
	return 0;
}
