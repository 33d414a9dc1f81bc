#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""randfw: random rulesets x random packets, kernel vs reference evaluator.

usage: randfw.py --repo DIR --bpffs DIR [--seeds N] [--first-seed S]
                 [--packets N] [--ifaces A,B]

For each seed: write a random ruleset (CIDRs that overlap a lot, negation,
tables mixing families, inline lists, inet/inet6, "on IFACE", VLAN ids,
protocols, port lists and ranges, TCP flags, ICMP types and codes, MAC
addresses, DSCP, connection states, default policy), load it with the project's own scripts/lib.sh (as up.sh does),
then run random frames through the pinned xdp_firewall with
BPF_PROG_TEST_RUN and compare verdict and rule id with
`fwmapgen --eval`. Prints one line per seed; exits 1 on the first
disagreement with the ruleset and the packet.
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwcheck  # noqa: E402

# Small universes so that prefixes nest and overlap often.
V4_BASES = [ipaddress.ip_network("192.0.2.0/24"),
            ipaddress.ip_network("198.51.100.0/24"),
            ipaddress.ip_network("203.0.113.0/24")]
V6_BASES = [ipaddress.ip_network("2001:db8::/120"),
            ipaddress.ip_network("2001:db8:0:1::/120"),
            ipaddress.ip_network("2001:db8:ff00::/120")]


def rand_addr(rng, fam):
    base = rng.choice(V4_BASES if fam == 4 else V6_BASES)
    return base[rng.randrange(base.num_addresses)]


def rand_prefix(rng, fam):
    a = rand_addr(rng, fam)
    if fam == 4:
        plen = rng.choice([0, 8, 16, 22, 24, 25, 26, 28, 30, 31, 32, 32, 32])
    else:
        plen = rng.choice([0, 16, 32, 64, 100, 120, 121, 124, 126, 127, 128, 128])
    return ipaddress.ip_network("%s/%d" % (a, plen), strict=False)


def fmt(net):
    full = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if full and random.random() < 0.5 else str(net)


PORTS = [0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 8080, 65534, 65535]


def rand_port(rng):
    p = rng.choice(PORTS)
    return min(65535, max(0, p + rng.choice([0, 0, 0, -1, 1])))


def rand_range(rng):
    a, b = sorted((rand_port(rng), rand_port(rng)))
    if rng.random() < 0.5 or a == b:
        return str(a)
    return "%d%s%d" % (a, rng.choice([":", "-"]), b)


def rand_ports(rng):
    if rng.random() < 0.6:
        return rand_range(rng)
    return "{ %s }" % ", ".join(rand_range(rng) for _ in range(rng.randint(1, 3)))


# Small pools, so that rules and packets meet often.
VLANS = [1, 10, 4095]
MACS = ["02:00:00:00:00:01", "02:00:00:00:00:02", "0a:bc:de:f0:12:34"]
DSCPS = [(0, "0"), (46, "ef"), (10, "af11"), (38, "af43"), (8, "cs1"),
         (56, "cs7"), (63, "63")]
FLAG_LETTERS = "FSRPAUEW"
# TCP flags of the packets, and the class phase 0 gives them with an empty
# connection table: only a SYN (ECN bits allowed) is new, the rest invalid.
TCP_FLAGS = [0x02, 0x02, 0xc2, 0x42, 0x12, 0x10, 0x03, 0x04, 0x18, 0x29,
             0x11, 0x14, 0x01, 0x00]
# ICMP types of the packets (no errors: their quote decides their class).
ICMP4_TYPES = [8, 8, 0, 13]
ICMP6_TYPES = [128, 128, 129, 200]
ICMP_CODES = [0, 0, 1, 3]


def rand_flags(rng):
    mask = rng.sample(range(8), rng.randint(1, 4))
    setb = [b for b in mask if rng.random() < 0.4]
    letters = lambda bits: "".join(FLAG_LETTERS[b] for b in sorted(bits))
    if rng.random() < 0.15:
        return letters(setb) or "S"  # F alone: every flag checked
    return "%s/%s" % (letters(setb), letters(mask))


