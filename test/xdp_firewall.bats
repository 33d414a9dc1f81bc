#!/usr/bin/env bats
# xdp_firewall through BPF_PROG_TEST_RUN: crafted frames in, verdict, rule
# id (from the per-rule counters) and output bytes checked.

load lib/common

setup()
{
	bpffs_setup
	UNS=bgu-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	# Two interfaces for "on IFACE" rules (test runs take their ifindex).
	ip -n "$UNS" link add name fwa0 type veth peer name fwb0
	ip -n "$UNS" link set lo up
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

# Load the firewall (unattached) and ruleset $1 into the private bpffs.
fw_load()
{
	fw_load_in "$UNS" "$1"
}

# Cases on stdin, one per line: "VERDICT RULE :: PKT_EXPR" (RULE "none"
# when no rule counter may move: frames judged before classification).
# Every frame must come out unchanged. $1: ingress interface (optional).
check_cases()
{
	local ifarg=() exprs=() want=() got line i n bad=0
	if [[ -n ${1:-} ]]; then
		ifarg=(--ifindex "$(in_ns "$UNS" ip -j link show dev "$1" | jq '.[0].ifindex')")
	fi
	while IFS= read -r line; do
		[[ -z ${line// /} || $line == \#* ]] && continue
		want+=("${line%% :: *}")
		exprs+=("${line#* :: }")
	done
	mapfile -t got < <("$PY" "$PKT" "${exprs[@]}" |
		in_ns "$UNS" "$PY" "$BG_REPO/test/lib/fwcheck.py" \
			--bpffs "$FW_BPFFS" "${ifarg[@]}")
	n=${#exprs[@]}
	[ "${#got[@]}" -eq "$n" ] || fail "expected $n results, got ${#got[@]}"
	for ((i = 0; i < n; i++)); do
		local w=${want[i]}
		# Three words: the judgement is given (CT: passed by phase 0).
		[[ $w == *" "*" "* ]] || w="$w SAME"
		if [[ "${got[i]}" != "$w" ]]; then
			echo "case $((i + 1)): ${exprs[i]}: want '$w', got '${got[i]}'" >&2
			bad=1
		fi
	done
	return $bad
}

stat_sum()
{
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_stats" \
		key hex "$(printf '%02x' "$1")" 00 00 00 |
		jq '[.formatted.values[].value] | add'
}

@test "overlapping CIDRs: the earlier rule wins, broad before narrow" {
	fw_load "$(ruleset o1 <<-'EOF'
		block from 192.0.2.0/24
		pass from 192.0.2.128/25
		pass to 2001:db8:5::/48
		block to 2001:db8:5:1::/64
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 1 :: udp4(src="192.0.2.200")
		XDP_DROP 1 :: udp4(src="192.0.2.5")
		XDP_PASS 0 :: udp4(src="198.51.100.7")
		XDP_PASS 3 :: udp6(dst="2001:db8:5:1::9")
		XDP_PASS 3 :: udp6(dst="2001:db8:5:2::9")
		XDP_PASS 0 :: udp6(dst="2001:db8:6::9")
	EOF
}

@test "overlapping CIDRs: the earlier rule wins, narrow before broad" {
	fw_load "$(ruleset o2 <<-'EOF'
		pass from 192.0.2.128/25
		block from 192.0.2.0/24
		block to 2001:db8:5:1::/64
		pass to 2001:db8:5::/48
		set default block
	EOF
	)"
	check_cases <<-'EOF'
		XDP_PASS 1 :: udp4(src="192.0.2.200")
		XDP_DROP 2 :: udp4(src="192.0.2.5")
		XDP_DROP 0 :: udp4(src="198.51.100.7")
		XDP_DROP 3 :: udp6(dst="2001:db8:5:1::9")
		XDP_PASS 4 :: udp6(dst="2001:db8:5:2::9")
		XDP_DROP 0 :: udp6(dst="2001:db8:6::9")
	EOF
}

@test "source and destination together, any, and the default policy" {
	fw_load "$(ruleset sd <<-'EOF'
		set default block
		pass from 192.0.2.0/28 to 198.51.100.0/24
		pass from any to 203.0.113.5
		pass from 2001:db8:1::/64 to any
	EOF
	)"
	check_cases <<-'EOF'
		XDP_PASS 1 :: tcp4(src="192.0.2.3", dst="198.51.100.77")
		XDP_DROP 0 :: tcp4(src="192.0.2.30", dst="198.51.100.77")
		XDP_DROP 0 :: tcp4(src="192.0.2.3", dst="203.0.113.6")
		XDP_PASS 2 :: icmp4(src="198.51.100.1", dst="203.0.113.5")
		XDP_PASS 3 :: tcp6(src="2001:db8:1::42", dst="2001:db8:9::1")
		XDP_DROP 0 :: tcp6(src="2001:db8:2::42", dst="2001:db8:9::1")
	EOF
}

@test "negation of addresses and tables applies to the families it names" {
	fw_load "$(ruleset neg <<-'EOF'
		table <lan> { 192.0.2.0/24, 2001:db8:1::/48 }
		table <v4only> { 198.51.100.0/24 }
		block from !192.0.2.0/25 to 203.0.113.0/24
		block from !<lan> to 198.51.100.9
		pass from !<lan> to 2001:db8:2::1
		block from !<v4only>
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 4 :: udp4(src="192.0.2.5", dst="203.0.113.1")
		XDP_DROP 1 :: udp4(src="192.0.2.200", dst="203.0.113.1")
		XDP_DROP 1 :: udp4(src="198.51.100.1", dst="203.0.113.1")
		XDP_DROP 2 :: udp4(src="203.0.113.9", dst="198.51.100.9")
		XDP_DROP 2 :: udp4(src="198.51.100.3", dst="198.51.100.9")
		XDP_DROP 4 :: udp4(src="192.0.2.3", dst="198.51.100.9")
		XDP_PASS 3 :: udp6(src="2001:db8:9::1", dst="2001:db8:2::1")
		XDP_PASS 0 :: udp6(src="2001:db8:1::5", dst="2001:db8:2::1")
		XDP_DROP 4 :: udp4(src="192.0.2.7", dst="203.0.113.200")
		XDP_DROP 1 :: udp4(src="198.51.100.4", dst="203.0.113.200")
		XDP_PASS 0 :: udp4(src="198.51.100.4", dst="192.0.2.1")
	EOF
}

@test "mixed-family tables, inline lists and inet/inet6 restriction" {
	fw_load "$(ruleset mixed <<-'EOF'
		table <bad> { 192.0.2.64/26, 2001:db8:bad::/48, 203.0.113.7 }
		block inet6 from <bad>
		pass from { 192.0.2.64/27, 2001:db8:aaaa::1 }
		block from <bad>
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 1 :: udp6(src="2001:db8:bad::5")
		XDP_PASS 2 :: udp4(src="192.0.2.70")
		XDP_DROP 3 :: udp4(src="192.0.2.100")
		XDP_DROP 3 :: udp4(src="203.0.113.7")
		XDP_PASS 0 :: udp4(src="203.0.113.8")
		XDP_PASS 2 :: udp6(src="2001:db8:aaaa::1")
		XDP_PASS 0 :: udp6(src="2001:db8:aaaa::2")
	EOF
}

@test "table from a file" {
	printf '# blocklist\n192.0.2.16/28\n\n2001:db8:f::/48 # v6\n' >"$BG_TMP/block.txt"
	fw_load "$(ruleset tf <<-'EOF'
		table <blk> file "block.txt"
		block from <blk>
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 1 :: udp4(src="192.0.2.17")
		XDP_PASS 0 :: udp4(src="192.0.2.33")
		XDP_DROP 1 :: udp6(src="2001:db8:f:1::1")
	EOF
}

@test "VLAN and QinQ frames are classified on the inner IP header" {
	fw_load "$(ruleset vlan <<-'EOF'
		block from 192.0.2.66
		block from 2001:db8::66
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 1 :: udp4(src="192.0.2.66", vlans=[100])
		XDP_DROP 1 :: udp4(src="192.0.2.66", vlans=[(100, 0x88a8), 200])
		XDP_PASS 0 :: udp4(src="192.0.2.67", vlans=[(100, 0x88a8), 200])
		XDP_DROP 2 :: tcp6(src="2001:db8::66", vlans=[7])
		XDP_DROP 2 :: tcp6(src="2001:db8::66", vlans=[(7, 0x88a8), 8])
		XDP_PASS none :: arp(vlans=[100])
		XDP_DROP none :: udp4(src="192.0.2.67", vlans=[1, 2, 3])
	EOF
}

@test "defined verdicts: non-IP, and ND/MLD that stayed on the link, pass whatever the policy" {
	fw_load "$(ruleset nd <<-'EOF'
		set default block
		block from any to any
	EOF
	)"
	check_cases <<-'EOF'
		XDP_PASS none :: arp()
		XDP_PASS none :: arp(op=2)
		XDP_PASS none :: lldp()
		XDP_PASS none :: nd_rs()
		XDP_PASS none :: nd_ra()
		XDP_PASS none :: nd_ns()
		XDP_PASS none :: nd_na()
		XDP_PASS none :: nd_redirect()
		XDP_PASS none :: nd_ns(vlans=[5])
		XDP_DROP 1 :: nd_ns(hlim=64)
		XDP_DROP 1 :: nd_na(src="2001:db8::66", hlim=254)
		XDP_DROP 1 :: ipv6(src="fe80::1", dst="ff02::1", l4=ICMPv6ND_NS(code=1, tgt="fe80::2"), hlim=255)
		XDP_DROP 1 :: ipv6(src="fe80::1", dst="ff02::1:ff00:2", ext=["frag"], l4=ICMPv6ND_NS(tgt="fe80::2"), hlim=255)
		XDP_PASS none :: ipv6(src="fe80::1", dst="ff02::16", l4=ICMPv6MLReport2(), hlim=1)
		XDP_PASS none :: ipv6(src="::", dst="ff02::16", l4=ICMPv6MLReport2(), hlim=1)
		XDP_DROP 1 :: ipv6(src="2001:db8::5", dst="ff02::16", l4=ICMPv6MLReport2(), hlim=1)
		XDP_DROP 1 :: ipv6(src="fe80::1", dst="ff02::16", l4=ICMPv6MLReport2(), hlim=2)
		XDP_DROP 1 :: icmp6(type=128)
		XDP_DROP 1 :: ipv6(l4=ICMPv6PacketTooBig(mtu=1280) / IPv6(src="2001:db8::2") / UDP())
		XDP_DROP none :: icmp6(type=2)
		XDP_DROP 1 :: udp4()
	EOF
	[ "$(stat_sum 3)" -ge 3 ]
	[ "$(stat_sum 4)" -eq 8 ]
}

@test "defined verdicts: malformed frames are dropped and counted, never aborted" {
	fw_load "$(ruleset mal <<<'pass from any')"
	check_cases <<-'EOF'
		XDP_DROP none :: ether(b"", ethertype=0x8100)
		XDP_DROP none :: truncate(udp4(), 14 + 19)
		XDP_DROP none :: bad_ihl(udp4(), 4)
		XDP_DROP none :: bad_ip4_len(udp4(), extra=1)
		XDP_DROP none :: bad_ip4_len(udp4(), length=10)
		XDP_DROP none :: patch(udp4(), 14, 0x65)
		XDP_DROP none :: truncate(tcp4(), -1)
		XDP_DROP none :: bad_tcp_doff(tcp4(), 4)
		XDP_DROP none :: truncate(udp4(mf=True), 14 + 20 + 4)
		XDP_DROP none :: bad_ip4_len(truncate(tcp4(mf=True), 14 + 20 + 8), length=28)
		XDP_DROP none :: truncate(ipv6(), 14 + 39)
		XDP_DROP none :: bad_ip6_plen(udp6(), extra=1)
		XDP_DROP none :: patch(udp6(), 14, 0x45)
		XDP_DROP none :: truncate(tcp6(), -2)
		XDP_DROP none :: udp6(ext=["dstopts"] * 9)
		XDP_DROP none :: truncate(udp6(ext=["hbh"]), 14 + 40 + 4)
		XDP_DROP none :: truncate(icmp4(), -1)
		XDP_DROP none :: udp4(vlans=[1, 2, 3])
		XDP_PASS 1 :: udp6(ext=["dstopts"] * 8)
		XDP_PASS 1 :: udp6(ext=["hbh", "routing", "frag", "dstopts"])
		XDP_PASS 1 :: pad60(udp4())
	EOF
	[ "$(stat_sum 2)" -eq 18 ]
}

@test "non-first fragments are classified on their addresses alone" {
	fw_load "$(ruleset frag <<-'EOF'
		block from 192.0.2.77
		block from 2001:db8::77
	EOF
	)"
	check_cases <<-'EOF'
		XDP_DROP 1 :: udp4(src="192.0.2.77", frag=10)
		XDP_PASS 0 :: udp4(src="192.0.2.78", frag=10)
		XDP_DROP 1 :: udp4(src="192.0.2.77", mf=True)
		XDP_DROP 2 :: udp6(src="2001:db8::77", ext=[frag6(offset=5)])
		XDP_PASS 0 :: udp6(src="2001:db8::78", ext=[frag6(offset=5, m=True)])
		XDP_PASS 0 :: ipv6(src="2001:db8::78", ext=[frag6(offset=9)], l4=b"x" * 3, nh=17)
	EOF
	[ "$(stat_sum 5)" -eq 5 ]
}

@test "on IFACE matches the ingress interface" {
	fw_load "$(ruleset on <<-'EOF'
		block on fwa0 from 192.0.2.9
		pass on fwb0 from 2001:db8::9
		block from 2001:db8::/32
	EOF
	)"
	check_cases fwa0 <<-'EOF'
		XDP_DROP 1 :: udp4(src="192.0.2.9")
		XDP_DROP 3 :: udp6(src="2001:db8::9")
	EOF
	check_cases fwb0 <<-'EOF'
		XDP_PASS 0 :: udp4(src="192.0.2.9")
		XDP_PASS 2 :: udp6(src="2001:db8::9")
		XDP_DROP 3 :: udp6(src="2001:db8::10")
	EOF
}

