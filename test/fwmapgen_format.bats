#!/usr/bin/env bats
# fwmapgen, the rules' text (rule_format.c) in bg_fw_rtext: every rule
# written back in canonical ruleset syntax from what was parsed, as
# status.sh shows it, and parsed again to the same rules.

load lib/fwmapgen

FMTCHECK=$BATS_TEST_DIRNAME/lib/fmtcheck.py

# texts: "@ID TEXT" per entry of bg_fw_rtext in the batch of t.rules
texts() {
	/usr/bin/python3 "$FMTCHECK" texts --fwmapgen "$FWMAPGEN" t.rules |
		jq -r 'to_entries[] | "@\(.key) \(.value.text)"'
}

@test "format: every keyword in grammar order, macros expanded, tables by name, lists sorted, ranges merged" {
	rules <<'EOF'
set default block
LAN = "192.0.2.0/24"
WEB = "{ 443, 80,   22 }"
table <admins> { 192.0.2.10, 2001:db8:1::/64 }
table <empty> { }
block   log   from <admins>   label "price # $LAN   kept"
pass on lo inet from !<admins>
pass inet6 proto tcp to port $WEB
pass proto udp from $LAN port 1024-65535 to any port { 53, 54, 55:60, 58 }
pass inet from { 198.51.100.0/24, 192.0.2.1/32, 192.0.2.1 } to 203.0.113.0/24
pass from { 192.0.2.7 } to { }
pass inet6 from <empty>
pass vlan 10 proto 6 from any port 1:2 flags S/SA state new
pass proto tcp flags S
pass proto tcp flags /SFRA
pass proto icmp icmp-type 8 code 0
pass proto icmp6 icmp-type 128
pass proto 47 mac-src 0A:BC:DE:F0:12:34 mac-dst 02:00:00:00:00:01
pass dscp 46
pass dscp 34
pass dscp 8
pass dscp 0
pass dscp 5
pass state invalid,related,established
pass inet6 from any to any
EOF
	run texts
	assert_eq "$status" 0
	assert_eq "$output" '@0 set default block
@1 block log from <admins> label "price # $LAN   kept"
@2 pass on lo inet from !<admins>
@3 pass inet6 proto tcp to port { 22, 80, 443 }
@4 pass proto udp from 192.0.2.0/24 port 1024:65535 to port 53:60
@5 pass from { 192.0.2.1, 198.51.100.0/24 } to 203.0.113.0/24
@6 pass from 192.0.2.7 to { }
@7 pass inet6 from <empty>
@8 pass vlan 10 proto tcp from port 1:2 flags S/SA state new
@9 pass proto tcp flags S
@10 pass proto tcp flags /FSRA
@11 pass proto icmp icmp-type 8 code 0
@12 pass proto icmp6 icmp-type 128
@13 pass proto 47 mac-src 0a:bc:de:f0:12:34 mac-dst 02:00:00:00:00:01
@14 pass dscp ef
@15 pass dscp af41
@16 pass dscp cs1
@17 pass dscp cs0
@18 pass dscp 5
@19 pass state established,related,invalid
@20 pass inet6'
	# "set default pass" when the ruleset leaves the default unset
	printf 'pass\n' >t.rules
	assert_eq "$(texts | head -n 1)" "@0 set default pass"
}

@test "format: every DSCP value parses back to itself" {
	local v
	for v in $(seq 0 63); do
		echo "pass dscp $v"
	done >t.rules
	texts | tail -n +2 | sed 's/^@[0-9]* //' >formatted.rules
	emit
	"$FWMAPGEN" --pin-dir /p formatted.rules >formatted.batch
	# the same DSCP vectors, so the same values
	assert_eq "$(grep /bg_fw_dscp formatted.batch)" "$(grep /bg_fw_dscp t.batch)"
	grep -q '^pass dscp af43$' formatted.rules
	grep -q '^pass dscp 63$' formatted.rules
}

@test "format: random rulesets, dressed up by hand, parse back from their texts to the same digest" {
	run /usr/bin/python3 "$FMTCHECK" roundtrip --fwmapgen "$FWMAPGEN" \
		--workdir "$BATS_TEST_TMPDIR" --seeds 150
	[ "$status" -eq 0 ] || fail "${output: -6000}"
	[[ ${lines[-1]} == "150 seeds, "*" rules: every text parses back to its rule" ]] ||
		fail "${lines[-1]}"
}

