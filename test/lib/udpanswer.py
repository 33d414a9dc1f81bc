#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""udpanswer: answer every UDP datagram with one datagram of SIZE bytes.

usage: udpanswer.py ADDR PORT SIZE

One sendto() per answer, so an answer larger than the MTU leaves as one
datagram in fragments (a stream tool such as socat with SYSTEM: may split
it where a pipe read ends).
"""
import socket
import sys


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    addr, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    answer = b"a" * size
    while True:
        _, peer = s.recvfrom(65535)
        s.sendto(answer, peer)


if __name__ == "__main__":
    main()
