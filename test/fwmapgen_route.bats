#!/usr/bin/env bats
# fwmapgen, the routing actions of a rule (ROUTING: route-to ADDR,
# reply-to ADDR, dup-to IFACE [via ADDR]): syntax, errors with their
# location, what the batch holds for them, --features and --explain.
# Needs build/fwmapgen (make build/fwmapgen).

# bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2154

load lib/fwmapgen

# route_entry ID [GEN]: the value bytes of bg_fw_route {GEN, ID} in t.batch
route_entry() {
	value_bytes bg_fw_route "$(le32 "${2:-0}") $(le32 "$1")"
}

# The bytes of a struct bg_fw_route: actions family dup_ifindex, then the
# three addresses (16 bytes each, IPv4 in the first 4).
route_value() {
	local actions=$1 fam=$2 ifindex=$3 a
	printf '%02x %02x 00 00 %s' "$actions" "$fam" "$(le32 "$ifindex")"
	for a in "$4" "$5" "$6"; do
		/usr/bin/python3 -c 'import ipaddress, sys
a = sys.argv[1]
b = ipaddress.ip_address(a).packed if a != "-" else b""
print(" " + " ".join("%02x" % x for x in b.ljust(16, b"\0")), end="")' "$a"
	done
	echo
}

@test "route-to, reply-to and dup-to [via]: one bg_fw_route entry per rule, the union at id 0, the rule flag" {
	ifindex=$(cat /sys/class/net/lo/ifindex)
	rules <<'EOF'
set default block
pass inet proto tcp to 203.0.113.100 port 8080 route-to 198.51.100.18 label "via gw2"
pass from 2001:db8::/32 reply-to 2001:db8:1::1 dup-to lo via 2001:db8:1::5
pass inet proto udp dup-to lo
pass log inet6 route-to 2001:db8:2::1 reply-to 2001:db8:3::1 dup-to lo
block from 192.0.2.1
pass from 192.0.2.0/24
EOF
	emit
	assert_eq "$(route_entry 1)" "$(route_value 1 0 0 198.51.100.18 - -)"
	assert_eq "$(route_entry 2)" "$(route_value 14 1 "$ifindex" - 2001:db8:1::1 2001:db8:1::5)"
	assert_eq "$(route_entry 3)" "$(route_value 4 0 "$ifindex" - - -)"
	assert_eq "$(route_entry 4)" "$(route_value 7 1 "$ifindex" 2001:db8:2::1 2001:db8:3::1 -)"
	# id 0: every action the generation uses, nothing else
	assert_eq "$(route_entry 0)" "$(route_value 15 0 0 - - -)"
	[ "$(grep -c '/bg_fw_route ' t.batch)" -eq 5 ]
	# BG_RULE_F_ROUTE (4) in bg_fw_rules and bg_fw_rinfo of the routing rules
	# only: rule 1 is IPv4 bit 0, rule 2 IPv6 bit 0, rule 4 IPv6 bit 1 (with
	# log: 5), rule 6 IPv4 bit 3
	assert_eq "$(value_bytes bg_fw_rules "$(le32 0)")" "01 00 00 00 00 04 00 00"
	assert_eq "$(value_bytes bg_fw_rules "$(le32 4096)")" "02 00 00 00 00 04 00 00"
	assert_eq "$(value_bytes bg_fw_rules "$(le32 4097)")" "04 00 00 00 00 05 00 00"
	assert_eq "$(value_bytes bg_fw_rules "$(le32 3)")" "06 00 00 00 00 00 00 00"
	read -ra v <<<"$(value_bytes bg_fw_rinfo "$(le32 0) $(le32 1)")"
	assert_eq "${v[5]}" 04
	read -ra v <<<"$(value_bytes bg_fw_rinfo "$(le32 0) $(le32 5)")"
	assert_eq "${v[5]}" 00
	# the generation is in the key: --gen 1
	emit --gen 1
	assert_eq "$(route_entry 1 1)" "$(route_value 1 0 0 198.51.100.18 - -)"
	assert_eq "$(route_entry 0 1)" "$(route_value 15 0 0 - - -)"
	# the entries come after the rules' maps and conntrack's settings,
	# before the generation header (loaded = 1 comes last)
	assert_eq "$(grep -v '^#' t.batch | cut -d' ' -f4 | uniq | tail -n 3 | tr '\n' ,)" \
		"/p/bg_ct_config,/p/bg_fw_route,/p/bg_fw_gens,"
}

