#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""pkt: packet builders for the bpfguard tests, on top of scapy.

Every builder returns the raw bytes of a whole Ethernet frame (no FCS, no
padding to 60 bytes unless asked with :func:`pad60`). Scapy is imported lazily
inside the functions, so importing this module is cheap; only Debian's
``/usr/bin/python3`` has scapy (python3-scapy).

Defaults use documentation addresses only: IPv4 192.0.2.0/24 (source),
198.51.100.0/24 (destination), 203.0.113.0/24 (third parties); IPv6
2001:db8::/32; locally administered MACs 02:00:00:00:00:0X. The exceptions are
the addresses a protocol fixes: IPv6 neighbour discovery uses fe80::/64
link-local sources and ff02:: multicast destinations as RFC 4861 requires,
IPv6 multicast destinations get their 33:33:xx MAC, ARP requests go to
ff:ff:ff:ff:ff:ff and LLDP to 01:80:c2:00:00:0e.

Frame builders (keyword arguments; L2 ones shared by all):

* L2: ``vlans=()`` (outermost first; see :func:`ether`), ``eth_src``, ``eth_dst``
* :func:`ether` (any payload / ethertype), :func:`arp`, :func:`lldp`
* :func:`ipv4` (generic), :func:`tcp4`, :func:`udp4`, :func:`icmp4`;
  IPv4 keywords: ``src dst ttl ident tos options df mf frag`` (``frag`` in
  8-byte units; first fragment: ``mf=True``; non-first: ``frag>0``)
* :func:`ipv6` (generic), :func:`tcp6`, :func:`udp6`, :func:`icmp6`,
  :func:`nd` (types 133-137, also :func:`nd_rs` ... :func:`nd_redirect`);
  IPv6 keywords: ``src dst hlim tc fl ext`` where ``ext`` is a chain of
  extension headers: :func:`hbh`, :func:`routing`, :func:`dstopts`,
  :func:`frag6`, or the strings "hbh", "routing", "dstopts", "frag"

Mutators (take and return frame bytes, find headers behind any VLAN tags):
:func:`truncate` / :func:`cut`, :func:`patch`, :func:`bad_ihl`,
:func:`bad_ip4_len`, :func:`bad_ip6_plen`, :func:`bad_tcp_doff`,
:func:`fix_ip4_csum`, :func:`fix_tcp_csum`, :func:`pad60`; locators :func:`l3_offset`,
:func:`l4_offset`.

CLI: ``pkt.py [--show] 'EXPR' ...`` evaluates each builder expression (all
functions of this module are in scope; scapy names too, imported on first
use) and prints it as one hex line (a list/tuple of frames: one line each).
``--show`` prints scapy's dissection instead. Example::

    /usr/bin/python3 test/lib/pkt.py 'tcp4(dport=22, vlans=[100, 200])'
