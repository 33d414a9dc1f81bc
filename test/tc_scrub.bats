#!/usr/bin/env bats
# tc_scrub through BPF_PROG_TEST_RUN: each rewrite's output frame against
# one scapy builds with the values expected (its checksums computed by
# scapy, not by bpfguard), the statements' matching, what it leaves alone,
# and the ruleset's errors (fwmapgen).

load lib/common

setup()
{
	bpffs_setup
	UNS=bgs-$BATS_TEST_NUMBER-$$
	ip netns add "$UNS"
	ip -n "$UNS" link set lo up
}

teardown()
{
	netns_del "$UNS"
	bpffs_teardown
}

# The firewall's maps, tc_scrub (unattached) and ruleset $1; sets
# SCRUB_IN and SCRUB_OUT, the pinned programs.
scrub_load()
{
	printf '%s\n' "$1" >"$BG_TMP/t.rules"
	fw_load_in "$UNS" "$BG_TMP/t.rules" tc_scrub.o:bg_scrub_ingress
	SCRUB_IN=$(echo "$FW_BPFFS"/bpfguard/*/bg_scrub_ingress)
	SCRUB_OUT=$(echo "$FW_BPFFS"/bpfguard/*/bg_scrub_egress)
	[[ -e $SCRUB_IN && -e $SCRUB_OUT ]] || fail "tc_scrub not pinned"
}

# A fixture (test/lib/fixture.py) with both programs and the counters.
fixture()
{
	{
		echo "prog in $SCRUB_IN"
		echo "prog out $SCRUB_OUT"
		echo "map stats $FW_BPFFS/tc/globals/bg_scrub_stats"
		cat
	} | in_ns "$UNS" /usr/bin/python3 "$BG_REPO/test/lib/fixture.py"
}

# Counter $1 (enum bg_scrub_stat, without BG_SCRUB_STAT_) summed.
stat_idx()
{
	"$BG_BUILD/bg-abi" | jq ".enums.bg_scrub_stat.BG_SCRUB_STAT_$1"
}

V4='src="192.0.2.10", dst="198.51.100.1"'
V6='src="2001:db8:1::10", dst="2001:db8:2::1"'

@test "objects: two TC sections, maps named bg_scrub*, pinned with BTF, attached by iproute2" {
	scrub_load 'scrub (min-ttl 64)'
	local m
	for p in "$SCRUB_IN" "$SCRUB_OUT"; do
		run bpftool -j prog show pinned "$p"
		[ "$(jq -r .type <<<"$output")" = sched_cls ]
	done
	for m in bg_scrub_config bg_scrub_rules bg_scrub_stats; do
		run bpftool -j map show pinned "$FW_BPFFS/tc/globals/$m"
		[ "$status" -eq 0 ] || fail "no pinned map $m"
		[ "$(jq '.btf_id // 0' <<<"$output")" -gt 0 ] || fail "$m has no BTF"
	done
	ip -n "$UNS" link add name sc0 type veth peer name sc1
	tc -n "$UNS" qdisc add dev sc0 clsact
	tc -n "$UNS" filter add dev sc0 ingress bpf da obj "$BG_BUILD/tc_scrub.o" sec tc/ingress
	tc -n "$UNS" filter add dev sc0 egress bpf da obj "$BG_BUILD/tc_scrub.o" sec tc/egress
	tc -n "$UNS" filter show dev sc0 ingress | grep -q 'tc_scrub.o:\[tc/ingress\]'
	tc -n "$UNS" filter show dev sc0 egress | grep -q 'tc_scrub.o:\[tc/egress\]'
}

