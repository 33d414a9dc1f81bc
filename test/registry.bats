#!/usr/bin/env bats
# The program registry (scripts/programs): up.sh attaches its programs in
# its order at the priorities and slots it names, down.sh detaches them in
# reverse, status.sh reports each line and the XDP chain. Registries the
# tests write add test programs (test/progs/tc_stage_test.c, a TC program
# with no verdict; test/progs/xdp_stage_test.c, an XDP chain stage) with
# their modules from test/fixtures/registry/lib.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=r$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	lock_teardown
	bpffs_teardown
}

# Write registry $1 from stdin, beside the test modules; print its path.
registry()
{
	mkdir -p "$BG_TMP/$1"
	ln -sfn "$BG_REPO/test/fixtures/registry/lib" "$BG_TMP/$1/lib"
	cat >"$BG_TMP/$1/programs"
	printf '%s' "$BG_TMP/$1/programs"
}

# The default registry's lines of conntrack and the firewall.
CT_IN='conntrack tc_conntrack.o bg_ct_ingress tc-ingress 10 required'
CT_OUT='conntrack tc_conntrack.o bg_ct_egress tc-egress 10 required'
FW='firewall xdp_firewall.o bg_fw_xdp xdp - required'

# up.sh/down.sh/status.sh of the DUT with registry $1.
with_registry()
{
	local reg=$1 s=$2
	shift 2
	in_dut env BG_PROGRAMS="$reg" "$BG_REPO/scripts/$s.sh" "$@"
}

# "PREF:PROGRAM ..." of the TC filters on dut0 direction $1, in the order
# the kernel runs them.
tc_chain()
{
	in_dut tc -j filter show dev dut0 "$1" |
		jq -r 'map(select(.options.prog != null)
			| "\(.pref):\(.options.prog.name)") | join(" ")'
}

# Program names in the order up.sh/down.sh said they attached/detached
# them, from output $1.
said()
{
	sed -n "s/^dut0: \([a-z_0-9]*\) \(attached\|detached\|in XDP chain slot\).*/\1/p; s/^dut0: XDP chain slot [0-9]* emptied (\(.*\))/\1/p" <<<"$1" |
		tr '\n' ' '
}

