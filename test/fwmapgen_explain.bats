#!/usr/bin/env bats
# fwmapgen, the reference evaluator: --explain and --eval.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "explain: overlapping CIDRs, first match wins" {
	rules <<'EOF'
set default block
pass from 192.0.2.128/25   # narrower first
block log from 192.0.2.0/24 to any label "test net"
pass from 10.0.0.0/8
block from 10.1.0.0/16     # never reached
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.200 -> 198.51.100.1'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:2)
text: pass from 192.0.2.128/25'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 198.51.100.1'
	assert_eq "$output" 'verdict: block
rule: 2 (t.rules:3)
label: "test net"
text: block log from 192.0.2.0/24 to any label "test net"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '10.1.2.3->10.1.2.4'
	assert_eq "${lines[1]}" "rule: 3 (t.rules:4)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules '2001:db8::1 -> 2001:db8::2'
	assert_eq "$output" 'verdict: block
rule: 0 (default policy)'
}

@test "explain: negation, tables, families" {
	printf '2001:db8:bad::/48\n198.51.100.66\n' >bad.txt
	rules <<'EOF'
table <bad> file "bad.txt"
table <v4> { 192.0.2.0/24 }
block from <bad>
pass from !<v4> to 192.0.2.0/24
pass inet6 from !2001:db8::/32
block to !<v4>
EOF
	printf '%s\n' \
		'198.51.100.66 -> 192.0.2.1' \
		'2001:db8:bad::1 -> ::1' \
		'198.51.100.67 -> 192.0.2.1' \
		'192.0.2.9 -> 192.0.2.1' \
		'2001:db9::1 -> ::1' \
		'2001:db8::1 -> ::1' \
		'192.0.2.9 -> 198.51.100.1' \
		'192.0.2.9 -> 192.0.2.10' >p.txt
	run --separate-stderr "$FWMAPGEN" --eval t.rules <p.txt
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 1,block 1,pass 2,pass 0,pass 3,pass 0,block 4,pass 0,"
}

@test "explain: on IFACE matches the ingress interface name" {
	rules <<'EOF'
pass on lo from 192.0.2.0/24 label "lo"
block from 192.0.2.0/24
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on lo 192.0.2.1 -> 192.0.2.2'
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:1)
label: "lo"
text: pass on lo from 192.0.2.0/24 label "lo"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on eth7 192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
}

@test "eval: default policy and bad packet lines" {
	rules <<'EOF'
set default block
pass to 2001:db8::/32
EOF
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
192.0.2.1 -> 192.0.2.2

::1 -> 2001:db8::5
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 0,pass 1,"
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
192.0.2.1 -> 192.0.2.2
192.0.2.1 -> ::1
EOF
	assert_eq "$status" 1
	assert_eq "$stderr" "<stdin>:2: bad packet: SRC and DST are not of the same family"
}

@test "explain: proto, ports, fragments, packets without a protocol" {
	rules <<'EOF'
set default block
pass proto tcp to 192.0.2.1 port 22 label "ssh"
pass proto udp from port { 53, 5353 } to port 1024:65535
block proto icmp
pass inet6 proto icmp6
pass proto 132 to port 9 # not allowed
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" 't.rules:6:19: "port" needs proto tcp or proto udp'
	sed -i '$d' t.rules
	echo 'pass proto 253' >>t.rules
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 198.51.100.1:40000 -> 192.0.2.1:22'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:2)
label: "ssh"
text: pass proto tcp to 192.0.2.1 port 22 label "ssh"'
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
tcp 198.51.100.1:40000 -> 192.0.2.1:23
6 198.51.100.1:40000 -> 192.0.2.1:22
tcp 198.51.100.1 -> 192.0.2.1 frag
udp [2001:db8::53]:53 -> [2001:db8::1]:1024
udp [2001:db8::53]:53 -> [2001:db8::1]:1023
udp 192.0.2.53 -> 192.0.2.1 frag
17 192.0.2.53:5353 -> 192.0.2.1:65535 state established
icmp 192.0.2.1 -> 192.0.2.2
icmp 192.0.2.1 -> 192.0.2.2 frag
icmp6 [::1] -> ::2
58 ::1 -> ::2 state invalid
192.0.2.1 -> 192.0.2.2
on lo 253 [::1] -> [::2] frag
47 192.0.2.1 -> 192.0.2.2
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 0,pass 1,block 0,pass 2,block 0,block 0,pass 2,block 3,block 3,pass 4,pass 4,pass 5,pass 5,block 0,"
}

