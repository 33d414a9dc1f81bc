#!/usr/bin/env bats
# End to end, through the real stack: tc_scrub on a gateway, with curl
# through it and tcpdump -vv checking every checksum of what comes out.
# A gateway lab of three namespaces (gw_lab_setup, test/lib/common.bash):
#
#   $OUT  oA0 198.51.100.10 2001:db8:2::10   the client
#   $DUT  dut0 198.51.100.1 2001:db8:2::1    bpfguard here (outside)
#         dut1 203.0.113.1  2001:db8:3::1    forwarding to the inside
#   $IN   iN0 203.0.113.10  2001:db8:3::10   a web server behind it
#
# The server sends with checksum offload (iN0's default): its segments
# reach the gateway as CHECKSUM_PARTIAL, with only the pseudo-header's
# sum in the field, and so do the gateway's own. dut0 sends without
# offload, so the kernel finishes those checksums as they leave dut0,
# after tc egress: a wrong rewrite of a partial checksum shows as
# "incorrect" in the client's capture.

load lib/common

RULES='pass
scrub on dut0 in (min-ttl 100, max-mss 1200, no-df, random-id)
scrub on dut0 out (max-mss 1100)'

setup()
{
	bpffs_setup
	gw_lab_setup "scr$BATS_TEST_NUMBER-$$"
	# The client's and the gateway's outside sums are whole on the wire;
	# the server's segments are real ones (no TSO: their size is the
	# MSS it was given), checksummed by "hardware".
	in_ns "$OUT" ethtool -K oA0 tx off >/dev/null
	in_ns "$DUT" ethtool -K dut0 tx off >/dev/null
	in_ns "$DUT" ethtool -K dut1 tx off >/dev/null
	in_ns "$IN" ethtool -K iN0 tso off gso off >/dev/null
	head -c 1000000 /dev/urandom >"$BG_TMP/big"
}

teardown()
{
	gw_lab_teardown
	bpffs_teardown
}

up_dut()
{
	local f
	f=$(ruleset rules)
	run in_ns "$DUT" "$BG_REPO/scripts/up.sh" dut0 --rules "$f"
	[ "$status" -eq 0 ] || fail "up.sh: $output"
}

# serve NS: http.server on port 8080 of NS serving $BG_TMP (file "big").
serve()
{
	ns_spawn "$1" /usr/bin/python3 -m http.server 8080 --bind :: \
		--directory "$BG_TMP"
	wait_port "$1" 8080
}

# fetch HOST: curl from $OUT, the download checked against the file.
fetch()
{
	in_ns "$OUT" curl -sS --max-time 20 -o "$BG_TMP/got" "http://$1:8080/big" ||
		fail "curl $1 failed"
	cmp -s "$BG_TMP/big" "$BG_TMP/got" || fail "curl $1: the download differs"
}

# decode NAME [FILTER]: capture NAME as tcpdump -vv decodes it (each packet
# on one line).
decode()
{
	local name=$1
	shift
	tcpdump -r "$BG_TMP/$name.pcap" -n -vv -tt "$@" 2>/dev/null |
		awk '/^[0-9]/ { if (l != "") print l; l = $0; next } { l = l " " $0 } END { if (l != "") print l }'
}

# sums_right NAME N FILTER: no checksum of the packets FILTER selects in
# capture NAME is wrong, and at least N were checked.
sums_right()
{
	local name=$1 want=$2 bad good
	shift 2
	bad=$(decode "$name" "$@" | grep -ciE 'incorrect|bad cksum' || true)
	good=$(decode "$name" "$@" | grep -c 'cksum 0x[0-9a-f]* (correct)' || true)
	((bad == 0)) || fail "$name: $bad packets with a wrong checksum: $(decode "$name" "$@" | grep -iE 'incorrect|bad cksum' | head -3)"
	((good >= want)) || fail "$name: only $good checksums verified, want $want"
}

# The TC filter of bpfguard at pref $2 on dut0 direction $1, if any.
tc_at()
{
	in_ns "$DUT" tc filter show dev dut0 "$1" pref "$2"
}

