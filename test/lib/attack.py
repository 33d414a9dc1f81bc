#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""attack: what an attacker on the wire sends, for the end-to-end tests.

usage:
  attack.py spoof IFACE DSTMAC SRC SPORT DST DPORT udp|syn|synack [SEQ ACK]
      one forged packet (any source address) out of IFACE to DSTMAC
  attack.py rst-flood IFACE DSTMAC SRC SPORT DST DPORT COUNT
      COUNT forged RSTs (random sequence numbers, half with a random ACK)
  attack.py ack-flood IFACE DSTMAC SRC SPORT DST DPORT COUNT
      a forged SYN from SRC (an address nobody on the wire answers for),
      then COUNT forged ACKs for the half-open connection, each with a
      wrong acknowledgement number: the attacker sees the SYN-ACK on IFACE
      (an on-path one; blind ones know less) and spreads the numbers over
      the 60,000 below the right one, which conntrack's window check
      accepts (above it, conntrack refuses them itself); prints "flooded N"
  attack.py replay IFACE FILTER COUNT
      capture the first frame matching the pcap FILTER on IFACE (10 s at
      most; "listening" once started), then send it again COUNT times;
      prints "replayed N"
  attack.py udp-listen PORT SECONDS [DST DPORT]
      print "got ADDR PORT" per datagram received on PORT (IPv4 and IPv6)
      for SECONDS or until the file $UDP_LISTEN_STOP exists, then "done
      N"; with DST, first send a query there from PORT (its answer is what
      the listener then waits for)
  attack.py udp-send SPORT DST DPORT
      one datagram from local port SPORT to DST:DPORT
  attack.py bulk-server PORT
      accept one TCP connection, read until EOF, print the bytes read;
      the receive buffer as large as the host allows (a window of
      megabytes, as a fast long-distance transfer has)
  attack.py bulk-client DST PORT RATE STOPFILE
      send RATE bytes a second to DST:PORT until STOPFILE exists (at
      most 120 s), then print "sent N"
Run with /usr/bin/python3 (scapy).
"""
import ipaddress
import os
import random
import socket
import sys
import time


def l3(src, dst):
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    if ipaddress.ip_address(src).version == 4:
        return IP(src=src, dst=dst)
    return IPv6(src=src, dst=dst)


def spoof(iface, mac, src, sport, dst, dport, kind, seq=1000, ack=0):
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import sendp

    sport, dport, seq, ack = int(sport), int(dport), int(seq), int(ack)
    if kind == "udp":
        l4 = UDP(sport=sport, dport=dport) / b"forged"
    elif kind == "syn":
        l4 = TCP(sport=sport, dport=dport, flags="S", seq=seq)
    else:
        l4 = TCP(sport=sport, dport=dport, flags="SA", seq=seq, ack=ack)
    sendp(Ether(dst=mac) / l3(src, dst) / l4, iface=iface, verbose=0)


def rst_flood(iface, mac, src, sport, dst, dport, count):
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import sendp

    rnd = random.Random(5961)
    base = Ether(dst=mac) / l3(src, dst)
    pkts = []
    for i in range(int(count)):
        if i % 2:
            t = TCP(sport=int(sport), dport=int(dport), flags="RA",
                    seq=rnd.getrandbits(32), ack=rnd.getrandbits(32))
        else:
            t = TCP(sport=int(sport), dport=int(dport), flags="R",
                    seq=rnd.getrandbits(32))
        pkts.append(base / t)
    sendp(pkts, iface=iface, verbose=0)
    print("sent %d" % len(pkts))


def ack_flood(iface, mac, src, sport, dst, dport, count):
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import AsyncSniffer, sendp

    sport, dport = int(sport), int(dport)
    base = Ether(dst=mac) / l3(src, dst)
    sn = AsyncSniffer(iface=iface, count=1, timeout=5,
                      lfilter=lambda p: TCP in p and p[TCP].flags == "SA"
                      and p[TCP].dport == sport)
    sn.start()
    time.sleep(0.3)
    sendp(base / TCP(sport=sport, dport=dport, flags="S", seq=1000),
          iface=iface, verbose=0)
    sn.join()
    if not sn.results:
        sys.exit("no SYN-ACK")
    right = (sn.results[0][TCP].seq + 1) & 0xffffffff
    pkts = []
    step = max(1, 60000 // int(count))
    for i in range(1, int(count) + 1):
        wrong = (right - i * step) & 0xffffffff
        pkts.append(base / TCP(sport=sport, dport=dport, flags="A",
                               seq=1001, ack=wrong))
    sendp(pkts, iface=iface, verbose=0)
    print("flooded %d" % len(pkts))


def replay(iface, flt, count):
    from scapy.sendrecv import AsyncSniffer, sendp

    sn = AsyncSniffer(iface=iface, filter=flt, count=1, timeout=10)
    sn.start()
    time.sleep(0.3)
    print("listening", flush=True)
    sn.join()
    if not sn.results:
        sys.exit("nothing captured")
    sendp([sn.results[0]] * int(count), iface=iface, verbose=0)
    print("replayed %d" % int(count), flush=True)


def udp_listen(port, seconds, dst=None, dport=None):
    """Until SECONDS have passed or the file $UDP_LISTEN_STOP exists: the
    test ends the window when its packets are sent, however long a loaded
    machine took to send them."""
    stop = os.environ.get("UDP_LISTEN_STOP")
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port)))
    end = time.time() + float(seconds)
    n = 0
    if dst:
        mapped = dst if ":" in dst else "::ffff:" + dst
        s.sendto(b"query", (mapped, int(dport)))
    print("listening", flush=True)
    while True:
        left = end - time.time()
        if left <= 0 or (stop and os.path.exists(stop)):
            break
        s.settimeout(min(left, 0.1))
        try:
            _, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        n += 1
        host = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
        print("got %s %d" % (host, addr[1]), flush=True)
    print("done %d" % n, flush=True)


def udp_send(sport, dst, dport):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(sport)))
    s.sendto(b"reply", (dst, int(dport)))


def bulk_server(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind(("::", int(port)))
    s.listen(1)
    c, _ = s.accept()
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    print(n, flush=True)
    c.close()


def bulk_client(dst, port, rate, stopfile):
    """Send RATE bytes a second until STOPFILE exists (at most 120 s), so
    the transfer is live for as long as the test needs it, however slowly
    the attack beside it runs."""
    s = socket.create_connection((dst, int(port)), timeout=10)
    chunk = b"x" * 4096
    pause = len(chunk) / float(rate)
    sent = 0
    end = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < end:
        s.sendall(chunk)
        sent += len(chunk)
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print("sent %d" % sent, flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"spoof": spoof, "rst-flood": rst_flood, "ack-flood": ack_flood,
          "replay": replay, "udp-listen": udp_listen,
          "udp-send": udp_send, "bulk-server": bulk_server,
          "bulk-client": bulk_client}.get(cmd)
    if not fn:
        sys.exit(__doc__)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    fn(*args)


if __name__ == "__main__":
    main()
