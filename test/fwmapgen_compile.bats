#!/usr/bin/env bats
# fwmapgen, compilation and emission: the batch decoded entry by entry, the
# digest, bpftool loading it into maps of the ABI sizes, and a simulation
# of the kernel lookups on the batch agreeing with --eval.
# Needs build/fwmapgen (make build/fwmapgen); root for the bpftool test.

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "emit: golden batch of a small ruleset" {
	cd "$FIXTURES"
	run --separate-stderr "$FWMAPGEN" golden.rules
	assert_eq "$status" 0
	assert_eq "$stderr" ""
	assert_eq "$output" "$(cat golden.batch)"
	FW_BPFFS=/sys/fs/bpf run "$FWMAPGEN" --gen 0 golden.rules
	assert_eq "$output" "$(cat golden.batch)"
}

@test "emit: LPM entries hold prefixlen 32+len, the generation, the address" {
	rules <<'EOF'
block from 192.0.2.0/24
pass to 2001:db8:1::/48
EOF
	emit --gen 1
	grep -Fx "map update pinned /p/bg_fw_src4 key hex 38 00 00 00 01 00 00 00 c0 00 02 00 value hex 01 00 00 00" t.batch
	grep -Fx "map update pinned /p/bg_fw_src4 key hex 20 00 00 00 01 00 00 00 00 00 00 00 value hex 00 00 00 00" t.batch
	grep -Fx "map update pinned /p/bg_fw_dst6 key hex 50 00 00 00 01 00 00 00 20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 00 value hex 01 00 00 00" t.batch
	[ "$(grep -c '/bg_fw_src4 ' t.batch)" -eq 2 ]
	[ "$(grep -c '/bg_fw_dst4 ' t.batch)" -eq 1 ]
	[ "$(grep -c '/bg_fw_src6 ' t.batch)" -eq 1 ]
	[ "$(grep -c '/bg_fw_dst6 ' t.batch)" -eq 2 ]
	# vector 1 = rule bit 0 of its family, in generation 1
	assert_eq "$(vec_bits 1 1)" "0"
	assert_eq "$(vec_bits 0 1)" ""
	[ "$(grep -c '/bg_fw_vec ' t.batch)" -eq 2 ]
}

@test "emit: the /0 entries are always there, even for an empty ruleset" {
	rules </dev/null
	emit
	assert_eq "$(grep -v '^#' t.batch | cut -d' ' -f4 | sort | uniq -c | tr -s ' ' | tr '\n' ,)" \
		" 1 /p/bg_ct_config, 1 /p/bg_fw_dst4, 1 /p/bg_fw_dst6, 1 /p/bg_fw_gens, 1 /p/bg_fw_hits, 1 /p/bg_fw_rtext, 1 /p/bg_fw_src4, 1 /p/bg_fw_src6, 1 /p/bg_fw_vec, 1 /p/bg_rl_config, 1 /p/bg_scrub_config,"
	assert_eq "$(lpm_vec bg_fw_src4 "$(key4 0 0 0.0.0.0)")" 0
	assert_eq "$(lpm_vec bg_fw_dst6 "20 00 00 00 00 00 00 00 $(printf '00 %.0s' {1..15})00")" 0
	assert_eq "$(vec_bits 0)" ""
	# default pass, nothing loaded per family
	assert_eq "$(gens_field 0 40)" "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
}

@test "emit: overlapping CIDRs, narrower rule first" {
	rules <<'EOF'
pass from 192.0.2.128/25
block from 192.0.2.0/24
block from 10.0.0.0/8 to 10.1.0.0/16
pass from 10.1.0.0/16 to 10.0.0.0/8
EOF
	emit
	assert_eq "$(bits bg_fw_src4 "$(key4 0 0 0.0.0.0)")" ""
	assert_eq "$(bits bg_fw_src4 "$(key4 0 24 192.0.2.0)")" "1"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 25 192.0.2.128)")" "0 1"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 8 10.0.0.0)")" "2"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 16 10.1.0.0)")" "2 3"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 0 0.0.0.0)")" "0 1"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 8 10.0.0.0)")" "0 1 3"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 16 10.1.0.0)")" "0 1 2 3"
}

