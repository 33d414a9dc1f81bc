#!/usr/bin/env bats
# fwmapgen, errors in rules (pass|block), each class with its message and
# location, and the limits on rules.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "error: address with host bits set" {
	rules <<<'pass from 192.0.2.1/24'
	expect_error 1:11 'host bits set in "192.0.2.1/24" (did you mean 192.0.2.0/24?)'
	rules <<<'block to 2001:db8::1/32'
	expect_error 1:10 'host bits set in "2001:db8::1/32" (did you mean 2001:db8::/32?)'
}

@test "error: bad prefix length (/33, /129, /x, empty)" {
	rules <<<'pass from 192.0.2.0/33'
	expect_error 1:11 'bad prefix length in "192.0.2.0/33" (IPv4 allows /0 to /32)'
	rules <<<'pass to  2001:db8::/129'
	expect_error 1:10 'bad prefix length in "2001:db8::/129" (IPv6 allows /0 to /128)'
	rules <<<'pass from 192.0.2.0/x'
	expect_error 1:11 'bad prefix length in "192.0.2.0/x" (IPv4 allows /0 to /32)'
	rules <<<'pass from { 192.0.2.0/24, 198.51.100.0/ }'
	expect_error 1:27 'bad prefix length in "198.51.100.0/" (IPv4 allows /0 to /32)'
}

@test "error: bad address" {
	rules <<<'pass from 192.0.2.256'
	expect_error 1:11 'bad address "192.0.2.256"'
	rules <<<'pass to 2001:db8:::1/64'
	expect_error 1:9 'bad address "2001:db8:::1/64"'
	rules <<<'pass from localhost'
	expect_error 1:11 'bad address "localhost"'
}

@test "error: inet6 rule with an IPv4 address, inet rule with an IPv6 one" {
	rules <<<'pass inet6 from 192.0.2.0/24'
	expect_error 1:17 'IPv4 address "192.0.2.0/24" in an inet6 rule'
	rules <<<'block inet from any to { 192.0.2.1, 2001:db8::1 }'
	expect_error 1:37 'IPv6 address "2001:db8::1" in an inet rule'
	rules <<<'pass inet6 to !198.51.100.0/24'
	expect_error 1:16 'IPv4 address "198.51.100.0/24" in an inet6 rule'
}

@test "error: a rule whose addresses leave no family" {
	rules <<<'pass from 192.0.2.1 to 2001:db8::1'
	expect_error 1:24 'rule matches no address family (from: IPv4 only; to: IPv6 only)'
	rules <<'EOF'
table <v4> { 192.0.2.0/24, 198.51.100.0/24 }
block inet6 from <v4>
EOF
	expect_error 2:18 'rule matches no address family (inet6 rule; from: IPv4 only)'
	rules <<'EOF'
table <v6> { 2001:db8::/32 }
block from !<v6> to { 192.0.2.1 }
EOF
	expect_error 2:21 'rule matches no address family (from: IPv6 only; to: IPv4 only)'
}

@test "error: bad port" {
	rules <<<'pass proto tcp to port 70000'
	expect_error 1:24 'bad port "70000" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port ssh'
	expect_error 1:24 'bad port "ssh" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto udp from any port { 22, 1:x }'
	expect_error 1:36 'bad port "1:x" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port 1:65536'
	expect_error 1:24 'bad port "1:65536" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port { }'
	expect_error 1:24 'empty port list (it would match nothing)'
	rules <<<'pass proto tcp to port { 22 to any'
	expect_error 1:29 "syntax error: unexpected \"to\", expected a port or '}'"
	rules <<<'pass proto tcp from port'
	expect_error 1:25 'syntax error: unexpected end of line, expected a port, N:M or { list } after "port"'
}

@test "error: reversed port range" {
	rules <<<'pass proto udp to port 80:22'
	expect_error 1:24 'reversed port range "80:22" (the first port must not be above the second)'
	rules <<<'pass proto tcp from port { 1, 80-79 }'
	expect_error 1:31 'reversed port range "80-79" (the first port must not be above the second)'
}

