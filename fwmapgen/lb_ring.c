// SPDX-License-Identifier: GPL-2.0
/*
 * A service's ring: Maglev's population (Eisenbud et al., "Maglev: A Fast
 * and Reliable Software Network Load Balancer", NSDI 2016, section 3.4).
 * Each backend that is not down has a permutation of the M positions,
 * offset + j * skip (mod M, a prime, so every skip 1..M-1 visits them
 * all); in turns, in file order, each takes the next position of its
 * permutation that is still free, a backend of weight W W times a round,
 * until all M are taken.
 *
 * offset and skip come from two hashes of the backend's address and port,
 * not its place in the file: a backend that goes away leaves the others'
 * permutations as they were, so that most positions keep their backend.
 * M is chosen from all the service's backends, down ones too, so that
 * marking one down or up keeps the ring's size (and flows' positions).
 * round-robin's ring is its turn order instead (rr_fill).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "bg_lb_hash.h"
#include "lb.h"

/* Seeds of the two hashes of a backend ("offs", "skip"). */
#define SEED_OFFSET 0x6f666673u
#define SEED_SKIP 0x736b6970u

static const uint32_t ring_sizes[] = { 1021,  2053,  4099, 8209,
				       16411, 32771, 65537 };

BG_STATIC_ASSERT(BG_LB_RING_MAX_SIZE == 65537, "the biggest ring size");

uint32_t lb_ring_size(uint32_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ring_sizes) / sizeof(ring_sizes[0]); i++)
		if (ring_sizes[i] >= LB_RING_PER_BACKEND * n)
			return ring_sizes[i];
	return 0; /* more than LB_SVC_BACKENDS_MAX: refused by the parser */
}

static uint32_t backend_hash(const struct lb_backend *b, uint32_t seed)
{
	uint32_t w[4];

	memcpy(w, b->addr.addr, sizeof(w));
	return bg_lb_hash(w, b->addr.fam == BG_FAM_INET6 ? 4 : 1, b->port,
			  b->addr.fam, seed);
}

/* A backend's place in its permutation. */
struct perm {
	uint32_t pos;
	uint32_t skip;
	uint32_t weight;
	uint32_t index; /* global backend index */
};

/*
 * round-robin reads the ring at consecutive positions (one shared turn
 * counter), so its ring is the turn order itself: smooth weighted
 * round-robin (each position, every backend gains its weight, the one
 * with the most takes the position and pays the total back), which
 * interleaves a weight-3 backend with the others instead of giving it
 * three turns in a row. The probe past a down backend (step 1) is then
 * the next in turn.
 */
static void rr_fill(struct lb_service *svc, const struct perm *p, uint32_t n,
		    uint32_t m)
{
	int64_t *cur = xcalloc(n, sizeof(*cur)), total = 0;
	uint32_t pos, i, best;

	for (i = 0; i < n; i++)
		total += p[i].weight;
	for (pos = 0; pos < m; pos++) {
		best = 0;
		for (i = 0; i < n; i++) {
			cur[i] += p[i].weight;
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		svc->ring[pos] = p[best].index;
	}
	free(cur);
}

void lb_ring_fill(const struct lb *lb, struct lb_service *svc)
{
	uint32_t m = lb_ring_size(svc->n), i, w, nup = 0, filled = 0;
	struct perm *p = xcalloc(svc->n ? svc->n : 1, sizeof(*p));
	uint8_t *taken;

	for (i = 0; i < svc->n; i++) {
		const struct lb_backend *b = &lb->be[svc->first + i];

		if (b->down)
			continue;
		p[nup].pos = backend_hash(b, SEED_OFFSET) % m;
		p[nup].skip = backend_hash(b, SEED_SKIP) % (m - 1) + 1;
		p[nup].weight = b->weight;
		p[nup].index = svc->first + i;
		nup++;
	}
	svc->ring_size = nup ? m : 0;
	svc->ring = NULL;
	if (!nup) {
		free(p);
		return;
	}
	svc->ring = xcalloc(m, sizeof(*svc->ring));
	if (svc->sched == BG_LB_SCHED_ROUND_ROBIN) {
		rr_fill(svc, p, nup, m);
		free(p);
		return;
	}
	taken = xcalloc(m, 1);
	while (filled < m) {
		for (i = 0; i < nup && filled < m; i++) {
			for (w = 0; w < p[i].weight && filled < m; w++) {
				while (taken[p[i].pos])
					p[i].pos = (p[i].pos + p[i].skip) % m;
				taken[p[i].pos] = 1;
				svc->ring[p[i].pos] = p[i].index;
				p[i].pos = (p[i].pos + p[i].skip) % m;
				filled++;
			}
		}
	}
	free(taken);
	free(p);
}

void lb_endpoint_format(const struct prefix *a, uint32_t port, char *buf,
			size_t size)
{
	char text[BG_ADDR_STRLEN];

	bg_addr_format(a->addr, a->fam, text, sizeof(text));
	if (a->fam == BG_FAM_INET6)
		snprintf(buf, size, "[%s]:%u", text, port);
	else
		snprintf(buf, size, "%s:%u", text, port);
}