@test "format: a text that does not fit is cut at a blank, marked and flagged, with its whole length" {
	local list i canon
	list=$(for ((i = 1; i <= 60; i++)); do printf '2001:db8:%x::1, ' "$i"; done)
	printf 'block from { %s} label "long"\npass from 192.0.2.1\n' "$list" >t.rules
	canon="block from { ${list%, } } label \"long\""
	run /usr/bin/python3 "$FMTCHECK" texts --fwmapgen "$FWMAPGEN" t.rules
	assert_eq "$status" 0
	local size cut t
	size=$("$BATS_TEST_DIRNAME/../build/bg-abi" | jq -r .consts.BG_FW_RTEXT_LEN)
	cut=$("$BATS_TEST_DIRNAME/../build/bg-abi" | jq -r .consts.BG_FW_RTEXT_CUT)
	t=$(jq -r '."1".text' <<<"$output")
	jq -e --argjson n "${#canon}" '."1".cut and ."1".len == $n and
		(."2".cut | not) and ."2".len == 19 and ."2".text == "pass from 192.0.2.1"' <<<"$output"
	((${#canon} > size && ${#t} < size)) || fail "${#canon}, ${#t}: $t"
	# the start of the whole text, up to a blank, and the marker
	[[ $t == *"$cut" ]] || fail "$t"
	local whole=${t%"$cut"}
	((${#whole} > size - 30)) || fail "cut too early: $t"
	[[ ${canon:0:${#whole}} == "$whole" && ${canon:${#whole}:1} == " " ]] ||
		fail "not the start of the text up to a blank: $t"
	# the array keeps a NUL (bpftool shows it as a string then)
	emit
	grep -q "/bg_fw_rtext key hex $(le32 0) $(le32 1) value hex .* 00$" t.batch
}

@test "format: the texts are part of the digest" {
	# Two rulesets with the same classifier and rule information, one
	# naming the table, the other its address: only the texts differ.
	printf 'table <t> { 192.0.2.0/24 }\npass from 192.0.2.0/24\n' >t.rules
	emit
	mv t.batch a.batch
	local d
	d=$("$FWMAPGEN" --digest t.rules)
	printf 'table <t> { 192.0.2.0/24 }\npass from <t>\n' >t.rules
	emit
	# (and bg_fw_gens, which holds the digest)
	diff a.batch t.batch | grep '^[<>] map update' | grep -v /bg_fw_gens >d || true
	assert_eq "$(grep -c /bg_fw_rtext d)" 2
	assert_eq "$(wc -l <d)" 2
	[ "$("$FWMAPGEN" --digest t.rules)" != "$d" ]
}

@test "format: routing actions in grammar order after the limits, next hops in their shortest form, and back to the same digest" {
	rules <<'EOF2'
set default block
pass on lo inet proto tcp to 203.0.113.100 port 8080 state new route-to 198.51.100.18 label "via gw2"
pass inet6 from 2001:db8::/48 reply-to 2001:DB8:0:0::1 dup-to lo via 2001:db8:1:0:0:0:0:5
pass inet proto udp to port { 54, 53 } dup-to lo
pass inet proto tcp to port 22 max-src-conn 5 route-to 198.51.100.2 reply-to 198.51.100.3
pass inet6 proto tcp state new   max-states 10 route-to 2001:db8:c::2 reply-to 2001:db8:c:0::2 label "both"
pass inet vlan 7 dup-to lo via 203.0.113.9
pass inet proto icmp reply-to 192.0.2.1
EOF2
	run texts
	assert_eq "$status" 0
	assert_eq "$output" '@0 set default block
@1 pass on lo proto tcp to 203.0.113.100 port 8080 state new route-to 198.51.100.18 label "via gw2"
@2 pass from 2001:db8::/48 reply-to 2001:db8::1 dup-to lo via 2001:db8:1::5
@3 pass inet proto udp to port 53:54 dup-to lo
@4 pass inet proto tcp to port 22 max-src-conn 5 route-to 198.51.100.2 reply-to 198.51.100.3
@5 pass inet6 proto tcp state new max-states 10 route-to 2001:db8:c::2 reply-to 2001:db8:c::2 label "both"
@6 pass inet vlan 7 dup-to lo via 203.0.113.9
@7 pass proto icmp reply-to 192.0.2.1'
	# every rule replaced by its text: the same digest (the next hops,
	# the routing entries and the texts are in it)
	run /usr/bin/python3 "$FMTCHECK" check --fwmapgen "$FWMAPGEN" \
		--workdir "$BATS_TEST_TMPDIR" t.rules
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" "7 rules: every text parses back to its rule"
}
