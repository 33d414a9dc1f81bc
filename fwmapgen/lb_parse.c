// SPDX-License-Identifier: GPL-2.0
/*
 * The load balancer's statements (headers/bg_lb_abi.h):
 *
 *   service NAME VIP port PORT proto tcp|udp [scheduler SCHED] {
 *       backend ADDR[:PORT] [weight W] [down]
 *       ...
 *   }
 *   set health NAME tcp|http "PATH" interval S timeout S fall N rise N
 *
 * A service is the one statement of several lines: after its '{' it
 * takes the lines that follow (parser.c's block_line(), macros expanded
 * as in any line) up to the '}' alone on its line. Its ring is filled
 * (lb_ring.c) at the '}', so that a ruleset whose rings overflow the
 * generation's slice fails at the service that does it.
 *
 * "set health" names a service of the file, before or after it: the
 * pre-scan learns every "service NAME" line.
 */
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "lb.h"

#define SERVICE_SYNTAX                                         \
	"service NAME VIP port PORT proto tcp|udp "            \
	"[scheduler maglev|round-robin|source-hash] {, then "  \
	"one backend ADDR[:PORT] [weight W] [down] per line, " \
	"then } alone on its line"
#define BACKEND_SYNTAX "backend ADDR[:PORT] [weight W] [down]"
#define HEALTH_SYNTAX                                         \
	"set health NAME tcp|http \"PATH\" interval SECONDS " \
	"timeout SECONDS fall N rise N"
#define PORT_MAX 65535
#define WEIGHT_MAX 65535
#define INTERVAL_MAX 3600
#define FALL_RISE_MAX 100

/* Index: enum bg_lb_sched. */
static const char *const sched_names[BG_LB_SCHED_MAX] = {
	[BG_LB_SCHED_MAGLEV] = "maglev",
	[BG_LB_SCHED_ROUND_ROBIN] = "round-robin",
	[BG_LB_SCHED_SOURCE_HASH] = "source-hash",
};

static struct lb *lb_of(struct ruleset *rs)
{
	if (!rs->lb)
		rs->lb = xcalloc(1, sizeof(*rs->lb));
	return rs->lb;
}

size_t lb_services(const struct ruleset *rs)
{
	return rs->lb ? rs->lb->nsvc : 0;
}

size_t lb_healths(const struct ruleset *rs)
{
	return rs->lb ? rs->lb->nhealth : 0;
}

static const struct lb_service *service_find(const struct lb *lb, const char *s,
					     size_t n)
{
	size_t i;

	for (i = 0; lb && i < lb->nsvc; i++)
		if (strlen(lb->svc[i].name) == n &&
		    !memcmp(lb->svc[i].name, s, n))
			return &lb->svc[i];
	return NULL;
}

static const struct lb_health *health_find(const struct lb *lb, const char *s,
					   size_t n)
{
	size_t i;

	for (i = 0; lb && i < lb->nhealth; i++)
		if (strlen(lb->health[i].name) == n &&
		    !memcmp(lb->health[i].name, s, n))
			return &lb->health[i];
	return NULL;
}

const struct lb_health *lb_health_of(const struct lb *lb, const char *name)
{
	return health_find(lb, name, strlen(name));
}

static int is_name_char(int c)
{
	return is_ident(c) || c == '.' || c == '-';
}

/* Learn every service's name: "set health" may come before it. */
void lb_prescan(struct loader *ld, const struct lline *ll)
{
	size_t i = 0, j;

	while (i < ll->n && is_blank(ll->s[i]))
		i++;
	if (ll->n - i < 8 || memcmp(ll->s + i, "service", 7) ||
	    !is_blank(ll->s[i + 7]))
		return;
	for (i += 7; i < ll->n && is_blank(ll->s[i]);)
		i++;
	for (j = i; j < ll->n && is_name_char(ll->s[j]);)
		j++;
	if (j > i && !names_find(&ld->services, ll->s + i, j - i))
		names_add(&ld->services, ll->s + i, j - i, ll->line);
}

