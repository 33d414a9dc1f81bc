#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""lbrun: xdp_loadbalancer through BPF_PROG_TEST_RUN, for
test/xdp_loadbalancer.bats.

usage: lbrun.py --bpffs DIR CASE

Runs in the namespace the bats file builds (lb_lab there): the program and
the ruleset LB_RULES loaded into the private bpffs DIR, interfaces bk0
(backends, 203.0.113.0/24 and 2001:db8:b::/64) and cl0 (clients,
198.51.100.0/24 and 2001:db8:c::/64) with static neighbours. Each CASE
sends crafted frames, checks the verdict and the bytes that come out
(addresses, ports, MACs, TTL, and every checksum recomputed by scapy),
prints what it saw and exits 1 on the first mismatch.
"""
import argparse
import glob
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfrun  # noqa: E402
import pkt  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ABI = json.loads(subprocess.run([os.path.join(REPO, "build", "bg-abi")],
                                check=True, capture_output=True,
                                text=True).stdout)
STAT = ABI["enums"]["bg_lb_stat"]
MAXB = ABI["consts"]["BG_LB_MAX_BACKENDS"]

# The lab's MAC addresses (lb_lab in the bats file).
MAC_BK0 = "02:00:00:00:0b:01"
MAC_CL0 = "02:00:00:00:0c:01"
MAC_CLIENT = "02:00:00:00:0c:07"
NEIGH = {"203.0.113.11": "02:00:00:00:0b:11",
         "203.0.113.12": "02:00:00:00:0b:12",
         "203.0.113.13": "02:00:00:00:0b:13",
         "2001:db8:b::11": "02:00:00:00:0b:11",
         "2001:db8:b::12": "02:00:00:00:0b:12",
         "198.51.100.20": "02:00:00:00:0c:20",
         "198.51.100.7": MAC_CLIENT,
         "2001:db8:c::7": MAC_CLIENT}


class Fail(Exception):
    pass


def want(cond, msg):
    if not cond:
        raise Fail(msg)


def ifindex(name):
    # The namespace's own: /sys would show the host's (no mount namespace).
    import socket
    return socket.if_nametoindex(name)


class Lab:
    def __init__(self, bpffs):
        self.bpffs = bpffs
        self.g = os.path.join(bpffs, "tc", "globals")
        pins = glob.glob(os.path.join(bpffs, "bpfguard", "*", "bg_lb_xdp"))
        want(len(pins) == 1, "want one bg_lb_xdp pin, found %r" % pins)
        self.prog = bpfrun.obj_get(pins[0])
        self.maps = {}
        self.gen = self.active()[0]

    def map(self, name):
        if name not in self.maps:
            self.maps[name] = bpfrun.obj_get(os.path.join(self.g, name))
        return self.maps[name]

    def active(self):
        v = bpfrun.map_lookup(self.map("bg_fw_active"), b"\0" * 4, 8)
        return struct.unpack("<II", v)

    def run(self, frame, iface=None):
        ctx = None
        if iface:
            ctx = bpfrun.xdp_ctx(ifindex(iface), 0, len(frame))
        ret, out, _ = bpfrun.test_run(self.prog, frame, ctx=ctx)
        return ret, out

    def stat(self, name):
        v = bpfrun.map_lookup_percpu(self.map("bg_lb_stats"),
                                     struct.pack("<I", STAT["BG_LB_STAT_" + name]))
        return sum(struct.unpack("<Q", x)[0] for x in v)

    def stats(self):
        return {k[len("BG_LB_STAT_"):]: self.stat(k[len("BG_LB_STAT_"):])
                for k in STAT if k != "BG_LB_STAT_MAX"}

    def set_up(self, backend, up):
        idx = self.active()[0] * MAXB + backend
        v = bpfrun.map_lookup(self.map("bg_lb_health"), struct.pack("<I", idx), 16)
        _, changes, since = struct.unpack("<IIQ", v)
        bpfrun.map_update(self.map("bg_lb_health"), struct.pack("<I", idx),
                          struct.pack("<IIQ", up, changes + 1, since))

    def flow_field(self, src, sport, vip, dport, name):
        """A u8 field of the IPv4 TCP flow's entry (bg_lb_flow); None
        without one."""
        key = (ipaddress.ip_address(src).packed + b"\0" * 12 +
               ipaddress.ip_address(vip).packed + b"\0" * 12 +
               struct.pack(">HH", sport, dport) + bytes([6, 0, 0, 0]))
        st = ABI["structs"]["bg_lb_flow"]
        try:
            v = bpfrun.map_lookup(self.map("bg_lb_flow"), key, st["size"])
        except bpfrun.BpfError:
            return None
        off = [f["offset"] for f in st["fields"] if f["name"] == name][0]
        return v[off]

    def backend(self, idx):
        v = bpfrun.map_lookup(self.map("bg_lb_backend"),
                              struct.pack("<I", self.active()[0] * MAXB + idx), 32)
        fam = v[18]
        addr = ipaddress.ip_address(v[:4] if fam == 0 else v[:16])
        return str(addr), struct.unpack(">H", v[16:18])[0]

    def backends(self):
        """address:port -> backend index, of the active generation."""
        out = {}
        for i in range(64):
            a, p = self.backend(i)
            if p == 0:
                break
            out["%s:%d" % (a, p)] = i
        return out


def scapy():
    from scapy.all import Ether, IP, IPv6, TCP, UDP  # noqa: F401
    return Ether, IP, IPv6, TCP, UDP


def check_csums(frame):
    """Every checksum of the frame as scapy computes it from scratch."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    e = Ether(frame)
    re = Ether(frame)
    if IP in re:
        del re[IP].chksum
    if TCP in re:
        del re[TCP].chksum
    if UDP in re:
        if e[UDP].chksum == 0 and IP in e:
            pass  # IPv4 "no checksum": must stay so
        else:
            del re[UDP].chksum
    re = Ether(bytes(re))
    if IP in e:
        want(e[IP].chksum == re[IP].chksum,
             "IPv4 checksum 0x%04x, scapy 0x%04x" % (e[IP].chksum, re[IP].chksum))
    for L in (TCP, UDP):
        if L in e:
            want(e[L].chksum == re[L].chksum,
                 "%s checksum 0x%04x, scapy 0x%04x" %
                 (L.__name__, e[L].chksum, re[L].chksum))
    return e


