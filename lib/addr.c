// SPDX-License-Identifier: GPL-2.0
/* Address formatting. */
#include <arpa/inet.h>
#include <errno.h>

#include "bg_abi.h"
#include "bg_addr.h"

int bg_addr_format(const void *addr, unsigned int family, char *buf,
		   size_t size)
{
	int af;

	if (size)
		buf[0] = '\0';
	if (family == BG_FAM_INET)
		af = AF_INET;
	else if (family == BG_FAM_INET6)
		af = AF_INET6;
	else
		return -EAFNOSUPPORT;
	if (!inet_ntop(af, addr, buf, (socklen_t)size)) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}