/* A number @lo..@hi after @kw ("port", "weight" ...). */
static uint32_t num_arg(struct cursor *c, const char *kw, uint32_t lo,
			uint32_t hi)
{
	struct token *t = peek(c);
	char what[64];
	int64_t v;

	snprintf(what, sizeof(what), "a number after \"%s\"", kw);
	if (t->type != T_WORD)
		unexpected(c, what);
	v = parse_number(t);
	if (v < 0)
		bg_die_at(c->ld->file, t->pos,
			  "bad %s \"%s\" (expected a number)", kw, TOK_TEXT(t));
	if (v < lo || v > hi)
		bg_die_at(c->ld->file, t->pos, "%s %s is out of range (%u..%u)",
			  kw, TOK_TEXT(t), lo, hi);
	take(c);
	return (uint32_t)v;
}

static void service_name(struct cursor *c, char name[BG_LB_NAME_LEN])
{
	struct loader *ld = c->ld;
	const struct lb_service *old;
	struct token *t = peek(c);
	size_t i;

	if (t->type != T_WORD)
		unexpected(c, "a service name after \"service\"");
	for (i = 0; i < t->n; i++)
		if (!is_name_char((unsigned char)t->s[i]))
			bg_die_at(
				ld->file, t->pos,
				"bad service name \"%s\" (letters, digits, '_', '.' and '-')",
				TOK_TEXT(t));
	if (t->n > BG_LB_NAME_LEN - 1)
		bg_die_at(ld->file, t->pos,
			  "service name \"%s\" is longer than %d characters",
			  TOK_TEXT(t), BG_LB_NAME_LEN - 1);
	old = service_find(ld->rs->lb, t->s, t->n);
	if (old)
		bg_die_at(ld->file, t->pos,
			  "duplicate service %s (first defined on line %d)",
			  old->name, old->line);
	memcpy(name, t->s, t->n);
	name[t->n] = '\0';
	take(c);
}

static void service_vip(struct cursor *c, struct lb_service *svc)
{
	struct token *t = peek(c);

	if (t->type != T_WORD)
		unexpected(c, "the service's address (VIP)");
	if (host_parse(t->s, t->n, &svc->vip))
		bg_die_at(
			c->ld->file, t->pos,
			"bad VIP \"%s\" (an IPv4 or IPv6 address, no prefix length)",
			TOK_TEXT(t));
	take(c);
}

static void service_proto(struct cursor *c, struct lb_service *svc)
{
	if (!accept_word(c, "proto"))
		unexpected(c, "proto after the port");
	if (accept_word(c, "tcp"))
		svc->proto = PROTO_TCP;
	else if (accept_word(c, "udp"))
		svc->proto = PROTO_UDP;
	else
		unexpected(c, "tcp or udp after \"proto\"");
}

/* [scheduler SCHED] */
static void service_sched(struct cursor *c, struct lb_service *svc)
{
	struct token *t;
	int i;

	svc->sched = BG_LB_SCHED_MAGLEV;
	if (!accept_word(c, "scheduler"))
		return;
	t = peek(c);
	if (t->type != T_WORD)
		unexpected(c, "maglev, round-robin or source-hash");
	for (i = 0; i < BG_LB_SCHED_MAX; i++)
		if (tok_is(t, sched_names[i]))
			break;
	if (i == BG_LB_SCHED_MAX)
		bg_die_at(
			c->ld->file, t->pos,
			"unknown scheduler \"%s\" (expected maglev, round-robin or source-hash)",
			TOK_TEXT(t));
	svc->sched = (uint8_t)i;
	take(c);
}