def dst_of(frame):
    Ether, IP, IPv6, TCP, UDP = scapy()
    e = Ether(frame)
    l3 = e[IP] if IP in e else e[IPv6]
    l4 = e[TCP] if TCP in e else e[UDP]
    a = l3.dst if IP in e else str(ipaddress.ip_address(l3.dst))
    return "%s:%d" % (a, l4.dport)


RET = {bpfrun.XDP_PASS: "pass", bpfrun.XDP_DROP: "drop",
       bpfrun.XDP_TX: "tx", bpfrun.XDP_REDIRECT: "redirect"}


def verdict(ret):
    return RET.get(ret, str(ret))


def syn4(src, sport, dst, dport, **kw):
    return pkt.tcp4(src=src, dst=dst, sport=sport, dport=dport,
                    eth_dst=MAC_CL0, eth_src=MAC_CLIENT, **kw)


def syn6(src, sport, dst, dport, **kw):
    return pkt.tcp6(src=src, dst=dst, sport=sport, dport=dport,
                    eth_dst=MAC_CL0, eth_src=MAC_CLIENT, **kw)


def expect_forward(lab, frame, want_verdict, backend, ttl_in=64, iface=None,
                   eth_dst=None, eth_src=MAC_BK0):
    """frame goes out rewritten to backend ("ADDR:PORT")."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    ret, out = lab.run(frame, iface)
    want(verdict(ret) == want_verdict,
         "verdict %s, want %s" % (verdict(ret), want_verdict))
    want(dst_of(out) == backend, "sent to %s, want %s" % (dst_of(out), backend))
    e = check_csums(out)
    i, o = Ether(frame), e
    l3i = i[IP] if IP in i else i[IPv6]
    l3o = o[IP] if IP in o else o[IPv6]
    want(l3o.src == l3i.src, "source changed: %s" % l3o.src)
    l4i = i[TCP] if TCP in i else i[UDP]
    l4o = o[TCP] if TCP in o else o[UDP]
    want(l4o.sport == l4i.sport, "source port changed")
    want(bytes(l4o.payload) == bytes(l4i.payload), "payload changed")
    if want_verdict in ("tx", "redirect"):
        hops = l3o.ttl if IP in o else l3o.hlim
        want(hops == ttl_in - 1, "TTL %d, want %d" % (hops, ttl_in - 1))
        a = backend.rsplit(":", 1)[0]
        want(o.dst == (eth_dst or NEIGH[a]), "MAC dst %s" % o.dst)
        want(o.src == eth_src, "MAC src %s" % o.src)
    else:
        hops = l3o.ttl if IP in o else l3o.hlim
        want(hops == ttl_in, "TTL changed on the way to the stack: %d" % hops)
    return out


def case_forward(lab):
    """IPv4 TCP to the web VIP: the flow's backend, its packets all to it,
    the reply back from the VIP; a SYN and the rest of the flow."""
    b0 = lab.stats()
    f = syn4("198.51.100.7", 40001, "192.0.2.10", 80)
    ret, out = lab.run(f)
    first = dst_of(out)
    want(first.endswith(":8080") and first.startswith("203.0.113.1"),
         "first packet to %s" % first)
    for flags, payload in (("A", b""), ("PA", b"GET / HTTP/1.0\r\n\r\n"),
                           ("FA", b"")):
        expect_forward(lab, syn4("198.51.100.7", 40001, "192.0.2.10", 80,
                                 flags=flags, payload=payload),
                       "redirect", first)
    b1 = lab.stats()
    want(b1["NEW_FLOW"] - b0["NEW_FLOW"] == 1, "new flows %d" %
         (b1["NEW_FLOW"] - b0["NEW_FLOW"]))
    want(b1["REDIRECT"] - b0["REDIRECT"] == 4, "redirects")
    # The backend's reply, in on bk0: from the VIP and port 80.
    baddr, bport = first.rsplit(":", 1)
    r = pkt.tcp4(src=baddr, dst="198.51.100.7", sport=int(bport), dport=40001,
                 flags="SA", eth_dst=MAC_BK0, eth_src=NEIGH[baddr],
                 payload=b"HTTP/1.0 200 OK\r\n")
    Ether, IP, IPv6, TCP, UDP = scapy()
    ret, out = lab.run(r, "bk0")
    want(verdict(ret) == "redirect", "reply verdict %s" % verdict(ret))
    e = check_csums(out)
    want(e[IP].src == "192.0.2.10" and e[TCP].sport == 80,
         "reply from %s:%d" % (e[IP].src, e[TCP].sport))
    want(e[IP].dst == "198.51.100.7" and e[TCP].dport == 40001, "reply to")
    want(e.dst == MAC_CLIENT and e.src == MAC_CL0, "reply MACs")
    want(bytes(e[TCP].payload) == b"HTTP/1.0 200 OK\r\n", "reply payload")
    # The same reply forged from the clients' side is left alone.
    before = lab.stat("REPLY_IFACE")
    ret, out = lab.run(r, "cl0")
    want(verdict(ret) == "pass" and out == r, "forged reply: %s" % verdict(ret))
    want(lab.stat("REPLY_IFACE") == before + 1, "reply_iface not counted")
    print("ok forward: flow to %s, 4 packets redirected, reply from the VIP"
          % first)


def case_affinity(lab):
    """200 flows: every packet of a flow to the backend of its first; the
    backend the one fwmapgen --explain names (the kernel's hash)."""
    rules = os.environ["LB_RULES"]
    rnd = random.Random(7)
    spread = {}
    for n in range(200):
        src = "198.51.100.%d" % rnd.randrange(2, 250)
        sport = rnd.randrange(1024, 65535)
        ret, out = lab.run(syn4(src, sport, "192.0.2.10", 80))
        b = dst_of(out)
        for _ in range(2):
            ret, out = lab.run(syn4(src, sport, "192.0.2.10", 80, flags="A"))
            want(dst_of(out) == b, "flow %s:%d moved from %s to %s" %
                 (src, sport, b, dst_of(out)))
        if n < 20:
            ex = subprocess.run(
                [os.path.join(REPO, "build", "fwmapgen"), "--explain", rules,
                 "tcp %s:%d -> 192.0.2.10:80" % (src, sport)],
                check=True, capture_output=True, text=True).stdout
            line = [x for x in ex.splitlines() if x.startswith("loadbalancer:")]
            want(len(line) == 1 and (" backend %s " % b) in line[0] + " ",
                 "kernel chose %s, fwmapgen --explain: %r" % (b, line))
        spread[b] = spread.get(b, 0) + 1
    want(len(spread) == 3 and min(spread.values()) > 40,
         "200 flows spread %r" % spread)
    print("ok affinity: 200 flows, 600 packets, each flow on one backend, "
          "spread %s; 20 checked against fwmapgen --explain"
          % sorted(spread.values()))


def case_ipv6(lab):
    """IPv6 TCP: rewritten with the pseudo-header checksum, hop limit one
    less; the reply from the IPv6 VIP."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    f = syn6("2001:db8:c::7", 40100, "2001:db8:f::10", 443,
             payload=b"\x16\x03\x01\x00\x05hello")
    ret, out = lab.run(f)
    b = dst_of(out)
    want(b in ("2001:db8:b::11:8443", "2001:db8:b::12:8443"), "sent to %s" % b)
    expect_forward(lab, f, "redirect", b)
    baddr = b.rsplit(":", 1)[0]
    r = pkt.tcp6(src=baddr, dst="2001:db8:c::7", sport=8443, dport=40100,
                 flags="SA", eth_dst=MAC_BK0, eth_src=NEIGH[baddr])
    ret, out = lab.run(r, "bk0")
    want(verdict(ret) == "redirect", "reply verdict %s" % verdict(ret))
    e = check_csums(out)
    want(ipaddress.ip_address(e[IPv6].src) == ipaddress.ip_address("2001:db8:f::10")
         and e[TCP].sport == 443, "reply from %s:%d" % (e[IPv6].src, e[TCP].sport))
    want(e[IPv6].hlim == 63, "reply hop limit %d" % e[IPv6].hlim)
    print("ok ipv6: to %s and back from the VIP, checksums valid" % b)


def case_udp(lab):
    """UDP: a checksum follows the rewrite, a zero (none, IPv4) stays zero;
    source-hash sends one client's flows to one backend."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    f = pkt.udp4(src="198.51.100.7", dst="192.0.2.10", sport=5353, dport=53,
                 payload=b"\x12\x34query", eth_dst=MAC_CL0, eth_src=MAC_CLIENT)
    ret, out = lab.run(f)
    b = dst_of(out)
    want(b.endswith(":53"), "to %s" % b)
    expect_forward(lab, f, "redirect", b)
    z = bytearray(f)
    l4 = pkt.l4_offset(f)[0]
    z[l4 + 6:l4 + 8] = b"\0\0"
    z = bytes(z)
    ret, out = lab.run(z)
    want(verdict(ret) == "redirect", "verdict %s" % verdict(ret))
    e = Ether(out)
    want(e[UDP].chksum == 0, "zero UDP checksum became 0x%04x" % e[UDP].chksum)
    check_csums(out)
    # source-hash: other ports of the same client, the same backend.
    for sport in range(6000, 6040):
        g = pkt.udp4(src="198.51.100.7", dst="192.0.2.10", sport=sport,
                     dport=53, eth_dst=MAC_CL0, eth_src=MAC_CLIENT)
        ret, out = lab.run(g)
        want(dst_of(out) == b, "source-hash: port %d to %s, not %s" %
             (sport, dst_of(out), b))
    print("ok udp: checksum follows, zero stays zero, source-hash keeps "
          "the client on %s" % b)


