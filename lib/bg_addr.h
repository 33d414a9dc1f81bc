/* SPDX-License-Identifier: GPL-2.0 */
/* Addresses as the ABI carries them: __be32[4] plus an enum bg_family. */
#ifndef BG_ADDR_H
#define BG_ADDR_H

#include <stddef.h>

/* INET6_ADDRSTRLEN: the longest text form, with the NUL */
#define BG_ADDR_STRLEN 46

/*
 * The text form of @addr (16 bytes in network order, an IPv4 address in
 * the first 4) of @family (BG_FAM_INET, BG_FAM_INET6) into @buf, as
 * inet_ntop writes it. Returns 0, -EAFNOSUPPORT for another family or
 * -ENOSPC when @size is too small; @buf is "" then (when @size > 0).
 */
int bg_addr_format(const void *addr, unsigned int family, char *buf,
		   size_t size);

#endif /* BG_ADDR_H */