@test "the log flag sends a record to the ring buffer with the rule id" {
	fw_load "$(ruleset log <<-'EOF'
		pass from 192.0.2.1
		block log from 192.0.2.50 label "watched"
	EOF
	)"
	in_ns "$UNS" "$BG_BUILD/bg-events" --bpffs "$FW_BPFFS" --count 1 \
		--timeout 10 >"$BG_TMP/events" 3>&- &
	reader=$!
	sleep 0.5
	check_cases <<-'EOF'
		XDP_PASS 1 :: udp4(src="192.0.2.1")
		XDP_DROP 2 :: tcp4(src="192.0.2.50", dst="198.51.100.3", dport=443)
	EOF
	wait "$reader"
	jq -e '.rule == 2 and .action == "block" and .src == "192.0.2.50" and
		.dst == "198.51.100.3" and .dport == 443 and .proto == 6' \
		"$BG_TMP/events" || fail "$(cat "$BG_TMP/events")"
}

@test "protocol and ports: single ports, ranges, lists; no port for ICMP or later fragments" {
	fw_load "$(ruleset ports <<-'EOF'
		set default block
		pass proto tcp to port 22
		pass proto udp from 192.0.2.0/24 port 1024:65535 to port { 53, 123 }
		pass proto tcp from any to 2001:db8::/32 port { 80, 443, 8000-8080 }
		pass proto icmp
		pass proto icmp6 to 2001:db8::2
		block proto 47
		pass from 192.0.2.99
	EOF
	)"
	check_cases <<-'EOF'
		XDP_PASS 1 :: tcp4(dport=22)
		XDP_PASS 1 :: tcp6(dport=22)
		XDP_DROP 0 :: tcp4(dport=23)
		XDP_DROP 0 :: udp4(dport=22)
		XDP_PASS 2 :: udp4(src="192.0.2.5", sport=40000, dport=53)
		XDP_PASS 2 :: udp4(src="192.0.2.5", sport=1024, dport=123)
		XDP_DROP 0 :: udp4(src="192.0.2.5", sport=1023, dport=53)
		XDP_DROP 0 :: udp4(src="198.51.100.5", sport=40000, dport=53)
		XDP_PASS 3 :: tcp6(dport=443)
		XDP_PASS 3 :: tcp6(dport=8000)
		XDP_PASS 3 :: tcp6(dport=8080)
		XDP_DROP 0 :: tcp6(dport=8081)
		XDP_PASS 4 :: icmp4()
		XDP_PASS 5 :: icmp6(dst="2001:db8::2")
		XDP_DROP 0 :: icmp6(dst="2001:db8::3")
		XDP_DROP 6 :: ipv4(proto=47, l4=b"\0" * 8, src="192.0.2.99")
		XDP_PASS 7 :: udp4(src="192.0.2.99", dport=9)
		XDP_DROP 0 :: udp4(src="192.0.2.5", sport=40000, dport=53, frag=10)
		XDP_PASS 7 :: udp4(src="192.0.2.99", frag=10)
		XDP_DROP 0 :: tcp4(dport=22, frag=3)
		XDP_PASS 1 :: tcp4(dport=22, mf=True)
		XDP_DROP 0 :: udp6(ext=[frag6(offset=5)], dport=53)
	EOF
}

