#!/usr/bin/env bats
# End to end: the firewall on a veth in its own namespace, real traffic from
# a client namespace, the scripts as an operator runs them.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	lock_teardown
	bpffs_teardown
}

ping_ok()
{
	# Three tries: one lost echo under load is not a verdict.
	in_cli ping -q -c 3 -i 0.2 -W 1 -I "$1" "$2" >/dev/null 2>&1
}

http_ok()
{
	local url=http://$2:8080/
	[[ $2 == *:* ]] && url=http://[$2]:8080/
	[[ $(in_cli curl -s -m 2 --interface "$1" "$url") == hello ]]
}

@test "ping and TCP from several sources are dropped or allowed per the ruleset" {
	rules=$(ruleset two <<-'EOF'
		set default pass
		block from 192.0.2.11 label "bad v4 host"
		block from { 2001:db8:1::12, 198.51.100.0/24 } label "bad v6 host"
	EOF
	)
	start_http "$DUT" 8080
	run up dut0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"

	ping_ok 192.0.2.10 192.0.2.1
	run ! ping_ok 192.0.2.11 192.0.2.1
	ping_ok 192.0.2.12 192.0.2.1
	ping_ok 2001:db8:1::10 2001:db8:1::1
	ping_ok 2001:db8:1::11 2001:db8:1::1
	run ! ping_ok 2001:db8:1::12 2001:db8:1::1
	http_ok 192.0.2.10 192.0.2.1
	run ! http_ok 192.0.2.11 192.0.2.1
	http_ok 2001:db8:1::11 2001:db8:1::1
	run ! http_ok 2001:db8:1::12 2001:db8:1::1

	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	echo "$output" | jq -e '.counters.drop > 0 and .counters.pass > 0'
	echo "$output" | jq -e '.ruleset.rules == 2 and .ruleset.default == "pass"'
	echo "$output" | jq -e '.rules[] | select(.id == 1) |
		.packets > 0 and .label == "bad v4 host" and .line == 2'
	echo "$output" | jq -e '.rules[] | select(.id == 2) |
		.packets > 0 and .action == "block"'
	echo "$output" | jq -e '.rules[] | select(.id == 0) | .packets > 0'
	echo "$output" | jq -e '.interfaces[0].name == "dut0" and
		.interfaces[0].xdp.mode == "native" and .interfaces[0].xdp.prog_id > 0 and
		.interfaces[0].xdp.owner == "bpfguard"'
}

@test "default block: only the allowed source gets through, ARP and ND still work" {
	rules=$(ruleset strict <<-'EOF'
		set default block
		pass from 192.0.2.10
		pass from 2001:db8:1::11 to 2001:db8:1::/64
	EOF
	)
	run up dut0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	# Neighbour caches start empty: these pings need ARP and ND to pass.
	ping_ok 192.0.2.10 192.0.2.1
	run ! ping_ok 192.0.2.12 192.0.2.1
	ping_ok 2001:db8:1::11 2001:db8:1::1
	run ! ping_ok 2001:db8:1::10 2001:db8:1::1
	run status_json
	echo "$output" | jq -e '.counters.non_ip > 0 and .counters.nd > 0'
}

@test "up.sh twice is harmless: same program, same ruleset generation, counters kept" {
	rules=$(ruleset one <<-'EOF'
		block from 192.0.2.11
	EOF
	)
	up dut0 --rules "$rules"
	run ! ping_ok 192.0.2.11 192.0.2.1
	before=$(status_json)
	run up dut0 --rules "$rules"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *unchanged* ]] || fail "$output"
	after=$(status_json)
	[ "$(jq '.interfaces[0].xdp.prog_id' <<<"$before")" = \
		"$(jq '.interfaces[0].xdp.prog_id' <<<"$after")" ]
	[ "$(jq '.ruleset.switches' <<<"$before")" = \
		"$(jq '.ruleset.switches' <<<"$after")" ]
	[ "$(jq '.rules[1].packets' <<<"$after")" -ge 1 ]
	# Without --rules the running ruleset stays.
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(status_json | jq -r '.ruleset.source')" = "$(readlink -f "$rules")" ]
}