def case_untouched(lab):
    """What is not a service's goes on untouched: another port of a VIP,
    another protocol, another address; ICMP to the VIP."""
    frames = [syn4("198.51.100.7", 40002, "192.0.2.10", 81),
              pkt.udp4(src="198.51.100.7", dst="192.0.2.10", sport=1, dport=80),
              syn4("198.51.100.7", 40002, "192.0.2.11", 80),
              pkt.icmp4(src="198.51.100.7", dst="192.0.2.10"),
              syn6("2001:db8:c::7", 40002, "2001:db8:f::10", 80)]
    before = lab.stat("PACKETS")
    for f in frames:
        ret, out = lab.run(f)
        want(verdict(ret) == "pass" and out == f,
             "untouched frame: %s, changed %s" % (verdict(ret), out != f))
    want(lab.stat("PACKETS") == before, "counted as a service's")
    print("ok untouched: %d frames passed byte for byte" % len(frames))


def case_xmit(lab):
    """The next hop's outcomes: XDP_TX when the backend is behind the
    interface the packet came in on; the stack for a neighbour not yet
    resolved (the rewrite kept), no route, over the MTU, TTL 1."""
    b = lab.stats()
    expect_forward(lab, syn4("198.51.100.7", 40003, "192.0.2.40", 80), "tx",
                   "198.51.100.20:80", iface="cl0", eth_src=MAC_CL0)
    expect_forward(lab, syn4("198.51.100.7", 40003, "192.0.2.50", 80), "pass",
                   "203.0.113.99:80")
    expect_forward(lab, syn4("198.51.100.7", 40003, "192.0.2.51", 80), "pass",
                   "192.0.2.99:80")
    big = syn4("198.51.100.7", 40004, "192.0.2.10", 80, flags="A",
               payload=b"x" * 1400)
    ret, out = lab.run(big)
    want(verdict(ret) == "pass", "too big: %s" % verdict(ret))
    check_csums(out)
    want(dst_of(out).startswith("203.0.113.1"), "too big, rewritten: %s" % dst_of(out))
    ttl1 = syn4("198.51.100.7", 40005, "192.0.2.10", 80, ttl=1)
    expect_forward(lab, ttl1, "pass", dst_of(lab.run(ttl1)[1]), ttl_in=1)
    a = lab.stats()
    d = {k: a[k] - b[k] for k in a}
    want(d["TX"] == 1, "tx %d" % d["TX"])
    want(d["FIB_MISS"] == 2, "fib_miss %d" % d["FIB_MISS"])
    want(d["TOO_BIG"] == 1, "too_big %d" % d["TOO_BIG"])
    want(d["TTL"] == 2, "ttl %d" % d["TTL"])
    print("ok xmit: tx 1, to the stack: fib_miss 2, too_big 1, ttl 2")