@test "explain: state matches the connection class, default new" {
	rules <<'EOF'
block state invalid
pass proto tcp to port 22 state new
pass state established,related
EOF
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
tcp 192.0.2.1:1 -> 192.0.2.2:22
tcp 192.0.2.1:1 -> 192.0.2.2:22 state new
tcp 192.0.2.1:1 -> 192.0.2.2:22 state invalid
tcp 192.0.2.1:1 -> 192.0.2.2:80 state established
udp [::1]:1 -> [::2]:22 state related
tcp 192.0.2.1:1 -> 192.0.2.2:80
192.0.2.1 -> 192.0.2.2 state related frag
192.0.2.1 -> 192.0.2.2 frag state invalid
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "pass 2,pass 2,block 1,pass 3,pass 3,pass 0,pass 3,block 1,"
}

@test "eval: bad packets with protocols and ports" {
	rules <<<'pass'
	local -a bad=(
		'icmp 192.0.2.1:5 -> 192.0.2.2|a port needs protocol tcp or udp'
		'192.0.2.1:5 -> 192.0.2.2:6|a port needs protocol tcp or udp'
		'tcp 192.0.2.1:5 -> 192.0.2.2:6 frag|a non-first fragment (frag) has no ports'
		'tcp 192.0.2.1 -> 192.0.2.2|a tcp or udp packet needs SRC:PORT and DST:PORT (or frag)'
		'udp 192.0.2.1:5 -> 192.0.2.2|a tcp or udp packet needs SRC:PORT and DST:PORT (or frag)'
		'tcp [::1]:70000 -> [::2]:1|bad port in "[::1]:70000" (0 to 65535)'
		'tcp [::1] :1 -> [::2]:1|'"$PACKET_SYNTAX"
		'tcp [192.0.2.1]:1 -> 192.0.2.2:1|bad address "[192.0.2.1]:1" (no prefix length here)'
		'192.0.2.1 -> 192.0.2.2 state closed|bad state "closed" (new, established, related or invalid)'
		'sctp 192.0.2.1 -> 192.0.2.2|'"$PACKET_SYNTAX"
		'192.0.2.1 -> 192.0.2.2 frag frag|'"$PACKET_SYNTAX"
	)
	local c
	for c in "${bad[@]}"; do
		run --separate-stderr "$FWMAPGEN" --eval t.rules <<<"${c%%|*}"
		assert_eq "$status" 1
		assert_eq "$stderr" "<stdin>:1: bad packet: ${c#*|}"
		run --separate-stderr "$FWMAPGEN" --explain t.rules "${c%%|*}"
		assert_eq "$status" 2
		assert_eq "$stderr" "fwmapgen: bad PACKET: ${c#*|} (see fwmapgen --help)"
	done
}

@test "eval: 100k packets quickly" {
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	awk 'BEGIN { for (i = 0; i < 100000; i++)
		printf "192.0.%d.%d -> 198.51.100.%d\n", i % 4, i % 256, i % 7 }' >p.txt
	local t0 t1
	t0=$(date +%s%N)
	"$FWMAPGEN" --eval crosscheck.rules <p.txt >out.txt 2>/dev/null
	t1=$(date +%s%N)
	[ "$(wc -l <out.txt)" -eq 100000 ]
	echo "eval took $(((t1 - t0) / 1000000)) ms" >&2
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
	assert_eq "$(sort out.txt | uniq -c | tr -s ' ' | tr '\n' ,)" \
		" 87512 block 13, 12488 block 8,"
}

