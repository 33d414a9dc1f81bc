#!/usr/bin/env bats
# fwmapgen, the rate limiter's statements: "ratelimit ..." policies and the
# DDoS protections (set syn-flood|icmp-flood|udp-amplification|tcp-flood).
# Their map entries are loaded into the maps of a private bpffs and read
# back through BTF (every field of headers/bg_rl_abi.h by name); errors
# with their location; --features; the canonical texts parse back to the
# same entries. Needs build/ (make all).

# Rulesets quote $MACROS literally; bats sets $stderr.
# shellcheck disable=SC2016,SC2154

load lib/common
load lib/fwmapgen

teardown() {
	bpffs_teardown
}

# load_rules FILE: xdp_firewall's maps (which hold the rate limiter's
# ruleset maps) in the private bpffs, and FILE loaded into them.
load_rules() {
	env BG_QUIET=1 bash -c 'set -euo pipefail
		source "$1/scripts/lib.sh"
		bg_setup_bpffs mount
		bg_load_prog xdp_firewall.o bg_fw_xdp >/dev/null
		bg_apply_ruleset "$2"' bg-test "$BG_REPO" "$1"
}

active_gen() {
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_fw_active" \
		key hex 00 00 00 00 | jq '.formatted.value.gen'
}

# lookup MAP KEY-HEX: the BTF-formatted value, compact JSON
lookup() {
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/$1" key hex $2 |
		jq -c '.formatted.value'
}

# policy ID: bg_rl_policy[gen * BG_RL_POLICY_SLOTS + ID] of the active gen
policy() {
	lookup bg_rl_policy "$(le32 $((GEN * 257 + $1)))"
}

# cands4 A.B.C.D / cands6 ADDR: the candidate list the kernel would take
# for a source address: the longest prefix of the generation's trie (a
# bpftool lookup in an LPM trie is a longest-prefix match), then its list,
# as "n: ids"
cands4() {
	local idx
	idx=$(lookup bg_rl_src4 "$(key4 "$GEN" 32 "$1")")
	cands "$idx"
}