def rand_set(rng, fams):
    return [rand_prefix(rng, rng.choice(fams)) for _ in range(rng.randint(0, 5))]


def gen_ruleset(rng, ifaces):
    lines = []
    tables = {}
    for i in range(rng.randint(0, 4)):
        name = "t%d" % i
        fams = rng.choice([[4], [6], [4, 6]])
        entries = rand_set(rng, fams)
        tables[name] = entries
        lines.append("table <%s> { %s }" % (name, ", ".join(fmt(e) for e in entries)))
    if rng.random() < 0.6:
        lines.append("set default %s" % rng.choice(["pass", "block"]))
    def fams_of(nets):
        return {n.version for n in nets} or {4, 6}

    # A third of the rulesets start with 64 to 250 narrow rules that few
    # packets match, so that first matches land in later 64-rule words
    # (the kernel visits only the words its summaries name).
    if rng.random() < 0.33:
        for _ in range(rng.randint(64, 250)):
            fam = rng.choice([4, 6])
            lines.append("%s proto %s from %s to %s port %d" % (
                rng.choice(["pass", "block"]), rng.choice(["tcp", "udp"]),
                rand_addr(rng, fam), rand_addr(rng, fam), rand_port(rng)))
    nrules = rng.randint(1, 40)
    while nrules:
        fam = rng.choice([4, 6, 0])  # 0: both families
        words = [rng.choice(["pass", "block"])]
        if rng.random() < 0.1:
            words.append("log")
        if ifaces and rng.random() < 0.25:
            words += ["on", rng.choice(ifaces)]
        restrict = None
        allowed = {4, 6}
        if fam and rng.random() < 0.2:
            restrict = "inet" if fam == 4 else "inet6"
            words.append(restrict)
            allowed = {fam}
        if rng.random() < 0.12:
            words += ["vlan", str(rng.choice(VLANS))]
        proto = None
        if rng.random() < 0.45:
            proto = rng.choice(["tcp", "udp", "tcp", "udp", "icmp", "icmp6", "47"])
            words += ["proto", proto]
            if proto == "icmp":
                allowed &= {4}
            elif proto == "icmp6":
                allowed &= {6}
        for kw in ("from", "to"):
            ports = None
            if proto in ("tcp", "udp") and rng.random() < 0.5:
                ports = rand_ports(rng)
            if rng.random() < 0.3:
                if ports:
                    words += [kw, "port", ports]
                continue
            choice = rng.random()
            neg = "!" if rng.random() < 0.25 else ""
            if choice < 0.15:
                words += [kw, "any"]
            elif choice < 0.55 and fam:
                words += [kw, neg + fmt(rand_prefix(rng, fam))]
                allowed &= {fam}
            elif choice < 0.8 and tables:
                name = rng.choice(sorted(tables))
                words += [kw, neg + "<%s>" % name]
                allowed &= fams_of(tables[name])
            else:
                # lists may mix families unless the rule is restricted
                fams = [fam] if (fam and restrict) else [4, 6]
                nets = [rand_prefix(rng, rng.choice(fams))
                        for _ in range(rng.randint(1, 4))]
                words += [kw, "{ %s }" % ", ".join(fmt(n) for n in nets)]
                allowed &= fams_of(nets)
            if ports:
                words += ["port", ports]
        if proto == "tcp" and rng.random() < 0.4:
            words += ["flags", rand_flags(rng)]
        if proto in ("icmp", "icmp6") and rng.random() < 0.5:
            types = ICMP4_TYPES if proto == "icmp" else ICMP6_TYPES
            words += ["icmp-type", str(rng.choice(types + [3, 1]))]
            if rng.random() < 0.4:
                words += ["code", str(rng.choice(ICMP_CODES))]
        for kw in ("mac-src", "mac-dst"):
            if rng.random() < 0.08:
                words += [kw, rng.choice(MACS)]
        if rng.random() < 0.1:
            words += ["dscp", rng.choice(DSCPS)[1]]
        if rng.random() < 0.2:
            words += ["state", ",".join(rng.sample(
                ["new", "established", "related", "invalid"], rng.randint(1, 2)))]
        # A rule whose addresses leave no family is an error: draw again.
        if not allowed:
            continue
        lines.append(" ".join(words))
        nrules -= 1
    return "\n".join(lines) + "\n"


