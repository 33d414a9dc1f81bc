#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""rlcheck: drive xdp_ratelimit through BPF_PROG_TEST_RUN at chosen times.

usage: rlcheck.py --bpffs DIR [--prog NAME] [--timer] < SCRIPT

The rate limiter's clock is conntrack's (bg_ct_now(): CLOCK_BOOTTIME plus
the test offset in bg_ct_clock). Time 0 of a script is the next multiple
of a minute after the real clock plus a minute, so that windows (aligned
on multiples of their interval) start at 0 for every test. Real time
would pass between packets: the clock is set again before each packet
(frames are built before), so what passes is the microseconds between
two syscalls, and times are chosen so that it does not count.
The sweep timer is kept from ever running (marked armed), so that only
the script's "sweep" deletes entries; --timer leaves it alone.

SCRIPT, one command per line ('#' comments, blank lines skipped):
  at SECONDS          set the clock to SECONDS after time 0 (a float)
  send N EXPR         run the packet of pkt.py expression EXPR N times:
                      prints "pass P drop D other O"
  pace STEP N EXPR    N packets, one every STEP seconds of the clock from
                      the time of the last "at" on (which moves to the end):
                      prints "pass P drop D other O"
  fill6 N             N IPv6 UDP packets, each from another source
                      (2001:db8:f::/96 + a count): prints as send does
  burn SECONDS EXPR   the packet as often as it can for SECONDS of real
                      time (--real: the clock is left alone): prints
                      "pass P drop D other O start START_NS end END_NS"
  sweep               one sweep tick (bg_rl_sweep_now): prints "swept N"
  entries             prints "entries N": bg_rl_state's entries
"""
import argparse
import glob
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfrun  # noqa: E402
import pkt  # noqa: E402

NS = 1000000000


def prog_pin(bpffs, name):
    pins = glob.glob(os.path.join(bpffs, "bpfguard", "*", name))
    if len(pins) != 1:
        sys.exit("rlcheck: want one pin of %s under %s, found %d" %
                 (name, bpffs, len(pins)))
    return pins[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--prog", default="bg_rl_xdp")
    ap.add_argument("--timer", action="store_true")
    ap.add_argument("--real", action="store_true")
    args = ap.parse_args()

    glob_dir = os.path.join(args.bpffs, "tc", "globals")
    prog = bpfrun.obj_get(prog_pin(args.bpffs, args.prog))
    clock = bpfrun.obj_get(os.path.join(glob_dir, "bg_ct_clock"))
    state = bpfrun.obj_get(os.path.join(glob_dir, "bg_rl_state"))
    boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    t0 = (boot // (60 * NS) + 2) * 60 * NS
    runner = bpfrun.ProgRunner(prog)
    sweeper = None
    frames = {}

    def set_clock(secs):
        if args.real:
            return
        want = t0 + int(secs * NS)
        off = want - time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        bpfrun.map_update(clock, struct.pack("<I", 0), struct.pack("<q", off))

    now = [0.0]

    def frame(expr):
        if expr not in frames:
            frames[expr] = pkt._frames(pkt._eval(expr, vars(pkt)))[0]
        return frames[expr]

    def run(data, counts):
        ret = runner.run(data, ctx=bpfrun.xdp_ctx(0, 0, len(data), 0))[0]
        if ret == bpfrun.XDP_PASS:
            counts["pass"] += 1
        elif ret == bpfrun.XDP_DROP:
            counts["drop"] += 1
        else:
            counts["other"] += 1

    def report(counts):
        print("pass %(pass)d drop %(drop)d other %(other)d" % counts,
              flush=True)

    if not args.timer:
        sweep = bpfrun.obj_get(os.path.join(glob_dir, "bg_rl_sweep"))
        val = bytearray(bpfrun.map_lookup(sweep, struct.pack("<I", 0), 32))
        val[16:20] = struct.pack("<I", 1)  # armed (struct bg_rl_sweep)
        bpfrun.map_update(sweep, struct.pack("<I", 0), bytes(val))
    set_clock(0)
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cmd, _, rest = line.partition(" ")
        if cmd == "at":
            now[0] = float(rest)
            set_clock(now[0])
        elif cmd == "send":
            n, _, expr = rest.partition(" ")
            counts = {"pass": 0, "drop": 0, "other": 0}
            data = frame(expr)
            for _ in range(int(n)):
                set_clock(now[0])
                run(data, counts)
            report(counts)
        elif cmd == "pace":
            step, n, expr = rest.split(" ", 2)
            counts = {"pass": 0, "drop": 0, "other": 0}
            data = frame(expr)
            for i in range(int(n)):
                set_clock(now[0] + i * float(step))
                run(data, counts)
            now[0] += int(n) * float(step)
            set_clock(now[0])
            report(counts)
        elif cmd == "fill6":
            counts = {"pass": 0, "drop": 0, "other": 0}
            data = bytearray(frame('udp6(src="2001:db8:f::", dport=53)'))
            src = pkt.l3_offset(bytes(data))[0] + 8
            set_clock(now[0])
            for i in range(int(rest)):
                data[src + 12:src + 16] = struct.pack(">I", i)
                run(bytes(data), counts)
            report(counts)
        elif cmd == "burn":
            secs, expr = rest.split(" ", 1)
            counts = {"pass": 0, "drop": 0, "other": 0}
            data = frame(expr)
            start = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
            end = start + int(float(secs) * NS)
            t = start
            while t < end:
                for _ in range(100):
                    run(data, counts)
                t = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
            print("pass %d drop %d other %d start %d end %d" %
                  (counts["pass"], counts["drop"], counts["other"], start, t),
                  flush=True)
        elif cmd == "sweep":
            if sweeper is None:
                sweeper = bpfrun.obj_get(prog_pin(args.bpffs,
                                                  "bg_rl_sweep_now"))
            ret = bpfrun.test_run_xdp(sweeper, pkt.udp4())[0]
            print("swept %d" % ret, flush=True)
        elif cmd == "entries":
            print("entries %d" % sum(1 for _ in bpfrun.map_keys(state)),
                  flush=True)
        else:
            sys.exit("rlcheck: unknown command: " + line)


if __name__ == "__main__":
    main()
