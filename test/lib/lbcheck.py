#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""lbcheck: the load balancer's entries of a fwmapgen batch, decoded with
the ABI's layouts (abi.py, from build/bg-abi), and the ring position the
kernel reads for a flow, with its own copy of bg_lb_hash()
(headers/bg_lb_hash.h) written from the header's description.

usage: lbcheck.py dump BATCH
       lbcheck.py rings BATCH
       lbcheck.py shares BATCH NAME
       lbcheck.py moved OLD NEW NAME GONE
       lbcheck.py pick BATCH PROTO CLIENT SPORT VIP DPORT

dump    the generation's services, backends and ring as JSON:
        {"svc": {NAME: {vip, port, proto, family, id, ring_off, ring_size,
        sched, nbackends, first_backend, pad, sinfo: {...}, rr}},
        "backend": {INDEX: {addr, port, family, flags, weight, svc, pad,
        health: {...}}}, "ring_lines": N}
rings   every service's slice of bg_lb_ring: packed from 0 in id order,
        complete, each position a backend of the service that is not down;
        prints "ok SERVICES SLOTS", else what is wrong (exit 1)
shares  the positions each backend of service NAME holds: "ADDR:PORT N"
moved   OLD and NEW batches of service NAME, backend GONE (ADDR:PORT) in
        OLD only: "M CHANGED", CHANGED the positions not GONE's in OLD
        whose backend (by address and port) is another in NEW
pick    the backend a new flow gets when every backend is up as
        configured: "service NAME backend ADDR:PORT (index I)"; nothing
        when the packet is to no service
