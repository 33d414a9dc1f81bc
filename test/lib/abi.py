# SPDX-License-Identifier: GPL-2.0
"""abi: bpfguard's map layouts for the Python test tools, read from
build/bg-abi (compiled from the ABI headers), never written down here.

    import abi
    abi.size("bg_ct_entry")            -> 144
    abi.unpack("bg_ct_entry", raw)     -> {"state": 3, "ifindex": [2, 0], ...}
    abi.enum_names("bg_ct_stat", "BG_CT_STAT_")  -> ["new", ...] by value
    abi.const("BG_FW_HITS_PER_GEN")    -> 8193
"""
import functools
import json
import os
import struct
import subprocess

_TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "build", "bg-abi")
_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


@functools.lru_cache(maxsize=None)
def _abi():
    return json.loads(subprocess.run([_TOOL], check=True, capture_output=True,
                                     text=True).stdout)


def size(name):
    return _abi()["structs"][name]["size"]


def fields(name):
    return _abi()["structs"][name]["fields"]


def offset(name, field):
    for f in fields(name):
        if f["name"] == field:
            return f["offset"]
    raise KeyError("%s.%s" % (name, field))


def const(name):
    return _abi()["consts"][name]


def enum(name):
    return _abi()["enums"][name]


def enum_names(name, prefix):
    """The values of an enum as lower-case names without PREFIX, in value
    order, without the *_MAX sentinel."""
    vals = sorted(enum(name).items(), key=lambda kv: kv[1])
    return [k[len(prefix):].lower() for k, _ in vals if not k.endswith("_MAX")]


def _decode(f, raw):
    t, n = f["type"], f["count"]
    esz = f["size"] // n
    b = raw[f["offset"]:f["offset"] + f["size"]]
    if t == "char":
        return b.split(b"\0", 1)[0].decode("utf-8", "replace")
    if t.startswith("__be"):
        vals = list(struct.unpack(">%d%s" % (n, _CODES[esz]), b))
        return b if esz == 1 else (vals[0] if n == 1 else vals)
    code = _CODES[esz]
    if t.startswith("__s"):
        code = code.lower()
    vals = list(struct.unpack("<%d%s" % (n, code), b))
    return vals[0] if n == 1 else vals


def unpack(name, raw):
    """The fields of struct NAME from its bytes: integers in host order,
    __be* fields of more than a byte as big-endian integers, __be32
    address arrays as lists, char arrays as strings."""
    if len(raw) < size(name):
        raise ValueError("%s: %d bytes, not %d" % (name, len(raw), size(name)))
    return {f["name"]: _decode(f, raw) for f in fields(name)}


def pack_into(name, buf, field, value):
    """Write one integer field (scalar) of struct NAME into buf."""
    for f in fields(name):
        if f["name"] == field:
            esz = f["size"] // f["count"]
            order = ">" if f["type"].startswith("__be") else "<"
            struct.pack_into(order + _CODES[esz], buf, f["offset"], value)
            return
    raise KeyError("%s.%s" % (name, field))