def case_hop(lab):
    """A known flow reuses the next hop the FIB named for a second
    (BG_LB_HOP_NS): a neighbour's new MAC reaches it then, not before; a packet of it over
    the hop's MTU still goes to the stack (too_big)."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    f = syn4("198.51.100.7", 40100, "192.0.2.10", 80, flags="A")
    # The first packet makes the flow, the second (a known flow's)
    # keeps the FIB's hop.
    for _ in range(2):
        ret, out = lab.run(f)
        want(verdict(ret) == "redirect", "first: %s" % verdict(ret))
    addr = dst_of(out).split(":")[0]
    old_mac = NEIGH[addr]
    want(Ether(out).dst == old_mac, "first: to %s" % Ether(out).dst)
    b = lab.stats()
    new_mac = "02:00:00:00:0b:99"
    subprocess.run(["ip", "neigh", "replace", addr, "lladdr", new_mac,
                    "dev", "bk0", "nud", "permanent"], check=True)
    try:
        t0 = time.monotonic()
        ret, out = lab.run(f)
        want(verdict(ret) == "redirect" and Ether(out).dst == old_mac,
             "within the second: %s to %s" % (verdict(ret), Ether(out).dst))
        check_csums(out)
        want(time.monotonic() - t0 < 0.5, "too slow to tell")
        time.sleep(1.1)
        ret, out = lab.run(f)
        want(verdict(ret) == "redirect" and Ether(out).dst == new_mac,
             "after the second: %s to %s" % (verdict(ret), Ether(out).dst))
        check_csums(out)
        big = syn4("198.51.100.7", 40100, "192.0.2.10", 80, flags="A",
                   payload=b"x" * 1400)
        ret, out = lab.run(big)
        want(verdict(ret) == "pass", "over the MTU: %s" % verdict(ret))
        want(dst_of(out).split(":")[0] == addr, "over the MTU: %s" % dst_of(out))
    finally:
        subprocess.run(["ip", "neigh", "replace", addr, "lladdr", old_mac,
                        "dev", "bk0", "nud", "permanent"], check=True)
    a = lab.stats()
    d = {k: a[k] - b[k] for k in a}
    want(d["TOO_BIG"] == 1 and d["REDIRECT"] == 2 and d["FIB_MISS"] == 0,
         "stats: %s" % {k: v for k, v in d.items() if v})
    print("ok hop: the old MAC within the second, the new one after it; too big to the stack")


def case_reuse(lab):
    """The flow learns its backend answered from the first reply the
    balancer translates (the firewall passes its next packets as
    established only then); a SYN on its tuple (the port reused: a new
    connection) makes it unanswered again, and the next reply marks it
    again."""
    f = ("198.51.100.7", 40200, "192.0.2.10")
    b = backend_of(lab, f, flags="S")
    want(b is not None, "no backend")
    want(lab.flow_field(*f[:2], f[2], 80, "replied") == 0, "replied before a reply")
    want(reply_ok(lab, f, b), "reply not translated")
    want(lab.flow_field(*f[:2], f[2], 80, "replied") == 1, "reply not marked")
    # More replies and client packets leave it marked.
    want(backend_of(lab, f) == b and reply_ok(lab, f, b), "flow moved")
    want(lab.flow_field(*f[:2], f[2], 80, "replied") == 1, "mark lost")
    # A new connection on the same tuple: unanswered, the same backend.
    want(backend_of(lab, f, flags="S") == b, "the SYN moved the flow")
    want(lab.flow_field(*f[:2], f[2], 80, "replied") == 0, "SYN left it marked")
    want(reply_ok(lab, f, b), "reply not translated")
    want(lab.flow_field(*f[:2], f[2], 80, "replied") == 1, "second reply not marked")
    print("ok reuse: marked by the first reply, unmarked by a SYN on the tuple, marked again")


def flows(lab, n, vip="192.0.2.10", seed=11):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(("198.51.100.%d" % rnd.randrange(2, 250),
                    rnd.randrange(1024, 65535)))
    return [(s, p, vip) for s, p in out]


def backend_of(lab, flow, flags="A"):
    s, p, vip = flow
    ret, out = lab.run(syn4(s, p, vip, 80, flags=flags))
    if verdict(ret) == "drop":
        return None
    return dst_of(out)


def reply_ok(lab, flow, backend):
    """The backend's reply to the flow comes out from the VIP."""
    Ether, IP, IPv6, TCP, UDP = scapy()
    s, p, vip = flow
    a, bp = backend.rsplit(":", 1)
    ret, out = lab.run(pkt.tcp4(src=a, dst=s, sport=int(bp), dport=p,
                                flags="A", eth_dst=MAC_BK0), "bk0")
    e = Ether(out)
    # (only 198.51.100.7 has a neighbour entry: the others go to the stack)
    return (verdict(ret) in ("redirect", "pass") and e[IP].src == vip and
            e[TCP].sport == 80)


