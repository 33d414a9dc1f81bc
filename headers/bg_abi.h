/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfguard ABI: every concept's ABI header. Programs and tools that need
 * one concept include its header (bg_fw_abi.h, bg_ct_abi.h, bg_xdp_abi.h);
 * this one is for those that need them all (bg-abi, the tests).
 */
#ifndef BG_ABI_H
#define BG_ABI_H

#include "bg_abi_common.h"
#include "bg_fw_abi.h"
#include "bg_ct_abi.h"
#include "bg_xdp_abi.h"
#include "bg_frag_abi.h"
#include "bg_rl_abi.h"
#include "bg_lb_abi.h"
#include "bg_scrub_abi.h"

#endif /* BG_ABI_H */