@test "explain: every header field in the packet syntax, with its defaults" {
	rules <<'EOF2'
set default block
pass vlan 10 proto udp label "vlan"
pass proto tcp flags S/SA label "syn"
pass proto icmp icmp-type 8 code 0 label "echo"
pass proto icmp6 icmp-type 129 label "echo reply"
pass proto udp mac-src 02:00:00:00:00:0a mac-dst 02:00:00:00:00:0b label "macs"
pass dscp af41 label "af41"
EOF2
	local -a cases=(
		'udp 192.0.2.1:1 -> 192.0.2.2:2 vlan 10|1'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 vlan 11|0'
		'udp 192.0.2.1:1 -> 192.0.2.2:2|0'
		'tcp 192.0.2.1:1 -> 192.0.2.2:2|2'
		'tcp 192.0.2.1:1 -> 192.0.2.2:2 flags S|2'
		'tcp 192.0.2.1:1 -> 192.0.2.2:2 flags SA|0'
		'tcp 192.0.2.1:1 -> 192.0.2.2:2 flags none|0'
		'tcp 192.0.2.1 -> 192.0.2.2 frag|0'
		'icmp 192.0.2.1 -> 192.0.2.2|3'
		'icmp 192.0.2.1 -> 192.0.2.2 icmp-type 8 code 1|0'
		'icmp 192.0.2.1 -> 192.0.2.2 icmp-type 0|0'
		'icmp6 2001:db8::1 -> 2001:db8::2|0'
		'icmp6 2001:db8::1 -> 2001:db8::2 icmp-type 129 code 7|4'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 mac-src 02:00:00:00:00:0a mac-dst 02:00:00:00:00:0b|5'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 mac-dst 02:00:00:00:00:0b mac-src 02:00:00:00:00:0A|5'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 mac-src 02:00:00:00:00:0a|0'
		'2001:db8::1 -> 2001:db8::2 dscp af41|6'
		'2001:db8::1 -> 2001:db8::2 dscp 34|6'
		'2001:db8::1 -> 2001:db8::2 dscp 35|0'
	)
	local c
	for c in "${cases[@]}"; do
		run --separate-stderr "$FWMAPGEN" --explain t.rules "${c%%|*}"
		assert_eq "$status" 0
		assert_eq "${lines[1]%% (*}" "rule: ${c#*|}"
		run --separate-stderr "$FWMAPGEN" --eval t.rules <<<"${c%%|*}"
		assert_eq "${output#* }" "${c#*|}"
	done
	local -a bad=(
		'udp 192.0.2.1:1 -> 192.0.2.2:2 flags S|flags need a tcp packet (not a frag)'
		'tcp 192.0.2.1 -> 192.0.2.2 frag flags S|flags need a tcp packet (not a frag)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 icmp-type 3|icmp-type and code need an icmp or icmp6 packet (not a frag)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 vlan 4096|bad vlan (one id from 1 to 4095)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 vlan 0|bad vlan (one id from 1 to 4095)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 vlan 1 vlan 2|bad vlan (one id from 1 to 4095)'
		'tcp 192.0.2.1:1 -> 192.0.2.2:2 flags Q|bad flags (the TCP flags set, in the letters FSRPAUEW, or none)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 mac-src 1:2|bad Ethernet address (aa:bb:cc:dd:ee:ff)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 dscp 64|bad dscp (0 to 63, ef, af11..af43 or cs0..cs7)'
		'udp 192.0.2.1:1 -> 192.0.2.2:2 dscp|'"$PACKET_SYNTAX"
	)
	for c in "${bad[@]}"; do
		run --separate-stderr "$FWMAPGEN" --eval t.rules <<<"${c%%|*}"
		assert_eq "$status" 1
		assert_eq "$stderr" "<stdin>:1: bad packet: ${c#*|}"
	done
}

@test "explain: a non-first fragment (frag) says what it gets: its first fragment's verdict, else this one on its addresses" {
	rules <<'EOF'
set default block
block proto udp to port 9
pass from 192.0.2.66 label "addresses alone"
EOF
	local what="fragment: gets its first fragment's verdict, rule and flow when the firewall saw that fragment in the last"
	local alone="the verdict above, on its addresses alone, when it did not"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'udp 192.0.2.66 -> 192.0.2.1 frag'
	assert_eq "$status" 0
	assert_eq "$output" "verdict: pass
rule: 2 (t.rules:3)
label: \"addresses alone\"
text: pass from 192.0.2.66 label \"addresses alone\"
$what 30 s; $alone"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'udp [2001:db8::1] -> [2001:db8::2] frag'
	assert_eq "$status" 0
	assert_eq "$output" "verdict: block
rule: 0 (default policy)
$what 60 s; $alone"
	# A first fragment is judged like any packet: nothing about fragments.
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'udp 192.0.2.66:1000 -> 192.0.2.1:9'
	assert_eq "$output" 'verdict: block
rule: 1 (t.rules:2)
text: block proto udp to port 9'
}