def case_health(lab):
    """A backend taken down: its flows move at their next packet, no other
    flow moves, new flows avoid it; back up, new flows reach it again. All
    down: dropped and counted."""
    fl = flows(lab, 300)
    before = {f: backend_of(lab, f, "S") for f in fl}
    idx = lab.backends()
    victim = "203.0.113.12:8080"
    lab.set_up(idx[victim], 0)
    m0 = lab.stat("MOVED")
    after = {f: backend_of(lab, f) for f in fl}
    moved = [f for f in fl if before[f] != after[f]]
    on_victim = [f for f in fl if before[f] == victim]
    want(sorted(moved) == sorted(on_victim),
         "moved %d flows, %d were on the down backend" % (len(moved), len(on_victim)))
    want(victim not in after.values(), "a flow still goes to the down backend")
    want(lab.stat("MOVED") - m0 == len(on_victim), "moved counter")
    new = [backend_of(lab, f, "S") for f in flows(lab, 200, seed=99)]
    want(victim not in new, "a new flow went to the down backend")
    lab.set_up(idx[victim], 1)
    new = [backend_of(lab, f, "S") for f in flows(lab, 200, seed=98)]
    want(victim in new, "no new flow reached the backend once up again")
    # Every backend down: no backend, dropped.
    for b in ("203.0.113.11:8080", "203.0.113.12:8080", "203.0.113.13:8080"):
        lab.set_up(idx[b], 0)
    nb = lab.stat("NO_BACKEND")
    ret, _ = lab.run(syn4("198.51.100.9", 40009, "192.0.2.10", 80))
    want(verdict(ret) == "drop" and lab.stat("NO_BACKEND") == nb + 1,
         "all down: %s" % verdict(ret))
    for b in ("203.0.113.11:8080", "203.0.113.12:8080", "203.0.113.13:8080"):
        lab.set_up(idx[b], 1)
    # 200:1, the heavy one down: 33 positions along the ring all name
    # it, the scan of the service's backends finds the other.
    lab.set_up(idx["203.0.113.11:80"], 0)
    got = [backend_of(lab, f, "S") for f in flows(lab, 50, vip="192.0.2.70", seed=4)]
    lab.set_up(idx["203.0.113.11:80"], 1)
    want(got == ["203.0.113.12:80"] * 50, "heavy backend down: %r" % got[:5])
    # A service whose only backend is "down" by configuration.
    ret, _ = lab.run(syn4("198.51.100.9", 40009, "192.0.2.60", 80))
    want(verdict(ret) == "drop", "configured down: %s" % verdict(ret))
    print("ok health: %d of 300 flows moved (all of the down backend's), "
          "none to it after; back up it gets new flows" % len(moved))


