// SPDX-License-Identifier: GPL-2.0
/*
 * The filter rules, compiled by Linear Bit Vector Search. For every field
 * value the kernel looks up a vector of the rules (of the packet's family)
 * that accept it; the AND of the fields' vectors holds the matching rules.
 */
#include <stdlib.h>
#include <string.h>

#include "fwmapgen.h"

/* Nested prefixes have distinct lengths 0..128: at most 129 on a path. */
#define MAX_DEPTH 129

struct centry {
	struct prefix p;
	int slot; /* set slot whose prefix this is, -1 for the /0 root */
};

/* One (field, family): its rule masks and every prefix rules name. */
struct fieldc {
	const struct ruleset *rs;
	int fld;
	int fam;
	int nwords;
	struct bg_fw_vec wild; /* rules with "any" */
	struct bg_fw_vec pos; /* rules naming a set */
	struct bg_fw_vec neg; /* rules naming a negated set */
	struct bg_fw_vec *m; /* per slot: the rules naming that set */
	size_t nm;
	size_t mcap;
	int *slot_of; /* per set of the ruleset, -1 while unused */
	struct centry *e;
	size_t n;
	size_t cap;
};

struct frame {
	struct prefix p;
	struct bg_fw_vec cov; /* rules whose set covers p */
	struct bg_fw_vec vec; /* rules accepting addresses under p */
};

static void vbit(struct bg_fw_vec *v, int bit)
{
	v->w[bit / 64] |= 1ULL << (bit % 64);
}

