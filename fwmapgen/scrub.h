/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic normalization (headers/bg_scrub_abi.h): "scrub" statements,
 * parsed by scrub.c into struct ruleset (scrub, scrub_rules), each
 * statement already laid out as its kernel entries, emitted by scrub.c.
 */
#ifndef FWMAPGEN_SCRUB_H
#define FWMAPGEN_SCRUB_H

#include "fwmapgen.h"

struct emitter;

/* The fwmapgen feature (--features) that loads tc_scrub. */
#define SCRUB_FEATURE "scrub"

/* One "scrub" statement. */
struct scrub_stmt {
	int line;
	char iface[BG_IFNAMSIZ]; /* "on IFACE"; empty: any */
	uint8_t dirs; /* BG_SCRUB_DIR_* */
	uint8_t opts; /* BG_SCRUB_F_* */
	uint8_t min_ttl;
	uint16_t max_mss;
	size_t first; /* its entries: scrub_rules[first .. first + n) */
	size_t n;
};

/* bg_scrub_config and bg_scrub_rules of the generation */
void scrub_emit(struct emitter *e);
/* --explain: the statement that applies to @pk ("scrub: ..." lines) */
void scrub_explain(FILE *f, const struct ruleset *rs, const struct packet *pk);

#endif /* FWMAPGEN_SCRUB_H */