@test "the shipped registry: conntrack on both directions at pref 10, then the firewall; status lists the programs and the empty XDP chain" {
	run up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(said "$output")" = "bg_ct_ingress bg_ct_egress xdp_firewall " ] ||
		fail "attach order: $output"
	[ "$(tc_chain ingress)" = "10:bg_ct_ingress" ] || fail "$(tc_chain ingress)"
	[ "$(tc_chain egress)" = "10:bg_ct_egress" ] || fail "$(tc_chain egress)"

	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	js=$output
	# The programs that run, with what runs where they hook.
	xdp=$(in_dut ip -j -d link show dev dut0 | jq '.[0].xdp.prog.id')
	cin=$(in_dut tc -j filter show dev dut0 ingress | jq 'map(.options.prog.id // empty)[0]')
	cout=$(in_dut tc -j filter show dev dut0 egress | jq 'map(.options.prog.id // empty)[0]')
	jq -e --argjson x "$xdp" --argjson i "$cin" --argjson o "$cout" '
		[.programs[] | select(.state == "enabled")
		 | [.name, .program, .hook, (.pref // .slot), .attached[0].iface,
		    .attached[0].prog_id]]
		== [["conntrack", "bg_ct_ingress", "tc-ingress", 10, "dut0", $i],
		    ["conntrack", "bg_ct_egress", "tc-egress", 10, "dut0", $o],
		    ["firewall", "bg_fw_xdp", "xdp", null, "dut0", $x]]' \
		<<<"$js" >/dev/null || fail "$(jq -c .programs <<<"$js")"
	# The firewall's routing (tc_route) waits for a ruleset that routes.
	jq -e '[.programs[] | select(.name == "route")] == [{name: "route",
		object: "tc_route.o", program: "bg_rt_ingress", hook: "tc-ingress",
		slot: null, pref: 80, enabled_by: "route", state: "skipped",
		reason: "the ruleset does not use feature route",
		attached: [{iface: "dut0", prog_id: null}]},
		{name: "route",
		object: "tc_route.o", program: "bg_rt_egress", hook: "tc-egress",
		slot: null, pref: 5, enabled_by: "route", state: "skipped",
		reason: "the ruleset does not use feature route",
		attached: [{iface: "dut0", prog_id: null}]}]' <<<"$js" >/dev/null ||
		fail "$(jq -c .programs <<<"$js")"
	# Every other line is a reserved place, nothing runs there.
	# The rate limiter only with a ruleset that rate-limits.
	jq -e '[.programs[] | select(.name == "ratelimit")] == [{name: "ratelimit",
		object: "xdp_ratelimit.o", program: "bg_rl_xdp", hook: "xdp-stage",
		slot: 0, pref: null, enabled_by: "ratelimit", state: "skipped",
		reason: "the ruleset does not use feature ratelimit", prog_id: null}]' \
		<<<"$js" >/dev/null || fail "$(jq -c .programs <<<"$js")"
	# The load balancer only with a ruleset that has services.
	jq -e '[.programs[] | select(.name == "loadbalancer")] == [{name: "loadbalancer",
		object: "xdp_loadbalancer.o", program: "bg_lb_xdp", hook: "xdp-stage",
		slot: 1, pref: null, enabled_by: "loadbalancer", state: "skipped",
		reason: "the ruleset does not use feature loadbalancer", prog_id: null}]' \
		<<<"$js" >/dev/null || fail "$(jq -c .programs <<<"$js")"
	# Normalization only with a ruleset that scrubs.
	jq -e '[.programs[] | select(.name == "scrub") | [.program, .hook, .pref, .state, .reason]]
		== [["bg_scrub_ingress", "tc-ingress", 30, "skipped", "the ruleset does not use feature scrub"],
		    ["bg_scrub_egress", "tc-egress", 85, "skipped", "the ruleset does not use feature scrub"]]' \
		<<<"$js" >/dev/null || fail "$(jq -c .programs <<<"$js")"
	jq -e '[.programs[] | select(.state != "enabled" and .name != "route" and
		.name != "ratelimit" and .name != "loadbalancer" and .name != "scrub")]
		| length == 9 and all(.state == "reserved" and .object == null
			and (.prog_id // null) == null
			and all(.attached[]?; .prog_id == null))' <<<"$js" >/dev/null ||
		fail "$(jq -c .programs <<<"$js")"
	jq -e '.xdp_chain == [{slot: 0, prog_id: null, name: "ratelimit"},
		{slot: 1, prog_id: null, name: "loadbalancer"}]' <<<"$js" >/dev/null ||
		fail "$(jq -c .xdp_chain <<<"$js")"
	# The sections of before are still there.
	jq -e '.ruleset.loaded and (.interfaces | length) == 1 and
		.conntrack.flows >= 0 and .counters.pass >= 0' <<<"$js" >/dev/null

	run in_dut "$BG_REPO/scripts/status.sh"
	[[ $output == *"conntrack bg_ct_ingress (tc-ingress pref 10): dut0 prog $cin"* ]] ||
		fail "$output"
	[[ $output == *"xdp chain: slot 0 (ratelimit): empty, slot 1 (loadbalancer): empty"* ]] ||
		fail "$output"

	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(said "$output")" = "bg_fw_xdp bg_ct_egress bg_ct_ingress " ] ||
		fail "detach order: $output"
	[ -z "$(tc_chain ingress)$(tc_chain egress)" ]
}

