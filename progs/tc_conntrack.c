// SPDX-License-Identifier: GPL-2.0
/*
 * tc_conntrack: connection tracking at TC ingress and egress.
 *
 * Every IPv4/IPv6 TCP, UDP and ICMP echo flow gets one entry in bg_ct4 or
 * bg_ct6 (key in normal form with the VLAN ids, see bg_abi.h), with a TCP
 * state machine, per-direction counters, timeouts close to Linux's
 * nf_conntrack, and the interfaces each direction is expected on. A packet
 * is tracked once: at ingress always, at egress only if it did not come in
 * through an interface bpfguard runs on (bg_ct_ifidx). ICMP errors quoting
 * a tracked flow are RELATED. The programs never decide anything: they
 * always return TC_ACT_UNSPEC.
 *
 * Expired entries are absent to every reader; a bpf_timer sweeps them out
 * a bounded slice at a time, walking a ring that holds every flow's key
 * (bpf_for_each_map_elem cannot resume in the middle of a table, and
 * starting over costs a walk of the whole table per slice). The tc/sweep
 * program runs a whole pass on demand and flushes flows for conntrack.sh
 * (through BPF_PROG_TEST_RUN).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include "bg_abi.h"
#include "bg_common.h"
#include "bg_parse.h"
#include "bg_ct.h"
#include "bg_common_maps.h"
#include "bg_ct_table.h"
#include "bg_xdp_meta.h"
#include "bg_fw_limit_maps.h"
#include "bg_ct_ifidx_map.h"
#include "bg_frag.h"

#define BG_CT_SRC_MAX (2 * BG_CT_TABLE_MAX)
#define CLOCK_MONOTONIC 1

/* Sweep: a tick every second, every 100 ms while expired flows wait. */
#define BG_CT_SWEEP_NS (1000ULL * 1000 * 1000)
#define BG_CT_SWEEP_FAST_NS (100ULL * 1000 * 1000)
/* What a tick may do, the bound of its work in softirq: look at this many
 * ring slots, and delete at most this many expired flows. */
#define BG_CT_SWEEP_SLOTS 8192
#define BG_CT_SWEEP_DELETE 1024
/* Ring slots: one per flow either table can hold. */
#define BG_CT_RING_SIZE (2 * (BG_CT_TABLE_MAX + BG_CT_LRU_SLACK))
/* bg_ct_slot.flow_id of a slot being written. */
#define BG_CT_SLOT_BUSY (~0ULL)
/* A flow refused at the limit brings the next tick forward, at most this
 * often. */
#define BG_CT_KICK_NS (100ULL * 1000 * 1000)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BG_CT_STAT_MAX);
	BG_PINNED;
} bg_ct_stats SEC(".maps");

/* Flows per family (struct bg_ct_count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_count);
	__uint(max_entries, BG_FAM_MAX);
	BG_PINNED;
} bg_ct_live SEC(".maps");

/* Flows each source initiated and that are still live. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __be32);
	__type(value, __u64);
	__uint(max_entries, BG_CT_SRC_MAX);
	BG_PINNED;
} bg_ct_src4 SEC(".maps");

struct bg_ct_addr6 {
	__be32 a[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct_addr6);
	__type(value, __u64);
	__uint(max_entries, BG_CT_SRC_MAX);
	BG_PINNED;
} bg_ct_src6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bg_ct_local_key);
	__type(value, __u32);
	__uint(max_entries, BG_CT_LOCAL_MAX);
	BG_PINNED;
} bg_ct_local SEC(".maps");

/* The sweep: its timer, the ring's head, and where the current pass is. */
struct bg_ct_sweep_state {
	struct bpf_timer timer;
	__u64 armed; /* 1 once bpf_timer_init succeeded */
	__u64 runs; /* ticks the timer ran */
	__u64 kick_ns; /* when a refused flow last brought a tick forward */
	__u64 ring_head; /* slots handed out so far (next: head % size) */
	__u32 cursor; /* the next ring slot the sweep looks at */
	__u32 flush_pending; /* 1: an "overload ... flush" waits for a walk */
	__u64 pass_inserted[BG_FAM_MAX]; /* bg_ct_count at the pass start */
	__u64 pass_deleted[BG_FAM_MAX];
	__u64 pass_seen[BG_FAM_MAX]; /* entries found alive in the pass */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_sweep_state);
	__uint(max_entries, 1);
	BG_PINNED;
} bg_ct_timer SEC(".maps");

/*
 * The sweep's ring: the key of every flow, in a slot claimed when the flow
 * is created (at the ring's head, or the next slots if those still hold a
 * live flow). A tick looks at the next BG_CT_SWEEP_SLOTS slots: its work
 * is bounded whatever the size of the tables, and a pass is the ring.
 */
struct bg_ct_slot {
	__u64 flow_id; /* 0: free; BG_CT_SLOT_BUSY: being written */
	union bg_ct_key key;
	__u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_slot);
	__uint(max_entries, BG_CT_RING_SIZE);
	BG_PINNED;
} bg_ct_ring SEC(".maps");

/*
 * Per-CPU room for the entry being worked on: the 6.1 verifier allows 512
 * bytes of stack across the chain of calls (program, bg_ct_track_pkt,
 * bpf_loop callback), and an entry is 136 of them. TC runs with bottom
 * halves off, so no other run of ours can use a CPU's slot meanwhile.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_entry);
	__uint(max_entries, 1);
} bg_ct_scratch SEC(".maps");

/* Per-CPU flow id counter (the CPU id goes in the top byte). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} bg_ct_ids SEC(".maps");

#ifdef BG_CT_TEST_SLOW
/* Test builds only: a critical section some microseconds long, so that
 * the race test makes two CPUs meet in it (bg_ct_update, bg_ct_src_add_at). */
static long bg_ct_slow_cb(__u32 i, void *ctx)
{
	return 0;
}
#endif

#define bg_ct_stat_add(idx, n) bg_stat_add(&bg_ct_stats, idx, n)

static __always_inline struct bg_ct_count *bg_ct_live_of(__u32 fam)
{
	fam &= 1;
	return bpf_map_lookup_elem(&bg_ct_live, &fam);
}

/* Live flows of a family: never below zero, even with updates in flight. */
static __always_inline __u64 bg_ct_live_get(__u32 fam)
{
	struct bg_ct_count *c = bg_ct_live_of(fam);
	__s64 n;

	if (!c)
		return 0;
	n = (__s64)(c->inserted - c->deleted - c->evicted);
	return n > 0 ? n : 0;
}

static __always_inline void bg_ct_live_inserted(__u32 fam)
{
	struct bg_ct_count *c = bg_ct_live_of(fam);

	if (c)
		__sync_fetch_and_add(&c->inserted, 1);
}

static __always_inline void bg_ct_live_deleted(__u32 fam)
{
	struct bg_ct_count *c = bg_ct_live_of(fam);

	if (c)
		__sync_fetch_and_add(&c->deleted, 1);
}

static __always_inline __u64 bg_ct_next_flow_id(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&bg_ct_ids, &zero);
	__u64 cpu = bpf_get_smp_processor_id() & 0xff;

	if (!v)
		return 0;
	*v += 1;
	return (cpu << 56) | (*v & 0x00ffffffffffffffULL);
}

/*
 * One less flow of a source or a rule: one atomic step, which never gives
 * up (a compare-and-swap tried a bounded number of times could, under
 * contention, and leave the count one high for good: a flood at a
 * max-states limit would then ratchet the rule shut). Every decrement
 * pairs with an increment of the same epoch; one that found 0 all the
 * same is undone rather than left as a wrap.
 */