@test "min-ttl: TTL and hop limit raised to the minimum, IPv4 header checksum right, higher ones kept" {
	scrub_load 'scrub (min-ttl 64)'
	fixture <<-EOF
		run in udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> udp4($V4, ttl=64)
		run out tcp4($V4, ttl=63, flags="A") :: TC_ACT_UNSPEC -> tcp4($V4, ttl=64, flags="A")
		run in udp4($V4, ttl=64) :: TC_ACT_UNSPEC -> same
		run in udp4($V4, ttl=200) :: TC_ACT_UNSPEC -> same
		run in icmp6($V6, hlim=2) :: TC_ACT_UNSPEC -> icmp6($V6, hlim=64)
		run out udp6($V6, hlim=255) :: TC_ACT_UNSPEC -> same
		# behind 802.1Q tags in the frame (the outer one of a received
		# frame is usually in the skb instead)
		run in udp4($V4, ttl=1, vlans=(10,)) :: TC_ACT_UNSPEC -> udp4($V4, ttl=64, vlans=(10,))
		run in tcp6($V6, hlim=1, vlans=(10, 20), flags="A") :: TC_ACT_UNSPEC -> tcp6($V6, hlim=64, vlans=(10, 20), flags="A")
		value stats $(stat_idx TTL_RAISED) u64sum :: value=5
		value stats $(stat_idx MATCHED) u64sum :: value=8
	EOF
}

@test "max-mss: the MSS of SYN and SYN-ACK clamped in any option order (odd offsets too), TCP checksum right" {
	scrub_load 'scrub (max-mss 1400)'
	local ts='("Timestamp", (1, 0))'
	fixture <<-EOF
		run in tcp4($V4, tcp_options=[("MSS", 1460)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("MSS", 1400)])
		run out tcp4($V4, flags="SA", tcp_options=[("MSS", 65495)]) :: TC_ACT_UNSPEC -> tcp4($V4, flags="SA", tcp_options=[("MSS", 1400)])
		# after a lone NOP: the MSS at an odd offset of the segment
		run in tcp4($V4, tcp_options=[("NOP", None), ("MSS", 1460)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("NOP", None), ("MSS", 1400)])
		run in tcp4($V4, tcp_options=[("SAckOK", b""), $ts, ("NOP", None), ("WScale", 7), ("MSS", 9000)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("SAckOK", b""), $ts, ("NOP", None), ("WScale", 7), ("MSS", 1400)])
		run in tcp4($V4, tcp_options=[("NOP", None), ("NOP", None), ("NOP", None), $ts, ("MSS", 1401)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("NOP", None), ("NOP", None), ("NOP", None), $ts, ("MSS", 1400)])
		run in tcp6($V6, tcp_options=[("MSS", 1440)]) :: TC_ACT_UNSPEC -> tcp6($V6, tcp_options=[("MSS", 1400)])
		run in tcp6($V6, ext=["hbh", "dstopts"], tcp_options=[("WScale", 2), ("MSS", 1440)]) :: TC_ACT_UNSPEC -> tcp6($V6, ext=["hbh", "dstopts"], tcp_options=[("WScale", 2), ("MSS", 1400)])
		run in tcp4($V4, tcp_options=[("MSS", 1460)], payload=b"data in a SYN") :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("MSS", 1400)], payload=b"data in a SYN")
		value stats $(stat_idx MSS_CLAMPED) u64sum :: value=8
	EOF
}