def case_sched(lab):
    """round-robin spreads new flows in turn; weights 1:3 give 1:3 of the
    flows (within 10%)."""
    rr = {}
    for f in flows(lab, 300, vip="192.0.2.20", seed=5):
        b = backend_of(lab, f, "S")
        rr[b] = rr.get(b, 0) + 1
    want(len(rr) == 3 and all(90 <= v <= 110 for v in rr.values()),
         "round-robin over 300 flows: %r" % rr)
    w = {}
    n = 4000
    for f in flows(lab, n, vip="192.0.2.30", seed=6):
        b = backend_of(lab, f, "S")
        w[b] = w.get(b, 0) + 1
    share = w.get("203.0.113.12:80", 0) / n
    want(abs(share - 0.75) <= 0.075, "weight 3 of 4: share %.3f (%r)" % (share, w))
    print("ok sched: round-robin %s, weights 1:3 -> %.3f"
          % (sorted(rr.values()), share))


def case_malformed(lab):
    """Fragments to a VIP are dropped (their ports are in the first one);
    cut-short packets are not rewritten."""
    fr = pkt.tcp4(src="198.51.100.7", dst="192.0.2.10", sport=40010, dport=80,
                  mf=True, payload=b"y" * 64)
    f0 = lab.stat("FRAG")
    ret, out = lab.run(fr)
    want(verdict(ret) == "drop" and lab.stat("FRAG") == f0 + 1,
         "first fragment: %s" % verdict(ret))
    # TCP behind 1 KiB of IPv6 extension headers: past what the rewrite
    # reaches, dropped, never written at a wrapped offset.
    Ether, IP, IPv6, TCP, UDP = scapy()
    from scapy.all import IPv6ExtHdrDestOpt, PadN
    deep = bytes(Ether(src=MAC_CLIENT, dst=MAC_CL0) /
                 IPv6(src="2001:db8:c::7", dst="2001:db8:f::10") /
                 IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 250)] * 4) /
                 TCP(sport=40012, dport=443, flags="S"))
    want(pkt.l4_offset(deep)[0] > 1023, "not deep enough")
    m0 = lab.stat("MALFORMED")
    ret, out = lab.run(deep)
    want(verdict(ret) == "drop" and lab.stat("MALFORMED") == m0 + 1,
         "deep TCP: %s" % verdict(ret))
    cut = pkt.truncate(syn4("198.51.100.7", 40011, "192.0.2.10", 80), 14 + 20 + 10)
    ret, out = lab.run(cut)
    want(verdict(ret) == "pass" and out == cut, "cut short: %s" % verdict(ret))
    print("ok malformed: fragment dropped, truncated frame passed untouched")


