#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bigtcp: allow IPv4 BIG TCP on an interface (GSO and GRO up to SIZE).

usage: bigtcp.py IFACE SIZE

iproute2 6.1 has no gso_ipv4_max_size/gro_ipv4_max_size; this sets them
(IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE, Linux 6.3+) with one
rtnetlink request. Use "ip link set dev IFACE gso_max_size SIZE
gro_max_size SIZE" for IPv6.
"""
import socket
import struct
import sys

IFLA_GSO_IPV4_MAX_SIZE = 63
IFLA_GRO_IPV4_MAX_SIZE = 64
RTM_NEWLINK = 16
NLM_F_REQUEST = 1
NLM_F_ACK = 4


def attr(kind, value):
    length = 4 + len(value)
    return struct.pack("HH", length, kind) + value + b"\0" * ((4 - length % 4) % 4)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    idx = socket.if_nametoindex(sys.argv[1])
    size = struct.pack("I", int(sys.argv[2]))
    body = (struct.pack("BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0) +
            attr(IFLA_GSO_IPV4_MAX_SIZE, size) + attr(IFLA_GRO_IPV4_MAX_SIZE, size))
    hdr = struct.pack("IHHII", 16 + len(body), RTM_NEWLINK,
                      NLM_F_REQUEST | NLM_F_ACK, 1, 0)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.send(hdr + body)
    err = struct.unpack_from("i", s.recv(4096), 16)[0]
    if err:
        sys.exit("bigtcp: %s: %s" % (sys.argv[1], os_strerror(-err)))


def os_strerror(e):
    import os
    return os.strerror(e)


if __name__ == "__main__":
    main()