@test "a ruleset without routing: no bg_fw_route line, no feature; the next hop is part of the digest" {
	rules <<'EOF'
pass from 192.0.2.0/24 label "lan"
block from 198.51.100.0/24
EOF
	emit
	[ "$(grep -c bg_fw_route t.batch)" -eq 0 ]
	run --separate-stderr "$FWMAPGEN" --features t.rules
	assert_eq "$status" 0
	assert_eq "$output" ""
	d1=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
pass from 192.0.2.0/24 route-to 198.51.100.1 label "lan"
block from 198.51.100.0/24
EOF
	run --separate-stderr "$FWMAPGEN" --features t.rules
	assert_eq "$output" "route"
	d2=$("$FWMAPGEN" --digest t.rules)
	[ "$d1" != "$d2" ]
	# the same next hop elsewhere: another ruleset
	rules <<'EOF'
pass from 192.0.2.0/24 route-to 198.51.100.2 label "lan"
block from 198.51.100.0/24
EOF
	[ "$("$FWMAPGEN" --digest t.rules)" != "$d2" ]
	# every action alone is the feature
	for a in 'reply-to 198.51.100.1' 'dup-to lo' 'dup-to lo via 192.0.2.9'; do
		rules <<<"pass inet $a"
		assert_eq "$("$FWMAPGEN" --features t.rules)" route
	done
}

@test "explain: the routing actions of the deciding rule, in canonical syntax" {
	rules <<'EOF'
pass inet proto tcp to 203.0.113.100 port 8080 route-to 198.51.100.18 label "via gw2"
pass from 2001:db8::/48 reply-to 2001:db8:1::1 dup-to lo via 2001:db8:1::5
pass inet proto udp dup-to nosuch-mon0
pass from 192.0.2.0/24
pass inet6 route-to 2001:0db8:0:0:0:0:0:0001 reply-to 2001:db8::2 dup-to lo via 2001:db8::3
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.5:1000 -> 203.0.113.100:8080'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:1)
label: "via gw2"
routing: route-to 198.51.100.18
text: pass inet proto tcp to 203.0.113.100 port 8080 route-to 198.51.100.18 label "via gw2"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'udp [2001:db8::5]:1000 -> [2001:db8:9::6]:53'
	assert_eq "$output" 'verdict: pass
rule: 2 (t.rules:2)
routing: reply-to 2001:db8:1::1 dup-to lo via 2001:db8:1::5
text: pass from 2001:db8::/48 reply-to 2001:db8:1::1 dup-to lo via 2001:db8:1::5'
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'udp 198.51.100.5:1000 -> 192.0.2.1:53'
	assert_eq "${lines[2]}" 'routing: dup-to nosuch-mon0 (dup-to: no such interface here, no copies)'
	# every action, addresses in their shortest form
	run --separate-stderr "$FWMAPGEN" --explain t.rules '2001:db8:7::1 -> 2001:db8:7::2'
	assert_eq "${lines[2]}" 'routing: route-to 2001:db8::1 reply-to 2001:db8::2 dup-to lo via 2001:db8::3'
	# a rule without routing prints none
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.5:1000 -> 203.0.113.100:80'
	assert_eq "$output" 'verdict: pass
rule: 4 (t.rules:4)
text: pass from 192.0.2.0/24'
}

@test "a dup-to interface missing here warns (like on IFACE) and sends no copies" {
	rules <<<'pass inet dup-to nosuch-mon0 via 192.0.2.9'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$stderr" "t.rules:1:18: warning: interface nosuch-mon0 does not exist here; dup-to sends no copies (counted as route_skipped)"
	emit 2>/dev/null
	assert_eq "$(route_entry 1)" "$(route_value 12 0 0 - - 192.0.2.9)"
}