class Pkt:
    """One random packet: what the frame carries and --eval is told."""

    def __init__(self, rng, fam, ifaces):
        self.iface = rng.choice(ifaces) if ifaces else None
        self.fam = fam
        self.src, self.dst = rand_addr(rng, fam), rand_addr(rng, fam)
        self.proto = rng.choice([6, 6, 17, 17, 1 if fam == 4 else 58, 47, 253])
        self.sport, self.dport = rand_port(rng), rand_port(rng)
        self.frag = rng.random() < 0.1
        self.flags = rng.choice(TCP_FLAGS)
        self.icmp_type = rng.choice(ICMP4_TYPES if fam == 4 else ICMP6_TYPES)
        self.icmp_code = rng.choice(ICMP_CODES)
        # 0-2 tags: random outer ids, the innermost often one rules name
        self.vlans = [rng.randrange(0, 4096) for _ in range(rng.choice([0, 0, 1, 2]))]
        if self.vlans and rng.random() < 0.7:
            self.vlans[-1] = rng.choice(VLANS + [0])  # 0: a priority tag
        self.mac_src = rng.choice(MACS + ["02:00:00:00:00:09"])
        self.mac_dst = rng.choice(MACS + ["02:00:00:00:00:0a"])
        self.dscp = rng.choice(DSCPS)
        self.ecn = rng.randrange(4)

    def state(self):
        """The class phase 0 gives the packet with an empty connection
        table (established and related never reach the rules)."""
        if self.frag:
            return "new"
        if self.proto == 6:
            return "new" if self.flags & 0x3f == 0x02 else "invalid"
        if self.proto in (1, 58) and self.icmp_type in (0, 129):
            return "invalid"  # an echo reply without its request
        return "new"

    def spec(self):
        """The packet in fwmapgen --eval syntax."""
        name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}.get(
            self.proto, str(self.proto))

        def ep(a, port):
            if port is None:
                return str(a)
            return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a, port)

        has_ports = self.proto in (6, 17) and not self.frag
        words = ["on %s" % self.iface] if self.iface else []
        words += [name, ep(self.src, self.sport if has_ports else None), "->",
                  ep(self.dst, self.dport if has_ports else None),
                  "state", self.state()]
        if self.frag:
            words.append("frag")
        # the frame's VLAN: its innermost tag that is not a priority tag
        vids = [v for v in self.vlans if v]
        if vids:
            words += ["vlan", str(vids[-1])]
        if self.proto == 6 and not self.frag:
            letters = "".join(c for b, c in enumerate(FLAG_LETTERS)
                              if self.flags & (1 << b))
            if letters:
                words += ["flags", letters]
            else:
                words += ["flags", "none"]  # not the default S
        if self.proto in (1, 58) and not self.frag:
            words += ["icmp-type", str(self.icmp_type), "code", str(self.icmp_code)]
        words += ["mac-src", self.mac_src, "mac-dst", self.mac_dst,
                  "dscp", self.dscp[1]]
        return " ".join(words) + "\n"

    def frame(self, rng):
        """The Ethernet frame; frag: a non-first fragment (no L4 header)."""
        payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 16)))
        proto = self.proto
        if self.frag:
            l4 = payload + bytes(8)
        elif proto == 17:
            l4 = struct.pack("!HHHH", self.sport, self.dport, 8 + len(payload),
                             0) + payload
        elif proto == 6:
            l4 = struct.pack("!HHIIBBHHH", self.sport, self.dport, 1, 0, 5 << 4,
                             self.flags, 8192, 0, 0) + payload
        elif proto in (1, 58):
            l4 = struct.pack("!BBHHH", self.icmp_type, self.icmp_code, 0, 1,
                             1) + payload
        else:
            l4 = payload + bytes(8)
        tags = b"".join(struct.pack("!HH", 0x8100, v) for v in self.vlans)
        eth = (bytes.fromhex(self.mac_dst.replace(":", "")) +
               bytes.fromhex(self.mac_src.replace(":", "")))
        tos = self.dscp[0] << 2 | self.ecn
        src, dst = self.src, self.dst
        if src.version == 4:
            fragoff = 10 if self.frag else 0
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(l4), 1,
                             fragoff, 64, proto, 0, src.packed, dst.packed)
            return eth + tags + b"\x08\x00" + ip + l4
        first = 6 << 28 | tos << 20
        if self.frag:
            fh = struct.pack("!BBHI", proto, 0, (10 << 3), 7)
            ip = struct.pack("!IHBB16s16s", first, len(fh) + len(l4), 44, 64,
                             src.packed, dst.packed)
            return eth + tags + b"\x86\xdd" + ip + fh + l4
        ip = struct.pack("!IHBB16s16s", first, len(l4), proto, 64, src.packed,
                         dst.packed)
        return eth + tags + b"\x86\xdd" + ip + l4


