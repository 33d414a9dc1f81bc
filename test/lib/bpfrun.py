#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bpfrun: a dependency-free wrapper around the bpf(2) syscall for the tests.

Only the standard library is used (ctypes for the syscall), so this module can
be imported by any Python 3 (no scapy needed). It covers what the test suite
needs:

* getting program/map file descriptors: :func:`prog_fd_by_id`,
  :func:`map_fd_by_id`, :func:`obj_get` (pinned objects in a bpffs);
* running a program on a packet with ``BPF_PROG_TEST_RUN``:
  :func:`test_run`, :func:`test_run_xdp` and the reusable :class:`ProgRunner`
  (one fd, reused buffers: thousands of packets per second);
* building the ``struct xdp_md`` input context: :func:`xdp_ctx`;
* map access: :func:`map_lookup`, :func:`map_update`, :func:`map_delete`,
  :func:`map_get_next_key`, :func:`map_keys`, :func:`map_info`, with per-CPU
  maps handled by :func:`map_lookup_percpu` / :func:`map_update_percpu`.

Every failing syscall raises :class:`BpfError` (an ``OSError`` carrying
``errno`` and the name of the bpf command), except the "not found" cases that
are documented to return ``None``.

Kernel notes (valid from 6.1 on):

* XDP ``BPF_PROG_TEST_RUN`` refuses packets shorter than ETH_HLEN (14 bytes)
  and longer than about PAGE_SIZE - 256 - 320 bytes (EINVAL).
* Without a ctx, an XDP program sees ``ingress_ifindex`` = the loopback device
  of the caller's netns (ifindex 1) and ``rx_queue_index`` = 0.
* On ENOSPC (data_out too small) :func:`test_run` retries with the size the
  kernel reported; the program then runs twice, so map side effects happen
  twice. The default output buffer (``len(data) + 512``) makes that rare.

CLI (see ``bpfrun.py -h``)::

    bpfrun.py run (--id N | --pinned PATH) [--ifindex N] [--rx-queue N]
                  [--repeat N] [--duration]
        stdin:  one packet per line, as hex (blank lines and '#' lines skipped)
        stdout: "RETVAL HEX_OF_DATA_OUT" per packet ("ERR ENAME" on failure)
    bpfrun.py map-info   (--id N | --pinned PATH)
    bpfrun.py map-lookup (--id N | --pinned PATH) (--key HEX | --key-u32 N) [--sum]
    bpfrun.py map-update (--id N | --pinned PATH) (--key HEX | --key-u32 N) --value HEX
    bpfrun.py map-dump   (--id N | --pinned PATH)