@test "header fields: VLAN id, TCP flags, ICMP type and code, MAC addresses, DSCP (IPv4 and IPv6)" {
	fw_load "$(ruleset fields <<-'EOF'
		set default block
		pass vlan 10 proto udp
		pass proto tcp flags S/SA
		pass proto tcp flags /SFRA label "no SYN, FIN, RST or ACK"
		pass proto icmp icmp-type 3 code 4
		pass proto icmp icmp-type 11
		pass proto icmp6 icmp-type 2
		pass proto udp mac-src 02:00:00:00:00:0a
		pass proto udp mac-dst 02:00:00:00:00:0b
		pass proto udp dscp ef
		pass inet6 proto udp dscp af41
		pass proto udp dscp cs1
	EOF
	)"
	check_cases <<-'EOF'
		# vlan: the innermost tag; untagged and other ids are not it
		XDP_PASS 1 :: udp4(vlans=[10])
		XDP_PASS 1 :: udp6(vlans=[(99, 0x88a8), 10])
		XDP_DROP 0 :: udp4(vlans=[(10, 0x88a8), 11])
		# a priority tag (VID 0) inside VLAN 10 is VLAN 10, as the stack
		# delivers it; one alone is no VLAN
		XDP_PASS 1 :: udp4(vlans=[10, 0])
		XDP_PASS 1 :: udp6(vlans=[(10, 0x88a8), 0])
		XDP_DROP 0 :: udp4(vlans=[0])
		XDP_DROP 0 :: udp4()
		XDP_DROP 0 :: tcp4(vlans=[10], flags="A")
		# flags: of the flags after the slash, exactly those before it
		XDP_PASS 2 :: tcp4(flags="S")
		XDP_PASS 2 :: tcp6(flags="SEC")
		XDP_PASS 2 :: tcp4(flags="SP")
		XDP_DROP 0 :: tcp4(flags="SA")
		XDP_DROP 0 :: tcp6(flags="A")
		XDP_PASS 3 :: tcp4(flags="")
		XDP_PASS 3 :: tcp6(flags="PU")
		XDP_DROP 0 :: tcp4(flags="F")
		# a later fragment has no TCP header: no flags rule matches it
		XDP_DROP 0 :: tcp4(flags="S", frag=10)
		# icmp-type and code; a type without code takes every code
		XDP_PASS 4 :: icmp4(type=3, code=4)
		XDP_DROP 0 :: icmp4(type=3, code=3)
		XDP_PASS 5 :: icmp4(type=11, code=1)
		XDP_DROP 0 :: icmp4(type=8)
		XDP_PASS 6 :: icmp6(type=2, payload=bytes(4))
		XDP_DROP 0 :: icmp6(type=3, payload=bytes(4))
		# MAC addresses
		XDP_PASS 7 :: udp4(eth_src="02:00:00:00:00:0a")
		XDP_PASS 8 :: udp6(eth_dst="02:00:00:00:00:0b")
		XDP_DROP 0 :: udp4(eth_src="02:00:00:00:00:0b")
		# DSCP from the IPv4 TOS and the IPv6 traffic class, ECN ignored
		XDP_PASS 9 :: udp4(tos=46 << 2)
		XDP_PASS 9 :: udp6(tc=46 << 2 | 3)
		XDP_PASS 10 :: udp6(tc=34 << 2)
		XDP_DROP 0 :: udp4(tos=34 << 2)
		XDP_PASS 11 :: udp4(tos=8 << 2 | 1)
		XDP_DROP 0 :: udp4(tos=1)
	EOF
}