@test "error: port without proto tcp or udp" {
	rules <<<'pass to port 22'
	expect_error 1:9 '"port" needs proto tcp or proto udp'
	rules <<<'pass proto icmp from any port 22'
	expect_error 1:26 '"port" needs proto tcp or proto udp'
	rules <<<'pass proto 132 to 192.0.2.1 port 22'
	expect_error 1:29 '"port" needs proto tcp or proto udp'
	# proto 6 and 17 are tcp and udp
	rules <<<'pass proto 6 to port 22'
	run "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "error: bad proto" {
	rules <<<'pass proto gre'
	expect_error 1:12 'bad protocol "gre" (expected tcp, udp, icmp, icmp6 or a number from 0 to 255)'
	rules <<<'pass inet proto 256 from any'
	expect_error 1:17 'bad protocol "256" (expected tcp, udp, icmp, icmp6 or a number from 0 to 255)'
	rules <<<'pass proto'
	expect_error 1:11 'syntax error: unexpected end of line, expected a protocol after "proto"'
}

@test "error: bad state" {
	rules <<<'pass state new,closed'
	expect_error 1:16 'bad state "closed" (expected new, established, related or invalid)'
	rules <<<'pass proto tcp state'
	expect_error 1:21 'syntax error: unexpected end of line, expected a state (new, established, related or invalid)'
	rules <<<'pass state new,'
	expect_error 1:16 'syntax error: unexpected end of line, expected a state (new, established, related or invalid)'
}

@test "error: duplicate keyword" {
	rules <<<'pass proto tcp proto udp'
	expect_error 1:16 'duplicate keyword "proto" (a rule takes each keyword once)'
	rules <<<'pass from any to any from 192.0.2.1'
	expect_error 1:22 'duplicate keyword "from" (a rule takes each keyword once)'
	rules <<<'pass inet inet6'
	expect_error 1:11 'duplicate keyword "inet6" (a rule takes each keyword once)'
	rules <<<'pass proto tcp to port 22 port 23'
	expect_error 1:27 'duplicate keyword "port" (a rule takes each keyword once)'
	rules <<<'block log log'
	expect_error 1:11 'duplicate keyword "log" (a rule takes each keyword once)'
	rules <<<'pass to any label "a" label "b"'
	expect_error 1:23 'duplicate keyword "label" (a rule takes each keyword once)'
	# out of order is a syntax error, as before
	rules <<<'pass from any proto tcp'
	expect_error 1:15 'syntax error: unexpected "proto" (syntax: '"$RULE_SYNTAX"')'
}

@test "error: from or to with neither an address nor a port" {
	rules <<<'pass from'
	expect_error 1:6 'syntax error: "from" needs an address, a port or both'
	rules <<<'pass  from to any'
	expect_error 1:7 'syntax error: "from" needs an address, a port or both'
	rules <<<'pass proto tcp from port 22 to label "x"'
	expect_error 1:29 'syntax error: "to" needs an address, a port or both'
	rules <<<'pass to state new'
	expect_error 1:6 'syntax error: "to" needs an address, a port or both'
}

@test "error: proto and address family contradict" {
	rules <<<'pass inet6 proto icmp'
	expect_error 1:18 "proto icmp is IPv4 only: it can't be in an inet6 rule"
	rules <<<'pass inet proto icmp6'
	expect_error 1:17 "proto icmp6 is IPv6 only: it can't be in an inet rule"
	rules <<<'pass inet6 proto 1'
	expect_error 1:18 "proto 1 is IPv4 only: it can't be in an inet6 rule"
	rules <<<'pass proto icmp from 2001:db8::1'
	expect_error 1:22 'rule matches no address family (proto icmp: IPv4 only; from: IPv6 only)'
	rules <<<'block proto icmp6 to { 192.0.2.1 }'
	expect_error 1:22 'rule matches no address family (proto icmp6: IPv6 only; to: IPv4 only)'
	# a mixed list leaves the protocol's family
	rules <<<'block proto icmp6 to { 192.0.2.1, 2001:db8::1 }'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 0, inet6 1), default pass, 0 table entries"
}

