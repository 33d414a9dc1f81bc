// SPDX-License-Identifier: GPL-2.0
/* The PACKET of --explain and --eval. */
#include <stdio.h>
#include <string.h>

#include "lexer.h"

#define PACKET_WORDS 32

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
	const char *pt;
	size_t pn;

	if (endpoint_split(s, n, p, &pt, &pn))
		goto bad;
	if (pt && packet_port(pt, pn, port)) {
		snprintf(err, size, "bad port in \"%s\" (0 to 65535)",
			 BG_EXCERPT(s, n));
		return -1;
	}
	return pt != NULL;
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

#define PACKET_SYNTAX                                                        \
	"expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] "              \
	"[state new|established|related|invalid] [frag] [vlan N] "           \
	"[flags F|none] [icmp-type N [code N]] [mac-src MAC] [mac-dst MAC] " \
	"[dscp N|NAME]"

/* Header fields given with the packet; -1 for those not given. */
struct packet_opts {
	int flags, icmp_type, icmp_code;
};

/* One "KEYWORD VALUE" after the addresses; the words it took, or -1. */
static int packet_option(struct packet *pk, struct packet_opts *o,
			 const char **w, const size_t *wn, int left, char *err,
			 size_t size)
{
	uint32_t v;
	int d;

	if (left < 2)
		return packet_fail(err, size, PACKET_SYNTAX);
	if (word_is(w[0], wn[0], "vlan")) {
		if (parse_num(w[1], wn[1], 4095, &v) || !v || pk->vlan >= 0)
			return packet_fail(err, size,
					   "bad vlan (one id from 1 to 4095)");
		pk->vlan = (int)v;
	} else if (word_is(w[0], wn[0], "flags")) {
		o->flags = word_is(w[1], wn[1], "none") ?
				   0 :
				   tcp_flags_parse(w[1], wn[1]);
		if (o->flags < 0)
			return packet_fail(
				err, size,
				"bad flags (the TCP flags set, in the letters FSRPAUEW, or none)");
	} else if (word_is(w[0], wn[0], "icmp-type") ||
		   word_is(w[0], wn[0], "code")) {
		if (parse_num(w[1], wn[1], 255, &v))
			return packet_fail(
				err, size,
				"bad icmp-type or code (a number from 0 to 255)");
		if (w[0][0] == 'i')
			o->icmp_type = (int)v;
		else
			o->icmp_code = (int)v;
	} else if (word_is(w[0], wn[0], "mac-src") ||
		   word_is(w[0], wn[0], "mac-dst")) {
		if (mac_parse(w[1], wn[1],
			      pk->mac[word_is(w[0], wn[0], "mac-dst") ?
					      BG_FW_MAC_DST :
					      BG_FW_MAC_SRC]))
			return packet_fail(
				err, size,
				"bad Ethernet address (aa:bb:cc:dd:ee:ff)");
	} else if (word_is(w[0], wn[0], "dscp")) {
		d = dscp_parse(w[1], wn[1]);
		if (d < 0)
			return packet_fail(
				err, size,
				"bad dscp (0 to 63, ef, af11..af43 or cs0..cs7)");
		pk->dscp = (uint8_t)d;
	} else {
		return packet_fail(err, size, PACKET_SYNTAX);
	}
	return 2;
}

/*
 * The TCP flags and ICMP type a packet has: given, or a SYN and an echo
 * request. A non-first fragment has neither header.
 */
static int packet_headers(struct packet *pk, const struct packet_opts *o,
			  char *err, size_t size)
{
	int icmp = pk->proto == PROTO_ICMP || pk->proto == PROTO_ICMP6;

	pk->has_tcp = pk->proto == PROTO_TCP && !pk->frag;
	pk->has_icmp = icmp && !pk->frag;
	if (o->flags >= 0 && !pk->has_tcp)
		return packet_fail(err, size,
				   "flags need a tcp packet (not a frag)");
	if ((o->icmp_type >= 0 || o->icmp_code >= 0) && !pk->has_icmp)
		return packet_fail(
			err, size,
			"icmp-type and code need an icmp or icmp6 packet (not a frag)");
	pk->tcp_flags = (uint8_t)(o->flags >= 0 ? o->flags : 0x02);
	pk->icmp_type = (uint8_t)(o->icmp_type >= 0	   ? o->icmp_type :
				  pk->proto == PROTO_ICMP6 ? 128 :
							     8);
	pk->icmp_code = (uint8_t)(o->icmp_code >= 0 ? o->icmp_code : 0);
	return 0;
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
 *           [frag] [vlan N] [flags F|none] [icmp-type N] [code N] [mac-src MAC]
 *           [mac-dst MAC] [dscp N|NAME]
 */
int packet_parse(const char *s, struct packet *pk, char *err, size_t size)
{
	const char *w[PACKET_WORDS];
	size_t wn[PACKET_WORDS];
	int n = split_packet(s, w, wn), i = 0, ps, pd, st, k;
	struct packet_opts o = { -1, -1, -1 };

	memset(pk, 0, sizeof(*pk));
	pk->proto = PROTO_UNSPEC;
	pk->state = BG_CT_NEW;
	pk->vlan = -1;
	if (n < 0)
		return packet_fail(err, size, "too many words in the packet");
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
		return packet_fail(err, size, PACKET_SYNTAX);
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
			k = packet_option(pk, &o, w + i, wn + i, n - i, err,
					  size);
			if (k < 0)
				return -1;
			i += k - 1;
		}
	}
	if (pk->src.fam != pk->dst.fam)
		return packet_fail(err, size,
				   "SRC and DST are not of the same family");
	pk->fam = pk->src.fam;
	if (packet_headers(pk, &o, err, size))
		return -1;
	return packet_ports(pk, ps + pd, err, size);
}
