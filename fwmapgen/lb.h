/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The load balancer (headers/bg_lb_abi.h): "service ... { backend ... }"
 * statements and "set health", parsed by lb_parse.c into struct ruleset
 * (lb), their rings filled by lb_ring.c, emitted by lb_emit.c, and the
 * backend a new flow gets named by lb_explain.c.
 */
#ifndef FWMAPGEN_LB_H
#define FWMAPGEN_LB_H

#include "bg_addr.h"
#include "bg_lb_abi.h"
#include "fwmapgen.h"

struct emitter;

/* Ring sizes are at least 100 x the backends: 655 fill the biggest one. */
#define LB_RING_PER_BACKEND 100
#define LB_SVC_BACKENDS_MAX (BG_LB_RING_MAX_SIZE / LB_RING_PER_BACKEND)

/* One "backend" line. */
struct lb_backend {
	struct prefix addr; /* a host address, of its service's family */
	uint32_t port; /* host order; the service's when none is given */
	uint32_t weight; /* 1..65535 */
	int down; /* "down" */
	int line;
};

/* One "service" statement; its backends are lb.be[first, first + n). */
struct lb_service {
	char name[BG_LB_NAME_LEN];
	int line;
	struct prefix vip;
	uint32_t port; /* host order */
	uint8_t proto; /* PROTO_TCP or PROTO_UDP */
	uint8_t sched; /* enum bg_lb_sched */
	uint32_t id; /* 1.., file order */
	uint32_t first;
	uint32_t n;
	uint32_t ring_off; /* in the generation's slice of bg_lb_ring */
	uint32_t ring_size; /* 0: every backend is "down" */
	uint32_t *ring; /* ring_size global backend indexes */
};

/* One "set health NAME ...": its bg_lb_sinfo fields. */
struct lb_health {
	char name[BG_LB_NAME_LEN];
	int line;
	uint16_t check; /* enum bg_lb_check */
	uint32_t interval_s;
	uint32_t timeout_s;
	uint32_t fall;
	uint32_t rise;
	char path[BG_LB_PATH_LEN];
};

struct lb {
	struct lb_service *svc;
	size_t nsvc;
	size_t svc_cap;
	struct lb_backend *be;
	size_t nbe;
	size_t be_cap;
	struct lb_health *health;
	size_t nhealth;
	size_t health_cap;
	uint32_t ring_used; /* slots of the generation's ring taken so far */
};

/* The fwmapgen features (--features): xdp_loadbalancer, and its
 * health checker. */
#define LB_FEATURE "loadbalancer"
#define LB_HEALTH_FEATURE "lbhealth"

/* lb_parse.c: does @rs have a service (a "set health")? */
size_t lb_services(const struct ruleset *rs);
size_t lb_healths(const struct ruleset *rs);
/* lb_parse.c: the "set health" of the service @name, or NULL */
const struct lb_health *lb_health_of(const struct lb *lb, const char *name);

/*
 * lb_ring.c: the ring size for @n backends (down ones counted), and
 * Maglev's population of @svc's ring from its backends that are not down
 * (svc->ring_size 0 when none is).
 */
uint32_t lb_ring_size(uint32_t n);
void lb_ring_fill(const struct lb *lb, struct lb_service *svc);

/* "ADDR:PORT", "[IPv6]:PORT" into @buf of LB_ENDPOINT_STRLEN */
#define LB_ENDPOINT_STRLEN (BG_ADDR_STRLEN + sizeof("[]:65535"))
void lb_endpoint_format(const struct prefix *a, uint32_t port, char *buf,
			size_t size);

/* lb_emit.c: bg_lb_vip, _backend, _health, _ring, _sinfo, _rr */
void lb_emit(struct emitter *e);
/* lb_explain.c: the backend a new flow of @pk gets ("loadbalancer: ...") */
void lb_explain(FILE *f, const struct ruleset *rs, const struct packet *pk);

#endif /* FWMAPGEN_LB_H */
