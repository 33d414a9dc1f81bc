#!/usr/bin/env python3
"""make bench: ns of programs that rewrite their packet, one run at a time.

usage: onerun.py [--iface NAME] RUNS PKT PIN[=VERDICT]...

BPF_PROG_TEST_RUN with repeat N runs a program N times on the same buffer
without restoring it: a program that turns a SYN into a SYN-ACK (XDP_TX)
would meet its own SYN-ACK from the second run on. So each program runs
RUNS times with repeat 1 on a fresh copy of PKT, the programs in turn
(interleaved, so that a change of the machine's load reaches them all),
and the median of the kernel's durations is printed per program, one
"PIN NS" line each. A duration of one run includes reading the clock
twice: the caller subtracts a no-op's one-run median and adds its
repeated median. With =VERDICT, at least 99% of a program's runs must
return that XDP action (or the program is not doing what it is measured
for); the script exits 1 naming it otherwise. --iface: the packets come
in on interface NAME of the caller's namespace (an XDP ctx with its
ifindex) instead of its loopback device.
"""
import os
import socket
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import bpfrun  # noqa: E402


def main():
    if len(sys.argv) < 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    args = sys.argv[1:]
    ifindex = None
    if args[0] == "--iface":
        ifindex = socket.if_nametoindex(args[1])
        args = args[2:]
    runs = int(args[0])
    pkt = open(args[1], "rb").read()
    progs = []
    for arg in args[2:]:
        pin, _, want = arg.partition("=")
        fd = bpfrun.obj_get(pin)
        progs.append((pin, bpfrun.ProgRunner(fd, ingress_ifindex=ifindex),
                      int(want) if want else None, [], [0]))
    for _ in range(runs):
        for pin, runner, want, times, good in progs:
            ret, _, ns = runner.run(pkt)
            times.append(ns)
            if want is None or ret == want:
                good[0] += 1
    bad = False
    for pin, _, want, times, good in progs:
        if want is not None and good[0] < 0.99 * runs:
            print("onerun.py: %s returned %d in %d of %d runs" %
                  (pin, want, good[0], runs), file=sys.stderr)
            bad = True
        print(pin, int(statistics.median(times)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
