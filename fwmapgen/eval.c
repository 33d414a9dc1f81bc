// SPDX-License-Identifier: GPL-2.0
/*
 * The reference evaluator: the rules in file order, every field tested
 * directly against the ruleset, first match wins. It shares nothing with
 * compile.c on purpose: it is the oracle the vectors and the kernel
 * program are tested against.
 */
#include <string.h>

#include "lexer.h"

/* Is @a in one of the set's prefixes of its family? */
static int set_contains(const struct addrset *set, const struct prefix *a)
{
	const struct prefix *top = set->top[a->fam];
	size_t lo = 0, hi = set->ntop[a->fam];

	/*
	 * The top-level prefixes are disjoint and sorted: only the last one
	 * starting at or before @a can contain it.
	 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(top[mid].addr, a->addr, sizeof(a->addr)) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && prefix_contains(&top[lo - 1], a);
}

static int field_match(const struct ruleset *rs, const struct rfield *f,
		       const struct prefix *a)
{
	if (f->any)
		return 1;
	return set_contains(&rs->sets[f->set], a) != f->neg;
}

static int rule_match(const struct ruleset *rs, const struct rule *r,
		      const struct packet *pk)
{
	if (!(r->fams & (1 << pk->fam)))
		return 0;
	if (r->iface[0]) {
		/* Warned about at load time: the rule matches nothing. */
		if (!r->ifindex)
			return 0;
		if (!pk->has_iface || strcmp(r->iface, pk->iface))
			return 0;
	}
	return field_match(rs, &r->f[FLD_SRC], &pk->src) &&
	       field_match(rs, &r->f[FLD_DST], &pk->dst);
}

/* The first matching rule, or NULL for the default policy. */
const struct rule *eval_packet(const struct ruleset *rs,
			       const struct packet *pk)
{
	size_t i;

	for (i = 0; i < rs->nrules; i++)
		if (rule_match(rs, &rs->rules[i], pk))
			return &rs->rules[i];
	return NULL;
}

#define PACKET_WORDS 5

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

static int packet_addr(const char *s, size_t n, struct prefix *p, char *err,
		       size_t size)
{
	if (!host_parse(s, n, p))
		return 0;
	snprintf(err, size, "bad address \"%.*s\" (no prefix length here)",
		 n > 60 ? 60 : (int)n, s);
	return -1;
}

/* PACKET := [on IFACE] SRC -> DST */
int packet_parse(const char *s, struct packet *pk, char *err, size_t size)
{
	const char *w[PACKET_WORDS];
	size_t wn[PACKET_WORDS];
	int n = split_packet(s, w, wn), i = 0;

	memset(pk, 0, sizeof(*pk));
	if (n >= 2 && wn[0] == 2 && !memcmp(w[0], "on", 2)) {
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
	if (n - i != 3 || wn[i + 1] != 2 || memcmp(w[i + 1], "->", 2)) {
		snprintf(err, size, "expected [on IFACE] SRC -> DST");
		return -1;
	}
	if (packet_addr(w[i], wn[i], &pk->src, err, size) ||
	    packet_addr(w[i + 2], wn[i + 2], &pk->dst, err, size))
		return -1;
	if (pk->src.fam != pk->dst.fam) {
		snprintf(err, size, "SRC and DST are not of the same family");
		return -1;
	}
	pk->fam = pk->src.fam;
	return 0;
}
