#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fixture: one runner for the BPF programs' fixtures, after Katran's
fixtures and Cilium's PKTGEN/SETUP/CHECK: input packets, the verdict, the
output packet and the map contents expected.

A fixture is a script, one step per line ('#' lines and blank lines
skipped):

    COMMAND ARGS [@OPT=VALUE ...] [:: EXPECTED]

The checkers (ctcheck.py for conntrack and the firewall's phase 0, and a
program's own when it needs commands of its own) subclass Fixture and add
commands as methods named cmd_<COMMAND>(rest, want) returning what they
got (compared with EXPECTED when one is given) or None. Every fixture has:

  prog NAME PATH              open the pinned program PATH as NAME
  map NAME PATH               open the pinned map PATH as NAME
  run NAME PACKET [@if=N] [@iif=N] [@gso=N] :: VERDICT [-> same|PACKET]
                              run program NAME on PACKET (a pkt.py
                              expression); VERDICT is XDP_* or TC_ACT_* (or
                              a number); "-> same": the output frame is the
                              input, byte for byte (XDP metadata in front
                              of it aside); "-> PACKET": it is that packet
  value NAME KEY STRUCT :: FIELD=V ...
                              map NAME's value at KEY (an integer: a u32
                              key, or hex bytes), decoded as the ABI's
                              STRUCT (or u64, or u64sum for a per-CPU
                              counter), checked field by field
  slot MAP KEY PROG           put program PROG into PROG_ARRAY MAP at KEY
  unslot MAP KEY              empty it

Usage as a program: fixture.py < SCRIPT (exit 1 when a step failed).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import bpfrun  # noqa: E402
import pkt  # noqa: E402

XDP_NAMES = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX",
             4: "XDP_REDIRECT"}
TC_NAMES = {-1: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 2: "TC_ACT_SHOT",
            7: "TC_ACT_REDIRECT"}
SKB_CTX = 192  # sizeof(struct __sk_buff): the kernel writes it all back
EVAL_NS = dict(vars(pkt))


def packet(expr, ns=None):
    """The bytes of a pkt.py expression (test input, trusted)."""
    return eval(expr, EVAL_NS if ns is None else ns)  # noqa: S307


def options(rest):
    """'EXPR @k=v @k2=v2' -> (EXPR, {k: v})."""
    parts = rest.split(" @")
    opts = {}
    for o in parts[1:]:
        k, _, v = o.partition("=")
        opts[k.strip()] = v.strip()
    return parts[0].strip(), opts


def frame_diff(got, want):
    """'' when equal, else where they first differ."""
    if got == want:
        return ""
    n = min(len(got), len(want))
    i = next((i for i in range(n) if got[i] != want[i]), n)
    return ("%d bytes, want %d; first difference at byte %d: got %s, want %s"
            % (len(got), len(want), i, got[i:i + 8].hex(), want[i:i + 8].hex()))