@test "registry order drives the attach order, the priorities and the slots; down.sh detaches in reverse" {
	# An order of its own: a TC program before conntrack, TC ingress at
	# 30 and egress at 90, a stage in XDP chain slot 0 before the firewall.
	reg=$(registry order <<-EOF
		# a comment, and a blank line

		tcstage   test/tc_stage_test.o   bg_test_tc_egress   tc-egress  90 always
		$CT_IN
		tcstage   test/tc_stage_test.o   bg_test_tc_ingress  tc-ingress 30 always # a comment
		$CT_OUT
		xdpstage  test/xdp_stage_test.o  bg_test_stage       xdp-stage  0  always
		$FW
	EOF
	)
	run with_registry "$reg" up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(said "$output")" = "bg_test_tc_egress bg_ct_ingress bg_test_tc_ingress bg_ct_egress bg_test_stage xdp_firewall " ] ||
		fail "attach order: $output"
	# The kernel runs them by priority: conntrack first on both.
	[ "$(tc_chain ingress)" = "10:bg_ct_ingress 30:bg_test_tc_ingr" ] ||
		fail "ingress: $(tc_chain ingress)"
	[ "$(tc_chain egress)" = "10:bg_ct_egress 90:bg_test_tc_egre" ] ||
		fail "egress: $(tc_chain egress)"
	# Every program sees the traffic: the TC program's "no verdict" lets
	# conntrack and the firewall decide, the stage gets what the firewall
	# passes.
	in_cli ping -q -c 3 -i 0.2 -W 1 192.0.2.1 >/dev/null
	run with_registry "$reg" status --json
	[ "$status" -eq 0 ] || fail "$output"
	js=$output
	jq -e '.tcstage.ingress >= 3 and .tcstage.egress >= 3 and
		.xdpstage.seen >= 3 and .conntrack.counters.new >= 1' <<<"$js" >/dev/null ||
		fail "$(jq -c '{tcstage, xdpstage, c: .conntrack.counters}' <<<"$js")"
	stage=$(bpftool -j prog show pinned "$FW_BPFFS"/bpfguard/*/bg_test_stage | jq .id)
	jq -e --argjson s "$stage" '.xdp_chain == [
		{slot: 0, prog_id: $s, name: "xdpstage"},
		{slot: 1, prog_id: null, name: null}]' <<<"$js" >/dev/null ||
		fail "$(jq -c .xdp_chain <<<"$js")"
	jq -e --argjson s "$stage" '[.programs[] | [.name, .program, .state,
		(.pref // .slot)]] == [
		["tcstage", "bg_test_tc_egress", "enabled", 90],
		["conntrack", "bg_ct_ingress", "enabled", 10],
		["tcstage", "bg_test_tc_ingress", "enabled", 30],
		["conntrack", "bg_ct_egress", "enabled", 10],
		["xdpstage", "bg_test_stage", "enabled", 0],
		["firewall", "bg_fw_xdp", "enabled", null]] and
		(.programs[4].prog_id == $s)' <<<"$js" >/dev/null ||
		fail "$(jq -c .programs <<<"$js")"

	run with_registry "$reg" down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(said "$output")" = "bg_fw_xdp bg_test_stage bg_ct_egress bg_test_tc_ingress bg_ct_ingress bg_test_tc_egress " ] ||
		fail "detach order: $output"
	run in_dut ip -d link show dev dut0
	[[ $output != *prog/xdp* ]] || fail "$output"
	[ -z "$(tc_chain ingress)$(tc_chain egress)" ] ||
		fail "left: $(tc_chain ingress) / $(tc_chain egress)"
	[ -z "$(ls -A "$FW_BPFFS/tc/globals")" ] || fail "left: $(ls "$FW_BPFFS/tc/globals")"
}

@test "a disabled line, a missing object and an unused feature are skipped with a message; a skipped program comes off" {
	reg=$(registry skip <<-EOF
		$CT_IN
		$CT_OUT
		ghost     test/ghost.o           bg_ghost            tc-ingress 20 always
		tcstage   test/tc_stage_test.o   bg_test_tc_ingress  tc-ingress 30 ids
		xdpstage  test/xdp_stage_test.o  bg_test_stage       xdp-stage  0  off
		$FW
	EOF
	)
	run with_registry "$reg" up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"skipping ghost (bg_ghost, tc-ingress 20): $BG_BUILD/test/ghost.o not built"* ]] ||
		fail "$output"
	[[ $output == *"skipping tcstage (bg_test_tc_ingress, tc-ingress 30): the ruleset does not use feature ids"* ]] ||
		fail "$output"
	[[ $output == *"skipping xdpstage (bg_test_stage, xdp-stage 0): disabled in the registry ($reg:5)"* ]] ||
		fail "$output"
	[ "$(tc_chain ingress)" = "10:bg_ct_ingress" ] || fail "$(tc_chain ingress)"
	run with_registry "$reg" status --json
	jq -e '[.programs[] | [.name, .state, .reason]] == [
		["conntrack", "enabled", null], ["conntrack", "enabled", null],
		["ghost", "skipped", "'"$BG_BUILD"'/test/ghost.o not built"],
		["tcstage", "skipped", "the ruleset does not use feature ids"],
		["xdpstage", "skipped", "disabled in the registry ('"$reg"':5)"],
		["firewall", "enabled", null]] and
		.xdp_chain[0].prog_id == null' <<<"$output" >/dev/null ||
		fail "$(jq -c '.programs, .xdp_chain' <<<"$output")"

	# Switched on, the stage fills its slot; off again, it leaves it.
	sed -i 's/  0  off$/  0  always/' "$reg"
	run with_registry "$reg" up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"dut0: bg_test_stage in XDP chain slot 0"* ]] || fail "$output"
	[ "$(with_registry "$reg" status --json | jq '.xdp_chain[0].prog_id != null')" = true ]
	sed -i 's/  0  always$/  0  off/' "$reg"
	run with_registry "$reg" up dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"dut0: XDP chain slot 0 emptied (bg_test_stage)"* ]] || fail "$output"
	[ "$(with_registry "$reg" status --json | jq '.xdp_chain[0].prog_id')" = null ]
	run with_registry "$reg" down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(ls -A "$FW_BPFFS/tc/globals")" ] || fail "left: $(ls "$FW_BPFFS/tc/globals")"
}

@test "a required program without its object is an error, not a skip: nothing attached, nothing pinned" {
	reg=$(registry required <<-EOF
		$CT_IN
		$CT_OUT
		firewall  test/no_firewall.o  bg_fw_xdp  xdp  -  required
	EOF
	)
	run with_registry "$reg" up dut0
	[ "$status" -ne 0 ]
	[[ $output == *"$BG_BUILD/test/no_firewall.o missing: objects not built"* ]] ||
		fail "$output"
	run in_dut ip -d link show dev dut0
	[[ $output != *prog/xdp* ]] || fail "$output"
	[ -z "$(tc_chain ingress)" ]
	[ ! -e "$FW_BPFFS/tc" ] && [ ! -e "$FW_BPFFS/bpfguard" ] ||
		fail "pinned: $(ls -R "$FW_BPFFS")"
}

@test "a malformed registry is refused with its file and line, before anything changes" {
	bad()
	{
		reg=$(registry "bad$1" <<<"$(printf '%s\n' "$CT_IN" "$CT_OUT" "$FW" "$2")")
		run with_registry "$reg" up dut0
		[ "$status" -ne 0 ] || fail "accepted: $2"
		[[ $output == *"$reg:4: $3"* ]] || fail "$2: $output"
	}
	bad 1 'tcstage test/tc_stage_test.o bg_test_tc_ingress tc-ingress 10 always' \
		'tc-ingress 10 is taken by conntrack'
	bad 2 'xdpstage test/xdp_stage_test.o bg_test_stage xdp - always' \
		'xdp - is taken by firewall'
	bad 3 'tcstage test/tc_stage_test.o bg_ct_egress tc-ingress 30 always' \
		'program bg_ct_egress is on'
	bad 4 'tcstage test/tc_stage_test.o bg_test_tc_ingress tc-sideways 30 always' \
		"hook 'tc-sideways'"
	bad 5 'tcstage test/tc_stage_test.o bg_test_tc_ingress tc-ingress 0 always' \
		"tc-ingress needs a TC priority (1-65535), not '0'"
	bad 6 'tcstage test/tc_stage_test.o bg_test_tc_ingress tc-ingress 30' \
		'want 6 columns'
	bad 7 'tcstage ../../etc/x.o bg_test_tc_ingress tc-ingress 30 always' \
		"object '../../etc/x.o'"
	bad 8 'nat - bg_nat_ingress tc-ingress 20 required' \
		'a required program needs its object'
	run in_dut ip -d link show dev dut0
	[[ $output != *prog/xdp* ]] || fail "$output"
	[ ! -e "$FW_BPFFS/tc" ] && [ ! -e "$FW_BPFFS/bpfguard" ] ||
		fail "pinned: $(ls -R "$FW_BPFFS")"
}

@test "the shipped registry reserves the TC priorities and XDP slots of all eleven programs" {
	run bash -c 'source "$1/scripts/lib.sh"
		bg_registry_load
		for i in "${!BG_REG_NAME[@]}"; do
			echo "${BG_REG_NAME[i]} ${BG_REG_HOOK[i]} ${BG_REG_AT[i]} ${BG_REG_OBJ[i]}"
		done' _ "$BG_REPO"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "$(
		cat <<-'EOF'
			conntrack tc-ingress 10 tc_conntrack.o
			conntrack tc-egress 10 tc_conntrack.o
			nat tc-ingress 20 -
			scrub tc-ingress 30 tc_scrub.o
			threatintel tc-ingress 40 -
			threatintel tc-egress 40 -
			ids tc-ingress 50 -
			ids tc-egress 50 -
			dns tc-ingress 60 -
			dns tc-egress 60 -
			scrub tc-egress 85 tc_scrub.o
			nat tc-egress 90 -
			route tc-ingress 80 tc_route.o
			route tc-egress 5 tc_route.o
			ratelimit xdp-stage 0 xdp_ratelimit.o
			loadbalancer xdp-stage 1 xdp_loadbalancer.o
			firewall xdp - xdp_firewall.o
			dlp uprobe - -
		EOF
	)" ] || fail "$output"
	# The XDP slots are those of enum bg_xdp_slot.
	grep -q 'BG_XDP_SLOT_RATELIMIT = 0' "$BG_REPO/headers/bg_xdp_abi.h"
	grep -q 'BG_XDP_SLOT_LB = 1' "$BG_REPO/headers/bg_xdp_abi.h"
}
