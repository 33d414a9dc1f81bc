#!/usr/bin/env bats
# fwmapgen, tables: inline and from files, their errors, mixed families, and a
# 100,000-entry table.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

@test "error: unknown table" {
	rules <<'EOF'
table <known> { 192.0.2.0/24 }
pass from <known> to <unknown>
EOF
	expect_error 2:22 'unknown table <unknown>'
}

@test "error: table used before its definition" {
	rules <<'EOF'
pass from <later>
table <later> { 192.0.2.0/24 }
EOF
	expect_error 1:11 'table <later> used before its definition on line 2'
}

@test "error: duplicate table name" {
	rules <<'EOF'
table <a> { 192.0.2.0/24 }
table <b> { }
table  <a> { }
EOF
	expect_error 3:8 'duplicate table <a> (first defined on line 1)'
}

@test "error: table file missing or unreadable" {
	mkdir conf
	rules conf/t.rules <<<'table <t> file "lists/none.txt"'
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 'conf/t.rules:1:16: cannot read table file "conf/lists/none.txt": No such file or directory'
	mkdir conf/lists conf/lists/dir.txt
	rules conf/t.rules <<<'table <t> file "lists/dir.txt"'
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 'conf/t.rules:1:16: cannot read table file "conf/lists/dir.txt": Is a directory'
}

@test "error: bad entry in a table file names the table file" {
	mkdir -p conf/lists
	rules conf/t.rules <<'EOF'
# the table file is relative to the ruleset's directory
table <t> file "lists/t.txt"
pass from <t>
EOF
	printf '# list\n192.0.2.0/24\n\n   198.51.100.7/24   # host bits\n' >conf/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 'conf/lists/t.txt:4:4: host bits set in "198.51.100.7/24" (did you mean 198.51.100.0/24?)'
	printf '192.0.2.0/24\nnot-an-address\n' >conf/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$stderr" 'conf/lists/t.txt:2:1: bad address "not-an-address"'
	printf '192.0.2.0/24\n2001:db8::/129\n' >conf/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$stderr" 'conf/lists/t.txt:2:1: bad prefix length in "2001:db8::/129" (IPv6 allows /0 to /128)'
	printf '192.0.2.0/24 198.51.100.0/24\n' >conf/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --check conf/t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 'conf/lists/t.txt:1:14: unexpected "198.51.100.0/24" after the address (one address per line)'
}

@test "emit: a mixed-family table, and an empty one" {
	rules <<'EOF'
table <mixed> { 192.0.2.0/24, 2001:db8::/32 }
table <empty> { }
block from <mixed>
pass inet6 to <mixed>
pass from <empty>
block to !<empty>
EOF
	emit
	# inet: rules 1, 3, 4 -> bits 0 1 2; inet6: rules 1 2 3 4 -> bits 0 1 2 3
	assert_eq "$(gens_field 8 8)" "03 00 00 00 04 00 00 00"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 24 192.0.2.0)")" "0 2"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 0 0.0.0.0)")" "2"
	assert_eq "$(bits bg_fw_dst4 "$(key4 0 0 0.0.0.0)")" "0 1 2"
	local k6
	k6="40 00 00 00 00 00 00 00 20 01 0d b8 $(printf "00 %.0s" {1..11})00"
	assert_eq "$(bits bg_fw_src6 "$k6")" "0 1 3"
	assert_eq "$(bits bg_fw_dst6 "$k6")" "0 1 2 3"
	# rule ids per (family, bit) in bg_fw_rules
	assert_eq "$(value_bytes bg_fw_rules "$(le32 2)")" "04 00 00 00 01 00 00 00"
	assert_eq "$(value_bytes bg_fw_rules "$(le32 $((4096 + 1)))")" "02 00 00 00 00 00 00 00"
	assert_eq "$(value_bytes bg_fw_rules "$(le32 $((4096 + 3)))")" "04 00 00 00 01 00 00 00"
}

@test "capacity: a 100k-entry table compiles in a couple of seconds" {
	awk 'BEGIN {
		for (i = 0; i < 60000; i++)
			printf "198.%d.%d.%d\n", 18 + int(i / 65536), int(i / 256) % 256, i % 256
		for (i = 0; i < 40000; i++)
			printf "2001:db8:%x:%x::/64\n", int(i / 200), i % 200
	}' >big.txt
	rules <<'EOF'
table <big> file "big.txt"
block from <big>
pass to <big>
block from 198.18.0.0/15
EOF
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o t.batch t.rules
	t1=$(date +%s%N)
	assert_eq "$status" 0
	echo "compile took $(((t1 - t0) / 1000000)) ms" >&2
	[ $(((t1 - t0) / 1000000)) -lt 2000 ]
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 3 rules (inet 3, inet6 2), default pass, 100000 table entries"
	# every table prefix in src and dst of its family, plus the /0s
	[ "$(grep -c '/bg_fw_src4 ' t.batch)" -eq 60002 ]
	[ "$(grep -c '/bg_fw_dst4 ' t.batch)" -eq 60001 ]
	[ "$(grep -c '/bg_fw_src6 ' t.batch)" -eq 40001 ]
	[ "$(grep -c '/bg_fw_dst6 ' t.batch)" -eq 40001 ]
	assert_eq "$(bits bg_fw_src4 "$(key4 0 32 198.18.200.7)")" "0 1 2"
	assert_eq "$(bits bg_fw_src4 "$(key4 0 15 198.18.0.0)")" "1 2"
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
198.18.200.7 -> 192.0.2.1
198.19.0.1 -> 192.0.2.1
2001:db8:c7:c7::1 -> ::1
2001:db8:c8:0::1 -> 2001:db8:0:1::1
EOF
	assert_eq "$(tr '\n' , <<<"$output")" "block 1,block 3,block 1,pass 2,"
}
