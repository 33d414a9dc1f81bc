// SPDX-License-Identifier: GPL-2.0
/*
 * --explain: the backend xdp_loadbalancer gives a new flow of the packet
 * when every backend is up as configured. The position in the service's
 * ring is the kernel's (headers/bg_lb_abi.h, bg_lb_ring): maglev hashes
 * the client's address, both ports and the protocol, source-hash the
 * address alone, with bg_lb_hash() seeded by the service's id. A backend
 * configured down is not in the ring: no probing to do here.
 */
#include <string.h>

#include "bg_lb_hash.h"
#include "lb.h"

static const struct lb_service *service_of(const struct lb *lb,
					   const struct packet *pk)
{
	size_t i;

	if (!pk->has_ports)
		return NULL;
	for (i = 0; i < lb->nsvc; i++) {
		const struct lb_service *svc = &lb->svc[i];

		if (svc->vip.fam == pk->fam && svc->proto == pk->proto &&
		    svc->port == pk->port[FLD_DST] &&
		    !memcmp(svc->vip.addr, pk->dst.addr, sizeof(pk->dst.addr)))
			return svc;
	}
	return NULL;
}

void lb_explain(FILE *f, const struct ruleset *rs, const struct packet *pk)
{
	const struct lb_service *svc;
	const struct lb_backend *b;
	char text[LB_ENDPOINT_STRLEN];
	uint32_t w[4], h, idx;

	if (!rs->lb || !(svc = service_of(rs->lb, pk)))
		return;
	if (svc->sched == BG_LB_SCHED_ROUND_ROBIN) {
		fprintf(f,
			"loadbalancer: service %s round-robin (backend depends on the turn)\n",
			svc->name);
		return;
	}
	if (!svc->ring_size) {
		fprintf(f,
			"loadbalancer: service %s has no backend up (dropped)\n",
			svc->name);
		return;
	}
	memcpy(w, pk->src.addr, sizeof(w));
	if (svc->sched == BG_LB_SCHED_MAGLEV)
		h = bg_lb_hash(w, pk->fam == BG_FAM_INET6 ? 4 : 1,
			       pk->port[FLD_SRC] << 16 | pk->port[FLD_DST],
			       (uint32_t)pk->proto, svc->id);
	else
		h = bg_lb_hash(w, pk->fam == BG_FAM_INET6 ? 4 : 1, 0, 0,
			       svc->id);
	idx = svc->ring[h % svc->ring_size];
	b = &rs->lb->be[idx];
	lb_endpoint_format(&b->addr, b->port, text, sizeof(text));
	fprintf(f, "loadbalancer: service %s backend %s (index %u)\n",
		svc->name, text, idx);
}
