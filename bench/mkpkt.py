#!/usr/bin/env python3
"""Write a minimal Ethernet/IP/UDP frame for make bench (no scapy needed).

usage: mkpkt.py SRC DST OUTFILE   (both IPv4 or both IPv6)
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


def frame(src: str, dst: str) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    payload = b"bpfguard-bench" + bytes(18)
    udp = struct.pack("!HHHH", 40000, 53, 8 + len(payload), 0) + payload
    eth = bytes.fromhex("020000000002" "020000000001")
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64,
                         17, 0, s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return eth + b"\x08\x00" + ip + udp
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, s.packed,
                     d.packed)
    return eth + b"\x86\xdd" + ip + udp


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    with open(sys.argv[3], "wb") as f:
        f.write(frame(sys.argv[1], sys.argv[2]))