@test "max-mss leaves alone: a lower MSS, no SYN, no MSS, options cut short or past the datagram, 40 NOPs" {
	scrub_load 'scrub (max-mss 1400)'
	fixture <<-EOF
		run in tcp4($V4, tcp_options=[("MSS", 1400)]) :: TC_ACT_UNSPEC -> same
		run in tcp4($V4, tcp_options=[("MSS", 536)]) :: TC_ACT_UNSPEC -> same
		run in tcp4($V4, flags="A", tcp_options=[("MSS", 1460)]) :: TC_ACT_UNSPEC -> same
		run in tcp4($V4, tcp_options=[("WScale", 7), ("SAckOK", b"")]) :: TC_ACT_UNSPEC -> same
		run in tcp4($V4) :: TC_ACT_UNSPEC -> same
		# an option whose length runs past the header (before the MSS)
		run in patch(tcp4($V4, tcp_options=[("WScale", 7), ("NOP", None), ("MSS", 1460)]), 14 + 20 + 21, b"\x20") :: TC_ACT_UNSPEC -> same
		# an MSS of length 3 (skipped, as Linux does, and its last byte is
		# an option cut short), and one of length 0
		run in patch(tcp4($V4, tcp_options=[("MSS", 1460)]), 14 + 20 + 21, b"\x03") :: TC_ACT_UNSPEC -> same
		run in patch(tcp4($V4, tcp_options=[("MSS", 1460)]), 14 + 20 + 21, b"\x00") :: TC_ACT_UNSPEC -> same
		# the header says options the datagram does not hold
		run in truncate(tcp4($V4, tcp_options=[("MSS", 1460)]), 14 + 20 + 22) :: TC_ACT_UNSPEC -> same
		run in bad_tcp_doff(tcp4($V4, tcp_options=[("MSS", 1460)]), 15) :: TC_ACT_UNSPEC -> same
		run in bad_tcp_doff(tcp4($V4, tcp_options=[("MSS", 1460)]), 4) :: TC_ACT_UNSPEC -> same
		# a fragment: no TCP header of its own to read
		run in ipv4(b"\x9c\x40\x00\x50" * 8, proto=6, frag=3, $V4) :: TC_ACT_UNSPEC -> same
		# 40 NOPs: nothing to do, nothing wrong
		run in tcp4($V4, tcp_options=[("NOP", None)] * 40) :: TC_ACT_UNSPEC -> same
		# options in the frame's padding, past the datagram's end
		run in patch(tcp4($V4) + b"\x02\x04\x23\x28", 14 + 20 + 12, b"\x60") :: TC_ACT_UNSPEC -> same
		value stats $(stat_idx MSS_CLAMPED) u64sum :: value=0
		value stats $(stat_idx OPT_MALFORMED) u64sum :: value=5
	EOF
}

@test "max-mss: every MSS option lowered (Linux takes the last), one of another length skipped as Linux does, MSS 0 kept, what comes before a malformed option" {
	scrub_load 'scrub (max-mss 1400)'
	# O: the first option's kind byte (IPv4, no IP options)
	local o=$((14 + 20 + 20))
	fixture <<-EOF
		run in tcp4($V4, tcp_options=[("MSS", 1024), ("MSS", 9000)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("MSS", 1024), ("MSS", 1400)])
		run in tcp4($V4, tcp_options=[("MSS", 9000), ("NOP", None), ("MSS", 9000)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("MSS", 1400), ("NOP", None), ("MSS", 1400)])
		run in tcp4($V4, tcp_options=[("MSS", 0), ("MSS", 9000)]) :: TC_ACT_UNSPEC -> tcp4($V4, tcp_options=[("MSS", 0), ("MSS", 1400)])
		# kind 2 of length 6: not an MSS to Linux, nor here
		run in fix_tcp_csum(patch(tcp4($V4, tcp_options=[(30, b"\xff\xff\xff\xff"), ("MSS", 9000)]), $o, b"\x02")) :: TC_ACT_UNSPEC -> fix_tcp_csum(patch(tcp4($V4, tcp_options=[(30, b"\xff\xff\xff\xff"), ("MSS", 1400)]), $o, b"\x02"))
		# an option running past the others ends the walk; the MSS before
		# it counts (for Linux too), the one after it does not
		run in fix_tcp_csum(patch(tcp4($V4, tcp_options=[("MSS", 9000), (30, b"\x00\x00"), ("MSS", 9000)]), $o + 5, b"\x30")) :: TC_ACT_UNSPEC -> fix_tcp_csum(patch(tcp4($V4, tcp_options=[("MSS", 1400), (30, b"\x00\x00"), ("MSS", 9000)]), $o + 5, b"\x30"))
		# behind IPv4 options
		run in tcp4($V4, options=b"\x01\x01\x01\x00", tcp_options=[("MSS", 1460)]) :: TC_ACT_UNSPEC -> tcp4($V4, options=b"\x01\x01\x01\x00", tcp_options=[("MSS", 1400)])
		value stats $(stat_idx MSS_CLAMPED) u64sum :: value=7
		value stats $(stat_idx OPT_MALFORMED) u64sum :: value=1
	EOF
}

