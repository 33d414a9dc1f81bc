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

#include "fwmapgen.h"
#include "sha256.h"

/* A batch line goes to a file, or into the digest, or both. */
struct sink {
	FILE *f;
	struct sha256 *sha;
	char *buf;
	size_t n;
	size_t cap;
};

struct emitter {
	struct sink *s;
	const struct ruleset *rs;
	const struct compiled *c;
	const char *pin_dir;
	uint32_t gen;
	const uint8_t *digest; /* NULL: computing it, leave its bytes out */
};

static void reserve(struct sink *s, size_t n)
{
	if (s->n + n <= s->cap)
		return;
	s->cap = (s->n + n) * 2;
	s->buf = xreallocarray(s->buf, s->cap, 1);
}

static void put(struct sink *s, const char *str)
{
	size_t n = strlen(str);

	reserve(s, n);
	memcpy(s->buf + s->n, str, n);
	s->n += n;
}

static void put_hex(struct sink *s, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i;

	reserve(s, 3 * n);
	for (i = 0; i < n; i++) {
		s->buf[s->n++] = ' ';
		s->buf[s->n++] = hex[p[i] >> 4];
		s->buf[s->n++] = hex[p[i] & 15];
	}
}

static void end_line(struct sink *s)
{
	reserve(s, 1);
	s->buf[s->n++] = '\n';
	if (s->f)
		fwrite(s->buf, 1, s->n, s->f);
	if (s->sha)
		sha256_update(s->sha, s->buf, s->n);
	s->n = 0;
}

static void map_start(struct emitter *e, const char *map, const void *key,
		      size_t klen)
{
	put(e->s, "map update pinned ");
	put(e->s, e->pin_dir);
	put(e->s, "/");
	put(e->s, map);
	put(e->s, " key hex");
	put_hex(e->s, key, klen);
	put(e->s, " value hex");
}

static void map_line(struct emitter *e, const char *map, const void *key,
		     size_t klen, const void *val, size_t vlen)
{
	map_start(e, map, key, klen);
	put_hex(e->s, val, vlen);
	end_line(e->s);
}

static void emit_vecs(struct emitter *e)
{
	struct bg_fw_vec_key k = { .gen = e->gen };

	for (k.id = 0; k.id < e->c->nvecs; k.id++)
		map_line(e, "bg_fw_vec", &k, sizeof(k), &e->c->vecs[k.id],
			 sizeof(struct bg_fw_vec));
}

static void emit_lpm_entry(struct emitter *e, const char *map,
			   const struct lpm_ent *le)
{
	struct bg_lpm4_key k4 = { 0 };
	struct bg_lpm6_key k6 = { 0 };

	if (le->p.fam == BG_FAM_INET) {
		k4.prefixlen = BG_LPM_GEN_BITS + le->p.len;
		k4.gen = e->gen;
		memcpy(k4.addr, le->p.addr, sizeof(k4.addr));
		map_line(e, map, &k4, sizeof(k4), &le->vec, sizeof(le->vec));
	} else {
		k6.prefixlen = BG_LPM_GEN_BITS + le->p.len;
		k6.gen = e->gen;
		memcpy(k6.addr, le->p.addr, sizeof(k6.addr));
		map_line(e, map, &k6, sizeof(k6), &le->vec, sizeof(le->vec));
	}
}

static void emit_lpm(struct emitter *e)
{
	static const char *const maps[BG_FAM_MAX][FLD_MAX] = {
		{ "bg_fw_src4", "bg_fw_dst4" },
		{ "bg_fw_src6", "bg_fw_dst6" },
	};
	size_t i;
	int f, fld;

	for (f = 0; f < BG_FAM_MAX; f++)
		for (fld = 0; fld < FLD_MAX; fld++)
			for (i = 0; i < e->c->lpm[fld][f].n; i++)
				emit_lpm_entry(e, maps[f][fld],
					       &e->c->lpm[fld][f].e[i]);
}

/* bg_fw_sport, bg_fw_dport: {prefixlen 64 + len, gen, family, port} */
static void emit_ports(struct emitter *e)
{
	static const char *const maps[FLD_MAX] = { "bg_fw_sport",
						   "bg_fw_dport" };
	struct bg_lpm_port_key k;
	size_t i;
	int f, fld;

	if (!e->rs->uses_ports)
		return;
	for (fld = 0; fld < FLD_MAX; fld++) {
		for (f = 0; f < BG_FAM_MAX; f++) {
			const struct lpm *l = &e->c->ports[fld][f];

			for (i = 0; i < l->n; i++) {
				memset(&k, 0, sizeof(k));
				k.prefixlen = 64 + l->e[i].p.len;
				k.gen = e->gen;
				k.family = (uint32_t)f;
				memcpy(k.port, l->e[i].p.addr, sizeof(k.port));
				map_line(e, maps[fld], &k, sizeof(k),
					 &l->e[i].vec, sizeof(l->e[i].vec));
			}
		}
	}
}

