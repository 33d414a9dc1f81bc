#!/usr/bin/env bats
# What fwmapgen emits is what ends up in the kernel's maps: every entry of
# the batch is read back with bpftool, and the maps hold nothing else for
# that generation.

load lib/common

setup()
{
	bpffs_setup
}

teardown()
{
	netns_del "${UNS:-}"
	bpffs_teardown
}

load_rules()
{
	env BG_QUIET=1 bash -c 'set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$1"
}

active_gen()
{
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_active" \
		key hex 00 00 00 00 | jq '.formatted.value.gen'
}

# Read back every "map update" line of batch $1; count entries per map.
check_batch()
{
	local batch=$1 verb pinned path k hex rest key value got n=0 bad=0
	declare -A want_count=()
	while read -r verb _ pinned path k hex rest; do
		if [[ $verb != map || $pinned != pinned || $k != key || $hex != hex ]]; then
			echo "unexpected batch line: $verb $pinned $path"
			bad=1
			continue
		fi
		key=${rest%% value hex *}
		value=${rest#* value hex }
		# shellcheck disable=SC2086
		got=$(bpftool -j map lookup pinned "$path" key hex $key |
			jq -r 'if .values then [.values[].value | map(ltrimstr("0x")) | join(" ")] | unique | join("|")
				else .value | map(ltrimstr("0x")) | join(" ") end')
		if [[ $got != "$value" ]]; then
			echo "$(basename "$path") key $key: want $value, got $got"
			bad=1
		fi
		want_count[$path]=$((${want_count[$path]:-0} + 1))
		n=$((n + 1))
	done < <(grep -v '^#' "$batch")
	echo "$n entries read back"
	local gen
	gen=$(active_gen)
	for path in "${!want_count[@]}"; do
		case $(basename "$path") in
		bg_fw_src* | bg_fw_dst* | bg_fw_sport | bg_fw_dport | bg_rl_src*) off=4 ;;
		bg_fw_iface | bg_fw_vlan | bg_fw_mac | bg_fw_rinfo | \
			bg_fw_limits | bg_fw_rtext | bg_fw_route | bg_rl_pinfo) off=0 ;;
		*) continue ;; # arrays: every index exists
		esac
		have=$(bpftool -j map dump pinned "$path" |
			jq --argjson off "$off" --arg g "$(printf '0x%02x' "$gen")" \
				'[.[] | select(.key[$off] == $g)] | length')
		if [ "$have" -ne "${want_count[$path]}" ]; then
			echo "$(basename "$path"): $have entries of generation $gen, batch has ${want_count[$path]}"
			bad=1
		fi
	done
	return $bad
}

@test "every emitted entry is in the maps, byte for byte, and nothing else; a switch leaves nothing of the old generation" {
	printf '192.0.2.128/25\n2001:db8:f::/48\n' >"$BG_TMP/t.txt"
	rules=$(ruleset r <<-'EOF'
		set default block
		table <t> file "t.txt"
		table <m> { 198.51.100.0/24, 2001:db8:1::/64 }
		pass log on lo from 192.0.2.0/24 to !<m> label "lan out"
		block from <t>
		pass inet6 from any to { 2001:db8:1::5, 2001:db8:2::/64 }
		pass from !198.51.100.7 label "all but one"
		pass proto tcp from any port 1024:65535 to 203.0.113.0/24 port { 22, 80 }
		block vlan 7 mac-src 02:00:00:00:00:01
		pass proto tcp to 192.0.2.1 port 22 max-src-conn 10
		pass inet from 192.0.2.0/24 route-to 198.51.100.1
		ratelimit from 192.0.2.0/24 rate 10/second per-source label "rl"
		ratelimit inet6 proto udp to 2001:db8::1 port 53 rate 5/minute
	EOF
	)
	load_rules "$rules"
	gen=$(active_gen)
	# The ruleset fills every map whose keys carry the generation.
	before=$(gen_entries "$gen")
	for m in bg_fw_src4 bg_fw_dst4 bg_fw_src6 bg_fw_dst6 bg_fw_sport \
		bg_fw_dport bg_fw_iface bg_fw_vlan bg_fw_mac bg_fw_rinfo \
		bg_fw_limits bg_fw_rtext bg_fw_route bg_rl_src4 bg_rl_src6 \
		bg_rl_pinfo; do
		grep -q "^$m [1-9]" <<<"$before" ||
			fail "$m has no entry of generation $gen: $before"
	done
	"$FWMAPGEN" --gen "$gen" --pin-dir "$FW_BPFFS/tc/globals" -o "$BG_TMP/b" "$rules"
	run check_batch "$BG_TMP/b"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"entries read back"* ]]
	# Switch to another ruleset: the new generation reads back exactly too,
	# and the old one is gone from every map.
	rules2=$(ruleset r2 <<<'block from 203.0.113.0/24')
	load_rules "$rules2"
	gen2=$(active_gen)
	[ "$gen2" -ne "$gen" ]
	"$FWMAPGEN" --gen "$gen2" --pin-dir "$FW_BPFFS/tc/globals" -o "$BG_TMP/b2" "$rules2"
	run check_batch "$BG_TMP/b2"
	[ "$status" -eq 0 ] || fail "$output"
	left=$(gen_entries "$gen")
	[ -z "$left" ] || fail "left of generation $gen: $left"
	[ -n "$(gen_entries "$gen2")" ]
}

