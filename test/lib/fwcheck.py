#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fwcheck: run xdp_firewall on packets and report verdict and rule id.

usage: fwcheck.py --bpffs DIR [--ifindex N]
       fwcheck.py --bpffs DIR --script < FIXTURE   (test/lib/fixture.py)
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
import abi  # noqa: E402
import bpfrun  # noqa: E402
import fixture  # noqa: E402
import pkt  # noqa: E402

HITS_PER_GEN = abi.const("BG_FW_HITS_PER_GEN")
META_LEN = abi.size("bg_xdp_meta")
META_F_CT = abi.const("BG_META_F_CT")
NAMES = fixture.XDP_NAMES


def judge(ret, rule, pkt, out):
    """SAME, or what differs: the frame, or the metadata of a passed packet."""
    if len(out) == len(pkt) + META_LEN and out[META_LEN:] == pkt:
        meta = abi.unpack("bg_xdp_meta", out[:META_LEN])
        meta_rule, meta_flags = meta["rule_id"], meta["flags"]
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


class Firewall:
    """The pinned xdp_firewall of a bpffs and its active generation's rule
    counters: run() classifies one frame and says which rule decided it."""

    def __init__(self, bpffs):
        gdir = os.path.join(bpffs, "tc", "globals")
        progs = glob.glob(os.path.join(bpffs, "bpfguard", "*", "bg_fw_xdp"))
        if len(progs) != 1:
            sys.exit("fwcheck: expected one pinned bg_fw_xdp (xdp_firewall), found %r" % progs)
        self.prog = bpfrun.obj_get(progs[0])
        self.hits = bpfrun.obj_get(os.path.join(gdir, "bg_fw_hits"))
        active = bpfrun.obj_get(os.path.join(gdir, "bg_fw_active"))
        gens = bpfrun.obj_get(os.path.join(gdir, "bg_fw_gens"))
        gen = struct.unpack("<I", bpfrun.map_lookup(active, struct.pack("<I", 0), 8)[:4])[0]
        ginfo = bpfrun.map_lookup(gens, struct.pack("<I", gen), abi.size("bg_fw_gen"))
        self.nids = abi.unpack("bg_fw_gen", ginfo)["nids"]
        self.base = gen * HITS_PER_GEN
        self.runners = {}
        self.before = self.counters()

    def counters(self):
        out = []
        for rid in range(self.nids + 1):
            vals = bpfrun.map_lookup_percpu(self.hits, struct.pack("<I", self.base + rid), 16)
            out.append(sum(struct.unpack("<Q", v[:8])[0] for v in vals))
        return out

    def run(self, pkt, ifindex=None):
        """(retval, rule id as a string or "none"/"many", judge(...))."""
        if ifindex not in self.runners:
            self.runners[ifindex] = bpfrun.ProgRunner(self.prog, ingress_ifindex=ifindex)
        ret, out, _ = self.runners[ifindex].run(pkt)
        after = self.counters()
        moved = [i for i in range(len(after)) if after[i] != self.before[i]]
        self.before = after
        rule = str(moved[0]) if len(moved) == 1 else "none" if not moved else "many"
        return ret, rule, judge(ret, rule, pkt, out)


class FwFixture(fixture.Fixture):
    """Fixture commands for the firewall (ctcheck's Checker adds
    conntrack's):

      xdp PACKET [@if=N] :: VERDICT RULE|CT [SAME-or-what-differs]
            run the pinned firewall on PACKET arriving on ifindex N: the
            verdict, the rule whose counter moved (or CT: passed by phase
            0), and anything wrong with the output frame or metadata.
      fragflood N SRC PORT [@sport=P] [@if=N] :: PASSED
            N first fragments of UDP datagrams from SRC:P (default 1000)
            to 198.51.100.1:PORT, identifications 1..N (N <= 65535): how
            many the firewall passed."""
    name = "fwcheck"

    def __init__(self, bpffs):
        super().__init__()
        self.bpffs = bpffs
        self.fw = None

    def cmd_xdp(self, rest, want):
        expr, o = fixture.options(rest)
        frame = fixture.packet(expr, getattr(self, "eval_ns", None))
        if self.fw is None:
            self.fw = Firewall(self.bpffs)
        ret, rule, verdict = self.fw.run(frame, int(o["if"]) if "if" in o else None)
        name = NAMES.get(ret, str(ret))
        if verdict == "CT":
            return name + " CT"
        if verdict == "SAME":
            return "%s %s" % (name, rule)
        return "%s %s %s" % (name, rule, verdict)


    def cmd_fragflood(self, rest, want):
        args, o = fixture.options(rest)
        n, src, port = args.split()
        frame = bytearray(pkt.udp4(src=src, dst="198.51.100.1",
                                   sport=int(o.get("sport", 1000)),
                                   dport=int(port), payload=b"f" * 1472,
                                   mf=True, ident=0))
        if self.fw is None:
            self.fw = Firewall(self.bpffs)
        runner = bpfrun.ProgRunner(self.fw.prog,
                                   ingress_ifindex=int(o["if"]) if "if" in o else None)
        passed = 0
        for ident in range(1, int(n) + 1):
            # The IPv4 identification (Ethernet 14 + 4); the firewall
            # does not check the header checksum.
            struct.pack_into("!H", frame, 18, ident)
            ret, _, _ = runner.run(bytes(frame))
            passed += ret == 2
        self.fw.before = self.fw.counters()
        return str(passed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--ifindex", type=int, default=None)
    ap.add_argument("--script", action="store_true",
                    help="stdin is a fixture script (FwFixture's commands)")
    args = ap.parse_args()
    if args.script:
        sys.exit(FwFixture(args.bpffs).script(sys.stdin))

    fw = Firewall(args.bpffs)
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ret, rule, verdict = fw.run(bytes.fromhex(line), args.ifindex)
        print(NAMES.get(ret, str(ret)), rule, verdict, flush=True)


if __name__ == "__main__":
    main()
