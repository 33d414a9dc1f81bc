// SPDX-License-Identifier: GPL-2.0
/* CONNECTION-LIMITS of a filter rule: max-src-conn ... overload <TABLE>. */
#include "family.h"

void rule_parse_limits(struct cursor *c, struct rule *r, struct token **seen)
{
	(void)c;
	(void)r;
	(void)seen;
}
