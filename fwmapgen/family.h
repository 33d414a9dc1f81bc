/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Statement families. A statement starts with a keyword; parser.c looks
 * it up in its table of families and hands the statement to the family.
 * A family lives in files of its own: FAMILY_parse.c (its statements into
 * struct ruleset) and, where it has them, FAMILY_compile.c, FAMILY_emit.c
 * (its map entries, see emit.h) and FAMILY_explain.c (its part of
 * --explain and --eval). A new family adds its files, its entry points
 * here and one line to the table in parser.c (and one to emit.c's if it
 * fills maps).
 */
#ifndef FWMAPGEN_FAMILY_H
#define FWMAPGEN_FAMILY_H

#include "syntax.h"

struct stmt_family {
	const char *keyword; /* first word of the statement */
	/* how "expected ..." names it; NULL: with the entry before */
	const char *expected;
	/* the statement, the cursor on its keyword; @raw: before macros */
	void (*parse)(struct cursor *c, const struct lline *raw);
	/* optional: learn the names a line defines, before any is parsed */
	void (*prescan)(struct loader *ld, const struct lline *ll);
};

/* rule_parse.c: pass|block ... */
void rule_parse(struct cursor *c, const struct lline *raw);
/*
 * The parts of a rule other families share (ratelimit), each at the
 * cursor, after its keyword. They set none of the ruleset's uses_* (what
 * the firewall's stages look at); the rule parser does.
 */
/* SRC, DST into r->f[fld], narrowing r->fams */
void rule_parse_field(struct cursor *c, struct rule *r, int fld, uint8_t only);
const struct addrset *stmt_addr_field(struct cursor *c, struct rule *r, int fld,
				      uint8_t only, const char *stmt);
/* "on IFACE": a missing interface warns "its @what nothing" */
void parse_iface_name(struct cursor *c, char name[BG_IFNAMSIZ],
		      unsigned int *ifindex, const char *what);
void parse_label_text(struct cursor *c, char *label, size_t size);
/* "proto PROTO": the protocol number */
int parse_proto_arg(struct cursor *c, uint8_t only);
/* "port PORTS" (@kw: "port"), which needs @proto tcp or udp */
void parse_ports_arg(struct cursor *c, int proto, const struct token *kw,
		     struct portlist *pl);

/*
 * The parts of a filter rule after "state", each in files of its own:
 * rule_limits.c, CONNECTION-LIMITS (max-src-conn ... overload); and
 * rule_route.c, ROUTING (route-to, reply-to, dup-to). @seen: the part's
 * keyword slots for rule_end()'s duplicate check (RULE_LIMIT_KWS and
 * RULE_ROUTE_KWS of them).
 */
#define RULE_LIMIT_KWS 4
#define RULE_ROUTE_KWS 3
void rule_parse_limits(struct cursor *c, struct rule *r, struct token **seen);
void rule_parse_route(struct cursor *c, struct rule *r, struct token **seen);

/* set_parse.c: set default|timeout|limit ... */
void set_parse(struct cursor *c, const struct lline *raw);

/* rl_parse.c: ratelimit ... */
void rl_parse(struct cursor *c, const struct lline *raw);
/* rl_parse.c: set syn-flood|icmp-flood|udp-amplification|tcp-flood ...,
 * the cursor after "set" (@kw); 0 when the next word is none of them */
int rl_set_parse(struct cursor *c, const struct token *kw);
#define RL_SET_NAMES "syn-flood, icmp-flood, udp-amplification or tcp-flood"

/* lb_parse.c: service NAME VIP port PORT proto tcp|udp ... { backend ... } */
void scrub_parse(struct cursor *c, const struct lline *raw);

void lb_parse(struct cursor *c, const struct lline *raw);
void lb_prescan(struct loader *ld, const struct lline *ll);
/* lb_parse.c: set health NAME ..., the cursor after "health" */
void lb_health_parse(struct cursor *c);

/*
 * parser.c, for a statement of several lines: its next line, expanded
 * into @ex and tokenized into @c (the caller frees ex and c->t); 0 at
 * the end of the file.
 */
int block_line(struct loader *ld, struct lline *ex, struct cursor *c);

/* table_parse.c: table <NAME> { ... } | file "PATH" */
void table_parse(struct cursor *c, const struct lline *raw);
void table_prescan(struct loader *ld, const struct lline *ll);
/* <NAME> in a rule: its set */
int table_ref(struct cursor *c, const struct token *t);

/* macro.c: NAME = "VALUE" lines (no keyword), and $NAME references */
size_t macro_def_name(const struct lline *ll, size_t *start);
void macro_prescan(struct loader *ld, const struct lline *ll);
void macro_define(struct loader *ld, const struct lline *ll, size_t start,
		  size_t len);
/* the macro_fn of expand_macros() */
const char *macro_value(void *ctx, const char *name, size_t n,
			struct bg_pos at);

#endif /* FWMAPGEN_FAMILY_H */
