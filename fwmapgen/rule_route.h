/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ROUTING of a filter rule (rule_route.c): route-to ADDR, reply-to ADDR,
 * dup-to IFACE [via ADDR], on "pass" rules. Parsed into struct
 * rule_route, emitted into bg_fw_route (headers/bg_fw_abi.h, "Routing"),
 * shown by --explain.
 */
#ifndef FWMAPGEN_RULE_ROUTE_H
#define FWMAPGEN_RULE_ROUTE_H

#include <stdio.h>

#include "bg_addr.h"
#include "fwmapgen.h"

struct emitter;

/* One rule's routing actions; struct rule.route, NULL when it has none. */
struct rule_route {
	uint8_t actions; /* BG_ROUTE_F_* */
	uint8_t fam; /* enum bg_family of every address below */
	struct prefix route_to; /* BG_ROUTE_F_ROUTE_TO */
	struct prefix reply_to; /* BG_ROUTE_F_REPLY_TO */
	char dup_iface[BG_IFNAMSIZ]; /* BG_ROUTE_F_DUP_TO */
	unsigned int dup_ifindex; /* 0: no such interface here */
	struct prefix dup_via; /* BG_ROUTE_F_DUP_VIA */
};

/* The fwmapgen feature (--features) that enables tc_route: "route". */
#define ROUTE_FEATURE "route"

/* Does some rule of @rs route? */
int route_used(const struct ruleset *rs);
/* bg_fw_route: every routing rule's entry, and the generation's union. */
void route_emit(struct emitter *e);
/*
 * ROUTING in canonical ruleset syntax ("route-to 198.51.100.1 dup-to mon0"),
 * "" without; ROUTE_TEXT_SIZE holds the longest.
 */
#define ROUTE_TEXT_SIZE (3 * (9 + BG_ADDR_STRLEN) + 8 + BG_IFNAMSIZ)
void rule_route_text(const struct rule *r, char *buf, size_t size);
/* --explain: "routing: TEXT" for the deciding rule. */
void route_explain(FILE *f, const struct rule *r);

#endif /* FWMAPGEN_RULE_ROUTE_H */
