#!/usr/bin/env bats
# The XDP chain: the firewall, the one XDP program of an interface, hands
# every packet it passes to the stages in the pinned PROG_ARRAY
# bg_xdp_chain (slot 0 the rate limiter's, slot 1 the load balancer's). A
# stage filled into a slot takes effect at once; emptied, the firewall is
# alone again. A test stage (test/progs/xdp_stage_test.c) counts what it
# sees, drops UDP to port 9 and marks the rest with status 0x5a, which TC
# reads from the XDP metadata and conntrack keeps in the flow.

load lib/common

STAGE_RULES='set default block
pass proto icmp
pass proto icmp6
pass proto udp to port { 9, 10 }'

setup()
{
	bpffs_setup
	lab_setup
	CHAIN=$FW_BPFFS/tc/globals/bg_xdp_chain
	STAGE_DIR=$FW_BPFFS/bpfguard/test-stage
	run up dut0 --rules "$(ruleset stage <<<"$STAGE_RULES")"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
}

teardown()
{
	lab_teardown
	bpffs_teardown
}

# Load the test stage with bg-load: its maps are pinned by name beside
# the firewall's, and it reuses the pinned bg_xdp_chain.
stage_load()
{
	"$BG_BUILD/bg-load" --bpffs "$FW_BPFFS" "$BG_BUILD/test/xdp_stage_test.o" \
		"$STAGE_DIR" >/dev/null
	[ -e "$STAGE_DIR/bg_test_stage" ]
}

# The stage's counter $1 (0 seen, 1 dropped), summed over CPUs.
stage_count()
{
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_test_stage_stats" \
		key "$1" 0 0 0 | jq '[.formatted.values[].value] | add'
}

# Datagrams that reach port $1 in the DUT when the client sends 3 to it
# (from source port $2).
delivered()
{
	local port=$1 sport=$2 i
	rm -f "$BG_TMP/listen.stop"
	UDP_LISTEN_STOP=$BG_TMP/listen.stop in_dut /usr/bin/python3 \
		"$BG_REPO/test/lib/attack.py" udp-listen "$port" 60 \
		>"$BG_TMP/listen.$port" 3>&- &
	local pid=$!
	for i in $(seq 100); do
		grep -q listening "$BG_TMP/listen.$port" 2>/dev/null && break
		sleep 0.1
	done
	for i in 1 2 3; do
		in_cli /usr/bin/python3 "$BG_REPO/test/lib/attack.py" udp-send \
			"$sport" 192.0.2.1 "$port"
	done
	# Sent: a second for them to arrive, then the listener reports.
	sleep 1
	touch "$BG_TMP/listen.stop"
	wait "$pid"
	sed -n 's/^done //p' "$BG_TMP/listen.$port"
}

