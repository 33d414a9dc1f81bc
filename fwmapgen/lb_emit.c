// SPDX-License-Identifier: GPL-2.0
/*
 * The load balancer's map entries (headers/bg_lb_abi.h), only when the
 * ruleset has a service: a ruleset without one writes the batch it wrote
 * before the load balancer. Per generation: every backend and its health
 * (up but for "down" ones), every service's slice of the ring, its
 * information and round-robin turn (back to 0), and last its VIP, which
 * is what makes the kernel look at the rest.
 */
#include <arpa/inet.h>
#include <string.h>

#include "emit.h"
#include "lb.h"

static void emit_backends(struct emitter *e, const struct lb *lb)
{
	struct bg_lb_health health;
	struct bg_lb_backend be;
	uint32_t i, s, key;

	for (s = 0; s < lb->nsvc; s++) {
		const struct lb_service *svc = &lb->svc[s];

		for (i = svc->first; i < svc->first + svc->n; i++) {
			const struct lb_backend *b = &lb->be[i];

			memset(&be, 0, sizeof(be));
			memcpy(be.addr, b->addr.addr, sizeof(be.addr));
			be.port = htons((uint16_t)b->port);
			be.family = b->addr.fam;
			be.flags = b->down ? BG_LB_BF_DOWN : 0;
			be.weight = b->weight;
			be.svc = svc->id;
			key = e->gen * BG_LB_MAX_BACKENDS + i;
			map_line(e, "bg_lb_backend", &key, sizeof(key), &be,
				 sizeof(be));
			memset(&health, 0, sizeof(health));
			health.up = !b->down;
			map_line(e, "bg_lb_health", &key, sizeof(key), &health,
				 sizeof(health));
		}
	}
}

/* One line a position: up to BG_LB_RING_PER_GEN of them. */
static void emit_ring(struct emitter *e, const struct lb_service *svc)
{
	uint32_t pos, key;

	for (pos = 0; pos < svc->ring_size; pos++) {
		key = e->gen * BG_LB_RING_PER_GEN + svc->ring_off + pos;
		map_line(e, "bg_lb_ring", &key, sizeof(key), &svc->ring[pos],
			 sizeof(svc->ring[pos]));
	}
}

static void emit_sinfo(struct emitter *e, const struct lb *lb,
		       const struct lb_service *svc, uint32_t key)
{
	const struct lb_health *h = lb_health_of(lb, svc->name);
	struct bg_lb_sinfo info;

	memset(&info, 0, sizeof(info));
	memcpy(info.name, svc->name, sizeof(info.name));
	info.line = (uint32_t)svc->line;
	if (h) {
		info.check = h->check;
		info.interval_s = h->interval_s;
		info.timeout_s = h->timeout_s;
		info.fall = h->fall;
		info.rise = h->rise;
		memcpy(info.path, h->path, sizeof(info.path));
	}
	map_line(e, "bg_lb_sinfo", &key, sizeof(key), &info, sizeof(info));
}

static void emit_service(struct emitter *e, const struct lb *lb,
			 const struct lb_service *svc)
{
	struct bg_lb_vip_key vk;
	struct bg_lb_svc v;
	uint32_t key = e->gen * BG_LB_SVC_SLOTS + svc->id;
	uint64_t turn = 0;

	emit_ring(e, svc);
	emit_sinfo(e, lb, svc, key);
	map_line(e, "bg_lb_rr", &key, sizeof(key), &turn, sizeof(turn));
	memset(&vk, 0, sizeof(vk));
	vk.gen = e->gen;
	memcpy(vk.addr, svc->vip.addr, sizeof(vk.addr));
	vk.port = htons((uint16_t)svc->port);
	vk.proto = svc->proto;
	vk.family = svc->vip.fam;
	memset(&v, 0, sizeof(v));
	v.id = svc->id;
	v.ring_off = svc->ring_off;
	v.ring_size = svc->ring_size;
	v.sched = svc->sched;
	v.nbackends = (uint16_t)svc->n;
	v.first_backend = svc->first;
	map_line(e, "bg_lb_vip", &vk, sizeof(vk), &v, sizeof(v));
}

void lb_emit(struct emitter *e)
{
	const struct lb *lb = e->rs->lb;
	size_t s;

	if (!lb || !lb->nsvc)
		return;
	emit_backends(e, lb);
	for (s = 0; s < lb->nsvc; s++)
		emit_service(e, lb, &lb->svc[s]);
}
