#!/usr/bin/env bats
# End to end: fragments follow their first fragment (README, "Fragments").
# The device under test runs bpfguard with "set default block"; real UDP
# datagrams larger than the MTU cross the veth in fragments, made and
# reassembled by the kernels of the two namespaces.

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

# A datagram of 3,000 bytes from the client's address $1 to the DUT's
# UDP port $2, in 3 fragments.
send_3000()
{
	head -c 3000 /dev/zero |
		in_cli socat -u - UDP4-SENDTO:192.0.2.1:"$2",bind="$1"
}

# The packets a rule (by id) counted, from status.sh --json.
rule_packets()
{
	jq --argjson id "$2" '.rules[] | select(.id == $id) | .packets' <<<"$1"
}

@test "e2e: under default block, a 3,000-byte (IPv4) and a 5,000-byte (IPv6) UDP answer to the host's query arrive whole, counted on their flows" {
	start_udp_answer "$CLI" 192.0.2.10 7000 3000
	start_udp_answer "$CLI" 2001:db8:1::10 7001 5000
	up_rules answers <<-'EOF'
		set default block
		block state invalid
	EOF
	# 3,008 bytes of UDP in 3 fragments; 5,008 in 4 (1,448 each).
	[ "$(udp_ask "$DUT" 192.0.2.10 7000)" -eq 3000 ] || fail "IPv4 answer lost"
	[ "$(udp_ask "$DUT" 2001:db8:1::10 7001)" -eq 5000 ] || fail "IPv6 answer lost"

	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '.counters.frag_tracked == 5 and .counters.frag_unseen == 0 and
		.counters.frag_overlap == 0' <<<"$output" ||
		fail "counters: $(jq -c .counters <<<"$output")"
	jq -e '(.fragments | map({(.table): .}) | add) as $f |
		$f.bg_frag4_flow.entries == 1 and $f.bg_frag6_flow.entries == 1 and
		$f.bg_frag4_rule.entries == 0 and $f.bg_frag4_flow.evicted == 0 and
		$f.bg_frag4_flow.capacity == 16384' <<<"$output" ||
		fail "fragment tables: $(jq -c .fragments <<<"$output")"
	# Every fragment counted on its flow: the answers' 3 and 4 packets.
	run in_dut "$BG_REPO/scripts/conntrack.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '[.[] | select(.proto == "udp" and .dport == 7000)][0] |
		.packets.orig == 1 and .packets.reply == 3' <<<"$output" ||
		fail "IPv4 flow: $output"
	jq -e '[.[] | select(.proto == "udp" and .dport == 7001)][0] |
		.packets.orig == 1 and .packets.reply == 4' <<<"$output" ||
		fail "IPv6 flow: $output"
	# status.sh shows the tables.
	run in_dut "$BG_REPO/scripts/status.sh"
	[[ $output == *"fragments: 4_flow 1/16384 (evicted 0), 4_rule 0/16384 (evicted 0), 6_flow 1/16384 (evicted 0), 6_rule 0/16384 (evicted 0)"* ]] ||
		fail "$output"
}

@test "e2e: an unsolicited fragmented datagram is dropped whole, its first and later fragments alike, even from a source a rule passes by address" {
	up_rules unsolicited <<-'EOF'
		set default block
		block state invalid
		block proto udp to port 9998 label "closed port"
		pass from 192.0.2.12 label "a host passed by address"
		pass proto udp to port 9997 label "open port"
	EOF
	local got=$BG_TMP/got
	ns_spawn "$DUT" socat -u UDP-RECV:9998 OPEN:"$got.9998",creat,append
	ns_spawn "$DUT" socat -u UDP-RECV:9997 OPEN:"$got.9997",creat,append
	wait_udp_port "$DUT" 9998
	wait_udp_port "$DUT" 9997
	# From .12 to the closed port: rule 2 drops the first fragment, and
	# the two later ones, which rule 3 would pass on their addresses.
	send_3000 192.0.2.12 9998
	# From .11 to the open port: the whole datagram arrives (control).
	send_3000 192.0.2.11 9997
	# From .11 to a port no rule names: the default drops all three.
	send_3000 192.0.2.11 9996
	sleep 0.5
	[ ! -s "$got.9998" ] || fail "the blocked datagram arrived"
	[ "$(stat -c %s "$got.9997")" -eq 3000 ] || fail "the passed datagram did not arrive whole"

	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(rule_packets "$output" 2)" -eq 3 ] || fail "closed port: $(rule_packets "$output" 2)"
	[ "$(rule_packets "$output" 3)" -eq 0 ] || fail "by address: $(rule_packets "$output" 3)"
	[ "$(rule_packets "$output" 4)" -eq 3 ] || fail "open port: $(rule_packets "$output" 4)"
	[ "$(rule_packets "$output" 0)" -ge 3 ] || fail "default: $(rule_packets "$output" 0)"
	jq -e '.counters.frag_tracked == 6 and .counters.frag_unseen == 0' <<<"$output" ||
		fail "counters: $(jq -c .counters <<<"$output")"
}
