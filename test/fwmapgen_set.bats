#!/usr/bin/env bats
# fwmapgen, the "set" statements: the default policy and the connection tracking
# settings (set timeout, set limit states), their errors and their map entry.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "error: second set default" {
	rules <<'EOF'
set default block
pass from 192.0.2.0/24
set default block
EOF
	expect_error 3:1 'default policy already set on line 1'
}

@test "emit: default policy in bg_fw_gens" {
	rules <<<'set default block'
	emit
	assert_eq "$(gens_field 32 2)" "01 00"
	rules <<<'set default pass'
	emit
	assert_eq "$(gens_field 32 2)" "00 00"
}

@test "conntrack: bg_ct_config with timeouts and a limit, before bg_fw_gens" {
	rules <<'EOF'
set timeout tcp.syn_sent 30
set timeout tcp.established 432000
set timeout udp.replied 180
set timeout icmp 4294967
set timeout tcp.close 1
set limit states 1000
pass state established,related
EOF
	emit --gen 1
	# timeout[12] by enum bg_ct_timeout, limit_states, pad
	local want
	want="$(le32 30) $(le32 0) $(le32 432000) $(le32 0) $(le32 0) $(le32 0)"
	want+=" $(le32 0) $(le32 1) $(le32 0) $(le32 180) $(le32 4294967) $(le32 0)"
	want+=" $(le32 1000) $(le32 0)"
	assert_eq "$(ct_config 1)" "$want"
	# one line, keyed by the generation (the settings switch with it),
	# right before the bg_fw_gens line
	[ "$(grep -c '/bg_ct_config ' t.batch)" -eq 1 ]
	tail -n 2 t.batch | head -n 1 | grep -q '^map update pinned /p/bg_ct_config key hex 01 00 00 00 value hex '
	tail -n 1 t.batch | grep -q '^map update pinned /p/bg_fw_gens key hex 01 00 00 00 '
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 1, inet6 1), default pass, 0 table entries, 5 timeouts set, limit states 1000"
	# every name, in enum order
	local names=(tcp.syn_sent tcp.syn_recv tcp.established tcp.fin_wait
		tcp.close_wait tcp.last_ack tcp.time_wait tcp.close
		udp.unreplied udp.replied icmp) i
	for i in "${!names[@]}"; do
		echo "set timeout ${names[i]} $((100 + i))"
	done >t.rules
	emit
	want=""
	for i in "${!names[@]}"; do
		want+="$(le32 $((100 + i))) "
	done
	assert_eq "$(ct_config)" "$want$(le32 0) $(printf '00 %.0s' {1..7})00"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 0 rules (inet 0, inet6 0), default pass, 0 table entries, 11 timeouts set"
	# a limit alone, at the table size
	rules <<<"set limit states 65536"
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..48})$(le32 65536) $(printf '00 %.0s' {1..3})00"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 0 rules (inet 0, inet6 0), default pass, 0 table entries, limit states 65536"
}

@test "conntrack: bg_ct_config is all zeros (defaults) without settings" {
	rules <<'EOF'
pass proto tcp to port 22
EOF
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..55})00"
	[ "$(grep -c '/bg_ct_config ' t.batch)" -eq 1 ]
	tail -n 2 t.batch | head -n 1 | grep -q '^map update pinned /p/bg_ct_config key hex 00 00 00 00 value hex '
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 1, inet6 1), default pass, 0 table entries"
	rules </dev/null
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..55})00"
}

@test "conntrack: the digest changes with a timeout or the limit" {
	local d0 d1 d2 d3
	rules <<<'pass state established'
	d0=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set timeout tcp.established 3600
pass state established
EOF
	d1=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set timeout tcp.established 3601
pass state established
EOF
	d2=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set limit states 100
pass state established
EOF
	d3=$("$FWMAPGEN" --digest t.rules)
	[ "$d0" != "$d1" ] && [ "$d1" != "$d2" ] && [ "$d0" != "$d2" ]
	[ "$d3" != "$d0" ] && [ "$d3" != "$d1" ]
	# the same setting, elsewhere and through a macro (the rule stays on
	# line 2: its line is in bg_fw_rinfo)
	rules <<'EOF'
S = "3601"
pass state established
set timeout tcp.established $S
EOF
	assert_eq "$("$FWMAPGEN" --digest t.rules)" "$d2"
	# and the header carries the digest
	emit
	head -n 1 t.batch | grep -q "digest=$d2 "
}

@test "error: set timeout" {
	rules <<<'set timeout tcp.established'
	expect_error 1:28 'syntax error: unexpected end of line, expected a number of seconds'
	rules <<<'set timeout'
	expect_error 1:12 'syntax error: unexpected end of line, expected a timeout name (tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied, icmp or overload)'
	rules <<<'set timeout tcp.estab 30'
	expect_error 1:13 'unknown timeout "tcp.estab" (expected tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied, icmp or overload)'
	rules <<<'set timeout udp 30'
	expect_error 1:13 'unknown timeout "udp" (expected tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied, icmp or overload)'
	rules <<<'set timeout icmp 30s'
	expect_error 1:18 'bad timeout "30s" (expected a number of seconds)'
	rules <<<'set timeout icmp -1'
	expect_error 1:18 'bad timeout "-1" (expected a number of seconds)'
	rules <<<'set timeout icmp 0'
	expect_error 1:18 "timeout icmp can't be 0 (1..4294967 seconds; leave it unset for the default)"
	rules <<<'set timeout udp.unreplied 4294968'
	expect_error 1:27 'timeout udp.unreplied of 4294968 seconds is out of range (1..4294967)'
	rules <<<'set timeout udp.unreplied 99999999999999999999999'
	expect_error 1:27 'timeout udp.unreplied of 99999999999999999999999 seconds is out of range (1..4294967)'
	rules <<<'set timeout icmp 30 60'
	expect_error 1:21 'syntax error: unexpected "60" (syntax: set timeout NAME SECONDS)'
	rules <<'EOF'
set timeout tcp.time_wait 60
set timeout icmp 30
  set timeout tcp.time_wait 120
EOF
	expect_error 3:15 'timeout tcp.time_wait already set on line 1'
	rules <<<'set bogus 1'
	expect_error 1:5 'syntax error: unexpected "bogus", expected default, timeout, limit, health, syn-flood, icmp-flood, udp-amplification or tcp-flood after "set"'
	# macros expand in settings
	rules <<'EOF'
T = "3600"
set timeout tcp.established $T
EOF
	emit
	assert_eq "$(ct_config | cut -d' ' -f9-12)" "$(le32 3600)"
}

@test "error: set limit states" {
	rules <<<'set limit states 0'
	expect_error 1:18 'limit states 0 is out of range (1..65536, the table size)'
	rules <<<'set limit states 65537'
	expect_error 1:18 'limit states 65537 is out of range (1..65536, the table size)'
	rules <<<'set limit states 4294967296'
	expect_error 1:18 'limit states 4294967296 is out of range (1..65536, the table size)'
	rules <<<'set limit states many'
	expect_error 1:18 'bad limit "many" (expected a number of states)'
	rules <<<'set limit states'
	expect_error 1:17 'syntax error: unexpected end of line, expected a number of states'
	rules <<<'set limit flows 10'
	expect_error 1:11 'syntax error: unexpected "flows", expected "states" after "set limit"'
	rules <<<'set limit states 10 20'
	expect_error 1:21 'syntax error: unexpected "20" (syntax: set limit states N)'
	rules <<'EOF'
set limit states 10
set limit states 10
EOF
	expect_error 2:1 'limit states already set on line 1'
}
