#!/usr/bin/env python3
"""Write a synthetic blocklist for capacity tests and make bench.

usage: mkblocklist.py OUTFILE [COUNT] [SEED]
    COUNT entries (default 100000): half IPv4 /32s from 198.51.100.0 on
    (a 2^20 range: synthetic data, never routed), half IPv6 /64s in
    2001:db8::/32.
"""
import ipaddress
import random
import sys


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 else 2
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    r = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    with open(sys.argv[1], "w") as f:
        for i in range(count):
            if i % 2:
                f.write("%s\n" % ipaddress.ip_address(0xC6336400 + r.randrange(1 << 20)))
            else:
                f.write("2001:db8:%x:%x::/64\n" % (r.randrange(65536), r.randrange(65536)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
