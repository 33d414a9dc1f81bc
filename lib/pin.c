// SPDX-License-Identifier: GPL-2.0
/* The bpffs and the pin paths in it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bg_abi.h"
#include "bg_pin.h"

const char *bg_bpffs(void)
{
	static const char *const vars[] = { "BG_BPFFS", "FW_BPFFS" };
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return BG_BPFFS_DEFAULT;
}

int bg_pin_dir(char *buf, size_t size, const char *bpffs)
{
	int n;

	if (!bpffs || !*bpffs)
		bpffs = bg_bpffs();
	n = snprintf(buf, size, "%s/%s", bpffs, BG_PIN_SUBDIR);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int bg_pin_path(char *buf, size_t size, const char *bpffs, const char *name)
{
	int n;

	if (!bpffs || !*bpffs)
		bpffs = bg_bpffs();
	n = snprintf(buf, size, "%s/%s/%s", bpffs, BG_PIN_SUBDIR, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
