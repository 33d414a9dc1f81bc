#!/usr/bin/env bats
# tc_conntrack through BPF_PROG_TEST_RUN: crafted frames into the ingress
# and egress programs, the class of each packet (from the per-class
# counters), the entries read back from the pinned tables. Every run also
# checks that the program returns TC_ACT_UNSPEC and leaves the frame alone
# (test/lib/ctcheck.py).

load lib/common

# Client 192.0.2.10:40000 (ingress side), server 198.51.100.1:80 (local).
C4='src="192.0.2.10", dst="198.51.100.1", sport=40000, dport=80'
S4='src="198.51.100.1", dst="192.0.2.10", sport=80, dport=40000'
FLOW4='tcp 192.0.2.10 40000 198.51.100.1 80'

# Three-way handshake (client ISN 1000, server ISN 5000).
HANDSHAKE="
in tcp4($C4, flags=\"S\", seq=1000) :: NEW
eg tcp4($S4, flags=\"SA\", seq=5000, ack=1001) :: ESTABLISHED
in tcp4($C4, flags=\"A\", seq=1001, ack=5001) :: ESTABLISHED
"

setup()
{
	bpffs_setup
	UNS=bgc-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" \
		"$BG_BUILD/tc_conntrack.o" "$FW_BPFFS/ctprogs" >/dev/null
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

# Run a ctcheck script (stdin); its failures are the test's.
ct()
{
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/ctcheck.py" \
		--bpffs "$FW_BPFFS" --progs "$FW_BPFFS/ctprogs"
}

@test "objects: two TC sections, maps named bg_ct*, pinned with BTF" {
	run bpftool -j prog show pinned "$FW_BPFFS/ctprogs/bg_ct_ingress"
	[ "$status" -eq 0 ]
	[ "$(jq -r .type <<<"$output")" = sched_cls ]
	run bpftool -j prog show pinned "$FW_BPFFS/ctprogs/bg_ct_egress"
	[ "$(jq -r .type <<<"$output")" = sched_cls ]
	local m
	for m in bg_ct4 bg_ct6 bg_ct_config bg_ct_stats bg_ct_src4 bg_ct_src6 \
		bg_ct_timer bg_ct_ifidx bg_ct_live; do
		run bpftool -j map show pinned "$FW_BPFFS/tc/globals/$m"
		[ "$status" -eq 0 ] || fail "no pinned map $m"
		[ "$(jq '.btf_id // 0' <<<"$output")" -gt 0 ] || fail "$m has no BTF"
	done
	run bpftool -j map show pinned "$FW_BPFFS/tc/globals/bg_ct4"
	[ "$(jq -r .type <<<"$output")" = lru_hash ]
	local abi cap
	abi=$("$BG_BUILD/bg-abi")
	[ "$(jq .bytes_key <<<"$output")" -eq "$(jq .structs.bg_ct4_key.size <<<"$abi")" ]
	[ "$(jq .bytes_value <<<"$output")" -eq "$(jq .structs.bg_ct_entry.size <<<"$abi")" ]
	cap=$(jq .consts.BG_CT_TABLE_MAX <<<"$abi")
	((cap > 0))
	# A quarter more than the limit: room the LRU keeps per CPU.
	[ "$(jq .max_entries <<<"$output")" -eq $((cap * 5 / 4)) ]
	# iproute2 attaches the sections by name
	ip -n "$UNS" link add name ct0 type veth peer name ct1
	tc -n "$UNS" qdisc add dev ct0 clsact
	TC_BPF_MNT=$FW_BPFFS tc -n "$UNS" filter add dev ct0 ingress bpf da \
		obj "$BG_BUILD/tc_conntrack.o" sec tc/ingress
	TC_BPF_MNT=$FW_BPFFS tc -n "$UNS" filter add dev ct0 egress bpf da \
		obj "$BG_BUILD/tc_conntrack.o" sec tc/egress
	tc -n "$UNS" filter show dev ct0 ingress | grep -q 'tc_conntrack.o:\[tc/ingress\]'
	tc -n "$UNS" filter show dev ct0 egress | grep -q 'tc_conntrack.o:\[tc/egress\]'
}

@test "TCP: handshake, data, client closes (FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT)" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: NEW
		entry $FLOW4 :: state=SYN_SENT flags=COUNTED origin=192.0.2.10 pkts=1/0 cookie=0
		src 192.0.2.10 :: 1
		live :: 1
		armed :: 1
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV flags=SEEN_REPLY,COUNTED pkts=1/1
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED flags=SEEN_REPLY,ASSURED,COUNTED pkts=2/1
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"x" * 10) :: ESTABLISHED
		eg tcp4($S4, flags="A", seq=5001, ack=1011) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED pkts=3/2 bytes=172/108
		in tcp4($C4, flags="FA", seq=1011, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=FIN_WAIT
		eg tcp4($S4, flags="A", seq=5001, ack=1012) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE_WAIT
		eg tcp4($S4, flags="PA", seq=5001, ack=1012, payload=b"bye") :: ESTABLISHED
		eg tcp4($S4, flags="FA", seq=5004, ack=1012) :: ESTABLISHED
		entry $FLOW4 :: state=LAST_ACK flags=SEEN_REPLY,ASSURED,COUNTED
		src 192.0.2.10 :: 1
		in tcp4($C4, flags="A", seq=1012, ack=5005) :: ESTABLISHED
		entry $FLOW4 :: state=TIME_WAIT flags=SEEN_REPLY,ASSURED pkts=5/5
		src 192.0.2.10 :: 0
		live :: 1
		stat new :: 1
		stat established :: 9
		stat invalid :: 0
	EOF
}

@test "TCP: server closes first" {
	ct <<-EOF
		$HANDSHAKE
		eg tcp4($S4, flags="FA", seq=5001, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=FIN_WAIT
		in tcp4($C4, flags="A", seq=1001, ack=5002) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE_WAIT
		in tcp4($C4, flags="FA", seq=1001, ack=5002) :: ESTABLISHED
		entry $FLOW4 :: state=LAST_ACK
		eg tcp4($S4, flags="A", seq=5002, ack=1002) :: ESTABLISHED
		entry $FLOW4 :: state=TIME_WAIT flags=SEEN_REPLY,ASSURED
		src 192.0.2.10 :: 0
	EOF
}

@test "TCP: simultaneous close" {
	ct <<-EOF
		$HANDSHAKE
		in tcp4($C4, flags="FA", seq=1001, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=FIN_WAIT
		eg tcp4($S4, flags="FA", seq=5001, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=LAST_ACK
		in tcp4($C4, flags="A", seq=1002, ack=5002) :: ESTABLISHED
		entry $FLOW4 :: state=TIME_WAIT
		eg tcp4($S4, flags="A", seq=5002, ack=1002) :: ESTABLISHED
		entry $FLOW4 :: state=TIME_WAIT
		stat invalid :: 0
	EOF
}

@test "TCP: simultaneous open" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: NEW
		eg tcp4($S4, flags="S", seq=5000) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV flags=SEEN_REPLY,COUNTED
		in tcp4($C4, flags="SA", seq=1000, ack=5001) :: ESTABLISHED
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED flags=SEEN_REPLY,ASSURED,COUNTED
		stat invalid :: 0
	EOF
}

@test "TCP: retransmitted SYN stays SYN_SENT; bad SYN/ACK and early ACK are INVALID" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: NEW
		in tcp4($C4, flags="S", seq=1000) :: NEW
		entry $FLOW4 :: state=SYN_SENT pkts=2/0
		eg tcp4($S4, flags="SA", seq=5000, ack=7777) :: INVALID
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: INVALID
		entry $FLOW4 :: state=SYN_SENT flags=COUNTED pkts=2/0
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV
		src 192.0.2.10 :: 1
	EOF
}

@test "TCP: RST in window closes, RST out of window is INVALID and changes nothing" {
	ct <<-EOF
		$HANDSHAKE
		in tcp4($C4, flags="R", seq=900000) :: INVALID
		entry $FLOW4 :: state=ESTABLISHED flags=SEEN_REPLY,ASSURED,COUNTED pkts=2/1
		src 192.0.2.10 :: 1
		eg tcp4($S4, flags="R", seq=5001) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE flags=SEEN_REPLY,ASSURED pkts=2/2
		src 192.0.2.10 :: 0
		# a new SYN on the closed tuple starts a new flow
		in tcp4($C4, flags="S", seq=90000) :: NEW
		entry $FLOW4 :: state=SYN_SENT flags=COUNTED pkts=1/0
		src 192.0.2.10 :: 1
		live :: 1
	EOF
}

@test "TCP: impossible flags, out-of-window data and unknown ACKs are INVALID" {
	ct <<-EOF
		in tcp4($C4, flags="SF") :: INVALID
		in tcp4($C4, flags="SR") :: INVALID
		in tcp4($C4, flags="") :: INVALID
		in tcp4($C4, flags="F") :: INVALID
		in tcp4($C4, flags="FPU") :: INVALID
		in tcp4($C4, flags="A", seq=1, ack=1) :: INVALID
		in tcp4($C4, flags="SA", seq=1, ack=1) :: INVALID
		in tcp4($C4, flags="R", seq=1) :: INVALID
		count :: 0
		live :: 0
		$HANDSHAKE
		in tcp4($C4, flags="PA", seq=1001 + 100000, ack=5001, payload=b"late") :: INVALID
		in tcp4($C4, flags="A", seq=1001, ack=9999) :: INVALID
		in tcp4($C4, flags="SF", seq=1001) :: INVALID
		in tcp4($C4, flags="S", seq=1001) :: INVALID
		entry $FLOW4 :: state=ESTABLISHED pkts=2/1
		stat invalid :: 12
	EOF
}

@test "malformed and untrackable frames: no entry, no crash, frame unchanged" {
	ct <<-EOF
		in truncate(tcp4($C4), 40) :: NONE
		in bad_tcp_doff(tcp4($C4), 4) :: NONE
		in bad_tcp_doff(tcp4($C4), 15) :: NONE
		in bad_ip4_len(udp4(src="192.0.2.10", dst="198.51.100.1"), extra=40) :: NONE
		in bad_ihl(tcp4($C4)) :: NONE
		in bad_ip6_plen(udp6(src="2001:db8::10", dst="2001:db8::1"), extra=9) :: NONE
		in tcp4($C4, frag=3) :: NONE
		in ipv4(b"x" * 8, proto=47, src="192.0.2.10", dst="198.51.100.1") :: NONE
		in arp() :: NONE
		in icmp4(type=13, src="192.0.2.10", dst="198.51.100.1") :: NONE
		eg truncate(udp4(), 38) :: NONE
		count :: 0
		live :: 0
		stat untracked :: 11
	EOF
}

@test "UDP and ICMP echo, v4 and v6: NEW until the responder answers" {
	ct <<-'EOF'
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=5353, dport=53) :: NEW
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=5353, dport=53) :: NEW
		entry udp 192.0.2.10 5353 198.51.100.1 53 :: state=NEW flags=COUNTED pkts=2/0
		eg udp4(src="198.51.100.1", dst="192.0.2.10", sport=53, dport=5353) :: ESTABLISHED
		entry udp 192.0.2.10 5353 198.51.100.1 53 :: state=ESTABLISHED flags=SEEN_REPLY,COUNTED pkts=2/1
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=5353, dport=53) :: ESTABLISHED
		entry udp 192.0.2.10 5353 198.51.100.1 53 :: flags=SEEN_REPLY,ASSURED,COUNTED pkts=3/1
		in udp6(src="2001:db8:9::10", dst="2001:db8::1", sport=7000, dport=53) :: NEW
		eg udp6(src="2001:db8::1", dst="2001:db8:9::10", sport=53, dport=7000) :: ESTABLISHED
		entry udp 2001:db8:9::10 7000 2001:db8::1 53 :: state=ESTABLISHED flags=ORIGIN_SIDE1,SEEN_REPLY,COUNTED origin=2001:db8:9::10 pkts=1/1
		in icmp4(type=8, ident=77, src="192.0.2.10", dst="198.51.100.1") :: NEW
		entry icmp 192.0.2.10 77 198.51.100.1 77 :: state=NEW pkts=1/0
		eg icmp4(type=0, ident=77, src="198.51.100.1", dst="192.0.2.10") :: ESTABLISHED
		entry icmp 192.0.2.10 77 198.51.100.1 77 :: state=ESTABLISHED flags=SEEN_REPLY,COUNTED pkts=1/1
		in icmp4(type=0, ident=78, src="192.0.2.10", dst="198.51.100.1") :: INVALID
		in icmp6(type=128, ident=5, src="2001:db8::10", dst="2001:db8::1") :: NEW
		eg icmp6(type=129, ident=5, src="2001:db8::1", dst="2001:db8::10") :: ESTABLISHED
		entry icmp6 2001:db8::10 5 2001:db8::1 5 :: state=ESTABLISHED flags=ORIGIN_SIDE1,SEEN_REPLY,COUNTED pkts=1/1
		in icmp6(type=129, ident=6, src="2001:db8::10", dst="2001:db8::1") :: INVALID
		live :: 4
		src 192.0.2.10 :: 2
		src 2001:db8::10 :: 1
		src 2001:db8:9::10 :: 1
	EOF
}

@test "RELATED: ICMP and ICMPv6 errors quoting a tracked flow, and only those" {
	ct <<-'EOF'
		eg udp4(src="198.51.100.1", dst="203.0.113.9", sport=5555, dport=53) :: NEW
		in icmp4(type=3, code=3, src="203.0.113.9", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 17, 5555, 53)) :: RELATED
		in icmp4(type=11, code=0, src="203.0.113.254", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 17, 5555, 53)) :: RELATED
		in icmp4(type=12, code=0, src="203.0.113.254", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 17, 5555, 53)) :: RELATED
		in icmp4(type=3, code=3, src="203.0.113.9", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 17, 5556, 53)) :: INVALID
		in icmp4(type=3, code=3, src="203.0.113.9", dst="198.51.100.7", payload=q4("198.51.100.1", "203.0.113.9", 17, 5555, 53)) :: INVALID
		in icmp4(type=3, code=3, src="203.0.113.9", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 17, 5555, 53)[:24]) :: INVALID
		entry udp 198.51.100.1 5555 203.0.113.9 53 :: state=NEW flags=COUNTED,EGRESS pkts=1/0 cookie=nonzero
		eg icmp4(type=8, ident=3, src="198.51.100.1", dst="203.0.113.9") :: NEW
		in icmp4(type=11, src="203.0.113.254", dst="198.51.100.1", payload=q4("198.51.100.1", "203.0.113.9", 1, 3, 0)) :: RELATED
		eg tcp6(src="2001:db8::1", dst="2001:db8:2::9", sport=5555, dport=443, flags="S") :: NEW
		in icmp6(type=2, src="2001:db8:3::1", dst="2001:db8::1", payload=b"\0\0\x05\x00" + q6("2001:db8::1", "2001:db8:2::9", 6, 5555, 443)) :: RELATED
		in icmp6(type=1, code=4, src="2001:db8:2::9", dst="2001:db8::1", payload=b"\0\0\0\0" + q6("2001:db8::1", "2001:db8:2::9", 6, 5555, 443)) :: RELATED
		in icmp6(type=3, src="2001:db8:3::1", dst="2001:db8::1", payload=b"\0\0\0\0" + q6("2001:db8::1", "2001:db8:2::9", 6, 5555, 443)) :: RELATED
		in icmp6(type=4, src="2001:db8:3::1", dst="2001:db8::1", payload=b"\0\0\0\0" + q6("2001:db8::1", "2001:db8:2::9", 6, 5555, 443)) :: RELATED
		in icmp6(type=1, src="2001:db8:2::9", dst="2001:db8::1", payload=b"\0\0\0\0" + q6("2001:db8::1", "2001:db8:2::9", 6, 5555, 444)) :: INVALID
		entry tcp 2001:db8::1 5555 2001:db8:2::9 443 :: state=SYN_SENT pkts=1/0
		stat related :: 8
		live :: 3
	EOF
}

