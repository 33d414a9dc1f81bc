#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""randfw: random rulesets x random packets, kernel vs reference evaluator.

usage: randfw.py --repo DIR --bpffs DIR [--seeds N] [--first-seed S]
                 [--packets N] [--ifaces A,B]

For each seed: write a random ruleset (CIDRs that overlap a lot, negation,
tables mixing families, inline lists, inet/inet6, "on IFACE", protocols,
port lists and ranges, connection states, default policy), load it with the project's own scripts/lib.sh (as up.sh does),
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
        if rng.random() < 0.2:
            words += ["state", ",".join(rng.sample(
                ["new", "established", "related", "invalid"], rng.randint(1, 2)))]
        # A rule whose addresses leave no family is an error: draw again.
        if not allowed:
            continue
        lines.append(" ".join(words))
        nrules -= 1
    return "\n".join(lines) + "\n"


def frame(rng, src, dst, proto, sport, dport, frag, invalid=False):
    """An Ethernet frame; frag: a non-first fragment (no L4 header);
    invalid: TCP with an impossible flag combination (SYN+FIN)."""
    payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 16)))
    if frag:
        l4 = payload + bytes(8)
    elif proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    elif proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4,
                         3 if invalid else 2, 8192, 0, 0) + payload
    elif proto in (1, 58):
        l4 = struct.pack("!BBHHH", 8 if proto == 1 else 128, 0, 0, 1, 1) + payload
    else:
        l4 = payload + bytes(8)
    tags = b""
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        tags += struct.pack("!HH", 0x8100, rng.randrange(1, 4095))
    eth = bytes.fromhex("020000000002020000000001")
    if src.version == 4:
        fragoff = 10 if frag else 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, fragoff, 64,
                         proto, 0, src.packed, dst.packed)
        return eth + tags + b"\x08\x00" + ip + l4
    if frag:
        fh = struct.pack("!BBHI", proto, 0, (10 << 3), 7)
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(fh) + len(l4), 44, 64,
                         src.packed, dst.packed)
        return eth + tags + b"\x86\xdd" + ip + fh + l4
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, src.packed,
                     dst.packed)
    return eth + tags + b"\x86\xdd" + ip + l4


def packet_spec(iface, proto, src, dst, sport, dport, frag, invalid=False):
    """The same packet in fwmapgen --eval syntax. The connection table is
    empty, so the firewall's class is new, or invalid for impossible TCP
    flags (established and related never reach the rules: phase 0 passes
    them first)."""
    name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}.get(proto, str(proto))

    def ep(a, port):
        if port is None:
            return str(a)
        return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a, port)

    has_ports = proto in (6, 17) and not frag
    return "%s%s %s -> %s%s%s\n" % (
        "on %s " % iface if iface else "", name,
        ep(src, sport if has_ports else None),
        ep(dst, dport if has_ports else None), " frag" if frag else "",
        " state invalid" if invalid else "")


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

        pkts = []
        for _ in range(args.packets):
            fam = rng.choice([4, 6])
            src, dst = rand_addr(rng, fam), rand_addr(rng, fam)
            iface = rng.choice(ifaces) if ifaces else None
            proto = rng.choice([6, 6, 17, 17, 1 if fam == 4 else 58, 47, 253])
            frag = rng.random() < 0.1
            invalid = proto == 6 and not frag and rng.random() < 0.15
            pkts.append((iface, proto, src, dst, rand_port(rng), rand_port(rng), frag,
                         invalid))
        query = "".join(packet_spec(*p) for p in pkts)
        ref = subprocess.run([fwmapgen, "--eval", rules], input=query,
                             capture_output=True, text=True, check=True).stdout.split("\n")

        for n, (iface, proto, src, dst, sport, dport, frag, invalid) in enumerate(pkts):
            data = frame(rng, src, dst, proto, sport, dport, frag, invalid)
            ret, rule, verdict = fw.run(data, ifindex.get(iface))
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