static uint64_t vec_hash(const struct bg_fw_vec *v)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < BG_FW_WORDS; i++) {
		h = (h ^ v->w[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static void slot_insert(struct compiled *c, uint32_t id)
{
	size_t mask = c->nslots - 1, h = vec_hash(&c->vecs[id]) & mask;

	while (c->slots[h])
		h = (h + 1) & mask;
	c->slots[h] = id + 1;
}

static void vec_rehash(struct compiled *c)
{
	size_t i;

	free(c->slots);
	c->nslots = c->nslots ? c->nslots * 2 : 1024;
	c->slots = xcalloc(c->nslots, sizeof(*c->slots));
	for (i = 0; i < c->nvecs; i++)
		slot_insert(c, (uint32_t)i);
}

/* Identical vectors share one id, whatever field or family uses them. */
static uint32_t vec_intern(struct compiled *c, const struct bg_fw_vec *in)
{
	struct bg_fw_vec sv = *in, *v = &sv;
	size_t mask, h;
	uint32_t id;
	int i;

	/* The kernel's shortcut: which words hold a rule (bg_fw_abi.h). */
	sv.summary = 0;
	for (i = 0; i < BG_FW_WORDS; i++)
		if (sv.w[i])
			sv.summary |= 1ULL << i;

	if (2 * (c->nvecs + 1) > c->nslots)
		vec_rehash(c);
	mask = c->nslots - 1;
	for (h = vec_hash(v) & mask; c->slots[h]; h = (h + 1) & mask)
		if (!memcmp(&c->vecs[c->slots[h] - 1], v, sizeof(*v)))
			return c->slots[h] - 1;
	c->vecs = bg_grow(c->vecs, &c->vecs_cap, c->nvecs, sizeof(*v));
	id = (uint32_t)c->nvecs++;
	c->vecs[id] = *v;
	c->slots[h] = id + 1;
	return id;
}

static void add_entry(struct fieldc *fc, const struct prefix *p, int slot)
{
	fc->e = bg_grow(fc->e, &fc->cap, fc->n, sizeof(*fc->e));
	fc->e[fc->n].p = *p;
	fc->e[fc->n].slot = slot;
	fc->n++;
}

/* A set's prefixes enter the trie once, however many rules name it. */
static int set_slot(struct fieldc *fc, int set)
{
	const struct addrset *s = &fc->rs->sets[set];
	size_t i;
	int slot;

	if (fc->slot_of[set] >= 0)
		return fc->slot_of[set];
	fc->m = bg_grow(fc->m, &fc->mcap, fc->nm, sizeof(*fc->m));
	slot = (int)fc->nm++;
	memset(&fc->m[slot], 0, sizeof(fc->m[slot]));
	for (i = 0; i < s->n; i++)
		if (s->v[i].fam == fc->fam)
			add_entry(fc, &s->v[i], slot);
	fc->slot_of[set] = slot;
	return slot;
}

static void collect(struct fieldc *fc)
{
	struct prefix root = { .fam = (uint8_t)fc->fam };
	size_t i;

	for (i = 0; i < fc->rs->nrules; i++) {
		const struct rule *r = &fc->rs->rules[i];
		const struct rfield *f = &r->f[fc->fld];
		int bit = r->bit[fc->fam], slot;

		if (bit < 0)
			continue;
		if (f->any) {
			vbit(&fc->wild, bit);
			continue;
		}
		vbit(f->neg ? &fc->neg : &fc->pos, bit);
		slot = set_slot(fc, f->set);
		vbit(&fc->m[slot], bit);
	}
	/* The /0 entry: a lookup never misses. */
	add_entry(fc, &root, -1);
}

static int cmp_centry(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	int r = prefix_cmp(&x->p, &y->p);

	return r ? r : x->slot - y->slot;
}

/* A rule accepts the prefix: any, or (some set prefix covers it) XOR !. */
static void node_vec(const struct fieldc *fc, struct frame *fr)
{
	int i;

	memset(&fr->vec, 0, sizeof(fr->vec));
	for (i = 0; i < fc->nwords; i++)
		fr->vec.w[i] = fc->wild.w[i] | (fr->cov.w[i] & fc->pos.w[i]) |
			       (fc->neg.w[i] & ~fr->cov.w[i]);
}

static void lpm_add(struct lpm *l, const struct prefix *p, uint32_t vec)
{
	l->e = bg_grow(l->e, &l->cap, l->n, sizeof(*l->e));
	l->e[l->n].p = *p;
	l->e[l->n].vec = vec;
	l->n++;
}

/*
 * Depth-first walk of the trie of stored prefixes: sorted by address then
 * length, a prefix comes right before everything under it, so a stack of
 * the open ancestors is the trie path. Each node's covering set is its
 * parent's plus the sets that name the node itself.
 */
static void walk(struct fieldc *fc, struct compiled *c, struct lpm *out)
{
	struct frame *st = xcalloc(MAX_DEPTH, sizeof(*st));
	size_t i = 0, j, k;
	int depth = 0;

	qsort(fc->e, fc->n, sizeof(*fc->e), cmp_centry);
	while (i < fc->n) {
		const struct prefix *p = &fc->e[i].p;
		struct frame *fr;

		while (depth > 0 && !prefix_contains(&st[depth - 1].p, p))
			depth--;
		fr = &st[depth];
		fr->p = *p;
		memset(&fr->cov, 0, sizeof(fr->cov));
		if (depth)
			fr->cov = st[depth - 1].cov;
		for (j = i; j < fc->n && !prefix_cmp(&fc->e[j].p, p); j++) {
			if (fc->e[j].slot < 0)
				continue;
			for (k = 0; k < (size_t)fc->nwords; k++)
				fr->cov.w[k] |= fc->m[fc->e[j].slot].w[k];
		}
		node_vec(fc, fr);
		/*
		 * Same vector as the nearest stored ancestor: the longest
		 * match may as well stop there.
		 */
		if (!depth ||
		    memcmp(&fr->vec, &st[depth - 1].vec, sizeof(fr->vec)))
			lpm_add(out, p, vec_intern(c, &fr->vec));
		depth++;
		i = j;
	}
	free(st);
}

static void compile_field(const struct ruleset *rs, struct compiled *c, int fld,
			  int fam)
{
	struct fieldc fc = { .rs = rs, .fld = fld, .fam = fam };
	struct lpm *out = &c->lpm[fld][fam];
	size_t i;

	fc.nwords = (int)c->nwords[fam];
	fc.slot_of = xcalloc(rs->nsets, sizeof(*fc.slot_of));
	for (i = 0; i < rs->nsets; i++)
		fc.slot_of[i] = -1;
	collect(&fc);
	walk(&fc, c, out);
	if (out->n > BG_FW_LPM_MAX / BG_GENS)
		bg_die_plain(
			"%s: too many %s %s prefixes after compilation: %zu (at most %d per generation)",
			rs->path, family_name(fam),
			fld == FLD_SRC ? "source" : "destination", out->n,
			BG_FW_LPM_MAX / BG_GENS);
	free(fc.slot_of);
	free(fc.m);
	free(fc.e);
}

static struct iface_ent *iface_get(struct compiled *c, unsigned int ifindex,
				   size_t *cap)
{
	size_t i;

	for (i = 0; i < c->nifaces; i++)
		if (c->ifaces[i].ifindex == ifindex)
			return &c->ifaces[i];
	c->ifaces = bg_grow(c->ifaces, cap, c->nifaces, sizeof(*c->ifaces));
	memset(&c->ifaces[c->nifaces], 0, sizeof(c->ifaces[0]));
	c->ifaces[c->nifaces].ifindex = ifindex;
	return &c->ifaces[c->nifaces++];
}

/*
 * Interface vectors: the rules without "on" plus those on that interface.
 * Rules on a missing interface are in no vector, so they match nothing.
 */
static void compile_ifaces(const struct ruleset *rs, struct compiled *c)
{
	struct bg_fw_vec other[BG_FAM_MAX], v;
	size_t i, j, cap = 0;
	int f;

	memset(other, 0, sizeof(other));
	for (i = 0; i < rs->nrules; i++)
		for (f = 0; f < BG_FAM_MAX; f++)
			if (rs->rules[i].bit[f] >= 0 && !rs->rules[i].iface[0])
				vbit(&other[f], rs->rules[i].bit[f]);
	for (f = 0; f < BG_FAM_MAX; f++)
		c->iface_other[f] = vec_intern(c, &other[f]);
	for (i = 0; i < rs->nrules; i++)
		if (rs->rules[i].ifindex)
			iface_get(c, rs->rules[i].ifindex, &cap);
	if (c->nifaces > BG_FW_IFACE_MAX / BG_GENS)
		bg_die_plain(
			"%s: too many interfaces: %zu (at most %d per generation)",
			rs->path, c->nifaces, BG_FW_IFACE_MAX / BG_GENS);
	for (j = 0; j < c->nifaces; j++) {
		for (f = 0; f < BG_FAM_MAX; f++) {
			v = other[f];
			for (i = 0; i < rs->nrules; i++) {
				const struct rule *r = &rs->rules[i];

				if (r->bit[f] >= 0 &&
				    r->ifindex == c->ifaces[j].ifindex)
					vbit(&v, r->bit[f]);
			}
			c->ifaces[j].vec[f] = vec_intern(c, &v);
		}
	}
}

/* The aligned port blocks (prefixes of the 16-bit port space) of a range. */
static void port_cover(struct fieldc *fc, const struct portrange *r, int slot)
{
	struct prefix p = { .fam = (uint8_t)fc->fam };
	uint32_t lo = r->lo;
	int k;

	while (lo <= r->hi) {
		for (k = 0; k < 16 && !(lo & (1U << k)) &&
			    lo + (2U << k) - 1 <= r->hi;)
			k++;
		p.addr[0] = (uint8_t)(lo >> 8);
		p.addr[1] = (uint8_t)lo;
		p.len = (uint8_t)(16 - k);
		add_entry(fc, &p, slot);
		lo += 1U << k;
	}
}

/*
 * Port tries: the same walk as addresses, each rule naming ports being a
 * set of its own (no negation). A rule without a port on the field is a
 * wildcard.
 */
static void compile_ports(const struct ruleset *rs, struct compiled *c, int fld,
			  int fam)
{
	struct fieldc fc = { .rs = rs, .fld = fld, .fam = fam };
	struct prefix root = { .fam = (uint8_t)fam };
	struct lpm *out = &c->ports[fld][fam];
	size_t i, j;
	int slot;

	fc.nwords = (int)c->nwords[fam];
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		const struct portlist *pl = &r->port[fld];
		int bit = r->bit[fam];

		if (bit < 0)
			continue;
		if (!pl->n) {
			vbit(&fc.wild, bit);
			continue;
		}
		vbit(&fc.pos, bit);
		fc.m = bg_grow(fc.m, &fc.mcap, fc.nm, sizeof(*fc.m));
		slot = (int)fc.nm++;
		memset(&fc.m[slot], 0, sizeof(fc.m[slot]));
		vbit(&fc.m[slot], bit);
		for (j = 0; j < pl->n; j++)
			port_cover(&fc, &pl->v[j], slot);
	}
	add_entry(&fc, &root, -1);
	walk(&fc, c, out);
	free(fc.m);
	free(fc.e);
}

/* Per family, the rules that a predicate accepts. */
static uint32_t rules_vec(const struct ruleset *rs, struct compiled *c, int fam,
			  int (*ok)(const struct rule *r, int arg), int arg)
{
	struct bg_fw_vec v;
	size_t i;

	memset(&v, 0, sizeof(v));
	for (i = 0; i < rs->nrules; i++)
		if (rs->rules[i].bit[fam] >= 0 && ok(&rs->rules[i], arg))
			vbit(&v, rs->rules[i].bit[fam]);
	return vec_intern(c, &v);
}

static int proto_ok(const struct rule *r, int proto)
{
	return r->proto == PROTO_ANY || r->proto == proto;
}

static int noport_ok(const struct rule *r, int arg)
{
	(void)arg;
	return !r->port[FLD_SRC].n && !r->port[FLD_DST].n;
}

static int state_ok(const struct rule *r, int class)
{
	return !r->states || (r->states & (1 << class));
}

/* BG_FW_SLOT_NONE: a packet without a TCP header matches no "flags" rule */
static int flags_ok(const struct rule *r, int v)
{
	if (!r->has_flags)
		return 1;
	return v != BG_FW_SLOT_NONE && (v & r->flags_mask) == r->flags_set;
}

static int icmp_type_ok(const struct rule *r, int v)
{
	return r->icmp_type < 0 || r->icmp_type == v;
}

static int icmp_code_ok(const struct rule *r, int v)
{
	return r->icmp_code < 0 || r->icmp_code == v;
}

static int dscp_ok(const struct rule *r, int v)
{
	return r->dscp < 0 || r->dscp == v;
}

/* -1: a VLAN id no rule names, or no tag at all */
static int vlan_ok(const struct rule *r, int vid)
{
	return r->vlan < 0 || r->vlan == vid;
}

static int named_has(const struct named_ent *v, size_t n, uint32_t key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].key == key)
			return 1;
	return 0;
}

