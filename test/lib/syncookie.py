#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""syncookie: checks of bg_syncookie_answer() for test/syncookie.bats.

Run inside the namespace that holds the listener (BPF_PROG_TEST_RUN runs an
XDP program on that namespace's loopback, so its socket lookups see that
namespace's sockets), with Debian's /usr/bin/python3 (scapy).

    syncookie.py listen PORT BACKLOG
        a dual-stack TCP listener on PORT with listen(BACKLOG), until killed
    syncookie.py fill IFACE DST_MAC N
        N SYNs to port 8080 from unanswered sources: a full SYN queue
    syncookie.py http PORT BACKLOG DIR
        a dual-stack HTTP server of DIR on PORT with listen(BACKLOG)
    syncookie.py run PIN STATS_PIN CASE
        run the program pinned at PIN on the frame of CASE (see CASES) and
        check the result and which counter of the map pinned at STATS_PIN
        went up; prints "ok CASE RETVAL", exits 1 with the reason
        otherwise. An expected XDP_TX is checked field by field as a
        SYN-ACK to the SYN, with the IPv4 header and TCP checksums computed
        again by scapy; an expected XDP_PASS must leave the frame as it was.

Addresses: the client 192.0.2.10 / 2001:db8:1::10 talks to the server
192.0.2.1 / 2001:db8:1::1, port 8080 listens, port 8081 does not.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpfrun  # noqa: E402
import pkt  # noqa: E402

XDP_PASS, XDP_TX = 2, 3
CLI4, SRV4 = "192.0.2.10", "192.0.2.1"
CLI6, SRV6 = "2001:db8:1::10", "2001:db8:1::1"
PORT, NOPORT = 8080, 8081
# The kernel's cookie MSS tables (msstab in net/ipv4/syncookies.c and
# net/ipv6/syncookies.c): a cookie can only carry one of these.
MSS4 = (536, 1300, 1440, 1460)
MSS6 = (1220, 1420, 1440, 8940)


def syn4(**kw):
    a = dict(src=CLI4, dst=SRV4, sport=40000, dport=PORT, flags="S", seq=0x12345678,
             tcp_options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])
    a.update(kw)
    return pkt.tcp4(**a)


def syn6(**kw):
    a = dict(src=CLI6, dst=SRV6, sport=40000, dport=PORT, flags="S", seq=0xfffffff0,
             tcp_options=[("MSS", 1440), ("SAckOK", b""), ("WScale", 7)])
    a.update(kw)
    return pkt.tcp6(**a)


# Counters of the test program (test/progs/xdp_syncookie_test.c): index 0
# SYN-ACKs sent, k the result -k of enum bg_syncookie_result, 8 SYNs seen.
(TX, NOT_SYN, NO_LISTENER, REFUSED, MALFORMED, UNSUPPORTED, BAD_ADDR, NOT_LOCAL,
 SEEN) = range(9)