@test "egress: mid-stream pickup of an ACK; ingress never picks up" {
	ct <<-'EOF'
		eg tcp4(src="198.51.100.1", dst="192.0.2.20", sport=22, dport=50000, flags="PA", seq=70000, ack=80000, payload=b"ssh") :: ESTABLISHED
		entry tcp 198.51.100.1 22 192.0.2.20 50000 :: state=ESTABLISHED flags=ORIGIN_SIDE1,MIDSTREAM,COUNTED,EGRESS origin=198.51.100.1 pkts=1/0 cookie=nonzero
		in tcp4(src="192.0.2.20", dst="198.51.100.1", sport=50000, dport=22, flags="A", seq=80000, ack=70003, window=500) :: ESTABLISHED
		entry tcp 198.51.100.1 22 192.0.2.20 50000 :: state=ESTABLISHED flags=ORIGIN_SIDE1,SEEN_REPLY,ASSURED,MIDSTREAM,COUNTED,EGRESS pkts=1/1
		stat midstream :: 1
		eg tcp4(src="198.51.100.1", dst="192.0.2.21", sport=22, dport=50000, flags="SA", seq=1, ack=1) :: INVALID
		eg tcp4(src="198.51.100.1", dst="192.0.2.21", sport=22, dport=50000, flags="FA", seq=1, ack=1) :: INVALID
		in tcp4(src="192.0.2.22", dst="198.51.100.1", sport=50000, dport=22, flags="A", seq=1, ack=1) :: INVALID
		count :: 1
	EOF
}

