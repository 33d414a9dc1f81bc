// SPDX-License-Identifier: GPL-2.0
/*
 * CONNECTION-LIMITS of a filter rule, as in pf:
 *   max-states N            flows the rule's packets may have open
 *   max-src-conn N          established TCP connections per source
 *   max-src-conn-rate N/S   TCP connections per source in S seconds
 *   overload <TABLE> [flush]  a source over either of the last two goes
 *                           into TABLE (dropped in phase 0 until "set
 *                           timeout overload"), its flows flushed
 * tc_conntrack enforces them (bg_fw_limits); the rule carries
 * BG_RULE_F_LIMIT so that the firewall tells it so.
 */
#include <stdlib.h>
#include <string.h>

#include "family.h"

#define LIMIT_MAX 1000000
#define RATE_SECS_MAX 86400

enum { KW_STATES, KW_CONN, KW_RATE, KW_OVERLOAD };

static uint32_t count_arg(struct cursor *c, const struct token *kw)
{
	struct token *t = peek(c);
	uint32_t v;

	if (t->type != T_WORD)
		unexpected(c, "a number");
	if (parse_num(t->s, t->n, LIMIT_MAX, &v) || !v)
		bg_die_at(c->ld->file, t->pos,
			  "bad %s \"%s\" (a number from 1 to %d)", TOK_TEXT(kw),
			  TOK_TEXT(t), LIMIT_MAX);
	take(c);
	return v;
}

/* N/S */
static void rate_arg(struct cursor *c, struct rule_limits *l)
{
	struct token *t = peek(c);
	const char *slash;

	if (t->type != T_WORD)
		unexpected(c, "N/SECONDS after \"max-src-conn-rate\"");
	slash = memchr(t->s, '/', t->n);
	if (!slash ||
	    parse_num(t->s, (size_t)(slash - t->s), LIMIT_MAX,
		      &l->rate_conns) ||
	    parse_num(slash + 1, t->n - (size_t)(slash - t->s) - 1,
		      RATE_SECS_MAX, &l->rate_secs) ||
	    !l->rate_conns || !l->rate_secs)
		bg_die_at(
			c->ld->file, t->pos,
			"bad max-src-conn-rate \"%s\" (N/SECONDS: 1 to %d connections per 1 to %d seconds, as in 15/5)",
			TOK_TEXT(t), LIMIT_MAX, RATE_SECS_MAX);
	take(c);
}

static void overload_arg(struct cursor *c, struct rule_limits *l)
{
	struct token *t = peek(c);

	if (t->type != T_TABLE)
		unexpected(c, "<TABLE> after \"overload\"");
	if (t->n >= BG_FW_TABLE_NAME_LEN)
		bg_die_at(c->ld->file, t->pos,
			  "overload table name <%s> is longer than %d bytes",
			  BG_EXCERPT(t->s, t->n), BG_FW_TABLE_NAME_LEN - 1);
	if (names_find(&c->ld->tables, t->s, t->n))
		bg_die_at(
			c->ld->file, t->pos,
			"<%s> is a table of addresses: an overload table is filled at run time and checked before the rules, give it a name of its own",
			BG_EXCERPT(t->s, t->n));
	memcpy(l->table, t->s, t->n);
	l->overload = 1;
	take(c);
	if (tok_is(peek(c), "flush")) {
		take(c);
		l->flush = 1;
	}
}

void rule_parse_limits(struct cursor *c, struct rule *r, struct token **seen)
{
	static const char *const kws[RULE_LIMIT_KWS] = {
		[KW_STATES] = "max-states",
		[KW_CONN] = "max-src-conn",
		[KW_RATE] = "max-src-conn-rate",
		[KW_OVERLOAD] = "overload",
	};
	struct rule_limits l = { 0 };
	struct token *t, *first = NULL;
	int i;

	for (;;) {
		t = peek(c);
		for (i = 0; i < RULE_LIMIT_KWS; i++)
			if (tok_is(t, kws[i]))
				break;
		if (i == RULE_LIMIT_KWS)
			break;
		if (seen[i])
			bg_die_at(
				c->ld->file, t->pos,
				"duplicate keyword \"%s\" (a rule takes each keyword once)",
				kws[i]);
		seen[i] = take(c);
		if (!first)
			first = seen[i];
		if (r->action != BG_ACT_PASS)
			bg_die_at(
				c->ld->file, t->pos,
				"\"%s\" needs a pass rule (it limits what a rule lets in)",
				kws[i]);
		if ((i == KW_CONN || i == KW_RATE) && r->proto != PROTO_TCP)
			bg_die_at(
				c->ld->file, t->pos,
				"\"%s\" needs proto tcp (a connection counts once its handshake completes)",
				kws[i]);
		switch (i) {
		case KW_STATES:
			l.max_states = count_arg(c, t);
			break;
		case KW_CONN:
			l.max_src_conn = count_arg(c, t);
			break;
		case KW_RATE:
			rate_arg(c, &l);
			break;
		default:
			overload_arg(c, &l);
		}
	}
	if (!first)
		return;
	if (l.overload && !l.max_src_conn && !l.rate_conns)
		bg_die_at(
			c->ld->file, seen[KW_OVERLOAD]->pos,
			"\"overload\" needs max-src-conn or max-src-conn-rate (the limits a source can exceed)");
	r->limits = xcalloc(1, sizeof(*r->limits));
	*r->limits = l;
	r->flags |= BG_RULE_F_LIMIT;
	c->ld->rs->uses_overload |= l.overload;
}

void rule_limits_text(const struct rule *r, char *buf, size_t size)
{
	const struct rule_limits *l = r->limits;
	size_t n = 0;

	buf[0] = '\0';
	if (!l)
		return;
	if (l->max_src_conn)
		text_addf(buf, size, &n, "%smax-src-conn %u", n ? " " : "",
			  l->max_src_conn);
	if (l->rate_conns)
		text_addf(buf, size, &n, "%smax-src-conn-rate %u/%u",
			  n ? " " : "", l->rate_conns, l->rate_secs);
	if (l->max_states)
		text_addf(buf, size, &n, "%smax-states %u", n ? " " : "",
			  l->max_states);
	if (l->overload)
		text_addf(buf, size, &n, "%soverload <%s>%s", n ? " " : "",
			  l->table, l->flush ? " flush" : "");
}
