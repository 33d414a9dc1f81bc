#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""ctcheck: drive tc_conntrack through BPF_PROG_TEST_RUN and check results.

usage: ctcheck.py --bpffs DIR --progs DIR < SCRIPT

SCRIPT: one command per line, "COMMAND [:: EXPECTED]" ('#' lines and blank
lines skipped). Every failed expectation is printed; exit status 1 if any.

  in EXPR [@iif=N] [@if=N] [@segs=N] :: CLASS   run the ingress program
  eg EXPR [@iif=N] [@if=N] [@segs=N] :: CLASS   run the egress program
        @iif: skb ingress_ifindex; @if: the device (ifindex, must exist);
        @segs: a GSO packet of N segments (gso_segs, gso_size 1448).
        EXPR: a test/lib/pkt.py builder expression. CLASS: NEW,
        ESTABLISHED, RELATED, INVALID or NONE (no class counter moved:
        untracked or skipped). Also checked every time: return value
        TC_ACT_UNSPEC (-1) and output frame == input frame.
  entry PROTO A APORT B BPORT :: absent | FIELD=VALUE ...
        the entry of that flow (either direction). Fields: state (name),
        flags (exact comma list or -), origin (the initiator's address),
        pkts=ORIG/REPLY, bytes=ORIG/REPLY, rule, cookie (0 or nonzero),
        ifs=ORIG/REPLY (the interfaces each direction is expected on).
        PROTO may carry VLAN ids: tcp@100 or tcp@100.200 (outer.inner).
  clock SECONDS        advance the conntrack clock (bg_ct_clock offset)
  timeout IDX SECONDS  set bg_ct_config.timeout[IDX] (both generations)
  limit N [GEN]        set bg_ct_config.limit_states (of GEN, else both)
  gen N                make generation N the active one (bg_fw_active)
  ifidx N              add ifindex N to bg_ct_ifidx
  local ADDR           add ADDR to bg_ct_local (one of the host's addresses)
  sweep                a whole sweep pass now (tc/sweep, command FULL)
  tick :: N            one timer tick of the sweep; N: entries deleted
  ticks N :: TOTAL     N timer ticks: entries deleted in all (an error if
                       any tick deleted more than its budget, 1024)
  flush [ADDR] :: N    tc/sweep command FLUSH (every flow, or ADDR's);
                       N: entries deleted
  stat NAME :: N       a bg_ct_stats counter (summed over CPUs)
  src ADDR :: N        bg_ct_src4/6 counter of ADDR (0 when absent)
  live :: N            live flows, both families (bg_ct_live)
  live4 :: N, live6 :: N   live flows of one family
  evicted :: N         bg_ct_live's evicted, both families
  count :: N           entries in bg_ct4 + bg_ct6
  flood N [OCTET]      N new UDP flows in, 192.0.2.OCTET:1.. -> 198.51.100.1:53
                       (OCTET default 10)
  forget PROTO A APORT B BPORT   delete an entry behind conntrack's back
                       (what an LRU eviction does)
  armed :: N           bg_ct_timer's "armed" word
  noarm                mark the sweep timer armed without starting it, so
                       only "tick" runs the sweep (deterministic slices)

  fwstat NAME :: N     a bg_fw_stats counter (the firewall's, summed)
  frags TABLE :: N|<=N entries in a fragment table: 4flow, 4rule, 6flow,
                       6rule (bg_frag4_flow ...); <=N: at most N, not 0

  xdp EXPR [@if=N] :: VERDICT RULE
        run xdp_firewall (pinned under the bpffs by up.sh's loader) on the
        frame arriving on ifindex N: VERDICT XDP_PASS/XDP_DROP, RULE the
        rule id whose counter moved or CT (passed by phase 0).

Expressions may also use qproto4(SRC, DST, PROTO) (an IPv4 header of
another protocol), qfrag6(SRC, DST, OFFSET, SPORT, DPORT) (IPv6 + Fragment
header + UDP), and q4(SRC, DST, PROTO, SPORT, DPORT) and q6(...):
the IP + L4 header bytes an ICMP error quotes (PROTO 6, 17, 1 or 58; an
ICMP echo request with identifier SPORT for 1 and 58).
"""
import argparse
import ipaddress
import os
import shlex
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import bpfrun  # noqa: E402
import fixture  # noqa: E402
import fwcheck  # noqa: E402
import pkt  # noqa: E402

# Layouts, enum names and sizes come from build/bg-abi (the ABI headers).
STATS = abi.enum_names("bg_ct_stat", "BG_CT_STAT_")
FW_STATS = abi.enum_names("bg_fw_stat", "BG_STAT_")
CLASSES = [n.upper() for n in abi.enum_names("bg_ct_class", "BG_CT_")]
STATES = [n.upper() for n in abi.enum_names("bg_ct_state", "BG_CTS_")]
FLAGS = [n.upper() for n in abi.enum_names("bg_ct_flags", "BG_CTF_")]
PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}
ENTRY_SIZE = abi.size("bg_ct_entry")
CONFIG_SIZE = abi.size("bg_ct_config")
COUNT_SIZE = abi.size("bg_ct_count")
CMD_MAGIC = 0x62674354  # BG_CT_CMD_MAGIC
CMD_TICK, CMD_FULL, CMD_FLUSH = 0, 1, 2
SWEEP_DELETE = 1024  # BG_CT_SWEEP_DELETE: deletions per tick at most
STATE_SIZE = 104  # struct bg_ct_sweep_state (progs/tc_conntrack.c)
SKB_CTX = fixture.SKB_CTX


def q4(src, dst, proto, sport, dport):
    from scapy.layers.inet import ICMP, IP, TCP, UDP

    l4 = {6: lambda: TCP(sport=sport, dport=dport, flags="S"),
          17: lambda: UDP(sport=sport, dport=dport),
          1: lambda: ICMP(type=8, id=sport)}[proto]()
    return bytes(IP(src=src, dst=dst) / l4)


def q6(src, dst, proto, sport, dport):
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

    l4 = {6: lambda: TCP(sport=sport, dport=dport, flags="S"),
          17: lambda: UDP(sport=sport, dport=dport),
          58: lambda: ICMPv6EchoRequest(id=sport)}[proto]()
    return bytes(IPv6(src=src, dst=dst) / l4)


def qproto4(src, dst, proto):
    """IPv4 header of protocol PROTO (no L4 header known to conntrack)."""
    from scapy.layers.inet import IP

    return bytes(IP(src=src, dst=dst, proto=proto)) + bytes(8)


def qfrag6(src, dst, offset, sport=0, dport=0):
    """IPv6 header + Fragment header (UDP), + the UDP header at offset 0."""
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment

    p = IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(offset=offset, m=1, nh=17)
    p = p / (UDP(sport=sport, dport=dport) if offset == 0 else bytes(8))
    return bytes(p)


EVAL_NS = dict(fixture.EVAL_NS, q4=q4, q6=q6, qproto4=qproto4, qfrag6=qfrag6)


class Checker(fwcheck.FwFixture):
    name = "ctcheck"
    eval_ns = EVAL_NS

    def __init__(self, bpffs, progs):
        super().__init__(bpffs)
        g = os.path.join(bpffs, "tc", "globals")
        self.m = {n: bpfrun.obj_get(os.path.join(g, n)) for n in (
            "bg_ct4", "bg_ct6", "bg_ct_config", "bg_ct_stats", "bg_ct_live",
            "bg_ct_src4", "bg_ct_src6", "bg_ct_ifidx", "bg_ct_timer",
            "bg_ct_clock", "bg_ct_local")}
        self.p = {n: bpfrun.obj_get(os.path.join(progs, "bg_ct_" + n))
                  for n in ("ingress", "egress", "sweep")}

    # ---------------------------------------------------------- maps
    def stat(self, name):
        idx = STATS.index(name)
        vals = bpfrun.map_lookup_percpu(self.m["bg_ct_stats"], struct.pack("<I", idx), 8)
        return sum(struct.unpack("<Q", v[:8])[0] for v in vals)

    def config(self, gen=0):
        return bytearray(bpfrun.map_lookup(self.m["bg_ct_config"], struct.pack("<I", gen),
                                           CONFIG_SIZE))

    def set_config(self, cfg, gens=(0, 1)):
        for gen in gens:
            bpfrun.map_update(self.m["bg_ct_config"], struct.pack("<I", gen), bytes(cfg))

    def live(self, fam):
        v = abi.unpack("bg_ct_count", bpfrun.map_lookup(
            self.m["bg_ct_live"], struct.pack("<I", fam), COUNT_SIZE))
        ins, dele, ev = v["inserted"], v["deleted"], v["evicted"]
        return max(ins - dele - ev, 0), ev

    def key(self, proto, a, ap, b, bp):
        proto, _, vl = proto.partition("@")
        vlans = [int(x) for x in vl.split(".")] if vl else []
        vlans = (vlans + [0, 0])[:2]
        a, b = ipaddress.ip_address(a), ipaddress.ip_address(b)
        sa, sb = (a.packed, struct.pack(">H", ap)), (b.packed, struct.pack(">H", bp))
        lo, hi = (sa, sb) if sa <= sb else (sb, sa)
        k = (lo[0] + hi[0] + lo[1] + hi[1] + struct.pack("<HH", *vlans) +
             bytes([PROTOS[proto], 0, 0, 0]))
        return ("bg_ct4" if a.version == 4 else "bg_ct6"), k, lo[0]

    def command(self, op, addr=None):
        """Run tc/sweep with a command; returns its return value."""
        fam, a = 0, bytes(16)
        if addr:
            ip = ipaddress.ip_address(addr)
            fam, a = (0 if ip.version == 4 else 1), ip.packed.ljust(16, b"\0")
        data = struct.pack("<4I", CMD_MAGIC, op, fam, 0 if addr else 1) + a
        data = data.ljust(64, b"\0")
        ret, _, _ = bpfrun.test_run(self.p["sweep"], data, ctx=bytes(SKB_CTX))
        return ret

    def entry(self, proto, a, ap, b, bp):
        mname, k, lo = self.key(proto, a, int(ap), b, int(bp))
        raw = bpfrun.map_lookup(self.m[mname], k, ENTRY_SIZE)
        if raw is None:
            return None
        e = abi.unpack("bg_ct_entry", raw)
        flags = e["flags"]
        alen = 4 if mname == "bg_ct4" else 16
        side1 = k[alen:2 * alen]
        init = side1 if flags & 1 else k[:alen]
        return {
            "state": STATES[e["state"]] if e["state"] < len(STATES) else str(e["state"]),
            "flags": ",".join(n for i, n in enumerate(FLAGS) if flags & (1 << i)) or "-",
            "origin": str(ipaddress.ip_address(init)),
            "pkts": "%d/%d" % tuple(e["packets"]),
            "bytes": "%d/%d" % tuple(e["bytes"]),
            "cookie": "0" if e["sock_cookie"] == 0 else "nonzero",
            "rule": str(e["rule_id"]),
            "xdp_status": str(e["xdp_status"]),
            "ifs": "%d/%d" % tuple(e["ifindex"]),
        }

    def count(self):
        return sum(1 for n in ("bg_ct4", "bg_ct6") for _ in bpfrun.map_keys(self.m[n]))

    # ---------------------------------------------------------- runs
    def run(self, prog, frame, iif=0, ifi=0, segs=0):
        ctx = bytearray(SKB_CTX)
        struct.pack_into("<I", ctx, 36, iif)
        struct.pack_into("<I", ctx, 40, ifi)
        if segs:
            struct.pack_into("<I", ctx, 164, segs)  # gso_segs
            struct.pack_into("<I", ctx, 176, 1448)  # gso_size
        before = [self.stat(n) for n in ("new", "established", "related", "invalid")]
        ret, out, _ = bpfrun.test_run(self.p[prog], frame, ctx=bytes(ctx))
        after = [self.stat(n) for n in ("new", "established", "related", "invalid")]
        moved = [CLASSES[i] for i in range(4) if after[i] != before[i]]
        cls = moved[0] if len(moved) == 1 else "NONE" if not moved else "MANY"
        ret = ret - (1 << 32) if ret >= 1 << 31 else ret
        return cls, ret, out == frame



    # ------------------------------------------------------- commands
    def _track(self, prog, rest):
        expr, o = fixture.options(rest)
        frame = fixture.packet(expr, EVAL_NS)
        cls, ret, same = self.run(prog, frame, int(o.get("iif", 0)),
                                  int(o.get("if", 0)), int(o.get("segs", 0)))
        if ret != -1:
            self.fail(self.lineno, self.line, "return value %d, want -1" % ret)
        if not same:
            self.fail(self.lineno, self.line, "the program changed the frame")
        return cls

    def cmd_in(self, rest, want):
        return self._track("ingress", rest)

    def cmd_eg(self, rest, want):
        return self._track("egress", rest)

    def cmd_entry(self, rest, want):
        a = shlex.split(rest)
        e = self.entry(*a)
        if want == "absent":
            got = "absent" if e is None else "present %r" % e
        elif e is None:
            got = "absent"
        else:
            bad = []
            for kv in want.split():
                k, v = kv.split("=", 1)
                if e.get(k) != v:
                    bad.append("%s=%s" % (k, e.get(k)))
            got = want if not bad else " ".join(bad) + " (entry %r)" % e
        return got

    def cmd_clock(self, rest, want):
        m = self.m["bg_ct_clock"]
        off = struct.unpack("<q", bpfrun.map_lookup(m, struct.pack("<I", 0), 8))[0]
        off += int(float(rest) * 1e9)
        bpfrun.map_update(m, struct.pack("<I", 0), struct.pack("<q", off))

    def cmd_timeout(self, rest, want):
        idx, sec = map(int, rest.split())
        cfg = self.config()
        struct.pack_into("<I", cfg, abi.offset("bg_ct_config", "timeout") + 4 * idx, sec)
        self.set_config(cfg)

    def cmd_limit(self, rest, want):
        a = rest.split()
        gens = (int(a[1]),) if len(a) > 1 else (0, 1)
        for g in gens:
            cfg = self.config(g)
            abi.pack_into("bg_ct_config", cfg, "limit_states", int(a[0]))
            self.set_config(cfg, (g,))

    def cmd_gen(self, rest, want):
        act = bpfrun.obj_get(os.path.join(self.bpffs, "tc", "globals", "bg_fw_active"))
        bpfrun.map_update(act, struct.pack("<I", 0), struct.pack("<II", int(rest), 0))

    def cmd_ifidx(self, rest, want):
        bpfrun.map_update(self.m["bg_ct_ifidx"], struct.pack("<I", int(rest)),
                          struct.pack("<I", 1))

    def cmd_local(self, rest, want):
        a = ipaddress.ip_address(rest.strip())
        k = struct.pack("<I", 0 if a.version == 4 else 1) + a.packed.ljust(16, b"\0")
        bpfrun.map_update(self.m["bg_ct_local"], k, struct.pack("<I", 1))

    def cmd_sweep(self, rest, want):
        self.command(CMD_FULL)

    def cmd_tick(self, rest, want):
        before = self.stat("expired")
        self.command(CMD_TICK)
        got = str(self.stat("expired") - before)
        return got

    def cmd_ticks(self, rest, want):
        total = most = 0
        for _ in range(int(rest)):
            before = self.stat("expired")
            self.command(CMD_TICK)
            n = self.stat("expired") - before
            total += n
            most = max(most, n)
        got = str(total)
        if most > SWEEP_DELETE:
            self.fail(self.lineno, self.line, "a tick deleted %d entries" % most)
        return got

    def cmd_flush(self, rest, want):
        return str(self.command(CMD_FLUSH, rest.strip() or None))

    def cmd_stat(self, rest, want):
        return str(self.stat(rest.strip()))

    def cmd_fwstat(self, rest, want):
        m = bpfrun.obj_get(os.path.join(self.bpffs, "tc", "globals", "bg_fw_stats"))
        idx = FW_STATS.index(rest.strip())
        vals = bpfrun.map_lookup_percpu(m, struct.pack("<I", idx), 8)
        return str(sum(struct.unpack("<Q", v[:8])[0] for v in vals))

    def cmd_frags(self, rest, want):
        t = rest.strip()
        name = "bg_frag%s_%s" % (t[0], t[1:])
        m = bpfrun.obj_get(os.path.join(self.bpffs, "tc", "globals", name))
        n = len(list(bpfrun.map_keys(m)))
        if want.startswith("<=") and 0 < n <= int(want[2:]):
            return want
        return str(n)

    def cmd_src(self, rest, want):
        a = ipaddress.ip_address(rest.strip())
        m = self.m["bg_ct_src4" if a.version == 4 else "bg_ct_src6"]
        v = bpfrun.map_lookup(m, a.packed, 8)
        got = str(struct.unpack("<q", v)[0] if v else 0)
        return got

    def cmd_live(self, rest, want):
        return str(self.live(0)[0] + self.live(1)[0])

    def cmd_live4(self, rest, want):
        return str(self.live(0)[0])

    def cmd_live6(self, rest, want):
        return str(self.live(1)[0])

    def cmd_evicted(self, rest, want):
        return str(self.live(0)[1] + self.live(1)[1])

    def cmd_forget(self, rest, want):
        a = rest.split()
        mname, k, _ = self.key(a[0], a[1], int(a[2]), a[3], int(a[4]))
        bpfrun.map_delete(self.m[mname], k)

    def cmd_noarm(self, rest, want):
        v = bytearray(STATE_SIZE)
        struct.pack_into("<Q", v, 16, 1)
        bpfrun.map_update(self.m["bg_ct_timer"], struct.pack("<I", 0), bytes(v))

    def cmd_armed(self, rest, want):
        v = bpfrun.map_lookup(self.m["bg_ct_timer"], struct.pack("<I", 0), STATE_SIZE)
        got = str(struct.unpack_from("<Q", v, 16)[0])
        return got

    def cmd_count(self, rest, want):
        return str(self.count())

    def cmd_flood(self, rest, want):
        a = rest.split()
        octet = int(a[1]) if len(a) > 1 else 10
        runner = bpfrun.ProgRunner(self.p["ingress"])
        for i in range(int(a[0])):
            frame = pkt.udp4(src="192.0.2.%d" % octet, dst="198.51.100.1",
                             sport=1 + i, dport=53)
            runner.run(frame, ctx=bytes(SKB_CTX))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--progs", required=True)
    args = ap.parse_args()
    sys.exit(Checker(args.bpffs, args.progs).script(sys.stdin))


if __name__ == "__main__":
    main()