@test "forwarded TCP, IPv4 and IPv6: SYN clamped, TTL raised, DF cleared, IDs random, the answer's segments fit, checksums right" {
	up_dut <<<"$RULES"
	serve "$IN"
	capture_start in "$IN" iN0 tcp port 8080
	capture_start out "$OUT" oA0 tcp port 8080
	fetch 203.0.113.10
	fetch '[2001:db8:3::10]'
	capture_stop in >/dev/null
	capture_stop out >/dev/null
	local syn4 syn6 ids seq n
	# What the server got from the client (after the gateway).
	syn4=$(decode in 'src host 198.51.100.10 and tcp[tcpflags] == tcp-syn')
	[[ $syn4 == *"ttl 99,"* ]] || fail "IPv4 SYN: $syn4"
	[[ $syn4 == *"flags [none]"* ]] || fail "IPv4 SYN kept DF: $syn4"
	[[ $syn4 == *"mss 1200,"* ]] || fail "IPv4 SYN: $syn4"
	syn6=$(decode in 'src host 2001:db8:2::10 and ip6[40+13] == 2')
	[[ $syn6 == *"hlim 99,"* ]] || fail "IPv6 SYN: $syn6"
	[[ $syn6 == *"mss 1200,"* ]] || fail "IPv6 SYN: $syn6"
	# (the capture also holds the server's own segments, as it sent
	# them: with partial sums)
	sums_right in 100 src host 198.51.100.10 or src host 2001:db8:2::10
	# Every packet of the client with a random identification: Linux
	# counts them up per connection, so consecutive ones differ by 1.
	mapfile -t ids < <(decode in 'src host 198.51.100.10' |
		sed -n 's/.* id \([0-9]*\),.*/\1/p')
	((${#ids[@]} >= 40)) || fail "only ${#ids[@]} IPv4 packets of the client"
	seq=0
	for ((n = 1; n < ${#ids[@]}; n++)); do
		((ids[n] != (ids[n - 1] + 1) % 65536)) || seq=$((seq + 1))
	done
	((seq < 4)) || fail "$seq of ${#ids[@]} identifications count up: ${ids[*]:0:20}"
	# What the client got: the server's SYN-ACKs as the gateway clamped
	# them on the way out, the data in segments of the clamped size (the
	# server's default would be 1448), every sum right.
	[[ $(decode out 'src host 203.0.113.10 and tcp[tcpflags] == tcp-syn|tcp-ack') == *"mss 1100,"* ]] ||
		fail "IPv4 SYN-ACK: $(decode out 'src host 203.0.113.10' | head -1)"
	[[ $(decode out 'src host 2001:db8:3::10 and ip6[40+13] == 18') == *"mss 1100,"* ]] ||
		fail "IPv6 SYN-ACK: $(decode out 'src host 2001:db8:3::10' | head -1)"
	local max
	max=$(decode out 'src host 203.0.113.10 or src host 2001:db8:3::10' |
		awk '{ n = split($0, a, ", length "); print a[n] + 0 }' | sort -n | tail -1)
	((max > 1000 && max <= 1200)) || fail "largest segment to the client: $max bytes"
	sums_right out 100 src host 203.0.113.10 or src host 2001:db8:3::10
	# status: what it did, counted
	local st
	st=$(in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json)
	(($(jq .scrub.entries <<<"$st") == 4)) || fail "$(jq -c .scrub <<<"$st")"
	(($(jq .scrub.counters.mss_clamped <<<"$st") >= 4)) || fail "$(jq -c .scrub <<<"$st")"
	(($(jq .scrub.counters.ttl_raised <<<"$st") >= 100)) || fail "$(jq -c .scrub <<<"$st")"
	(($(jq .scrub.counters.id_randomized <<<"$st") >= 40)) || fail "$(jq -c .scrub <<<"$st")"
	(($(jq .scrub.counters.df_cleared <<<"$st") >= 40)) || fail "$(jq -c .scrub <<<"$st")"
	run in_ns "$DUT" "$BG_REPO/scripts/status.sh"
	[[ $output == *"scrub: 4 entries, matched "* ]] || fail "$output"
}

@test "the gateway's own SYN-ACK (CHECKSUM_PARTIAL at tc egress) is clamped with its checksum right" {
	up_dut <<<"$RULES"
	serve "$DUT"
	capture_start out "$OUT" oA0 tcp port 8080
	fetch 198.51.100.1
	fetch '[2001:db8:2::1]'
	capture_stop out >/dev/null
	[[ $(decode out 'src host 198.51.100.1 and tcp[tcpflags] == tcp-syn|tcp-ack') == *"mss 1100,"* ]] ||
		fail "IPv4 SYN-ACK: $(decode out 'src host 198.51.100.1' | head -1)"
	[[ $(decode out 'src host 2001:db8:2::1 and ip6[40+13] == 18') == *"mss 1100,"* ]] ||
		fail "IPv6 SYN-ACK: $(decode out 'src host 2001:db8:2::1' | head -1)"
	sums_right out 100 src host 198.51.100.1 or src host 2001:db8:2::1
}

@test "a ruleset without scrub takes tc_scrub off; down.sh leaves no filter" {
	up_dut <<<"$RULES"
	[[ $(tc_at ingress 30) == *bg_scrub_ingres* ]] || fail "ingress: $(tc_at ingress 30)"
	[[ $(tc_at egress 85) == *bg_scrub_egress* ]] || fail "egress: $(tc_at egress 85)"
	up_dut <<<"pass"
	[ -z "$(tc_at ingress 30)" ] || fail "still on ingress: $(tc_at ingress 30)"
	[ -z "$(tc_at egress 85)" ] || fail "still on egress: $(tc_at egress 85)"
	run in_ns "$DUT" "$BG_REPO/scripts/status.sh" --json
	[ "$(jq -c '[.programs[] | select(.name == "scrub") | .state]' <<<"$output")" = '["skipped","skipped"]' ] ||
		fail "$(jq -c '.programs[] | select(.name == "scrub")' <<<"$output")"
	up_dut <<<"$RULES"
	run in_ns "$DUT" "$BG_REPO/scripts/down.sh" dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(in_ns "$DUT" tc filter show dev dut0 ingress)" ]
	[ -z "$(in_ns "$DUT" tc filter show dev dut0 egress)" ]
}