@test "a statement for both families with only IPv4 options does not hide a later IPv6 one; GSO packets keep DF and identification" {
	scrub_load 'scrub (no-df, random-id)
scrub inet6 (max-mss 1220, min-ttl 64)'
	fixture <<-EOF
		run in tcp6($V6, hlim=9, tcp_options=[("MSS", 1440)]) :: TC_ACT_UNSPEC -> tcp6($V6, hlim=64, tcp_options=[("MSS", 1220)])
		run in tcp4($V4, flags="A", df=True, ident=7, payload=b"x" * 2000) @gso=1000 :: TC_ACT_UNSPEC -> same
		value stats $(stat_idx GSO_KEPT) u64sum :: value=1
	EOF
}

@test "neighbour discovery keeps its hop limit (RFC 4861: 255 or off the link)" {
	scrub_load 'scrub in (min-ttl 255)'
	fixture <<-EOF
		run in nd_ns(hlim=64) :: TC_ACT_UNSPEC -> same
		run in nd_ra(hlim=1) :: TC_ACT_UNSPEC -> same
		run in nd_redirect(hlim=254) :: TC_ACT_UNSPEC -> same
		run in icmp6($V6, hlim=1) :: TC_ACT_UNSPEC -> icmp6($V6, hlim=255)
		# behind extension headers (Linux's ndisc_rcv takes those too)
		run in nd_na(hlim=64, ext=["dstopts"]) :: TC_ACT_UNSPEC -> same
		run in nd_ns(hlim=64, ext=["hbh", "dstopts"]) :: TC_ACT_UNSPEC -> same
		run in icmp6($V6, hlim=1, ext=["dstopts"]) :: TC_ACT_UNSPEC -> icmp6($V6, hlim=255, ext=["dstopts"])
		# more extension headers than it walks: kept
		run in icmp6($V6, hlim=1, ext=["dstopts"] * 5) :: TC_ACT_UNSPEC -> same
	EOF
}

@test "IPv6 fragments: an atomic fragment's SYN is clamped (Linux takes it at once), a real fragment is left" {
	scrub_load 'scrub (max-mss 1220)'
	fixture <<-EOF
		run in tcp6($V6, ext=[frag6(offset=0, m=False)], tcp_options=[("MSS", 1440)]) :: TC_ACT_UNSPEC -> tcp6($V6, ext=[frag6(offset=0, m=False)], tcp_options=[("MSS", 1220)])
		run in tcp6($V6, ext=[frag6(offset=0, m=True)], tcp_options=[("MSS", 1440)]) :: TC_ACT_UNSPEC -> same
		value stats $(stat_idx MSS_CLAMPED) u64sum :: value=1
	EOF
}

@test "a generation used again with fewer entries: the older entries past the count never match" {
	scrub_load 'scrub from 192.0.2.1 (min-ttl 10)
scrub from 192.0.2.2 (min-ttl 20)
scrub from 192.0.2.10 (min-ttl 30)'
	fixture <<-EOF
		run in udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> udp4($V4, ttl=30)
	EOF
	local r
	for r in 'pass' 'scrub from 192.0.2.1 (min-ttl 10)'; do
		printf '%s\n' "$r" >"$BG_TMP/t2.rules"
		rules_apply_in "$UNS" "$BG_TMP/t2.rules"
	done
	fixture <<-EOF
		run in udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> same
		run in udp4(src="192.0.2.1", dst="198.51.100.1", ttl=1) :: TC_ACT_UNSPEC -> udp4(src="192.0.2.1", dst="198.51.100.1", ttl=10)
	EOF
}