@test "error: routing on a block rule" {
	rules <<<'block from 192.0.2.0/24 route-to 198.51.100.1'
	expect_error 1:25 '"route-to" on a block rule (only passed packets are routed)'
	rules <<<'block inet reply-to 198.51.100.1'
	expect_error 1:12 '"reply-to" on a block rule (only passed packets are routed)'
	rules <<<'block dup-to lo'
	expect_error 1:7 '"dup-to" on a block rule (only passed packets are routed)'
}

@test "error: a next hop of the wrong family, or in a rule for both families" {
	rules <<<'pass proto tcp to port 80 route-to 198.51.100.1'
	expect_error 1:36 'IPv4 next hop "198.51.100.1" in a rule that applies to IPv4 and IPv6 (say "inet", or name addresses of one family)'
	rules <<<'pass reply-to 2001:db8::1'
	expect_error 1:15 'IPv6 next hop "2001:db8::1" in a rule that applies to IPv4 and IPv6 (say "inet6", or name addresses of one family)'
	rules <<<'pass inet6 route-to 198.51.100.1'
	expect_error 1:21 'IPv4 next hop "198.51.100.1" in a rule for IPv6 only'
	rules <<<'pass from 192.0.2.0/24 reply-to 2001:db8::1'
	expect_error 1:33 'IPv6 next hop "2001:db8::1" in a rule for IPv4 only'
	rules <<<'pass proto icmp6 dup-to lo via 192.0.2.9'
	expect_error 1:32 'IPv4 next hop "192.0.2.9" in a rule for IPv6 only'
	rules <<<'pass inet route-to 198.51.100.1 reply-to 2001:db8::1'
	expect_error 1:42 'IPv6 next hop "2001:db8::1" in a rule for IPv4 only'
	# dup-to without via names no address: any family
	rules <<<'pass dup-to lo'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "error: a next hop is one host to send to" {
	rules <<<'pass inet route-to 198.51.100.0/24'
	expect_error 1:20 'next hop "198.51.100.0/24" is a prefix: name one address'
	rules <<<'pass inet route-to gw2'
	expect_error 1:20 'bad address "gw2"'
	rules <<<'pass inet route-to 198.51.100.256'
	expect_error 1:20 'bad address "198.51.100.256"'
	rules <<<'pass inet route-to 0.0.0.0'
	expect_error 1:20 'next hop "0.0.0.0" is an unspecified address, not one host to send to'
	rules <<<'pass inet reply-to 127.0.0.1'
	expect_error 1:20 'next hop "127.0.0.1" is a loopback address, not one host to send to'
	rules <<<'pass inet route-to 224.0.0.5'
	expect_error 1:20 'next hop "224.0.0.5" is a multicast address, not one host to send to'
	rules <<<'pass inet route-to 255.255.255.255'
	expect_error 1:20 'next hop "255.255.255.255" is the broadcast address, not one host to send to'
	rules <<<'pass inet6 route-to fe80::1'
	expect_error 1:21 'next hop "fe80::1" is a link-local address (it needs an interface), not one host to send to'
	rules <<<'pass inet6 route-to ff02::1'
	expect_error 1:21 'next hop "ff02::1" is a multicast address, not one host to send to'
	rules <<<'pass inet6 route-to ::1'
	expect_error 1:21 'next hop "::1" is a loopback address, not one host to send to'
	rules <<<'pass inet6 dup-to lo via ::'
	expect_error 1:26 'next hop "::" is an unspecified address, not one host to send to'
}

@test "error: missing arguments, duplicates, order, via without dup-to" {
	rules <<<'pass inet route-to'
	expect_error 1:19 'syntax error: unexpected end of line, expected a next-hop address after "route-to"'
	rules <<<'pass inet route-to label "x"'
	expect_error 1:20 'syntax error: unexpected "label", expected a next-hop address after "route-to"'
	rules <<<'pass inet reply-to dup-to lo'
	expect_error 1:20 'syntax error: unexpected "dup-to", expected a next-hop address after "reply-to"'
	rules <<<'pass dup-to'
	expect_error 1:12 'syntax error: unexpected end of line, expected an interface name after "dup-to"'
	rules <<<'pass inet dup-to lo via'
	expect_error 1:24 'syntax error: unexpected end of line, expected a next-hop address after "via"'
	rules <<<'pass dup-to "lo"'
	expect_error 1:13 'syntax error: unexpected string "lo", expected an interface name after "dup-to"'
	rules <<<'pass dup-to a-very-long-ifname0'
	expect_error 1:13 'interface name "a-very-long-ifname0" is longer than 15 bytes'
	rules <<<'pass inet route-to 198.51.100.1 route-to 198.51.100.2'
	expect_error 1:33 'duplicate keyword "route-to" (a rule takes each keyword once)'
	rules <<<'pass inet dup-to lo dup-to lo'
	expect_error 1:21 'duplicate keyword "dup-to" (a rule takes each keyword once)'
	rules <<<'pass inet dup-to lo via 192.0.2.1 via 192.0.2.2'
	expect_error 1:35 'duplicate keyword "via" (a rule takes each keyword once)'
	rules <<<'pass inet reply-to 198.51.100.1 route-to 198.51.100.2'
	expect_error 1:33 'syntax error: "route-to" out of order (ROUTING is [route-to ADDR] [reply-to ADDR] [dup-to IFACE [via ADDR]])'
	rules <<<'pass inet dup-to lo reply-to 198.51.100.1'
	expect_error 1:21 'syntax error: "reply-to" out of order (ROUTING is [route-to ADDR] [reply-to ADDR] [dup-to IFACE [via ADDR]])'
	# after the label, or via without dup-to: the rule's syntax
	rules <<<'pass inet label "x" route-to 198.51.100.1'
	expect_error 1:21 'syntax error: unexpected "route-to" (syntax: '"$RULE_SYNTAX"')'
	rules <<<'pass inet route-to 198.51.100.1 via 198.51.100.2'
	expect_error 1:33 'syntax error: unexpected "via" (syntax: '"$RULE_SYNTAX"')'
	# before state: out of the rule's order
	rules <<<'pass inet route-to 198.51.100.1 state new'
	expect_error 1:33 'syntax error: unexpected "state" (syntax: '"$RULE_SYNTAX"')'
}

@test "error: route-to and reply-to in a vlan rule (tagged packets are not routed); dup-to copies them" {
	rules <<<'pass inet vlan 7 route-to 198.51.100.1'
	expect_error 1:18 '"route-to" in a vlan rule (VLAN-tagged packets are not routed)'
	rules <<<'pass inet vlan 7 reply-to 198.51.100.1'
	expect_error 1:18 '"reply-to" in a vlan rule (VLAN-tagged packets are not routed)'
	rules <<<'pass inet vlan 7 dup-to lo'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "routing with every other keyword of a rule, and through macros" {
	rules <<'EOF'
GW = "198.51.100.18"
pass log on lo inet vlan 7 proto tcp from 192.0.2.0/24 port 1024:65535 \
	to 203.0.113.0/24 port 443 flags S/SA mac-src 02:00:00:00:00:01 \
	dscp af11 state new dup-to lo via $GW label "all"
pass log on lo inet proto tcp from 192.0.2.0/24 to 203.0.113.0/24 port 443 \
	state new,established route-to $GW reply-to 198.51.100.2 dup-to lo label "all2"
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	emit
	assert_eq "$(route_entry 1)" "$(route_value 12 0 "$(cat /sys/class/net/lo/ifindex)" - - 198.51.100.18)"
	assert_eq "$(route_entry 2)" "$(route_value 7 0 "$(cat /sys/class/net/lo/ifindex)" 198.51.100.18 198.51.100.2 -)"
}
