#!/usr/bin/python3
"""Small traffic and comparison tools for test/conntrack_e2e.bats.

  udp-probe HOST PORT [TIMEOUT]     send one datagram on a connected UDP
                                    socket, print reply|refused|timeout and
                                    the seconds it took
  tcp-server PORT MODE              dual-stack listener, one thread per
                                    connection; MODE echo (echo lines until
                                    EOF, then close), drain (read until EOF,
                                    then close), hold (never close first)
  tcp-client HOST PORT MODE [HOLD]  close: send a line, close first;
                                    rst: send a line, abort (RST);
                                    halfclose: send a line, shutdown(SHUT_WR),
                                    keep the socket HOLD seconds;
                                    hold: send a line, keep it open
  tcp-chat HOST PORT SECONDS INTERVAL
                                    send numbered lines to an echo server,
                                    each must come back within 1 s; exit 1
                                    on the first failure
  flood IFACE DSTMAC DST COUNT      SYNs to DST port 22 from random sources
                                    in 2001:db8:ff::/48 (scapy sendp)
  icmp-err IFACE DSTMAC SRC DST SPORT DPORT
                                    3 spoofed port unreachables quoting a
                                    UDP flow DST never sent
  compare OURS.json LINUX.txt       compare conntrack.sh --json with
                                    `conntrack -L` flow by flow
"""
import socket
import sys
import threading
import time


