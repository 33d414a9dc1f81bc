#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""lrucheck: how many other keys an LRU hash takes before it evicts one.

usage: lrucheck.py PIN COUNT
    In the (empty) LRU hash pinned at PIN, insert a first key (the
    "victim": an overloaded source, a source's counter), then COUNT keys
    never seen before, one at a time, as that many other sources would.
    Prints "evicted after N" (N: the other keys inserted when the victim
    was first found gone) or "kept after COUNT".
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfrun  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    fd = bpfrun.obj_get(argv[0])
    info = bpfrun.map_info(fd)
    ksz, vsz, count = info["key_size"], info["value_size"], int(argv[1])
    zero = bytes(vsz)

    def key(i):
        return struct.pack("<I", i + 1).ljust(ksz, b"\xee")

    victim = key(0xfffffffe)
    bpfrun.map_update(fd, victim, zero)
    for i in range(count):
        bpfrun.map_update(fd, key(i), zero)
        if bpfrun.map_lookup(fd, victim, vsz) is None:
            print("evicted after %d" % (i + 1))
            return
    print("kept after %d" % count)


if __name__ == "__main__":
    main(sys.argv[1:])