/* The VLAN ids rules name: one vector pair each, the rest share one. */
static void compile_vlans(const struct ruleset *rs, struct compiled *c)
{
	size_t i, cap = 0;
	int f;

	for (f = 0; f < BG_FAM_MAX; f++)
		c->vlan_other[f] = rules_vec(rs, c, f, vlan_ok, -1);
	for (i = 0; i < rs->nrules; i++) {
		struct named_ent *e;
		int vid = rs->rules[i].vlan;

		if (vid < 0 || named_has(c->vlans, c->nvlans, (uint32_t)vid))
			continue;
		c->vlans = bg_grow(c->vlans, &cap, c->nvlans, sizeof(*e));
		e = &c->vlans[c->nvlans++];
		e->key = (uint32_t)vid;
		for (f = 0; f < BG_FAM_MAX; f++)
			e->vec[f] = rules_vec(rs, c, f, vlan_ok, vid);
	}
}

/* Per family, the rules whose MAC on @dir is absent or @mac. */
static uint32_t mac_vec(const struct ruleset *rs, struct compiled *c, int fam,
			int dir, const uint8_t *mac)
{
	struct bg_fw_vec v;
	size_t i;

	memset(&v, 0, sizeof(v));
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		if (r->bit[fam] < 0)
			continue;
		if (!r->has_mac[dir] || (mac && !memcmp(r->mac[dir], mac, 6)))
			vbit(&v, r->bit[fam]);
	}
	return vec_intern(c, &v);
}

