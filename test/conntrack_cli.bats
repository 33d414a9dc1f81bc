#!/usr/bin/env bats
# conntrack.sh, the operator's view of the flow table, on real traffic.

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=cc$BATS_TEST_NUMBER-$$
	lab_setup
}

teardown()
{
	lab_teardown
	bpffs_teardown
}

ct_json()
{
	in_dut "$BG_REPO/scripts/conntrack.sh" --json "$@"
}

@test "conntrack.sh: flows with initiator view, local socket, cookie; --src and --flush --src" {
	up dut0 --rules "$BG_REPO/maps/default.rules"
	mkdir -p "$BG_TMP/www"
	echo hi >"$BG_TMP/www/index.html"
	ns_spawn "$DUT" /usr/bin/python3 -m http.server 8080 --bind :: \
		--directory "$BG_TMP/www"
	ns_spawn "$CLI" /usr/bin/python3 -m http.server 8081 --bind :: \
		--directory "$BG_TMP/www"
	wait_port "$DUT" 8080
	wait_port "$CLI" 8081
	# inbound to a local server, from .10; outbound from the host to .11
	[ "$(in_cli curl -s -m 3 --interface 192.0.2.10 http://192.0.2.1:8080/)" = hi ]
	[ "$(in_dut curl -s -m 3 http://192.0.2.11:8081/)" = hi ]
	[ "$(in_dut curl -s -m 3 "http://[2001:db8:1::12]:8081/")" = hi ]
	in_cli ping -c 2 -i 0.2 -I 192.0.2.11 192.0.2.1 >/dev/null

	run ct_json
	[ "$status" -eq 0 ] || fail "$output"
	all=$output
	jq -e '.[] | select(.proto == "tcp" and .src == "192.0.2.10" and
		.dst == "192.0.2.1" and .dport == 8080) |
		.local == true and .socket_cookie > 0 and .packets.orig > 0 and
		.packets.reply > 0 and .state == "time_wait"' <<<"$all" ||
		fail "inbound flow: $all"
	jq -e '.[] | select(.proto == "tcp" and .src == "192.0.2.1" and
		.dst == "192.0.2.11" and .dport == 8081) |
		.socket_cookie > 0 and .bytes.reply > 0' <<<"$all" ||
		fail "outbound flow: $all"
	jq -e '.[] | select(.proto == "tcp" and .src == "2001:db8:1::1" and
		.dst == "2001:db8:1::12") | .dport == 8081' <<<"$all" ||
		fail "IPv6 flow (RFC 5952 form): $all"
	jq -e '.[] | select(.proto == "icmp" and .src == "192.0.2.11") |
		.state == "established" and .sport == .dport' <<<"$all"

	run ct_json --src 192.0.2.11
	[ "$(jq 'length' <<<"$output")" -eq 2 ] || fail "$output"
	jq -e 'all(.[]; .src == "192.0.2.11" or .dst == "192.0.2.11")' <<<"$output"

	n_before=$(jq length <<<"$all")
	run in_dut "$BG_REPO/scripts/conntrack.sh" --flush --src 192.0.2.11
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"flushed 2 flow(s)"* ]] || fail "$output"
	run ct_json
	[ "$(jq length <<<"$output")" -eq $((n_before - 2)) ] || fail "$output"
	jq -e 'all(.[]; .src != "192.0.2.11" and .dst != "192.0.2.11")' <<<"$output"

	run in_dut "$BG_REPO/scripts/conntrack.sh"
	[[ ${lines[-1]} == *"flow(s)"* ]] || fail "$output"
	[[ $output == *"[LOCAL]"* ]] || fail "$output"
}