cands6() {
	local idx hex
	hex=$(/usr/bin/python3 -c 'import ipaddress, sys
print(" ".join("%02x" % b for b in ipaddress.ip_address(sys.argv[1]).packed))' "$1")
	idx=$(lookup bg_rl_src6 "$(le32 160) $(le32 "$GEN") $hex")
	cands "$idx"
}

cands() {
	[[ $1 =~ ^[0-9]+$ ]] || {
		echo "MISSING trie entry ($1)"
		return 1
	}
	lookup bg_rl_clist "$(le32 "$1")" |
		jq -r '"\(.n): \(.pol[0:.n] | map(tostring) | join(" "))"'
}

RULES_MAIN='A = "192.0.2.128/25"
ratelimit rate 100/second
ratelimit inet from 192.0.2.0/24 rate 10/minute burst 5 per-source prefix 24 label "lan"
ratelimit on lo proto tcp from $A to 203.0.113.0/24 port 80:90 rate 5/second algorithm leaky-bucket action log
ratelimit from 0.0.0.0/0 rate 7/second algorithm fixed-window per-source
ratelimit inet6 proto udp from 2001:db8::/32 to 2001:db8:1::1 port 53 rate 1/second algorithm sliding-window per-source
ratelimit from { 192.0.2.0/24, 198.51.100.7 } rate 3/second burst 9
set syn-flood rate 100/second global 1000/second cookies off
set icmp-flood rate 20/second max-payload 512
set udp-amplification ports { 53, 123, 1900, 11211 } rate 10/second
set tcp-flood half-open 50 rst 10/second fin 11/second ack 12/second'

@test "maps: every policy field, candidate lists of nested prefixes and of both families, settings and port bits, as the kernel reads them" {
	bpffs_setup
	f=$(ruleset r <<<"$RULES_MAIN")
	load_rules "$f"
	GEN=$(active_gen)
	lo=$(cat /sys/class/net/lo/ifindex)
	# 1: no family, no address: both families, per-source would key the
	# full address of each (src_plen 0); burst = rate
	assert_eq "$(policy 1)" '{"id":1,"ifindex":0,"family":0,"proto":0,"algo":0,"action":0,"flags":0,"src_plen":0,"dst_plen":0,"pad":0,"dport_lo":0,"dport_hi":0,"dst":[0,0,0,0],"pad2":0,"rate":100,"interval_ns":1000000000,"burst":100}'
	assert_eq "$(policy 2)" '{"id":2,"ifindex":0,"family":0,"proto":0,"algo":0,"action":0,"flags":1,"src_plen":24,"dst_plen":0,"pad":0,"dport_lo":0,"dport_hi":0,"dst":[0,0,0,0],"pad2":0,"rate":10,"interval_ns":60000000000,"burst":5}'
	# dst 203.0.113.0 in network order, read as a little-endian __be32
	assert_eq "$(policy 3)" "{\"id\":3,\"ifindex\":$lo,\"family\":0,\"proto\":6,\"algo\":3,\"action\":1,\"flags\":6,\"src_plen\":0,\"dst_plen\":24,\"pad\":0,\"dport_lo\":80,\"dport_hi\":90,\"dst\":[$((0x007100cb)),0,0,0],\"pad2\":0,\"rate\":5,\"interval_ns\":1000000000,\"burst\":1}"
	assert_eq "$(policy 4)" '{"id":4,"ifindex":0,"family":0,"proto":0,"algo":1,"action":0,"flags":1,"src_plen":32,"dst_plen":0,"pad":0,"dport_lo":0,"dport_hi":0,"dst":[0,0,0,0],"pad2":0,"rate":7,"interval_ns":1000000000,"burst":7}'
	# 2001:db8:1::1: words 20 01 0d b8 | 00 01 00 00 | 0 | 00 00 00 01
	assert_eq "$(policy 5)" "{\"id\":5,\"ifindex\":0,\"family\":1,\"proto\":17,\"algo\":2,\"action\":0,\"flags\":7,\"src_plen\":128,\"dst_plen\":128,\"pad\":0,\"dport_lo\":53,\"dport_hi\":53,\"dst\":[$((0xb80d0120)),$((0x00000100)),0,$((0x01000000))],\"pad2\":0,\"rate\":1,\"interval_ns\":1000000000,\"burst\":1}"
	assert_eq "$(policy 6 | jq -c '[.family, .flags, .burst, .rate]')" '[0,0,9,3]'
	# no policy 7; slot 0 unused
	assert_eq "$(policy 7 | jq .id)" 0
	assert_eq "$(policy 0 | jq .id)" 0
	# Candidates: the longest source prefix first, file order among
	# equals; /0 holds the policies without a narrower source.
	assert_eq "$(cands4 192.0.2.200)" "5: 3 2 6 1 4"
	assert_eq "$(cands4 192.0.2.5)" "4: 2 6 1 4"
	assert_eq "$(cands4 198.51.100.7)" "3: 6 1 4"
	assert_eq "$(cands4 198.51.100.8)" "2: 1 4"
	assert_eq "$(cands4 10.0.0.1)" "2: 1 4"
	# the dual-family policy 1 is in the IPv6 trie's /0 too
	assert_eq "$(cands6 2001:db8:5::1)" "2: 5 1"
	assert_eq "$(cands6 2002::1)" "1: 1"
	# the trie keys: 0/0 192.0.2.0/24 192.0.2.128/25 198.51.100.7/32, ::/0
	# 2001:db8::/32, all of this generation
	assert_eq "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_rl_src4" |
		jq -c --argjson g "$GEN" '[.[] | select(.formatted.key.gen == $g) | .formatted.key.prefixlen] | sort')" '[32,56,57,64]'
	assert_eq "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_rl_src6" |
		jq -c --argjson g "$GEN" '[.[] | select(.formatted.key.gen == $g) | .formatted.key.prefixlen] | sort')" '[32,64]'
	# settings
	assert_eq "$(lookup bg_rl_config "$(le32 "$GEN")")" '{"npolicies":6,"syn_rate":100,"syn_cookies":0,"syn_cookie_above":1000,"icmp_rate":20,"icmp_max_payload":512,"udp_amp_rate":10,"tcp_half_open":50,"tcp_rst_rate":10,"tcp_fin_rate":11,"tcp_ack_rate":12,"pad":0}'
	# port bits: 53 (word 0), 123 (word 1 bit 59), 1900 (word 29 bit 44),
	# 11211 (word 175 bit 11); nothing else
	# (the raw bytes: jq reads a u64 as a double)
	amp() {
		# shellcheck disable=SC2046
		bpftool -j map lookup pinned "$FW_BPFFS/tc/globals/bg_rl_amp_ports" \
			key hex $(le32 $((GEN * 1024 + $1))) |
			jq -r '.value | map(ltrimstr("0x")) | join(" ")'
	}
	assert_eq "$(amp 0)" "00 00 00 00 00 00 20 00"
	assert_eq "$(amp 1)" "00 00 00 00 00 00 00 08"
	assert_eq "$(amp 29)" "00 00 00 00 00 10 00 00"
	assert_eq "$(amp 175)" "00 08 00 00 00 00 00 00"
	assert_eq "$(amp 2)" "00 00 00 00 00 00 00 00"
	assert_eq "$(amp 1023)" "00 00 00 00 00 00 00 00"
	# pinfo: line, label, canonical text
	pinfo() {
		lookup bg_rl_pinfo "$(le32 "$GEN") $(le32 "$1")"
	}
	assert_eq "$(pinfo 2 | jq -c '[.line, .label, .text]')" '[3,"lan","ratelimit from 192.0.2.0/24 rate 10/minute burst 5 per-source prefix 24 label \"lan\""]'
	assert_eq "$(pinfo 3 | jq -r .text)" 'ratelimit on lo proto tcp from 192.0.2.128/25 to 203.0.113.0/24 port 80:90 rate 5/second algorithm leaky-bucket action log'
	assert_eq "$(pinfo 1 | jq -r .text)" 'ratelimit rate 100/second'
	assert_eq "$(pinfo 6 | jq -r .text)" 'ratelimit from { 192.0.2.0/24, 198.51.100.7 } rate 3/second burst 9'
}