@test "a new ruleset switches while traffic flows; a broken one changes nothing" {
	a=$(ruleset a <<-'EOF'
		block from 192.0.2.11
		pass from 192.0.2.0/24
	EOF
	)
	b=$(ruleset b <<-'EOF'
		block from 192.0.2.10
		pass from 192.0.2.0/24
	EOF
	)
	bad=$(ruleset bad <<-'EOF'
		block from 192.0.2.10
		pass from 192.0.2.1/24
	EOF
	)
	up dut0 --rules "$a"
	ns_spawn "$DUT" iperf3 -s -1 -B 192.0.2.1
	wait_port "$DUT" 5201
	# A stream both rulesets pass keeps flowing through three switches.
	in_cli iperf3 -c 192.0.2.1 -B 192.0.2.12 -t 3 -b 200M -J >"$BG_TMP/iperf.json" 3>&- &
	client=$!
	sleep 0.5
	ping_ok 192.0.2.10 192.0.2.1
	run ! ping_ok 192.0.2.11 192.0.2.1
	up dut0 --rules "$b"
	run ! ping_ok 192.0.2.10 192.0.2.1
	ping_ok 192.0.2.11 192.0.2.1
	up dut0 --rules "$a"
	up dut0 --rules "$b"
	run up dut0 --rules "$bad"
	[ "$status" -ne 0 ]
	[[ $output == *"bad.rules:2:11:"* ]] || fail "$output"
	wait "$client" || fail "iperf3 failed during the switches: $(cat "$BG_TMP/iperf.json")"
	jq -e '.end.sum_received.bytes > 0 and (.error == null)' "$BG_TMP/iperf.json"
	# Still ruleset b, third switch, nothing of the broken one.
	run ! ping_ok 192.0.2.10 192.0.2.1
	ping_ok 192.0.2.11 192.0.2.1
	run status_json
	echo "$output" | jq -e --arg b "$(readlink -f "$b")" \
		'.ruleset.source == $b and .ruleset.switches == 4'
}

@test "down.sh leaves no program, qdisc or pin behind, and is idempotent" {
	up dut0 --rules "$BG_REPO/maps/default.rules"
	[ -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	run in_dut ip -d link show dev dut0
	[[ $output != *xdp* ]] || fail "$output"
	run in_dut tc qdisc show dev dut0
	[[ $output != *clsact* ]] || fail "$output"
	[ -z "$(ls "$FW_BPFFS/tc/globals")" ] || fail "left: $(ls "$FW_BPFFS/tc/globals")"
	[ ! -e "$FW_BPFFS/bpfguard" ]
	run down dut0
	[ "$status" -eq 0 ]
	[[ $output == *"not running"* ]] || fail "$output"
}

@test "shared maps: two interfaces, the pins go with the last one" {
	ip -n "$DUT" link add name dut1 type veth peer name cli1 netns "$CLI"
	in_dut ip link set dut1 up
	in_cli ip link set cli1 up
	up dut0
	up dut1
	[ "$(status_json | jq '.interfaces | length')" -eq 2 ]
	run down dut0
	[[ $output == *"still use"* ]] || fail "$output"
	[ -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
	in_dut ip -d link show dev dut1 | grep -q 'xdp'
	run down dut0 --keep-maps
	[ "$status" -eq 0 ]
	down dut1
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_active" ]
}

@test "a foreign XDP program is not replaced without --force; objects attach with ip link" {
	in_dut ip link set dev dut0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	run up dut0
	[ "$status" -ne 0 ]
	[[ $output == *"did not attach; use --force"* ]] || fail "$output"
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_active" ] || fail "a refused up left pins"
	run up dut0 --force
	[ "$status" -eq 0 ] || fail "$output"
	down dut0
	# The firewall object itself attaches with plain iproute2 and pins its
	# maps by name where up.sh finds and fills them.
	in_dut ip link set dev dut0 xdpdrv obj "$BG_BUILD/xdp_firewall.o" sec xdp
	[ -e "$FW_BPFFS/tc/globals/bg_fw_vec" ]
	run up dut0 --rules "$(ruleset x <<<'block from 192.0.2.11')"
	[ "$status" -eq 0 ] || fail "$output"
	run ! ping_ok 192.0.2.11 192.0.2.1
	ping_ok 192.0.2.10 192.0.2.1
}

@test "generic mode works and switching modes keeps one program attached" {
	rules=$(ruleset g <<<'block from 192.0.2.11')
	run up dut0 --rules "$rules" --mode generic
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(status_json | jq -r '.interfaces[0].xdp.mode')" = generic ]
	run ! ping_ok 192.0.2.11 192.0.2.1
	# Without --mode an interface keeps the mode it runs in.
	up dut0
	[ "$(status_json | jq -r '.interfaces[0].xdp.mode')" = generic ]
	up dut0 --mode native
	[ "$(status_json | jq -r '.interfaces[0].xdp.mode')" = native ]
	run ! ping_ok 192.0.2.11 192.0.2.1
	run in_dut ip -d link show dev dut0
	[ "$(grep -c 'prog/xdp' <<<"$output")" -eq 1 ] || fail "$output"
}
