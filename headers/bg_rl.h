/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rate limiter's four metering algorithms, on one struct bg_rl_state
 * (headers/bg_rl_abi.h has what each field holds per algorithm). The
 * caller holds the state's lock. All arithmetic is in 64 bits with the
 * operands bounded by the ABI (rate and burst <= BG_RL_RATE_MAX, interval
 * <= a minute), so no product overflows:
 *   burst * interval   <= 1e8 * 6e10 = 6e18 < 2^64
 *   prev * interval    the same
 * and an elapsed time is only multiplied by the rate once it is known to
 * be below the time a full refill or drain takes (again <= 6e18).
 */
#ifndef BG_RL_H
#define BG_RL_H

#include <linux/types.h>
#include "bg_rl_abi.h"

/* The parameters of one meter, from a policy or a protection. */
struct bg_rl_meter {
	__u64 rate; /* packets per interval */
	__u64 interval_ns;
	__u64 burst; /* packets (token and leaky bucket) */
	__u8 algo; /* enum bg_rl_algo */
};

/* A state that has seen nothing yet: a full token bucket, an empty leaky
 * one, no window. */
static __always_inline void
bg_rl_state_init(struct bg_rl_state *s, const struct bg_rl_meter *m, __u64 now)
{
	s->stamp_ns = now;
	s->level = m->algo == BG_RL_ALGO_TOKEN_BUCKET ?
			   m->burst * m->interval_ns :
			   0;
	s->prev = 0;
	s->idle_ns = now;
	s->passed = 0;
	s->over = 0;
}

/*
 * Token bucket: up to burst tokens, refilled at rate per interval; a
 * packet takes one. Levels are in token * interval_ns units, so the
 * refill of one nanosecond is exactly rate units: no rounding, no drift.
 */
static __always_inline int bg_rl_token(struct bg_rl_state *s,
				       const struct bg_rl_meter *m, __u64 now)
{
	__u64 cap = m->burst * m->interval_ns;
	__u64 el = now > s->stamp_ns ? now - s->stamp_ns : 0;
	__u64 lvl = s->level;
	int ok = 0;

	if (lvl > cap)
		lvl = cap;
	if (el >= (cap - lvl) / m->rate + 1)
		lvl = cap;
	else
		lvl += el * m->rate;
	if (lvl > cap)
		lvl = cap;
	if (now > s->stamp_ns)
		s->stamp_ns = now;
	if (lvl >= m->interval_ns) {
		lvl -= m->interval_ns;
		ok = 1;
	}
	s->level = lvl;
	/* Full again by then: a new entry would be the same. */
	s->idle_ns = s->stamp_ns + (cap - lvl) / m->rate + 1;
	return ok;
}

/*
 * Leaky bucket (as a meter, the GCRA of ITU-T I.371): the bucket drains at
 * rate per interval; a packet pours one in and fits while the content
 * stays within burst packets. With burst 1 the packets pass at the drain
 * rate and no faster: a constant rate, the bucket's purpose.
 */
static __always_inline int bg_rl_leaky(struct bg_rl_state *s,
				       const struct bg_rl_meter *m, __u64 now)
{
	__u64 el = now > s->stamp_ns ? now - s->stamp_ns : 0;
	__u64 lvl = s->level;
	int ok = 0;

	if (el >= lvl / m->rate + 1)
		lvl = 0;
	else
		lvl -= el * m->rate;
	if (now > s->stamp_ns)
		s->stamp_ns = now;
	if (lvl + m->interval_ns <= m->burst * m->interval_ns) {
		lvl += m->interval_ns;
		ok = 1;
	}
	s->level = lvl;
	s->idle_ns = s->stamp_ns + lvl / m->rate + 1;
	return ok;
}

/* Fixed window: rate packets per window of interval_ns, windows aligned on
 * multiples of the interval (the same edges for every source). */
static __always_inline int bg_rl_fixed(struct bg_rl_state *s,
				       const struct bg_rl_meter *m, __u64 now)
{
	__u64 start;
	int ok = 0;

	/* A CPU that read the clock before another took the lock: its
	 * packet belongs to the window already started, never to one
	 * before it (which would start the count afresh). */
	if (now < s->stamp_ns)
		now = s->stamp_ns;
	start = now - now % m->interval_ns;

	if (start != s->stamp_ns) {
		s->stamp_ns = start;
		s->level = 0;
	}
	if (s->level < m->rate) {
		s->level++;
		ok = 1;
	}
	s->idle_ns = start + m->interval_ns;
	return ok;
}

/*
 * Sliding window: the count of the current window plus the previous
 * window's, weighted by how much of it the sliding window still covers.
 * Removes the fixed window's double burst at an edge.
 */
static __always_inline int bg_rl_sliding(struct bg_rl_state *s,
					 const struct bg_rl_meter *m, __u64 now)
{
	__u64 start, into, est;
	int ok = 0;

	if (now < s->stamp_ns) /* as in bg_rl_fixed() */
		now = s->stamp_ns;
	start = now - now % m->interval_ns;

	if (start != s->stamp_ns) {
		s->prev = start - s->stamp_ns == m->interval_ns ? s->level : 0;
		s->stamp_ns = start;
		s->level = 0;
	}
	into = now - start;
	/* Rounded up: 9.99 packets of the last window are 10. */
	est = (s->prev * (m->interval_ns - into) + m->interval_ns - 1) /
		      m->interval_ns +
	      s->level;
	if (est < m->rate) {
		s->level++;
		ok = 1;
	}
	s->idle_ns = start + 2 * m->interval_ns;
	return ok;
}

/* One packet through the meter: 1 admitted, 0 over the rate. Counts it. */
static __always_inline int
bg_rl_meter_admit(struct bg_rl_state *s, const struct bg_rl_meter *m, __u64 now)
{
	int ok;

	if (!m->rate || !m->interval_ns)
		return 1;
	switch (m->algo) {
	case BG_RL_ALGO_FIXED_WINDOW:
		ok = bg_rl_fixed(s, m, now);
		break;
	case BG_RL_ALGO_SLIDING_WINDOW:
		ok = bg_rl_sliding(s, m, now);
		break;
	case BG_RL_ALGO_LEAKY_BUCKET:
		ok = bg_rl_leaky(s, m, now);
		break;
	default:
		ok = bg_rl_token(s, m, now);
		break;
	}
	if (ok)
		s->passed++;
	else
		s->over++;
	return ok;
}

#endif /* BG_RL_H */