@test "every field in one rule: a packet differing in any one of them does not match" {
	fw_load "$(ruleset allfields <<-'EOF'
		set default block
		pass on fwa0 inet vlan 7 proto tcp from 192.0.2.0/24 port 1024:65535 to 198.51.100.1 port 443 flags S/SA mac-src 02:00:00:00:00:01 mac-dst 02:00:00:00:00:02 dscp af21 state new label "all"
		pass on fwa0 inet6 vlan 7 proto icmp6 from 2001:db8::/64 to 2001:db8::2 icmp-type 128 code 0 mac-src 02:00:00:00:00:01 mac-dst 02:00:00:00:00:02 dscp cs3
	EOF
	)"
	check_cases fwa0 <<-'EOF'
		XDP_PASS 1 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2)
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[8], tos=18 << 2)
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=20 << 2)
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2, flags="SA")
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2, eth_src="02:00:00:00:00:03")
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2, eth_dst="02:00:00:00:00:03")
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=80, dport=443, vlans=[7], tos=18 << 2)
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=444, vlans=[7], tos=18 << 2)
		XDP_DROP 0 :: tcp4(src="198.51.100.9", sport=5000, dport=443, vlans=[7], tos=18 << 2)
		XDP_DROP 0 :: udp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2)
		XDP_PASS 2 :: icmp6(src="2001:db8::9", vlans=[7], tc=24 << 2)
		XDP_DROP 0 :: icmp6(src="2001:db8::9", vlans=[7], tc=24 << 2, type=129)
		XDP_DROP 0 :: icmp6(src="2001:db8::9", vlans=[7], tc=24 << 2, code=1)
		XDP_DROP 0 :: icmp6(src="2001:db8::9", vlans=[7], tc=25 << 2)
		XDP_DROP 0 :: icmp6(src="2001:db8::9", tc=24 << 2)
	EOF
	# the same packets on another interface match nothing
	check_cases fwb0 <<-'EOF'
		XDP_DROP 0 :: tcp4(src="192.0.2.9", sport=5000, dport=443, vlans=[7], tos=18 << 2)
		XDP_DROP 0 :: icmp6(src="2001:db8::9", vlans=[7], tc=24 << 2)
	EOF
}

# Conntrack next to the firewall: tc_conntrack's programs in the same
# bpffs, driven by a ctcheck script (stdin) whose "xdp" lines run the
# firewall. Flows are made by the real TC programs, as on a live host.
ct_load()
{
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" \
		"$BG_BUILD/tc_conntrack.o" "$FW_BPFFS/ctprogs" >/dev/null
}

ct()
{
	in_ns "$UNS" "$PY" "$BG_REPO/test/lib/ctcheck.py" \
		--bpffs "$FW_BPFFS" --progs "$FW_BPFFS/ctprogs"
}

ifindex_of()
{
	in_ns "$UNS" ip -j link show dev "$1" | jq '.[0].ifindex'
}

# Client 192.0.2.5:5000 outside (on fwa0), server 198.51.100.1:22 here.
P0_C='src="192.0.2.5", dst="198.51.100.1", sport=5000, dport=22'
P0_S='src="198.51.100.1", dst="192.0.2.5", sport=22, dport=5000'

P0_RULES='set default block
block state invalid label "invalid"
pass proto tcp to port 22 state new
pass proto udp to port 53'

@test "phase 0: established and replies pass before the rules; a SYN on a tracked tuple is judged again" {
	fw_load "$(ruleset ph0 <<<"$P0_RULES")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		in tcp4($P0_C, flags="S", seq=1000) @if=$a :: NEW
		xdp tcp4($P0_C, flags="S", seq=1000) @if=$a :: XDP_PASS 2
		eg tcp4($P0_S, flags="SA", seq=5000, ack=1001) @if=$a :: ESTABLISHED
		xdp tcp4($P0_C, flags="A", seq=1001, ack=5001) @if=$a :: XDP_PASS CT
		in tcp4($P0_C, flags="A", seq=1001, ack=5001) @if=$a :: ESTABLISHED
		# A SYN inside a live flow: INVALID, dropped by rule 1.
		xdp tcp4($P0_C, flags="S", seq=77) @if=$a :: XDP_DROP 1
		# Data in the window passes; outside it (or acking unsent data)
		# it is INVALID here as in TC, whatever phase 0 used to think.
		xdp tcp4($P0_C, flags="PA", seq=1001, ack=5001, payload=b"x" * 10) @if=$a :: XDP_PASS CT
		xdp tcp4($P0_C, flags="PA", seq=900001001, ack=5001, payload=b"x") @if=$a :: XDP_DROP 1
		xdp tcp4($P0_C, flags="A", seq=1001, ack=905001) @if=$a :: XDP_DROP 1
		# A stray segment of no flow is INVALID (no ACK scan through
		# "state new"); a SYN for port 22 is new.
		xdp tcp4(src="192.0.2.9", dst="198.51.100.1", sport=5000, dport=22, flags="A") @if=$a :: XDP_DROP 1
		xdp tcp4(src="192.0.2.9", dst="198.51.100.1", sport=5000, dport=22, flags="S") @if=$a :: XDP_PASS 2
	EOF
}