static void vip_dup(struct loader *ld, const struct lb_service *svc,
		    const struct token *at)
{
	const struct lb *lb = ld->rs->lb;
	size_t i;

	for (i = 0; lb && i < lb->nsvc; i++) {
		const struct lb_service *o = &lb->svc[i];

		if (o->vip.fam == svc->vip.fam && o->port == svc->port &&
		    o->proto == svc->proto &&
		    !memcmp(o->vip.addr, svc->vip.addr, sizeof(o->vip.addr)))
			bg_die_at(
				ld->file, at->pos,
				"duplicate VIP %s port %u proto %s (service %s on line %d)",
				TOK_TEXT(at), svc->port,
				svc->proto == PROTO_TCP ? "tcp" : "udp",
				o->name, o->line);
	}
}

/*
 * ADDR, IPv4:PORT, [IPv6] or [IPv6]:PORT, as the PACKET of --explain
 * writes them. The port: the service's when none is given.
 */
static void backend_addr(struct cursor *c, const struct lb_service *svc,
			 struct lb_backend *b)
{
	struct token *t = peek(c), num;
	const char *pt;
	size_t pn;
	int64_t port;

	if (t->type != T_WORD)
		unexpected(c, "the backend's address");
	if (endpoint_split(t->s, t->n, &b->addr, &pt, &pn))
		goto bad;
	b->port = svc->port;
	if (pt) {
		num = *t;
		num.s = pt;
		num.n = pn;
		port = parse_number(&num);
		if (port < 0)
			goto bad;
		if (port < 1 || port > PORT_MAX)
			bg_die_at(c->ld->file, t->pos,
				  "backend port %s is out of range (1..%d)",
				  BG_EXCERPT(num.s, num.n), PORT_MAX);
		b->port = (uint32_t)port;
	}
	if (b->addr.fam != svc->vip.fam)
		bg_die_at(c->ld->file, t->pos,
			  "backend %s is %s, the VIP of service %s is %s",
			  TOK_TEXT(t),
			  b->addr.fam == BG_FAM_INET ? "IPv4" : "IPv6",
			  svc->name,
			  svc->vip.fam == BG_FAM_INET ? "IPv4" : "IPv6");
	take(c);
	return;
bad:
	bg_die_at(
		c->ld->file, t->pos,
		"bad backend \"%s\" (expected ADDR, IPv4:PORT or [IPv6]:PORT)",
		TOK_TEXT(t));
}

static void backend_dup(struct loader *ld, const struct lb_service *svc,
			const struct lb_backend *b, const struct token *at)
{
	const struct lb *lb = ld->rs->lb;
	char text[LB_ENDPOINT_STRLEN];
	uint32_t i;

	for (i = svc->first; i < lb->nbe; i++) {
		const struct lb_backend *o = &lb->be[i];

		if (o->port != b->port ||
		    memcmp(o->addr.addr, b->addr.addr, sizeof(b->addr.addr)))
			continue;
		lb_endpoint_format(&b->addr, b->port, text, sizeof(text));
		bg_die_at(ld->file, at->pos,
			  "duplicate backend %s in service %s (line %d)", text,
			  svc->name, o->line);
	}
}

/* backend ADDR[:PORT] [weight W] [down], the cursor on "backend" */
static void parse_backend(struct cursor *c, const struct lb_service *svc)
{
	struct loader *ld = c->ld;
	struct lb *lb = ld->rs->lb;
	struct token *kw = take(c), *at = peek(c), *t;
	struct lb_backend b = { .weight = 1, .line = ld->line };
	int has_weight = 0;

	if (lb->nbe - svc->first == LB_SVC_BACKENDS_MAX)
		bg_die_at(ld->file, kw->pos,
			  "service %s has more than %d backends", svc->name,
			  LB_SVC_BACKENDS_MAX);
	if (lb->nbe == BG_LB_MAX_BACKENDS)
		bg_die_at(ld->file, kw->pos,
			  "more than %d backends in the ruleset",
			  BG_LB_MAX_BACKENDS);
	backend_addr(c, svc, &b);
	for (t = peek(c); t->type != T_EOL; t = peek(c)) {
		if (tok_is(t, "weight") && !has_weight) {
			take(c);
			b.weight = num_arg(c, "weight", 1, WEIGHT_MAX);
			has_weight = 1;
		} else if (tok_is(t, "down") && !b.down) {
			take(c);
			b.down = 1;
		} else if (tok_is(t, "weight") || tok_is(t, "down")) {
			bg_die_at(ld->file, t->pos, "duplicate \"%s\"",
				  TOK_TEXT(t));
		} else {
			expect_eol(c, BACKEND_SYNTAX);
		}
	}
	backend_dup(ld, svc, &b, at);
	lb->be = bg_grow(lb->be, &lb->be_cap, lb->nbe, sizeof(*lb->be));
	lb->be[lb->nbe++] = b;
}