class Fixture:
    name = "fixture"

    def __init__(self):
        self.errors = 0
        self.progs = {}
        self.maps = {}

    # ----------------------------------------------------------- running
    def fail(self, lineno, line, msg):
        self.errors += 1
        print("line %d: %s: %s" % (lineno, line, msg), flush=True)

    def do(self, lineno, line):
        cmd, _, want = line.partition(" :: ")
        want = want.strip()
        op, _, rest = cmd.strip().partition(" ")
        handler = getattr(self, "cmd_" + op, None)
        if handler is None:
            self.fail(lineno, line, "unknown command")
            return
        self.lineno, self.line = lineno, line
        got = handler(rest.strip(), want)
        if want and got is not None and got != want:
            self.fail(lineno, line, "got %s" % got)

    def script(self, stream):
        """Run every step of a script; the exit code."""
        n = 0
        for lineno, line in enumerate(stream, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            n += 1
            try:
                self.do(lineno, line)
            except Exception as e:  # noqa: BLE001 (report, count, go on)
                self.fail(lineno, line, "%s: %s" % (type(e).__name__, e))
        if not n:
            sys.exit("%s: empty script" % self.name)
        return 1 if self.errors else 0

    # --------------------------------------------------------- programs
    @staticmethod
    def skb_ctx(ifindex=0, ingress_ifindex=0, gso_size=0):
        ctx = bytearray(SKB_CTX)
        struct.pack_into("<I", ctx, 36, ingress_ifindex)
        struct.pack_into("<I", ctx, 40, ifindex)
        if gso_size:  # a GSO packet of two segments
            struct.pack_into("<I", ctx, 164, 2)
            struct.pack_into("<I", ctx, 176, gso_size)
        return bytes(ctx)

    def run_prog(self, fd, frame, opts):
        """(verdict name, output frame) of one test run. XDP programs get
        @if as their ingress ifindex; TC programs an skb ctx with @if,
        @iif and @gso (a GSO packet of two segments of that size)."""
        if bpfrun.prog_info(fd)["type"] == 3:  # BPF_PROG_TYPE_SCHED_CLS
            ret, out, _ = bpfrun.test_run(fd, frame, ctx=self.skb_ctx(
                int(opts.get("if", 0)), int(opts.get("iif", 0)),
                int(opts.get("gso", 0))))
            ret = ret - (1 << 32) if ret >= 1 << 31 else ret
            return TC_NAMES.get(ret, str(ret)), out
        if "if" in opts:
            ret, out, _ = bpfrun.test_run_xdp(fd, frame, ingress_ifindex=int(opts["if"]))
        else:
            ret, out, _ = bpfrun.test_run(fd, frame)
        return XDP_NAMES.get(ret, str(ret)), out

    @staticmethod
    def strip_meta(out, frame):
        """The output frame without XDP metadata in front of it."""
        meta = abi.size("bg_xdp_meta")
        if len(out) == len(frame) + meta and out[meta:] == frame:
            return out[meta:]
        return out

    def cmd_prog(self, rest, want):
        name, path = rest.split()
        self.progs[name] = bpfrun.obj_get(path)

    def cmd_map(self, rest, want):
        name, path = rest.split()
        self.maps[name] = bpfrun.obj_get(path)

    def cmd_run(self, rest, want):
        name, _, rest = rest.partition(" ")
        expr, opts = options(rest)
        frame = packet(expr)
        verdict, out = self.run_prog(self.progs[name], frame, opts)
        want_verdict, _, want_out = want.partition(" -> ")
        if want_out:
            expect = frame if want_out.strip() == "same" else packet(want_out)
            diff = frame_diff(self.strip_meta(out, frame), expect)
            if diff:
                self.fail(self.lineno, self.line, "output frame: " + diff)
        # The verdict part decides; the frame was checked above.
        return want if verdict == want_verdict.strip() else verdict

    # -------------------------------------------------------------- maps
    @staticmethod
    def key_bytes(key):
        if all(c in "0123456789abcdefABCDEF" for c in key) and len(key) % 2 == 0 \
                and len(key) > 8:
            return bytes.fromhex(key)
        return struct.pack("<I", int(key, 0))

    def value(self, name, key, kind):
        fd = self.maps[name]
        k = self.key_bytes(key)
        if kind == "u64sum":
            vals = bpfrun.map_lookup_percpu(fd, k, 8)
            return {"value": sum(struct.unpack("<Q", v[:8])[0] for v in vals)}
        if kind == "u64":
            raw = bpfrun.map_lookup(fd, k, 8)
            return None if raw is None else {"value": struct.unpack("<Q", raw)[0]}
        raw = bpfrun.map_lookup(fd, k, abi.size(kind))
        return None if raw is None else abi.unpack(kind, raw)

    def cmd_value(self, rest, want):
        name, key, kind = rest.split()
        v = self.value(name, key, kind)
        if v is None:
            return "absent"
        if want == "absent":
            return "present %r" % v
        bad = []
        for kv in want.split():
            k, _, exp = kv.partition("=")
            if str(v.get(k)) != exp:
                bad.append("%s=%s" % (k, v.get(k)))
        return want if not bad else " ".join(bad)

    def cmd_slot(self, rest, want):
        mname, key, pname = rest.split()
        bpfrun.map_update(self.maps[mname], struct.pack("<I", int(key)),
                          struct.pack("<I", self.progs[pname]))

    def cmd_unslot(self, rest, want):
        mname, key = rest.split()
        bpfrun.map_delete(self.maps[mname], struct.pack("<I", int(key)))


def main():
    sys.exit(Fixture().script(sys.stdin))


if __name__ == "__main__":
    main()