@test "phase 0: a spoofed first packet opens no flow, and a forged flow no way back" {
	fw_load "$(ruleset ph0s <<<"$P0_RULES")"
	ct_load
	local a b
	a=$(ifindex_of fwa0)
	b=$(ifindex_of fwb0)
	ct <<-EOF
		# H = 198.51.100.1, one of this host's addresses (up.sh puts
		# them in bg_ct_local). A forged H:161 -> A:53 arrives on fwa0
		# and passes the "udp to port 53" rule, but opens no flow...
		local 198.51.100.1
		xdp udp4(src="198.51.100.1", dst="192.0.2.66", sport=161, dport=53) @if=$a :: XDP_PASS 3
		in udp4(src="198.51.100.1", dst="192.0.2.66", sport=161, dport=53) @if=$a :: INVALID
		stat spoofed :: 1
		entry udp 198.51.100.1 161 192.0.2.66 53 :: absent
		count :: 0
		# ...so A's "reply" meets the rules: no rule passes it.
		xdp udp4(src="192.0.2.66", dst="198.51.100.1", sport=53, dport=161) @if=$a :: XDP_DROP 0
		# The same with TCP: a forged SYN, then the SYN+ACK.
		in tcp4(src="198.51.100.1", dst="192.0.2.66", sport=5432, dport=443, flags="S", seq=10) @if=$a :: INVALID
		xdp tcp4(src="192.0.2.66", dst="198.51.100.1", sport=443, dport=5432, flags="SA", seq=99, ack=11) @if=$a :: XDP_DROP 1
		stat spoofed :: 2
		count :: 0
		# An address the host sends from is learnt as its own.
		eg udp4(src="198.51.100.2", dst="192.0.2.7", sport=4001, dport=53) @if=$a :: NEW
		in udp4(src="198.51.100.2", dst="192.0.2.9", sport=161, dport=53) @if=$a :: INVALID
		stat spoofed :: 3
		entry udp 198.51.100.2 161 192.0.2.9 53 :: absent
		# A forwarded packet teaches nothing: its source is not ours.
		eg udp4(src="192.0.2.50", dst="203.0.113.9", sport=999, dport=53) @iif=$b @if=$a :: NEW
		in udp4(src="192.0.2.50", dst="203.0.113.10", sport=999, dport=53) @if=$a :: NEW
		# Another host's address (an inside host's, where the reverse
		# path filter is loose) does open a flow, but A's "reply" from
		# the side it came from is INVALID, dropped by rule 1.
		in udp4(src="203.0.113.5", dst="192.0.2.66", sport=161, dport=53) @if=$a :: NEW
		xdp udp4(src="192.0.2.66", dst="203.0.113.5", sport=53, dport=161) @if=$a :: XDP_DROP 1
		in udp4(src="192.0.2.66", dst="203.0.113.5", sport=53, dport=161) @if=$a :: INVALID
		stat wrong_iface :: 1
		entry udp 203.0.113.5 161 192.0.2.66 53 :: state=NEW pkts=1/0 ifs=$a/0
		in tcp4(src="203.0.113.5", dst="192.0.2.66", sport=5432, dport=443, flags="S", seq=10) @if=$a :: NEW
		xdp tcp4(src="192.0.2.66", dst="203.0.113.5", sport=443, dport=5432, flags="SA", seq=99, ack=11) @if=$a :: XDP_DROP 1
		# A flow this host opens (egress on fwa0) takes replies on fwa0
		# only, and nothing from outside that claims to be its initiator.
		eg udp4(src="198.51.100.1", dst="192.0.2.7", sport=4000, dport=53) @if=$a :: NEW
		entry udp 198.51.100.1 4000 192.0.2.7 53 :: flags=ORIGIN_SIDE1,COUNTED,EGRESS ifs=$a/$a
		xdp udp4(src="192.0.2.7", dst="198.51.100.1", sport=53, dport=4000) @if=$b :: XDP_DROP 1
		xdp udp4(src="198.51.100.1", dst="192.0.2.7", sport=4000, dport=53) @if=$a :: XDP_DROP 1
		xdp udp4(src="192.0.2.7", dst="198.51.100.1", sport=53, dport=4000) @if=$a :: XDP_PASS CT
		# A forwarded flow (in on fwa0, out on fwb0): replies on fwb0
		# only; the hairpin out of fwa0 teaches nothing.
		ifidx $a
		in udp4(src="192.0.2.8", dst="203.0.113.9", sport=999, dport=53) @if=$a :: NEW
		eg udp4(src="192.0.2.8", dst="203.0.113.9", sport=999, dport=53) @iif=$a @if=$a :: NONE
		entry udp 192.0.2.8 999 203.0.113.9 53 :: ifs=$a/0
		eg udp4(src="192.0.2.8", dst="203.0.113.9", sport=999, dport=53) @iif=$a @if=$b :: NONE
		entry udp 192.0.2.8 999 203.0.113.9 53 :: ifs=$a/$b
		xdp udp4(src="203.0.113.9", dst="192.0.2.8", sport=53, dport=999) @if=$a :: XDP_DROP 1
		xdp udp4(src="203.0.113.9", dst="192.0.2.8", sport=53, dport=999) @if=$b :: XDP_PASS CT
	EOF
}

@test "phase 0: expired counts as absent; a reopened tuple is judged by the rules" {
	fw_load "$(ruleset ph0e <<<"$P0_RULES")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		in tcp4($P0_C, flags="S", seq=1000) @if=$a :: NEW
		eg tcp4($P0_S, flags="SA", seq=5000, ack=1001) @if=$a :: ESTABLISHED
		in tcp4($P0_C, flags="A", seq=1001, ack=5001) @if=$a :: ESTABLISHED
		xdp tcp4($P0_C, flags="A", seq=1001, ack=5001) @if=$a :: XDP_PASS CT
		# Expired but not swept: a segment is INVALID (as for no entry),
		# a SYN is NEW for the rules.
		clock 432001
		xdp tcp4($P0_C, flags="A", seq=1001, ack=5001) @if=$a :: XDP_DROP 1
		xdp tcp4($P0_C, flags="S", seq=7000) @if=$a :: XDP_PASS 2
		in tcp4($P0_C, flags="S", seq=7000) @if=$a :: NEW
		entry tcp 192.0.2.5 5000 198.51.100.1 22 :: state=SYN_SENT pkts=1/0
		# TIME_WAIT: the last ACK passes, a new SYN is judged again.
		eg tcp4($P0_S, flags="SA", seq=9000, ack=7001) @if=$a :: ESTABLISHED
		in tcp4($P0_C, flags="A", seq=7001, ack=9001) @if=$a :: ESTABLISHED
		in tcp4($P0_C, flags="FA", seq=7001, ack=9001) @if=$a :: ESTABLISHED
		eg tcp4($P0_S, flags="FA", seq=9001, ack=7002) @if=$a :: ESTABLISHED
		in tcp4($P0_C, flags="A", seq=7002, ack=9002) @if=$a :: ESTABLISHED
		entry tcp 192.0.2.5 5000 198.51.100.1 22 :: state=TIME_WAIT
		xdp tcp4($P0_C, flags="A", seq=7002, ack=9002) @if=$a :: XDP_PASS CT
		xdp tcp4($P0_C, flags="S", seq=12000) @if=$a :: XDP_PASS 2
	EOF
}

@test "phase 0: a flow is bound to its VLAN" {
	fw_load "$(ruleset ph0v <<<"$P0_RULES")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		eg udp4(src="198.51.100.1", dst="192.0.2.7", sport=4000, dport=53) @if=$a :: NEW
		xdp udp4(src="192.0.2.7", dst="198.51.100.1", sport=53, dport=4000) @if=$a :: XDP_PASS CT
		xdp udp4(src="192.0.2.7", dst="198.51.100.1", sport=53, dport=4000, vlans=[200]) @if=$a :: XDP_DROP 0
		xdp udp4(src="192.0.2.7", dst="198.51.100.1", sport=53, dport=4000, vlans=[100, 200]) @if=$a :: XDP_DROP 0
	EOF
}