The batch is of generation 0 (fwmapgen's default).
"""
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import abi  # noqa: E402

M32 = 0xffffffff


def rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & M32


def mix(h, k):
    k = (k * 0xcc9e2d51) & M32
    k = rotl(k, 15)
    k = (k * 0x1b873593) & M32
    h ^= k
    h = rotl(h, 13)
    return (h * 5 + 0xe6546b64) & M32


def final(h, n):
    h ^= n
    h ^= h >> 16
    h = (h * 0x85ebca6b) & M32
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & M32
    h ^= h >> 16
    return h


def lb_hash(packed, ports, proto, seed):
    """bg_lb_hash(): the address bytes (network order) as native (little
    endian) 32-bit words, then ports and proto; seed the service id."""
    words = [int.from_bytes(packed[i:i + 4], "little")
             for i in range(0, len(packed), 4)]
    h = seed
    for w in words:
        h = mix(h, w)
    h = mix(h, ports)
    h = mix(h, proto)
    return final(h, (len(words) + 2) * 4)


def read_batch(path):
    """{map: {key bytes: value bytes}} of the bg_lb_* lines."""
    maps = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 5 or w[:3] != ["map", "update", "pinned"]:
                continue
            name = w[3].rsplit("/", 1)[1]
            if not name.startswith("bg_lb_"):
                continue
            k, v = w.index("key"), w.index("value")
            key = bytes(int(x, 16) for x in w[k + 2:v])
            val = bytes(int(x, 16) for x in w[v + 2:])
            maps.setdefault(name, {})[key] = val
    return maps


def u32(b):
    return int.from_bytes(b, "little")


def addr_text(raw, fam):
    inet6 = fam == abi.enum("bg_family")["BG_FAM_INET6"]
    return str(ipaddress.ip_address(bytes(raw[:16] if inet6 else raw[:4])))


def endpoint(addr, port, fam):
    if fam == abi.enum("bg_family")["BG_FAM_INET6"]:
        return "[%s]:%d" % (addr, port)
    return "%s:%d" % (addr, port)


def decode(path):
    maps = read_batch(path)
    slots = abi.const("BG_LB_SVC_SLOTS")
    out = {"svc": {}, "backend": {}, "ring": {},
           "ring_lines": len(maps.get("bg_lb_ring", {}))}
    for k, v in maps.get("bg_lb_vip", {}).items():
        key = abi.unpack("bg_lb_vip_key", k)
        if key["gen"] != 0:
            raise SystemExit("vip of generation %d" % key["gen"])
        s = abi.unpack("bg_lb_svc", v)
        info = abi.unpack("bg_lb_sinfo",
                          maps["bg_lb_sinfo"][(s["id"]).to_bytes(4, "little")])
        rr = maps["bg_lb_rr"][(s["id"]).to_bytes(4, "little")]
        s.update(vip=addr_text(key["addr"], key["family"]), port=key["port"],
                 proto=key["proto"], family=key["family"], sinfo=info,
                 rr=int.from_bytes(rr, "little"), rr_len=len(rr))
        out["svc"][info["name"]] = s
    for k, v in maps.get("bg_lb_backend", {}).items():
        b = abi.unpack("bg_lb_backend", v)
        b["addr"] = addr_text(b["addr"], b["family"])
        b["health"] = abi.unpack("bg_lb_health", maps["bg_lb_health"][k])
        b["endpoint"] = endpoint(b["addr"], b["port"], b["family"])
        out["backend"][u32(k)] = b
    for k, v in maps.get("bg_lb_ring", {}).items():
        out["ring"][u32(k)] = u32(v)
    assert all(u32(k) < slots for k in maps.get("bg_lb_sinfo", {}))
    return out


def ring_of(d, s):
    return [d["ring"].get(s["ring_off"] + i) for i in range(s["ring_size"])]


def cmd_rings(path):
    d = decode(path)
    err, off = [], 0
    for s in sorted(d["svc"].values(), key=lambda s: s["id"]):
        name = s["sinfo"]["name"]
        if s["ring_size"] and s["ring_off"] != off:
            err.append("%s: ring_off %d, not %d" % (name, s["ring_off"], off))
        first, n = s["first_backend"], s["nbackends"]
        for pos, b in enumerate(ring_of(d, s)):
            be = d["backend"].get(b)
            if b is None:
                err.append("%s: position %d missing" % (name, pos))
            elif not first <= b < first + n or be is None:
                err.append("%s: position %d: backend %d" % (name, pos, b))
            elif be["flags"] & abi.const("BG_LB_BF_DOWN") or \
                    not be["health"]["up"]:
                err.append("%s: position %d: down backend %d"
                           % (name, pos, b))
        off += s["ring_size"]
    if off != d["ring_lines"]:
        err.append("%d ring lines, the services' rings have %d"
                   % (d["ring_lines"], off))
    if err:
        print("\n".join(err[:20]))
        return 1
    print("ok %d %d" % (len(d["svc"]), off))
    return 0


def owners(d, name):
    """The ring of service NAME as backend endpoints."""
    s = d["svc"][name]
    return [d["backend"][b]["endpoint"] for b in ring_of(d, s)]


def cmd_shares(path, name):
    d = decode(path)
    s = d["svc"][name]
    ring = owners(d, name)
    for i in range(s["first_backend"], s["first_backend"] + s["nbackends"]):
        ep = d["backend"][i]["endpoint"]
        print("%s %d" % (ep, ring.count(ep)))
    return 0


def cmd_moved(old, new, name, gone):
    a, b = owners(decode(old), name), owners(decode(new), name)
    if len(a) != len(b):
        print("ring sizes differ: %d %d" % (len(a), len(b)))
        return 1
    print("%d %d" % (len(a), sum(1 for x, y in zip(a, b)
                                 if x != gone and x != y)))
    return 0


def cmd_pick(path, proto, client, sport, vip, dport):
    d = decode(path)
    protos = {"tcp": 6, "udp": 17}
    c = ipaddress.ip_address(client)
    for name, s in d["svc"].items():
        if (ipaddress.ip_address(s["vip"]) != ipaddress.ip_address(vip) or
                s["port"] != int(dport) or s["proto"] != protos[proto]):
            continue
        sched = abi.enum("bg_lb_sched")
        if s["sched"] == sched["BG_LB_SCHED_ROUND_ROBIN"]:
            print("service %s round-robin (backend depends on the turn)"
                  % name)
            return 0
        if s["sched"] == sched["BG_LB_SCHED_MAGLEV"]:
            h = lb_hash(c.packed, (int(sport) << 16) | int(dport),
                        protos[proto], s["id"])
        else:
            h = lb_hash(c.packed, 0, 0, s["id"])
        idx = ring_of(d, s)[h % s["ring_size"]]
        print("service %s backend %s (index %d)"
              % (name, d["backend"][idx]["endpoint"], idx))
    return 0


def cmd_dump(path):
    d = decode(path)
    del d["ring"]
    print(json.dumps(d, sort_keys=True))
    return 0


def main(argv):
    cmds = {"dump": (1, cmd_dump),
            "rings": (1, cmd_rings), "shares": (2, cmd_shares),
            "moved": (4, cmd_moved), "pick": (6, cmd_pick)}
    if len(argv) < 2 or argv[1] not in cmds or \
            len(argv) != cmds[argv[1]][0] + 2:
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]][1](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