# CASE: (frame builder, expected verdict, counter that must go up by one;
# None: the program does not hand the frame to bg_syncookie_answer())
CASES = {
    "v4": (lambda: syn4(), XDP_TX, TX),
    "v6": (lambda: syn6(), XDP_TX, TX),
    "v4-vlan": (lambda: syn4(vlans=[100, 200]), XDP_TX, TX),
    "v6-vlan": (lambda: syn6(vlans=[100]), XDP_TX, TX),
    # no options at all: the helper takes the default MSS; the frame grows
    "v4-noopt": (lambda: syn4(tcp_options=[]), XDP_TX, TX),
    # payload after the SYN's header: answered, the payload not acked
    "v4-payload": (lambda: syn4(payload=b"x" * 100), XDP_TX, TX),
    "v6-payload": (lambda: syn6(payload=b"y" * 33), XDP_TX, TX),
    # Ethernet padding after a short SYN: the answer has exactly its length
    "v4-padded": (lambda: syn4(tcp_options=[("MSS", 1460)]) + b"\0" * 8, XDP_TX, TX),
    "v4-noport": (lambda: syn4(dport=NOPORT), XDP_PASS, NO_LISTENER),
    "v6-noport": (lambda: syn6(dport=NOPORT), XDP_PASS, NO_LISTENER),
    "v4-synack": (lambda: syn4(flags="SA", ack=1), XDP_PASS, NOT_SYN),
    "v4-synrst": (lambda: syn4(flags="SR"), XDP_PASS, NOT_SYN),
    "v4-synfin": (lambda: syn4(flags="SF"), XDP_PASS, NOT_SYN),
    "v4-rst": (lambda: syn4(flags="R"), XDP_PASS, None),
    "v6-synack": (lambda: syn6(flags="SA", ack=1), XDP_PASS, NOT_SYN),
    # TCP header cut short (the parser's MALFORMED), and a doff beyond the
    # frame
    "v4-trunc": (lambda: pkt.truncate(syn4(), 14 + 20 + 12), XDP_PASS, None),
    "v6-trunc": (lambda: pkt.truncate(syn6(), 14 + 40 + 16), XDP_PASS, None),
    "v4-baddoff": (lambda: pkt.bad_tcp_doff(syn4(tcp_options=[]), 15), XDP_PASS, None),
    "v4-ipopt": (lambda: syn4(options=b"\x01\x01\x01\x01"), XDP_PASS, UNSUPPORTED),
    "v6-ext": (lambda: syn6(ext=["dstopts"]), XDP_PASS, UNSUPPORTED),
    "v4-mcast-src": (lambda: syn4(src="224.0.0.1"), XDP_PASS, BAD_ADDR),
    "v4-bcast-mac": (lambda: syn4(eth_dst="ff:ff:ff:ff:ff:ff"), XDP_PASS, BAD_ADDR),
    # the same SYNs when the helper gives no cookie (sysctl 0, or 1 with
    # the listener's SYN queue not full)
    "v4-refused": (lambda: syn4(), XDP_PASS, REFUSED),
    "v6-refused": (lambda: syn6(), XDP_PASS, REFUSED),
    # through a router: to a host behind it, matching a wildcard listener
    "v4-transit": (lambda: syn4(dst="198.51.100.7"), XDP_PASS, NOT_LOCAL),
    "v6-transit": (lambda: syn6(dst="2001:db8:2::7"), XDP_PASS, NOT_LOCAL),
    # the same router's own address
    "v4-router": (lambda: syn4(), XDP_TX, TX),
    "v6-router": (lambda: syn6(), XDP_TX, TX),
    "v6-mcast-dst": (lambda: syn6(dst="ff02::1"), XDP_PASS, BAD_ADDR),
}


def fail(msg):
    print("FAIL %s" % msg)
    sys.exit(1)


def check_synack(name, syn_b, out_b):
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    syn, out = Ether(syn_b), Ether(out_b)
    v6 = IPv6 in syn
    L3 = IPv6 if v6 else IP

    def want(cond, what):
        if not cond:
            fail("%s: %s\n  syn: %r\n  out: %r" % (name, what, syn, out))

    want(out.src == syn.dst and out.dst == syn.src, "Ethernet addresses not swapped")
    tags_in = [(t.type, t.vlan, t.prio) for t in syn.iterpayloads() if isinstance(t, Dot1Q)]
    tags_out = [(t.type, t.vlan, t.prio) for t in out.iterpayloads() if isinstance(t, Dot1Q)]
    want(tags_in == tags_out and out.type == syn.type, "VLAN tags changed")
    want(L3 in out and TCP in out, "not %s/TCP" % L3.__name__)
    si, oi, st, ot = syn[L3], out[L3], syn[TCP], out[TCP]
    l3_off = len(out_b) - len(bytes(oi))
    want(oi.src == si.dst and oi.dst == si.src, "IP addresses not swapped")
    if v6:
        want(oi.plen == 24 and oi.nh == 6 and oi.hlim == 64, "IPv6 plen/nh/hlim")
        want(oi.tc == 0 and oi.fl == 0, "IPv6 traffic class / flow label")
        want(len(out_b) == l3_off + 40 + 24, "frame length %d" % len(out_b))
    else:
        want(oi.ihl == 5 and oi.len == 44 and oi.ttl == 64 and oi.proto == 6,
             "IPv4 ihl/len/ttl/proto")
        want(oi.id == 0 and oi.flags == "DF" and oi.frag == 0, "IPv4 id/DF")
        want(len(out_b) == l3_off + 20 + 24, "frame length %d" % len(out_b))
    want(ot.sport == st.dport and ot.dport == st.sport, "ports not swapped")
    want(ot.ack == (st.seq + 1) & 0xffffffff, "ack %d, SYN seq %d" % (ot.ack, st.seq))
    want(ot.flags == "SA", "flags %s" % ot.flags)
    want(ot.dataofs == 6 and ot.window > 0 and ot.urgptr == 0, "doff/window/urg")
    want(len(ot.payload) == 0, "payload in the answer")
    opts = ot.options
    want(len(opts) == 1 and opts[0][0] == "MSS", "options %r" % (opts,))
    mss = opts[0][1]
    syn_mss = dict(st.options).get("MSS", 1220 if v6 else 536)
    want(mss in (MSS6 if v6 else MSS4) and mss <= syn_mss,
         "MSS %d (SYN %d)" % (mss, syn_mss))

    # Checksums computed again, independently: scapy fills in every
    # deleted checksum when it builds the frame.
    re = Ether(out_b)
    if not v6:
        del re[IP].chksum
    del re[TCP].chksum
    re = Ether(bytes(re))
    if not v6:
        want(re[IP].chksum == oi.chksum,
             "IPv4 checksum 0x%04x, scapy 0x%04x" % (oi.chksum, re[IP].chksum))
    want(re[TCP].chksum == ot.chksum,
         "TCP checksum 0x%04x, scapy 0x%04x" % (ot.chksum, re[TCP].chksum))
    return mss