"""

import struct
import sys

MAC_SRC = "02:00:00:00:00:01"
MAC_DST = "02:00:00:00:00:02"
MAC_BCAST = "ff:ff:ff:ff:ff:ff"
MAC_LLDP = "01:80:c2:00:00:0e"

IP4_SRC = "192.0.2.1"
IP4_DST = "198.51.100.1"
IP4_OTHER = "203.0.113.1"
IP6_SRC = "2001:db8::1"
IP6_DST = "2001:db8::2"
IP6_OTHER = "2001:db8:ffff::1"
LL6_SRC = "fe80::1"  # ND only (RFC 4861 wants link-local sources)
LL6_DST = "fe80::2"

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_QINQ1 = 0x9100
ETH_P_LLDP = 0x88CC
VLAN_TPIDS = (ETH_P_8021Q, ETH_P_8021AD, ETH_P_QINQ1)

IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60
IPPROTO_EXPERIMENT = 253  # RFC 3692, used for raw payloads without a proto

ND_RS, ND_RA, ND_NS, ND_NA, ND_REDIRECT = 133, 134, 135, 136, 137


def _scapy():
    """Import the scapy layers we use (lazily: ~0.3 s)."""
    import scapy.layers.inet  # noqa: F401
    import scapy.layers.inet6  # noqa: F401
    import scapy.layers.l2  # noqa: F401
    import scapy.packet  # noqa: F401
    import scapy

    return scapy


# --------------------------------------------------------------------------
# Layer 2
# --------------------------------------------------------------------------

def _ethertype_of(payload):
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP

    for cls, et in ((IP, ETH_P_IP), (IPv6, ETH_P_IPV6), (ARP, ETH_P_ARP)):
        if isinstance(payload, cls):
            return et
    raise ValueError("ether(): give ethertype= for a %s payload" % type(payload).__name__)


def _vlan_list(vlans):
    """Normalise *vlans* to [(vid, tpid, pcp, dei)], outermost first."""
    out = []
    n = len(vlans)
    for i, v in enumerate(vlans):
        default_tpid = ETH_P_8021Q if i == n - 1 else ETH_P_8021AD
        if isinstance(v, int):
            out.append((v, default_tpid, 0, 0))
        elif isinstance(v, dict):
            out.append((v.get("vid", 0), v.get("tpid", default_tpid), v.get("pcp", 0), v.get("dei", 0)))
        else:
            v = tuple(v)
            vid = v[0]
            tpid = v[1] if len(v) > 1 and v[1] is not None else default_tpid
            pcp = v[2] if len(v) > 2 else 0
            dei = v[3] if len(v) > 3 else 0
            out.append((vid, tpid, pcp, dei))
    return out


def ether(payload=b"", ethertype=None, vlans=(), src=MAC_SRC, dst=MAC_DST):
    """An Ethernet frame around *payload* (scapy packet or bytes).

    *ethertype*: the type after the tags; guessed for scapy IP/IPv6/ARP
    payloads, required for bytes. *vlans*: 802.1Q/802.1ad tags, outermost
    first, each an int VID or a tuple ``(vid, tpid, pcp, dei)`` (trailing
    items optional) or a dict with those keys. Default TPIDs: the innermost
    tag 0x8100, every outer tag 0x88a8 (so 1 tag = 802.1Q, 2 tags = QinQ
    0x88a8 + 0x8100, deeper stacks = more 0x88a8 outside).
    """
    _scapy()
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.packet import Packet, Raw

    if ethertype is None:
        if not isinstance(payload, Packet):
            raise ValueError("ether(): ethertype= is required for a bytes payload")
        ethertype = _ethertype_of(payload)
    tags = _vlan_list(vlans)
    types = [t[1] for t in tags] + [ethertype]
    frame = Ether(src=src, dst=dst, type=types[0])
    for i, (vid, _tpid, pcp, dei) in enumerate(tags):
        frame = frame / Dot1Q(prio=pcp, id=dei, vlan=vid, type=types[i + 1])
    if isinstance(payload, Packet):
        frame = frame / payload
    elif payload:
        frame = frame / Raw(bytes(payload))
    return bytes(frame)


def _l2(l3, ethertype, kw, dst_default=MAC_DST):
    """Wrap *l3* using the shared L2 keywords popped from *kw*."""
    vlans = kw.pop("vlans", ())
    src = kw.pop("eth_src", MAC_SRC)
    dst = kw.pop("eth_dst", None) or dst_default
    if kw:
        raise TypeError("unexpected keyword argument(s): %s" % ", ".join(sorted(kw)))
    return ether(l3, ethertype, vlans=vlans, src=src, dst=dst)


def arp(op=1, psrc=IP4_SRC, pdst=IP4_DST, hwsrc=MAC_SRC, hwdst=None, **l2):
    """An ARP frame: *op* 1 = request (to broadcast), 2 = reply (to MAC_DST)."""
    _scapy()
    from scapy.layers.l2 import ARP

    if hwdst is None:
        hwdst = "00:00:00:00:00:00" if op == 1 else MAC_DST
    l2.setdefault("eth_src", hwsrc)
    return _l2(ARP(op=op, hwsrc=hwsrc, psrc=psrc, hwdst=hwdst, pdst=pdst), ETH_P_ARP, l2,
               MAC_BCAST if op == 1 else MAC_DST)


def lldp(chassis_mac=MAC_SRC, port="eth0", ttl=120, **l2):
    """An LLDP frame (ethertype 0x88cc, to 01:80:c2:00:00:0e): chassis ID (MAC),
    port ID (interface name), TTL and end TLVs."""

    def tlv(t, value):
        return struct.pack("!H", (t << 9) | len(value)) + value

    mac = bytes.fromhex(chassis_mac.replace(":", ""))
    body = (tlv(1, b"\x04" + mac) + tlv(2, b"\x05" + port.encode()) +
            tlv(3, struct.pack("!H", ttl)) + tlv(0, b""))
    l2.setdefault("eth_src", chassis_mac)
    return _l2(body, ETH_P_LLDP, l2, MAC_LLDP)


# --------------------------------------------------------------------------
# IPv4
# --------------------------------------------------------------------------

def _ip4_layer(l4, proto, src, dst, ttl, ident, tos, options, df, mf, frag):
    from scapy.layers.inet import IP, IPOption
    from scapy.packet import Packet, Raw

    flags = (2 if df else 0) | (1 if mf else 0)
    ip = IP(src=src, dst=dst, ttl=ttl, id=ident, tos=tos, flags=flags, frag=frag)
    if options:
        if isinstance(options, (bytes, bytearray)):
            raw = bytes(options)
            raw += b"\0" * (-len(raw) % 4)  # pad with EOL
            ip.options = IPOption(raw)
        else:
            ip.options = options
    if isinstance(l4, Packet):
        ip = ip / l4
        if proto is not None:
            ip.proto = proto
    else:
        ip.proto = IPPROTO_EXPERIMENT if proto is None else proto
        if l4:
            ip = ip / Raw(bytes(l4))
    return ip


def ipv4(l4=None, proto=None, src=IP4_SRC, dst=IP4_DST, ttl=64, ident=1, tos=0,
         options=b"", df=False, mf=False, frag=0, **l2):
    """An IPv4 frame carrying *l4* (scapy layer, bytes or None).

    *proto*: IP protocol (from the scapy layer by default; 253 for bytes).
    *options*: raw option bytes (zero-padded to 4) or a list of scapy
    IPOption objects. *frag*: fragment offset in 8-byte units, *mf*: More
    Fragments flag, *df*: Don't Fragment. Checksums are computed by scapy.
    """
    _scapy()
    ip = _ip4_layer(l4, proto, src, dst, ttl, ident, tos, options, df, mf, frag)
    return _l2(ip, ETH_P_IP, l2)


def _tcp(sport, dport, flags, seq, ack, window, tcp_options, payload):
    from scapy.layers.inet import TCP

    t = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
            options=tcp_options or [])
    return t / payload if payload else t


def _udp(sport, dport, payload):
    from scapy.layers.inet import UDP

    u = UDP(sport=sport, dport=dport)
    return u / payload if payload else u


def tcp4(sport=40000, dport=80, flags="S", seq=1000, ack=0, window=8192,
         tcp_options=None, payload=b"", **kw):
    """An IPv4/TCP frame (default: SYN to port 80). *tcp_options*: scapy list,
    e.g. ``[("MSS", 1460)]``. Other keywords: see :func:`ipv4`."""
    _scapy()
    return ipv4(_tcp(sport, dport, flags, seq, ack, window, tcp_options, payload), **kw)


def udp4(sport=40000, dport=53, payload=b"", **kw):
    """An IPv4/UDP frame. Other keywords: see :func:`ipv4`."""
    _scapy()
    return ipv4(_udp(sport, dport, payload), **kw)


def icmp4(type=8, code=0, ident=1, seq=1, payload=b"", **kw):
    """An IPv4/ICMP frame, echo request by default (type 0 = echo reply)."""
    _scapy()
    from scapy.layers.inet import ICMP

    ic = ICMP(type=type, code=code, id=ident, seq=seq)
    return ipv4(ic / payload if payload else ic, **kw)


# --------------------------------------------------------------------------
# IPv6
# --------------------------------------------------------------------------

def hbh(options=None):
    """A Hop-by-Hop Options extension header (scapy pads it to 8 bytes)."""
    from scapy.layers.inet6 import IPv6ExtHdrHopByHop

    return IPv6ExtHdrHopByHop(options=options or [])


def dstopts(options=None):
    """A Destination Options extension header."""
    from scapy.layers.inet6 import IPv6ExtHdrDestOpt

    return IPv6ExtHdrDestOpt(options=options or [])


def routing(addresses=(IP6_OTHER,), segleft=0, type=0):
    """A Routing extension header (default: type 0, one address, segleft 0,
    so the IPv6 destination stays the final one for checksums)."""
    from scapy.layers.inet6 import IPv6ExtHdrRouting

    return IPv6ExtHdrRouting(type=type, segleft=segleft, addresses=list(addresses))


def frag6(offset=0, m=False, ident=0x1234):
    """A Fragment extension header: *offset* in 8-byte units, *m* = More
    Fragments. First fragment: ``m=True``; non-first: ``offset>0``."""
    from scapy.layers.inet6 import IPv6ExtHdrFragment

    return IPv6ExtHdrFragment(offset=offset, m=1 if m else 0, id=ident)


_EXT_BY_NAME = {
    "hbh": hbh, "hopopts": hbh,
    "routing": routing, "rt": routing,
    "dstopts": dstopts, "dst": dstopts,
    "frag": frag6, "fragment": frag6,
}


def _mcast_mac(addr6):
    import ipaddress

    b = ipaddress.IPv6Address(addr6).packed
    return "33:33:" + ":".join("%02x" % x for x in b[12:])


def _solicited_node(addr6):
    """ff02::1:ffXX:XXXX for *addr6* (RFC 4291 2.7.1)."""
    import ipaddress

    b = ipaddress.IPv6Address(addr6).packed
    return str(ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 9 + "01ff") + b[13:]))


def ipv6(l4=None, nh=None, src=IP6_SRC, dst=IP6_DST, hlim=64, tc=0, fl=0, ext=(), **l2):
    """An IPv6 frame carrying the extension headers *ext* then *l4*.

    *ext*: sequence of extension headers in wire order: scapy objects (see
    :func:`hbh`, :func:`routing`, :func:`dstopts`, :func:`frag6`) or their
    names ("hbh", "routing", "dstopts", "frag"); any depth, repeats allowed.
    *l4*: scapy layer, bytes or None; *nh*: next header of *l4* (from the
    scapy layer by default; 59 "no next header" for None, 253 for bytes).
    A multicast *dst* gets its 33:33:xx:xx:xx:xx MAC unless eth_dst is given.
    """
    _scapy()
    from scapy.layers.inet6 import IPv6
    from scapy.packet import Packet, Raw

    pkt = IPv6(src=src, dst=dst, hlim=hlim, tc=tc, fl=fl)
    for e in ext:
        pkt = pkt / (_EXT_BY_NAME[e]() if isinstance(e, str) else e)
    # "/" copies its operands: set nh on the header now inside pkt
    last = pkt.lastlayer()
    if isinstance(l4, Packet):
        if nh is not None:
            last.nh = nh
        pkt = pkt / l4
    else:
        last.nh = (IPPROTO_NONE if not l4 else IPPROTO_EXPERIMENT) if nh is None else nh
        if l4:
            pkt = pkt / Raw(bytes(l4))
    mac = _mcast_mac(dst) if dst.lower().startswith("ff") else MAC_DST
    return _l2(pkt, ETH_P_IPV6, l2, mac)


def tcp6(sport=40000, dport=80, flags="S", seq=1000, ack=0, window=8192,
         tcp_options=None, payload=b"", **kw):
    """An IPv6/TCP frame (default: SYN to port 80). Other keywords: see :func:`ipv6`."""
    _scapy()
    return ipv6(_tcp(sport, dport, flags, seq, ack, window, tcp_options, payload), **kw)


def udp6(sport=40000, dport=53, payload=b"", **kw):
    """An IPv6/UDP frame. Other keywords: see :func:`ipv6`."""
    _scapy()
    return ipv6(_udp(sport, dport, payload), **kw)


def icmp6(type=128, code=0, ident=1, seq=1, payload=b"", **kw):
    """An ICMPv6 echo request (type 128; 129 = echo reply)."""
    _scapy()
    from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6Unknown

    if type == 128:
        ic = ICMPv6EchoRequest(code=code, id=ident, seq=seq, data=payload)
    elif type == 129:
        ic = ICMPv6EchoReply(code=code, id=ident, seq=seq, data=payload)
    else:
        ic = ICMPv6Unknown(type=type, code=code, msgbody=payload)
    return ipv6(ic, **kw)


def nd(type=ND_NS, target=IP6_DST, src=None, dst=None, lladdr=MAC_SRC, hlim=255, **kw):
    """An IPv6 neighbour discovery frame, ICMPv6 *type* 133-137, hop limit 255.

    ===  =============  ======================  ==============================
    133  router sol.    fe80::1 -> ff02::2      source lladdr option
    134  router adv.    fe80::1 -> ff02::1      source lladdr, prefix 2001:db8::/64
    135  neighbour sol. 2001:db8::1 -> solicited-node(target)   source lladdr
    136  neighbour adv. target -> 2001:db8::1 (S,O flags)       target lladdr
    137  redirect       fe80::1 -> 2001:db8::1  target fe80::2, dst *target*, target lladdr
    ===  =============  ======================  ==============================

    *src*/*dst* override the addresses; *lladdr*: the link-layer option
    (None: no option). Other keywords: see :func:`ipv6`.
    """
    _scapy()
    from scapy.layers import inet6 as s6

    opt_src = s6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr) if lladdr else None
    if type == ND_RS:
        src, dst = src or LL6_SRC, dst or "ff02::2"
        body = s6.ICMPv6ND_RS()
    elif type == ND_RA:
        src, dst = src or LL6_SRC, dst or "ff02::1"
        body = s6.ICMPv6ND_RA(routerlifetime=1800)
        if opt_src is not None:
            body = body / opt_src
            opt_src = None
        body = body / s6.ICMPv6NDOptPrefixInfo(prefix="2001:db8::", prefixlen=64)
    elif type == ND_NS:
        src = src or IP6_SRC
        dst = dst or _solicited_node(target)
        body = s6.ICMPv6ND_NS(tgt=target)
    elif type == ND_NA:
        src, dst = src or target, dst or IP6_SRC
        body = s6.ICMPv6ND_NA(tgt=target, R=0, S=1, O=1)
        opt_src = s6.ICMPv6NDOptDstLLAddr(lladdr=lladdr) if lladdr else None
    elif type == ND_REDIRECT:
        src, dst = src or LL6_SRC, dst or IP6_SRC
        body = s6.ICMPv6ND_Redirect(tgt=LL6_DST, dst=target)
        opt_src = s6.ICMPv6NDOptDstLLAddr(lladdr=lladdr) if lladdr else None
    else:
        raise ValueError("nd(): type must be 133..137, not %r" % (type,))
    if opt_src is not None:
        body = body / opt_src
    return ipv6(body, src=src, dst=dst, hlim=hlim, **kw)


def nd_rs(**kw):
    """Router solicitation (ICMPv6 133); see :func:`nd`."""
    return nd(ND_RS, **kw)


def nd_ra(**kw):
    """Router advertisement (ICMPv6 134); see :func:`nd`."""
    return nd(ND_RA, **kw)


def nd_ns(**kw):
    """Neighbour solicitation (ICMPv6 135); see :func:`nd`."""
    return nd(ND_NS, **kw)


def nd_na(**kw):
    """Neighbour advertisement (ICMPv6 136); see :func:`nd`."""
    return nd(ND_NA, **kw)


def nd_redirect(**kw):
    """Redirect (ICMPv6 137); see :func:`nd`."""
    return nd(ND_REDIRECT, **kw)


# --------------------------------------------------------------------------
# Locating headers in raw frames
# --------------------------------------------------------------------------

def l3_offset(frame):
    """Return ``(offset, ethertype)`` of the L3 header behind any VLAN tags
    (TPIDs 0x8100, 0x88a8, 0x9100). Raises ValueError on a short frame."""
    off = 12
    while True:
        if len(frame) < off + 2:
            raise ValueError("frame too short for its L2 header")
        et = struct.unpack_from("!H", frame, off)[0]
        if et not in VLAN_TPIDS:
            return off + 2, et
        off += 4


_IP6_EXT = (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS, IPPROTO_AH)


def l4_offset(frame):
    """Return ``(offset, protocol)`` of the L4 header of an IPv4/IPv6 frame,
    after IPv4 options or the IPv6 extension header chain. Raises ValueError
    for non-IP or too short frames."""
    off, et = l3_offset(frame)
    if et == ETH_P_IP:
        if len(frame) < off + 20:
            raise ValueError("frame too short for IPv4")
        return off + (frame[off] & 0x0F) * 4, frame[off + 9]
    if et != ETH_P_IPV6:
        raise ValueError("not an IP frame (ethertype 0x%04x)" % et)
    if len(frame) < off + 40:
        raise ValueError("frame too short for IPv6")
    nh = frame[off + 6]
    off += 40
    while nh in _IP6_EXT:
        if len(frame) < off + 2:
            raise ValueError("frame too short for IPv6 extension header")
        nxt, hlen = frame[off], frame[off + 1]
        if nh == IPPROTO_FRAGMENT:
            size = 8
        elif nh == IPPROTO_AH:
            size = (hlen + 2) * 4
        else:
            size = (hlen + 1) * 8
        nh, off = nxt, off + size
    return off, nh


# --------------------------------------------------------------------------
# Mutators
# --------------------------------------------------------------------------

def truncate(frame, n):
    """The first *n* bytes of *frame* (negative *n*: drop -n bytes at the end)."""
    return bytes(frame[:n])


cut = truncate


def patch(frame, offset, data):
    """*frame* with *data* (bytes or one int byte) written at *offset*."""
    if isinstance(data, int):
        data = bytes([data])
    b = bytearray(frame)
    b[offset:offset + len(data)] = data
    return bytes(b)


def pad60(frame):
    """*frame* zero-padded to the 60-byte Ethernet minimum (without FCS)."""
    return bytes(frame) + b"\0" * max(0, 60 - len(frame))


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fix_ip4_csum(frame):
    """Recompute the IPv4 header checksum over max(IHL, 5) * 4 bytes."""
    off, et = l3_offset(frame)
    if et != ETH_P_IP:
        raise ValueError("not an IPv4 frame")
    b = bytearray(frame)
    hlen = max(b[off] & 0x0F, 5) * 4
    b[off + 10:off + 12] = b"\0\0"
    b[off + 10:off + 12] = struct.pack("!H", _csum(bytes(b[off:off + hlen])))
    return bytes(b)


def fix_tcp_csum(frame):
    """Recompute the TCP checksum of an IPv4 or IPv6 frame (after a
    :func:`patch` of its header or options), over the segment the IP
    length holds, with scapy's pseudo-header sums (in4_chksum, in6_chksum)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.inet6 import in6_chksum
    from scapy.layers.inet import in4_chksum

    l3, et = l3_offset(frame)
    off, proto = l4_offset(frame)
    if proto != IPPROTO_TCP:
        raise ValueError("not a TCP frame (protocol %d)" % proto)
    b = bytearray(frame)
    if et == ETH_P_IP:
        end = l3 + struct.unpack_from("!H", b, l3 + 2)[0]
    else:
        end = l3 + 40 + struct.unpack_from("!H", b, l3 + 4)[0]
    b[off + 16:off + 18] = b"\0\0"
    seg = bytes(b[off:end])
    if et == ETH_P_IP:
        ck = in4_chksum(IPPROTO_TCP, IP(bytes(b[l3:end])), seg)
    else:
        ck = in6_chksum(IPPROTO_TCP, IPv6(bytes(b[l3:end])), seg)
    b[off + 16:off + 18] = struct.pack("!H", ck)
    return bytes(b)


def _ip4(frame):
    off, et = l3_offset(frame)
    if et != ETH_P_IP:
        raise ValueError("not an IPv4 frame (ethertype 0x%04x)" % et)
    return off


def bad_ihl(frame, ihl=4, fix_csum=True):
    """Set the IPv4 IHL to *ihl* (default 4, i.e. < 5: invalid); the header
    checksum is recomputed so only the IHL is wrong (``fix_csum=False``: not)."""
    off = _ip4(frame)
    b = patch(frame, off, (frame[off] & 0xF0) | (ihl & 0x0F))
    return fix_ip4_csum(b) if fix_csum else b


def bad_ip4_len(frame, extra=1, length=None, fix_csum=True):
    """Set the IPv4 total length to *length*, default: the real L3 length plus
    *extra* (i.e. larger than the frame). Header checksum recomputed."""
    off = _ip4(frame)
    if length is None:
        length = len(frame) - off + extra
    b = patch(frame, off + 2, struct.pack("!H", length & 0xFFFF))
    return fix_ip4_csum(b) if fix_csum else b


def bad_ip6_plen(frame, extra=1, length=None):
    """Set the IPv6 payload length to *length*, default: the real payload
    length plus *extra* (i.e. larger than the frame)."""
    off, et = l3_offset(frame)
    if et != ETH_P_IPV6:
        raise ValueError("not an IPv6 frame (ethertype 0x%04x)" % et)
    if length is None:
        length = len(frame) - off - 40 + extra
    return patch(frame, off + 4, struct.pack("!H", length & 0xFFFF))


def bad_tcp_doff(frame, doff=4):
    """Set the TCP data offset to *doff* (default 4, i.e. < 5: invalid), in an
    IPv4 or IPv6 frame (extension headers are skipped). The TCP checksum is
    left as it was."""
    off, proto = l4_offset(frame)
    if proto != IPPROTO_TCP:
        raise ValueError("not a TCP frame (protocol %d)" % proto)
    return patch(frame, off + 12, ((doff & 0x0F) << 4) | (frame[off + 12] & 0x0F))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def hexs(frame):
    """*frame* as a hex string."""
    return bytes(frame).hex()


def _frames(value):
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value)]
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_frames(v))
        return out
    raise TypeError("expression gave %s, not bytes" % type(value).__name__)


def _eval(expr, ns):
    try:
        return eval(expr, ns)
    except NameError:
        if "__scapy_all__" in ns:
            raise
        import scapy.all

        ns["__scapy_all__"] = True
        for k, v in vars(scapy.all).items():
            ns.setdefault(k, v)
        return eval(expr, ns)


def main(argv=None):
    """``pkt.py [--show] EXPR...``: print each expression's frame(s) as hex."""
    argv = sys.argv[1:] if argv is None else argv
    show = False
    if argv and argv[0] == "--show":
        show, argv = True, argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    ns = {k: v for k, v in globals().items() if not k.startswith("__")}
    for expr in argv:
        try:
            frames = _frames(_eval(expr, ns))
        except Exception as e:  # a bad expression: say which, fail
            print("pkt.py: %s: %s: %s" % (expr, type(e).__name__, e), file=sys.stderr)
            return 1
        for f in frames:
            if show:
                from scapy.layers.l2 import Ether

                Ether(f).show2()
            else:
                print(f.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main())
