#!/usr/bin/env python3
"""Write a minimal Ethernet/IP/UDP frame for make bench (no scapy needed).

usage: mkpkt.py SRC DST OUTFILE [tcp FLAGS SPORT DPORT [MSS] | frag first|later]
       (both IPv4 or both IPv6; UDP 40000 -> 53 unless tcp is given,
        FLAGS e.g. S, A, SA, MSS an MSS option of that value after a
        window scale and a NOP; frag, IPv4 only: the datagram's first
        fragment (More Fragments, identification 1), or a later one of
        it at byte 40, right after what the first holds)
"""
import ipaddress
import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


TCP_FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}


def frame(src: str, dst: str, tcp=None, frag=None) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    payload = b"bpfguard-bench" + bytes(18)
    proto = 17
    udp = struct.pack("!HHHH", 40000, 53, 8 + len(payload), 0) + payload
    if tcp:
        flags, sport, dport = tcp[:3]
        bits = sum(TCP_FLAGS[c] for c in flags)
        opts = b""
        if len(tcp) > 3:
            opts = struct.pack("!BBBBBBH", 3, 3, 7, 1, 2, 4, int(tcp[3]))
        udp = struct.pack("!HHIIBBHHH", int(sport), int(dport), 1000, 5000,
                          (5 + len(opts) // 4) << 4, bits, 65535, 0, 0) + opts + payload
        proto = 6
    eth = bytes.fromhex("020000000002" "020000000001")
    if s.version == 4:
        fo = {None: 0, "first": 0x2000, "later": 40 // 8}[frag]
        if frag == "later":
            udp = payload[:32]  # data, no UDP header
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, fo, 64,
                         proto, 0, s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return eth + b"\x08\x00" + ip + udp
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), proto, 64, s.packed,
                     d.packed)
    return eth + b"\x86\xdd" + ip + udp


if __name__ == "__main__":
    frag_arg = len(sys.argv) == 6 and sys.argv[4] == "frag" and sys.argv[5] in ("first", "later")
    if len(sys.argv) not in (4, 8, 9) and not frag_arg or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    tcp = sys.argv[5:] if len(sys.argv) in (8, 9) else None
    with open(sys.argv[3], "wb") as f:
        f.write(frame(sys.argv[1], sys.argv[2], tcp, sys.argv[5] if frag_arg else None))
