// SPDX-License-Identifier: GPL-2.0
/* The PACKET of --explain and --eval. */
#include <stdio.h>
#include <string.h>

#include "lexer.h"

#define PACKET_WORDS 10

/* Split at blanks; "->" is a word of its own even without blanks. */
static int split_packet(const char *s, const char **w, size_t *wn)
{
	const char *arrow = strstr(s, "->");
	int n = 0;

	while (*s) {
		if (is_blank(*s) || *s == '\n') {
			s++;
			continue;
		}
		if (n == PACKET_WORDS)
			return -1;
		w[n] = s;
		if (s == arrow)
			s += 2;
		else
			while (*s && !is_blank(*s) && *s != '\n' && s != arrow)
				s++;
		wn[n] = (size_t)(s - w[n]);
		n++;
	}
	return n;
}

static int word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(w, s, n);
}

static int packet_port(const char *s, size_t n, uint32_t *port)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*port = v;
	return v > 65535 ? -1 : 0;
}

/*
 * ADDR, IPv4:PORT, [IPv6] or [IPv6]:PORT. Returns 1 when a port was given,
 * 0 when not, -1 on error.
 */
static int packet_endpoint(const char *s, size_t n, struct prefix *p,
			   uint32_t *port, char *err, size_t size)
{
	const char *a = s, *colon = NULL;
	size_t an = n, i;
	int has_port = 0;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || (close + 1 < s + n && close[1] != ':'))
			goto bad;
		a = s + 1;
		an = (size_t)(close - a);
		if (close + 1 < s + n) {
			colon = close + 1;
			has_port = 1;
		}
	} else {
		for (i = 0; i < n; i++)
			if (s[i] == ':')
				colon = colon ? s + n : s + i;
		/* one ':' only: IPv4:PORT; more: a bare IPv6 address */
		if (colon == s + n)
			colon = NULL;
		if (colon) {
			an = (size_t)(colon - s);
			has_port = 1;
		}
	}
	if (host_parse(a, an, p) || (s[0] == '[' && p->fam != BG_FAM_INET6) ||
	    (s[0] != '[' && has_port && p->fam != BG_FAM_INET))
		goto bad;
	if (has_port &&
	    packet_port(colon + 1, (size_t)(s + n - colon - 1), port)) {
		snprintf(err, size, "bad port in \"%s\" (0 to 65535)",
			 BG_EXCERPT(s, n));
		return -1;
	}
	return has_port;
bad:
	snprintf(err, size, "bad address \"%s\" (no prefix length here)",
		 BG_EXCERPT(s, n));
	return -1;
}

static int packet_state(const char *s, size_t n)
{
	static const char *const names[BG_CT_CLASSES] = {
		[BG_CT_NEW] = "new",
		[BG_CT_ESTABLISHED] = "established",
		[BG_CT_RELATED] = "related",
		[BG_CT_INVALID] = "invalid",
	};
	int i;

	for (i = 0; i < BG_CT_CLASSES; i++)
		if (word_is(s, n, names[i]))
			return i;
	return -1;
}

static int packet_fail(char *err, size_t size, const char *msg)
{
	snprintf(err, size, "%s", msg);
	return -1;
}

/* The ports a packet has, given its protocol and fragment flag. */
static int packet_ports(struct packet *pk, int nports, char *err, size_t size)
{
	int l4 = pk->proto == PROTO_TCP || pk->proto == PROTO_UDP;

	if (nports && !l4)
		return packet_fail(err, size,
				   "a port needs protocol tcp or udp");
	if (nports && pk->frag)
		return packet_fail(err, size,
				   "a non-first fragment (frag) has no ports");
	if (l4 && !pk->frag && nports != 2)
		return packet_fail(
			err, size,
			"a tcp or udp packet needs SRC:PORT and DST:PORT (or frag)");
	pk->has_ports = l4 && !pk->frag;
	return 0;
}

/*
 * PACKET := [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE]
 *           [frag]
 */
int packet_parse(const char *s, struct packet *pk, char *err, size_t size)
{
	const char *w[PACKET_WORDS];
	size_t wn[PACKET_WORDS];
	int n = split_packet(s, w, wn), i = 0, ps, pd, st;

	memset(pk, 0, sizeof(*pk));
	pk->proto = PROTO_UNSPEC;
	pk->state = BG_CT_NEW;
	if (n >= 2 && word_is(w[0], wn[0], "on")) {
		if (wn[1] >= BG_IFNAMSIZ) {
			snprintf(err, size,
				 "interface name longer than %d bytes",
				 BG_IFNAMSIZ - 1);
			return -1;
		}
		memcpy(pk->iface, w[1], wn[1]);
		pk->has_iface = 1;
		i = 2;
	}
	if (i < n && proto_parse(w[i], wn[i]) >= 0) {
		pk->proto = proto_parse(w[i], wn[i]);
		i++;
	}
	if (n - i < 3 || !word_is(w[i + 1], wn[i + 1], "->"))
		return packet_fail(
			err, size,
			"expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]");
	ps = packet_endpoint(w[i], wn[i], &pk->src, &pk->port[FLD_SRC], err,
			     size);
	if (ps < 0)
		return -1;
	pd = packet_endpoint(w[i + 2], wn[i + 2], &pk->dst, &pk->port[FLD_DST],
			     err, size);
	if (pd < 0)
		return -1;
	for (i += 3; i < n; i++) {
		if (word_is(w[i], wn[i], "frag") && !pk->frag) {
			pk->frag = 1;
		} else if (word_is(w[i], wn[i], "state") && i + 1 < n) {
			st = packet_state(w[i + 1], wn[i + 1]);
			if (st < 0) {
				snprintf(
					err, size,
					"bad state \"%s\" (new, established, related or invalid)",
					BG_EXCERPT(w[i + 1], wn[i + 1]));
				return -1;
			}
			pk->state = st;
			i++;
		} else {
			return packet_fail(
				err, size,
				"expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state new|established|related|invalid] [frag]");
		}
	}
	if (pk->src.fam != pk->dst.fam)
		return packet_fail(err, size,
				   "SRC and DST are not of the same family");
	pk->fam = pk->src.fam;
	return packet_ports(pk, ps + pd, err, size);
}