@test "egress skips packets that came in through a bpfguard interface" {
	ct <<-'EOF'
		ifidx 7
		eg udp4(src="192.0.2.10", dst="203.0.113.9", sport=999, dport=53) @iif=7 :: NONE
		count :: 0
		stat skipped :: 1
		eg udp4(src="192.0.2.10", dst="203.0.113.9", sport=999, dport=53) @iif=8 :: NEW
		in udp4(src="192.0.2.11", dst="203.0.113.9", sport=999, dport=53) @iif=7 :: NEW
		count :: 2
		entry udp 192.0.2.10 999 203.0.113.9 53 :: flags=COUNTED,EGRESS pkts=1/0
	EOF
}

@test "VLAN: the VLAN ids are part of the flow: one tuple on three VLANs is three flows" {
	ct <<-EOF
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1234, dport=53) :: NEW
		eg udp4(src="198.51.100.1", dst="192.0.2.10", sport=53, dport=1234) :: ESTABLISHED
		entry udp 192.0.2.10 1234 198.51.100.1 53 :: state=ESTABLISHED pkts=1/1
		# The same tuple on VLAN 200, and in QinQ 100.200: not that flow.
		in udp4(src="198.51.100.1", dst="192.0.2.10", sport=53, dport=1234, vlans=[200]) :: NEW
		in udp4(src="198.51.100.1", dst="192.0.2.10", sport=53, dport=1234, vlans=[100, 200]) :: NEW
		entry udp@200 192.0.2.10 1234 198.51.100.1 53 :: state=NEW origin=198.51.100.1 pkts=1/0
		entry udp@100.200 192.0.2.10 1234 198.51.100.1 53 :: state=NEW pkts=1/0
		entry udp 192.0.2.10 1234 198.51.100.1 53 :: pkts=1/1
		count :: 3
		# A TCP segment of an untagged flow arriving on VLAN 200 is no
		# part of it: INVALID, and the flow does not move.
		in tcp4($C4, flags="S", seq=1000) :: NEW
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		in tcp4($C4, flags="A", seq=1001, ack=5001, vlans=[200]) :: INVALID
		entry $FLOW4 :: state=SYN_RECV pkts=1/1
		entry tcp@200 192.0.2.10 40000 198.51.100.1 80 :: absent
	EOF
}