@test "state compiles in every mode, now that conntrack exists" {
	rules <<'EOF'
pass proto tcp to port 22
pass proto tcp from 192.0.2.0/24 state new,established label "x"
EOF
	local args
	for args in "--pin-dir /p" "--check" "--digest"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $args t.rules
		assert_eq "$status" 0
		assert_eq "$stderr" ""
	done
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 2 rules (inet 2, inet6 1), default pass, 0 table entries"
	emit
	# uses_proto 1, uses_ports 1, uses_state 1
	assert_eq "$(gens_field 34 3)" "01 01 01"
	# FWMAPGEN_EXPERIMENTAL_STATE is gone: it changes nothing
	FWMAPGEN_EXPERIMENTAL_STATE=1 "$FWMAPGEN" --pin-dir /p t.rules >x.batch
	cmp t.batch x.batch
	# a bad state list is still an error
	rules <<<'pass state bogus'
	expect_error 1:12 'bad state "bogus" (expected new, established, related or invalid)'
	# the evaluator takes it
	rules <<'EOF'
pass proto tcp to port 22
pass proto tcp from 192.0.2.0/24 state new,established label "x"
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.1:5 -> 10.0.0.1:80 state established'
	assert_eq "$status" 0
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.1:5 -> 10.0.0.1:80 state related'
	assert_eq "${lines[1]}" "rule: 0 (default policy)"
}

@test "error: label longer than 63 bytes" {
	local l63 l64
	l63=$(printf 'x%.0s' {1..63})
	l64="${l63}y"
	rules <<<"pass label \"$l63\""
	run "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	rules <<<"pass from any label \"$l64\""
	expect_error 1:21 'label is longer than 63 bytes (64 bytes)'
}

@test "error: interface name longer than 15 bytes" {
	rules <<<'pass on abcdefghijklmnop from any'
	expect_error 1:9 'interface name "abcdefghijklmnop" is longer than 15 bytes'
}

@test "warning: a missing interface warns and doesn't fail" {
	rules <<'EOF'
block on nosuch-if0 from 192.0.2.0/24
pass on lo
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 2 rules (inet 2, inet6 1), default pass, 0 table entries"
	assert_eq "$stderr" "t.rules:1:10: warning: interface nosuch-if0 does not exist here; its rules match nothing"
	run --separate-stderr "$FWMAPGEN" --pin-dir /p t.rules
	assert_eq "$status" 0
	# only lo has an iface entry; the rule on the missing one is in no vector
	local lo
	lo=$(cat /sys/class/net/lo/ifindex)
	[ "$(grep -c '/bg_fw_iface ' <<<"$output")" -eq 1 ]
	grep -qF "/p/bg_fw_iface key hex $(le32 0) $(le32 "$lo") value hex " <<<"$output"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on nosuch-if0 192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 0 (default policy)"
}

@test "error: more than 4096 rules for one family" {
	{
		seq 0 4095 | awk '{ printf "block from 10.%d.%d.0/24\n", int($1 / 256), $1 % 256 }'
		echo "pass to 2001:db8::/32"
		echo "pass"
	} >t.rules
	expect_error 4098:1 'too many inet rules (more than 4096 apply to IPv4)'
}

@test "error: more than 8192 rules in total" {
	{
		seq 0 4095 | awk '{ printf "block inet from 10.%d.%d.0/24\n", int($1 / 256), $1 % 256 }'
		seq 0 4095 | awk '{ printf "pass inet6 to 2001:db8:%x::/48\n", $1 }'
	} >t.rules
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 8192 rules (inet 4096, inet6 4096), default pass, 0 table entries"
	echo "block from 192.0.2.1" >>t.rules
	expect_error 8193:1 'too many rules (more than 8192 in total)'
}

