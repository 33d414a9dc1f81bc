#!/usr/bin/env bats
# status.sh's rules: every rule as it runs, in ruleset syntax decoded from
# the pinned maps (bg_fw_rtext, not the file), with its hits; --json the
# same; and one rule id in --explain, status.sh, the XDP metadata
# conntrack keeps in a flow, and the log records bg-events prints. The
# DUT runs bpfguard on dut0 in its own namespace, the client namespace
# sends the traffic.

load lib/common

FMTCHECK=$BG_REPO/test/lib/fmtcheck.py

setup()
{
	bpffs_setup
	LAB_ID=st$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	bpffs_teardown
}

# Up with the ruleset on stdin, written to $BG_TMP/NAME.rules.
up_rules()
{
	RULES=$(ruleset "$1")
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
}

# fwmapgen's texts of ruleset $1: {"ID": text}
fmt_texts()
{
	"$PY" "$FMTCHECK" texts --fwmapgen "$FWMAPGEN" "$1" |
		jq -c 'map_values(.text)'
}

# status.sh --json's texts: {"ID": text}
status_texts()
{
	status_json | jq -c '.rules | map({key: (.id | tostring), value: .text}) | from_entries'
}

# The rules section of status.sh (no header) as "PACKETS BYTES @ID TEXT"
# lines, the columns' padding taken out.
status_rules()
{
	in_dut "$BG_REPO/scripts/status.sh" |
		sed -n '/^rules:$/,$p' | tail -n +3 |
		while read -r p b rest; do
			printf '%s %s %s\n' "$p" "$b" "$rest"
		done
}

