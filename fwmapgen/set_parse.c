// SPDX-License-Identifier: GPL-2.0
/*
 * The "set" statements: the default policy, and the connection tracking
 * settings ("set timeout", "set limit states") that set_emit.c writes.
 * The rate limiter's DDoS protections ("set syn-flood" ...) are parsed by
 * rl_parse.c, with its policies; the load balancer's health checks ("set
 * health NAME ...") by lb_parse.c, with its services.
 */
#include "family.h"

#define TIMEOUT_MAX 4294967 /* seconds: ~49.7 days, fits u32 */
#define TIMEOUT_NAMES                                                 \
	"tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, " \
	"tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, "    \
	"udp.unreplied, udp.replied, icmp or overload"

/* Index: enum bg_ct_timeout. */
static const char *const timeout_names[BG_CTT_MAX] = {
	[BG_CTT_TCP_SYN_SENT] = "tcp.syn_sent",
	[BG_CTT_TCP_SYN_RECV] = "tcp.syn_recv",
	[BG_CTT_TCP_ESTABLISHED] = "tcp.established",
	[BG_CTT_TCP_FIN_WAIT] = "tcp.fin_wait",
	[BG_CTT_TCP_CLOSE_WAIT] = "tcp.close_wait",
	[BG_CTT_TCP_LAST_ACK] = "tcp.last_ack",
	[BG_CTT_TCP_TIME_WAIT] = "tcp.time_wait",
	[BG_CTT_TCP_CLOSE] = "tcp.close",
	[BG_CTT_UDP_UNREPLIED] = "udp.unreplied",
	[BG_CTT_UDP_REPLIED] = "udp.replied",
	[BG_CTT_ICMP] = "icmp",
	[BG_CTT_OVERLOAD] = "overload", /* connection limits' overload tables */
};

static void parse_set_default(struct cursor *c, const struct token *kw)
{
	struct loader *ld = c->ld;

	if (accept_word(c, "pass"))
		ld->rs->default_action = BG_ACT_PASS;
	else if (accept_word(c, "block"))
		ld->rs->default_action = BG_ACT_BLOCK;
	else
		unexpected(c, "pass or block");
	expect_eol(c, "set default pass|block");
	if (ld->default_line)
		bg_die_at(ld->file, kw->pos,
			  "default policy already set on line %d",
			  ld->default_line);
	ld->default_line = ld->line;
}

/* set timeout NAME SECONDS */
static void parse_set_timeout(struct cursor *c)
{
	struct loader *ld = c->ld;
	struct token *name, *num;
	int64_t v;
	int i;

	name = peek(c);
	if (name->type != T_WORD)
		unexpected(c, "a timeout name (" TIMEOUT_NAMES ")");
	for (i = 0; i < BG_CTT_MAX; i++)
		if (timeout_names[i] && tok_is(name, timeout_names[i]))
			break;
	if (i == BG_CTT_MAX)
		bg_die_at(ld->file, name->pos,
			  "unknown timeout \"%s\" (expected " TIMEOUT_NAMES ")",
			  TOK_TEXT(name));
	take(c);
	num = peek(c);
	if (num->type == T_EOL)
		unexpected(c, "a number of seconds");
	v = parse_number(num);
	if (v < 0)
		bg_die_at(ld->file, num->pos,
			  "bad timeout \"%s\" (expected a number of seconds)",
			  TOK_TEXT(num));
	if (v == 0)
		bg_die_at(
			ld->file, num->pos,
			"timeout %s can't be 0 (1..%d seconds; leave it unset for the default)",
			timeout_names[i], TIMEOUT_MAX);
	if (v > TIMEOUT_MAX)
		bg_die_at(ld->file, num->pos,
			  "timeout %s of %s seconds is out of range (1..%d)",
			  timeout_names[i], TOK_TEXT(num), TIMEOUT_MAX);
	take(c);
	expect_eol(c, "set timeout NAME SECONDS");
	if (ld->timeout_line[i])
		bg_die_at(ld->file, name->pos,
			  "timeout %s already set on line %d", timeout_names[i],
			  ld->timeout_line[i]);
	ld->timeout_line[i] = ld->line;
	ld->rs->ct_timeout[i] = (uint32_t)v;
	ld->rs->ntimeouts++;
}

/* set limit states N */
static void parse_set_limit(struct cursor *c, const struct token *kw)
{
	struct loader *ld = c->ld;
	struct token *num;
	int64_t v;

	if (!accept_word(c, "states"))
		unexpected(c, "\"states\" after \"set limit\"");
	num = peek(c);
	if (num->type == T_EOL)
		unexpected(c, "a number of states");
	v = parse_number(num);
	if (v < 0)
		bg_die_at(ld->file, num->pos,
			  "bad limit \"%s\" (expected a number of states)",
			  TOK_TEXT(num));
	if (v < 1 || v > BG_CT_TABLE_MAX)
		bg_die_at(
			ld->file, num->pos,
			"limit states %s is out of range (1..%d, the table size)",
			TOK_TEXT(num), BG_CT_TABLE_MAX);
	take(c);
	expect_eol(c, "set limit states N");
	if (ld->limit_line)
		bg_die_at(ld->file, kw->pos,
			  "limit states already set on line %d",
			  ld->limit_line);
	ld->limit_line = ld->line;
	ld->rs->ct_limit_states = (uint32_t)v;
}

void set_parse(struct cursor *c, const struct lline *raw)
{
	struct token *kw = take(c);

	(void)raw;
	if (accept_word(c, "default"))
		parse_set_default(c, kw);
	else if (accept_word(c, "timeout"))
		parse_set_timeout(c);
	else if (accept_word(c, "limit"))
		parse_set_limit(c, kw);
	else if (accept_word(c, "health"))
		lb_health_parse(c);
	else if (!rl_set_parse(c, kw))
		unexpected(c, "default, timeout, limit, health, " RL_SET_NAMES
			      " after \"set\"");
}