def load(repo, rules):
    subprocess.run(
        ["bash", "-c", 'set -euo pipefail; source "$1/scripts/lib.sh"; '
         'bg_setup_bpffs mount; '
         'bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null; '
         'bg_apply_ruleset "$2"', "randfw", repo, rules],
        check=True, env=dict(os.environ, BG_QUIET="1"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--packets", type=int, default=300)
    ap.add_argument("--ifaces", default="")
    ap.add_argument("--workdir", default="/tmp")
    args = ap.parse_args()
    os.environ["FW_BPFFS"] = args.bpffs
    ifaces = [i for i in args.ifaces.split(",") if i]
    # not /sys/class/net: it shows the namespace /sys was mounted in
    ifindex = {i: socket.if_nametoindex(i) for i in ifaces}
    fwmapgen = os.path.join(args.repo, "build", "fwmapgen")
    total = 0

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rng = random.Random(seed)
        random.seed(seed)
        text = gen_ruleset(rng, ifaces)
        rules = os.path.join(args.workdir, "rand-%d.rules" % seed)
        with open(rules, "w") as f:
            f.write(text)
        load(args.repo, rules)

        fw = fwcheck.Firewall(args.bpffs)

        pkts = [Pkt(rng, rng.choice([4, 6]), ifaces) for _ in range(args.packets)]
        query = "".join(p.spec() for p in pkts)
        ref = subprocess.run([fwmapgen, "--eval", rules], input=query,
                             capture_output=True, text=True, check=True).stdout.split("\n")

        for n, pk in enumerate(pkts):
            data = pk.frame(rng)
            ret, rule, verdict = fw.run(data, ifindex.get(pk.iface))
            got = "%s %s" % ({1: "block", 2: "pass"}.get(ret, "ret%d" % ret), rule)
            if got != ref[n] or verdict != "SAME":
                print("seed %d: packet %s: kernel '%s', reference '%s' (%s)\n--- ruleset\n%s"
                      % (seed, query.split("\n")[n], got, ref[n], verdict, text))
                return 1
        total += len(pkts)
        print("seed %d: %d rules, %d packets agree" % (seed, fw.nids, len(pkts)))
        os.unlink(rules)
    print("%d seeds, %d packets: kernel and reference agree" % (args.seeds, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
