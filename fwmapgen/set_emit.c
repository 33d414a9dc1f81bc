// SPDX-License-Identifier: GPL-2.0
/* The "set" statements' map entry: bg_ct_config. */
#include <string.h>

#include "emit.h"

/*
 * Conntrack settings: "set timeout" and "set limit states", 0 where unset
 * (the kernel's built-in default), in the generation's own entry: they
 * take effect with the switch to the generation, like its rules. Always
 * emitted (an all-zero entry puts the defaults back), and part of the
 * digest like any other line.
 */
void set_emit(struct emitter *e)
{
	struct bg_ct_config cfg;
	uint32_t key = e->gen;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.timeout, e->rs->ct_timeout, sizeof(cfg.timeout));
	cfg.limit_states = e->rs->ct_limit_states;
	map_line(e, "bg_ct_config", &key, sizeof(key), &cfg, sizeof(cfg));
}
