#!/usr/bin/env python3
"""make bench: the worst tick of tc_conntrack's sweep, on full tables.

usage: sweeptick.py BPFFS NEWFLOW_PROGS PROGS V4PKT V6PKT [ROUNDS]

Fills bg_ct4 and bg_ct6 to the limit with the bench-only "new flow on every
run" build (NEWFLOW_PROGS/bg_ct_ingress on the two packet files), expires
every entry (the test clock), and times one tick of PROGS/bg_ct_sweep: BG_CT_SWEEP_SLOTS ring slots
looked at, BG_CT_SWEEP_DELETE flows deleted, the most a tick does. Prints
"FLOWS NS" for the slowest of ROUNDS rounds (default 3): entries per
family, and ns for the tick.
The timer is marked armed first so that it never runs on its own here.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import bpfrun  # noqa: E402

SKB_CTX = bytes(192)
STATE_SIZE = 104  # struct bg_ct_sweep_state (progs/tc_conntrack.c)
ARMED_OFF = 16


def count(fd):
    return sum(1 for _ in bpfrun.map_keys(fd))


def main():
    bpffs, newflow, progs, v4, v6 = sys.argv[1:6]
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    g = os.path.join(bpffs, "tc", "globals")
    m = {n: bpfrun.obj_get(os.path.join(g, n))
         for n in ("bg_ct4", "bg_ct6", "bg_ct_timer", "bg_ct_clock")}
    fill = bpfrun.obj_get(os.path.join(newflow, "bg_ct_ingress"))
    sweep = bpfrun.obj_get(os.path.join(progs, "bg_ct_sweep"))
    zero = struct.pack("<I", 0)
    pkts = [open(v4, "rb").read(), open(v6, "rb").read()]
    worst = flows = 0
    for _ in range(rounds):
        st = bytearray(STATE_SIZE)
        struct.pack_into("<Q", st, ARMED_OFF, 1)
        bpfrun.map_update(m["bg_ct_timer"], zero, bytes(st))
        bpfrun.map_update(m["bg_ct_clock"], zero, struct.pack("<q", 0))
        for p in pkts:
            # More runs than the limit: some draws repeat a flow.
            bpfrun.test_run(fill, p, repeat=90000, ctx=SKB_CTX)
        flows = min(count(m["bg_ct4"]), count(m["bg_ct6"]))
        bpfrun.map_update(m["bg_ct_clock"], zero,
                          struct.pack("<q", 10 * 86400 * 10**9))
        _, _, ns = bpfrun.test_run(sweep, bytes(64), ctx=SKB_CTX)
        worst = max(worst, ns)
        # Empty the tables for the next round: a whole pass.
        cmd = struct.pack("<4I", 0x62674354, 1, 0, 1).ljust(64, b"\0")
        bpfrun.test_run(sweep, cmd, ctx=SKB_CTX)
    print(flows, worst)


if __name__ == "__main__":
    main()