@test "maps: a new ruleset leaves nothing of the old generation; udp-amplification overwrites every port word of its generation" {
	bpffs_setup
	f1=$(ruleset r1 <<-'EOF'
		ratelimit from 192.0.2.0/24 rate 1/second label "one"
		ratelimit inet6 rate 2/second
		set udp-amplification ports 53 rate 10/second
	EOF
	)
	f2=$(ruleset r2 <<<'set udp-amplification ports 123 rate 10/second')
	f3=$(ruleset r3 <<<'set udp-amplification ports 1900 rate 10/second')
	load_rules "$f1"
	g1=$(active_gen)
	gen_entries "$g1" | grep -q '^bg_rl_src4 2$'
	load_rules "$f2"
	g2=$(active_gen)
	[ "$g2" -ne "$g1" ]
	# the purge took the tries and pinfo of the old generation
	left=$(gen_entries "$g1")
	[ -z "$left" ] || fail "left of generation $g1: $left"
	GEN=$g2
	assert_eq "$(lookup bg_rl_config "$(le32 "$g2")" | jq -c '[.npolicies, .udp_amp_rate]')" '[0,10]'
	# back in the first generation: port 53's bit is gone, 1900's is set
	load_rules "$f3"
	assert_eq "$(active_gen)" "$g1"
	assert_eq "$(lookup bg_rl_amp_ports "$(le32 $((g1 * 1024)))")" 0
	assert_eq "$(lookup bg_rl_amp_ports "$(le32 $((g1 * 1024 + 29)))")" "$((1 << 44))"
	assert_eq "$(lookup bg_rl_config "$(le32 "$g1")" | jq .npolicies)" 0
}

