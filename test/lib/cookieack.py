#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""cookieack: the firewall's phase 0 and the ACKs of SYN cookie handshakes.

usage: cookieack.py BPFFS PASS_RULE BLOCKED_V4 BLOCKED_V6

Run inside the namespace that holds a listener on port 8080 of 192.0.2.1
and 2001:db8:1::1 (BPF_PROG_TEST_RUN runs XDP on that namespace's
loopback), with net.ipv4.tcp_syncookies=2, the firewall and the rate
limiter loaded in BPFFS, the rate limiter in chain slot 0, and a ruleset
that passes only the SYNs of port 8080 (flags S/SA, rule PASS_RULE),
blocks those of the sources BLOCKED_V4 and BLOCKED_V6 before it, and
answers SYNs over a global rate of 1/second with cookies. Per family: a
SYN the rules pass is answered by the rate limiter with a cookie SYN-ACK
(XDP_TX); the client's ACK of it is judged as its SYN and passes with
the metadata of PASS_RULE and the cookie flag, counting cookie_ack, with
data too and again (a cookie holds no state); a valid cookie of a
blocked source (its SYN run through the rate limiter alone) is dropped
by the rules; an ACK with a wrong cookie, another port, another source
port, or a RST or FIN with the right number is INVALID and dropped by
the rules; once no cookie has gone out for three minutes (the test
clock) even the right ACK is not checked and is dropped. Prints "ok CASE" per check; exits 1
naming the first that fails.
"""
import glob
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import bpfrun  # noqa: E402
import pkt  # noqa: E402

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
META_LEN = abi.size("bg_xdp_meta")
META_F_CT = abi.const("BG_META_F_CT")
META_F_COOKIE = abi.const("BG_META_F_COOKIE")
STAT_COOKIE_ACK = abi.enum("bg_fw_stat")["BG_STAT_COOKIE_ACK"]
NS = 1000000000

FAMILIES = {
    4: (pkt.tcp4, "192.0.2.10", "192.0.2.1"),
    6: (pkt.tcp6, "2001:db8:1::10", "2001:db8:1::1"),
}


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


class Lab:
    def __init__(self, bpffs):
        def prog(name):
            pins = glob.glob(os.path.join(bpffs, "bpfguard", "*", name))
            if len(pins) != 1:
                fail("want one pinned %s, found %r" % (name, pins))
            return bpfrun.ProgRunner(bpfrun.obj_get(pins[0]))
        gdir = os.path.join(bpffs, "tc", "globals")
        self.fw = prog("bg_fw_xdp")
        self.rl = prog("bg_rl_xdp")
        self.stats = bpfrun.obj_get(os.path.join(gdir, "bg_fw_stats"))
        self.clock = bpfrun.obj_get(os.path.join(gdir, "bg_ct_clock"))

    def run(self, frame):
        ret, out, _ = self.fw.run(frame)
        return ret, out

    def cookie_acks(self):
        vals = bpfrun.map_lookup_percpu(self.stats,
                                        struct.pack("<I", STAT_COOKIE_ACK), 8)
        return sum(struct.unpack("<Q", v)[0] for v in vals)

    def clock_ahead(self, secs):
        bpfrun.map_update(self.clock, struct.pack("<I", 0),
                          struct.pack("<q", secs * NS))


def synack_seq(out):
    """The cookie: the sequence number of the SYN-ACK in out (metadata in
    front: the firewall passed the SYN before the rate limiter answered)."""
    from scapy.layers.l2 import Ether
    from scapy.layers.inet import TCP
    for skip in (META_LEN, 0):
        e = Ether(out[skip:])
        if TCP in e and e[TCP].flags == "SA":
            return e[TCP].seq, e[TCP].ack
    fail("no SYN-ACK in the XDP_TX frame: %s" % out.hex())


def family(lab, fam, pass_rule, blocked):
    tcp, cli, srv = FAMILIES[fam]
    isn = 0x01020304
    # The global rate lets one SYN a second through to the listener; the
    # next is answered with a cookie.
    cookie = None
    for sport in (41000, 41001, 41002):
        ret, out = lab.run(tcp(src=cli, dst=srv, sport=sport, dport=8080,
                               flags="S", seq=isn,
                               tcp_options=[("MSS", 1460)]))
        if ret == XDP_TX:
            cookie, ack = synack_seq(out)
            if ack != isn + 1:
                fail("v%d: the SYN-ACK acknowledges %#x" % (fam, ack))
            break
        if ret != XDP_PASS:
            fail("v%d: the SYN gave %d" % (fam, ret))
    if cookie is None:
        fail("v%d: no SYN was answered with a cookie" % fam)
    print("ok v%d-synack" % fam, flush=True)

    def ack(**kw):
        a = dict(src=cli, dst=srv, sport=sport, dport=8080, flags="A",
                 seq=isn + 1, ack=(cookie + 1) & 0xffffffff)
        a.update(kw)
        return tcp(**a)

    def expect(name, frame, want, cookie_ack):
        before = lab.cookie_acks()
        ret, out = lab.run(frame)
        if ret != want:
            fail("v%d-%s: verdict %d, want %d" % (fam, name, ret, want))
        moved = lab.cookie_acks() - before
        if moved != cookie_ack:
            fail("v%d-%s: cookie_ack moved by %d" % (fam, name, moved))
        if cookie_ack:
            # Judged by the rule that passes the SYN: its id, and the
            # cookie flag for tc_conntrack; not passed as established.
            meta = abi.unpack("bg_xdp_meta", out[:META_LEN])
            if not meta["flags"] & META_F_COOKIE or \
                    meta["flags"] & META_F_CT or \
                    meta["rule_id"] != pass_rule or \
                    out[META_LEN:] != frame:
                fail("v%d-%s: metadata %r" % (fam, name, meta))
        print("ok v%d-%s" % (fam, name), flush=True)

    expect("ack", ack(), XDP_PASS, 1)
    expect("ack-data", ack(flags="PA", payload=b"GET / HTTP/1.0\r\n\r\n"),
           XDP_PASS, 1)
    expect("ack-again", ack(), XDP_PASS, 1)
    # The cookie's low bits are the index of its MSS: a neighbour of it
    # may be a valid cookie too, for the kernel as here. Its hash bits
    # wrong, it is not.
    expect("forged-cookie", ack(ack=(cookie + 0x10001) & 0xffffffff),
           XDP_DROP, 0)
    expect("forged-cookie2", ack(ack=(cookie ^ 0x00ffff00) + 1 & 0xffffffff),
           XDP_DROP, 0)
    expect("other-sport", ack(sport=sport + 100), XDP_DROP, 0)
    expect("no-listener", ack(dport=8081), XDP_DROP, 0)
    expect("rst", ack(flags="RA"), XDP_DROP, 0)
    expect("fin", ack(flags="FA"), XDP_DROP, 0)

    # A source the rules block: its SYN never reaches the rate limiter
    # through the firewall, but a cookie made for it (here by the rate
    # limiter alone, as a guess would be) opens nothing.
    ret, out, _ = lab.rl.run(tcp(src=blocked, dst=srv, sport=42000,
                                 dport=8080, flags="S", seq=isn,
                                 tcp_options=[("MSS", 1460)]))
    if ret != XDP_TX:
        fail("v%d: the rate limiter did not answer the blocked source's "
             "SYN with a cookie (%d)" % (fam, ret))
    bcookie, _ = synack_seq(out)
    frame = tcp(src=blocked, dst=srv, sport=42000, dport=8080, flags="A",
                seq=isn + 1, ack=(bcookie + 1) & 0xffffffff)
    expect("blocked-source", frame, XDP_DROP, 0)
    return ack


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0)
    if len(sys.argv) != 5:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    lab = Lab(sys.argv[1])
    pass_rule = int(sys.argv[2])
    lab.clock_ahead(0)
    acks = [family(lab, fam, pass_rule, sys.argv[3 if fam == 4 else 4])
            for fam in (4, 6)]
    # No cookie handed out for over three minutes: ACKs are not checked.
    lab.clock_ahead(200)
    for fam, ack in zip((4, 6), acks):
        frame = ack()
        before = lab.cookie_acks()
        ret, _ = lab.run(frame)
        if ret != XDP_DROP or lab.cookie_acks() != before:
            fail("v%d-stale: verdict %d" % (fam, ret))
        print("ok v%d-stale" % fam, flush=True)
    lab.clock_ahead(0)


if __name__ == "__main__":
    main()
