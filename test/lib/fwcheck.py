#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fwcheck: run xdp_firewall on packets and report verdict and rule id.

usage: fwcheck.py --bpffs DIR [--ifindex N]
    stdin:  one packet per line as hex ('#' lines and blank lines skipped)
    stdout: "VERDICT RULE SAME|CT|CHANGED|NOMETA|BADMETA" per packet,
            e.g. "XDP_DROP 3 SAME"; "XDP_PASS none CT": passed by phase 0

The rule id comes from the per-rule hit counters of the active generation
(the one counter that moved), so the program is observed exactly as it
runs; SAME says the output frame equals the input frame byte for byte and,
for a packet passed by a rule or the default policy, that the XDP metadata
in front of it (struct bg_xdp_meta, for TC) names that same rule.
"""
import argparse
import glob
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfrun  # noqa: E402

HITS_PER_GEN = 8193
META_LEN = 8  # struct bg_xdp_meta
META_F_CT = 1 << 2  # BG_META_F_CT
NAMES = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX",
         4: "XDP_REDIRECT"}


def judge(ret, rule, pkt, out):
    """SAME, or what differs: the frame, or the metadata of a passed packet."""
    if len(out) == len(pkt) + META_LEN and out[META_LEN:] == pkt:
        meta_rule, meta_flags, _ = struct.unpack("<IHH", out[:META_LEN])
        if ret == 2 and rule.isdigit() and meta_rule == int(rule):
            return "SAME"
        # Passed by phase 0 (conntrack): no rule counter moved.
        if ret == 2 and rule == "none" and meta_flags & META_F_CT:
            return "CT"
        return "BADMETA(%d)" % meta_rule
    if out != pkt:
        return "CHANGED"
    # Passed by a rule (or the default): TC must get the rule id.
    if ret == 2 and rule.isdigit():
        return "NOMETA"
    return "SAME"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--ifindex", type=int, default=None)
    args = ap.parse_args()

    globals_dir = os.path.join(args.bpffs, "tc", "globals")
    progs = glob.glob(os.path.join(args.bpffs, "bpfguard", "*", "xdp_firewall"))
    if len(progs) != 1:
        sys.exit("fwcheck: expected one pinned xdp_firewall, found %r" % progs)
    prog = bpfrun.obj_get(progs[0])
    hits = bpfrun.obj_get(os.path.join(globals_dir, "bg_fw_hits"))
    active = bpfrun.obj_get(os.path.join(globals_dir, "bg_fw_active"))
    gens = bpfrun.obj_get(os.path.join(globals_dir, "bg_fw_gens"))

    gen = struct.unpack("<I", bpfrun.map_lookup(active, struct.pack("<I", 0), 8)[:4])[0]
    ginfo = bpfrun.map_lookup(gens, struct.pack("<I", gen), 240)
    nids = struct.unpack("<I", ginfo[4:8])[0]
    base = gen * HITS_PER_GEN

    def counters():
        out = []
        for rid in range(nids + 1):
            vals = bpfrun.map_lookup_percpu(hits, struct.pack("<I", base + rid), 16)
            out.append(sum(struct.unpack("<Q", v[:8])[0] for v in vals))
        return out

    runner = bpfrun.ProgRunner(prog, ingress_ifindex=args.ifindex)
    before = counters()
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pkt = bytes.fromhex(line)
        ret, out, _ = runner.run(pkt)
        after = counters()
        moved = [i for i in range(len(after)) if after[i] != before[i]]
        before = after
        rule = str(moved[0]) if len(moved) == 1 else "none" if not moved else "many"
        print(NAMES.get(ret, str(ret)), rule, judge(ret, rule, pkt, out), flush=True)


if __name__ == "__main__":
    main()