# ct_timeout SETUP SECONDS STATE: the entry made by SETUP is in STATE, is
# still there after SECONDS - 1 and gone (swept) after SECONDS + 1.
ct_timeout()
{
	ct <<-EOF
		$1
		entry $4 :: state=$3
		clock $(($2 - 1))
		sweep
		entry $4 :: state=$3
		clock 2
		sweep
		entry $4 :: absent
		stat expired :: 1
		live :: 0
		count :: 0
	EOF
}

@test "timeouts: every TCP state, default values, removed by the sweep" {
	local fin="in tcp4($C4, flags=\"FA\", seq=1001, ack=5001)"
	local cw="eg tcp4($S4, flags=\"A\", seq=5001, ack=1002)"
	local la="eg tcp4($S4, flags=\"FA\", seq=5001, ack=1002)"
	local tw="in tcp4($C4, flags=\"A\", seq=1002, ack=5002)"
	ct_timeout "in tcp4($C4, flags=\"S\", seq=1000)" 120 SYN_SENT "$FLOW4"
	teardown && setup
	ct_timeout "in tcp4($C4, flags=\"S\", seq=1000)
		eg tcp4($S4, flags=\"SA\", seq=5000, ack=1001)" 60 SYN_RECV "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE" 432000 ESTABLISHED "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE
		$fin" 120 FIN_WAIT "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE
		$fin
		$cw" 60 CLOSE_WAIT "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE
		$fin
		$cw
		$la" 30 LAST_ACK "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE
		$fin
		$cw
		$la
		$tw" 120 TIME_WAIT "$FLOW4"
	teardown && setup
	ct_timeout "$HANDSHAKE
		in tcp4($C4, flags=\"R\", seq=1001)" 10 CLOSE "$FLOW4"
}

@test "timeouts: UDP unreplied/replied, ICMP, overrides in bg_ct_config" {
	local u='in udp4(src="192.0.2.10", dst="198.51.100.1", sport=5353, dport=53)'
	local ur='eg udp4(src="198.51.100.1", dst="192.0.2.10", sport=53, dport=5353)'
	local uflow='udp 192.0.2.10 5353 198.51.100.1 53'
	ct_timeout "$u" 30 NEW "$uflow"
	teardown && setup
	ct_timeout "$u
		$ur" 120 ESTABLISHED "$uflow"
	teardown && setup
	ct_timeout 'in icmp4(type=8, ident=9, src="192.0.2.10", dst="198.51.100.1")' \
		30 NEW 'icmp 192.0.2.10 9 198.51.100.1 9'
	teardown && setup
	ct_timeout "timeout 2 7
		$HANDSHAKE" 7 ESTABLISHED "$FLOW4"
	teardown && setup
	ct_timeout "timeout 8 3
		$u" 3 NEW "$uflow"
}

@test "expiry on lookup: an expired entry is absent, a new packet re-creates it" {
	ct <<-EOF
		timeout 2 5
		$HANDSHAKE
		src 192.0.2.10 :: 1
		clock 6
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: INVALID
		entry $FLOW4 :: absent
		stat expired :: 1
		src 192.0.2.10 :: 0
		live :: 0
		in tcp4($C4, flags="S", seq=3000) :: NEW
		entry $FLOW4 :: state=SYN_SENT pkts=1/0
		src 192.0.2.10 :: 1
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1, dport=53) :: NEW
		clock 31
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1, dport=53) :: NEW
		entry udp 192.0.2.10 1 198.51.100.1 53 :: state=NEW pkts=1/0
		stat expired :: 2
		live :: 2
	EOF
}