@test "status.sh prints every rule as it runs with its hits, the default policy last; --json carries the same" {
	start_http "$DUT" 8080
	up_rules lab <<-'EOF'
		set default block
		ADMIN = "192.0.2.10"
		table <lab> { 192.0.2.0/24, 2001:db8:1::/64 }
		block log proto tcp from 192.0.2.12 to port 8080 label "no 12"
		pass   proto icmp   from $ADMIN
		pass proto icmp6 from <lab>
		pass proto tcp from <lab> to port { 8080, 22 }
		pass inet6 proto udp to port 9 label "C:\tmp\"
	EOF
	# rules 2, 3 and 4 pass a flow each (its later packets pass in
	# conntrack's phase 0, before the rules); rule 1 blocks SYNs; UDP to
	# port 9 of IPv4 meets the default policy
	in_cli ping -q -c 2 -i 0.2 -I 192.0.2.10 192.0.2.1 >/dev/null
	in_cli ping -q -c 2 -i 0.2 -I 2001:db8:1::10 2001:db8:1::1 >/dev/null
	[[ $(in_cli curl -s -m 3 --interface 192.0.2.11 http://192.0.2.1:8080/) == hello ]] ||
		fail "curl from 192.0.2.11 failed"
	run ! in_cli curl -s -m 1 --interface 192.0.2.12 http://192.0.2.1:8080/
	in_cli bash -c 'echo x >/dev/udp/192.0.2.1/9'
	sleep 0.2

	local js
	js=$(status_json) || fail "status.sh --json: $js"
	# the texts, as fwmapgen formats the file, the default policy's too
	assert_json()
	{
		jq -e "$1" <<<"$js" >/dev/null || fail "$1: $(jq -c .rules <<<"$js")"
	}
	assert_json '[.rules[].id] == [0, 1, 2, 3, 4, 5]'
	assert_json '.rules[0].text == "set default block"'
	assert_json '.rules[1].text == "block log proto tcp from 192.0.2.12 to port 8080 label \"no 12\""'
	assert_json '.rules[2].text == "pass proto icmp from 192.0.2.10"'
	assert_json '.rules[3].text == "pass proto icmp6 from <lab>"'
	assert_json '.rules[4].text == "pass proto tcp from <lab> to port { 22, 8080 }"'
	# (bpftool's JSON has a backslash as "\n": status.sh turns it back)
	assert_json '.rules[5].text == "pass inet6 proto udp to port 9 label \"C:\\tmp\\\""'
	assert_json '.rules[5].label == "C:\\tmp\\"'
	assert_json 'all(.rules[]; .text_cut == false)'
	[ "$(status_texts)" = "$(fmt_texts "$RULES")" ] ||
		fail "status: $(status_texts) fwmapgen: $(fmt_texts "$RULES")"
	# the hits: every rule the traffic met, none it did not
	assert_json '[.rules[] | select(.packets > 0) | .id] == [0, 1, 2, 3, 4]'
	assert_json 'all(.rules[]; (.packets > 0) == (.bytes > 0))'
	assert_json '(.rules[] | select(.id == 4) | .packets) == 1'

	# The same in the human output, in rule order, the default policy
	# last, each rule's line as a comment.
	run status_rules
	[ "$status" -eq 0 ] || fail "$output"
	local want
	want=$(jq -r '(.rules[1:] + .rules[:1])[] | "\(.packets) \(.bytes) @\(.id) \(.text)" +
		(if .line then "  # line \(.line)" else "" end)' <<<"$js")
	[ "$output" = "$want" ] || fail "status.sh:
$output
--json:
$want"
	[[ ${lines[0]} == *" @1 block log proto tcp from 192.0.2.12 to port 8080 label \"no 12\"  # line 4" ]]
	[[ ${lines[-1]} == *" @0 set default block" ]]
}

@test "status.sh shows the ruleset that runs, not the file as it is now; a switch shows the new one" {
	up_rules live <<-'EOF'
		pass from 192.0.2.10 label "one"
		block from 192.0.2.11
	EOF
	local before
	before=$(status_texts)
	[ "$before" = "$(fmt_texts "$RULES")" ] || fail "$before"
	# the file changes; what runs does not
	printf 'block from 192.0.2.12\n' >"$RULES"
	[ "$(status_texts)" = "$before" ] || fail "$(status_texts)"
	[[ $(status_rules) == *"@1 pass from 192.0.2.10 label \"one\"  # line 1"* ]] ||
		fail "$(status_rules)"
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(status_texts)" = '{"0":"set default pass","1":"block from 192.0.2.12"}' ] ||
		fail "$(status_texts)"
	# the old generation's texts went with it
	local gen
	gen=$(status_json | jq .ruleset.generation)
	bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_rtext" |
		jq -e --argjson g "$gen" 'length == 2 and all(.[].formatted.key.gen; . == $g)' ||
		fail "$(bpftool map dump pinned "$FW_BPFFS/tc/globals/bg_fw_rtext")"
}

@test "status.sh shows each rule's routing actions as the ruleset says them, in both outputs" {
	up_rules route <<-'EOF'
		set default pass
		pass inet proto tcp to port 8080 state new route-to 192.0.2.12 reply-to 192.0.2.11 label "routed"
		pass inet6 proto udp to port 53 reply-to 2001:DB8:1:0::10 dup-to dut0 via 2001:db8:1:0:0:0:0:12
		pass inet proto tcp to port 22 max-states 5 dup-to lo
	EOF
	[ "$(status_texts)" = "$(fmt_texts "$RULES")" ] ||
		fail "status: $(status_texts) fwmapgen: $(fmt_texts "$RULES")"
	[ "$(status_texts)" = '{"0":"set default pass","1":"pass inet proto tcp to port 8080 state new route-to 192.0.2.12 reply-to 192.0.2.11 label \"routed\"","2":"pass inet6 proto udp to port 53 reply-to 2001:db8:1::10 dup-to dut0 via 2001:db8:1::12","3":"pass inet proto tcp to port 22 max-states 5 dup-to lo"}' ] ||
		fail "$(status_texts)"
	run status_rules
	[ "$status" -eq 0 ] || fail "$output"
	[[ ${lines[1]} == *" @2 pass inet6 proto udp to port 53 reply-to 2001:db8:1::10 dup-to dut0 via 2001:db8:1::12  # line 3" ]] ||
		fail "$output"
}

@test "random rulesets through up.sh: status.sh shows exactly fwmapgen's texts" {
	local seed f want got
	for seed in 11 12 13 14; do
		f=$BG_TMP/rand-$seed.rules
		"$PY" "$FMTCHECK" gen --seed "$seed" --ifaces dut0,lo >"$f"
		run up dut0 --rules "$f"
		[ "$status" -eq 0 ] || fail "seed $seed: $output"
		want=$(fmt_texts "$f")
		got=$(status_texts)
		[ "$got" = "$want" ] || fail "seed $seed: status $got, fwmapgen $want"
		# and every text in the human output, under its id
		run status_rules
		[ "$status" -eq 0 ] || fail "$output"
		[ "${#lines[@]}" -eq "$(jq length <<<"$want")" ] ||
			fail "seed $seed: $output"
		jq -r 'to_entries[] | "@\(.key) \(.value)"' <<<"$want" |
			while read -r line; do
				grep -qF -- " $line" <<<"$output" ||
					fail "seed $seed: no '$line' in $output"
			done
	done
}

@test "the most rules there may be: 8192 texts in each generation across a switch; status.sh reads them in one go" {
	local i f1=$BG_TMP/max1.rules f2=$BG_TMP/max2.rules
	for ((i = 0; i < 4096; i++)); do
		printf 'pass proto tcp from 198.51.%d.%d to port %d label "v4 %d"\n' \
			$((i / 256)) $((i % 256)) $((1000 + i)) "$i"
	done >"$f1"
	for ((i = 0; i < 4096; i++)); do
		printf 'block from 2001:db8:%x::/48 to { 2001:db8::1, 2001:db8::2 }\n' "$i"
	done >>"$f1"
	sed 's/label "v4/label "IPv4/' "$f1" >"$f2"
	run up dut0 --rules "$f1"
	[ "$status" -eq 0 ] || fail "$output"
	# the switch fills the other generation while this one is there
	run up dut0 --rules "$f2"
	[ "$status" -eq 0 ] || fail "$output"
	local t0 t1 got
	t0=$(date +%s%N)
	got=$(status_texts)
	t1=$(date +%s%N)
	[ "$got" = "$(fmt_texts "$f2")" ] || fail "status.sh's texts differ from fwmapgen's"
	jq -e 'length == 8193 and ."4096" == "pass proto tcp from 198.51.15.255 to port 5095 label \"IPv4 4095\""' <<<"$got" >/dev/null ||
		fail "$(jq -c '[length, ."4096"]' <<<"$got")"
	# One dump and one jq program per map, not one per rule (which would
	# take minutes): seconds here, with room for a busy machine.
	echo "status.sh --json: $(((t1 - t0) / 1000000)) ms" >&3
	(((t1 - t0) / 1000000000 < 20)) || fail "status.sh took $(((t1 - t0) / 1000000)) ms"
}

@test "a long rule: status.sh shows the start of its text, marked as cut" {
	local list i
	list=$(for ((i = 1; i <= 60; i++)); do printf '2001:db8:%x::1, ' "$i"; done)
	up_rules long <<<"block from { $list} label \"long\""
	local cut js
	cut=$("$BG_BUILD/bg-abi" | jq -r .consts.BG_FW_RTEXT_CUT)
	js=$(status_json)
	jq -e --arg cut "$cut" '.rules[1] | .text_cut and
		(.text | startswith("block from { 2001:db8:1::1, 2001:db8:2::1,") and endswith($cut))' <<<"$js" ||
		fail "$(jq -c .rules <<<"$js")"
	[ "$(status_texts)" = "$(fmt_texts "$RULES")" ] || fail "$(status_texts)"
	[[ $(status_rules) == *"@1 block from { 2001:db8:1::1, "*"$cut  # line 1"* ]] ||
		fail "$(status_rules)"
}

@test "maps of a bpfguard without rule texts: status.sh shows the rules and their hits, without text" {
	up_rules old <<<'pass from 192.0.2.10'
	rm "$FW_BPFFS/tc/globals/bg_fw_rtext"
	run status_json
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '[.rules[] | [.id, .text]] == [[0, null], [1, null]]' <<<"$output" ||
		fail "$output"
	run status_rules
	[ "$status" -eq 0 ] || fail "$output"
	[[ ${lines[0]} == "0 0 @1 (no text: loaded by an older fwmapgen)  # line 1" ]] ||
		fail "$output"
}

@test "one rule id in --explain, status.sh, the XDP metadata conntrack keeps, and bg-events" {
	start_http "$DUT" 8080
	up_rules ids <<-'EOF'
		set default block
		block from 198.51.100.0/24
		pass proto udp to port 53
		pass log proto tcp from 192.0.2.11 to port 8080 label "watched"
		pass proto tcp to port 8080
	EOF
	# --explain names rule 3 for 192.0.2.11, rule 4 for 192.0.2.10
	run "$FWMAPGEN" --explain "$RULES" 'tcp 192.0.2.11:40000 -> 192.0.2.1:8080'
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[1]}" = "rule: 3 ($RULES:4)" ] || fail "$output"
	run "$FWMAPGEN" --explain "$RULES" 'tcp 192.0.2.10:40000 -> 192.0.2.1:8080'
	[ "${lines[1]}" = "rule: 4 ($RULES:5)" ] || fail "$output"

	# bg-events waits for the log rule's record while the client connects
	in_dut "$BG_BUILD/bg-events" --bpffs "$FW_BPFFS" --count 1 --timeout 15 \
		>"$BG_TMP/events" 2>"$BG_TMP/events.err" 3>&- &
	local reader=$!
	sleep 0.5
	[[ $(in_cli curl -s -m 3 --interface 192.0.2.11 http://192.0.2.1:8080/) == hello ]] ||
		fail "curl from 192.0.2.11 failed"
	[[ $(in_cli curl -s -m 3 --interface 192.0.2.10 http://192.0.2.1:8080/) == hello ]] ||
		fail "curl from 192.0.2.10 failed"
	wait "$reader" || fail "bg-events: $(cat "$BG_TMP/events.err")"

	# the log record
	jq -e '.rule == 3 and .action == "pass" and .src == "192.0.2.11" and
		.dport == 8080 and .proto == 6' "$BG_TMP/events" ||
		fail "$(cat "$BG_TMP/events")"
	# the flows: the rule XDP wrote into the metadata, kept by conntrack
	local ct
	ct=$(in_dut "$BG_REPO/scripts/conntrack.sh" --json)
	jq -e '[.[] | select(.proto == "tcp" and .dport == 8080) | {src, rule}] | sort_by(.src) ==
		[{src: "192.0.2.10", rule: 4}, {src: "192.0.2.11", rule: 3}]' <<<"$ct" ||
		fail "$ct"
	# status.sh: the hit counter and the text of the same id
	local js
	js=$(status_json)
	jq -e '.rules[3] | .id == 3 and .packets == 1 and
		.text == "pass log proto tcp from 192.0.2.11 to port 8080 label \"watched\""' <<<"$js" ||
		fail "$(jq -c .rules <<<"$js")"
	jq -e '.rules[4] | .id == 4 and .packets == 1' <<<"$js" || fail "$(jq -c .rules <<<"$js")"
	run status_rules
	[[ ${lines[2]} == "1 "*' @3 pass log proto tcp from 192.0.2.11 to port 8080 label "watched"  # line 4' ]] ||
		fail "$output"
}