@test "phase 0: ICMP errors are RELATED only when they quote a flow from the right side, and INVALID otherwise" {
	fw_load "$(ruleset ph0i <<<"$P0_RULES")"
	ct_load
	local a b
	a=$(ifindex_of fwa0)
	b=$(ifindex_of fwb0)
	ct <<-EOF
		eg udp4(src="198.51.100.1", dst="192.0.2.7", sport=4000, dport=53) @if=$a :: NEW
		xdp icmp4(src="192.0.2.7", dst="198.51.100.1", type=3, code=3, payload=q4("198.51.100.1", "192.0.2.7", 17, 4000, 53)) @if=$a :: XDP_PASS CT
		in icmp4(src="192.0.2.7", dst="198.51.100.1", type=3, code=3, payload=q4("198.51.100.1", "192.0.2.7", 17, 4000, 53)) @if=$a :: RELATED
		# From the wrong interface, or quoting a packet the error's
		# destination did not send: INVALID in XDP and in TC alike.
		xdp icmp4(src="192.0.2.7", dst="198.51.100.1", type=3, code=3, payload=q4("198.51.100.1", "192.0.2.7", 17, 4000, 53)) @if=$b :: XDP_DROP 1
		xdp icmp4(src="192.0.2.7", dst="198.51.100.1", type=3, code=3, payload=q4("198.51.100.9", "192.0.2.7", 17, 4000, 53)) @if=$a :: XDP_DROP 1
		in icmp4(src="192.0.2.7", dst="198.51.100.1", type=3, code=3, payload=q4("198.51.100.9", "192.0.2.7", 17, 4000, 53)) @if=$a :: INVALID
	EOF
}

@test "ND to a global address passes as link control only when this host will not forward it" {
	ip -n "$UNS" link set fwb0 up
	ip -n "$UNS" link set fwa0 up
	ip -n "$UNS" addr add 2001:db8:5::1/64 dev fwa0 nodad
	ip -n "$UNS" -6 route add 2001:db8:9::/64 dev fwa0
	in_ns "$UNS" sysctl -qw net.ipv6.conf.all.forwarding=1
	fw_load "$(ruleset ndg <<-'EOF'
		set default block
		block from any to any
	EOF
	)"
	check_cases fwa0 <<-'EOF'
		XDP_PASS none :: nd_ns()
		XDP_PASS none :: nd_na(dst="2001:db8:5::1")
		XDP_DROP 1 :: nd_na(dst="2001:db8:9::9")
		XDP_DROP 1 :: nd_ns(dst="2001:db8:9::9")
	EOF
	# A host that forwards nothing cannot pass it on: link control.
	in_ns "$UNS" sysctl -qw net.ipv6.conf.all.forwarding=0 \
		net.ipv6.conf.fwa0.forwarding=0
	check_cases fwa0 <<-'EOF'
		XDP_PASS none :: nd_na(dst="2001:db8:9::9")
	EOF
}

@test "a later IPv6 fragment: the protocol its Fragment header names, unknown when that is another extension header" {
	fw_load "$(ruleset frag6p <<-'EOF'
		set default block
		pass proto udp
		pass proto 60 label "never matches a later fragment"
	EOF
	)"
	check_cases <<-'EOF'
		XDP_PASS 1 :: ipv6(ext=[frag6(offset=100)], l4=b"x" * 16, nh=17)
		XDP_DROP 0 :: ipv6(ext=[frag6(offset=100)], l4=b"x" * 16, nh=60)
		XDP_PASS 1 :: ipv6(ext=[frag6(offset=0, m=True), dstopts()], l4=UDP())
	EOF
}

# Fragments (README, "Fragments"): host H = 198.51.100.1 asks server
# S = 192.0.2.53 (on fwa0); the answer comes back in fragments.
FR_Q='src="198.51.100.1", dst="192.0.2.53", sport=40000, dport=53'
FR_A='src="192.0.2.53", dst="198.51.100.1", sport=53, dport=40000'
# The answer's first fragment (1480 bytes of UDP: header and 1472 of
# data), and a later fragment of it at byte OFF*8.
FR_FIRST='udp4('"$FR_A"', payload=b"a" * 1472, mf=True, ident=77)'
fr_later()
{
	echo "ipv4(l4=b\"b\" * ${3:-800}, proto=17, src=\"192.0.2.53\", dst=\"198.51.100.1\", ident=$1, frag=$2)"
}

FR_RULES='set default block
block state invalid
block proto udp to port 9 label "port 9"
pass proto udp to port 5353 label "mdns"
pass from 192.0.2.66 label "addresses alone"'

@test "fragments follow their first fragment: a reply's later fragments pass with its flow and are counted on it" {
	fw_load "$(ruleset fr1 <<<"$FR_RULES")"
	ct_load
	in_ns "$UNS" "$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" \
		"$BG_BUILD/test/tc_frag_ports_test.o" "$FW_BPFFS/fragports" >/dev/null
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		# The answer: the first fragment passes as part of the flow ...
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		in $FR_FIRST @if=$a :: ESTABLISHED
		# ... and so do its later fragments, which have no ports.
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS CT
		in $(fr_later 77 185) @if=$a :: NONE
		xdp $(fr_later 77 285 40) @if=$a :: XDP_PASS CT
		in $(fr_later 77 285 40) @if=$a :: NONE
		stat frag_counted :: 2
		entry udp 198.51.100.1 40000 192.0.2.53 53 :: pkts=1/3
		fwstat frag_tracked :: 2
		frags 4flow :: 1
		frags 4rule :: 0
		# Another datagram's later fragment (no first fragment seen) is
		# judged on its addresses, as before: the default blocks it.
		xdp $(fr_later 78 185) @if=$a :: XDP_DROP 0
		in $(fr_later 78 185) @if=$a :: NONE
		fwstat frag_unseen :: 1
		stat frag_counted :: 2
		stat untracked :: 1
		# A large query of the host's own leaves in fragments: counted
		# whole on its flow through what its first fragment left (ports,
		# no verdict) ...
		eg udp4($FR_Q, payload=b"q" * 1472, mf=True, ident=99) @if=$a :: ESTABLISHED
		eg ipv4(l4=b"q" * 100, proto=17, src="198.51.100.1", dst="192.0.2.53", ident=99, frag=185) @if=$a :: NONE
		stat frag_counted :: 3
		entry udp 198.51.100.1 40000 192.0.2.53 53 :: pkts=3/3
		frags 4rule :: 1
		# ... which is no verdict: a later fragment forged with this
		# host's address as its source is judged on its addresses.
		xdp ipv4(l4=b"q" * 100, proto=17, src="198.51.100.1", dst="192.0.2.53", ident=99, frag=185) @if=$a :: XDP_DROP 0
		fwstat frag_unseen :: 2
		# What a later stage sees through bg_frag_ports(): the answer's
		# ports (53 << 16 | 40000) for its first and later fragments,
		# none for a datagram whose first fragment was not seen.
		prog ports $FW_BPFFS/fragports/bg_test_frag_ports
		run ports $FR_FIRST :: 3513408
		run ports $(fr_later 77 185) :: 3513408
		run ports $(fr_later 78 185) :: TC_ACT_UNSPEC
	EOF
}