@test "limits: limit_states caps tracked flows; per-source counters up and down" {
	ct <<-'EOF'
		limit 2
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40000, flags="S") :: NEW
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40001, flags="S") :: NEW
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40002, flags="S") :: NEW
		entry tcp 192.0.2.10 40002 198.51.100.1 80 :: absent
		stat over_limit :: 1
		live :: 2
		src 192.0.2.10 :: 2
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40000, flags="R", seq=1001) :: NEW
		entry tcp 192.0.2.10 40000 198.51.100.1 80 :: state=CLOSE flags=-
		src 192.0.2.10 :: 1
		# One limit per family: a full IPv4 table refuses no IPv6 flow.
		in udp6(src="2001:db8::10", dst="2001:db8::1", sport=40000) :: NEW
		stat over_limit :: 1
		live4 :: 2
		live6 :: 1
		in udp6(src="2001:db8::10", dst="2001:db8::1", sport=40001) :: NEW
		in udp6(src="2001:db8::10", dst="2001:db8::1", sport=40002) :: NEW
		stat over_limit :: 2
		live6 :: 2
		limit 0
		in udp6(src="2001:db8::10", dst="2001:db8::1", sport=40002) :: NEW
		src 2001:db8::10 :: 3
		live :: 5
		clock 200
		sweep
		src 192.0.2.10 :: 0
		src 2001:db8::10 :: 0
		live :: 0
		stat expired :: 5
		# Expiring everything leaves the count at 0: nothing evicted,
		# nothing wrapped, and new flows are taken again.
		evicted :: 0
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=40003) :: NEW
		live :: 1
	EOF
}