@test "XDP chain: empty slots pass; a stage filled in counts and drops; emptied, the firewall is alone" {
	# Empty chain: the firewall's passes reach the host.
	[ "$(bpftool -j map show pinned "$CHAIN" | jq -r '.type, .max_entries' | tr '\n' ' ')" = "prog_array 2 " ]
	[ "$(delivered 9 4009)" = 3 ]
	[ "$(delivered 10 4010)" = 3 ]

	# Slot 0 (the rate limiter's) filled with the test stage.
	stage_load
	bpftool map update pinned "$CHAIN" key 0 0 0 0 \
		value pinned "$STAGE_DIR/bg_test_stage"
	[ "$(delivered 9 5009)" = 0 ] || fail "the stage did not drop port 9"
	[ "$(delivered 10 5010)" = 3 ] || fail "the stage dropped port 10"
	(($(stage_count 1) == 3)) || fail "dropped: $(stage_count 1)"
	seen=$(stage_count 0)
	((seen >= 6)) || fail "seen: $seen"
	# What the firewall blocks never reaches a stage.
	in_cli /usr/bin/python3 "$BG_REPO/test/lib/attack.py" udp-send \
		5011 192.0.2.1 11
	sleep 0.2
	(($(stage_count 0) == seen)) || fail "a blocked packet reached the stage"
	# TC saw the stage's status in the metadata: the flow keeps it.
	run in_dut "$BG_REPO/scripts/conntrack.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	jq -e 'any(.[]; .dport == 10 and .sport == 5010 and .xdp_status == 90)' \
		<<<"$output" >/dev/null || fail "no xdp_status 0x5a: $output"
	jq -e 'any(.[]; .dport == 10 and .sport == 4010 and .xdp_status == 0)' \
		<<<"$output" >/dev/null || fail "a flow before the stage has a status: $output"

	# Emptied: the firewall alone again, the stage sees nothing more.
	bpftool map delete pinned "$CHAIN" key 0 0 0 0
	seen=$(stage_count 0)
	[ "$(delivered 9 6009)" = 3 ] || fail "port 9 still dropped"
	(($(stage_count 0) == seen)) || fail "the emptied stage still ran"
	# Slot 1 (the load balancer's) is reached past an empty slot 0.
	bpftool map update pinned "$CHAIN" key 1 0 0 0 \
		value pinned "$STAGE_DIR/bg_test_stage"
	[ "$(delivered 9 7009)" = 0 ] || fail "slot 1 was not reached"
	bpftool map delete pinned "$CHAIN" key 1 0 0 0

	# down.sh removes the chain with the other pins.
	rm -rf "$STAGE_DIR"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$CHAIN" ]
}

# A fixture (test/lib/fixture.py) run in the DUT's namespace.
fixture()
{
	in_dut /usr/bin/python3 "$BG_REPO/test/lib/fixture.py"
}

@test "XDP chain through BPF_PROG_TEST_RUN: verdicts and bytes, with and without the stage (fixture)" {
	stage_load
	local fw u
	fw=$(fw_prog_pin)
	u='udp4(src="192.0.2.10", dst="192.0.2.1", sport=4000'
	fixture <<-EOF
		prog fw $fw
		prog stage $STAGE_DIR/bg_test_stage
		map chain $CHAIN
		map stats $FW_BPFFS/tc/globals/bg_test_stage_stats
		# Alone: 9 and 10 pass unchanged, 11 is blocked.
		run fw $u, dport=9) :: XDP_PASS -> same
		run fw $u, dport=10) :: XDP_PASS -> same
		run fw $u, dport=11) :: XDP_DROP
		# The stage in slot 0: it drops 9, passes 10 unchanged, and
		# never sees 11.
		slot chain 0 stage
		run fw $u, dport=9) :: XDP_DROP
		run fw $u, dport=10) :: XDP_PASS -> same
		run fw $u, dport=11) :: XDP_DROP
		value stats 0 u64sum :: value=2
		value stats 1 u64sum :: value=1
		# Emptied: the firewall alone again.
		unslot chain 0
		run fw $u, dport=9) :: XDP_PASS -> same
		value stats 0 u64sum :: value=2
	EOF
	rm -rf "$STAGE_DIR"
}

@test "the fixture runner fails on a wrong verdict, a wrong output frame and a wrong map value" {
	local fw u
	fw=$(fw_prog_pin)
	u='udp4(src="192.0.2.10", dst="192.0.2.1", sport=4000'
	run fixture <<-EOF
		prog fw $fw
		map stats $FW_BPFFS/tc/globals/bg_fw_stats
		run fw $u, dport=11) :: XDP_PASS
		run fw $u, dport=9) :: XDP_PASS -> $u, dport=99)
		value stats 0 u64sum :: value=12345
	EOF
	[ "$status" -eq 1 ]
	[[ $output == *"line 3: "*"got XDP_DROP"* ]] || fail "$output"
	[[ $output == *"line 4: "*"output frame: "*"first difference"* ]] || fail "$output"
	[[ $output == *"line 5: "*"got value="* ]] || fail "$output"
}
