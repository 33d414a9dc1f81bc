/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rate limiter (headers/bg_rl_abi.h): "ratelimit" policies and the
 * DDoS "set"s, parsed by rl_parse.c into struct ruleset (rl, rl_cfg,
 * rl_amp_ports, rl_lists), emitted by rl_emit.c, written back in
 * canonical syntax by rl_format.c.
 */
#ifndef FWMAPGEN_RL_H
#define FWMAPGEN_RL_H

#include "fwmapgen.h"

struct emitter;

/* One "ratelimit" statement. */
struct rl_policy {
	/*
	 * What it matches, as a filter rule would hold it (so that the
	 * rule's parsers and formatter serve it): line, iface and ifindex,
	 * fams, proto, f[FLD_SRC] and f[FLD_DST], port[FLD_DST], label.
	 */
	struct rule m;
	/* its bg_rl_policy entry, complete but for nothing */
	struct bg_rl_policy p;
	int has_burst; /* "burst" given (else the algorithm's default) */
	int has_prefix; /* "prefix" given */
	int dead; /* "on IFACE" names no interface here: matches nothing */
};

/*
 * A source prefix of the tries and its candidate list, in the order the
 * kernel tries them: longest source prefix first, then policy id.
 */
struct rl_node {
	struct prefix p;
	struct bg_rl_clist list;
	uint8_t plen[BG_RL_CAND_MAX]; /* the source prefix of each candidate */
};

/* Every prefix of the two tries, in the order they were first named. */
struct rl_lists {
	struct rl_node *v;
	size_t n;
	size_t cap;
};

/* enum bg_rl_algo by name (rl_parse.c) */
extern const char *const rl_algo_names[BG_RL_ALGO_MAX];

/* The fwmapgen feature (--features) that loads xdp_ratelimit. */
#define RL_FEATURE "ratelimit"
/* ... and the one that asks for SYN cookies ("set syn-flood ... cookies
 * on", the default): up.sh checks net.ipv4.tcp_syncookies then. */
#define RL_COOKIE_FEATURE "syncookies"

/* Does @rs have a policy or a DDoS protection? */
int rl_used(const struct ruleset *rs);
/* The statement in canonical syntax; freed by the caller. */
char *rl_format(const struct ruleset *rs, const struct rl_policy *pol);
/* bg_rl_*: policies, tries, candidate lists, settings (rl_emit.c) */
void rl_emit(struct emitter *e);
/* --explain: which policy applies to @pk ("ratelimit: ..." line) */
void rl_explain(FILE *f, const struct ruleset *rs, const struct packet *pk);

#endif /* FWMAPGEN_RL_H */
