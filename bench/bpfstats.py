#!/usr/bin/env python3
"""make bench: the kernel's run-time statistics of BPF programs, on for a while.

usage: bpfstats.py [--on-signal] SECONDS

Turns on run_time_ns and run_cnt of every BPF program (what `bpftool prog
show` prints) with BPF_ENABLE_STATS, prints "on", and turns them off again
after SECONDS by closing the file descriptor that keeps them on: unlike the
kernel.bpf_stats_enabled sysctl, nothing stays on when this process ends,
however it ends. While on, every program run costs two clock reads more.

--on-signal: start up, print "ready", and turn them on only when SIGUSR1
comes, so that the interpreter's start (seconds on a busy machine) is
not part of the time between asking and the statistics being on.
"""
import ctypes
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import bpfrun  # noqa: E402

BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


class _AttrStats(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32)]


def main():
    args = sys.argv[1:]
    on_signal = args[:1] == ["--on-signal"]
    if on_signal:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__.strip())
    secs = float(args[0])
    if on_signal:
        # Blocked before "ready": a signal sent at once waits for sigwait.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        print("ready", flush=True)
        signal.sigwait({signal.SIGUSR1})
    fd = bpfrun.bpf(BPF_ENABLE_STATS, _AttrStats(BPF_STATS_RUN_TIME))
    print("on", flush=True)
    time.sleep(secs)
    os.close(fd)


if __name__ == "__main__":
    main()
