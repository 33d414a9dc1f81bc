#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""scrubcheck: the checks of tc_scrub that a fixed output frame cannot
state (test/tc_scrub.bats).

    scrubcheck.py random-id PROG FRAME_HEX RUNS

runs pinned program PROG on the IPv4 frame RUNS times and checks every
output: the IPv4 header checksum is right (recomputed by scapy) and every
byte but the identification and the checksum is the input's. Prints the
number of distinct identifications seen (the caller judges how random).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfrun  # noqa: E402


def ip4_csum_ok(frame, l3):
    from scapy.layers.inet import IP
    ip = IP(frame[l3:])
    want = ip.chksum
    del ip.chksum
    return IP(bytes(ip)).chksum == want


def random_id(prog, frame_hex, runs):
    fd = bpfrun.obj_get(prog)
    frame = bytes.fromhex(frame_hex)
    l3 = 14
    ids = set()
    for _ in range(int(runs)):
        ret, out, _ = bpfrun.test_run(fd, frame)
        ret = ret - (1 << 32) if ret >= 1 << 31 else ret
        if ret != -1:
            sys.exit("verdict %d, want TC_ACT_UNSPEC" % ret)
        if len(out) != len(frame):
            sys.exit("length %d, want %d" % (len(out), len(frame)))
        # identification (l3+4..6) and checksum (l3+10..12) may differ
        for i in range(len(frame)):
            if l3 + 4 <= i < l3 + 6 or l3 + 10 <= i < l3 + 12:
                continue
            if out[i] != frame[i]:
                sys.exit("byte %d changed: %02x -> %02x" % (i, frame[i], out[i]))
        if not ip4_csum_ok(out, l3):
            sys.exit("bad IPv4 header checksum: %s" % out[l3:l3 + 20].hex())
        ids.add(out[l3 + 4:l3 + 6])
    print(len(ids))


def main(argv):
    if len(argv) != 5 or argv[1] != "random-id":
        sys.exit(__doc__)
    random_id(argv[2], argv[3], argv[4])


if __name__ == "__main__":
    main(sys.argv)