def udp_probe(host, port, timeout=2.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    t0 = time.monotonic()
    s.connect((host, int(port)))
    s.send(b"probe\n")
    try:
        s.recv(2048)
        res = "reply"
    except ConnectionRefusedError:
        res = "refused"
    except socket.timeout:
        res = "timeout"
    print(res, "%.3f" % (time.monotonic() - t0))


def tcp_server(port, mode):
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", int(port)))
    if mode == "stall":
        # Backlog 0 and never accept: the first connection fills the
        # accept queue, later SYNs are dropped (stay in SYN_SENT).
        ls.listen(0)
        time.sleep(120)
        return
    ls.listen(64)

    def serve(c):
        if mode == "shut":
            c.recv(4096)
            c.shutdown(socket.SHUT_WR)
            time.sleep(120)
            return
        if mode == "hold":
            while c.recv(4096):
                pass
            time.sleep(120)
            return
        f = c.makefile("rwb", buffering=0)
        while True:
            line = f.readline()
            if not line:
                break
            if mode == "echo":
                f.write(line)
        c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def tcp_client(host, port, mode, hold=5):
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(b"hello\n")
    if mode == "close":
        s.close()
        return
    if mode == "rst":
        import struct
        time.sleep(0.2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        return
    if mode == "halfclose":
        s.shutdown(socket.SHUT_WR)
    time.sleep(float(hold))


def tcp_chat(host, port, seconds, interval):
    s = socket.create_connection((host, int(port)), timeout=3)
    s.settimeout(1.0)
    f = s.makefile("rwb", buffering=0)
    end = time.monotonic() + float(seconds)
    n = 0
    while time.monotonic() < end:
        msg = b"line %d\n" % n
        f.write(msg)
        try:
            back = f.readline()
        except socket.timeout:
            back = b""
        if back != msg:
            print("chat: line %d not echoed (got %r)" % (n, back))
            sys.exit(1)
        n += 1
        time.sleep(float(interval))
    print("chat: %d lines echoed" % n)


def flood(iface, dstmac, dst, count):
    import random
    from scapy.all import Ether, IPv6, TCP, sendp  # noqa: E402

    pkts = []
    for _ in range(int(count)):
        src = "2001:db8:ff:%x:%x:%x:%x:%x" % tuple(
            random.randrange(1, 0xFFFF) for _ in range(5))
        pkts.append(Ether(dst=dstmac) / IPv6(src=src, dst=dst) /
                    TCP(sport=random.randrange(1024, 65535), dport=22,
                        flags="S", seq=random.randrange(1 << 32)))
    t0 = time.monotonic()
    sendp(pkts, iface=iface, verbose=0)
    print("flood: %d SYNs in %.2f s" % (len(pkts), time.monotonic() - t0))


def icmp_err(iface, dstmac, src, dst, sport, dport):
    """Port unreachable from SRC to DST quoting UDP DST:sport -> SRC:dport,
    a flow DST never sent (spoofed, unsolicited error)."""
    from scapy.all import (Ether, IP, IPv6, UDP, ICMP,  # noqa: E402
                           ICMPv6DestUnreach, sendp)
    inner_udp = UDP(sport=int(sport), dport=int(dport)) / b"probe\n"
    if ":" in dst:
        p = (Ether(dst=dstmac) / IPv6(src=src, dst=dst) /
             ICMPv6DestUnreach(code=4) / IPv6(src=dst, dst=src) / inner_udp)
    else:
        p = (Ether(dst=dstmac) / IP(src=src, dst=dst) /
             ICMP(type=3, code=3) / IP(src=dst, dst=src) / inner_udp)
    sendp(p, iface=iface, count=3, verbose=0)


# ours -> Linux (nf_conntrack_tcp state names)
TCP_MAP = {
    "syn_sent": "SYN_SENT", "syn_recv": "SYN_RECV",
    "established": "ESTABLISHED", "fin_wait": "FIN_WAIT",
    "close_wait": "CLOSE_WAIT", "last_ack": "LAST_ACK",
    "time_wait": "TIME_WAIT", "close": "CLOSE",
}


def norm(addr):
    if ":" in addr:
        return socket.inet_ntop(socket.AF_INET6,
                                socket.inet_pton(socket.AF_INET6, addr))
    return addr


def parse_linux(text):
    flows = {}
    for line in text.splitlines():
        tok = line.split()
        if not tok or tok[0] not in ("tcp", "udp"):
            continue
        kv, state, flags = {}, None, set()
        for t in tok[3:]:
            if "=" in t:
                k, v = t.split("=", 1)
                kv.setdefault(k, v)  # first = original direction
            elif t.startswith("["):
                flags.add(t.strip("[]"))
            elif state is None and not kv and t.isupper():
                state = t
        key = (tok[0], norm(kv["src"]), norm(kv["dst"]),
               int(kv["sport"]), int(kv["dport"]))
        flows[key] = (state, flags, line.strip())
    return flows


def compare(ours_path, linux_path):
    import json
    with open(ours_path) as f:
        ours = json.load(f)
    with open(linux_path) as f:
        linux = parse_linux(f.read())
    bad = 0
    seen = 0
    for e in ours:
        if e["proto"] not in ("tcp", "udp"):
            continue
        key = (e["proto"], norm(e["src"]), norm(e["dst"]), e["sport"],
               e["dport"])
        desc = "%s %s %s:%d -> %s:%d" % (e["proto"], e["state"], e["src"],
                                         e["sport"], e["dst"], e["dport"])
        if key not in linux:
            print("MISSING in Linux conntrack: " + desc)
            bad += 1
            continue
        seen += 1
        lstate, lflags, lline = linux.pop(key)
        if e["proto"] == "tcp":
            want = TCP_MAP.get(e["state"], "?" + e["state"])
            ok = lstate == want
            got = lstate
        else:
            if e["state"] == "new":
                ok = "UNREPLIED" in lflags
            else:
                ok = "UNREPLIED" not in lflags
            got = ",".join(sorted(lflags)) or "replied"
        print("%s %s | linux: %s" % ("ok  " if ok else "DIFF", desc, got))
        if not ok:
            print("      linux line: " + lline)
            bad += 1
    for key, (lstate, lflags, lline) in linux.items():
        print("MISSING in bpfguard: " + lline)
        bad += 1
    print("compared %d flows, %d problems" % (seen, bad))
    sys.exit(1 if bad or not seen else 0)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "udp-probe": udp_probe, "tcp-server": tcp_server,
        "tcp-client": tcp_client, "tcp-chat": tcp_chat, "flood": flood,
        "compare": compare, "icmp-err": icmp_err,
    }[cmd](*args)


if __name__ == "__main__":
    main()