/*
 * The lines after '{' (@open), up to the '}' alone on its line: every
 * other one a backend.
 */
static void parse_block(struct loader *ld, struct lb_service *svc,
			const struct token *open)
{
	struct cursor c = { ld, NULL, 0 };
	struct lline ex;
	struct token *t;

	for (;;) {
		if (!block_line(ld, &ex, &c))
			bg_die_at(
				ld->file, open->pos,
				"syntax error: unterminated '{' of service %s (missing '}')",
				svc->name);
		t = peek(&c);
		if (t->type == T_RBRACE) {
			take(&c);
			expect_eol(&c, "} alone on its line");
			if (ld->rs->lb->nbe == svc->first)
				bg_die_at(
					ld->file, t->pos,
					"a service needs at least one backend");
			free(c.t);
			lline_free(&ex);
			return;
		}
		if (!tok_is(t, "backend"))
			unexpected(&c, "backend or '}'");
		parse_backend(&c, svc);
		free(c.t);
		lline_free(&ex);
	}
}

/* Its slice of the generation's ring, after the services before it. */
static void service_ring(struct loader *ld, struct lb_service *svc,
			 const struct token *name)
{
	struct lb *lb = ld->rs->lb;

	lb_ring_fill(lb, svc);
	if (!svc->ring_size)
		return;
	if (lb->ring_used + svc->ring_size > BG_LB_RING_PER_GEN)
		bg_die_at(
			ld->file, name->pos,
			"the rings of the services up to %s take %u slots, more than %d",
			svc->name, lb->ring_used + svc->ring_size,
			BG_LB_RING_PER_GEN);
	svc->ring_off = lb->ring_used;
	lb->ring_used += svc->ring_size;
}

void lb_parse(struct cursor *c, const struct lline *raw)
{
	struct loader *ld = c->ld;
	struct lb *lb = lb_of(ld->rs);
	struct token *kw = take(c), *name = peek(c), *vip, *open;
	struct lb_service svc;

	(void)raw;
	memset(&svc, 0, sizeof(svc));
	if (lb->nsvc == BG_LB_MAX_SERVICES)
		bg_die_at(ld->file, kw->pos, "more than %d services",
			  BG_LB_MAX_SERVICES);
	svc.line = ld->line;
	service_name(c, svc.name);
	vip = peek(c);
	service_vip(c, &svc);
	if (!accept_word(c, "port"))
		unexpected(c, "port after the VIP");
	svc.port = num_arg(c, "port", 1, PORT_MAX);
	service_proto(c, &svc);
	vip_dup(ld, &svc, vip);
	service_sched(c, &svc);
	open = peek(c);
	if (open->type != T_LBRACE)
		unexpected(c, "'{' (then one backend per line)");
	take(c);
	if (peek(c)->type == T_RBRACE)
		bg_die_at(ld->file, peek(c)->pos,
			  "a service needs at least one backend");
	expect_eol(c, SERVICE_SYNTAX);
	svc.id = (uint32_t)lb->nsvc + 1;
	svc.first = (uint32_t)lb->nbe;
	parse_block(ld, &svc, open);
	svc.n = (uint32_t)lb->nbe - svc.first;
	service_ring(ld, &svc, name);
	lb->svc = bg_grow(lb->svc, &lb->svc_cap, lb->nsvc, sizeof(*lb->svc));
	lb->svc[lb->nsvc++] = svc;
}