@test "sweep: entries lost behind its back are counted as evicted" {
	ct <<-'EOF'
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1, dport=53) :: NEW
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=2, dport=53) :: NEW
		live :: 2
		forget udp 192.0.2.10 1 198.51.100.1 53
		sweep
		stat evicted :: 1
		live :: 1
		sweep
		stat evicted :: 1
	EOF
}

@test "ctcheck fails on a wrong expectation (the tests can fail)" {
	run ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE
	EOF
	[ "$status" -eq 1 ]
	[ "$(grep -c '^line [0-9]*: ' <<<"$output")" -eq 2 ]
}

@test "TCP: a RST counts only at the exact sequence (RFC 5961); others are left to the endpoint" {
	ct <<-EOF
		$HANDSHAKE
		# In the window but not where the client's next byte is: the
		# endpoint answers with a challenge ACK, tracking ignores it.
		in tcp4($C4, flags="R", seq=1500) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED
		stat rst_ignored :: 1
		in tcp4($C4, flags="RA", seq=3000, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED
		# Out of the window: INVALID, nothing changes.
		in tcp4($C4, flags="R", seq=900000000) :: INVALID
		entry $FLOW4 :: state=ESTABLISHED pkts=2/1
		# Data still flows both ways.
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"x" * 10) :: ESTABLISHED
		eg tcp4($S4, flags="A", seq=5001, ack=1011) :: ESTABLISHED
		# Exactly at the client's next sequence: the flow closes.
		in tcp4($C4, flags="R", seq=1011) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE
	EOF
	# At what the receiver last acknowledged (td_maxack) counts too.
	ct <<-EOF
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40001, dport=80, flags="S", seq=1000) :: NEW
		eg tcp4(src="198.51.100.1", dst="192.0.2.10", sport=80, dport=40001, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40001, dport=80, flags="A", seq=1001, ack=5001) :: ESTABLISHED
		eg tcp4(src="198.51.100.1", dst="192.0.2.10", sport=80, dport=40001, flags="R", seq=5001) :: ESTABLISHED
		entry tcp 192.0.2.10 40001 198.51.100.1 80 :: state=CLOSE
	EOF
}

