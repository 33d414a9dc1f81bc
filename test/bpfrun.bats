#!/usr/bin/env bats
# Self-test of the test harness: test/lib/bpfrun.py (BPF_PROG_TEST_RUN and map
# access through ctypes) and test/lib/pkt.py (scapy packet builders), on a tiny
# XDP program compiled here and loaded into a private bpffs per test.
#
# The program: IPv6 -> XDP_DROP; ethertype 0x88b5 -> grows the frame by 4
# bytes (de ad be ef) and returns XDP_TX; anything else -> XDP_PASS with the
# source MAC rewritten to aa:xx:xx:xx:IFINDEX:RXQ. Every verdict is counted in
# an array and in a per-CPU array map (key = verdict).

bats_require_minimum_version 1.5.0 # run --separate-stderr

PY=/usr/bin/python3 # Debian's python: the one with scapy

setup_file() {
	cat >"$BATS_FILE_TMPDIR/t.c" <<'EOF'
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_pcnt SEC(".maps");

static void count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&t_cnt, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&t_pcnt, &k);
	if (v)
		*v += 1;
}

SEC("xdp")
int t_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 *p;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		count(XDP_DROP);
		return XDP_DROP;
	}
	if (eth->h_proto == bpf_htons(0x88b5)) {
		if (bpf_xdp_adjust_head(ctx, -4))
			return XDP_ABORTED;
		p = (void *)(long)ctx->data;
		if ((void *)(p + 4) > (void *)(long)ctx->data_end)
			return XDP_ABORTED;
		p[0] = 0xde;
		p[1] = 0xad;
		p[2] = 0xbe;
		p[3] = 0xef;
		count(XDP_TX);
		return XDP_TX;
	}
	eth->h_source[0] = 0xaa;
	eth->h_source[4] = ctx->ingress_ifindex & 0xff;
	eth->h_source[5] = ctx->rx_queue_index & 0xff;
	count(XDP_PASS);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
EOF
	clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror \
		-I/usr/include/x86_64-linux-gnu \
		-c "$BATS_FILE_TMPDIR/t.c" -o "$BATS_FILE_TMPDIR/t.o"
}

setup() {
	LIB="$BATS_TEST_DIRNAME/lib"
	FS="$BATS_TEST_TMPDIR/bpffs"
	PROG="$FS/prog"
	mkdir -p "$FS"
	mount -t bpf bpf "$FS"
	bpftool prog load "$BATS_FILE_TMPDIR/t.o" "$PROG" pinmaps "$FS/maps"
}

teardown() {
	# runs after a failed setup or test too; unpinning frees prog and maps
	if mountpoint -q "$FS"; then
		umount "$FS"
	fi
}

pkt() { "$PY" "$LIB/pkt.py" "$@"; }
bpfrun() { "$PY" "$LIB/bpfrun.py" "$@"; }

@test "bpfrun: verdicts and rewritten bytes of several packets" {
	v4=$(pkt 'tcp4(dport=22)')
	v6=$(pkt 'tcp6(dport=22)')
	arp=$(pkt 'arp()')
	q6=$(pkt 'udp6(vlans=[100])') # tagged: the program sees 0x8100, passes
	# without a ctx the kernel runs the program on lo (ifindex 1), queue 0
	exp_v4=$(pkt "patch(patch(bytes.fromhex('$v4'), 6, 0xaa), 10, b'\\x01\\x00')")
	exp_arp=$(pkt "patch(patch(bytes.fromhex('$arp'), 6, 0xaa), 10, b'\\x01\\x00')")
	exp_q6=$(pkt "patch(patch(bytes.fromhex('$q6'), 6, 0xaa), 10, b'\\x01\\x00')")
	[ "$exp_v4" != "$v4" ]

	run bpfrun run --pinned "$PROG" <<<"$v4
# comments and blank lines are skipped

$v6
$arp
$q6"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "2 $exp_v4" ]
	[ "${lines[1]}" = "1 $v6" ]
	[ "${lines[2]}" = "2 $exp_arp" ]
	[ "${lines[3]}" = "2 $exp_q6" ]
}