static void compile_macs(const struct ruleset *rs, struct compiled *c, int dir)
{
	size_t i, j, cap = 0, acap = 0;
	int f;

	for (f = 0; f < BG_FAM_MAX; f++)
		c->mac_other[dir][f] = mac_vec(rs, c, f, dir, NULL);
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct named_ent *e;

		if (!r->has_mac[dir])
			continue;
		for (j = 0; j < c->nmacs[dir]; j++)
			if (!memcmp(c->mac_addrs[dir][j], r->mac[dir], 6))
				break;
		if (j < c->nmacs[dir])
			continue;
		c->macs[dir] = bg_grow(c->macs[dir], &cap, j, sizeof(*e));
		c->mac_addrs[dir] = bg_grow(c->mac_addrs[dir], &acap, j, 6);
		memcpy(c->mac_addrs[dir][j], r->mac[dir], 6);
		e = &c->macs[dir][j];
		e->key = (uint32_t)j;
		for (f = 0; f < BG_FAM_MAX; f++)
			e->vec[f] = mac_vec(rs, c, f, dir, r->mac[dir]);
		c->nmacs[dir]++;
	}
}

/* The header fields with one array slot per value (bg_fw_abi.h). */
static void compile_slots(const struct ruleset *rs, struct compiled *c)
{
	int f, i;

	for (f = 0; f < BG_FAM_MAX && rs->uses_flags; f++)
		for (i = 0; i < BG_FW_BYTE_SLOTS; i++)
			c->flags_vec[f][i] = rules_vec(rs, c, f, flags_ok, i);
	for (f = 0; f < BG_FAM_MAX && rs->uses_icmp; f++) {
		for (i = 0; i < BG_FW_BYTE_SLOTS; i++) {
			int v = i == BG_FW_SLOT_NONE ? -1 : i;

			c->icmp_vec[f][0][i] =
				rules_vec(rs, c, f, icmp_type_ok, v);
			c->icmp_vec[f][1][i] =
				rules_vec(rs, c, f, icmp_code_ok, v);
		}
	}
	for (f = 0; f < BG_FAM_MAX && rs->uses_dscp; f++)
		for (i = 0; i < BG_FW_DSCP_SLOTS; i++)
			c->dscp_vec[f][i] = rules_vec(rs, c, f, dscp_ok, i);
}

