/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bg_fw_log: the ring buffer of log records (struct bg_fw_log_event,
 * bg_fw_abi.h) that bg-events reads. The firewall's "log" rules and the
 * rate limiter's "action log" policies write to it; origin says which.
 */
#ifndef BG_LOG_MAPS_H
#define BG_LOG_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bg_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	BG_PINNED;
} bg_fw_log SEC(".maps");

#endif /* BG_LOG_MAPS_H */