@test "a 100,000-entry table loads, classifies, and is purged by the next switch" {
	"$PY" "$BG_REPO/bench/mkblocklist.py" "$BG_TMP/big.txt" 100000 3
	echo 192.0.2.55 >>"$BG_TMP/big.txt"
	rules=$(ruleset big <<-'EOF'
		table <block> file "big.txt"
		block from <block>
	EOF
	)
	load_rules "$rules"
	n=$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_src4" | jq length)
	[ "$n" -gt 40000 ] || fail "only $n IPv4 prefixes loaded"
	UNS=bgc-$$
	ip netns add "$UNS"
	run bash -c "'$PY' '$PKT' 'udp4(src=\"192.0.2.55\")' 'udp4(src=\"192.0.2.56\")' |
		nsenter --net=/run/netns/$UNS '$PY' '$BG_REPO/test/lib/fwcheck.py' --bpffs '$FW_BPFFS'"
	[ "${lines[0]}" = "XDP_DROP 1 SAME" ] || fail "$output"
	[ "${lines[1]}" = "XDP_PASS 0 SAME" ] || fail "$output"
	gen=$(active_gen)
	load_rules "$(ruleset small <<<'pass from any')"
	n=$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_src4" | jq length)
	[ "$n" -le 2 ] || fail "$n IPv4 prefixes left after the switch"
	left=$(gen_entries "$gen")
	[ -z "$left" ] || fail "left of generation $gen: $left"
}

@test "bg-purge deletes every entry of one generation and nothing else; checks every map before deleting" {
	load_rules "$(ruleset r <<<'block from 192.0.2.0/24 to 198.51.100.7')"
	[ "$(active_gen)" -eq 0 ]
	g=$FW_BPFFS/tc/globals
	zero88=$(printf '00 %.0s' $(seq 88))
	# Generation 1 beside generation 0, and generation 257, whose low
	# byte is 1 too: the whole 32-bit generation decides.
	for k in "01 00 00 00 01 00 00 00" "01 00 00 00 02 00 00 00" \
		"01 00 00 00 03 00 00 00" "01 01 00 00 01 00 00 00"; do
		# shellcheck disable=SC2086
		bpftool map update pinned "$g/bg_fw_rinfo" key hex $k value hex $zero88
	done
	bpftool map update pinned "$g/bg_fw_src4" \
		key hex 38 00 00 00 01 00 00 00 c0 00 02 00 value hex 01 00 00 00
	before0=$(gen_entries 0)
	[[ $before0 == *"bg_fw_rinfo "* && $before0 == *"bg_fw_src4 "* ]] || fail "$before0"
	[ "$(gen_entries 1 | sort | tr '\n' ' ')" = "bg_fw_rinfo 3 bg_fw_src4 1 " ] ||
		fail "$(gen_entries 1)"
	# An array among the maps: refused before anything is deleted.
	run --separate-stderr "$BG_BUILD/bg-purge" 1 "0:$g/bg_fw_rinfo" "0:$g/bg_fw_vec"
	[ "$status" -eq 1 ] || fail "status $status"
	[ "$stderr" = "bg-purge: $g/bg_fw_vec: an array has no entries to delete" ] || fail "$stderr"
	[ -n "$(gen_entries 1)" ]
	run --separate-stderr "$BG_BUILD/bg-purge" 1 "5:$g/bg_fw_rinfo"
	[ "$status" -eq 1 ] || fail "status $status"
	[ "$stderr" = "bg-purge: $g/bg_fw_rinfo: its keys have 8 bytes, no generation at byte 5" ] ||
		fail "$stderr"
	for bad in "$g/bg_fw_rinfo" "x:$g/bg_fw_rinfo" "0:"; do
		run --separate-stderr "$BG_BUILD/bg-purge" 1 "$bad"
		[ "$status" -eq 2 ] || fail "$bad: status $status"
	done
	run --separate-stderr "$BG_BUILD/bg-purge" -v 1 "0:$g/bg_fw_rinfo" "4:$g/bg_fw_src4"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "$g/bg_fw_rinfo 3"$'\n'"$g/bg_fw_src4 1" ] || fail "$output"
	[ -z "$(gen_entries 1)" ] || fail "$(gen_entries 1)"
	[ "$(gen_entries 0)" = "$before0" ] || fail "$(gen_entries 0)"
	bpftool map lookup pinned "$g/bg_fw_rinfo" key hex 01 01 00 00 01 00 00 00 >/dev/null
	# Nothing of the generation left: nothing to do, still success.
	run "$BG_BUILD/bg-purge" -v 1 "0:$g/bg_fw_rinfo"
	[ "$status" -eq 0 ] && [ "$output" = "$g/bg_fw_rinfo 0" ] || fail "$output"
}