@test "emit: overlapping CIDRs, wider rule first" {
	rules <<'EOF'
block from 192.0.2.0/24
pass from 192.0.2.128/25
EOF
	emit
	assert_eq "$(bits bg_fw_src4 "$(key4 0 0 0.0.0.0)")" ""
	assert_eq "$(bits bg_fw_src4 "$(key4 0 24 192.0.2.0)")" "0"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 25 192.0.2.128)")" "0 1"
	run "$FWMAPGEN" --explain t.rules '192.0.2.200 -> 198.51.100.1'
	assert_eq "${lines[0]}" "verdict: block"
	assert_eq "${lines[1]}" "rule: 1 (t.rules:1)"
}

@test "emit: a prefix with the same vector as its stored parent is dropped" {
	rules <<'EOF'
pass from { 10.0.0.0/8, 10.1.0.0/16 }
block from 10.1.2.0/24
EOF
	emit
	assert_eq "$(bits bg_fw_src4 "$(key4 0 8 10.0.0.0)")" "0"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 24 10.1.2.0)")" "0 1"
	run ! grep -qF "$(key4 0 16 10.1.0.0)" t.batch
	[ "$(grep -c '/bg_fw_src4 ' t.batch)" -eq 3 ]
}

@test "emit: negation, for an address and a table" {
	rules <<'EOF'
table <v4> { 10.0.0.0/8 }
block from !192.0.2.0/24
pass to !<v4>
block from !2001:db8::/32 to !2001:db8::/32
EOF
	emit
	# inet: bits 0 (rule 1), 1 (rule 2); inet6: bit 0 (rule 3)
	assert_eq "$(bits bg_fw_src4 "$(key4 0 0 0.0.0.0)")" "0 1"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 24 192.0.2.0)")" "1"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 0 0.0.0.0)")" "0 1"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 8 10.0.0.0)")" "0"
	local k6
	k6="40 00 00 00 00 00 00 00 20 01 0d b8 $(printf "00 %.0s" {1..11})00"
	local k0
	k0="20 00 00 00 00 00 00 00 $(printf "00 %.0s" {1..15})00"
	assert_eq "$(bits bg_fw_src6 "$k6")" ""
	assert_eq "$(bits bg_fw_src6 "$k0")" "0"
	assert_eq "$(bits bg_fw_dst6 "$k6")" ""
	# rule families in bg_fw_rinfo: 1 inet, 2 inet6
	assert_eq "$(value_bytes bg_fw_rinfo "$(le32 0) $(le32 1)" | cut -d' ' -f5-8)" "01 00 01 00"
	assert_eq "$(value_bytes bg_fw_rinfo "$(le32 0) $(le32 3)" | cut -d' ' -f5-8)" "01 00 02 00"
	assert_eq "$(gens_field 8 8)" "02 00 00 00 01 00 00 00"
}

@test "emit: interface vectors and iface_other" {
	local lo
	lo=$(cat /sys/class/net/lo/ifindex)
	rules <<'EOF'
pass on lo from 192.0.2.0/24
block from 192.0.2.0/24
pass on lo
EOF
	emit --gen 1
	# inet bits 0 1 2, inet6 bits 0 (rule 3)
	local v
	read -ra v <<<"$(value_bytes bg_fw_iface "$(le32 1) $(le32 "$lo")")"
	assert_eq "$(vec_bits $((16#${v[0]})) 1)" "0 1 2"
	assert_eq "$(vec_bits $((16#${v[4]})) 1)" "0"
	# iface_other: the rules without "on"; uses_iface = 1
	read -ra v <<<"$(gens_field 24 10 1)"
	assert_eq "$(vec_bits $((16#${v[0]})) 1)" "1"
	assert_eq "$(vec_bits $((16#${v[4]})) 1)" ""
	assert_eq "${v[9]}" "01"
	# rinfo carries the interface name
	assert_eq "$(value_bytes bg_fw_rinfo "$(le32 1) $(le32 1)" | cut -d' ' -f73-76)" "6c 6f 00 00"
}

@test "emit: without \"on\" there are no iface entries and uses_iface is 0" {
	rules <<'EOF'
pass from 192.0.2.0/24
block
EOF
	emit
	run ! grep -q bg_fw_iface t.batch
	local v
	read -ra v <<<"$(gens_field 24 10)"
	assert_eq "$(vec_bits $((16#${v[0]})))" "0 1"
	assert_eq "$(vec_bits $((16#${v[4]})))" "0"
	assert_eq "${v[9]}" "00"
}