@test "bpfrun: data_out grows with bpf_xdp_adjust_head" {
	f=$(pkt 'ether(b"hello, world", ethertype=0x88b5)')
	run bpfrun run --pinned "$PROG" --duration <<<"$f"
	[ "$status" -eq 0 ]
	read -r ret out dur <<<"$output"
	[ "$ret" -eq 3 ]
	[ "$out" = "deadbeef$f" ]
	[ "$dur" -ge 0 ]
}

@test "bpfrun: test_run retries after ENOSPC (data_out_size too small)" {
	run "$PY" - "$LIB" "$PROG" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import bpfrun
fd = bpfrun.obj_get(sys.argv[2])
frame = bytes(12) + b"\x88\xb5" + b"x" * 50
ret, out, _ = bpfrun.test_run(fd, frame, data_out_size=8)
assert ret == bpfrun.XDP_TX, ret
assert out == b"\xde\xad\xbe\xef" + frame, out.hex()
print("ok")
EOF
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "bpfrun: ingress_ifindex via an xdp_md ctx (lo = 1, bad ctx rejected)" {
	f=$(pkt 'udp4()')
	run bpfrun run --pinned "$PROG" --ifindex 1 --rx-queue 0 <<<"$f"
	[ "$status" -eq 0 ]
	[ "$output" = "2 $(pkt "patch(patch(bytes.fromhex('$f'), 6, 0xaa), 10, b'\\x01\\x00')")" ]

	# the ctx really reaches the kernel: an unknown ifindex is refused ...
	run --separate-stderr bpfrun run --pinned "$PROG" --ifindex 99999 <<<"$f"
	[ "$status" -eq 1 ]
	[ "$output" = "ERR ENODEV" ]
	# ... and so is a queue lo does not have
	run --separate-stderr bpfrun run --pinned "$PROG" --ifindex 1 --rx-queue 7 <<<"$f"
	[ "$status" -eq 1 ]
	[ "$output" = "ERR EINVAL" ]
}

@test "bpfrun: ingress_ifindex via ctx is not just the default (veth in a private netns)" {
	f=$(pkt 'udp4()')
	run unshare -n bash -c '
		ip link add bgt0 type veth peer name bgt1 || exit 3
		idx=$(ip -o link show bgt0 | cut -d: -f1)
		echo "$idx"
		"$1" "$2/bpfrun.py" run --pinned "$3" --ifindex "$idx" <<<"$4"
	' _ "$PY" "$LIB" "$PROG" "$f"
	[ "$status" -eq 0 ]
	idx=${lines[0]}
	[ "$idx" -gt 1 ]
	exp=$(pkt "patch(patch(bytes.fromhex('$f'), 6, 0xaa), 10, bytes([$idx, 0]))")
	[ "${lines[1]}" = "2 $exp" ]
}

@test "bpfrun: thousands of packets through one fd, counted in maps" {
	n=3000
	v4=$(pkt 'icmp4()')
	v6=$(pkt 'icmp6()')
	run bash -c 'set -o pipefail
		for ((i = 0; i < $1; i++)); do echo "$2"; echo "$3"; done |
		"$4" "$5/bpfrun.py" run --pinned "$6" | sort | uniq -c' \
		_ "$n" "$v4" "$v6" "$PY" "$LIB" "$PROG"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ] # n identical results for each of the 2 frames
	[[ "${lines[0]}" =~ ^\ *$n\ 1\ $v6$ ]]
	[[ "${lines[1]}" =~ ^\ *$n\ 2\  ]]

	run bpfrun map-lookup --pinned "$FS/maps/t_cnt" --key-u32 2 --sum
	[ "$status" -eq 0 ]
	[ "$output" -eq "$n" ]
	run bpfrun map-lookup --pinned "$FS/maps/t_pcnt" --key-u32 1 --sum
	[ "$status" -eq 0 ]
	[ "$output" -eq "$n" ]
	run bpfrun map-lookup --pinned "$FS/maps/t_pcnt" --key 01000000
	[ "$status" -eq 0 ]
	ncpu=$("$PY" -c "import sys; sys.path.insert(0, '$LIB'); import bpfrun; print(bpfrun.possible_cpus())")
	[ "${#lines[@]}" -eq "$ncpu" ] # one value per possible CPU
	run bpfrun map-info --pinned "$FS/maps/t_pcnt"
	[ "$status" -eq 0 ]
	[[ "$output" == *"type_name percpu_array"* ]]
	[[ "$output" == *"value_size 8"* ]]
	[[ "$output" == *"percpu True"* ]]
}

@test "bpfrun: map update, lookup miss, key iteration, per-CPU values" {
	run "$PY" - "$LIB" "$FS/maps" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[1])
import bpfrun as b
a = b.obj_get(sys.argv[2] + "/t_cnt")
pc = b.obj_get(sys.argv[2] + "/t_pcnt")
k = struct.pack("=I", 3)
b.map_update(a, k, struct.pack("=Q", 77))
assert b.map_lookup(a, k, 8) == struct.pack("=Q", 77)
assert b.map_lookup(a, struct.pack("=I", 4), 8) is None  # out of range
assert list(b.map_keys(a)) == [struct.pack("=I", i) for i in range(4)]
n = b.possible_cpus()
vals = [struct.pack("=Q", 10 + i) for i in range(n)]
b.map_update_percpu(pc, k, vals)
assert b.map_lookup_percpu(pc, k) == vals
assert len(b.map_lookup(pc, k, 8, percpu=True)) == 8 * n
info = b.map_info(a)
assert (info["type_name"], info["key_size"], info["value_size"], info["max_entries"],
        info["name"], info["percpu"]) == ("array", 4, 8, 4, "t_cnt", False), info
try:
    b.map_update(a, struct.pack("=I", 9), struct.pack("=Q", 1))
    raise SystemExit("update out of range did not fail")
except b.BpfError as e:
    assert e.errname in ("E2BIG", "EINVAL"), e
print("ok")
EOF
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "bpfrun: a frame shorter than ETH_HLEN is an error, not a crash" {
	f=$(pkt 'udp4()')
	run --separate-stderr bpfrun run --pinned "$PROG" <<<"0011223344
$f"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "ERR EINVAL" ]
	[[ "${lines[1]}" == "2 "* ]] # the next packet still runs
	[[ "$stderr" == *"line 1"*"Invalid argument"* ]]
}

@test "pkt: VLAN stacks, IPv6 extension chains and corrupting helpers" {
	run "$PY" - "$LIB" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[1])
import pkt as P

f = P.tcp4(vlans=[100, 200])
assert f[12:22] == bytes.fromhex("88a8 0064 8100 00c8 0800"), f[12:22].hex()
assert P.l3_offset(f) == (22, 0x0800)
assert P.udp4(vlans=[7])[12:18] == bytes.fromhex("8100 0007 0800")
assert P.l3_offset(P.udp4(vlans=[1, 2, 3]))[0] == 26

f = P.tcp6(ext=["hbh", "routing", "dstopts", P.frag6(offset=3, m=True)])
# 14 + 40 + hbh 8 + routing (1 address) 24 + dstopts 8 + frag 8
assert P.l4_offset(f) == (102, 6), P.l4_offset(f)
assert f[20] == 0 and f[54] == 43 and f[62] == 60 and f[86] == 44 and f[94] == 6
assert struct.unpack("!H", f[96:98])[0] == (3 << 3) | 1  # offset 3, M

f = P.udp4(frag=10)
assert struct.unpack("!H", f[20:22])[0] == 10
assert struct.unpack("!H", P.udp4(mf=True)[20:22])[0] == 0x2000
f = P.tcp4(options=b"\x01\x01\x01")
assert f[14] == 0x46 and P.l4_offset(f) == (38, 6)

for t in range(133, 138):
    f = P.nd(t)
    off, proto = P.l4_offset(f)
    assert proto == 58 and f[off] == t and f[21] == 255, t

assert P.lldp()[12:14] == b"\x88\xcc" and P.arp()[12:14] == b"\x08\x06"

g = P.tcp4()
assert P.bad_ihl(g)[14] == 0x44
assert struct.unpack("!H", P.bad_ip4_len(g)[16:18])[0] == len(g) - 14 + 1
assert P.fix_ip4_csum(P.bad_ip4_len(g)) == P.bad_ip4_len(g)
h = P.tcp6(ext=["hbh"])
assert struct.unpack("!H", P.bad_ip6_plen(h)[18:20])[0] == len(h) - 54 + 1
assert P.bad_tcp_doff(h)[62 + 12] >> 4 == 4
assert P.truncate(h, 20) == h[:20]
print("ok")
EOF
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	run pkt 'udp4()' 'no_such_builder()'
	[ "$status" -eq 1 ]
}