static __always_inline void bg_ct_src_dec(__u64 *v)
{
	if (__sync_fetch_and_add(v, -1) == 0)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void bg_ct_src_add_at(void *map, const void *addr,
					     int up)
{
	__u64 *v = bpf_map_lookup_elem(map, addr), one = 1;

	if (!v && up) {
#ifdef BG_CT_TEST_SLOW
		bpf_loop(2000, bg_ct_slow_cb, NULL, 0);
#endif
		if (!bpf_map_update_elem(map, addr, &one, BPF_NOEXIST))
			return;
#ifdef BG_CT_TEST_NOLOCK
		return; /* the race test's control: the count is lost */
#endif
		/* Another CPU created it first: count on its entry. */
		v = bpf_map_lookup_elem(map, addr);
	}
	if (!v)
		return;
	if (up)
		__sync_fetch_and_add(v, 1);
	else
		bg_ct_src_dec(v);
}

/* Per-source counter of the initiator of key k (family fam). */
static __always_inline void bg_ct_src_add(__u8 fam, const union bg_ct_key *k,
					  __u8 eflags, int up)
{
	__u32 side = (eflags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;

	if (fam == BG_FAM_INET) {
		__be32 a = BG_IDX(k->k4.addr, side);

		bg_ct_src_add_at(&bg_ct_src4, &a, up);
	} else {
		struct bg_ct_addr6 a;

		__builtin_memcpy(a.a, side ? k->k6.addr[1] : k->k6.addr[0], 16);
		bg_ct_src_add_at(&bg_ct_src6, &a, up);
	}
}

struct bpf_map;

struct sweep_ctx {
	__u64 now;
	__u32 timeout[BG_CTT_MAX];
	__u32 deleted;
	__u32 pad;
	__u64 seen;
};

/* A flush's walk: every flow, or those with addr on either side. Small:
 * the sweep's tick has one on its stack. */
struct flush_ctx {
	__be32 addr[4];
	__u32 any;
	__u32 deleted;
};

/* ------------------------------------------------ connection limits */

/*
 * The firewall's per-rule connection limits (bg_fw_abi.h), kept here
 * because conntrack sees a flow being created and its handshake complete.
 * A rule's max-states counts the flows it admitted, from their creation
 * until they close or go; max-src-conn and max-src-conn-rate count a
 * source's connections when their handshake completes (as pf does: a
 * spoofed SYN cannot complete one, so it cannot get a third party
 * overloaded), and a source over either goes into the rule's overload
 * table, which phase 0 of the firewall checks.
 */

/* The active generation; *epoch: the running ruleset's epoch (the
 * switches so far), which a generation's reuse does not repeat. */
static __always_inline __u32 bg_ct_active_gen(__u32 *epoch)
{
	__u32 zero = 0;
	struct bg_fw_active *act = bpf_map_lookup_elem(&bg_fw_active, &zero);

	*epoch = act ? act->switches : 0;
	return act ? act->gen & 1 : 0;
}

/* Room for the limits' keys and values off the stack (see bg_ct_scratch). */
struct bg_ct_lim_scratch {
	struct bg_fw_srclim_key sk;
	struct bg_fw_srclim zero;
	struct bg_fw_overload_key ok;
	struct bg_fw_overload o;
	/* A flow whose handshake this packet completed, to count for its
	 * source (bg_ct_limit_check); check = 1 while it waits. */
	__u32 check;
	__u32 check_family;
	__u64 check_flow_id;
	union bg_ct_key check_key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bg_ct_lim_scratch);
	__uint(max_entries, 1);
} bg_ct_lscratch SEC(".maps");

static __always_inline struct bg_fw_limit *bg_ct_limit_of(__u32 gen, __u32 rule)
{
	struct bg_fw_rinfo_key k = { .gen = gen & 1, .id = rule };

	return bpf_map_lookup_elem(&bg_fw_limits, &k);
}

static __always_inline __u64 *bg_ct_rstates_of(__u32 gen, __u32 rule)
{
	__u32 idx;

	if (rule > BG_FW_MAX_IDS)
		return NULL;
	idx = (gen & 1) * BG_FW_HITS_PER_GEN + rule;
	return bpf_map_lookup_elem(&bg_fw_rstates, &idx);
}

/* The initiator's address: the source whose limits the flow counts in. */
static __always_inline void bg_ct_origin_addr(__u8 fam,
					      const union bg_ct_key *k,
					      __u8 eflags, __be32 addr[4])
{
	__u32 side = (eflags & BG_CTF_ORIGIN_SIDE1) ? 1 : 0;

	addr[1] = addr[2] = addr[3] = 0;
	if (fam == BG_FAM_INET)
		addr[0] = BG_IDX(k->k4.addr, side);
	else
		__builtin_memcpy(addr, side ? k->k6.addr[1] : k->k6.addr[0],
				 16);
}

static __always_inline void bg_ct_srclim_key(struct bg_fw_srclim_key *sk,
					     __u8 fam, const union bg_ct_key *k,
					     const struct bg_ct_entry *e)
{
	sk->epoch = e->limit_epoch;
	sk->rule_id = e->rule_id;
	sk->family = fam;
	bg_ct_origin_addr(fam, k, e->flags, sk->addr);
	bg_fw_limit_src(sk->addr, fam);
}

/* The flow leaves its rule's and its source's counts. */
static __always_inline void
bg_ct_limit_uncount(__u8 fam, const union bg_ct_key *k, struct bg_ct_entry *e)
{
	struct bg_fw_srclim_key sk;
	struct bg_fw_srclim *s;
	__u32 epoch;
	__u64 *n;

	/* A generation's max-states counts start from zero when a ruleset
	 * is loaded into it: only the running ruleset's flows give back. */
	bg_ct_active_gen(&epoch);
	if ((e->limit_flags & BG_CT_LF_STATES) && epoch == e->limit_epoch) {
		n = bg_ct_rstates_of(e->limit_gen, e->rule_id);
		if (n)
			bg_ct_src_dec(n);
	}
	if (e->limit_flags & BG_CT_LF_CONN) {
		bg_ct_srclim_key(&sk, fam, k, e);
		s = bpf_map_lookup_elem(&bg_fw_srclim, &sk);
		if (s)
			bg_ct_src_dec(&s->conns);
	}
	e->limit_flags &= ~(BG_CT_LF_STATES | BG_CT_LF_CONN);
}

/*
 * A flow about to be created by the packet whose XDP metadata is m:
 * 0, or -1 when its rule's max-states is reached (the packet is dropped).
 */
static __always_inline int bg_ct_limit_new(struct bg_ct_entry *ne,
					   const struct bg_xdp_meta *m)
{
	struct bg_fw_limit *l;
	__u32 gen, epoch;
	__u64 *n;

	if (!(m->flags & BG_META_F_LIMIT) || !ne->rule_id)
		return 0;
	gen = bg_ct_active_gen(&epoch);
	l = bg_ct_limit_of(gen, ne->rule_id);
	if (!l)
		return 0;
	ne->limit_flags = BG_CT_LF_RULE;
	ne->limit_gen = gen;
	ne->limit_epoch = epoch;
	if (!l->max_states)
		return 0;
	n = bg_ct_rstates_of(gen, ne->rule_id);
	if (!n)
		return 0;
	/* Exact under races: whoever takes a count beyond the limit gives
	 * it back. */
	if (__sync_fetch_and_add(n, 1) >= l->max_states) {
		bg_ct_src_dec(n);
		bg_ct_stat_add(BG_CT_STAT_LIMIT_STATES, 1);
		return -1;
	}
	ne->limit_flags |= BG_CT_LF_STATES;
	return 0;
}

/* Sliding window: this window's count plus the share of the last one
 * that still overlaps it (pf's max-src-conn-rate is a moving average). */
static __always_inline __u64 bg_ct_rate(struct bg_fw_srclim *s,
					const struct bg_fw_limit *l, __u64 now)
{
	__u64 win = (__u64)l->rate_secs * 1000000000ULL, start, el;
	__u32 n;

	if (!win)
		return 0;
	start = bg_read_once(s->win_start_ns);
	if (now - start >= 2 * win) {
		s->prev_count = 0;
		s->win_count = 0;
		s->win_start_ns = now;
	} else if (now - start >= win) {
		s->prev_count = s->win_count;
		s->win_count = 0;
		s->win_start_ns = start + win;
	}
	n = __sync_fetch_and_add(&s->win_count, 1) + 1;
	el = now - bg_read_once(s->win_start_ns);
	if (el > win)
		el = win;
	return n + (__u64)bg_read_once(s->prev_count) * (win - el) / win;
}

static __always_inline __u64 bg_ct_overload_secs(struct bg_ct_config *cfg)
{
	__u32 t = cfg ? cfg->timeout[BG_CTT_OVERLOAD] : 0;

	return t ? t : bg_ct_default_timeout(BG_CTT_OVERLOAD);
}

/*
 * Put the source in the rule's overload table, and have its flows
 * flushed: by the sweep's timer (bg_ct_overload_flush), in one walk of
 * the tables for every source overloaded since the last one. Not
 * inlined, as bg_ct_limit_established, and with its structs in a scratch
 * map: every packet's stack frame would otherwise grow past the 512
 * bytes BPF allows.
 */
static __noinline void bg_ct_overload(__u32 fam, const __be32 *addr,
				      const struct bg_fw_limit *l, __u32 rule,
				      __u32 reason)
{
	struct bg_ct_config *cfg = bg_ct_cfg();
	struct bg_ct_lim_scratch *x;
	struct bg_ct_sweep_state *t;
	struct bg_fw_overload *o;
	__u32 zero = 0;

	x = bpf_map_lookup_elem(&bg_ct_lscratch, &zero);
	if (!x || !addr || !l)
		return;
	__builtin_memset(&x->o, 0, sizeof(x->o));
	bg_fw_overload_key_of(&x->ok, fam, addr);
	x->o.since_ns = bg_ct_now();
	x->o.expires_ns =
		x->o.since_ns + bg_ct_overload_secs(cfg) * 1000000000ULL;
	x->o.rule_id = rule;
	x->o.reason = reason;
	x->o.flush = l->flush;
	__builtin_memcpy(x->o.table, l->table, sizeof(x->o.table));
	/* A source another rule overloaded meanwhile (another CPU): its
	 * flush stands, whichever rule wrote last. */
	o = bpf_map_lookup_elem(&bg_fw_overload, &x->ok);
	if (o && o->flush && bg_read_once(o->expires_ns) > x->o.since_ns)
		x->o.flush = 1;
	bpf_map_update_elem(&bg_fw_overload, &x->ok, &x->o, BPF_ANY);
	bg_ct_stat_add(BG_CT_STAT_OVERLOADED, 1);
	t = bpf_map_lookup_elem(&bg_ct_timer, &zero);
	if (l->flush && t)
		t->flush_pending = 1;
}

/* An entry (held locked, or a copy) leaves the live set of its source. */
static __always_inline void bg_ct_uncount(__u8 fam, const union bg_ct_key *k,
					  struct bg_ct_entry *e)
{
	if (e->flags & BG_CTF_COUNTED) {
		e->flags &= ~BG_CTF_COUNTED;
		bg_ct_src_add(fam, k, e->flags, 0);
	}
	if (e->limit_flags & (BG_CT_LF_STATES | BG_CT_LF_CONN))
		bg_ct_limit_uncount(fam, k, e);
}

/* ----------------------------------------------------------- sweep */

/* An entry with no ring slot leaves the live set: one less unswept. */
static __always_inline void bg_ct_unswept_gone(__u32 fam,
					       const struct bg_ct_entry *e)
{
	struct bg_ct_count *c;

	if (!(e->flags & BG_CTF_UNSWEPT))
		return;
	c = bg_ct_live_of(fam);
	if (c)
		__sync_fetch_and_add(&c->unswept, -1);
}

/*
 * Delete an entry the caller holds locked (a writer holding it would
 * update a freed entry); 0 when deleted, else it is unlocked again.
 */
static __always_inline int bg_ct_sweep_delete(struct bpf_map *map,
					      const void *key,
					      struct bg_ct_entry *e, __u32 fam,
					      __u32 held)
{
	union bg_ct_key k;

	if (fam == BG_FAM_INET)
		__builtin_memcpy(&k.k4, key, sizeof(k.k4));
	else
		__builtin_memcpy(&k.k6, key, sizeof(k.k6));
	bg_ct_uncount(fam, &k, e);
	if (bpf_map_delete_elem(map, key)) {
		bg_ct_unlock(e, held);
		return -1;
	}
	bg_ct_live_deleted(fam);
	bg_ct_unswept_gone(fam, e);
	return 0;
}

/* Lock an expired entry for deletion: the lock value held (see
 * bg_ct_lock), 0 when it is not expired or is busy. */
static __always_inline __u32 bg_ct_lock_expired(struct bg_ct_entry *e,
						const __u32 *timeout, __u64 now)
{
	__u32 held;

	if (!bg_ct_expired(timeout, e, now))
		return 0;
	/* Busy: a writer is on it right now; the next pass sees it. */
	held = bg_ct_trylock(e);
	if (!held) {
		bg_ct_stat_add(BG_CT_STAT_LOCK_BUSY, 1);
		return 0;
	}
	if (!bg_ct_expired(timeout, e, now)) {
		bg_ct_unlock(e, held);
		return 0;
	}
	return held;
}

/* A whole pass (tc/sweep): every expired entry goes. */
static __always_inline long bg_ct_expire_one(struct bpf_map *map,
					     const void *key,
					     struct bg_ct_entry *e,
					     struct sweep_ctx *c, __u32 fam)
{
	__u32 held = bg_ct_lock_expired(e, c->timeout, c->now);

	if (!held || bg_ct_sweep_delete(map, key, e, fam, held)) {
		c->seen++;
		return 0;
	}
	c->deleted++;
	bg_ct_stat_add(BG_CT_STAT_EXPIRED, 1);
	return 0;
}

static long bg_ct_expire4(struct bpf_map *map, const void *key, void *val,
			  void *ctx)
{
	return bg_ct_expire_one(map, key, val, ctx, BG_FAM_INET);
}

static long bg_ct_expire6(struct bpf_map *map, const void *key, void *val,
			  void *ctx)
{
	return bg_ct_expire_one(map, key, val, ctx, BG_FAM_INET6);
}

/* Does a flush select this key (every flow, or addr on either side)? */
static __always_inline int bg_ct_flush_match(const struct flush_ctx *c,
					     const void *key, __u32 fam)
{
	if (c->any)
		return 1;
	if (fam == BG_FAM_INET) {
		const struct bg_ct4_key *k = key;

		return k->addr[0] == c->addr[0] || k->addr[1] == c->addr[0];
	} else {
		const struct bg_ct6_key *k = key;
		const __be32 *a = c->addr;

		return (k->addr[0][0] == a[0] && k->addr[0][1] == a[1] &&
			k->addr[0][2] == a[2] && k->addr[0][3] == a[3]) ||
		       (k->addr[1][0] == a[0] && k->addr[1][1] == a[1] &&
			k->addr[1][2] == a[2] && k->addr[1][3] == a[3]);
	}
}

static __always_inline long bg_ct_flush_one(struct bpf_map *map,
					    const void *key,
					    struct bg_ct_entry *e,
					    struct flush_ctx *c, __u32 fam)
{
	__u32 held;

	if (!bg_ct_flush_match(c, key, fam))
		return 0;
	held = bg_ct_trylock(e);
	if (!held) {
		bg_ct_stat_add(BG_CT_STAT_LOCK_BUSY, 1);
		return 0;
	}
	if (!bg_ct_sweep_delete(map, key, e, fam, held))
		c->deleted++;
	return 0;
}

static long bg_ct_flush4(struct bpf_map *map, const void *key, void *val,
			 void *ctx)
{
	return bg_ct_flush_one(map, key, val, ctx, BG_FAM_INET);
}

static long bg_ct_flush6(struct bpf_map *map, const void *key, void *val,
			 void *ctx)
{
	return bg_ct_flush_one(map, key, val, ctx, BG_FAM_INET6);
}

/* Is addr in an overload table that flushes, and not yet let in again? */
static __always_inline int bg_ct_ovl_flushes(__u32 fam, const __be32 *addr,
					     __u64 now)
{
	struct bg_fw_overload_key ok;
	struct bg_fw_overload *o;

	bg_fw_overload_key_of(&ok, fam, addr);
	o = bpf_map_lookup_elem(&bg_fw_overload, &ok);
	return o && o->flush && bg_read_once(o->expires_ns) > now;
}

/*
 * The overload flush's walk: the flows an overloaded source opened go, as
 * pf's "flush" kills the states originating from it. Never the flows
 * opened leaving this host (BG_CTF_EGRESS): an overloaded IPv6 /64 may
 * hold this host's own address, and a flush by address alone would then
 * take every flow the host has.
 */
static __always_inline long bg_ct_ovl_flush_one(struct bpf_map *map,
						const void *key,
						struct bg_ct_entry *e,
						struct sweep_ctx *c, __u32 fam)
{
	__u8 flags = bg_read_once(e->flags);
	__be32 origin[4];
	__u32 held;

	if (flags & BG_CTF_EGRESS)
		return 0;
	bg_ct_origin_addr(fam, key, flags, origin);
	if (!bg_ct_ovl_flushes(fam, origin, c->now))
		return 0;
	held = bg_ct_trylock(e);
	if (!held) {
		bg_ct_stat_add(BG_CT_STAT_LOCK_BUSY, 1);
		return 0;
	}
	if (!bg_ct_sweep_delete(map, key, e, fam, held))
		c->deleted++;
	return 0;
}

static long bg_ct_ovl_flush4(struct bpf_map *map, const void *key, void *val,
			     void *ctx)
{
	return bg_ct_ovl_flush_one(map, key, val, ctx, BG_FAM_INET);
}

static long bg_ct_ovl_flush6(struct bpf_map *map, const void *key, void *val,
			     void *ctx)
{
	return bg_ct_ovl_flush_one(map, key, val, ctx, BG_FAM_INET6);
}

/*
 * The end of a pass over a family: whatever the live count holds beyond
 * what the pass can account for was lost behind conntrack's back (an LRU
 * eviction, an entry deleted from userspace). Flows created or deleted
 * during the pass may or may not have been seen, and flows without a ring
 * slot are never seen by the ring, so all of them are given the benefit of
 * the doubt: the correction is a lower bound, exact on a quiet table, and
 * never makes the count too small. ins0/del0: the counts when the pass
 * began.
 */
static __always_inline void bg_ct_sweep_reconcile(__u32 fam, __u64 seen,
						  __u64 ins0, __u64 del0)
{
	struct bg_ct_count *c = bg_ct_live_of(fam);
	__u64 ins, del, live, slack;

	if (!c)
		return;
	ins = c->inserted;
	del = c->deleted;
	live = ins - del - c->evicted;
	slack = seen + (ins - ins0) + (del - del0) + c->unswept;
	if ((__s64)live > 0 && live > slack) {
		__sync_fetch_and_add(&c->evicted, live - slack);
		bg_ct_stat_add(BG_CT_STAT_EVICTED, live - slack);
	}
}

/* A whole pass over a family now (tests, tools). */
static __always_inline void bg_ct_sweep_full(struct sweep_ctx *c, __u32 fam)
{
	struct bg_ct_count *cnt = bg_ct_live_of(fam);
	__u64 ins0 = cnt ? cnt->inserted : 0, del0 = cnt ? cnt->deleted : 0;

	c->deleted = 0;
	c->seen = 0;
	if (fam == BG_FAM_INET)
		bpf_for_each_map_elem(&bg_ct4, bg_ct_expire4, c, 0);
	else
		bpf_for_each_map_elem(&bg_ct6, bg_ct_expire6, c, 0);
	bg_ct_sweep_reconcile(fam, c->seen, ins0, del0);
}

static __always_inline void bg_ct_sweep_init(struct sweep_ctx *c)
{
	struct bg_ct_config *cfg = bg_ct_cfg();
	__u32 i;

	c->now = bg_ct_now();
	if (cfg) {
#pragma unroll
		for (i = 0; i < BG_CTT_MAX; i++)
			c->timeout[i] = cfg->timeout[i];
	}
}

/* ------------------------------------------------------------- ring */

static __always_inline struct bg_ct_entry *
bg_ct_slot_entry(struct bg_ct_slot *s)
{
	if (s->family == BG_FAM_INET)
		return bpf_map_lookup_elem(&bg_ct4, &s->key.k4);
	return bpf_map_lookup_elem(&bg_ct6, &s->key.k6);
}

/* Does the slot still hold the live flow it was claimed for? */
static __always_inline int bg_ct_slot_live(struct bg_ct_slot *s, __u64 fid)
{
	struct bg_ct_entry *e = bg_ct_slot_entry(s);

	return e && e->flow_id == fid;
}

struct ring_claim_ctx {
	struct bg_ct_sweep_state *st;
	union bg_ct_key *key;
	__u64 fid;
	__u32 family;
	__s32 slot;
};

/* One try at the ring's head: take the slot unless a live flow holds it. */
static long bg_ct_ring_claim_cb(__u32 i, void *vctx)
{
	struct ring_claim_ctx *x = vctx;
	__u32 idx =
		__sync_fetch_and_add(&x->st->ring_head, 1) % BG_CT_RING_SIZE;
	struct bg_ct_slot *s = bpf_map_lookup_elem(&bg_ct_ring, &idx);
	__u64 old;

	if (!s)
		return 0;
	old = bg_read_once(s->flow_id);
	if (old == BG_CT_SLOT_BUSY || (old && bg_ct_slot_live(s, old)))
		return 0;
	if (__sync_val_compare_and_swap(&s->flow_id, old, BG_CT_SLOT_BUSY) !=
	    old)
		return 0;
	/* Written while BUSY: the sweep leaves a BUSY slot alone. */
	s->family = x->family;
	if (x->family == BG_FAM_INET)
		__builtin_memcpy(&s->key.k4, &x->key->k4, sizeof(s->key.k4));
	else
		__builtin_memcpy(&s->key.k6, &x->key->k6, sizeof(s->key.k6));
	__sync_val_compare_and_swap(&s->flow_id, BG_CT_SLOT_BUSY, x->fid);
	x->slot = idx;
	return 1;
}

/* A ring slot for a new flow; -1 when four tries found none free. */
static __always_inline __s32 bg_ct_ring_claim(__u32 fam, union bg_ct_key *k,
					      __u64 fid)
{
	__u32 zero = 0;
	struct ring_claim_ctx x = {
		.key = k, .fid = fid, .family = fam, .slot = -1
	};

	x.st = bpf_map_lookup_elem(&bg_ct_timer, &zero);
	if (!x.st)
		return -1;
	bpf_loop(4, bg_ct_ring_claim_cb, &x, 0);
	return x.slot;
}

/* Give a slot back (the flow it was claimed for was never made). */
static __always_inline void bg_ct_ring_release(__s32 slot, __u64 fid)
{
	__u32 idx = slot;
	struct bg_ct_slot *s = bpf_map_lookup_elem(&bg_ct_ring, &idx);

	if (s)
		__sync_val_compare_and_swap(&s->flow_id, fid, 0);
}

struct ring_ctx {
	__u64 now;
	__u32 timeout[BG_CTT_MAX];
	__u32 start; /* the first slot of this tick */
	__u32 visited; /* slots looked at */
	__u32 deleted;
	__u32 max_delete;
	__u32 stopped; /* the delete budget ran out */
	__u32 pad;
	__u64 seen[BG_FAM_MAX]; /* live flows found */
};

/* One ring slot: free it if its flow is gone, delete the flow if expired. */
static long bg_ct_ring_cb(__u32 i, void *vctx)
{
	struct ring_ctx *c = vctx;
	__u32 idx = (c->start + i) % BG_CT_RING_SIZE, fam;
	struct bg_ct_slot *s = bpf_map_lookup_elem(&bg_ct_ring, &idx);
	struct bg_ct_entry *e;
	__u32 held;
	int err;
	__u64 fid;

	c->visited = i + 1;
	if (!s)
		return 0;
	fid = bg_read_once(s->flow_id);
	if (!fid || fid == BG_CT_SLOT_BUSY)
		return 0;
	fam = s->family & 1;
	e = bg_ct_slot_entry(s);
	if (!e || e->flow_id != fid) {
		/* Its flow was deleted (maybe the key reused since). */
		__sync_val_compare_and_swap(&s->flow_id, fid, 0);
		return 0;
	}
	if (bg_ct_expired(c->timeout, e, c->now) &&
	    c->deleted >= c->max_delete) {
		/* This slot first, next tick. */
		c->visited = i;
		c->stopped = 1;
		return 1;
	}
	held = bg_ct_lock_expired(e, c->timeout, c->now);
	if (!held) {
		BG_IDX(c->seen, fam)++;
		return 0;
	}
	if (fam == BG_FAM_INET)
		err = bg_ct_sweep_delete((struct bpf_map *)&bg_ct4, &s->key.k4,
					 e, BG_FAM_INET, held);
	else
		err = bg_ct_sweep_delete((struct bpf_map *)&bg_ct6, &s->key.k6,
					 e, BG_FAM_INET6, held);
	if (err) {
		BG_IDX(c->seen, fam)++;
		return 0;
	}
	__sync_val_compare_and_swap(&s->flow_id, fid, 0);
	c->deleted++;
	bg_ct_stat_add(BG_CT_STAT_EXPIRED, 1);
	return 0;
}

/*
 * One tick: the next BG_CT_SWEEP_SLOTS slots of the ring, at most
 * BG_CT_SWEEP_DELETE deletions. At the end of the ring a pass ends and the
 * live counts are reconciled. Returns 1 when expired flows were left for
 * the next tick.
 */
static __always_inline int bg_ct_sweep_tick(struct bg_ct_sweep_state *st)
{
	struct bg_ct_config *cfg = bg_ct_cfg();
	struct ring_ctx c = {};
	struct bg_ct_count *cnt;
	__u32 i, next, fam;

	c.now = bg_ct_now();
	if (cfg) {
#pragma unroll
		for (i = 0; i < BG_CTT_MAX; i++)
			c.timeout[i] = cfg->timeout[i];
	}
	c.start = st->cursor % BG_CT_RING_SIZE;
	c.max_delete = bg_opaque(BG_CT_SWEEP_DELETE);
	bpf_loop(BG_CT_SWEEP_SLOTS, bg_ct_ring_cb, &c, 0);
	st->pass_seen[0] += c.seen[0];
	st->pass_seen[1] += c.seen[1];
	next = c.start + c.visited;
	if (next >= BG_CT_RING_SIZE) {
#pragma unroll
		for (fam = 0; fam < BG_FAM_MAX; fam++) {
			bg_ct_sweep_reconcile(fam, st->pass_seen[fam],
					      st->pass_inserted[fam],
					      st->pass_deleted[fam]);
			cnt = bg_ct_live_of(fam);
			if (cnt) {
				st->pass_inserted[fam] = cnt->inserted;
				st->pass_deleted[fam] = cnt->deleted;
			}
			st->pass_seen[fam] = 0;
		}
		next -= BG_CT_RING_SIZE;
	}
	st->cursor = next;
	bg_ct_stat_add(BG_CT_STAT_SWEEPS, 1);
	return c.stopped;
}

/*
 * The flush of every source "overload ... flush" put in an overload table
 * since the last one: one walk of both tables, however many sources (a
 * burst of overloads costs one walk, not one each). Run by the timer,
 * which a request brings forward at most every BG_CT_KICK_NS.
 */
static __noinline void bg_ct_overload_flush(struct bg_ct_sweep_state *t)
{
	struct sweep_ctx c = {};

	if (!t || !bg_read_once(t->flush_pending) ||
	    __sync_val_compare_and_swap(&t->flush_pending, 1, 0) != 1)
		return;
	c.now = bg_ct_now();
	bpf_for_each_map_elem(&bg_ct4, bg_ct_ovl_flush4, &c, 0);
	bg_compiler_barrier();
	bpf_for_each_map_elem(&bg_ct6, bg_ct_ovl_flush6, &c, 0);
	bg_ct_stat_add(BG_CT_STAT_OVERLOAD_FLUSH, 1);
}

static int bg_ct_timer_cb(void *map, int *key, struct bg_ct_sweep_state *t)
{
	int more;

	bg_ct_overload_flush(t);
	more = bg_ct_sweep_tick(t);

	t->runs++;
	bpf_timer_start(&t->timer, more ? BG_CT_SWEEP_FAST_NS : BG_CT_SWEEP_NS,
			0);
	return 0;
}

static __always_inline void bg_ct_arm_timer(void)
{
	__u32 zero = 0;
	struct bg_ct_sweep_state *t = bpf_map_lookup_elem(&bg_ct_timer, &zero);

	if (!t || t->armed)
		return;
	if (__sync_lock_test_and_set(&t->armed, 1))
		return;
	/* -EBUSY: another CPU initialised it first; start anyway. */
	bpf_timer_init(&t->timer, &bg_ct_timer, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&t->timer, bg_ct_timer_cb);
	bpf_timer_start(&t->timer, BG_CT_SWEEP_NS, 0);
}

/* The table is at its limit: bring the next sweep tick forward. */
static __always_inline void bg_ct_kick_sweep(__u64 now)
{
	__u32 zero = 0;
	struct bg_ct_sweep_state *t = bpf_map_lookup_elem(&bg_ct_timer, &zero);
	__u64 last;

	if (!t || !t->armed)
		return;
	last = t->kick_ns;
	if (now - last < BG_CT_KICK_NS)
		return;
	if (__sync_val_compare_and_swap(&t->kick_ns, last, now) != last)
		return;
	bpf_timer_start(&t->timer, 0, 0);
}

/* ------------------------------------------------------------ TCP */

/* Window scale option of a SYN, BG_CT_WS_NONE when absent. */
static __always_inline __u8 bg_ct_tcp_wscale(struct __sk_buff *skb, __u32 off,
					     __u32 doff)
{
	__u8 opt[64];
	__u32 len = doff * 4, i = 0, n;

	if (len <= 20 || len > 60)
		return BG_CT_WS_NONE;
	len -= 20;
	bg_barrier_var(len);
	if (len < 4)
		return BG_CT_WS_NONE;
	/* Same value (a multiple of 4 in 4..40); a range the 6.1 verifier
	 * sees as non-zero. */
	len = ((len - 4) & 0x3c) + 4;
	if (bpf_skb_load_bytes(skb, off + 20, opt, len))
		return BG_CT_WS_NONE;
#pragma unroll
	for (n = 0; n < 20; n++) {
		__u8 kind, olen;

		if (i >= len || i >= 39)
			break;
		kind = opt[i & 0x3f];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		olen = opt[(i + 1) & 0x3f];
		if (kind == 3 && olen == 3 && i + 2 < len)
			return opt[(i + 2) & 0x3f] > 14 ? 14 :
							  opt[(i + 2) & 0x3f];
		if (olen < 2)
			break;
		i += olen;
	}
	return BG_CT_WS_NONE;
}

/* ---------------------------------------------------------- main path */

/* One packet on its way through tracking. */
struct bg_ct_pkt {
	struct bg_pkt p;
	struct bg_ct_seg seg;
	__u64 now;
	__u32 side; /* the sender's key side */
	__u32 ifindex; /* the device of this hook */
	__u32 segs; /* GSO/GRO segments this skb stands for */
	__u32 len;
	int egress;
	int learn; /* egress of a packet tracked at its ingress */
	int drop; /* a connection limit refuses the packet */
	int limit_check; /* a handshake to count (bg_ct_limit_check) */
};

/*
 * Headers first. GRO and TSO packets keep their headers in the linear
 * part and the payload in pages; pulling them whole would copy up to
 * 64 KiB (more with BIG TCP) per packet, and a TSO packet at egress is a
 * clone, whose head even a short pull reallocates. So the parser reads
 * what is linear and checks the lengths the headers claim against
 * skb->len; only when less than the shortest Ethernet + IPv4 + TCP header
 * is linear while the rest is in pages (drivers that leave all but the
 * Ethernet header there) are BG_CT_PULL bytes pulled first. Headers that
 * run past the linear part otherwise leave the packet untracked. (One
 * parse, not a parse and a retry: the retry's states would double the
 * verifier's work past its limit.)
 */
#define BG_CT_PULL 192
#define BG_CT_MIN_LINEAR 54

static __always_inline int bg_ct_parse(struct __sk_buff *skb, struct bg_pkt *p)
{
	__u32 len = skb->len, lin = skb->data_end - skb->data;
	void *data, *data_end;

	if (lin < len && lin < BG_CT_MIN_LINEAR)
		bpf_skb_pull_data(skb, len < BG_CT_PULL ? len : BG_CT_PULL);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	return bg_parse(data, data_end, len, p, skb->vlan_present ? 1 : 0,
			skb->vlan_tci & 0x0fff,
			skb->gso_size ? BG_PARSE_F_GSO : 0);
}

/* A local socket for the flow of an ingress packet? */
static __always_inline int bg_ct_local_sock(struct __sk_buff *skb,
					    const struct bg_pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;

	if (p->family == BG_FAM_INET) {
		t.ipv4.saddr = p->saddr[0];
		t.ipv4.daddr = p->daddr[0];
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		len = sizeof(t.ipv6);
	}
	if (p->l4_proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else if (p->l4_proto == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		return 0;
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

static __always_inline int bg_ct_count_class(int cls)
{
	switch (cls) {
	case BG_CT_NEW:
		bg_ct_stat_add(BG_CT_STAT_NEW, 1);
		break;
	case BG_CT_ESTABLISHED:
		bg_ct_stat_add(BG_CT_STAT_ESTABLISHED, 1);
		break;
	case BG_CT_RELATED:
		bg_ct_stat_add(BG_CT_STAT_RELATED, 1);
		break;
	default:
		bg_ct_stat_add(BG_CT_STAT_INVALID, 1);
	}
	return cls;
}

static __always_inline int bg_ct_insert(__u8 fam, union bg_ct_key *k,
					struct bg_ct_entry *e)
{
	if (fam == BG_FAM_INET)
		return bpf_map_update_elem(&bg_ct4, &k->k4, e, BPF_NOEXIST);
	return bpf_map_update_elem(&bg_ct6, &k->k6, e, BPF_NOEXIST);
}

/* Delete a locked entry (expired, or replaced by a new flow). */
static __always_inline void bg_ct_remove(struct bg_ct_pkt *c,
					 union bg_ct_key *k,
					 struct bg_ct_entry *ep, __u32 held)
{
	int err;

	bg_ct_uncount(c->p.family, k, ep);
	if (c->p.family == BG_FAM_INET)
		err = bpf_map_delete_elem(&bg_ct4, &k->k4);
	else
		err = bpf_map_delete_elem(&bg_ct6, &k->k6);
	if (!err) {
		bg_ct_live_deleted(c->p.family);
		bg_ct_unswept_gone(c->p.family, ep);
	} else {
		bg_ct_unlock(ep, held);
	}
}

/* <sys/socket.h>'s values: no BPF object includes a glibc header. */
#define BG_AF_INET 2
#define BG_AF_INET6 10

static __always_inline void bg_ct_local_key_of(struct bg_ct_local_key *lk,
					       const struct bg_pkt *p)
{
	lk->family = p->family;
	__builtin_memcpy(lk->addr, p->saddr, sizeof(lk->addr));
	if (p->family == BG_FAM_INET)
		lk->addr[1] = lk->addr[2] = lk->addr[3] = 0;
}

/*
 * Would the stack take this packet's source? Checked before a packet from
 * outside opens a flow, because TC ingress runs before the stack's own
 * martian and reverse-path checks: a forged packet with the host's own
 * source (or, arriving on a gateway's outside, an inside host's) must not
 * leave an entry that its "replies" could match.
 */
static __always_inline int bg_ct_spoofed_src(struct __sk_buff *skb,
					     const struct bg_ct_pkt *c)
{
	struct bpf_fib_lookup fib = {};
	struct bg_ct_local_key lk;
	__u32 ifi = c->ifindex, *fl;
	int rc;

	/* The host's own multicast, looped back on the device it left by. */
	if (skb->pkt_type == PACKET_LOOPBACK)
		return 0;
	bg_ct_local_key_of(&lk, &c->p);
	if (bpf_map_lookup_elem(&bg_ct_local, &lk))
		return 1;
	fl = bpf_map_lookup_elem(&bg_ct_ifidx, &ifi);
	if (!fl || !(*fl & BG_CT_IF_RPF_STRICT))
		return 0;
	/* The route back to the source, as rp_filter = 1 asks for it (strict
	 * unless up.sh --reverse-path loose). */
	fib.l4_protocol = c->p.l4_proto;
	fib.sport = c->p.dport;
	fib.dport = c->p.sport;
	fib.ifindex = ifi;
	if (c->p.family == BG_FAM_INET) {
		fib.family = BG_AF_INET;
		fib.ipv4_src = c->p.daddr[0];
		fib.ipv4_dst = c->p.saddr[0];
	} else {
		fib.family = BG_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, c->p.daddr, 16);
		__builtin_memcpy(fib.ipv6_dst, c->p.saddr, 16);
	}
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
	case BPF_FIB_LKUP_RET_NO_NEIGH:
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return fib.ifindex != ifi;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
	case BPF_FIB_LKUP_RET_NOT_FWDED: /* local, broadcast, no route */
		return 1;
	default:
		/* Forwarding off here (a host: no inside to forge), or the
		 * lookup cannot tell: the local addresses decide alone. */
		return 0;
	}
}

/* A packet the host itself sends: its source is one of the host's. */
static __always_inline void bg_ct_learn_local(struct __sk_buff *skb,
					      const struct bg_ct_pkt *c)
{
	struct bg_ct_local_key lk;
	__u32 learnt = BG_CT_LOCAL_LEARNT;

	if (skb->ingress_ifindex)
		return; /* forwarded */
	/* Any user may send from an address that is not the host's
	 * (IP_FREEBIND): only what root's sockets and the kernel itself
	 * (RSTs, ICMP errors: no socket) send teaches an address. */
	if (skb->sk && bpf_get_socket_uid(skb) != 0)
		return;
	bg_ct_local_key_of(&lk, &c->p);
	if (!bpf_map_lookup_elem(&bg_ct_local, &lk))
		bpf_map_update_elem(&bg_ct_local, &lk, &learnt, BPF_NOEXIST);
}

/*
 * A packet with no live entry: maybe the first of a new flow. The entry
 * records where the flow was opened, so that its replies are accepted
 * from the other side only (bg_ct_iface_ok).
 */
static __always_inline int
bg_ct_new_flow(struct __sk_buff *skb, struct bg_ct_pkt *c, union bg_ct_key *k,
	       struct bg_ct_config *cfg, struct bg_ct_entry *ne)
{
	struct bg_ct_count *cnt;
	/* Zeroed: a path without metadata must not leave it undefined (the
	 * compiler then keeps stale registers, which the verifier refuses). */
	struct bg_xdp_meta m = {};
	int cls, mid, have_meta = 0, pickup = c->egress;
	__u64 limit;
	__u8 state;
	__s32 slot;

	__builtin_memset(ne, 0, sizeof(*ne));

	/* The ACK of a handshake answered with a SYN cookie, checked by the
	 * firewall (BG_META_F_COOKIE): the SYNs were never seen here, the
	 * flow is picked up from the ACK as from a host's own segment. */
	if (!c->egress) {
		have_meta = bg_xdp_meta_get(skb, &m);
		if (have_meta && (m.flags & BG_META_F_COOKIE) &&
		    c->p.l4_proto == IPPROTO_TCP)
			pickup = 1;
	}
	cls = bg_ct_new_class(&c->p, pickup, &state, &mid);
	if (state == BG_CTS_NONE)
		return bg_ct_count_class(cls);
	if (c->egress) {
		bg_ct_learn_local(skb, c);
	} else if (bg_ct_spoofed_src(skb, c)) {
		bg_ct_stat_add(BG_CT_STAT_SPOOFED, 1);
		return bg_ct_count_class(BG_CT_INVALID);
	}

	limit = cfg && cfg->limit_states ? cfg->limit_states : BG_CT_TABLE_MAX;
	if (limit > BG_CT_TABLE_MAX)
		limit = BG_CT_TABLE_MAX;
	if (bg_ct_live_get(c->p.family) >= limit) {
		bg_ct_stat_add(BG_CT_STAT_OVER_LIMIT, 1);
		bg_ct_kick_sweep(c->now);
		return bg_ct_count_class(cls);
	}

	ne->flow_id = bg_ct_next_flow_id();
	ne->key_hash = bg_ct_key_hash(c->p.family, k);
	ne->proto = c->p.l4_proto;
	ne->state = state;
	ne->first_ns = c->now;
	ne->last_ns = c->now;
	ne->flags = c->side ? BG_CTF_ORIGIN_SIDE1 : 0;
	ne->td_wscale[0] = ne->td_wscale[1] = BG_CT_WS_NONE;
	ne->ifindex[BG_CT_DIR_ORIG] = c->ifindex;
	if (c->egress) {
		/* Opened leaving the host: replies arrive where it left. */
		ne->flags |= BG_CTF_EGRESS;
		ne->ifindex[BG_CT_DIR_REPLY] = c->ifindex;
	}
	/* The SYN-ACK of a cookie handshake was the reply (sent by XDP):
	 * the client's next segments are of a flow that has seen one. */
	if (mid && !c->egress)
		ne->flags |= BG_CTF_SEEN_REPLY;
	if (c->p.l4_proto == IPPROTO_TCP) {
		if (mid) {
			/* The SYNs, with the real scales, were never seen.
			 * The host's ACK tells where the peer is: its next
			 * sequence, so no forged first segment of the peer
			 * can set that instead. */
			ne->flags |= BG_CTF_MIDSTREAM;
			ne->td_wscale[0] = ne->td_wscale[1] = BG_CT_WS_MAX;
			bg_ct_tcp_track(ne, c->side, &c->seg);
			BG_IDX(ne->td_end, c->side ^ 1) = c->seg.ack;
		} else {
			bg_ct_td_init(ne, c->side, &c->seg);
		}
	}
	ne->packets[BG_CT_DIR_ORIG] = c->segs;
	ne->bytes[BG_CT_DIR_ORIG] = c->len;
	if (!c->egress) {
		if (have_meta) {
			ne->rule_id = m.rule_id;
			ne->xdp_status = m.status;
			if (bg_ct_limit_new(ne, &m)) {
				c->drop = 1;
				return bg_ct_count_class(BG_CT_INVALID);
			}
		}
		if (bg_ct_local_sock(skb, &c->p))
			ne->flags |= BG_CTF_LOCAL;
	} else if (skb->sk) {
		ne->sock_cookie = bpf_get_socket_cookie(skb);
	}
	ne->flags |= BG_CTF_COUNTED;
	/* Its place in the sweep's ring, before anyone can see it. */
	slot = bg_ct_ring_claim(c->p.family, k, ne->flow_id);
	if (slot < 0)
		ne->flags |= BG_CTF_UNSWEPT;
	if (bg_ct_insert(c->p.family, k, ne)) {
		/* Another CPU created it first (or the table is full): the
		 * next packet finds that entry. */
		if (slot >= 0)
			bg_ct_ring_release(slot, ne->flow_id);
		bg_ct_limit_uncount(c->p.family, k, ne);
		return bg_ct_count_class(cls);
	}
	bg_ct_live_inserted(c->p.family);
	if (slot < 0) {
		bg_ct_stat_add(BG_CT_STAT_UNSWEPT, 1);
		cnt = bg_ct_live_of(c->p.family);
		if (cnt)
			__sync_fetch_and_add(&cnt->unswept, 1);
	}
	bg_ct_src_add(c->p.family, k, ne->flags, 1);
	bg_ct_stat_add(BG_CT_STAT_CREATED, 1);
	if (mid)
		bg_ct_stat_add(c->egress ? BG_CT_STAT_MIDSTREAM :
					   BG_CT_STAT_COOKIE,
			       1);
	return bg_ct_count_class(cls);
}

/* The handshake of locked entry cp is complete: have it counted. */
static __always_inline void
bg_ct_limit_request(__u32 fam, const union bg_ct_key *k, struct bg_ct_entry *cp)
{
	struct bg_ct_lim_scratch *x;
	__u32 zero = 0;

	cp->limit_flags |= BG_CT_LF_DONE;
	x = bpf_map_lookup_elem(&bg_ct_lscratch, &zero);
	if (!x)
		return;
	x->check = 1;
	x->check_family = fam;
	x->check_flow_id = cp->flow_id;
	if (fam == BG_FAM_INET)
		__builtin_memcpy(&x->check_key.k4, &k->k4, sizeof(k->k4));
	else
		__builtin_memcpy(&x->check_key.k6, &k->k6, sizeof(k->k6));
}

/*
 * A packet of a live entry, under the entry's lock: the state machine on a
 * copy, then the copy stored back. Returns the class, or -2 when the entry
 * turned out to be gone (expired, reopened, reused): a new flow then.
 */
static __always_inline int bg_ct_update(struct __sk_buff *skb,
					struct bg_ct_pkt *c, union bg_ct_key *k,
					struct bg_ct_entry *ep,
					struct bg_ct_config *cfg,
					struct bg_ct_entry *cp)
{
	__u32 hash = bg_ct_key_hash(c->p.family, k), held, dir;
	int cls, ignore, wrong, reowned;

	held = bg_ct_lock(ep);
	if (!held) {
		/* Someone holds it far too long: judge on a copy, commit
		 * nothing. */
		bg_ct_stat_add(BG_CT_STAT_LOCK_BUSY, 1);
		bg_ct_read(ep, cp);
		if (bg_ct_expired(bg_ct_timeouts(cfg), cp, c->now))
			return bg_ct_count_class(BG_CT_INVALID);
		cls = bg_ct_step(cp, &c->p, &c->seg, c->side, c->egress,
				 c->ifindex, &ignore, &wrong);
		return bg_ct_count_class(cls);
	}
	if (ep->key_hash != hash) {
		/* Deleted and reused for another flow since the lookup. */
		bg_ct_unlock(ep, held);
		return -2;
	}
	__builtin_memcpy(cp, ep, sizeof(*cp));
#ifdef BG_CT_TEST_SLOW
	bpf_loop(2000, bg_ct_slow_cb, NULL, 0);
#endif
	if (bg_ct_expired(bg_ct_timeouts(cfg), cp, c->now)) {
		bg_ct_stat_add(BG_CT_STAT_EXPIRED, 1);
		bg_ct_remove(c, k, ep, held);
		return -2;
	}
	if (bg_ct_reopens(cp, &c->p)) {
		bg_ct_remove(c, k, ep, held);
		return -2;
	}
	if (cp->limit_flags & BG_CT_LF_REFUSED) {
		/* A connection a source limit refused stays refused. */
		bg_ct_unlock(ep, held);
		bg_ct_stat_add(BG_CT_STAT_LIMIT_CONN, 1);
		c->drop = 1;
		return bg_ct_count_class(BG_CT_INVALID);
	}
	cls = bg_ct_step(cp, &c->p, &c->seg, c->side, c->egress, c->ifindex,
			 &ignore, &wrong);
	if (cls == BG_CT_INVALID || ignore) {
		bg_ct_unlock(ep, held);
		if (wrong)
			bg_ct_stat_add(BG_CT_STAT_WRONG_IFACE, 1);
		if (ignore && (c->seg.flags & BG_TCP_RST))
			bg_ct_stat_add(BG_CT_STAT_RST_IGNORED, 1);
		return bg_ct_count_class(cls);
	}
	/* The handshake is complete when the initiator acknowledges the
	 * responder's SYN exactly: the window check alone takes any of some
	 * 66,000 values, which an off-path sender could cover to have a
	 * third party counted (and overloaded). */
	if (c->p.l4_proto == IPPROTO_TCP && cp->state == BG_CTS_ESTABLISHED &&
	    (cp->limit_flags & (BG_CT_LF_RULE | BG_CT_LF_DONE)) ==
		    BG_CT_LF_RULE &&
	    bg_ct_dir(cp, c->side) == BG_CT_DIR_ORIG &&
	    c->seg.ack == BG_IDX(cp->td_end, (c->side ^ 1) & 1)) {
		bg_ct_limit_request(c->p.family, k, cp);
		c->limit_check = 1;
	}
	if (c->p.l4_proto == IPPROTO_TCP &&
	    (cp->state == BG_CTS_TIME_WAIT || cp->state == BG_CTS_CLOSE))
		bg_ct_uncount(c->p.family, k, cp);

	dir = bg_ct_dir(cp, c->side);
	reowned = (cp->flags & BG_CTF_EGRESS) && !(ep->flags & BG_CTF_EGRESS);
	ep->last_ns = c->now;
	ep->state = cp->state;
	ep->flags = cp->flags;
	ep->tcp_flags = cp->tcp_flags;
	ep->limit_flags = cp->limit_flags;
	ep->td_end[0] = cp->td_end[0];
	ep->td_end[1] = cp->td_end[1];
	ep->td_maxwin[0] = cp->td_maxwin[0];
	ep->td_maxwin[1] = cp->td_maxwin[1];
	ep->td_maxack[0] = cp->td_maxack[0];
	ep->td_maxack[1] = cp->td_maxack[1];
	ep->td_maxend[0] = cp->td_maxend[0];
	ep->td_maxend[1] = cp->td_maxend[1];
	ep->td_wscale[0] = cp->td_wscale[0];
	ep->td_wscale[1] = cp->td_wscale[1];
	/* Only when taken over (bg_ct_step): a reply interface learnt
	 * meanwhile, without the lock, must not be written back as 0. */
	if (reowned) {
		ep->ifindex[0] = cp->ifindex[0];
		ep->ifindex[1] = cp->ifindex[1];
	}
	if (dir == BG_CT_DIR_ORIG) {
		ep->packets[0] += c->segs;
		ep->bytes[0] += c->len;
	} else {
		ep->packets[1] += c->segs;
		ep->bytes[1] += c->len;
	}
	bg_ct_unlock(ep, held);
	if (c->egress && !ep->sock_cookie && skb->sk)
		ep->sock_cookie = bpf_get_socket_cookie(skb);
	return bg_ct_count_class(cls);
}

/* An ICMP error: RELATED when it quotes a live flow and comes from where
 * that flow's packets may come from. */
static __always_inline int bg_ct_track_icmp_error(struct bg_ct_pkt *c,
						  union bg_ct_key *k,
						  void *data, void *data_end,
						  struct bg_ct_config *cfg)
{
	struct bg_ct_entry *ep, e;
	int s = bg_ct_icmp_err_key(data, data_end, &c->p, k), cls;

	if (s == BG_CT_QUOTE_UNTRACKED)
		return bg_ct_count_class(BG_CT_NEW);
	if (s < 0)
		return bg_ct_count_class(BG_CT_INVALID);
	ep = bg_ct_lookup(c->p.family, k);
	if (!ep)
		return bg_ct_count_class(BG_CT_INVALID);
	bg_ct_read(ep, &e);
	if (bg_ct_expired(bg_ct_timeouts(cfg), &e, c->now))
		return bg_ct_count_class(BG_CT_INVALID);
	cls = bg_ct_related(&e, s, c->egress, c->ifindex);
	if (cls == BG_CT_INVALID)
		bg_ct_stat_add(BG_CT_STAT_WRONG_IFACE, 1);
	return bg_ct_count_class(cls);
}

/*
 * A later fragment: its bytes counted on its datagram's flow, found through
 * what the first fragment left (bg_frag.h: the firewall's verdict on
 * ingress, this program's own entry on egress). Nothing else changes: a
 * fragment shows no header to judge a state by. 0 when counted.
 */
static __always_inline int bg_ct_frag_later(struct bg_ct_pkt *c,
					    union bg_ct_key *k)
{
	struct bg_frag_scratch *x = bg_frag_scratch_get();
	struct bg_frag_entry *fe;
	struct bg_ct_entry *ep;
	__u32 held, side, hash;
	__u16 vlan[2];

	if (!x || bg_frag_key_of(&c->p, &x->k))
		return -1;
	fe = bg_frag_find(&c->p, &x->k, c->now);
	if (!fe || !(fe->flags & BG_FRAG_F_PORTS) ||
	    ((fe->flags & BG_FRAG_F_VERDICT) && fe->action != BG_ACT_PASS))
		return -1;
	bg_ct_vlans(&c->p, vlan);
	if (c->p.family == BG_FAM_INET)
		side = bg_ct_key4(&k->k4, c->p.saddr[0], c->p.daddr[0],
				  fe->sport, fe->dport, fe->proto, vlan);
	else
		side = bg_ct_key6(&k->k6, c->p.saddr, c->p.daddr, fe->sport,
				  fe->dport, fe->proto, vlan);
	ep = bg_ct_lookup(c->p.family, k);
	if (!ep)
		return -1;
	hash = bg_ct_key_hash(c->p.family, k);
	held = bg_ct_lock(ep);
	if (!held)
		return -1;
	if (ep->key_hash != hash) {
		bg_ct_unlock(ep, held);
		return -1;
	}
	if (bg_ct_dir(ep, side & 1) == BG_CT_DIR_ORIG) {
		ep->packets[0] += c->segs;
		ep->bytes[0] += c->len;
	} else {
		ep->packets[1] += c->segs;
		ep->bytes[1] += c->len;
	}
	bg_ct_unlock(ep, held);
	return 0;
}

/*
 * A first fragment leaving: its ports, for its later fragments
 * (bg_ct_frag_later). In the rules' table, never the tracked flows': what
 * leaves may be forwarded traffic anyone inside sends. Never over an
 * entry the firewall made.
 */
static __always_inline void bg_ct_frag_first_out(struct bg_ct_pkt *c)
{
	struct bg_frag_scratch *x = bg_frag_scratch_get();

	if (!x || bg_frag_key_of(&c->p, &x->k))
		return;
	bg_frag_entry_init(&x->e, &c->p, c->now);
	bg_frag_record(&c->p, &x->k, &x->e, 0, BPF_NOEXIST);
}

/*
 * A forwarded packet leaving through egress that was tracked at its
 * ingress: not tracked again, but if it is the initiator's and its flow
 * does not know yet where replies will come from, this interface is it.
 * Never the interface the flow was opened on: replies arriving where the
 * initiator's packets arrive is the spoofed-initiator trick, and a flow
 * that really goes in and out one interface is not supported.
 */
static __always_inline int bg_ct_learn_reply_iface(struct bg_ct_pkt *c,
						   union bg_ct_key *k)
{
	struct bg_ct_entry *ep = bg_ct_lookup(c->p.family, k);

	if (!ep || (ep->flags & BG_CTF_EGRESS) ||
	    ep->ifindex[BG_CT_DIR_REPLY] ||
	    ep->ifindex[BG_CT_DIR_ORIG] == c->ifindex ||
	    bg_ct_dir(ep, c->side) != BG_CT_DIR_ORIG)
		return -1;
	__sync_val_compare_and_swap(&ep->ifindex[BG_CT_DIR_REPLY], 0,
				    c->ifindex);
	return -1;
}

/*
 * Everything after parsing. A global function: the verifier checks it
 * once, with its inputs unknown, instead of once for every way the parser
 * can end; the parser alone has hundreds of those.
 */
__noinline int bg_ct_track_pkt(struct __sk_buff *skb, struct bg_ct_pkt *c)
{
	union bg_ct_key k; /* on this stack: 6.1 takes no map key from *c */
	struct bg_ct_entry *e;
	struct bg_ct_config *cfg;
	__u32 zero = 0;
	struct bg_ct_entry *ep;
	void *data, *data_end;
	int s, cls;

	e = bpf_map_lookup_elem(&bg_ct_scratch, &zero);
	if (!skb || !c || !e)
		return -1;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	cfg = bg_ct_cfg();
	c->now = bg_ct_now();
	c->ifindex = skb->ifindex;
	c->len = skb->len;
	c->segs = skb->gso_segs ? skb->gso_segs : 1;
	bg_ct_arm_timer();

	if (c->learn) {
		bg_ct_stat_add(BG_CT_STAT_SKIPPED, 1);
		s = bg_ct_pkt_key(&c->p, &k);
		if (s < 0)
			return -1;
		c->side = s & 1;
		return bg_ct_learn_reply_iface(c, &k);
	}
	if (bg_ct_is_icmp_error(&c->p))
		return bg_ct_track_icmp_error(c, &k, data, data_end, cfg);

	if (c->p.flags & BG_PKT_FRAG_LATER) {
		if (bg_ct_frag_later(c, &k))
			bg_ct_stat_add(BG_CT_STAT_UNTRACKED, 1);
		else
			bg_ct_stat_add(BG_CT_STAT_FRAG_COUNTED, 1);
		return -1;
	}
	s = bg_ct_pkt_key(&c->p, &k);
	if (s < 0) {
		bg_ct_stat_add(BG_CT_STAT_UNTRACKED, 1);
		return -1;
	}
	if (c->egress && (c->p.flags & BG_PKT_FRAG))
		bg_ct_frag_first_out(c);
	c->side = s & 1;
	if (c->p.l4_proto == IPPROTO_TCP) {
		if (bg_ct_seg_parse(data, data_end, &c->p, &c->seg) < 0) {
			bg_ct_stat_add(BG_CT_STAT_UNTRACKED, 1);
			return -1;
		}
		if (c->seg.flags & BG_TCP_SYN)
			c->seg.wscale =
				bg_ct_tcp_wscale(skb, c->p.l4_off, c->seg.doff);
	}

	ep = bg_ct_lookup(c->p.family, &k);
	if (ep) {
		cls = bg_ct_update(skb, c, &k, ep, cfg, e);
		if (cls != -2)
			return cls;
	}
	return bg_ct_new_flow(skb, c, &k, cfg, e);
}

/* Track one packet; returns its class (enum bg_ct_class) or -1, sets
 * *drop when a connection limit refuses it and *check when it completed
 * a handshake bg_ct_limit_check is to count. */
static __always_inline int bg_ct_track(struct __sk_buff *skb, int egress,
				       int *drop, int *check)
{
	struct bg_ct_pkt c = {};
	int cls;
	__u32 ifi;

	if (bg_ct_parse(skb, &c.p) != BG_PARSE_OK) {
		bg_ct_stat_add(BG_CT_STAT_UNTRACKED, 1);
		return -1;
	}
#ifdef BG_BENCH_NEWFLOW
	/* make bench only: every run is a flow never seen before. */
	c.p.sport = (__be16)bpf_get_prandom_u32();
	c.p.saddr[0] ^= bpf_get_prandom_u32() & bpf_htonl(0xffff);
#endif
	c.egress = egress;
	/* A packet that came in through a bpfguard interface was tracked
	 * there: leaving, it only tells where its flow's replies come. */
	ifi = skb->ingress_ifindex;
	if (egress && ifi && bpf_map_lookup_elem(&bg_ct_ifidx, &ifi))
		c.learn = 1;
	cls = bg_ct_track_pkt(skb, &c);
	*drop = c.drop;
	*check = c.limit_check;
	return cls;
}

/*
 * The flow whose handshake the packet just completed (bg_ct_update asked
 * for it in the scratch): count the connection for its source, under the
 * entry's lock. Called by the program's top frame once the packet is
 * tracked, where the stack has room (6.1 counts every frame of a call
 * chain against 512 bytes). 1 when the source is over max-src-conn or
 * max-src-conn-rate: the flow is deleted and the packet dropped, and the
 * source overloaded when the rule says so.
 */
static __noinline int bg_ct_limit_check(void)
{
	struct bg_ct_lim_scratch *x;
	struct bg_ct_entry *ep;
	struct bg_fw_srclim *s;
	struct bg_fw_limit *l;
	__u32 zero = 0, reason = 0, held, fam, epoch;
	__u64 conns, now;

	x = bpf_map_lookup_elem(&bg_ct_lscratch, &zero);
	if (!x || !x->check)
		return 0;
	x->check = 0;
	fam = x->check_family;
	ep = fam == BG_FAM_INET ?
		     bpf_map_lookup_elem(&bg_ct4, &x->check_key.k4) :
		     bpf_map_lookup_elem(&bg_ct6, &x->check_key.k6);
	if (!ep)
		return 0;
	/* A flow an older ruleset admitted counts in no newer one's limits
	 * (its rule id may be another rule's now). */
	bg_ct_active_gen(&epoch);
	if (epoch != ep->limit_epoch)
		return 0;
	l = bg_ct_limit_of(ep->limit_gen, ep->rule_id);
	if (!l || (!l->max_src_conn && !l->rate_conns))
		return 0;
	held = bg_ct_lock(ep);
	if (!held)
		return 0;
	if (ep->flow_id != x->check_flow_id ||
	    (ep->limit_flags & BG_CT_LF_CONN)) {
		bg_ct_unlock(ep, held);
		return 0;
	}
	now = bg_ct_now();
	bg_ct_srclim_key(&x->sk, fam, &x->check_key, ep);
	s = bpf_map_lookup_elem(&bg_fw_srclim, &x->sk);
	if (!s) {
		__builtin_memset(&x->zero, 0, sizeof(x->zero));
		x->zero.win_start_ns = now;
		bpf_map_update_elem(&bg_fw_srclim, &x->sk, &x->zero,
				    BPF_NOEXIST);
		s = bpf_map_lookup_elem(&bg_fw_srclim, &x->sk);
	}
	if (!s) {
		bg_ct_unlock(ep, held);
		return 0;
	}
	conns = __sync_fetch_and_add(&s->conns, 1) + 1;
	ep->limit_flags |= BG_CT_LF_CONN;
	if (l->max_src_conn && conns > l->max_src_conn)
		reason = BG_FW_OVL_CONN;
	if (l->rate_conns && bg_ct_rate(s, l, now) > l->rate_conns)
		reason = BG_FW_OVL_RATE;
	if (!reason) {
		bg_ct_unlock(ep, held);
		return 0;
	}
	/* Over: the connection is refused, and stays so. Deleting its flow
	 * would let its next segment be judged by the rules again, which
	 * pass a limited rule's packets without a flow. */
	bg_ct_stat_add(BG_CT_STAT_LIMIT_CONN, 1);
	bg_ct_uncount(fam, &x->check_key, ep);
	ep->limit_flags |= BG_CT_LF_REFUSED;
	ep->state = BG_CTS_TIME_WAIT;
	ep->last_ns = now;
	bg_ct_unlock(ep, held);
	if (l->overload)
		bg_ct_overload(fam, x->sk.addr, l, x->sk.rule_id, reason);
	return 1;
}

/* A flush an overload asked for: the sweep's timer now, not in a second
 * (bg_ct_overload_flush). */
static __noinline void bg_ct_flush_requested(void)
{
	__u32 zero = 0;
	struct bg_ct_sweep_state *t = bpf_map_lookup_elem(&bg_ct_timer, &zero);

	if (t && bg_read_once(t->flush_pending))
		bg_ct_kick_sweep(bg_ct_now());
}

/*
 * The firewall matched VLAN ids on a frame that showed it no tag, and the
 * packet has one: the device kept it out of the frame (tag offload), so
 * the verdict was for an untagged frame. Dropped, never judged wrongly:
 * a "block vlan N" rule cannot be passed by. up.sh turns the receive
 * offload off where it can; what remains is a peer inserting tags out of
 * band, as a veth does (README, "VLANs and XDP"). Not inlined: the
 * compiler would share its read of skb->data with the parser's as a
 * 32-bit number, which the verifier cannot take for a packet pointer.
 */
static __noinline int bg_ct_vlan_hidden(struct __sk_buff *skb)
{
	struct bg_xdp_meta m;

	if (!skb->vlan_present || !bg_xdp_meta_get(skb, &m) ||
	    !(m.flags & BG_META_F_VLAN_BLIND))
		return 0;
	bg_ct_stat_add(BG_CT_STAT_VLAN_HIDDEN, 1);
	return 1;
}

SEC("tc/ingress")
int bg_ct_ingress(struct __sk_buff *skb)
{
	int drop = 0, check = 0;

	if (bg_ct_vlan_hidden(skb))
		return TC_ACT_SHOT;
	bg_ct_track(skb, 0, &drop, &check);
	if (check && bg_ct_limit_check()) {
		drop = 1;
		bg_ct_flush_requested();
	}
	return drop ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc/egress")
int bg_ct_egress(struct __sk_buff *skb)
{
	int drop = 0, check = 0;

	bg_ct_track(skb, 1, &drop, &check);
	/* The packet that completed a handshake is the one a limit drops. */
	if (check && bg_ct_limit_check()) {
		drop = 1;
		bg_ct_flush_requested();
	}
	return drop ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

/*
 * Commands for tc/sweep, given as the packet of a BPF_PROG_TEST_RUN
 * (bpftool prog run): nothing else runs this program. No command (a
 * frame without the magic): one timer tick.
 */
#define BG_CT_CMD_MAGIC 0x62674354 /* "bgCT" */

enum bg_ct_cmd_op {
	BG_CT_CMD_TICK = 0, /* the timer's bounded slice */
	BG_CT_CMD_FULL = 1, /* a whole pass over both tables */
	BG_CT_CMD_FLUSH = 2, /* delete every flow, or those of an address */
};

struct bg_ct_cmd {
	__u32 magic;
	__u32 op; /* enum bg_ct_cmd_op */
	__u32 family; /* BG_CT_CMD_FLUSH of an address: BG_FAM_* */
	__u32 any; /* BG_CT_CMD_FLUSH: 1 = every flow */
	__be32 addr[4];
};

/* Run the sweep now, or flush flows (tools and tests). Returns the number
 * of entries flushed. */
SEC("tc/sweep")
int bg_ct_sweep(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct bg_ct_cmd *cmd = data;
	struct sweep_ctx c = {};
	struct flush_ctx f = {};
	__u32 zero = 0, op = BG_CT_CMD_TICK, fam = 0, deleted = 0;
	struct bg_ct_sweep_state *st;

	if ((void *)(cmd + 1) <= data_end && cmd->magic == BG_CT_CMD_MAGIC) {
		op = cmd->op;
		fam = cmd->family;
		f.any = cmd->any;
		__builtin_memcpy(f.addr, cmd->addr, 16);
	}
	bg_ct_sweep_init(&c);
	if (op == BG_CT_CMD_FULL) {
		bg_ct_sweep_full(&c, BG_FAM_INET);
		bg_ct_sweep_full(&c, BG_FAM_INET6);
		bg_ct_stat_add(BG_CT_STAT_SWEEPS, 1);
		return 0;
	}
	if (op == BG_CT_CMD_FLUSH) {
		if (f.any || fam == BG_FAM_INET) {
			bpf_for_each_map_elem(&bg_ct4, bg_ct_flush4, &f, 0);
			deleted += f.deleted;
		}
		f.deleted = 0;
		if (f.any || fam == BG_FAM_INET6) {
			bpf_for_each_map_elem(&bg_ct6, bg_ct_flush6, &f, 0);
			deleted += f.deleted;
		}
		return deleted;
	}
	/* One timer tick: a flush asked for first, as the timer does. */
	st = bpf_map_lookup_elem(&bg_ct_timer, &zero);
	if (st) {
		bg_ct_overload_flush(st);
		bg_ct_sweep_tick(st);
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