@test "no-df clears don't-fragment; random-id draws a new identification (not for fragments); IPv4 checksum right" {
	scrub_load 'scrub out inet (no-df, random-id)
scrub in inet (no-df)'
	fixture <<-EOF
		run in udp4($V4, df=True, ident=7) :: TC_ACT_UNSPEC -> udp4($V4, df=False, ident=7)
		run in udp4($V4, df=False, ident=7) :: TC_ACT_UNSPEC -> same
		# random-id leaves a fragment's identification: reassembly needs it
		run out udp4($V4, mf=True, ident=7) :: TC_ACT_UNSPEC -> same
		run out ipv4(b"x" * 16, proto=17, frag=2, ident=7, $V4) :: TC_ACT_UNSPEC -> same
		value stats $(stat_idx DF_CLEARED) u64sum :: value=1
		value stats $(stat_idx FRAGMENT) u64sum :: value=2
	EOF
	local frame distinct
	frame=$("$PY" "$BG_REPO/test/lib/pkt.py" "udp4($V4, ident=7)")
	distinct=$(in_ns "$UNS" /usr/bin/python3 "$BG_REPO/test/lib/scrubcheck.py" \
		random-id "$SCRUB_OUT" "$frame" 64) || fail "$distinct"
	# 64 draws of 16 bits: fewer than 60 distinct is a broken generator
	((distinct >= 60)) || fail "only $distinct distinct identifications in 64"
}

@test "matching: first statement wins, by direction, family, interface, source and destination; none: untouched" {
	ip -n "$UNS" link add name sc0 type veth peer name sc1
	local sc0
	sc0=$(ip -n "$UNS" -j link show sc0 | jq '.[0].ifindex')
	scrub_load 'scrub in from 192.0.2.0/24 to { 198.51.100.1, 198.51.100.3 } (min-ttl 10)
scrub in from 192.0.2.10 (min-ttl 20)
scrub out inet6 to 2001:db8:2::/48 (min-ttl 30)
scrub on sc0 in (min-ttl 40)
scrub in inet6 (min-ttl 50)'
	fixture <<-EOF
		run in udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> udp4($V4, ttl=10)
		run in udp4(src="192.0.2.10", dst="198.51.100.3", ttl=1) :: TC_ACT_UNSPEC -> udp4(src="192.0.2.10", dst="198.51.100.3", ttl=10)
		run in udp4(src="192.0.2.10", dst="198.51.100.2", ttl=1) :: TC_ACT_UNSPEC -> udp4(src="192.0.2.10", dst="198.51.100.2", ttl=20)
		run in udp4(src="192.0.2.11", dst="198.51.100.2", ttl=1) :: TC_ACT_UNSPEC -> same
		run out udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> same
		run out udp6($V6, hlim=1) :: TC_ACT_UNSPEC -> udp6($V6, hlim=30)
		run out udp6(src="2001:db8:1::10", dst="2001:db8:3::1", hlim=1) :: TC_ACT_UNSPEC -> same
		run in udp6($V6, hlim=1) :: TC_ACT_UNSPEC -> udp6($V6, hlim=50)
		run in udp4(src="203.0.113.1", dst="198.51.100.2", ttl=1) @if=$sc0 :: TC_ACT_UNSPEC -> udp4(src="203.0.113.1", dst="198.51.100.2", ttl=40)
		run in udp4(src="203.0.113.1", dst="198.51.100.2", ttl=1) :: TC_ACT_UNSPEC -> same
	EOF
	run "$BG_BUILD/fwmapgen" --explain "$BG_TMP/t.rules" 'udp 192.0.2.10:1 -> 198.51.100.2:2'
	[[ $output == *"scrub in: statement 2 (line 2): min-ttl 20"* ]] || fail "$output"
	[[ $output == *"scrub out: none"* ]] || fail "$output"
}