@test "emit: bg_rl_config always, all zeros without settings; no port words without udp-amplification; syn-flood defaults" {
	rules <<<'pass from 192.0.2.0/24'
	emit
	assert_eq "$(value_bytes bg_rl_config "$(le32 0)")" "$(printf '00 %.0s' {1..47})00"
	[ "$(grep -c '/bg_rl_' t.batch)" -eq 1 ]
	rules <<<'set syn-flood rate 50/second'
	emit --gen 1
	# syn_rate 50, syn_cookies 1 (default on), syn_cookie_above = syn_rate
	assert_eq "$(value_bytes bg_rl_config "$(le32 1)")" "$(le32 0) $(le32 50) $(le32 1) $(le32 50) $(printf '00 %.0s' {1..31})00"
	[ "$(grep -c '/bg_rl_amp_ports ' t.batch)" -eq 0 ]
	rules <<<'set udp-amplification ports { 1:3, 65535 } rate 1/second'
	emit --gen 1
	[ "$(grep -c '/bg_rl_amp_ports ' t.batch)" -eq 1024 ]
	assert_eq "$(value_bytes bg_rl_amp_ports "$(le32 1024)")" "0e 00 00 00 00 00 00 00"
	assert_eq "$(value_bytes bg_rl_amp_ports "$(le32 2047)")" "00 00 00 00 00 00 00 80"
	# a 1024-line batch stays quick
	start=$(date +%s%N)
	"$FWMAPGEN" --pin-dir /p t.rules >/dev/null
	(($(date +%s%N) - start < 500000000))
}

@test "features: ratelimit exactly when a policy or a protection is there" {
	for r in 'ratelimit rate 1/second' 'set syn-flood rate 1/second cookies off' \
		'set icmp-flood rate 1/second' \
		'set udp-amplification ports 53 rate 1/second' \
		'set tcp-flood half-open 1' 'set tcp-flood ack 1/second'; do
		rules <<<"$r"
		run --separate-stderr "$FWMAPGEN" --features t.rules
		assert_eq "$status" 0
		assert_eq "$output" ratelimit
	done
	for r in 'pass from 192.0.2.0/24' 'set timeout icmp 30' 'set default block'; do
		rules <<<"$r"
		run --separate-stderr "$FWMAPGEN" --features t.rules
		assert_eq "$output" ""
	done
	rules <<<$'pass inet route-to 198.51.100.1\nratelimit rate 1/second'
	assert_eq "$("$FWMAPGEN" --features t.rules)" $'route\nratelimit'
	# SYN cookies (on unless "cookies off") are a feature of their own:
	# up.sh checks net.ipv4.tcp_syncookies for them.
	rules <<<'set syn-flood rate 1/second'
	assert_eq "$("$FWMAPGEN" --features t.rules)" $'ratelimit\nsyncookies'
	rules <<<'set syn-flood rate 1/second cookies on'
	assert_eq "$("$FWMAPGEN" --features t.rules)" $'ratelimit\nsyncookies'
}

@test "error: rate and burst" {
	rules <<<'ratelimit rate 0/second'
	expect_error 1:16 'rate 0/second is out of range (1..100000000 packets)'
	rules <<<'ratelimit rate 100000001/minute'
	expect_error 1:16 'rate 100000001/minute is out of range (1..100000000 packets)'
	rules <<<'ratelimit rate 99999999999999999999/second'
	expect_error 1:16 'rate 99999999999999999999/second is out of range (1..100000000 packets)'
	rules <<<'ratelimit rate 10/hour'
	expect_error 1:16 'bad rate unit in "10/hour" (expected N/second or N/minute)'
	rules <<<'ratelimit rate 10'
	expect_error 1:16 'bad rate "10" (expected N/second or N/minute)'
	rules <<<'ratelimit rate x/second'
	expect_error 1:16 'bad rate "x/second" (expected N/second or N/minute)'
	rules <<<'ratelimit from 192.0.2.1'
	expect_error 1:1 'ratelimit needs a rate (rate N/second or N/minute)'
	rules <<<'ratelimit rate 10/second burst 0'
	expect_error 1:32 'burst 0 is out of range (1..100000000)'
	rules <<<'ratelimit rate 10/second burst 5 algorithm fixed-window'
	expect_error 1:26 '"burst" does not apply to fixed-window (a window admits rate packets)'
	rules <<<'ratelimit rate 10/second burst 5 algorithm sliding-window'
	expect_error 1:26 '"burst" does not apply to sliding-window (a window admits rate packets)'
	rules <<<'set syn-flood rate 10/minute'
	expect_error 1:20 'bad rate unit in "10/minute" (expected N/second)'
}