@test "emit: rules, rinfo, hits lines and the generation header" {
	rules <<'EOF'
set default block
pass inet from 192.0.2.0/24
# two lines below
block log on lo \
	inet6 label "v6 \"q"
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	rules <<'EOF'
set default block
pass inet from 192.0.2.0/24
# two lines below
block log on lo \
	inet6 label "v6 q"
EOF
	emit --gen 1
	grep -Fx "map update pinned /p/bg_fw_rules key hex $(le32 $((2 * 4096))) value hex 01 00 00 00 00 00 00 00" t.batch
	grep -Fx "map update pinned /p/bg_fw_rules key hex $(le32 $((3 * 4096))) value hex 02 00 00 00 01 01 00 00" t.batch
	[ "$(grep -c '/bg_fw_rules ' t.batch)" -eq 2 ]
	# rinfo: line 4, block, log, inet6, label "v6 q", iface "lo"
	local label iface
	label="76 36 20 71 $(printf '00 %.0s' {1..59})00"
	iface="6c 6f $(printf '00 %.0s' {1..13})00"
	grep -Fx "map update pinned /p/bg_fw_rinfo key hex $(le32 1) $(le32 2) value hex 04 00 00 00 01 01 02 00 $label $iface" t.batch
	# hits: ids 0..2 of generation 1 = 8193..8195, 16 zero bytes
	assert_eq "$(grep '/bg_fw_hits ' t.batch | cut -d' ' -f7-10 | tr '\n' ,)" "01 20 00 00,02 20 00 00,03 20 00 00,"
	[ "$(grep '/bg_fw_hits ' t.batch | grep -c "value hex $(printf '00 %.0s' {1..15})00$")" -eq 3 ]
	# bg_fw_gens is the last line: loaded, nids, nrules, nwords, default
	tail -n 1 t.batch | grep -q '^map update pinned /p/bg_fw_gens key hex 01 00 00 00 value hex '
	assert_eq "$(gens_field 0 24 1)" "01 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00"
	assert_eq "$(gens_field 32 2 1)" "01 01"
	# source: the path as given, NUL padded to 128 bytes
	assert_eq "$(gens_field 72 9 1)" "74 2e 72 75 6c 65 73 00 00"
	[ "$(gens_field 0 400 1 | wc -w)" -eq "$(abi_size bg_fw_gen)" ]
	head -n 1 t.batch | grep -Eq '^# bpfguard fwmapgen: source=t\.rules gen=1 digest=[0-9a-f]{64} rules=2 inet=1 inet6=1$'
	[ "$(grep -c '#' t.batch)" -eq 1 ]
}

@test "emit: proto fills bg_fw_proto for all 256 protocols of both families" {
	rules <<'EOF'
pass proto tcp from 192.0.2.0/24
block proto icmp
pass inet6 proto 132
block from 198.51.100.0/24
EOF
	emit
	# inet bits: rules 1 2 4 -> 0 1 2; inet6: rules 3 -> 0
	[ "$(grep -c '/bg_fw_proto ' t.batch)" -eq 512 ]
	local p k want
	for p in 0 1 6 17 58 132 255; do
		k=$(le32 $(((0 * 2 + 0) * 256 + p)))
		want="2"
		[ "$p" = 6 ] && want="0 2"
		[ "$p" = 1 ] && want="1 2"
		assert_eq "$(bits bg_fw_proto "$k")" "$want"
		k=$(le32 $(((0 * 2 + 1) * 256 + p)))
		want=""
		[ "$p" = 132 ] && want="0"
		assert_eq "$(bits bg_fw_proto "$k")" "$want"
	done
	# keys of generation 1 are not touched
	run ! grep -qF "/bg_fw_proto key hex $(le32 512) " t.batch
	# uses_proto = 1, uses_ports = uses_state = 0
	assert_eq "$(gens_field 33 4)" "00 01 00 00"
	# the proto lines come after the address tries, before bg_fw_rules
	[ "$(grep -n '/bg_fw_proto ' t.batch | head -n 1 | cut -d: -f1)" -gt "$(grep -n '/bg_fw_dst6 ' t.batch | tail -n 1 | cut -d: -f1)" ]
	[ "$(grep -n '/bg_fw_proto ' t.batch | tail -n 1 | cut -d: -f1)" -lt "$(grep -n '/bg_fw_rules ' t.batch | head -n 1 | cut -d: -f1)" ]
}

