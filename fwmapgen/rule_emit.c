// SPDX-License-Identifier: GPL-2.0
/*
 * The filter rules' map entries: vectors, address and port tries,
 * protocols, interfaces, rules, rule information and counters.
 */
#include <string.h>

#include "emit.h"

static void emit_vecs(struct emitter *e)
{
	uint32_t id, key;

	for (id = 0; id < e->c->nvecs; id++) {
		key = e->gen * BG_FW_VEC_PER_GEN + id;
		map_line(e, "bg_fw_vec", &key, sizeof(key), &e->c->vecs[id],
			 sizeof(struct bg_fw_vec));
	}
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

static void emit_vlans(struct emitter *e)
{
	struct bg_fw_vlan_key k = { .gen = e->gen };
	struct bg_fw_fam_vecs v;
	size_t i;

	for (i = 0; i < e->c->nvlans; i++) {
		k.vid = e->c->vlans[i].key;
		memcpy(v.vec, e->c->vlans[i].vec, sizeof(v.vec));
		map_line(e, "bg_fw_vlan", &k, sizeof(k), &v, sizeof(v));
	}
}

static void emit_macs(struct emitter *e)
{
	struct bg_fw_mac_key k;
	struct bg_fw_fam_vecs v;
	size_t i;
	int dir;

	for (dir = 0; dir < BG_FW_MAC_DIRS; dir++) {
		for (i = 0; i < e->c->nmacs[dir]; i++) {
			memset(&k, 0, sizeof(k));
			k.gen = e->gen;
			k.dir = (uint8_t)dir;
			memcpy(k.addr, e->c->mac_addrs[dir][i], 6);
			memcpy(v.vec, e->c->macs[dir][i].vec, sizeof(v.vec));
			map_line(e, "bg_fw_mac", &k, sizeof(k), &v, sizeof(v));
		}
	}
}

/* Every slot of an array field, as bg_fw_proto: no stale values. */
static void emit_slots(struct emitter *e, const char *map, uint32_t first,
		       const uint32_t *vecs, uint32_t n)
{
	uint32_t i, key;

	for (i = 0; i < n; i++) {
		key = first + i;
		map_line(e, map, &key, sizeof(key), &vecs[i], sizeof(vecs[i]));
	}
}

static void emit_small_fields(struct emitter *e)
{
	const struct compiled *c = e->c;
	uint32_t f, part, base;

	for (f = 0; f < BG_FAM_MAX; f++) {
		base = e->gen * BG_FAM_MAX + f;
		if (e->rs->uses_flags)
			emit_slots(e, "bg_fw_tcpflags", base * BG_FW_BYTE_SLOTS,
				   c->flags_vec[f], BG_FW_BYTE_SLOTS);
		for (part = 0; part < 2 && e->rs->uses_icmp; part++)
			emit_slots(e, "bg_fw_icmp",
				   (base * 2 + part) * BG_FW_BYTE_SLOTS,
				   c->icmp_vec[f][part], BG_FW_BYTE_SLOTS);
		if (e->rs->uses_dscp)
			emit_slots(e, "bg_fw_dscp", base * BG_FW_DSCP_SLOTS,
				   c->dscp_vec[f], BG_FW_DSCP_SLOTS);
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

/*
 * Connection limits of the rules that have them, and their rules' flow
 * counts (bg_fw_rstates) from zero: the generation's previous ruleset's
 * flows are the previous rules'.
 */
static void emit_limits(struct emitter *e)
{
	struct bg_fw_rinfo_key k = { .gen = e->gen };
	struct bg_fw_limit v;
	uint64_t zero = 0;
	uint32_t idx;
	size_t i;

	for (i = 0; i < e->rs->nrules; i++) {
		const struct rule *r = &e->rs->rules[i];
		const struct rule_limits *l = r->limits;

		if (!l)
			continue;
		memset(&v, 0, sizeof(v));
		k.id = (uint32_t)r->id;
		v.max_states = l->max_states;
		v.max_src_conn = l->max_src_conn;
		v.rate_conns = l->rate_conns;
		v.rate_secs = l->rate_secs;
		v.overload = (uint8_t)l->overload;
		v.flush = (uint8_t)l->flush;
		memcpy(v.table, l->table, sizeof(v.table));
		map_line(e, "bg_fw_limits", &k, sizeof(k), &v, sizeof(v));
		idx = e->gen * BG_FW_HITS_PER_GEN + (uint32_t)r->id;
		map_line(e, "bg_fw_rstates", &idx, sizeof(idx), &zero,
			 sizeof(zero));
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

/* In this order: the vectors before the tries and arrays that name them. */
void rule_emit(struct emitter *e)
{
	emit_vecs(e);
	emit_lpm(e);
	emit_ports(e);
	emit_protos(e);
	emit_ifaces(e);
	emit_vlans(e);
	emit_macs(e);
	emit_small_fields(e);
	emit_rules(e);
	emit_rinfo(e);
	emit_limits(e);
	rule_text_emit(e);
	emit_hits(e);
}