@test "error: per-source prefix, port, families, algorithm, action, keywords" {
	rules <<<'ratelimit rate 1/second per-source prefix 24'
	expect_error 1:36 '"prefix" needs the policy'"'"'s address family (say inet or inet6, or name addresses of one family)'
	rules <<<'ratelimit inet rate 1/second per-source prefix 33'
	expect_error 1:48 'prefix 33 is out of range (1..32)'
	rules <<<'ratelimit from 2001:db8::/32 rate 1/second per-source prefix 0'
	expect_error 1:62 'prefix 0 is out of range (1..128)'
	rules <<<'ratelimit to 192.0.2.1 port 80 rate 1/second'
	expect_error 1:24 '"port" needs proto tcp or proto udp'
	rules <<<'ratelimit proto tcp to 192.0.2.1 port { 80, 443 } rate 1/second'
	expect_error 1:34 'a ratelimit'"'"'s "port" is one port or one range N:M'
	rules <<<'ratelimit from 192.0.2.0/24 to 2001:db8::1 rate 1/second'
	expect_error 1:32 'families mixed: from is IPv4, to is IPv6 (a ratelimit policy is of one address family)'
	rules <<<'ratelimit inet6 from 192.0.2.0/24 rate 1/second'
	expect_error 1:22 'families mixed: inet6 is IPv6, from is IPv4 (a ratelimit policy is of one address family)'
	rules <<<'ratelimit proto icmp to 2001:db8::1 rate 1/second'
	expect_error 1:25 'families mixed: proto icmp is IPv4, to is IPv6 (a ratelimit policy is of one address family)'
	rules <<<'ratelimit from { 192.0.2.0/24, 2001:db8::/32 } rate 1/second'
	expect_error 1:16 '"from" mixes IPv4 and IPv6 (a ratelimit policy is of one address family: write one for each)'
	rules <<<'ratelimit to { 192.0.2.1, 192.0.2.2 } rate 1/second'
	expect_error 1:14 'a ratelimit'"'"'s "to" is one address or prefix (or any), not a list'
	rules <<<'ratelimit from !192.0.2.1 rate 1/second'
	expect_error 1:16 'a ratelimit'"'"'s "from" can'"'"'t be negated'
	rules <<<'ratelimit rate 1/second algorithm bucket'
	expect_error 1:35 'unknown algorithm "bucket" (expected token-bucket, fixed-window, sliding-window or leaky-bucket)'
	rules <<<'ratelimit rate 1/second action reject'
	expect_error 1:32 'unknown action "reject" (expected drop or log)'
	rules <<<'ratelimit rate 1/second colour blue'
	expect_error 1:25 'syntax error: unexpected "colour" (syntax: ratelimit [on IFACE] [inet|inet6] [proto PROTO] [from SRC] [to DST [port PORTS]] rate N/second|N/minute [burst N] [algorithm token-bucket|fixed-window|sliding-window|leaky-bucket] [per-source [prefix N]] [action drop|log] [label "TEXT"])'
	rules <<<'ratelimit frm 192.0.2.1 rate 1/second'
	expect_error 1:11 'syntax error: unexpected "frm" (syntax: ratelimit [on IFACE] [inet|inet6] [proto PROTO] [from SRC] [to DST [port PORTS]] rate N/second|N/minute [burst N] [algorithm token-bucket|fixed-window|sliding-window|leaky-bucket] [per-source [prefix N]] [action drop|log] [label "TEXT"])'
	rules <<<'ratelimit rate 1/second label "a" label "b"'
	expect_error 1:35 'duplicate keyword "label" (a ratelimit takes each keyword once)'
	rules <<<'set bogus 1'
	expect_error 1:5 'syntax error: unexpected "bogus", expected default, timeout, limit, health, syn-flood, icmp-flood, udp-amplification or tcp-flood after "set"'
	rules <<<'ratelimits rate 1/second'
	expect_error 1:1 'syntax error: unexpected "ratelimits", expected a rule (pass|block ...), table, set default, ratelimit, service, scrub or NAME = "VALUE"'
}

