// SPDX-License-Identifier: GPL-2.0
/*
 * The bpftool batch. Every key and value is the C struct of bg_abi.h as
 * hex bytes, so the layout is exactly the one the BPF programs read.
 * '#' starts a comment anywhere on a bpftool batch line: only line 1 (a
 * comment itself) may contain one.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "lb.h"
#include "rl.h"
#include "rule_route.h"
#include "scrub.h"
#include "sha256.h"

/*
 * Every family's map entries, in this order, then bg_fw_gens. lb_emit
 * writes nothing without a service: such a batch stays as it was.
 */
static void (*const family_emit[])(struct emitter *e) = {
	rule_emit, rl_emit, scrub_emit, set_emit, route_emit, lb_emit,
};

/* Last: loaded = 1 tells the loader every other entry is in. */
static void emit_gen(struct emitter *e)
{
	const size_t dig = offsetof(struct bg_fw_gen, digest);
	const size_t rest = dig + sizeof(((struct bg_fw_gen *)0)->digest);
	struct bg_fw_gen g;
	int f;

	memset(&g, 0, sizeof(g));
	g.loaded = 1;
	g.nids = (uint32_t)e->rs->nrules;
	for (f = 0; f < BG_FAM_MAX; f++) {
		g.nrules[f] = (uint32_t)e->rs->nfam[f];
		g.nwords[f] = e->c->nwords[f];
		g.iface_other[f] = e->c->iface_other[f];
	}
	g.default_action = e->rs->default_action;
	g.uses_iface = (uint8_t)e->rs->uses_iface;
	g.uses_proto = (uint8_t)e->rs->uses_proto;
	g.uses_ports = (uint8_t)e->rs->uses_ports;
	g.uses_state = (uint8_t)e->rs->uses_state;
	g.uses_vlan = (uint8_t)e->rs->uses_vlan;
	g.uses_flags = (uint8_t)e->rs->uses_flags;
	g.uses_icmp = (uint8_t)e->rs->uses_icmp;
	g.uses_mac = (uint8_t)e->rs->uses_mac;
	g.uses_dscp = (uint8_t)e->rs->uses_dscp;
	g.uses_overload = (uint8_t)e->rs->uses_overload;
	memcpy(g.vlan_other, e->c->vlan_other, sizeof(g.vlan_other));
	memcpy(g.mac_other, e->c->mac_other, sizeof(g.mac_other));
	memcpy(g.noport, e->c->noport, sizeof(g.noport));
	memcpy(g.state_vec, e->c->state_vec, sizeof(g.state_vec));
	if (e->digest)
		memcpy(g.digest, e->digest, sizeof(g.digest));
	strncpy(g.source, e->rs->path, sizeof(g.source) - 1);
	map_start(e, "bg_fw_gens", &e->gen, sizeof(e->gen));
	put_hex(e->s, &g, dig);
	if (e->digest)
		put_hex(e->s, g.digest, sizeof(g.digest));
	put_hex(e->s, (const uint8_t *)&g + rest, sizeof(g) - rest);
	end_line(e->s);
}

static void emit_all(struct emitter *e)
{
	size_t i;

	for (i = 0; i < sizeof(family_emit) / sizeof(family_emit[0]); i++)
		family_emit[i](e);
	emit_gen(e);
}

void hex_string(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * SHA-256 of the batch for generation 0 and an empty pin dir, without
 * line 1 and the digest bytes: it changes with what is compiled, not with
 * where or into which generation it is loaded.
 */
void batch_digest(const struct ruleset *rs, const struct compiled *c,
		  uint8_t digest[32])
{
	struct sha256 sha;
	struct sink s = { .sha = &sha };
	struct emitter e = { &s, rs, c, "", 0, NULL };

	sha256_init(&sha);
	emit_all(&e);
	sha256_final(&sha, digest);
	free(s.buf);
}

/* Line 1 is a comment: a path full of odd bytes must not break it. */
static void put_source(struct sink *s, const char *path)
{
	for (; *path; path++) {
		reserve(s, 1);
		s->buf[s->n++] = (*path > ' ' && *path < 0x7f) ? *path : '?';
	}
}

static void emit_header(struct emitter *e)
{
	char hex[65], num[96];

	hex_string(e->digest, 32, hex);
	put(e->s, "# bpfguard fwmapgen: source=");
	put_source(e->s, e->rs->path);
	snprintf(num, sizeof(num), " gen=%u digest=", e->gen);
	put(e->s, num);
	put(e->s, hex);
	snprintf(num, sizeof(num), " rules=%zu inet=%d inet6=%d", e->rs->nrules,
		 e->rs->nfam[BG_FAM_INET], e->rs->nfam[BG_FAM_INET6]);
	put(e->s, num);
	end_line(e->s);
}

/* Returns 0, or -1 when writing failed (errno set). */
int batch_write(FILE *f, const struct ruleset *rs, const struct compiled *c,
		unsigned int gen, const char *pin_dir, const uint8_t digest[32])
{
	struct sink s = { .f = f };
	struct emitter e = { &s, rs, c, pin_dir, gen, digest };

	emit_header(&e);
	emit_all(&e);
	free(s.buf);
	return fflush(f) || ferror(f) ? -1 : 0;
}
