#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""routecheck: the firewall's routing actions through BPF_PROG_TEST_RUN.

usage: routecheck.py --bpffs DIR --progs DIR --rt PIN < SCRIPT

A ctcheck script (ctcheck.py: conntrack's commands, and "xdp" for the
firewall) with these commands added:

  mark EXPR [@if=N] :: VERDICT RULE FLAGS
        run the pinned firewall on the frame: its verdict, the rule id
        and the flags of the XDP metadata it wrote (BG_META_F_* names
        without the prefix, '+'-joined, "-" for none; "nometa" when it
        wrote none)
  rt EXPR @rule=N @flags=F[+F] [@iif=N] [@if=N] :: VERDICT [-> same|PACKET]
        run tc_route's test build (build/test/tc_route_cb.o, pinned at
        --rt): the metadata the firewall would have written (rule id,
        BG_META_F_* names) comes in skb->cb, since a test run cannot hand
        XDP metadata to TC. VERDICT TC_ACT_*, then the output frame
  rte EXPR [@iif=N] [@if=N] :: VERDICT [-> same|PACKET]
        run tc_route's egress program (bg_rt_egress, pinned beside --rt):
        a packet leaving interface @if, made here (@iif 0) or forwarded
  ctrule PROTO A APORT B BPORT RULE
        set the rule id of that flow's entry (ctcheck's "entry" names
        it): what the firewall's metadata gives conntrack at ingress,
        which a test run cannot hand it
  fwstat NAME :: N
        a counter of bg_fw_stats (enum bg_fw_stat, lower case without
        BG_STAT_), summed over CPUs
  tap IFACE
        start capturing IPv4/IPv6 frames on IFACE (of this namespace)
  copy IFACE :: PACKET | none
        the next frame captured on IFACE (dup-to's copy), or none within
        half a second
"""
import argparse
import os
import select
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import bpfrun  # noqa: E402
import ctcheck  # noqa: E402
import fixture  # noqa: E402

META = {k[len("BG_META_F_"):]: v for k, v in abi._abi()["consts"].items()
        if k.startswith("BG_META_F_")}
FW_STATS = {k[len("BG_STAT_"):].lower(): v
            for k, v in abi.enum("bg_fw_stat").items() if not k.endswith("_MAX")}
META_LEN = abi.size("bg_xdp_meta")
ETH_P_ALL = 3


class RouteChecker(ctcheck.Checker):
    name = "routecheck"

    def __init__(self, bpffs, progs, rt):
        super().__init__(bpffs, progs)
        self.rt = bpfrun.obj_get(rt)
        self.rt_egress = bpfrun.obj_get(os.path.join(os.path.dirname(rt), "bg_rt_egress"))
        self.fwstats = bpfrun.obj_get(os.path.join(bpffs, "tc", "globals", "bg_fw_stats"))
        self.taps = {}

    def cmd_mark(self, rest, want):
        expr, o = fixture.options(rest)
        frame = fixture.packet(expr, self.eval_ns)
        if self.fw is None:
            self.fw = ctcheck.fwcheck.Firewall(self.bpffs)
        ifindex = int(o["if"]) if "if" in o else None
        ret, rule, _ = self.fw.run(frame, ifindex)
        # The same frame again for its output: the metadata in front.
        if ifindex is None:
            _, out, _ = bpfrun.test_run(self.fw.prog, frame)
        else:
            _, out, _ = bpfrun.test_run_xdp(self.fw.prog, frame, ingress_ifindex=ifindex)
        self.fw.before = self.fw.counters()
        if len(out) == len(frame) + META_LEN and out[META_LEN:] == frame:
            m = abi.unpack("bg_xdp_meta", out[:META_LEN])
            flags = "+".join(n for n, b in sorted(META.items(), key=lambda kv: kv[1])
                             if m["flags"] & b) or "-"
            if str(m["rule_id"]) != rule:
                flags += " (metadata names rule %d)" % m["rule_id"]
        elif out == frame:
            flags = "nometa"
        else:
            flags = "CHANGED"
        return "%s %s %s" % (fixture.XDP_NAMES.get(ret, str(ret)), rule, flags)

    def cmd_rt(self, rest, want):
        return self.run_tc(self.rt, rest, want, meta=True)

    def cmd_rte(self, rest, want):
        return self.run_tc(self.rt_egress, rest, want, meta=False)

    def cmd_ctrule(self, rest, want):
        a = rest.split()
        mname, k, _ = self.key(a[0], a[1], int(a[2]), a[3], int(a[4]))
        e = bytearray(bpfrun.map_lookup(self.m[mname], k, abi.size("bg_ct_entry")))
        abi.pack_into("bg_ct_entry", e, "rule_id", int(a[5]))
        bpfrun.map_update(self.m[mname], k, bytes(e))

    def run_tc(self, prog, rest, want, meta):
        expr, o = fixture.options(rest)
        frame = fixture.packet(expr, self.eval_ns)
        ctx = bytearray(fixture.SKB_CTX)
        struct.pack_into("<I", ctx, 36, int(o.get("iif", 0)))
        struct.pack_into("<I", ctx, 40, int(o.get("if", 0)))
        if meta:
            flags = 0
            for n in o.get("flags", "").split("+"):
                if n:
                    flags |= META[n]
            struct.pack_into("<II", ctx, 48, int(o["rule"]), flags)  # cb[0], cb[1]
        ret, out, _ = bpfrun.test_run(prog, frame, ctx=bytes(ctx))
        ret = ret - (1 << 32) if ret >= 1 << 31 else ret
        verdict = fixture.TC_NAMES.get(ret, str(ret))
        want_verdict, _, want_out = want.partition(" -> ")
        if want_out:
            expect = frame if want_out.strip() == "same" else \
                fixture.packet(want_out, self.eval_ns)
            diff = fixture.frame_diff(out, expect)
            if diff:
                self.fail(self.lineno, self.line, "output frame: " + diff)
        return want if verdict == want_verdict.strip() else verdict

    def cmd_fwstat(self, rest, want):
        vals = bpfrun.map_lookup_percpu(self.fwstats,
                                        struct.pack("<I", FW_STATS[rest.strip()]), 8)
        return str(sum(struct.unpack("<Q", v[:8])[0] for v in vals))

    def cmd_tap(self, rest, want):
        name = rest.strip()
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        self.taps[name] = s

    def cmd_copy(self, rest, want):
        s = self.taps[rest.strip()]
        while select.select([s], [], [], 0.5)[0]:
            frame, addr = s.recvfrom(65536)
            # What the peer sends itself (ND, MLD) is not a copy.
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if frame[12:14] not in (b"\x08\x00", b"\x86\xdd"):
                continue
            if frame[12:14] == b"\x86\xdd" and frame[20] == 58:
                continue
            if want == "none":
                return "got %s" % frame.hex()
            diff = fixture.frame_diff(frame, fixture.packet(want, self.eval_ns))
            return want if not diff else "copy: " + diff
        return "none"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--progs", required=True)
    ap.add_argument("--rt", required=True)
    args = ap.parse_args()
    sys.exit(RouteChecker(args.bpffs, args.progs, args.rt).script(sys.stdin))


if __name__ == "__main__":
    main()