@test "emit: without proto, port or state: no such entries, uses_* 0" {
	rules <<'EOF'
pass from 192.0.2.0/24
block
EOF
	emit
	run ! grep -qE '/bg_fw_(proto|sport|dport) ' t.batch
	assert_eq "$(gens_field 34 3)" "00 00 00"
	assert_eq "$(gens_field 200 40)" "$(printf '00 %.0s' {1..39})00"
}

@test "emit: port ranges become aligned prefixes of the port tries" {
	rules <<'EOF'
pass proto tcp to port 1024:65535
block proto udp from 2001:db8::/32 port { 53, 67-68, 54 }
pass proto udp to port 443
pass proto icmp
pass from 192.0.2.0/24
EOF
	emit
	# inet bits: rules 1 3 4 5 -> 0 1 2 3; inet6: rules 1 2 3 -> 0 1 2
	# 1024:65535 = 1024/6 2048/5 4096/4 8192/3 16384/2 32768/1
	local plen port
	for plen in 6 5 4 3 2 1; do
		port=$((1 << (16 - plen)))
		assert_eq "$(bits bg_fw_dport "$(keyp 0 "$plen" 0 "$port")")" "0 2 3"
		assert_eq "$(bits bg_fw_dport "$(keyp 0 "$plen" 1 "$port")")" "0 1"
	done
	assert_eq "$(bits bg_fw_dport "$(keyp 0 0 0 0)")" "2 3"
	assert_eq "$(bits bg_fw_dport "$(keyp 0 16 0 443)")" "1 2 3"
	assert_eq "$(bits bg_fw_dport "$(keyp 0 16 1 443)")" "1 2"
	[ "$(grep -c "/bg_fw_dport key hex $(le32 $((64 + 6)))" t.batch)" -eq 2 ]
	# { 53, 54, 67-68 } merges to 53:54 (53/16 54/16) and 67/16 68/16
	assert_eq "$(bits bg_fw_sport "$(keyp 0 0 1 0)")" "0 2"
	assert_eq "$(bits bg_fw_sport "$(keyp 0 16 1 53)")" "0 1 2"
	assert_eq "$(bits bg_fw_sport "$(keyp 0 16 1 54)")" "0 1 2"
	assert_eq "$(bits bg_fw_sport "$(keyp 0 16 1 67)")" "0 1 2"
	assert_eq "$(bits bg_fw_sport "$(keyp 0 16 1 68)")" "0 1 2"
	[ "$(grep -c '/bg_fw_sport ' t.batch)" -eq 6 ]
	# inet has no sport prefix but /0
	assert_eq "$(bits bg_fw_sport "$(keyp 0 0 0 0)")" "0 1 2 3"
	# noport: the rules that name no port at all
	local v
	read -ra v <<<"$(gens_field 200 8)"
	assert_eq "$(vec_bits $((16#${v[0]})))" "2 3"
	assert_eq "$(vec_bits $((16#${v[4]})))" ""
	assert_eq "$(gens_field 34 3)" "01 01 00"
	# the port lines come right after the address tries
	assert_eq "$(grep -v '^#' t.batch | cut -d' ' -f4 | uniq | tr '\n' ,)" \
		"/p/bg_fw_vec,/p/bg_fw_src4,/p/bg_fw_dst4,/p/bg_fw_src6,/p/bg_fw_dst6,/p/bg_fw_sport,/p/bg_fw_dport,/p/bg_fw_proto,/p/bg_fw_rules,/p/bg_fw_rinfo,/p/bg_fw_rtext,/p/bg_fw_hits,/p/bg_rl_config,/p/bg_scrub_config,/p/bg_ct_config,/p/bg_fw_gens,"
}

@test "emit: the whole port space, single ports at the edges" {
	rules <<'EOF'
pass proto tcp to port 0:65535
pass proto tcp to port { 0, 65535 }
pass proto tcp to port 1:65534
EOF
	emit
	assert_eq "$(bits bg_fw_dport "$(keyp 0 0 0 0)")" "0"
	assert_eq "$(bits bg_fw_dport "$(keyp 0 16 0 0)")" "0 1"
	assert_eq "$(bits bg_fw_dport "$(keyp 0 16 0 65535)")" "0 1"
	# 1:65534 is 30 prefixes; with the /0 and the two edges: 33 per family
	[ "$(grep -c "/bg_fw_dport key hex .. 00 00 00 $(le32 0) $(le32 0) " t.batch)" -eq 33 ]
	run "$FWMAPGEN" --eval t.rules <<'EOF'
tcp 192.0.2.1:1 -> 192.0.2.2:0
tcp 192.0.2.1:1 -> 192.0.2.2:65535
tcp 192.0.2.1:1 -> 192.0.2.2:7
tcp 192.0.2.1 -> 192.0.2.2 frag
udp 192.0.2.1:1 -> 192.0.2.2:7
EOF
	assert_eq "$(tr '\n' , <<<"$output")" "pass 1,pass 1,pass 1,pass 0,pass 0,"
}