@test "error: set protections given twice, or incomplete" {
	rules <<'EOF'
set syn-flood rate 10/second
pass from 192.0.2.0/24
  set syn-flood rate 20/second cookies on
EOF
	expect_error 3:3 'syn-flood already set on line 1'
	rules <<<$'set tcp-flood rst 1/second\nset tcp-flood fin 1/second'
	expect_error 2:1 'tcp-flood already set on line 1'
	rules <<<'set tcp-flood'
	expect_error 1:5 'set tcp-flood needs half-open, rst, fin or ack (at least one)'
	rules <<<'set syn-flood rate 10/second cookies maybe'
	expect_error 1:38 'bad cookies "maybe" (expected on or off)'
	rules <<<'set icmp-flood rate 10/second max-payload 65536'
	expect_error 1:43 'max-payload 65536 is out of range (1..65535)'
	rules <<<'set udp-amplification ports { 53, 99999 } rate 1/second'
	expect_error 1:35 'bad port "99999" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'set udp-amplification rate 1/second'
	expect_error 1:23 'syntax error: unexpected "rate", expected "ports" after "set udp-amplification"'
}

@test "error: too many policies, at the statement beyond the limit; a broken file changes nothing" {
	# (each from a source of its own: at most 32 can share one)
	for i in $(seq 256); do
		echo "ratelimit from 10.0.$((i - 1)).0/24 rate $i/second"
	done >t.rules
	"$FWMAPGEN" --check t.rules >/dev/null
	echo 'ratelimit rate 1/second' >>t.rules
	expect_error 257:1 'too many ratelimit policies (more than 256)'
	# more than BG_RL_CAND_MAX policies for one source prefix
	for i in $(seq 33); do
		echo "ratelimit from 192.0.2.$i rate 1/second"
	done >t.rules
	"$FWMAPGEN" --check t.rules >/dev/null
	for i in $(seq 32); do
		echo "ratelimit from 10.0.0.0/8 rate $i/second"
	done >t.rules
	echo 'ratelimit from 10.1.0.0/16 rate 1/second' >>t.rules
	expect_error 33:1 'too many ratelimit policies for source 10.1.0.0/16 (more than 32 apply to it)'
	# more than BG_RL_CLISTS_PER_GEN prefixes: /0 and 1023 others fit
	/usr/bin/python3 -c '
for i in range(4):
    print("ratelimit from { %s } rate 1/second" % ", ".join("10.%d.%d.0/24" % (i, j) for j in range(256 if i < 3 else 255)))
print("ratelimit from 192.0.2.1 rate 1/second")' >t.rules
	expect_error 5:1 'too many ratelimit source prefixes (more than 1024, IPv4 and IPv6 together, counting /0)'
	sed -i '$d' t.rules
	"$FWMAPGEN" --check t.rules >/dev/null
}

