/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the files a helper is told to read (it often runs as root). */
#ifndef BG_FILE_H
#define BG_FILE_H

#include <stddef.h>

/* bg_read_file() errors that are not errno values */
#define BG_READ_NOT_REGULAR (-1)
#define BG_READ_TOO_BIG (-2)

int bg_read_file(const char *path, size_t max, char **data, size_t *len);

#endif /* BG_FILE_H */
