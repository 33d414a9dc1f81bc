/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading and writing the connection tracking tables (bg_ct_maps.h):
 * lookups that treat an expired entry as absent, the settings of the
 * active ruleset generation, and the per-entry sequence lock that keeps
 * the two directions of a flow, handled on two CPUs at once, from losing
 * each other's update.
 */
#ifndef BG_CT_TABLE_H
#define BG_CT_TABLE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common_maps.h"
#include "bg_ct.h"
#include "bg_ct_maps.h"

/* CLOCK_BOOTTIME, plus the test hook's offset (bg_ct_clock). */
static __always_inline __u64 bg_ct_now(void)
{
	__u32 zero = 0;
	__s64 *off = bpf_map_lookup_elem(&bg_ct_clock, &zero);
	__u64 now = bpf_ktime_get_boot_ns();

	return off ? now + *off : now;
}

/* Settings of the ruleset generation packets use (NULL: built-ins). */
static __always_inline struct bg_ct_config *bg_ct_cfg(void)
{
	__u32 zero = 0, gen = 0;
	struct bg_fw_active *act = bpf_map_lookup_elem(&bg_fw_active, &zero);

	if (act)
		gen = act->gen & 1;
	return bpf_map_lookup_elem(&bg_ct_config, &gen);
}

static __always_inline const __u32 *bg_ct_timeouts(struct bg_ct_config *cfg)
{
	return cfg ? cfg->timeout : 0;
}

/* The entry of a key; NULL if absent. Expiry is the caller's to check. */
static __always_inline struct bg_ct_entry *bg_ct_lookup(__u8 family,
							union bg_ct_key *k)
{
	if (family == BG_FAM_INET)
		return bpf_map_lookup_elem(&bg_ct4, &k->k4);
	return bpf_map_lookup_elem(&bg_ct6, &k->k6);
}

/* One attempt at a consistent copy; 0 when it is. */
static __always_inline int bg_ct_read_once_copy(const struct bg_ct_entry *ep,
						struct bg_ct_entry *e)
{
	__u32 s1, s2;

	s1 = bg_read_once(ep->seq);
	bg_compiler_barrier();
	__builtin_memcpy(e, ep, sizeof(*e));
	bg_compiler_barrier();
	s2 = bg_read_once(ep->seq);
	return s1 == s2 && !(s1 & 1) ? 0 : -1;
}

/*
 * A consistent copy of an entry for a reader that never writes it (XDP):
 * tried again once if a writer held the sequence lock or the sequence
 * moved during the copy. Then the copy is used as it is: one packet judged
 * on a torn copy beats spinning in XDP. Returns 0 when consistent.
 */
static __always_inline int bg_ct_read(const struct bg_ct_entry *ep,
				      struct bg_ct_entry *e)
{
	if (!bg_ct_read_once_copy(ep, e))
		return 0;
	return bg_ct_read_once_copy(ep, e);
}

/*
 * Take an entry's sequence lock if it is free: returns the (odd) value
 * this writer set, 0 when it is held. bg_ct_unlock() wants that value.
 */
static __always_inline __u32 bg_ct_trylock(struct bg_ct_entry *ep)
{
	__u32 s = bg_read_once(ep->seq);

	if (s & 1)
		return 0;
	return __sync_val_compare_and_swap(&ep->seq, s, s + 1) == s ? s + 1 : 0;
}

/*
 * Bounded spin for the sequence lock. A holder is tc_conntrack on another
 * CPU in a section of a few dozen instructions (TC runs with bottom halves
 * off, so nothing else of ours runs on the holder's CPU meanwhile). The
 * spin is a bpf_loop: the verifier checks its body once, where a loop in
 * line would be walked once per iteration on every path that reaches it.
 */
#define BG_CT_LOCK_SPINS 8192

struct bg_ct_spin {
	struct bg_ct_entry *ep;
	__u32 held;
};

static long bg_ct_spin_cb(__u32 i, void *ctx)
{
	struct bg_ct_spin *s = ctx;

	s->held = bg_ct_trylock(s->ep);
	return s->held ? 1 : 0;
}

/* Take an entry's lock: the odd value held (for bg_ct_unlock), 0 when
 * another CPU kept it for the whole spin. */
static __always_inline __u32 bg_ct_lock(struct bg_ct_entry *ep)
{
	struct bg_ct_spin s = { .ep = ep };

#ifdef BG_CT_TEST_NOLOCK
	/* Test builds only: the race test's control, without the fixes for
	 * two CPUs (this lock, the per-source counter's first-flow race). */
	return 1;
#endif
	s.held = bg_ct_trylock(ep);
	if (s.held)
		return s.held;
	bpf_loop(BG_CT_LOCK_SPINS, bg_ct_spin_cb, &s, 0);
	return s.held;
}

/*
 * Release. A compare-and-swap from the value taken (an atomic, so the
 * entry's stores are ordered before it): if the entry was freed and
 * reused meanwhile (an LRU eviction does that), its new lock word is left
 * alone, where a blind add would leave it locked for good.
 */
static __always_inline void bg_ct_unlock(struct bg_ct_entry *ep, __u32 held)
{
#ifdef BG_CT_TEST_NOLOCK
	return;
#endif
	__sync_val_compare_and_swap(&ep->seq, held, held + 1);
}

/* A hash of a key, kept in its entry (bg_ct_entry.key_hash). */
static __always_inline __u32 bg_ct_key_hash(__u8 family,
					    const union bg_ct_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = 0x811c9dc5, i;

	if (family == BG_FAM_INET) {
#pragma unroll
		for (i = 0; i < sizeof(k->k4) / 4; i++)
			h = (h ^ w[i]) * 0x01000193;
	} else {
#pragma unroll
		for (i = 0; i < sizeof(k->k6) / 4; i++)
			h = (h ^ w[i]) * 0x01000193;
	}
	return h;
}

#endif /* BG_CT_TABLE_H */