/*
 * bg_fw_proto is an array: every protocol of both families is written, or
 * values of an older ruleset would stay.
 */
static void emit_protos(struct emitter *e)
{
	uint32_t key;
	int f, p;

	if (!e->rs->uses_proto)
		return;
	for (f = 0; f < BG_FAM_MAX; f++) {
		for (p = 0; p < BG_FW_PROTOS; p++) {
			key = (e->gen * BG_FAM_MAX + (uint32_t)f) *
				      BG_FW_PROTOS +
			      (uint32_t)p;
			map_line(e, "bg_fw_proto", &key, sizeof(key),
				 &e->c->proto_vec[f][p], sizeof(uint32_t));
		}
	}
}

static void emit_ifaces(struct emitter *e)
{
	struct bg_fw_iface_key k = { .gen = e->gen };
	struct bg_fw_iface_val v;
	size_t i;

	for (i = 0; i < e->c->nifaces; i++) {
		k.ifindex = e->c->ifaces[i].ifindex;
		memcpy(v.vec, e->c->ifaces[i].vec, sizeof(v.vec));
		map_line(e, "bg_fw_iface", &k, sizeof(k), &v, sizeof(v));
	}
}

/* Rules in bit order: file order, since bits are given in file order. */
static void emit_rules(struct emitter *e)
{
	const struct ruleset *rs = e->rs;
	struct bg_fw_rule v = { 0 };
	uint32_t key;
	size_t i;
	int f;

	for (f = 0; f < BG_FAM_MAX; f++) {
		for (i = 0; i < rs->nrules; i++) {
			const struct rule *r = &rs->rules[i];

			if (r->bit[f] < 0)
				continue;
			key = (e->gen * BG_FAM_MAX + (uint32_t)f) *
				      BG_FW_MAX_RULES +
			      (uint32_t)r->bit[f];
			v.id = (uint32_t)r->id;
			v.action = r->action;
			v.flags = r->flags;
			map_line(e, "bg_fw_rules", &key, sizeof(key), &v,
				 sizeof(v));
		}
	}
}

static void emit_rinfo(struct emitter *e)
{
	struct bg_fw_rinfo_key k = { .gen = e->gen };
	struct bg_fw_rinfo v;
	size_t i;

	for (i = 0; i < e->rs->nrules; i++) {
		const struct rule *r = &e->rs->rules[i];

		memset(&v, 0, sizeof(v));
		k.id = (uint32_t)r->id;
		v.line = (uint32_t)r->line;
		v.action = r->action;
		v.flags = r->flags;
		v.families = r->fams;
		memcpy(v.label, r->label, sizeof(v.label));
		memcpy(v.iface, r->iface, sizeof(v.iface));
		map_line(e, "bg_fw_rinfo", &k, sizeof(k), &v, sizeof(v));
	}
}

/* Zero the generation's counters; bpftool copies the value to every CPU. */
static void emit_hits(struct emitter *e)
{
	struct bg_fw_hit zero = { 0, 0 };
	uint32_t id, key;

	for (id = 0; id <= e->rs->nrules; id++) {
		key = e->gen * BG_FW_HITS_PER_GEN + id;
		map_line(e, "bg_fw_hits", &key, sizeof(key), &zero,
			 sizeof(zero));
	}
}

/*
 * Conntrack settings: "set timeout" and "set limit states", 0 where unset
 * (the kernel's built-in default), in the generation's own entry: they
 * take effect with the switch to the generation, like its rules. Always
 * emitted (an all-zero entry puts the defaults back), and part of the
 * digest like any other line.
 */
static void emit_ct_config(struct emitter *e)
{
	struct bg_ct_config cfg;
	uint32_t key = e->gen;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.timeout, e->rs->ct_timeout, sizeof(cfg.timeout));
	cfg.limit_states = e->rs->ct_limit_states;
	map_line(e, "bg_ct_config", &key, sizeof(key), &cfg, sizeof(cfg));
}

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
	emit_vecs(e);
	emit_lpm(e);
	emit_ports(e);
	emit_protos(e);
	emit_ifaces(e);
	emit_rules(e);
	emit_rinfo(e);
	emit_hits(e);
	emit_ct_config(e);
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