@test "TCP: in SYN_SENT only the SYN's own answer may reset it" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: NEW
		eg tcp4($S4, flags="R", seq=0) :: INVALID
		eg tcp4($S4, flags="RA", seq=0, ack=77) :: INVALID
		entry $FLOW4 :: state=SYN_SENT
		eg tcp4($S4, flags="RA", seq=0, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE
	EOF
}

@test "TCP: a flow picked up mid-stream gets window checks and exact RSTs" {
	ct <<-EOF
		eg tcp4($S4, flags="A", seq=5001, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED flags=ORIGIN_SIDE1,MIDSTREAM,COUNTED,EGRESS
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: ESTABLISHED
		# Acknowledging data the server never sent: INVALID.
		in tcp4($C4, flags="A", seq=1001, ack=90005001) :: INVALID
		# A RST not at the sequence the server acknowledged: ignored.
		in tcp4($C4, flags="R", seq=1700) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED
		stat rst_ignored :: 1
		in tcp4($C4, flags="R", seq=1001) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE
	EOF
}

@test "TCP: SYN_RECV becomes ESTABLISHED on the initiator's ACK, not the responder's" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000) :: NEW
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		eg tcp4($S4, flags="A", seq=5001, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV flags=SEEN_REPLY,COUNTED
		in tcp4($C4, flags="A", seq=1001, ack=5001) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED flags=SEEN_REPLY,ASSURED,COUNTED
	EOF
}

@test "GSO and GRO packets count their segments, as Linux does" {
	ct <<-EOF
		$HANDSHAKE
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"x" * 1000) @segs=10 :: ESTABLISHED
		eg tcp4($S4, flags="PA", seq=5001, ack=2001, payload=b"y" * 1000) @segs=4 :: ESTABLISHED
		entry $FLOW4 :: pkts=12/5
	EOF
}

@test "flush in the kernel: by address or all, counters exact" {
	ct <<-'EOF'
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1, dport=53) :: NEW
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=2, dport=53) :: NEW
		in udp4(src="192.0.2.11", dst="198.51.100.1", sport=1, dport=53) :: NEW
		in udp6(src="2001:db8::10", dst="2001:db8::1", sport=1, dport=53) :: NEW
		src 192.0.2.10 :: 2
		live :: 4
		flush 192.0.2.10 :: 2
		src 192.0.2.10 :: 0
		src 192.0.2.11 :: 1
		live4 :: 1
		live6 :: 1
		flush 2001:db8::1 :: 1
		live6 :: 0
		flush :: 1
		live :: 0
		count :: 0
		evicted :: 0
		sweep
		evicted :: 0
	EOF
}

@test "sweep: a bounded slice per tick; a pass spans ticks; flows made meanwhile are not called evicted" {
	ct <<-'EOF'
		# The timer would tick on its own: only the ticks below run.
		noarm
		flood 3000 10
		live4 :: 3000
		# A tick deletes at most 1024 flows (and looks at 8192 ring
		# slots): 3000 expired flows take three ticks.
		clock 31
		tick :: 1024
		tick :: 1024
		# New flows while the pass is under way...
		flood 400 11
		tick :: 952
		tick :: 0
		# ...are neither swept nor counted as evicted, over whole passes
		# of the ring (20 ticks each).
		ticks 45 :: 0
		live4 :: 400
		count :: 400
		evicted :: 0
		# A pass over a quiet table finds flows lost behind its back
		# (what an LRU eviction does), exactly.
		forget udp 192.0.2.11 1 198.51.100.1 53
		forget udp 192.0.2.11 2 198.51.100.1 53
		ticks 45 :: 0
		evicted :: 2
		live4 :: 398
		count :: 398
		stat unswept :: 0
	EOF
}

