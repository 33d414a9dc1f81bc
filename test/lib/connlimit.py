#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""connlimit: real TCP connections for the connection-limit tests.

usage:
  connlimit.py server PORT...
      accept on every PORT (IPv4 and IPv6); greet each connection with
      "hi", then hold it until the peer closes it
  connlimit.py try SRC DST PORT N
      N connections one after the other from SRC: each prints "ok" when
      the server's greeting arrives within 2 s, else "fail"; then closed
  connlimit.py burst DST PORT SRC...
      one connection from each SRC, all started at once: "ok" or "fail"
      for each, as "try" decides, in the order of the SRCs
  connlimit.py hold SRC DST PORT N OUT STOP
      the same, but the connections stay open: results go to OUT (a line
      each, then "held"), and the process waits until STOP exists (at
      most 120 s) before closing them
"""
import os
import selectors
import socket
import sys
import time


def server(ports):
    sel = selectors.DefaultSelector()
    for p in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(p)))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
    while True:
        for key, _ in sel.select():
            if key.data == "listen":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                try:
                    c.send(b"hi")
                except OSError:
                    c.close()
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def connect(src, dst, port):
    """A connected socket that got the greeting, or None."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.bind((src, 0))
        s.connect((dst, int(port)))
        if s.recv(2) == b"hi":
            return s
    except OSError:
        pass
    s.close()
    return None


def burst(dst, port, srcs):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    socks = []
    for src in srcs:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        s.connect_ex((dst, int(port)))
        socks.append(s)
    got = {}
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    end = time.time() + 2
    while len(got) < len(socks) and time.time() < end:
        for key, _ in sel.select(max(0, end - time.time())):
            try:
                got[key.fileobj] = key.fileobj.recv(2) == b"hi"
            except OSError:
                got[key.fileobj] = False
            sel.unregister(key.fileobj)
    for s in socks:
        print("ok" if got.get(s) else "fail")
        s.close()


def main(argv):
    if len(argv) >= 2 and argv[0] == "server":
        server(argv[1:])
    elif len(argv) == 5 and argv[0] == "try":
        for _ in range(int(argv[4])):
            s = connect(argv[1], argv[2], argv[3])
            print("ok" if s else "fail", flush=True)
            if s:
                s.close()
    elif len(argv) >= 4 and argv[0] == "burst":
        burst(argv[1], argv[2], argv[3:])
    elif len(argv) == 7 and argv[0] == "hold":
        held = []
        with open(argv[5], "w") as out:
            for _ in range(int(argv[4])):
                s = connect(argv[1], argv[2], argv[3])
                out.write("ok\n" if s else "fail\n")
                out.flush()
                if s:
                    held.append(s)
            out.write("held\n")
        end = time.time() + 120
        while not os.path.exists(argv[6]) and time.time() < end:
            time.sleep(0.1)
        for s in held:
            s.close()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