@test "error: header fields that contradict the rule, or are malformed" {
	rules <<<'pass flags S/SA'
	expect_error 1:6 '"flags" needs proto tcp (TCP flags)'
	rules <<<'pass proto udp flags S/SA'
	expect_error 1:16 '"flags" needs proto tcp (TCP flags)'
	rules <<<'pass proto tcp flags S/A'
	expect_error 1:22 'flags S/A never match: a flag that must be set is not among the flags checked (after the '"'/'"')'
	rules <<<'pass proto tcp flags SX/SA'
	expect_error 1:22 'bad TCP flags "SX/SA" (F/M in the letters FSRPAUEW, each once, as in flags S/SA)'
	rules <<<'pass proto tcp flags SS/SA'
	expect_error 1:22 'bad TCP flags "SS/SA" (F/M in the letters FSRPAUEW, each once, as in flags S/SA)'
	rules <<<'pass proto udp icmp-type 3'
	expect_error 1:16 '"icmp-type" needs proto icmp or proto icmp6'
	rules <<<'pass icmp-type 3'
	expect_error 1:6 '"icmp-type" needs proto icmp or proto icmp6'
	rules <<<'pass inet6 proto icmp icmp-type 8'
	expect_error 1:18 "proto icmp is IPv4 only: it can't be in an inet6 rule"
	rules <<<'pass proto icmp icmp-type 256'
	expect_error 1:27 'bad ICMP type "256" (a number from 0 to 255)'
	rules <<<'pass proto icmp icmp-type 3 code x'
	expect_error 1:34 'bad ICMP code "x" (a number from 0 to 255)'
	rules <<<'pass proto icmp code 3'
	expect_error 1:17 'syntax error: unexpected "code" (syntax: '"$RULE_SYNTAX"')'
	rules <<<'pass vlan 4096'
	expect_error 1:11 'bad VLAN id "4096" (a number from 1 to 4095; 0 is a priority tag, no VLAN)'
	rules <<<'pass vlan 0'
	expect_error 1:11 'bad VLAN id "0" (a number from 1 to 4095; 0 is a priority tag, no VLAN)'
	rules <<<'pass vlan'
	expect_error 1:10 'syntax error: unexpected end of line, expected a VLAN id after "vlan"'
	rules <<<'pass mac-src 02:00:00:00:00'
	expect_error 1:14 'bad Ethernet address "02:00:00:00:00" (six hex bytes, as in 02:00:5e:10:00:01)'
	rules <<<'pass mac-dst 02-00-00-00-00-01'
	expect_error 1:14 'bad Ethernet address "02-00-00-00-00-01" (six hex bytes, as in 02:00:5e:10:00:01)'
	rules <<<'pass dscp 64'
	expect_error 1:11 'bad dscp "64" (a number from 0 to 63, ef, af11..af43 or cs0..cs7)'
	rules <<<'pass dscp af14'
	expect_error 1:11 'bad dscp "af14" (a number from 0 to 63, ef, af11..af43 or cs0..cs7)'
	rules <<<'pass dscp ef dscp ef'
	expect_error 1:14 'duplicate keyword "dscp" (a rule takes each keyword once)'
	rules <<<'pass proto icmp icmp-type 3 code 1 code 2'
	expect_error 1:36 'duplicate keyword "code" (a rule takes each keyword once)'
}

@test "error: connection limits that contradict the rule, or are malformed" {
	rules <<<'block proto tcp max-src-conn 3'
	expect_error 1:17 '"max-src-conn" needs a pass rule (it limits what a rule lets in)'
	rules <<<'pass proto udp max-src-conn 3'
	expect_error 1:16 '"max-src-conn" needs proto tcp (a connection counts once its handshake completes)'
	rules <<<'pass max-src-conn-rate 3/5'
	expect_error 1:6 '"max-src-conn-rate" needs proto tcp (a connection counts once its handshake completes)'
	rules <<<'pass proto tcp max-src-conn 0'
	expect_error 1:29 'bad max-src-conn "0" (a number from 1 to 1000000)'
	rules <<<'pass proto tcp max-src-conn-rate 3'
	expect_error 1:34 'bad max-src-conn-rate "3" (N/SECONDS: 1 to 1000000 connections per 1 to 86400 seconds, as in 15/5)'
	rules <<<'pass proto tcp max-src-conn-rate 3/0'
	expect_error 1:34 'bad max-src-conn-rate "3/0" (N/SECONDS: 1 to 1000000 connections per 1 to 86400 seconds, as in 15/5)'
	rules <<<'pass proto tcp max-states 2 overload <x>'
	expect_error 1:29 '"overload" needs max-src-conn or max-src-conn-rate (the limits a source can exceed)'
	rules <<<'pass proto tcp max-src-conn 2 overload x'
	expect_error 1:40 'syntax error: unexpected "x", expected <TABLE> after "overload"'
	rules <<<'pass proto tcp max-states 2 max-states 3'
	expect_error 1:29 'duplicate keyword "max-states" (a rule takes each keyword once)'
	rules <<<'pass proto tcp to max-states 3'
	expect_error 1:16 'syntax error: "to" needs an address, a port or both'
	rules <<'EOF2'
table <bad> { 192.0.2.1 }
pass proto tcp max-src-conn 2 overload <bad>
EOF2
	expect_error 2:40 '<bad> is a table of addresses: an overload table is filled at run time and checked before the rules, give it a name of its own'
	rules <<<'set timeout overload 0'
	expect_error 1:22 'timeout overload can'"'"'t be 0 (1..4294967 seconds; leave it unset for the default)'
}