@test "emit: state vectors" {
	rules <<'EOF'
pass state established,related
block proto tcp state invalid
pass from 192.0.2.0/24
EOF
	emit
	# uses_proto 1, uses_ports 0, uses_state 1
	assert_eq "$(gens_field 34 3)" "01 00 01"
	local v
	read -ra v <<<"$(gens_field 208 32)"
	# inet: bits 0 1 2; inet6: bits 0 1; per class new est rel inv
	assert_eq "$(vec_bits $((16#${v[0]})))" "2"
	assert_eq "$(vec_bits $((16#${v[4]})))" "0 2"
	assert_eq "$(vec_bits $((16#${v[8]})))" "0 2"
	assert_eq "$(vec_bits $((16#${v[12]})))" "1 2"
	assert_eq "$(vec_bits $((16#${v[16]})))" ""
	assert_eq "$(vec_bits $((16#${v[20]})))" "0"
	assert_eq "$(vec_bits $((16#${v[24]})))" "0"
	assert_eq "$(vec_bits $((16#${v[28]})))" "1"
}

@test "emit: state vectors of a small ruleset, decoded" {
	rules <<'EOF'
pass proto tcp to port 22 state new
pass state established,related
block state invalid
EOF
	emit
	# uses_iface 0, uses_proto 1, uses_ports 1, uses_state 1
	assert_eq "$(gens_field 33 4)" "00 01 01 01"
	# both families: bits 0 1 2; per family new, established, related,
	# invalid: the vector id of the rules that class leaves in
	local v
	read -ra v <<<"$(gens_field 208 32)"
	assert_eq "$(vec_bits $((16#${v[0]})))" "0"
	assert_eq "$(vec_bits $((16#${v[4]})))" "1"
	assert_eq "$(vec_bits $((16#${v[8]})))" "1"
	assert_eq "$(vec_bits $((16#${v[12]})))" "2"
	assert_eq "$(vec_bits $((16#${v[16]})))" "0"
	assert_eq "$(vec_bits $((16#${v[20]})))" "1"
	assert_eq "$(vec_bits $((16#${v[24]})))" "1"
	assert_eq "$(vec_bits $((16#${v[28]})))" "2"
	# the same vector ids in both families
	assert_eq "${v[*]:0:16}" "${v[*]:16:16}"
}

@test "digest: stable across --gen and --pin-dir, changes with a rule" {
	rules <<'EOF'
table <t> { 192.0.2.0/24 }
block from <t>
EOF
	local d d1
	d=$("$FWMAPGEN" --digest t.rules)
	[[ "$d" =~ ^[0-9a-f]{64}$ ]]
	"$FWMAPGEN" --gen 1 --pin-dir /a t.rules >a.batch
	"$FWMAPGEN" --gen 0 --pin-dir /b/c t.rules >b.batch
	grep -q "^# bpfguard fwmapgen: source=t.rules gen=1 digest=$d " a.batch
	grep -q "^# bpfguard fwmapgen: source=t.rules gen=0 digest=$d " b.batch
	# the digest bytes of bg_fw_gens
	emit
	assert_eq "$(gens_field 40 32 | tr -d ' ')" "$d"
	# a trailing comment doesn't change what is compiled ...
	printf '\n# x\n' >>t.rules
	assert_eq "$("$FWMAPGEN" --digest t.rules)" "$d"
	# ... a rule does
	rules <<'EOF'
table <t> { 192.0.2.0/25 }
block from <t>
EOF
	d1=$("$FWMAPGEN" --digest t.rules)
	[ "$d1" != "$d" ]
	rules <<'EOF'
table <t> { 192.0.2.0/24 }
pass from <t>
EOF
	[ "$("$FWMAPGEN" --digest t.rules)" != "$d" ]
}