@test "fragments: a blocked datagram's later fragments are dropped by its rule; passed ones count on theirs; reordered ones" {
	fw_load "$(ruleset fr2 <<<"$FR_RULES")"
	ct_load
	local a b1 b2
	a=$(ifindex_of fwa0)
	b1='udp4(src="192.0.2.66", dst="198.51.100.1", sport=1000, dport=9, payload=b"a" * 1472, mf=True, ident=5)'
	b2='udp4(src="192.0.2.66", dst="198.51.100.1", sport=1000, dport=5353, payload=b"a" * 1472, mf=True, ident=6)'
	l1='ipv4(l4=b"b" * 800, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=5, frag=185)'
	l2='ipv4(l4=b"b" * 800, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=6, frag=185)'
	ct <<-EOF
		# To port 9: rule 2 blocks the first fragment, and the later
		# ones too, which rule 4 (addresses alone) would pass.
		xdp $b1 @if=$a :: XDP_DROP 2
		xdp $l1 @if=$a :: XDP_DROP 2
		xdp $l1 @if=$a :: XDP_DROP 2
		# To port 5353: rule 3, the first fragment and the later one.
		xdp $b2 @if=$a :: XDP_PASS 3
		xdp $l2 @if=$a :: XDP_PASS 3
		fwstat frag_tracked :: 3
		frags 4rule :: 2
		frags 4flow :: 0
		# Reordered: a later fragment before its first is judged on its
		# addresses (rule 4); the first fragment, then the next later
		# one, by the rules as a datagram (rule 2).
		xdp ipv4(l4=b"c" * 800, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=7, frag=285) @if=$a :: XDP_PASS 4
		xdp udp4(src="192.0.2.66", dst="198.51.100.1", sport=1000, dport=9, payload=b"a" * 1472, mf=True, ident=7) @if=$a :: XDP_DROP 2
		xdp ipv4(l4=b"c" * 800, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=7, frag=185) @if=$a :: XDP_DROP 2
		fwstat frag_unseen :: 1
		# The identification used again by a new datagram (its first
		# fragment): the later fragments follow the new one.
		xdp udp4(src="192.0.2.66", dst="198.51.100.1", sport=1000, dport=5353, payload=b"a" * 1472, mf=True, ident=5) @if=$a :: XDP_PASS 3
		xdp $l1 @if=$a :: XDP_PASS 3
		# Entries last as long as the kernel would wait for the rest of
		# a datagram (30 s for IPv4): then the addresses decide again.
		clock 31
		xdp $l2 @if=$a :: XDP_PASS 4
		fwstat frag_unseen :: 2
	EOF
}

@test "fragments that no reassembly takes: overlapping the first fragment, past 65,535 bytes, inside the TCP header" {
	fw_load "$(ruleset fr3 <<<"$FR_RULES")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		# The first fragment held bytes 0-1479: data at 1472 (offset
		# 184) overlaps it; at 1480 (185) it does not.
		xdp $(fr_later 77 184) @if=$a :: XDP_DROP none
		fwstat frag_overlap :: 1
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS CT
		# Data ending past 65,535 bytes (the ping of death): malformed,
		# before any table, also for a datagram of a tracked flow.
		xdp $(fr_later 77 8180 120) @if=$a :: XDP_DROP none
		xdp ipv4(l4=b"d" * 100, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=9, frag=8180) @if=$a :: XDP_DROP none
		xdp $(fr_later 77 8180 40) @if=$a :: XDP_PASS CT
		fwstat malformed :: 2
		# A later TCP fragment at byte 8 or 16 lands in the TCP header
		# (flags at byte 13): malformed (RFC 1858); at 24, data.
		xdp ipv4(l4=b"e" * 16, proto=6, src="192.0.2.66", dst="198.51.100.1", ident=10, frag=1) @if=$a :: XDP_DROP none
		xdp ipv4(l4=b"e" * 16, proto=6, src="192.0.2.66", dst="198.51.100.1", ident=10, frag=2) @if=$a :: XDP_DROP none
		fwstat malformed :: 4
		xdp ipv4(l4=b"e" * 16, proto=6, src="192.0.2.66", dst="198.51.100.1", ident=10, frag=3) @if=$a :: XDP_PASS 4
		# A tiny first fragment (a TCP header cut short) is malformed;
		# its later fragments have no first fragment to follow.
		xdp ipv4(l4=b"f" * 8, proto=6, src="192.0.2.66", dst="198.51.100.1", ident=11, mf=True) @if=$a :: XDP_DROP none
		fwstat malformed :: 5
		frags 4rule :: 0
	EOF
}

@test "fragments, IPv6: Fragment header after other extension headers; a later fragment's unknown protocol gets its first fragment's verdict" {
	fw_load "$(ruleset fr6 <<<"$FR_RULES
pass inet6 proto udp to 2001:db8::1 port 53 label \"v6 dns\"")"
	ct_load
	local a f1 l1 f2 l2
	a=$(ifindex_of fwa0)
	f1='udp6(src="2001:db8::66", dst="2001:db8::1", sport=1000, dport=53, payload=b"a" * 1000, ext=["hbh", frag6(offset=0, m=True, ident=70000)])'
	l1='ipv6(src="2001:db8::66", dst="2001:db8::1", ext=["hbh", frag6(offset=126, ident=70000)], l4=b"b" * 800, nh=17)'
	# dstopts after the Fragment header: the later fragment cannot show
	# the protocol (255, unknown), the first fragment's verdict stands.
	f2='udp6(src="2001:db8::66", dst="2001:db8::1", sport=1000, dport=53, payload=b"a" * 1000, ext=[frag6(offset=0, m=True, ident=70001), "dstopts"])'
	l2='ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=127, ident=70001)], l4=b"b" * 800, nh=60)'
	ct <<-EOF
		xdp $l2 @if=$a :: XDP_DROP 0
		xdp $f1 @if=$a :: XDP_PASS 5
		xdp $l1 @if=$a :: XDP_PASS 5
		xdp $f2 @if=$a :: XDP_PASS 5
		xdp $l2 @if=$a :: XDP_PASS 5
		fwstat frag_tracked :: 2
		frags 6rule :: 2
		# Overlapping the first fragment (1008 bytes of UDP, +8 of
		# dstopts for the second): dropped.
		xdp ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=125, ident=70001)], l4=b"b" * 800, nh=60) @if=$a :: XDP_DROP none
		fwstat frag_overlap :: 1
		# Past 65,535 bytes of payload.
		xdp ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=8180, ident=70000)], l4=b"b" * 100, nh=17) @if=$a :: XDP_DROP none
		fwstat malformed :: 1
		# 60 s for IPv6.
		clock 59
		xdp $l1 @if=$a :: XDP_PASS 5
		clock 2
		xdp $l1 @if=$a :: XDP_DROP 0
	EOF
}