@test "format: the canonical texts parse back to the same map entries" {
	rules <<<"$RULES_MAIN
ratelimit inet rate 5/minute burst 4 algorithm leaky-bucket per-source prefix 16
ratelimit inet6 proto tcp to port 1000:2000 rate 1/second per-source prefix 64 action log
ratelimit proto icmp6 rate 9/second per-source"
	emit
	grep -F '/bg_rl_pinfo ' t.batch | while read -r l; do
		echo "${l##*value hex }" | xxd -r -p | tail -c 448 | tr -d '\0'
		echo
	done >texts
	assert_eq "$(sed -n 7,9p texts)" 'ratelimit inet rate 5/minute burst 4 algorithm leaky-bucket per-source prefix 16
ratelimit inet6 proto tcp to port 1000:2000 rate 1/second per-source prefix 64 action log
ratelimit proto icmp6 rate 9/second per-source'
	# the texts, with the same settings, on lines 1..n as the policies
	# were not: the entries are the same but for pinfo's line
	{
		cat texts
		grep '^set ' <<<"$RULES_MAIN"
	} >t2.rules
	"$FWMAPGEN" --pin-dir /p t2.rules >t2.batch
	strip() {
		grep '/bg_rl_' "$1" | grep -v '/bg_rl_pinfo ' || true
	}
	assert_eq "$(strip t2.batch)" "$(strip t.batch)"
	[ "$(strip t.batch | wc -l)" -gt 1000 ]
	# and pinfo but for the line: the same texts again
	grep -F '/bg_rl_pinfo ' t2.batch | while read -r l; do
		echo "${l##*value hex }" | xxd -r -p | tail -c 448 | tr -d '\0'
		echo
	done >texts2
	assert_eq "$(cat texts2)" "$(cat texts)"
}

@test "on IFACE: a missing interface warns, and its policy is in no candidate list" {
	rules <<<$'ratelimit on nosuch-if0 rate 1/second\nratelimit rate 2/second'
	run --separate-stderr "$FWMAPGEN" --pin-dir /p t.rules
	assert_eq "$status" 0
	assert_eq "$stderr" 't.rules:1:14: warning: interface nosuch-if0 does not exist here; its policy matches nothing'
	printf '%s\n' "$output" >t.batch
	# both /0 lists hold policy 2 only
	assert_eq "$(value_bytes bg_rl_clist "$(le32 0)" | cut -d' ' -f1-8)" "01 00 00 00 02 00 00 00"
	assert_eq "$(value_bytes bg_rl_clist "$(le32 1)" | cut -d' ' -f1-8)" "01 00 00 00 02 00 00 00"
	# the policy itself is there, for status
	value_bytes bg_rl_policy "$(le32 1)" | grep -q '^01 00 00 00 00 00 00 00 '
}

@test "explain: the policy the kernel would take: longest source prefix, then the first whose other fields match" {
	rules <<<"$RULES_MAIN"
	ex() {
		run --separate-stderr "$FWMAPGEN" --explain t.rules "$1"
		assert_eq "$status" 0
		grep '^ratelimit: ' <<<"$output"
	}
	# 192.0.2.128/25's list is 3 2 6 1 4; 3 needs on lo, tcp, the
	# destination and its ports
	assert_eq "$(ex 'on lo tcp 192.0.2.200:1000 -> 203.0.113.5:85')" 'ratelimit: policy 3 (line 4)'
	assert_eq "$(ex 'tcp 192.0.2.200:1000 -> 203.0.113.5:85')" 'ratelimit: policy 2 (line 3)'
	assert_eq "$(ex 'on lo tcp 192.0.2.200:1000 -> 203.0.113.5:91')" 'ratelimit: policy 2 (line 3)'
	assert_eq "$(ex 'on lo udp 192.0.2.200:1000 -> 203.0.113.5:85')" 'ratelimit: policy 2 (line 3)'
	assert_eq "$(ex '198.51.100.7 -> 203.0.113.5')" 'ratelimit: policy 6 (line 7)'
	assert_eq "$(ex '198.51.100.8 -> 203.0.113.5')" 'ratelimit: policy 1 (line 2)'
	# IPv6: 5 needs udp to 2001:db8:1::1 port 53, else the /0 policy 1
	assert_eq "$(ex 'udp [2001:db8::9]:5 -> [2001:db8:1::1]:53')" 'ratelimit: policy 5 (line 6)'
	assert_eq "$(ex 'udp [2001:db8::9]:5 -> [2001:db8:1::2]:53')" 'ratelimit: policy 1 (line 2)'
	# none of an IPv6-only ruleset applies to IPv4; no line without policies
	rules <<<'ratelimit inet6 rate 1/second'
	assert_eq "$(ex '192.0.2.1 -> 192.0.2.2')" 'ratelimit: none'
	rules <<<'pass from 192.0.2.0/24'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 192.0.2.2'
	[[ $output != *ratelimit* ]]
}