@test "digest: SHA-256 of the batch's maps, keys and values (zero runs as 0 and their length), less the digest bytes" {
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	local d off
	d=$("$FWMAPGEN" --digest crosscheck.rules 2>/dev/null)
	off=$("$BATS_TEST_DIRNAME/../build/bg-abi" | jq '.structs.bg_fw_gen.fields[] | select(.name == "digest") | .offset')
	# the digest is of generation 0 (the generation is in keys and indexes)
	"$FWMAPGEN" --gen 0 --pin-dir /x crosscheck.rules 2>/dev/null >b.batch
	grep -q '^map update pinned /x/bg_fw_vec key' b.batch
	# an independent reading of the encoding fwmapgen/batch.c describes
	run python3 - "$off" <<'PY'
import hashlib, sys
off = int(sys.argv[1])
def rle(b):
    out, i = bytearray(), 0
    while i < len(b):
        if b[i]:
            out.append(b[i]); i += 1; continue
        n = 0
        while i < len(b) and not b[i] and n < 255:
            n += 1; i += 1
        out += bytes([0, n])
    return bytes(out)
h = hashlib.sha256()
for line in open("b.batch").read().splitlines()[1:]:
    w = line.split()
    name = w[3].rsplit("/", 1)[1]
    k = w.index("key"); v = w.index("value")
    key = bytes(int(x, 16) for x in w[k + 2:v])
    val = bytes(int(x, 16) for x in w[v + 2:])
    if name == "bg_fw_gens":
        val = val[:off] + val[off + 32:]
    h.update(name.encode() + rle(key) + rle(val) + b"\n")
print(h.hexdigest())
PY
	assert_eq "$output" "$d"
}