void compile(const struct ruleset *rs, struct compiled *c)
{
	int f, i;

	memset(c, 0, sizeof(*c));
	for (f = 0; f < BG_FAM_MAX; f++)
		c->nwords[f] = (uint32_t)(rs->nfam[f] + 63) / 64;
	for (f = 0; f < BG_FAM_MAX; f++) {
		compile_field(rs, c, FLD_SRC, f);
		compile_field(rs, c, FLD_DST, f);
	}
	for (f = 0; f < BG_FAM_MAX && rs->uses_ports; f++) {
		compile_ports(rs, c, FLD_SRC, f);
		compile_ports(rs, c, FLD_DST, f);
		c->noport[f] = rules_vec(rs, c, f, noport_ok, 0);
	}
	for (i = 0; i < FLD_MAX; i++) {
		size_t n = c->ports[i][0].n + c->ports[i][1].n;

		if (n > BG_FW_PORT_LPM_MAX / BG_GENS)
			bg_die_plain(
				"%s: too many %s port prefixes after compilation: %zu (at most %d per generation)",
				rs->path,
				i == FLD_SRC ? "source" : "destination", n,
				BG_FW_PORT_LPM_MAX / BG_GENS);
	}
	for (f = 0; f < BG_FAM_MAX && rs->uses_proto; f++)
		for (i = 0; i < BG_FW_PROTOS; i++)
			c->proto_vec[f][i] = rules_vec(rs, c, f, proto_ok, i);
	for (f = 0; f < BG_FAM_MAX && rs->uses_state; f++)
		for (i = 0; i < BG_CT_CLASSES; i++)
			c->state_vec[f][i] = rules_vec(rs, c, f, state_ok, i);
	compile_ifaces(rs, c);
	if (rs->uses_vlan)
		compile_vlans(rs, c);
	for (i = 0; i < BG_FW_MAC_DIRS; i++)
		if (rs->uses_mac & (1 << i))
			compile_macs(rs, c, i);
	compile_slots(rs, c);
	if (c->nvecs > BG_FW_VEC_PER_GEN)
		bg_die_plain(
			"%s: too many distinct rule vectors: %zu (at most %d per generation)",
			rs->path, c->nvecs, BG_FW_VEC_PER_GEN);
}
