/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the pins are: the bpffs is $BG_BPFFS, else $FW_BPFFS (its older
 * name, still what the scripts set), else /sys/fs/bpf; an empty variable
 * counts as unset. Maps are pinned by name in its BG_PIN_SUBDIR
 * ("tc/globals"), where iproute2 pins them too.
 */
#ifndef BG_PIN_H
#define BG_PIN_H

#include <stddef.h>

#define BG_BPFFS_DEFAULT "/sys/fs/bpf"

const char *bg_bpffs(void);
/*
 * "BPFFS/tc/globals" and "BPFFS/tc/globals/NAME" into @buf; @bpffs NULL or
 * "": bg_bpffs(). Return 0, or -ENAMETOOLONG when @size is too small.
 */
int bg_pin_dir(char *buf, size_t size, const char *bpffs);
int bg_pin_path(char *buf, size_t size, const char *bpffs, const char *name);

#endif /* BG_PIN_H */