@test "emit: bpftool batch loads it into maps of the ABI sizes" {
	BPFFS_MNT="$BATS_TEST_TMPDIR/bpffs"
	mkdir "$BPFFS_MNT"
	mount -t bpf bpf "$BPFFS_MNT"
	local d="$BPFFS_MNT" m
	bpftool map create "$d/bg_fw_vec" type array key 4 value "$(abi_size bg_fw_vec)" entries $((2 * $(abi_const BG_FW_VEC_PER_GEN))) name bg_fw_vec
	for m in src4 dst4; do
		bpftool map create "$d/bg_fw_$m" type lpm_trie key 12 value 4 entries 1048576 name "bg_fw_$m" flags 1
	done
	for m in src6 dst6; do
		bpftool map create "$d/bg_fw_$m" type lpm_trie key 24 value 4 entries 1048576 name "bg_fw_$m" flags 1
	done
	for m in sport dport; do
		bpftool map create "$d/bg_fw_$m" type lpm_trie key 16 value 4 entries 65536 name "bg_fw_$m" flags 1
	done
	bpftool map create "$d/bg_fw_proto" type array key 4 value 4 entries 1024 name bg_fw_proto
	bpftool map create "$d/bg_fw_iface" type hash key 8 value 8 entries 1024 name bg_fw_iface
	bpftool map create "$d/bg_fw_rules" type array key 4 value 8 entries 16384 name bg_fw_rules
	bpftool map create "$d/bg_fw_rinfo" type hash key 8 value 88 entries 16384 name bg_fw_rinfo
	bpftool map create "$d/bg_fw_rtext" type hash key 8 value "$(abi_size bg_fw_rtext)" entries 16386 name bg_fw_rtext flags 1
	bpftool map create "$d/bg_fw_hits" type percpu_array key 4 value 16 entries 16386 name bg_fw_hits
	bpftool map create "$d/bg_fw_gens" type array key 4 value "$(abi_size bg_fw_gen)" entries 2 name bg_fw_gens
	bpftool map create "$d/bg_ct_config" type array key 4 value 56 entries 2 name bg_ct_config
	bpftool map create "$d/bg_rl_config" type array key 4 value "$(abi_size bg_rl_config)" entries 2 name bg_rl_config
	bpftool map create "$d/bg_scrub_config" type array key 4 value "$(abi_size bg_scrub_config)" entries 2 name bg_scrub_config
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	"$FWMAPGEN" --gen 1 --pin-dir "$d" -o cc.batch crosscheck.rules 2>/dev/null
	run bpftool batch file cc.batch
	assert_eq "$status" 0
	assert_eq "${lines[-1]}" "processed $(($(wc -l <cc.batch) - 1)) commands"
	# the longest prefix of 192.0.2.200 is 192.0.2.128/25: its vector id
	local want
	want=$(grep -F "/bg_fw_src4 key hex $(key4 1 25 192.0.2.128) value hex " cc.batch)
	want=${want##*value hex }
	local key
	read -ra key <<<"$(key4 1 32 192.0.2.200)"
	run bpftool map lookup pinned "$d/bg_fw_src4" key hex "${key[@]}"
	assert_eq "$status" 0
	assert_eq "${output##*value: }" "$want"
	# loaded = 1, 21 rules; the digest of the header line
	run bpftool map lookup pinned "$d/bg_fw_gens" key hex 01 00 00 00
	assert_eq "$status" 0
	local flat dig
	flat=$(tr -s ' \n' '  ' <<<"$output")
	[[ "$flat" == *"value: 01 00 00 00 15 00 00 00 "* ]]
	dig=$("$FWMAPGEN" --digest crosscheck.rules 2>/dev/null | sed 's/../& /g')
	[[ "$flat" == *" ${dig% } "* ]]
	# ports and protocols into generation 0
	cp "$FIXTURES/crosscheck-l4.rules" .
	"$FWMAPGEN" --gen 0 --pin-dir "$d" -o l4.batch crosscheck-l4.rules
	run bpftool batch file l4.batch
	assert_eq "$status" 0
	assert_eq "${lines[-1]}" "processed $(($(wc -l <l4.batch) - 1)) commands"
	# port 8085 of inet: longest match 8080/13 (8080:8087)
	want=$(grep -F "/bg_fw_dport key hex $(le32 $((64 + 13))) $(le32 0) $(le32 0) 1f 90 00 00 value hex " l4.batch)
	want=${want##*value hex }
	read -ra key <<<"$(le32 $((64 + 16))) $(le32 0) $(le32 0) 1f 95 00 00"
	run bpftool map lookup pinned "$d/bg_fw_dport" key hex "${key[@]}"
	assert_eq "$status" 0
	assert_eq "${output##*value: }" "$want"
}

@test "crosscheck: kernel simulation of the batch agrees with --eval" {
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	local v4 v6 on s d lo
	lo=$(cat /sys/class/net/lo/ifindex)
	v4="127.0.0.1 192.0.2.1 192.0.2.53 192.0.2.200 10.1.2.3 10.1.9.9 10.9.9.9
	    10.200.1.1 198.51.100.5 198.51.100.200 203.0.113.7 203.0.113.8
	    100.64.1.1 169.254.3.4 172.16.0.1 8.8.8.8 200.1.1.1 0.0.0.0
	    255.255.255.255"
	# written in full: the simulation reads IPv6 as 8 groups of 4 digits
	v6="0000:0000:0000:0000:0000:0000:0000:0001
	    2001:0db8:0001:0000:0000:0000:0000:0001
	    2001:0db8:0001:0000:0000:0000:0000:0053
	    2001:0db8:0001:0005:0000:0000:0000:0009
	    2001:0db8:0002:0001:0000:0000:0000:0001
	    2001:0db8:0002:0009:0000:0000:0000:0001
	    fe80:0000:0000:0000:0000:0000:0000:0001
	    fd00:0000:0000:0000:0000:0000:0000:0001
	    2001:0db8:dead:beef:0000:0000:0000:0001
	    2001:0db9:0000:0000:0000:0000:0000:0001
	    0000:0000:0000:0000:0000:0000:0000:0000
	    ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	for on in "" "on lo " "on nosuch-if0 " "on eth-other "; do
		for s in $v4; do
			for d in $v4; do
				echo "$on$s -> $d"
			done
		done
		for s in $v6; do
			for d in $v6; do
				echo "$on$s -> $d"
			done
		done
	done >p.txt
	[ "$(wc -l <p.txt)" -eq 2020 ]
	"$FWMAPGEN" --pin-dir /p crosscheck.rules >cc.batch 2>/dev/null
	"$FWMAPGEN" --eval crosscheck.rules <p.txt >eval.out 2>/dev/null
	awk -v lo_index="$lo" -v vec_per_gen="$(abi_const BG_FW_VEC_PER_GEN)" -f "$FIXTURES/kernel-sim.awk" cc.batch p.txt >sim.out
	[ "$(wc -l <sim.out)" -eq 2020 ]
	diff eval.out sim.out
	# not vacuous: most rules decide some packet
	[ "$(sort -u eval.out | wc -l)" -ge 18 ]
	grep -qx 'pass 1' eval.out
	grep -qx 'block 0' eval.out
	run ! grep -qx "block 3" eval.out
}

@test "crosscheck: kernel simulation agrees with --eval on proto, ports and state" {
	cp "$FIXTURES/crosscheck-l4.rules" .
	local lo
	lo=$(cat /sys/class/net/lo/ifindex)
	awk -v n=6000 -f "$FIXTURES/packets-l4.awk" >p.txt
	# rules the random packets rarely reach
	cat >>p.txt <<'EOF'
udp [2001:0db8:0001:0000:0000:0000:0000:0001]:500 -> [2001:0db8:0002:0000:0000:0000:0000:0001]:500
tcp 192.0.2.9:40000 -> 198.51.100.1:0
udp 192.0.2.9:40000 -> 198.51.100.1:0
tcp 192.0.2.66:1023 -> 192.0.2.1:22
tcp 192.0.2.66:1024 -> 192.0.2.1:22 state established
tcp 192.0.2.66:1024 -> 192.0.2.1:8080 state established
on lo 132 192.0.2.9 -> 198.51.100.1 frag
EOF
	[ "$(wc -l <p.txt)" -eq 6007 ]
	"$FWMAPGEN" --pin-dir /p crosscheck-l4.rules >cc.batch
	"$FWMAPGEN" --eval crosscheck-l4.rules <p.txt >eval.out
	awk -v lo_index="$lo" -v vec_per_gen="$(abi_const BG_FW_VEC_PER_GEN)" -f "$FIXTURES/kernel-sim.awk" cc.batch p.txt >sim.out
	[ "$(wc -l <sim.out)" -eq 6007 ]
	diff eval.out sim.out
	# not vacuous: every rule decides some packet, and the default too
	[ "$(sort -u eval.out | wc -l)" -eq 20 ]
	grep -q '^map update pinned /p/bg_fw_sport ' cc.batch
	grep -q '^map update pinned /p/bg_fw_dport ' cc.batch
	grep -q '^map update pinned /p/bg_fw_proto ' cc.batch
	# the same ruleset without state: every packet of a class other than
	# "new" that a state rule decided now gets a verdict without it
	grep -v 'state' crosscheck-l4.rules >nostate.rules
	"$FWMAPGEN" --pin-dir /p nostate.rules >ns.batch
	"$FWMAPGEN" --eval nostate.rules <p.txt >eval.out
	awk -v lo_index="$lo" -v vec_per_gen="$(abi_const BG_FW_VEC_PER_GEN)" -f "$FIXTURES/kernel-sim.awk" ns.batch p.txt >sim.out
	diff eval.out sim.out
}

@test "emit: connection limits fill bg_fw_limits, zero the rule's flow count, flag the rule" {
	rules <<'EOF2'
set timeout overload 90
pass proto udp
pass proto tcp to port 22 max-src-conn 3 max-src-conn-rate 10/60 overload <ssh_abuse> flush
pass max-states 100
EOF2
	run --separate-stderr "$FWMAPGEN" --gen 1 --pin-dir /p t.rules
	assert_eq "$status" 0
	# {gen 1, id 2}: max_states 0, max_src_conn 3, rate 10/60, overload, flush, "ssh_abuse"
	local name
	name="73 73 68 5f 61 62 75 73 65 $(printf '00 %.0s' {1..22})00"
	grep -Fx "map update pinned /p/bg_fw_limits key hex 01 00 00 00 02 00 00 00 value hex 00 00 00 00 03 00 00 00 0a 00 00 00 3c 00 00 00 01 01 00 00 $name" <<<"$output"
	grep -Fx "map update pinned /p/bg_fw_limits key hex 01 00 00 00 03 00 00 00 value hex 64 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 $(printf '00 %.0s' {1..31})00" <<<"$output"
	[ "$(grep -c '/bg_fw_limits ' <<<"$output")" -eq 2 ]
	# the flow counts of ids 2 and 3 of generation 1 (8193 + id) from zero
	assert_eq "$(grep '/bg_fw_rstates ' <<<"$output" | cut -d' ' -f7-10 | tr '\n' ,)" "03 20 00 00,04 20 00 00,"
	# bg_fw_rules: flags BG_RULE_F_LIMIT (2) on rules 2 and 3 only
	assert_eq "$(grep '/bg_fw_rules key hex .. 20 00 00 value' <<<"$output" | awk '{print $18}' | tr '\n' ,)" "00,02,02,"
	run "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.1:5 -> 192.0.2.2:22'
	assert_eq "${lines[2]}" "limits: max-src-conn 3 max-src-conn-rate 10/60 overload <ssh_abuse> flush"
}