/* "PATH" of an http check: /..., printable, no blanks. */
/* Printable ASCII, no blank: the checker hands it to curl as it is. */
static int path_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static void health_path(struct cursor *c, struct lb_health *h)
{
	struct token *t = peek(c);

	if (t->type != T_STRING)
		unexpected(c, "a quoted path after \"http\"");
	if (!t->n || t->s[0] != '/')
		bg_die_at(c->ld->file, t->pos,
			  "bad health check path \"%s\" (it starts with '/')",
			  TOK_TEXT(t));
	if (!path_printable(t->s, t->n))
		bg_die_at(
			c->ld->file, t->pos,
			"bad health check path \"%s\" (printable, no blanks: write %%20)",
			TOK_TEXT(t));
	if (t->n > BG_LB_PATH_LEN - 1)
		bg_die_at(c->ld->file, t->pos,
			  "health check path is longer than %d bytes",
			  BG_LB_PATH_LEN - 1);
	memcpy(h->path, t->s, t->n);
	take(c);
}

/* interval S timeout S fall N rise N, in any order, each once */
static void health_params(struct cursor *c, struct lb_health *h)
{
	static const char *const kws[] = { "interval", "timeout", "fall",
					   "rise" };
	const uint32_t hi[] = { INTERVAL_MAX, INTERVAL_MAX, FALL_RISE_MAX,
				FALL_RISE_MAX };
	uint32_t *val[] = { &h->interval_s, &h->timeout_s, &h->fall, &h->rise };
	struct token *seen[4] = { NULL }, *timeout = NULL, *t;
	size_t i;

	for (t = peek(c); t->type != T_EOL; t = peek(c)) {
		for (i = 0; i < 4 && !tok_is(t, kws[i]);)
			i++;
		if (i == 4)
			unexpected(c, "interval, timeout, fall or rise");
		if (seen[i])
			bg_die_at(c->ld->file, t->pos, "duplicate \"%s\"",
				  kws[i]);
		seen[i] = take(c);
		if (i == 1)
			timeout = peek(c);
		*val[i] = num_arg(c, kws[i], 1, hi[i]);
	}
	for (i = 0; i < 4; i++)
		if (!seen[i])
			bg_die_at(c->ld->file, t->pos,
				  "set health: missing %s (syntax: %s)", kws[i],
				  HEALTH_SYNTAX);
	if (h->timeout_s > h->interval_s)
		bg_die_at(c->ld->file, timeout->pos,
			  "timeout %u is longer than the interval %u",
			  h->timeout_s, h->interval_s);
}

void lb_health_parse(struct cursor *c)
{
	struct loader *ld = c->ld;
	struct lb *lb = lb_of(ld->rs);
	struct token *name = peek(c);
	const struct lb_health *old;
	struct lb_health h;

	memset(&h, 0, sizeof(h));
	h.line = ld->line;
	if (name->type != T_WORD)
		unexpected(c, "a service name after \"set health\"");
	if (name->n > BG_LB_NAME_LEN - 1 ||
	    (!names_find(&ld->services, name->s, name->n) &&
	     !service_find(lb, name->s, name->n)))
		bg_die_at(ld->file, name->pos, "unknown service %s",
			  TOK_TEXT(name));
	old = health_find(lb, name->s, name->n);
	if (old)
		bg_die_at(ld->file, name->pos,
			  "health check of service %s already set on line %d",
			  old->name, old->line);
	memcpy(h.name, name->s, name->n);
	take(c);
	if (accept_word(c, "tcp")) {
		h.check = BG_LB_CHECK_TCP;
	} else if (accept_word(c, "http")) {
		h.check = BG_LB_CHECK_HTTP;
		health_path(c, &h);
	} else {
		unexpected(c, "tcp or http");
	}
	health_params(c, &h);
	lb->health = bg_grow(lb->health, &lb->health_cap, lb->nhealth,
			     sizeof(*lb->health));
	lb->health[lb->nhealth++] = h;
}