"""

import ctypes
import errno as _errno
import os
import struct
import sys

__all__ = [
    "BpfError",
    "ProgRunner",
    "XDP_ABORTED",
    "XDP_DROP",
    "XDP_PASS",
    "XDP_TX",
    "XDP_REDIRECT",
    "TC_ACT_OK",
    "TC_ACT_SHOT",
    "BPF_ANY",
    "BPF_NOEXIST",
    "BPF_EXIST",
    "bpf",
    "prog_fd_by_id",
    "map_fd_by_id",
    "obj_get",
    "prog_info",
    "map_info",
    "test_run",
    "test_run_xdp",
    "xdp_ctx",
    "possible_cpus",
    "percpu_value_size",
    "is_percpu_map",
    "map_lookup",
    "map_lookup_percpu",
    "map_update",
    "map_update_percpu",
    "map_delete",
    "map_get_next_key",
    "map_keys",
]

# --------------------------------------------------------------------------
# Constants (include/uapi/linux/bpf.h)
# --------------------------------------------------------------------------

NR_BPF = 321  # x86_64

BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_MAP_DELETE_ELEM = 3
BPF_MAP_GET_NEXT_KEY = 4
BPF_OBJ_GET = 7
BPF_PROG_TEST_RUN = 10
BPF_PROG_GET_FD_BY_ID = 13
BPF_MAP_GET_FD_BY_ID = 14
BPF_OBJ_GET_INFO_BY_FD = 15

_CMD_NAMES = {
    BPF_MAP_LOOKUP_ELEM: "BPF_MAP_LOOKUP_ELEM",
    BPF_MAP_UPDATE_ELEM: "BPF_MAP_UPDATE_ELEM",
    BPF_MAP_DELETE_ELEM: "BPF_MAP_DELETE_ELEM",
    BPF_MAP_GET_NEXT_KEY: "BPF_MAP_GET_NEXT_KEY",
    BPF_OBJ_GET: "BPF_OBJ_GET",
    BPF_PROG_TEST_RUN: "BPF_PROG_TEST_RUN",
    BPF_PROG_GET_FD_BY_ID: "BPF_PROG_GET_FD_BY_ID",
    BPF_MAP_GET_FD_BY_ID: "BPF_MAP_GET_FD_BY_ID",
    BPF_OBJ_GET_INFO_BY_FD: "BPF_OBJ_GET_INFO_BY_FD",
}

# map update flags
BPF_ANY = 0
BPF_NOEXIST = 1
BPF_EXIST = 2

# BPF_OBJ_GET file_flags
BPF_F_RDONLY = 1 << 3
BPF_F_WRONLY = 1 << 4

# BPF_PROG_TEST_RUN flags
BPF_F_TEST_RUN_ON_CPU = 1 << 0

# XDP / TC verdicts
XDP_ABORTED = 0
XDP_DROP = 1
XDP_PASS = 2
XDP_TX = 3
XDP_REDIRECT = 4
TC_ACT_OK = 0
TC_ACT_SHOT = 2

MAP_TYPE_NAMES = [
    "unspec", "hash", "array", "prog_array", "perf_event_array",
    "percpu_hash", "percpu_array", "stack_trace", "cgroup_array", "lru_hash",
    "lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps", "devmap",
    "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
    "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack",
    "sk_storage", "devmap_hash", "struct_ops", "ringbuf", "inode_storage",
    "task_storage", "bloom_filter", "user_ringbuf", "cgrp_storage", "arena",
]

# map types whose lookup/update value is one slot per possible CPU
PERCPU_MAP_TYPES = frozenset({5, 6, 10, 21})  # percpu_hash/array, lru_percpu_hash, percpu_cgroup_storage

XDP_MD_SIZE = 24  # struct xdp_md: 6 x __u32

# --------------------------------------------------------------------------
# union bpf_attr pieces (only the members we use; the kernel zero-fills the
# rest of the union when the size we pass is smaller than its own)
# --------------------------------------------------------------------------

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64


class _AttrTest(ctypes.Structure):
    """The ``test`` member of union bpf_attr (BPF_PROG_TEST_RUN)."""

    _fields_ = [
        ("prog_fd", _u32),
        ("retval", _u32),
        ("data_size_in", _u32),
        ("data_size_out", _u32),
        ("data_in", _u64),
        ("data_out", _u64),
        ("repeat", _u32),
        ("duration", _u32),
        ("ctx_size_in", _u32),
        ("ctx_size_out", _u32),
        ("ctx_in", _u64),
        ("ctx_out", _u64),
        ("flags", _u32),
        ("cpu", _u32),
        ("batch_size", _u32),
    ]


class _AttrElem(ctypes.Structure):
    """BPF_MAP_*_ELEM and BPF_MAP_GET_NEXT_KEY (value and next_key share a slot)."""

    _fields_ = [
        ("map_fd", _u32),
        ("_pad", _u32),
        ("key", _u64),
        ("value", _u64),  # also next_key
        ("flags", _u64),
    ]


class _AttrObj(ctypes.Structure):
    """BPF_OBJ_PIN / BPF_OBJ_GET."""

    _fields_ = [
        ("pathname", _u64),
        ("bpf_fd", _u32),
        ("file_flags", _u32),
    ]


class _AttrGetId(ctypes.Structure):
    """BPF_*_GET_FD_BY_ID."""

    _fields_ = [
        ("id", _u32),
        ("next_id", _u32),
        ("open_flags", _u32),
    ]


class _AttrInfo(ctypes.Structure):
    """BPF_OBJ_GET_INFO_BY_FD."""

    _fields_ = [
        ("bpf_fd", _u32),
        ("info_len", _u32),
        ("info", _u64),
    ]


assert ctypes.sizeof(_AttrTest) == 80
assert _AttrTest.data_in.offset == 16 and _AttrTest.ctx_in.offset == 48
assert _AttrTest.batch_size.offset == 72
assert ctypes.sizeof(_AttrElem) == 32

# --------------------------------------------------------------------------
# The syscall
# --------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


class BpfError(OSError):
    """A failed bpf(2) call: ``errno``, ``strerror`` and ``cmd`` (its name)."""

    def __init__(self, err, cmd, detail=""):
        name = _CMD_NAMES.get(cmd, str(cmd))
        msg = "bpf(%s)%s: %s" % (name, (" " + detail) if detail else "", os.strerror(err))
        super().__init__(err, msg)
        self.cmd = name

    @property
    def errname(self):
        """Symbolic errno, e.g. ``"EINVAL"``."""
        return _errno.errorcode.get(self.errno, str(self.errno))


def bpf(cmd, attr, detail=""):
    """Call bpf(*cmd*, &*attr*, sizeof(*attr*)); return the result or raise BpfError."""
    ret = _syscall(ctypes.c_long(NR_BPF), ctypes.c_int(cmd), ctypes.byref(attr),
                   ctypes.c_uint(ctypes.sizeof(attr)))
    if ret < 0:
        raise BpfError(ctypes.get_errno(), cmd, detail)
    return ret


def _addr(buf):
    """Address of a ctypes buffer (0 for None)."""
    return 0 if buf is None else ctypes.addressof(buf)


def _inbuf(data):
    """A ctypes copy of *data* (bytes-like) and its address; (None, 0) for empty."""
    if not data:
        return None, 0
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    return buf, ctypes.addressof(buf)


# --------------------------------------------------------------------------
# File descriptors and object info
# --------------------------------------------------------------------------

def prog_fd_by_id(prog_id):
    """Return a new fd for the loaded program with id *prog_id* (BPF_PROG_GET_FD_BY_ID)."""
    attr = _AttrGetId(id=prog_id)
    return bpf(BPF_PROG_GET_FD_BY_ID, attr, "id %d" % prog_id)


def map_fd_by_id(map_id):
    """Return a new fd for the map with id *map_id* (BPF_MAP_GET_FD_BY_ID)."""
    attr = _AttrGetId(id=map_id)
    return bpf(BPF_MAP_GET_FD_BY_ID, attr, "id %d" % map_id)


def obj_get(path, flags=0):
    """Return a new fd for the program or map pinned at *path* (BPF_OBJ_GET).

    *flags* may be BPF_F_RDONLY or BPF_F_WRONLY (maps only).
    """
    cpath = ctypes.create_string_buffer(os.fsencode(path))
    attr = _AttrObj(pathname=ctypes.addressof(cpath), file_flags=flags)
    return bpf(BPF_OBJ_GET, attr, os.fsdecode(path))


def _obj_info(fd, size):
    buf = ctypes.create_string_buffer(size)
    attr = _AttrInfo(bpf_fd=fd, info_len=size, info=ctypes.addressof(buf))
    bpf(BPF_OBJ_GET_INFO_BY_FD, attr, "fd %d" % fd)
    return buf.raw[: attr.info_len]


def _cstr(raw):
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def map_info(fd):
    """Return a dict from ``struct bpf_map_info`` for the map *fd*.

    Keys: ``type`` (int), ``type_name`` (e.g. ``"percpu_array"``), ``id``,
    ``key_size``, ``value_size``, ``max_entries``, ``map_flags``, ``name``,
    ``percpu`` (bool: lookups return one value per possible CPU).
    """
    raw = _obj_info(fd, 40)  # up to and including name[16]
    mtype, mid, ksz, vsz, maxe, mflags = struct.unpack_from("=6I", raw, 0)
    return {
        "type": mtype,
        "type_name": MAP_TYPE_NAMES[mtype] if mtype < len(MAP_TYPE_NAMES) else str(mtype),
        "id": mid,
        "key_size": ksz,
        "value_size": vsz,
        "max_entries": maxe,
        "map_flags": mflags,
        "name": _cstr(raw[24:40]),
        "percpu": mtype in PERCPU_MAP_TYPES,
    }


def prog_info(fd):
    """Return a dict from ``struct bpf_prog_info`` for the program *fd*.

    Keys: ``type`` (int, enum bpf_prog_type: 6 = XDP, 3 = SCHED_CLS), ``id``,
    ``tag`` (hex), ``name``.
    """
    raw = _obj_info(fd, 80)  # up to and including name[16]
    ptype, pid = struct.unpack_from("=2I", raw, 0)
    return {"type": ptype, "id": pid, "tag": raw[8:16].hex(), "name": _cstr(raw[64:80])}


# --------------------------------------------------------------------------
# BPF_PROG_TEST_RUN
# --------------------------------------------------------------------------

def xdp_ctx(ingress_ifindex=0, rx_queue=0, data_len=0, meta_len=0):
    """Build a ``struct xdp_md`` input context (24 bytes) for an XDP test run.

    The kernel (net/bpf/test_run.c, 6.1+) accepts a ctx only if:

    * ``data_meta`` == 0 and ``egress_ifindex`` == 0;
    * ``data_end`` == the size of data_in (``data_len``: packet length plus
      ``meta_len``), and ``data`` (= ``meta_len``) <= ``data_end``, with
      ``meta_len`` a multiple of 4 and at most 32: the first ``meta_len`` bytes
      of data_in are then the XDP metadata, not packet;
    * ``ingress_ifindex`` is 0 or a device of the caller's network namespace
      (else ENODEV), ``rx_queue`` < its number of RX queues (else EINVAL),
      and ``rx_queue`` is 0 when ``ingress_ifindex`` is 0.

    :func:`test_run_xdp` and :class:`ProgRunner` fill ``data_len`` per packet.
    """
    return struct.pack("=6I", meta_len, data_len, 0, ingress_ifindex, rx_queue, 0)


class ProgRunner:
    """Run one program many times with ``BPF_PROG_TEST_RUN``, reusing buffers.

    ``ProgRunner(prog_fd, ingress_ifindex=None, rx_queue=0, repeat=1)``:
    when *ingress_ifindex* is not None every run passes an XDP ctx
    (:func:`xdp_ctx`) with that ifindex/queue and the packet's length.
    The runner does not own *prog_fd* (it is not closed).

    :meth:`run` returns ``(retval, data_out, duration_ns)``; after a run with a
    ctx, :attr:`ctx_out` holds the ctx the kernel wrote back.
    """

    def __init__(self, prog_fd, ingress_ifindex=None, rx_queue=0, repeat=1,
                 flags=0, cpu=0):
        self.prog_fd = prog_fd
        self.ingress_ifindex = ingress_ifindex
        self.rx_queue = rx_queue
        self.repeat = repeat
        self.flags = flags
        self.cpu = cpu
        self.ctx_out = None
        self._out = ctypes.create_string_buffer(4096)
        self._attr = _AttrTest()

    def _ensure_out(self, size):
        if ctypes.sizeof(self._out) < size:
            self._out = ctypes.create_string_buffer(size)

    def run(self, data, ctx=None, data_out_size=None, ctx_out_size=None, repeat=None):
        """Run the program once (or *repeat* times) on packet *data* (bytes).

        *ctx*: raw input context bytes (``struct xdp_md`` for XDP, see
        :func:`xdp_ctx`); if None and the runner has an ingress_ifindex, an
        XDP ctx is built. *data_out_size*: size of the output buffer announced
        to the kernel (default ``len(data) + 512``); on ENOSPC the run is
        retried once with the size the kernel asked for. *ctx_out_size*:
        defaults to ``len(ctx)``.

        Returns ``(retval, data_out: bytes, duration_ns)`` (duration is the
        kernel's average per repetition).
        """
        data = bytes(data)
        if ctx is None and self.ingress_ifindex is not None:
            ctx = xdp_ctx(self.ingress_ifindex, self.rx_queue, len(data))
        if data_out_size is None:
            data_out_size = len(data) + 512
        if ctx is not None and ctx_out_size is None:
            ctx_out_size = len(ctx)

        # Keep the input buffers referenced until the syscall returned.
        din = ctypes.c_char_p(data) if data else None
        cin = ctypes.c_char_p(bytes(ctx)) if ctx else None
        cout = ctypes.create_string_buffer(ctx_out_size) if ctx_out_size else None

        attr = self._attr
        for attempt in (0, 1):
            self._ensure_out(max(data_out_size, 1))
            ctypes.memset(ctypes.addressof(attr), 0, ctypes.sizeof(attr))
            attr.prog_fd = self.prog_fd
            attr.data_size_in = len(data)
            attr.data_in = ctypes.cast(din, ctypes.c_void_p).value if din is not None else 0
            # data_size_out must not be 0: 0 means "no limit" to old kernels.
            attr.data_size_out = max(data_out_size, 1)
            attr.data_out = ctypes.addressof(self._out)
            attr.repeat = self.repeat if repeat is None else repeat
            if cin is not None:
                attr.ctx_size_in = len(ctx)
                attr.ctx_in = ctypes.cast(cin, ctypes.c_void_p).value
            if cout is not None:
                attr.ctx_size_out = ctx_out_size
                attr.ctx_out = ctypes.addressof(cout)
            attr.flags = self.flags
            attr.cpu = self.cpu
            try:
                bpf(BPF_PROG_TEST_RUN, attr)
                break
            except BpfError as e:
                if e.errno != _errno.ENOSPC or attempt:
                    raise
                # the kernel wrote the sizes it needed
                data_out_size = max(attr.data_size_out, data_out_size * 2)
                if cout is not None and attr.ctx_size_out > ctx_out_size:
                    ctx_out_size = attr.ctx_size_out
                    cout = ctypes.create_string_buffer(ctx_out_size)
        self.ctx_out = ctypes.string_at(cout, attr.ctx_size_out) if cout is not None else None
        return attr.retval, ctypes.string_at(self._out, attr.data_size_out), attr.duration


def test_run(prog_fd, data, repeat=1, ctx=None, data_out_size=None, flags=0, cpu=0):
    """Run program *prog_fd* on *data* with BPF_PROG_TEST_RUN.

    *ctx*: raw input ctx bytes or None (for XDP see :func:`xdp_ctx`,
    :func:`test_run_xdp`). *data_out_size* defaults to ``len(data) + 512``
    (room for 256 bytes of headroom growth and more); ENOSPC is handled by
    one retry with the size the kernel reported.

    Returns ``(retval, data_out: bytes, duration_ns)``.
    """
    return ProgRunner(prog_fd, repeat=repeat, flags=flags, cpu=cpu).run(
        data, ctx=ctx, data_out_size=data_out_size)


# keep pytest-style collectors from taking test_run for a test
test_run.__test__ = False


def test_run_xdp(prog_fd, data, ingress_ifindex=0, rx_queue=0, repeat=1, meta=b""):
    """Run an XDP program on *data* with an ``xdp_md`` ctx built for it.

    *meta*: optional XDP metadata bytes (multiple of 4, <= 32) placed before
    the packet; the returned data_out then starts with the metadata too.
    Returns ``(retval, data_out, duration_ns)``.
    """
    data = bytes(meta) + bytes(data)
    ctx = xdp_ctx(ingress_ifindex, rx_queue, len(data), len(meta))
    return ProgRunner(prog_fd, repeat=repeat).run(data, ctx=ctx)


test_run_xdp.__test__ = False

# --------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------

_possible_cpus = None


def possible_cpus():
    """Number of possible CPUs (weight of /sys/devices/system/cpu/possible)."""
    global _possible_cpus
    if _possible_cpus is None:
        with open("/sys/devices/system/cpu/possible") as f:
            n = 0
            for part in f.read().strip().split(","):
                lo, _, hi = part.partition("-")
                n += (int(hi) if hi else int(lo)) - int(lo) + 1
        _possible_cpus = n
    return _possible_cpus


def percpu_value_size(value_size):
    """Size of a per-CPU map value buffer: round_up(value_size, 8) * possible CPUs."""
    return ((value_size + 7) & ~7) * possible_cpus()


def is_percpu_map(map_fd):
    """True when *map_fd* is a per-CPU map (per-CPU hash/array/LRU hash/cgroup storage)."""
    return map_info(map_fd)["percpu"]


def map_lookup(map_fd, key, value_size, percpu=False):
    """Look *key* (bytes) up; return the value bytes, or None if absent.

    For a per-CPU map pass ``percpu=True``: the result is the kernel's raw
    buffer of :func:`percpu_value_size` bytes (use :func:`map_lookup_percpu`
    to get it split per CPU).
    """
    size = percpu_value_size(value_size) if percpu else value_size
    # The kernel writes the map's whole value whatever the caller asked
    # for: size the buffer from the map, or a stale layout corrupts memory.
    info = map_info(map_fd)
    if info["value_size"] != value_size:
        raise ValueError("map %s: value is %d bytes, not %d" %
                         (info["name"], info["value_size"], value_size))
    kbuf, kaddr = _inbuf(key)
    vbuf = ctypes.create_string_buffer(max(size, 1))
    attr = _AttrElem(map_fd=map_fd, key=kaddr, value=ctypes.addressof(vbuf))
    try:
        bpf(BPF_MAP_LOOKUP_ELEM, attr)
    except BpfError as e:
        if e.errno == _errno.ENOENT:
            return None
        raise
    return vbuf.raw[:size]


def map_lookup_percpu(map_fd, key, value_size=None):
    """Look *key* up in a per-CPU map; return a list of per-CPU values or None.

    Each element is ``value_size`` bytes (the 8-byte slot padding removed).
    *value_size* defaults to the map's (from :func:`map_info`).
    """
    if value_size is None:
        value_size = map_info(map_fd)["value_size"]
    raw = map_lookup(map_fd, key, value_size, percpu=True)
    if raw is None:
        return None
    slot = (value_size + 7) & ~7
    return [raw[i * slot: i * slot + value_size] for i in range(possible_cpus())]


def map_update(map_fd, key, value, flags=BPF_ANY):
    """Set *key* to *value* (bytes); *flags*: BPF_ANY, BPF_NOEXIST or BPF_EXIST.

    For a per-CPU map *value* must be the full per-CPU buffer (see
    :func:`map_update_percpu`).
    """
    info = map_info(map_fd)
    want = info["value_size"]
    if info["percpu"]:
        want = percpu_value_size(want)
    if len(value) != want:
        raise ValueError("map %s: value is %d bytes, not %d" %
                         (info["name"], want, len(value)))
    kbuf, kaddr = _inbuf(key)
    vbuf, vaddr = _inbuf(value)
    attr = _AttrElem(map_fd=map_fd, key=kaddr, value=vaddr, flags=flags)
    bpf(BPF_MAP_UPDATE_ELEM, attr)


def map_update_percpu(map_fd, key, values, value_size=None, flags=BPF_ANY):
    """Set *key* in a per-CPU map: *values* is one bytes per possible CPU, or a
    single bytes replicated to every CPU."""
    if value_size is None:
        value_size = map_info(map_fd)["value_size"]
    ncpu = possible_cpus()
    if isinstance(values, (bytes, bytearray)):
        values = [bytes(values)] * ncpu
    if len(values) != ncpu:
        raise ValueError("need %d per-CPU values, got %d" % (ncpu, len(values)))
    slot = (value_size + 7) & ~7
    buf = b"".join(bytes(v).ljust(slot, b"\0")[:slot] for v in values)
    map_update(map_fd, key, buf, flags)


def map_delete(map_fd, key):
    """Delete *key*; return False if it was absent (ENOENT), True otherwise."""
    kbuf, kaddr = _inbuf(key)
    attr = _AttrElem(map_fd=map_fd, key=kaddr)
    try:
        bpf(BPF_MAP_DELETE_ELEM, attr)
    except BpfError as e:
        if e.errno == _errno.ENOENT:
            return False
        raise
    return True


def map_get_next_key(map_fd, key, key_size):
    """Return the key after *key* (None or b"" = the first key), or None at the end."""
    kbuf, kaddr = _inbuf(key)
    nbuf = ctypes.create_string_buffer(max(key_size, 1))
    attr = _AttrElem(map_fd=map_fd, key=kaddr, value=ctypes.addressof(nbuf))
    try:
        bpf(BPF_MAP_GET_NEXT_KEY, attr)
    except BpfError as e:
        if e.errno == _errno.ENOENT:
            return None
        raise
    return nbuf.raw[:key_size]


def map_keys(map_fd, key_size=None):
    """Iterate over the keys of a map (not safe against concurrent deletes)."""
    if key_size is None:
        key_size = map_info(map_fd)["key_size"]
    key = None
    while True:
        key = map_get_next_key(map_fd, key, key_size)
        if key is None:
            return
        yield key


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _open_from_args(args, kind):
    if args.pinned is not None:
        return obj_get(args.pinned)
    return prog_fd_by_id(args.id) if kind == "prog" else map_fd_by_id(args.id)


def _key_from_args(args, info):
    if args.key_u32 is not None:
        key = struct.pack("=I", args.key_u32)
    else:
        key = bytes.fromhex(args.key)
    if len(key) != info["key_size"]:
        raise SystemExit("bpfrun: key is %d bytes, map wants %d" % (len(key), info["key_size"]))
    return key


def _cmd_run(args):
    fd = _open_from_args(args, "prog")
    runner = ProgRunner(fd, ingress_ifindex=args.ifindex, rx_queue=args.rx_queue,
                        repeat=args.repeat)
    out = sys.stdout
    failed = 0
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            data = bytes.fromhex("".join(line.split()))
        except ValueError:
            raise SystemExit("bpfrun: stdin line %d: not hex" % lineno)
        try:
            ret, dout, dur = runner.run(data)
        except BpfError as e:
            failed += 1
            print("bpfrun: packet on line %d: %s" % (lineno, e), file=sys.stderr)
            out.write("ERR %s\n" % e.errname)
            continue
        if args.duration:
            out.write("%d %s %d\n" % (ret, dout.hex(), dur))
        else:
            out.write("%d %s\n" % (ret, dout.hex()))
        if args.line_buffered:
            out.flush()
    os.close(fd)
    return 1 if failed else 0


def _cmd_map_info(args):
    fd = _open_from_args(args, "map")
    info = map_info(fd)
    for k in ("id", "type", "type_name", "name", "key_size", "value_size",
              "max_entries", "map_flags", "percpu"):
        print("%s %s" % (k, info[k]))
    return 0


def _le_uint(b):
    return int.from_bytes(b, "little")


def _cmd_map_lookup(args):
    fd = _open_from_args(args, "map")
    info = map_info(fd)
    key = _key_from_args(args, info)
    if info["percpu"]:
        vals = map_lookup_percpu(fd, key, info["value_size"])
        if vals is None:
            print("bpfrun: key not found", file=sys.stderr)
            return 1
        if args.sum:
            print(sum(_le_uint(v) for v in vals))
        else:
            for v in vals:
                print(v.hex())
        return 0
    val = map_lookup(fd, key, info["value_size"])
    if val is None:
        print("bpfrun: key not found", file=sys.stderr)
        return 1
    print(_le_uint(val) if args.sum else val.hex())
    return 0


def _cmd_map_update(args):
    fd = _open_from_args(args, "map")
    info = map_info(fd)
    key = _key_from_args(args, info)
    val = bytes.fromhex(args.value)
    if len(val) != info["value_size"]:
        raise SystemExit("bpfrun: value is %d bytes, map wants %d" % (len(val), info["value_size"]))
    if info["percpu"]:
        map_update_percpu(fd, key, val, info["value_size"])
    else:
        map_update(fd, key, val)
    return 0


def _cmd_map_dump(args):
    fd = _open_from_args(args, "map")
    info = map_info(fd)
    for key in map_keys(fd, info["key_size"]):
        if info["percpu"]:
            vals = map_lookup_percpu(fd, key, info["value_size"])
            if vals is not None:
                print(key.hex(), " ".join(v.hex() for v in vals))
        else:
            val = map_lookup(fd, key, info["value_size"])
            if val is not None:
                print(key.hex(), val.hex())
    return 0


def main(argv=None):
    """Entry point of the ``bpfrun.py`` command line (see module docstring)."""
    import argparse

    p = argparse.ArgumentParser(prog="bpfrun.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def target(sp):
        g = sp.add_mutually_exclusive_group(required=True)
        g.add_argument("--id", type=int, help="program/map id")
        g.add_argument("--pinned", metavar="PATH", help="pinned program/map in a bpffs")

    def keyargs(sp):
        g = sp.add_mutually_exclusive_group(required=True)
        g.add_argument("--key", metavar="HEX", help="key bytes as hex")
        g.add_argument("--key-u32", type=int, metavar="N", help="key: host-order u32")

    r = sub.add_parser("run", help="run a program on hex packets from stdin",
                       description="Read one hex packet per line on stdin, print "
                       "'RETVAL HEX_OF_DATA_OUT' per packet ('ERR ENAME' if the "
                       "test run failed; exit status 1 then).")
    target(r)
    r.add_argument("--ifindex", type=int, default=None,
                   help="pass an XDP ctx with this ingress_ifindex")
    r.add_argument("--rx-queue", type=int, default=0, help="rx_queue_index for --ifindex")
    r.add_argument("--repeat", type=int, default=1)
    r.add_argument("--duration", action="store_true",
                   help="append the kernel's ns per run as a third column")
    r.add_argument("--line-buffered", action="store_true", help="flush after every packet")
    r.set_defaults(func=_cmd_run)

    mi = sub.add_parser("map-info", help="print map type, sizes and name")
    target(mi)
    mi.set_defaults(func=_cmd_map_info)

    ml = sub.add_parser("map-lookup", help="print a value as hex (per-CPU: one line per CPU)")
    target(ml)
    keyargs(ml)
    ml.add_argument("--sum", action="store_true",
                    help="print the value as a little-endian unsigned integer, "
                    "summed over CPUs for per-CPU maps")
    ml.set_defaults(func=_cmd_map_lookup)

    mu = sub.add_parser("map-update", help="set a value (per-CPU: same value on every CPU)")
    target(mu)
    keyargs(mu)
    mu.add_argument("--value", metavar="HEX", required=True)
    mu.set_defaults(func=_cmd_map_update)

    md = sub.add_parser("map-dump", help="print 'KEYHEX VALUEHEX...' per entry")
    target(md)
    md.set_defaults(func=_cmd_map_dump)

    args = p.parse_args(argv)
    try:
        return args.func(args)
    except BpfError as e:
        print("bpfrun: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