@test "malformed and foreign frames pass untouched; a ruleset without scrub stops it" {
	scrub_load 'scrub (min-ttl 64, max-mss 1400, no-df, random-id)'
	fixture <<-EOF
		run in truncate(udp4($V4, ttl=1), 14 + 20 + 4) :: TC_ACT_UNSPEC -> same
		run in bad_ihl(udp4($V4, ttl=1)) :: TC_ACT_UNSPEC -> same
		run in bad_ip4_len(udp4($V4, ttl=1), extra=40) :: TC_ACT_UNSPEC -> same
		run in bad_ip6_plen(udp6($V6, hlim=1), extra=40) :: TC_ACT_UNSPEC -> same
		run in arp() :: TC_ACT_UNSPEC -> same
		run in ether(b"\x00" * 46, ethertype=0x88b5) :: TC_ACT_UNSPEC -> same
	EOF
	printf 'pass\n' >"$BG_TMP/t2.rules"
	rules_apply_in "$UNS" "$BG_TMP/t2.rules"
	fixture <<-EOF
		run in udp4($V4, ttl=1) :: TC_ACT_UNSPEC -> same
	EOF
}

@test "fwmapgen: scrub errors name FILE:LINE:COL and the statement's syntax" {
	local f=$BG_TMP/e.rules
	check_err()
	{
		printf 'pass\n%s\n' "$1" >"$f"
		run "$BG_BUILD/fwmapgen" --check "$f"
		[ "$status" -ne 0 ] || fail "accepted: $1"
		[[ $output == "$f:2:$2: "*"$3"* ]] || fail "for '$1': $output"
	}
	check_err 'scrub' 6 'needs its options in parentheses'
	check_err 'scrub ()' 8 'needs an option'
	check_err 'scrub (min-ttl 64, min-ttl 32)' 20 'duplicate scrub option "min-ttl"'
	check_err 'scrub (min-ttl 0)' 16 'min-ttl must be 1 to 255'
	check_err 'scrub (max-mss 10)' 16 'max-mss must be 64 to 65535'
	check_err 'scrub (max-mss)' 15 'expected a number'
	check_err 'scrub (frag reassemble)' 8 'unknown scrub option "frag"'
	check_err 'scrub inet6 (no-df)' 14 'no-df is for IPv4'
	check_err 'scrub to 2001:db8::1 (random-id, no-df)' 23 'random-id is for IPv4'
	check_err 'scrub from !192.0.2.1 (no-df)' 12 "can't be negated"
	check_err 'scrub to 192.0.2.1 port 80 (no-df)' 20 'not ports'
	check_err 'scrub from port 80 (no-df)' 12 'not ports'
	check_err 'scrub proto tcp (max-mss 1400)' 7 'addresses'
	check_err 'scrub (no-df) label "x"' 15 'syntax: scrub'
	check_err 'scrub inet from 2001:db8::1 (no-df)' 17 ''
	local l="" i
	for ((i = 1; i <= 9; i++)); do l+="198.51.100.$i, "; done
	check_err "scrub from { $l } to { $l } (min-ttl 9)" 1 'too many scrub entries (more than 64'
	printf 'pass\nscrub in from { 192.0.2.0/24, 2001:db8::/32 } to 198.51.100.0/24 (min-ttl 64, max-mss 1400, no-df, random-id)\n' >"$f"
	run "$BG_BUILD/fwmapgen" --check "$f"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *", 1 scrub statements"* ]] || fail "$output"
	run "$BG_BUILD/fwmapgen" --features "$f"
	[ "$output" = scrub ] || fail "$output"
	# Covered prefixes take no entry: 80 hosts inside 10.0.0.0/8 and the
	# /8 itself are one entry, not 81 (past the 64 of a ruleset).
	l=""
	for ((i = 1; i <= 80; i++)); do l+="10.0.0.$i, "; done
	printf 'pass
scrub from { %s 10.0.0.0/8 } (min-ttl 9)
' "$l" >"$f"
	run "$BG_BUILD/fwmapgen" --pin-dir /p -o "$BG_TMP/e.batch" "$f"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c '/bg_scrub_rules ' "$BG_TMP/e.batch")" -eq 1 ]
	run "$BG_BUILD/fwmapgen" --explain "$f" 'udp 10.0.0.77:1 -> 192.0.2.1:2'
	[[ $output == *"scrub in: statement 1 (line 2): min-ttl 9"* ]] || fail "$output"
}
