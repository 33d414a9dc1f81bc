// SPDX-License-Identifier: GPL-2.0
/* ROUTING of a filter rule: route-to, reply-to, dup-to. */
#include "family.h"

void rule_parse_route(struct cursor *c, struct rule *r, struct token **seen)
{
	(void)c;
	(void)r;
	(void)seen;
}