@test "TCP: a forged segment in the window moves neither the sequence a RST must hit nor the right edge" {
	ct <<-EOF
		$HANDSHAKE
		# In the window the server opened (ack 1001 + window 8192): it
		# passes (the endpoint decides), and the client's end moves...
		in tcp4($C4, flags="PA", seq=1500, ack=5001, payload=b"x" * 100) :: ESTABLISHED
		# ...but a RST there is not exact: only what the server last
		# acknowledged (1001) counts, and no forged packet moves that.
		in tcp4($C4, flags="R", seq=1600) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED
		stat rst_ignored :: 1
		# Beyond the right edge the server's ACKs opened: INVALID.
		in tcp4($C4, flags="PA", seq=9300, ack=5001, payload=b"z") :: INVALID
		# The real client's data still fits.
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"y" * 10) :: ESTABLISHED
		eg tcp4($S4, flags="A", seq=5001, ack=1011) :: ESTABLISHED
		in tcp4($C4, flags="R", seq=1011) :: ESTABLISHED
		entry $FLOW4 :: state=CLOSE
	EOF
}

@test "TCP: a flow picked up mid-stream knows the peer's next sequence from the host's ACK" {
	ct <<-EOF
		eg tcp4($S4, flags="A", seq=5001, ack=1001) :: ESTABLISHED
		# A forged first segment of the peer far from 1001: INVALID,
		# and the peer's real segments are not shut out by it.
		in tcp4($C4, flags="PA", seq=3000000000, ack=5001, payload=b"x") :: INVALID
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"y") :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED pkts=1/1
	EOF
}

@test "TCP: Fast Open (SYN with data, SYN+ACK acking only the SYN) and a SYN repeated during the handshake" {
	ct <<-EOF
		in tcp4($C4, flags="S", seq=1000, payload=b"q" * 100) :: NEW
		eg tcp4($S4, flags="SA", seq=5000, ack=1001) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV
		# The SYN again (its SYN+ACK lost): passes, changes nothing.
		in tcp4($C4, flags="S", seq=1000, payload=b"q" * 100) :: ESTABLISHED
		entry $FLOW4 :: state=SYN_RECV
		in tcp4($C4, flags="PA", seq=1001, ack=5001, payload=b"q" * 100) :: ESTABLISHED
		entry $FLOW4 :: state=ESTABLISHED
		# A SYN+ACK acking beyond the SYN's data: INVALID.
		in tcp4(src="192.0.2.10", dst="198.51.100.1", sport=40001, dport=80, flags="S", seq=1000, payload=b"q" * 100) :: NEW
		eg tcp4(src="198.51.100.1", dst="192.0.2.10", sport=80, dport=40001, flags="SA", seq=5000, ack=1102) :: INVALID
		eg tcp4(src="198.51.100.1", dst="192.0.2.10", sport=80, dport=40001, flags="SA", seq=5000, ack=1101) :: ESTABLISHED
	EOF
}

@test "RELATED and path MTU discovery: errors quoting ESP are not INVALID; IPv6 Packet Too Big for a first fragment is RELATED" {
	ct <<-EOF
		# Fragmentation needed, quoting an ESP packet the host sent: no
		# flow to relate it to, left to the rules (NEW).
		in icmp4(src="192.0.2.10", dst="198.51.100.1", type=3, code=4, payload=qproto4("198.51.100.1", "192.0.2.10", 50)) :: NEW
		# A UDP flow of the host; Packet Too Big (MTU 1280) quoting its
		# first fragment (Fragment header after the IPv6 header).
		eg udp6(src="2001:db8::1", dst="2001:db8::10", sport=4000, dport=53) :: NEW
		in icmp6(src="2001:db8::10", dst="2001:db8::1", type=2, code=0, payload=b"\\x00\\x00\\x05\\x00" + qfrag6("2001:db8::1", "2001:db8::10", 0, 4000, 53)) :: RELATED
		# A later fragment quoted tells no ports: INVALID.
		in icmp6(src="2001:db8::10", dst="2001:db8::1", type=2, code=0, payload=b"\\x00\\x00\\x05\\x00" + qfrag6("2001:db8::1", "2001:db8::10", 100)) :: INVALID
	EOF
}

@test "settings belong to the ruleset generation: they change with the switch, not before" {
	ct <<-'EOF'
		# The spare generation (1) gets a limit of 1; generation 0 runs.
		limit 1 1
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=1, dport=53) :: NEW
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=2, dport=53) :: NEW
		live4 :: 2
		stat over_limit :: 0
		# The switch: now the limit holds.
		gen 1
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=3, dport=53) :: NEW
		live4 :: 2
		stat over_limit :: 1
		gen 0
		in udp4(src="192.0.2.10", dst="198.51.100.1", sport=3, dport=53) :: NEW
		live4 :: 3
	EOF
}