@test "fragments: a rule's verdict holds for its ruleset only; a flow's across a switch" {
	fw_load "$(ruleset fr5 <<<"$FR_RULES")"
	ct_load
	local a l2
	a=$(ifindex_of fwa0)
	l2='ipv4(l4=b"b" * 800, proto=17, src="192.0.2.66", dst="198.51.100.1", ident=6, frag=185)'
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		xdp udp4(src="192.0.2.66", dst="198.51.100.1", sport=1000, dport=5353, payload=b"a" * 1472, mf=True, ident=6) @if=$a :: XDP_PASS 3
		xdp $l2 @if=$a :: XDP_PASS 3
	EOF
	# The same ruleset again is a switch: the rules judge anew.
	fw_load "$(ruleset fr5b <<<"$FR_RULES")"
	ct <<-EOF
		xdp $l2 @if=$a :: XDP_PASS 4
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS CT
		fwstat frag_unseen :: 1
	EOF
}

@test "fragments: floods of first fragments cannot evict a tracked flow's entries: unsolicited ones never enter, a flow's peer only up to its quota" {
	fw_load "$(ruleset fr6 <<<"$FR_RULES")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		# 20,000 first fragments to port 5353 (passed by rule 3), each
		# its own identification: more than the rules' table holds.
		fragflood 20000 192.0.2.66 5353 @if=$a :: 20000
		frags 4flow :: 1
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS CT
		# A peer of a flow of its own (the host asked 192.0.2.77 too)
		# sends 20,000 first fragments of that flow: phase 0 passes them
		# all, 1,024 go to the flows' table, the rest to the rules'.
		eg udp4(src="198.51.100.1", dst="192.0.2.77", sport=40000, dport=53) @if=$a :: NEW
		fragflood 20000 192.0.2.77 40000 @sport=53 @if=$a :: 20000
		fwstat frag_quota :: 18976
		frags 4flow :: 1025
		xdp $(fr_later 77 285 40) @if=$a :: XDP_PASS CT
	EOF
}

@test "fragments: an identification used again: the newer entry wins across the two tables, a block never replaces a live pass" {
	fw_load "$(ruleset fr7 <<<"$FR_RULES")"
	ct_load
	local a r1 r2
	a=$(ifindex_of fwa0)
	# The server's address and the host's, another datagram with the
	# answer's identification (77): to port 5353 (rule 3), to port 9
	# (rule 2).
	r1='udp4(src="192.0.2.53", dst="198.51.100.1", sport=53, dport=5353, payload=b"c" * 1472, mf=True, ident=77)'
	r2='udp4(src="192.0.2.53", dst="198.51.100.1", sport=53, dport=9, payload=b"c" * 1472, mf=True, ident=77)'
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		frags 4flow :: 1
		# The newer datagram's entry replaces the flow's (moved to the
		# rules' table): its later fragments follow rule 3.
		xdp $r1 @if=$a :: XDP_PASS 3
		frags 4flow :: 0
		frags 4rule :: 1
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS 3
		# A blocked first fragment with that identification (a forgery
		# aimed at the real datagram) does not replace the live pass.
		xdp $r2 @if=$a :: XDP_DROP 2
		xdp $(fr_later 77 285 40) @if=$a :: XDP_PASS 3
		# Expired, a pass is replaced by a block: a new datagram.
		clock 31
		xdp $r2 @if=$a :: XDP_DROP 2
		xdp $(fr_later 77 185) @if=$a :: XDP_DROP 2
		# And the flow's answer again (the flow asked anew, its entry
		# having expired with the clock too): back in the flows' table,
		# the rules' entry gone with it.
		eg udp4($FR_Q) @if=$a :: NEW
		xdp $FR_FIRST @if=$a :: XDP_PASS CT
		frags 4rule :: 0
		frags 4flow :: 1
		xdp $(fr_later 77 185) @if=$a :: XDP_PASS CT
	EOF
}

@test "fragments, IPv6: atomic fragments are whole datagrams; a later fragment at byte 8 or 16 is malformed whatever it names" {
	fw_load "$(ruleset fr8 <<<"$FR_RULES
pass inet6 proto udp to 2001:db8::1 port 53 label \"v6 dns\"")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		# Offset 0, no more fragments (RFC 6946): judged as the whole
		# datagram it is, nothing recorded, no fragment counted.
		xdp udp6(src="2001:db8::66", dst="2001:db8::1", sport=1000, dport=53, ext=[frag6(offset=0, m=False, ident=5)]) @if=$a :: XDP_PASS 5
		xdp udp6(src="2001:db8::66", dst="2001:db8::1", sport=1000, dport=54, ext=[frag6(offset=0, m=False, ident=5)]) @if=$a :: XDP_DROP 0
		frags 6rule :: 0
		fwstat fragment :: 0
		# The Fragment header's next header is the sender's to choose:
		# at byte 8 or 16 a later fragment is malformed as UDP too.
		xdp ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=1, ident=6)], l4=b"x" * 16, nh=17) @if=$a :: XDP_DROP none
		xdp ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=2, ident=6)], l4=b"x" * 16, nh=60) @if=$a :: XDP_DROP none
		fwstat malformed :: 2
		xdp ipv6(src="2001:db8::66", dst="2001:db8::1", ext=[frag6(offset=3, ident=6)], l4=b"x" * 16, nh=17) @if=$a :: XDP_DROP 0
		fwstat frag_unseen :: 1
	EOF
}

@test "fragments: a forged first fragment with this host's address as source does not replace the entry of the host's own datagram" {
	fw_load "$(ruleset fr9 <<<"$FR_RULES
pass proto udp from 198.51.100.1")"
	ct_load
	local a
	a=$(ifindex_of fwa0)
	ct <<-EOF
		eg udp4($FR_Q) @if=$a :: NEW
		eg udp4($FR_Q, payload=b"q" * 1472, mf=True, ident=99) @if=$a :: NEW
		frags 4rule :: 1
		# Arriving from outside with the host's source address, the
		# datagram's key and other ports: passed by rule 5, recorded
		# nowhere ...
		xdp udp4(src="198.51.100.1", dst="192.0.2.53", sport=7, dport=7, payload=b"f" * 1472, mf=True, ident=99) @if=$a :: XDP_PASS 5
		frags 4rule :: 1
		# ... so the host's later fragment is still counted on its flow.
		eg ipv4(l4=b"q" * 100, proto=17, src="198.51.100.1", dst="192.0.2.53", ident=99, frag=185) @if=$a :: NONE
		stat frag_counted :: 1
		entry udp 198.51.100.1 40000 192.0.2.53 53 :: pkts=3/0
	EOF
}
