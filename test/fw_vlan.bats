#!/usr/bin/env bats
# VLAN ids end to end: the client's frames get the 802.1Q tag 10 from a
# TC program on its egress (the kernel here has no VLAN devices), inside
# the frame when the client's tx-vlan-offload is off, kept out of it
# (skb->vlan_tci) when on: then the DUT's XDP sees an untagged frame, as
# behind a NIC that strips tags, and tc_conntrack drops what the firewall
# judged without the tag.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=vl$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	bpffs_teardown
}

up_rules()
{
	local f
	f=$(ruleset vlan)
	run up dut0 --rules "$f"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
	# up.sh turned the DUT's receive tag offload off (XDP sees tags the
	# NIC would otherwise take out of the frame)
	in_dut ethtool -k dut0 | grep -qx 'rx-vlan-offload: off'
}

tag_client_frames()
{
	in_cli tc qdisc add dev cli0 clsact
	in_cli tc filter add dev cli0 egress bpf da \
		obj "$BG_BUILD/test/tc_vlan_push_test.o" sec tc
}

send_udp()
{
	local i
	for i in 1 2 3; do
		in_cli bash -c 'echo x >/dev/udp/192.0.2.1/9'
	done
}

hits()
{
	status_json | jq -c '[.rules[] | select(.id > 0) | .packets]'
}

hidden()
{
	status_json | jq '.conntrack.counters.vlan_hidden'
}

@test "vlan N: a tag in the frame is matched; a tag kept out of it is never judged as untagged" {
	up_rules <<-'EOF'
		block vlan 10 proto udp label "vlan 10"
		pass proto udp label "udp"
	EOF
	# neighbour resolution stays untagged (ARP: the push program skips it)
	in_cli ping -c1 -W2 192.0.2.1 >/dev/null
	tag_client_frames
	# the tag inside the frame: rule 1 blocks in XDP
	in_cli ethtool -K cli0 txvlan off
	send_udp
	[ "$(hits)" = "[3,0]" ] || fail "hits: $(hits)"
	[ "$(hidden)" -eq 0 ]
	# the tag kept out of the frame: XDP sees none and rule 2 passes
	# it; tc_conntrack sees the tag and drops it
	in_cli ethtool -K cli0 txvlan on
	send_udp
	[ "$(hits)" = "[3,3]" ] || fail "hits: $(hits)"
	[ "$(hidden)" -eq 3 ]
}

@test "vlan: untagged frames are not dropped as hidden tags, and without vlan rules a hidden tag changes nothing" {
	up_rules <<-'EOF'
		block vlan 10 proto udp
		pass proto udp
	EOF
	ns_spawn "$DUT" socat -u UDP4-RECV:9 OPEN:"$BG_TMP/got",creat,append
	for i in $(seq 50); do
		in_dut ss -Hlun "sport = :9" | grep -q . && break
		sleep 0.1
	done
	send_udp
	for i in $(seq 30); do
		[ "$(wc -l <"$BG_TMP/got" 2>/dev/null || echo 0)" -eq 3 ] && break
		sleep 0.1
	done
	[ "$(wc -l <"$BG_TMP/got")" -eq 3 ] || fail "received $(wc -l <"$BG_TMP/got")"
	[ "$(hidden)" -eq 0 ]
	# a ruleset without vlan: the hidden tag does not matter to it
	local f
	f=$(ruleset novlan <<<'pass proto udp')
	run up dut0 --rules "$f"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
	tag_client_frames
	send_udp
	[ "$(hidden)" -eq 0 ]
	[ "$(status_json | jq '[.rules[] | select(.id == 1) | .packets] | add')" -eq 3 ]
}

# Echo UDP datagrams to port 9 back to their sender (on the DUT).
udp_echo()
{
	ns_spawn "$DUT" socat UDP4-RECVFROM:9,fork EXEC:cat
	local i
	for i in $(seq 50); do
		in_dut ss -Hlun "sport = :9" | grep -q . && return 0
		sleep 0.1
	done
	fail "no UDP echo"
}

# copies N: N datagrams forged on the client's wire with the addresses
# and ports of the flow 192.0.2.10:5000 -> 192.0.2.1:9
copies()
{
	local mac i
	mac=$(in_dut ip -j link show dev dut0 | jq -r '.[0].address')
	for i in $(seq "$1"); do
		in_cli "$PY" "$BG_REPO/test/lib/attack.py" spoof cli0 "$mac" \
			192.0.2.10 5000 192.0.2.1 9 udp
	done
}

@test "vlan: forged copies of an untagged flow carrying a tag (hidden by offload, or in the frame) are dropped, never passed as the flow's" {
	up_rules <<-'EOF'
		block vlan 10 proto udp label "vlan 10"
		pass proto udp label "udp"
	EOF
	udp_echo
	# the flow 192.0.2.10:5000 <-> 192.0.2.1:9, untagged, both ways: a
	# listener on the client takes the echoes of whatever gets through
	UDP_LISTEN_STOP=$BG_TMP/listen.stop nsenter --net="/run/netns/$CLI" -- \
		"$PY" "$BG_REPO/test/lib/attack.py" udp-listen 5000 60 192.0.2.1 9 \
		>"$BG_TMP/listen.out" 3>&- &
	local i listener=$!
	for i in $(seq 50); do
		grep -q "got 192.0.2.1 9" "$BG_TMP/listen.out" && break
		sleep 0.1
	done
	[ "$(grep -c got "$BG_TMP/listen.out")" -eq 1 ] || fail "no echo: $(cat "$BG_TMP/listen.out")"
	[ "$(hits)" = "[0,1]" ] || fail "hits: $(hits)"
	# untagged copies are the flow's (phase 0 passes them): echoed
	copies 2
	# tagged copies, the tag kept out of the frame: XDP sees an
	# untagged packet of the flow, tc_conntrack the tag: dropped there
	tag_client_frames
	in_cli ethtool -K cli0 txvlan on
	copies 3
	[ "$(hidden)" -eq 3 ]
	# the tag in the frame: not the flow (VLAN ids are part of its
	# key), so the rules judge it: "block vlan 10" in XDP
	in_cli ethtool -K cli0 txvlan off
	copies 3
	[ "$(hits)" = "[3,1]" ] || fail "hits: $(hits)"
	[ "$(hidden)" -eq 3 ]
	sleep 0.5
	touch "$BG_TMP/listen.stop"
	wait "$listener"
	# only the query and the two untagged copies were echoed
	[ "$(grep -c got "$BG_TMP/listen.out")" -eq 3 ] || fail "echoes: $(cat "$BG_TMP/listen.out")"
	[ "$(status_json | jq '.counters.ct_pass')" -ge 2 ]
}
