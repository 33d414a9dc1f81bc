#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""ct_race: two CPUs at once on tc_conntrack, through BPF_PROG_TEST_RUN.

usage: ct_race.py --bpffs DIR --progs DIR fin N
       ct_race.py --bpffs DIR --progs DIR sweep N
       ct_race.py --bpffs DIR --progs DIR src N

fin N:   N TCP flows established, then for each flow CPU 0 runs the
         server's FIN (ingress) while CPU 1 runs the client's FIN (egress)
         at the same moment. Prints how many flows ended in LAST_ACK (both
         FINs recorded) and how many did not (an update lost).
sweep N: CPU 1 runs whole sweep passes without pause while CPU 0 creates N
         UDP flows; then one more pass on a quiet table. Prints the entries
         in the table, the live count and the evicted count.
src N:   N sources new to conntrack (203.0.113.1..N, N <= 250), each
         opening its first two flows on CPU 0 and CPU 1 at the same moment.
         Prints how many sources count both flows and how many fewer.
Run it in a network namespace of its own (the programs see its loopback).
"""
import argparse
import os
import struct
import sys
from multiprocessing import Process, Value

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402
import bpfrun  # noqa: E402
import ctcheck  # noqa: E402
import pkt  # noqa: E402

CTX = bytes(ctcheck.SKB_CTX)


def pin(cpu):
    os.sched_setaffinity(0, {cpu})


def client(i):
    return dict(src="192.0.2.10", dst="198.51.100.1", sport=20000 + i, dport=80)


def server(i):
    return dict(src="198.51.100.1", dst="192.0.2.10", sport=80, dport=20000 + i)


def fin_side(progs, cpu, n, turn, ready, frames):
    """Run frames[i] on flow i when both sides are ready for it."""
    pin(cpu)
    runner = bpfrun.ProgRunner(bpfrun.obj_get(progs))
    for i in range(n):
        # Meet the other side at flow i: each says it is there, then
        # both spin until the other is, and go at once.
        with ready.get_lock():
            ready.value += 1
        while ready.value < 2 * (i + 1):
            pass
        runner.run(frames[i], ctx=CTX)
        turn.value = i


def race_fin(c, args, n):
    ing = os.path.join(args.progs, "bg_ct_ingress")
    eg = os.path.join(args.progs, "bg_ct_egress")
    for i in range(n):
        c.run("ingress", pkt.tcp4(**client(i), flags="S", seq=1000))
        c.run("egress", pkt.tcp4(**server(i), flags="SA", seq=5000, ack=1001))
        c.run("ingress", pkt.tcp4(**client(i), flags="A", seq=1001, ack=5001))
    # The client's FIN arrives (ingress) while the server's leaves
    # (egress, the server is local): both on the same flow at once.
    srv = [pkt.tcp4(**server(i), flags="FA", seq=5001, ack=1001) for i in range(n)]
    cli = [pkt.tcp4(**client(i), flags="FA", seq=1001, ack=5001) for i in range(n)]
    ready, t0, t1 = Value("l", 0), Value("l", -1), Value("l", -1)
    p0 = Process(target=fin_side, args=(eg, 0, n, t0, ready, srv))
    p1 = Process(target=fin_side, args=(ing, 1, n, t1, ready, cli))
    p0.start()
    p1.start()
    p0.join()
    p1.join()
    states = {}
    for i in range(n):
        e = c.entry("tcp", "192.0.2.10", 20000 + i, "198.51.100.1", 80)
        st = e["state"] if e else "absent"
        states[st] = states.get(st, 0) + 1
    print("last_ack=%d other=%d %r lock_busy=%d" % (
        states.get("LAST_ACK", 0), n - states.get("LAST_ACK", 0), states,
        c.stat("lock_busy")))


def race_src(c, args, n):
    ing = os.path.join(args.progs, "bg_ct_ingress")
    frames = [[pkt.udp4(src="203.0.113.%d" % (1 + i), dst="198.51.100.1",
                        sport=sport, dport=53) for i in range(n)]
              for sport in (1000, 2000)]
    ready, t0, t1 = Value("l", 0), Value("l", -1), Value("l", -1)
    p0 = Process(target=fin_side, args=(ing, 0, n, t0, ready, frames[0]))
    p1 = Process(target=fin_side, args=(ing, 1, n, t1, ready, frames[1]))
    p0.start()
    p1.start()
    p0.join()
    p1.join()
    import ipaddress
    exact = 0
    for i in range(n):
        a = ipaddress.ip_address("203.0.113.%d" % (1 + i))
        v = bpfrun.map_lookup(c.m["bg_ct_src4"], a.packed, 8)
        exact += (struct.unpack("<Q", v)[0] if v else 0) == 2
    print("exact=%d short=%d" % (exact, n - exact))


def sweeper(progs, stop):
    pin(1)
    fd = bpfrun.obj_get(progs)
    cmd = struct.pack("<4I", ctcheck.CMD_MAGIC, ctcheck.CMD_FULL, 0, 1).ljust(64, b"\0")
    runs = 0
    while not stop.value:
        bpfrun.test_run(fd, cmd, ctx=CTX)
        runs += 1
    print("sweeps=%d" % runs, flush=True)


def race_sweep(c, args, n):
    # Flows that outlive the run however slowly a loaded machine makes
    # them: unreplied UDP for an hour, not 30 s.
    cfg = c.config()
    idx = abi.enum("bg_ct_timeout")["BG_CTT_UDP_UNREPLIED"]
    struct.pack_into("<I", cfg, abi.offset("bg_ct_config", "timeout") + 4 * idx, 3600)
    c.set_config(cfg)
    stop = Value("i", 0)
    p = Process(target=sweeper, args=(os.path.join(args.progs, "bg_ct_sweep"), stop))
    p.start()
    pin(0)
    runner = bpfrun.ProgRunner(c.p["ingress"])
    for i in range(n):
        frame = pkt.udp4(src="192.0.2.%d" % (10 + i // 60000),
                         dst="198.51.100.1", sport=1 + i % 60000, dport=53)
        runner.run(frame, ctx=CTX)
    stop.value = 1
    p.join()
    c.command(ctcheck.CMD_FULL)
    live, ev = c.live(0)
    print("count=%d live=%d evicted=%d" % (c.count(), live, ev))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpffs", required=True)
    ap.add_argument("--progs", required=True)
    ap.add_argument("what", choices=("fin", "sweep", "src"))
    ap.add_argument("n", type=int)
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("ct_race: needs two CPUs")
    c = ctcheck.Checker(args.bpffs, args.progs)
    if args.what == "fin":
        race_fin(c, args, args.n)
    elif args.what == "src":
        race_src(c, args, args.n)
    else:
        race_sweep(c, args, args.n)


if __name__ == "__main__":
    main()