def case_flood(lab):
    """A flood of new flows from random sources fills the flow table (LRU):
    Maglev sends the flows it evicted to the same backends again."""
    fl = flows(lab, 100, seed=21)
    before = {f: backend_of(lab, f, "S") for f in fl}
    fmax = ABI["consts"]["BG_LB_FLOW_MAX"]
    runner = bpfrun.ProgRunner(lab.prog)
    base = syn4("198.51.100.2", 1, "192.0.2.10", 80)
    off = pkt.l3_offset(base)[0]
    n = fmax + fmax // 4
    l4 = pkt.l4_offset(base)[0]
    nets = ([198, 51, 100], [203, 0, 113], [192, 0, 2])
    for i in range(n):
        # Distinct flows: every source port of every documentation address.
        f = bytearray(base)
        host, port = divmod(i, 64000)
        f[off + 12:off + 16] = bytes(nets[host % 3] + [1 + host // 3])
        f[l4:l4 + 2] = struct.pack(">H", 1024 + port)
        ret, _, _ = runner.run(bytes(f))
        want(ret in (bpfrun.XDP_REDIRECT, bpfrun.XDP_PASS),
             "flood packet %d: %d" % (i, ret))
    after = {f: backend_of(lab, f) for f in fl}
    moved = [f for f in fl if before[f] != after[f]]
    want(not moved, "%d flows changed backend after the flood" % len(moved))
    # Their replies: the translation the flood pushed out of its LRU is
    # written again by the flow's packet just sent.
    bad = [f for f in fl if not reply_ok(lab, f, after[f])]
    want(not bad, "%d flows' replies not from the VIP after the flood" % len(bad))
    print("ok flood: %d new flows (table %d), 100 earlier flows kept their "
          "backends" % (n, fmax))


def apply_rules(bpffs, rules):
    subprocess.run(["bash", "-c", """set -euo pipefail
        source "$1/scripts/lib.sh"
        bg_setup_bpffs mount
        bg_apply_ruleset "$2" >/dev/null""", "bg-test", REPO, rules],
                   check=True, env=dict(os.environ, FW_BPFFS=bpffs,
                                        BG_QUIET="1"))


def case_switch(lab):
    """A ruleset without one of web's three backends: every flow of the
    other two keeps its backend (the flow table, across the switch), the
    removed one's move; with the flow table emptied, Maglev alone moves
    few of the flows that were not on the removed backend."""
    rules = os.environ["LB_RULES"]
    with open(rules) as f:
        text = f.read()
    gone = "203.0.113.13:8080"
    smaller = rules + ".switch"
    with open(smaller, "w") as f:
        f.write(text.replace("backend 203.0.113.13:8080\n", ""))
    want(text.count("backend 203.0.113.13:8080\n") == 1, "no such backend")
    fl = flows(lab, 1000, seed=31)
    before = {f: backend_of(lab, f, "S") for f in fl}
    epoch = lab.active()[1]
    try:
        apply_rules(lab.bpffs, smaller)
        want(lab.active()[1] == epoch + 1, "no ruleset switch")
        after = {f: backend_of(lab, f) for f in fl}
        kept = [f for f in fl if before[f] != gone]
        moved = [f for f in kept if after[f] != before[f]]
        want(not moved, "%d flows of the remaining backends moved: %r"
             % (len(moved), moved[:3]))
        want(gone not in after.values(), "a flow still goes to %s" % gone)
        # Maglev alone: the flow table emptied, the same flows again.
        fm = lab.map("bg_lb_flow")
        for k in bpfrun.map_keys(fm):
            bpfrun.map_delete(fm, k)
        again = {f: backend_of(lab, f, "S") for f in fl}
        changed = [f for f in kept if again[f] != before[f]]
        frac = len(changed) / len(kept)
        want(frac <= 0.05, "Maglev moved %.3f of the other flows" % frac)
    finally:
        apply_rules(lab.bpffs, rules)
    print("ok switch: %d of %d flows on the remaining backends kept them "
          "across the switch; Maglev alone moved %d of them (%.1f%%)"
          % (len(kept), len(fl), len(changed), 100 * frac))


CASES = {n[len("case_"):]: f for n, f in globals().items()
         if n.startswith("case_")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    try:
        CASES[a.case](Lab(a.bpffs))
    except Fail as e:
        print("FAIL %s: %s" % (a.case, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