def counters(map_fd):
    return [int.from_bytes(bpfrun.map_lookup(map_fd, k.to_bytes(4, "little"), 8),
                           "little") for k in range(SEEN + 1)]


def cmd_run(pin, stats_pin, name):
    build, verdict, reason = CASES[name]
    frame = build()
    fd = bpfrun.obj_get(pin)
    mfd = bpfrun.obj_get(stats_pin)
    before = counters(mfd)
    ret, out, _ = bpfrun.test_run_xdp(fd, frame)
    after = counters(mfd)
    if ret != verdict:
        fail("%s: verdict %d, expected %d (counters %s -> %s)" %
             (name, ret, verdict, before, after))
    want = list(before)
    if reason is not None:
        want[reason] += 1
        want[SEEN] += 1
    if after != want:
        fail("%s: counters %s -> %s, expected %s" % (name, before, after, want))
    if verdict == XDP_TX:
        mss = check_synack(name, frame, out)
        print("ok %s %d mss=%d" % (name, ret, mss))
    else:
        if out != frame:
            fail("%s: XDP_PASS changed the frame\n  in:  %s\n  out: %s" %
                 (name, frame.hex(), out.hex()))
        print("ok %s %d" % (name, ret))


def cmd_listen(port, backlog):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(backlog)
    while True:
        time.sleep(3600)


def cmd_http(port, backlog, directory):
    import functools
    import http.server

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6
        request_queue_size = backlog

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=directory)
    Server(("::", port), handler).serve_forever()


def cmd_fill(iface, dst_mac, n):
    """N SYNs to port 8080 from 192.0.2.50 and up: addresses nobody holds,
    so their SYN-ACKs go unanswered and the requests stay in the
    listener's SYN queue for their retransmissions (a minute)."""
    from scapy.sendrecv import sendp

    frames = [syn4(src="192.0.2.%d" % (50 + i), sport=30000 + i, eth_dst=dst_mac)
              for i in range(n)]
    for f in frames:
        sendp(f, iface=iface, verbose=False)


def main(argv):
    if len(argv) == 4 and argv[1] == "listen":
        cmd_listen(int(argv[2]), int(argv[3]))
    elif len(argv) == 5 and argv[1] == "fill":
        cmd_fill(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 5 and argv[1] == "http":
        cmd_http(int(argv[2]), int(argv[3]), argv[4])
    elif len(argv) == 5 and argv[1] == "run":
        cmd_run(argv[2], argv[3], argv[4])
    elif len(argv) == 2 and argv[1] == "cases":
        print(" ".join(CASES))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
