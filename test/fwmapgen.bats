#!/usr/bin/env bats
# fwmapgen: the ruleset compiler, validator and reference evaluator.
# Needs build/fwmapgen (make build/fwmapgen); root only for the bpftool test.

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

bats_require_minimum_version 1.5.0

setup() {
	FWMAPGEN="$BATS_TEST_DIRNAME/../build/fwmapgen"
	FIXTURES="$BATS_TEST_DIRNAME/fixtures/fwmapgen"
	USAGE_LINE1="usage: fwmapgen [--gen N] [--pin-dir DIR] [-o OUT] FILE"
	unset FW_BPFFS
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	if [ -n "${BPFFS_MNT:-}" ] && mountpoint -q "$BPFFS_MNT"; then
		umount "$BPFFS_MNT"
	fi
}

# Write standard input to the ruleset file (default t.rules).
rules() {
	cat >"${1:-t.rules}"
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		printf 'expected: <%s>\nactual:   <%s>\n' "$2" "$1" >&2
		return 1
	fi
}

# expect_error LINE:COL MESSAGE: t.rules fails in every mode with exactly
# "t.rules:LINE:COL: MESSAGE" and nothing on standard output.
expect_error() {
	local args
	for args in "--pin-dir /p" "--check" "--digest"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $args t.rules
		assert_eq "$status" 1
		assert_eq "$output" ""
		assert_eq "$stderr" "t.rules:$1: $2"
	done
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 192.0.2.2'
	assert_eq "$status" 1
	assert_eq "$stderr" "t.rules:$1: $2"
}

le32() {
	printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

# key4 GEN PLEN A.B.C.D: a struct bg_lpm4_key as the batch writes it
key4() {
	local a
	IFS=. read -ra a <<<"$3"
	printf '%s %s %02x %02x %02x %02x' "$(le32 $((32 + $2)))" \
		"$(le32 "$1")" "${a[@]}"
}

# The decoders below run in $(...), where a failed status is lost: they
# print "MISSING ..." instead, which no assertion expects.

# emit [ARGS]: t.rules -> t.batch, pin dir /p
emit() {
	"$FWMAPGEN" --pin-dir /p "$@" t.rules >t.batch
}

# lpm_vec MAP KEY: the vector id t.batch stores for that exact LPM key
lpm_vec() {
	local line v
	line=$(grep -F "pinned /p/$1 key hex $2 value hex " t.batch) || {
		echo "MISSING $1 entry for key $2"
		return 1
	}
	read -ra v <<<"${line##*value hex }"
	echo $((16#${v[0]} + 16#${v[1]} * 256 + 16#${v[2]} * 65536 + 16#${v[3]} * 16777216))
}

# vec_bits ID [GEN]: the set bits of vector ID in t.batch, "0 1 5"
vec_bits() {
	local line bytes i j b out=""
	line=$(grep -F "/bg_fw_vec key hex $(le32 "${2:-0}") $(le32 "$1") value hex " t.batch) || {
		echo "MISSING vector $1"
		return 1
	}
	read -ra bytes <<<"${line##*value hex }"
	if [ "${#bytes[@]}" -ne 512 ]; then
		echo "MISSING: vector $1 is not 512 bytes"
		return 1
	fi
	for ((i = 0; i < 512; i++)); do
		[ "${bytes[i]}" = 00 ] && continue
		b=$((16#${bytes[i]}))
		for ((j = 0; j < 8; j++)); do
			if ((b >> j & 1)); then
				out+=" $((i * 8 + j))"
			fi
		done
	done
	echo "${out# }"
}

# bits MAP KEY: the rule bits of the vector an LPM key points to
bits() {
	local id
	id=$(lpm_vec "$1" "$2") || {
		echo "$id"
		return 1
	}
	vec_bits "$id"
}

# value_bytes MAP KEY: the value hex bytes of an entry of t.batch
value_bytes() {
	local line
	line=$(grep -F "pinned /p/$1 key hex $2 value hex " t.batch) || {
		echo "MISSING $1 entry for key $2"
		return 1
	}
	echo "${line##*value hex }"
}

# gens_field OFFSET LEN: bytes of the bg_fw_gens value in t.batch
gens_field() {
	local v
	read -ra v <<<"$(value_bytes bg_fw_gens "$(le32 "${3:-0}")")"
	echo "${v[@]:$1:$2}"
}

# ---------------------------------------------------------------- help/usage

@test "help: --help and -h print the usage and exit 0 in every mode" {
	local args
	for args in "--help" "-h" "--check --help" "--explain -h" "--eval --help" \
		"--digest -h" "--gen 1 -o x --help" "--explain t.rules --help" \
		"nonexistent.rules -h" "--bogus --help"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $args
		assert_eq "$status" 0
		assert_eq "${lines[0]}" "$USAGE_LINE1"
		assert_eq "$stderr" ""
		[[ "$output" == *"--explain FILE 'PACKET'"* ]]
		[[ "$output" == *"PACKET := [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]"* ]]
	done
	[ ! -e x ]
}

@test "usage: bad usage exits 2 with a one-line error" {
	rules <<<'pass'
	local -a cases=(
		""
		"--bogus t.rules"
		"--gen 2 t.rules"
		"--gen t.rules"
		"t.rules extra"
		"--check --digest t.rules"
		"--explain t.rules"
		"--explain t.rules 1.2.3.4 x"
		"--check --gen 1 t.rules"
		"--digest -o out t.rules"
		"--pin-dir /a#b t.rules"
		"--explain t.rules 192.0.2.1"
		"--explain t.rules 192.0.2.1->2001:db8::1"
		"--explain t.rules 192.0.2.0/24->192.0.2.1"
		"--pin-dir"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $c
		echo "case: $c" >&2
		assert_eq "$status" 2
		assert_eq "$output" ""
		assert_eq "${#stderr_lines[@]}" 1
		[[ "$stderr" == fwmapgen:* ]]
	done
	run --separate-stderr "$FWMAPGEN" --gen 2 t.rules
	assert_eq "$stderr" 'fwmapgen: --gen must be 0 or 1, not "2" (see fwmapgen --help)'
	run --separate-stderr "$FWMAPGEN"
	assert_eq "$stderr" 'fwmapgen: missing ruleset FILE (see fwmapgen --help)'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 2001:db8::1'
	assert_eq "$stderr" 'fwmapgen: bad PACKET: SRC and DST are not of the same family (see fwmapgen --help)'
	[ ! -e out ]
}

@test "usage: a missing ruleset file is exit 1" {
	run --separate-stderr "$FWMAPGEN" --check nope.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "nope.rules: cannot read ruleset: No such file or directory"
}

# ---------------------------------------------------------------- errors

@test "error: address with host bits set" {
	rules <<<'pass from 192.0.2.1/24'
	expect_error 1:11 'host bits set in "192.0.2.1/24" (did you mean 192.0.2.0/24?)'
	rules <<<'block to 2001:db8::1/32'
	expect_error 1:10 'host bits set in "2001:db8::1/32" (did you mean 2001:db8::/32?)'
}

@test "error: bad prefix length (/33, /129, /x, empty)" {
	rules <<<'pass from 192.0.2.0/33'
	expect_error 1:11 'bad prefix length in "192.0.2.0/33" (IPv4 allows /0 to /32)'
	rules <<<'pass to  2001:db8::/129'
	expect_error 1:10 'bad prefix length in "2001:db8::/129" (IPv6 allows /0 to /128)'
	rules <<<'pass from 192.0.2.0/x'
	expect_error 1:11 'bad prefix length in "192.0.2.0/x" (IPv4 allows /0 to /32)'
	rules <<<'pass from { 192.0.2.0/24, 198.51.100.0/ }'
	expect_error 1:27 'bad prefix length in "198.51.100.0/" (IPv4 allows /0 to /32)'
}

@test "error: bad address" {
	rules <<<'pass from 192.0.2.256'
	expect_error 1:11 'bad address "192.0.2.256"'
	rules <<<'pass to 2001:db8:::1/64'
	expect_error 1:9 'bad address "2001:db8:::1/64"'
	rules <<<'pass from localhost'
	expect_error 1:11 'bad address "localhost"'
}

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

@test "error: unknown macro" {
	rules <<'EOF'
NET = "192.0.2.0/24"
pass from $NET to $NOPE
EOF
	expect_error 2:19 'unknown macro $NOPE'
	rules <<'EOF'
A = "192.0.2.0/24"
B = "{ $A, $C }"
EOF
	expect_error 2:12 'unknown macro $C'
}

@test "error: macro used before its definition" {
	rules <<'EOF'
pass from any \
	to $LATER
LATER = "192.0.2.1"
EOF
	expect_error 2:5 'macro $LATER used before its definition on line 3'
	rules <<<'A = "x $A"'
	expect_error 1:8 'macro $A refers to itself'
}

@test "error: inside a macro expansion the error points at the \$" {
	rules <<'EOF'
NET = "192.0.2.1/24"
pass from $NET
EOF
	expect_error 2:11 'host bits set in "192.0.2.1/24" (did you mean 192.0.2.0/24?)'
	# a macro value that uses an earlier macro: still the outer reference
	rules <<'EOF'
A = "198.51.100.0/33"
B = "{ 192.0.2.0/24, $A }"
pass   from  $B
EOF
	expect_error 3:14 'bad prefix length in "198.51.100.0/33" (IPv4 allows /0 to /32)'
}

@test "error: inet6 rule with an IPv4 address, inet rule with an IPv6 one" {
	rules <<<'pass inet6 from 192.0.2.0/24'
	expect_error 1:17 'IPv4 address "192.0.2.0/24" in an inet6 rule'
	rules <<<'block inet from any to { 192.0.2.1, 2001:db8::1 }'
	expect_error 1:37 'IPv6 address "2001:db8::1" in an inet rule'
	rules <<<'pass inet6 to !198.51.100.0/24'
	expect_error 1:16 'IPv4 address "198.51.100.0/24" in an inet6 rule'
}

@test "error: a rule whose addresses leave no family" {
	rules <<<'pass from 192.0.2.1 to 2001:db8::1'
	expect_error 1:24 'rule matches no address family (from: IPv4 only; to: IPv6 only)'
	rules <<'EOF'
table <v4> { 192.0.2.0/24, 198.51.100.0/24 }
block inet6 from <v4>
EOF
	expect_error 2:18 'rule matches no address family (inet6 rule; from: IPv4 only)'
	rules <<'EOF'
table <v6> { 2001:db8::/32 }
block from !<v6> to { 192.0.2.1 }
EOF
	expect_error 2:21 'rule matches no address family (from: IPv6 only; to: IPv4 only)'
}

@test "error: duplicate table name" {
	rules <<'EOF'
table <a> { 192.0.2.0/24 }
table <b> { }
table  <a> { }
EOF
	expect_error 3:8 'duplicate table <a> (first defined on line 1)'
}

@test "error: duplicate macro name" {
	rules <<'EOF'
X = "192.0.2.1"
Y = "2001:db8::1"
  X = "192.0.2.2"
EOF
	expect_error 3:3 'duplicate macro X (first defined on line 1)'
}

@test "error: second set default" {
	rules <<'EOF'
set default block
pass from 192.0.2.0/24
set default block
EOF
	expect_error 3:1 'default policy already set on line 1'
}

@test "error: syntax: unexpected token" {
	rules <<<'pass from any lable "x"'
	expect_error 1:15 'syntax error: unexpected "lable" (syntax: pass|block [log] [on IFACE] [inet|inet6] [proto PROTO] [from [SRC] [port PORTS]] [to [DST] [port PORTS]] [state STATE[,STATE...]] [label "TEXT"])'
	# options out of order
	rules <<<'pass from any log'
	expect_error 1:15 'syntax error: unexpected "log" (syntax: pass|block [log] [on IFACE] [inet|inet6] [proto PROTO] [from [SRC] [port PORTS]] [to [DST] [port PORTS]] [state STATE[,STATE...]] [label "TEXT"])'
	rules <<<'drop from any'
	expect_error 1:1 'syntax error: unexpected "drop", expected a rule (pass|block ...), table, set default or NAME = "VALUE"'
	rules <<<'pass from !'
	expect_error 1:12 "syntax error: unexpected end of line, expected an address or <table> after '!'"
	rules <<<'set default allow'
	expect_error 1:13 'syntax error: unexpected "allow", expected pass or block'
	rules <<<'pass from !{ 192.0.2.1 }'
	expect_error 1:12 "syntax error: unexpected '{', expected an address or <table> after '!'"
	rules <<<'X = 192.0.2.1'
	expect_error 1:5 'syntax error: a macro value must be a quoted string (NAME = "VALUE")'
	rules <<<'pass from <bad name>'
	expect_error 1:11 "bad table reference: expected <NAME> with NAME made of letters, digits and '_'"
}

@test "error: syntax: unterminated string" {
	rules <<'EOF'
pass from any label "a # b
EOF
	expect_error 1:21 "syntax error: unterminated string (missing closing '\"')"
	rules <<'EOF'
X = "192.0.2.1
EOF
	expect_error 1:5 "syntax error: unterminated string (missing closing '\"')"
}

@test "error: syntax: unterminated {" {
	rules <<'EOF'
table <t> { 192.0.2.0/24, \
	198.51.100.0/24
pass from <t>
EOF
	expect_error 1:11 "syntax error: unterminated '{' (missing '}'; end a line with '\\' to continue the list)"
	rules <<<'pass from { 192.0.2.1 to any'
	expect_error 1:23 "syntax error: unexpected \"to\", expected an address or '}'"
}

@test "error: positions on continuation lines" {
	rules <<'EOF'
# comment line
block log \
	from 192.0.2.0/24 \
	to 198.51.100.1/24 label "x"
EOF
	expect_error 4:5 'host bits set in "198.51.100.1/24" (did you mean 198.51.100.0/24?)'
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

@test "error: bad port" {
	rules <<<'pass proto tcp to port 70000'
	expect_error 1:24 'bad port "70000" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port ssh'
	expect_error 1:24 'bad port "ssh" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto udp from any port { 22, 1:x }'
	expect_error 1:36 'bad port "1:x" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port 1:65536'
	expect_error 1:24 'bad port "1:65536" (ports are numbers from 0 to 65535, ranges N:M or N-M)'
	rules <<<'pass proto tcp to port { }'
	expect_error 1:24 'empty port list (it would match nothing)'
	rules <<<'pass proto tcp to port { 22 to any'
	expect_error 1:29 "syntax error: unexpected \"to\", expected a port or '}'"
	rules <<<'pass proto tcp from port'
	expect_error 1:25 'syntax error: unexpected end of line, expected a port, N:M or { list } after "port"'
}

@test "error: reversed port range" {
	rules <<<'pass proto udp to port 80:22'
	expect_error 1:24 'reversed port range "80:22" (the first port must not be above the second)'
	rules <<<'pass proto tcp from port { 1, 80-79 }'
	expect_error 1:31 'reversed port range "80-79" (the first port must not be above the second)'
}

@test "error: port without proto tcp or udp" {
	rules <<<'pass to port 22'
	expect_error 1:9 '"port" needs proto tcp or proto udp'
	rules <<<'pass proto icmp from any port 22'
	expect_error 1:26 '"port" needs proto tcp or proto udp'
	rules <<<'pass proto 132 to 192.0.2.1 port 22'
	expect_error 1:29 '"port" needs proto tcp or proto udp'
	# proto 6 and 17 are tcp and udp
	rules <<<'pass proto 6 to port 22'
	run "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "error: bad proto" {
	rules <<<'pass proto gre'
	expect_error 1:12 'bad protocol "gre" (expected tcp, udp, icmp, icmp6 or a number from 0 to 255)'
	rules <<<'pass inet proto 256 from any'
	expect_error 1:17 'bad protocol "256" (expected tcp, udp, icmp, icmp6 or a number from 0 to 255)'
	rules <<<'pass proto'
	expect_error 1:11 'syntax error: unexpected end of line, expected a protocol after "proto"'
}

@test "error: bad state" {
	rules <<<'pass state new,closed'
	expect_error 1:16 'bad state "closed" (expected new, established, related or invalid)'
	rules <<<'pass proto tcp state'
	expect_error 1:21 'syntax error: unexpected end of line, expected a state (new, established, related or invalid)'
	rules <<<'pass state new,'
	expect_error 1:16 'syntax error: unexpected end of line, expected a state (new, established, related or invalid)'
}

@test "error: duplicate keyword" {
	rules <<<'pass proto tcp proto udp'
	expect_error 1:16 'duplicate keyword "proto" (a rule takes each keyword once)'
	rules <<<'pass from any to any from 192.0.2.1'
	expect_error 1:22 'duplicate keyword "from" (a rule takes each keyword once)'
	rules <<<'pass inet inet6'
	expect_error 1:11 'duplicate keyword "inet6" (a rule takes each keyword once)'
	rules <<<'pass proto tcp to port 22 port 23'
	expect_error 1:27 'duplicate keyword "port" (a rule takes each keyword once)'
	rules <<<'block log log'
	expect_error 1:11 'duplicate keyword "log" (a rule takes each keyword once)'
	rules <<<'pass to any label "a" label "b"'
	expect_error 1:23 'duplicate keyword "label" (a rule takes each keyword once)'
	# out of order is a syntax error, as before
	rules <<<'pass from any proto tcp'
	expect_error 1:15 'syntax error: unexpected "proto" (syntax: pass|block [log] [on IFACE] [inet|inet6] [proto PROTO] [from [SRC] [port PORTS]] [to [DST] [port PORTS]] [state STATE[,STATE...]] [label "TEXT"])'
}

@test "error: from or to with neither an address nor a port" {
	rules <<<'pass from'
	expect_error 1:6 'syntax error: "from" needs an address, a port or both'
	rules <<<'pass  from to any'
	expect_error 1:7 'syntax error: "from" needs an address, a port or both'
	rules <<<'pass proto tcp from port 22 to label "x"'
	expect_error 1:29 'syntax error: "to" needs an address, a port or both'
	rules <<<'pass to state new'
	expect_error 1:6 'syntax error: "to" needs an address, a port or both'
}

@test "error: proto and address family contradict" {
	rules <<<'pass inet6 proto icmp'
	expect_error 1:18 "proto icmp is IPv4 only: it can't be in an inet6 rule"
	rules <<<'pass inet proto icmp6'
	expect_error 1:17 "proto icmp6 is IPv6 only: it can't be in an inet rule"
	rules <<<'pass inet6 proto 1'
	expect_error 1:18 "proto 1 is IPv4 only: it can't be in an inet6 rule"
	rules <<<'pass proto icmp from 2001:db8::1'
	expect_error 1:22 'rule matches no address family (proto icmp: IPv4 only; from: IPv6 only)'
	rules <<<'block proto icmp6 to { 192.0.2.1 }'
	expect_error 1:22 'rule matches no address family (proto icmp6: IPv6 only; to: IPv4 only)'
	# a mixed list leaves the protocol's family
	rules <<<'block proto icmp6 to { 192.0.2.1, 2001:db8::1 }'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 0, inet6 1), default pass, 0 table entries"
}

@test "state compiles in every mode, now that conntrack exists" {
	rules <<'EOF'
pass proto tcp to port 22
pass proto tcp from 192.0.2.0/24 state new,established label "x"
EOF
	local args
	for args in "--pin-dir /p" "--check" "--digest"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FWMAPGEN" $args t.rules
		assert_eq "$status" 0
		assert_eq "$stderr" ""
	done
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 2 rules (inet 2, inet6 1), default pass, 0 table entries"
	emit
	# uses_proto 1, uses_ports 1, uses_state 1
	assert_eq "$(gens_field 34 3)" "01 01 01"
	# FWMAPGEN_EXPERIMENTAL_STATE is gone: it changes nothing
	FWMAPGEN_EXPERIMENTAL_STATE=1 "$FWMAPGEN" --pin-dir /p t.rules >x.batch
	cmp t.batch x.batch
	# a bad state list is still an error
	rules <<<'pass state bogus'
	expect_error 1:12 'bad state "bogus" (expected new, established, related or invalid)'
	# the evaluator takes it
	rules <<'EOF'
pass proto tcp to port 22
pass proto tcp from 192.0.2.0/24 state new,established label "x"
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.1:5 -> 10.0.0.1:80 state established'
	assert_eq "$status" 0
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 192.0.2.1:5 -> 10.0.0.1:80 state related'
	assert_eq "${lines[1]}" "rule: 0 (default policy)"
}

@test "error: label longer than 63 bytes" {
	local l63 l64
	l63=$(printf 'x%.0s' {1..63})
	l64="${l63}y"
	rules <<<"pass label \"$l63\""
	run "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	rules <<<"pass from any label \"$l64\""
	expect_error 1:21 'label is longer than 63 bytes (64 bytes)'
}

@test "error: interface name longer than 15 bytes" {
	rules <<<'pass on abcdefghijklmnop from any'
	expect_error 1:9 'interface name "abcdefghijklmnop" is longer than 15 bytes'
}

@test "warning: a missing interface warns and doesn't fail" {
	rules <<'EOF'
block on nosuch-if0 from 192.0.2.0/24
pass on lo
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 2 rules (inet 2, inet6 1), default pass, 0 table entries"
	assert_eq "$stderr" "t.rules:1:10: warning: interface nosuch-if0 does not exist here; its rules match nothing"
	run --separate-stderr "$FWMAPGEN" --pin-dir /p t.rules
	assert_eq "$status" 0
	# only lo has an iface entry; the rule on the missing one is in no vector
	local lo
	lo=$(cat /sys/class/net/lo/ifindex)
	[ "$(grep -c '/bg_fw_iface ' <<<"$output")" -eq 1 ]
	grep -qF "/p/bg_fw_iface key hex $(le32 0) $(le32 "$lo") value hex " <<<"$output"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on nosuch-if0 192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 0 (default policy)"
}

@test "error: more than 4096 rules for one family" {
	{
		seq 0 4095 | awk '{ printf "block from 10.%d.%d.0/24\n", int($1 / 256), $1 % 256 }'
		echo "pass to 2001:db8::/32"
		echo "pass"
	} >t.rules
	expect_error 4098:1 'too many inet rules (more than 4096 apply to IPv4)'
}

@test "error: more than 8192 rules in total" {
	{
		seq 0 4095 | awk '{ printf "block inet from 10.%d.%d.0/24\n", int($1 / 256), $1 % 256 }'
		seq 0 4095 | awk '{ printf "pass inet6 to 2001:db8:%x::/48\n", $1 }'
	} >t.rules
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 8192 rules (inet 4096, inet6 4096), default pass, 0 table entries"
	echo "block from 192.0.2.1" >>t.rules
	expect_error 8193:1 'too many rules (more than 8192 in total)'
}

# ---------------------------------------------------------------- language

@test "check: summary line counts rules per family and table entries" {
	printf '192.0.2.0/24\n192.0.2.0/24\n2001:db8::/32\n' >list.txt
	rules <<'EOF'
set default block   # comment
table <a> { 198.51.100.0/24, 203.0.113.0/24 }
table <b> file "list.txt"
table <empty> { }
pass from <a>
pass from <b>
pass to <empty>
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 3 rules (inet 3, inet6 2), default block, 4 table entries"
	assert_eq "$stderr" ""
}

@test "language: comments, continuations, macros, quotes" {
	rules <<'EOF'
# a comment
NETS = "{ 192.0.2.0/24, \
	198.51.100.0/24 }"  # hm: a string can't span lines
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "t.rules:2:8: syntax error: unterminated string (missing closing '\"')"
	rules <<'EOF'
	# indented comment, then blank lines

A = "192.0.2.0/24"
NETS = "{ $A, 198.51.100.0/24 }"   # values use earlier macros
EMPTY = ""
block log $EMPTY from $NETS \
	to any   label   "price # $A   kept"   # '#' and '$' in quotes are text
table <t> { 2001:db8::/32, \
	    2001:db8:1::/48 \
	}
pass on lo inet6 from <t>
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules '198.51.100.9 -> 203.0.113.1'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: block
rule: 1 (t.rules:6)
label: "price # $A   kept"
text: block log $EMPTY from $NETS to any label "price # $A   kept"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on lo 2001:db8:1::1 -> ::1'
	assert_eq "$output" 'verdict: pass
rule: 2 (t.rules:11)
text: pass on lo inet6 from <t>'
}

# ---------------------------------------------------------------- emission

@test "emit: golden batch of a small ruleset" {
	cd "$FIXTURES"
	run --separate-stderr "$FWMAPGEN" golden.rules
	assert_eq "$status" 0
	assert_eq "$stderr" ""
	assert_eq "$output" "$(cat golden.batch)"
	FW_BPFFS=/sys/fs/bpf run "$FWMAPGEN" --gen 0 golden.rules
	assert_eq "$output" "$(cat golden.batch)"
}

@test "emit: pin dir defaults to \$FW_BPFFS/tc/globals" {
	rules <<<'pass'
	FW_BPFFS=/mnt/bpf run --separate-stderr "$FWMAPGEN" t.rules
	assert_eq "$status" 0
	[ "$(grep -c '^map update pinned /mnt/bpf/tc/globals/bg_' <<<"$output")" -eq "$(grep -vc '^#' <<<"$output")" ]
	run --separate-stderr "$FWMAPGEN" t.rules
	grep -q '^map update pinned /sys/fs/bpf/tc/globals/bg_fw_gens key hex 00 00 00 00 value hex 01 ' <<<"$output"
	run --separate-stderr "$FWMAPGEN" --pin-dir /x/y/ t.rules
	grep -q '^map update pinned /x/y/bg_fw_gens key' <<<"$output"
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
		" 1 /p/bg_ct_config, 1 /p/bg_fw_dst4, 1 /p/bg_fw_dst6, 1 /p/bg_fw_gens, 1 /p/bg_fw_hits, 1 /p/bg_fw_src4, 1 /p/bg_fw_src6, 1 /p/bg_fw_vec,"
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
	[ "$(gens_field 0 300 1 | wc -w)" -eq 240 ]
	head -n 1 t.batch | grep -Eq '^# bpfguard fwmapgen: source=t\.rules gen=1 digest=[0-9a-f]{64} rules=2 inet=1 inet6=1$'
	[ "$(grep -c '#' t.batch)" -eq 1 ]
}

@test "emit: default policy in bg_fw_gens" {
	rules <<<'set default block'
	emit
	assert_eq "$(gens_field 32 2)" "01 00"
	rules <<<'set default pass'
	emit
	assert_eq "$(gens_field 32 2)" "00 00"
}

# keyp GEN PLEN FAMILY PORT: a struct bg_lpm_port_key as the batch writes it
keyp() {
	printf '%s %s %s %02x %02x 00 00' "$(le32 $((64 + $2)))" "$(le32 "$1")" \
		"$(le32 "$3")" $(($4 >> 8)) $(($4 & 255))
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
		"/p/bg_fw_vec,/p/bg_fw_src4,/p/bg_fw_dst4,/p/bg_fw_src6,/p/bg_fw_dst6,/p/bg_fw_sport,/p/bg_fw_dport,/p/bg_fw_proto,/p/bg_fw_rules,/p/bg_fw_rinfo,/p/bg_fw_hits,/p/bg_ct_config,/p/bg_fw_gens,"
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

# ---------------------------------------------------------------- conntrack settings

# ct_config [GEN]: the value bytes of the bg_ct_config line of t.batch
ct_config() {
	value_bytes bg_ct_config "0${1:-0} 00 00 00"
}

@test "conntrack: bg_ct_config with timeouts and a limit, before bg_fw_gens" {
	rules <<'EOF'
set timeout tcp.syn_sent 30
set timeout tcp.established 432000
set timeout udp.replied 180
set timeout icmp 4294967
set timeout tcp.close 1
set limit states 1000
pass state established,related
EOF
	emit --gen 1
	# timeout[12] by enum bg_ct_timeout, limit_states, pad
	local want
	want="$(le32 30) $(le32 0) $(le32 432000) $(le32 0) $(le32 0) $(le32 0)"
	want+=" $(le32 0) $(le32 1) $(le32 0) $(le32 180) $(le32 4294967) $(le32 0)"
	want+=" $(le32 1000) $(le32 0)"
	assert_eq "$(ct_config 1)" "$want"
	# one line, keyed by the generation (the settings switch with it),
	# right before the bg_fw_gens line
	[ "$(grep -c '/bg_ct_config ' t.batch)" -eq 1 ]
	tail -n 2 t.batch | head -n 1 | grep -q '^map update pinned /p/bg_ct_config key hex 01 00 00 00 value hex '
	tail -n 1 t.batch | grep -q '^map update pinned /p/bg_fw_gens key hex 01 00 00 00 '
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 1, inet6 1), default pass, 0 table entries, 5 timeouts set, limit states 1000"
	# every name, in enum order
	local names=(tcp.syn_sent tcp.syn_recv tcp.established tcp.fin_wait
		tcp.close_wait tcp.last_ack tcp.time_wait tcp.close
		udp.unreplied udp.replied icmp) i
	for i in "${!names[@]}"; do
		echo "set timeout ${names[i]} $((100 + i))"
	done >t.rules
	emit
	want=""
	for i in "${!names[@]}"; do
		want+="$(le32 $((100 + i))) "
	done
	assert_eq "$(ct_config)" "$want$(le32 0) $(printf '00 %.0s' {1..7})00"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 0 rules (inet 0, inet6 0), default pass, 0 table entries, 11 timeouts set"
	# a limit alone, at the table size
	rules <<<"set limit states 65536"
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..48})$(le32 65536) $(printf '00 %.0s' {1..3})00"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 0 rules (inet 0, inet6 0), default pass, 0 table entries, limit states 65536"
}

@test "conntrack: bg_ct_config is all zeros (defaults) without settings" {
	rules <<'EOF'
pass proto tcp to port 22
EOF
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..55})00"
	[ "$(grep -c '/bg_ct_config ' t.batch)" -eq 1 ]
	tail -n 2 t.batch | head -n 1 | grep -q '^map update pinned /p/bg_ct_config key hex 00 00 00 00 value hex '
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$output" "t.rules: 1 rules (inet 1, inet6 1), default pass, 0 table entries"
	rules </dev/null
	emit
	assert_eq "$(ct_config)" "$(printf '00 %.0s' {1..55})00"
}

@test "conntrack: the digest changes with a timeout or the limit" {
	local d0 d1 d2 d3
	rules <<<'pass state established'
	d0=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set timeout tcp.established 3600
pass state established
EOF
	d1=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set timeout tcp.established 3601
pass state established
EOF
	d2=$("$FWMAPGEN" --digest t.rules)
	rules <<'EOF'
set limit states 100
pass state established
EOF
	d3=$("$FWMAPGEN" --digest t.rules)
	[ "$d0" != "$d1" ] && [ "$d1" != "$d2" ] && [ "$d0" != "$d2" ]
	[ "$d3" != "$d0" ] && [ "$d3" != "$d1" ]
	# the same setting, elsewhere and through a macro (the rule stays on
	# line 2: its line is in bg_fw_rinfo)
	rules <<'EOF'
S = "3601"
pass state established
set timeout tcp.established $S
EOF
	assert_eq "$("$FWMAPGEN" --digest t.rules)" "$d2"
	# and the header carries the digest
	emit
	head -n 1 t.batch | grep -q "digest=$d2 "
}

@test "error: set timeout" {
	rules <<<'set timeout tcp.established'
	expect_error 1:28 'syntax error: unexpected end of line, expected a number of seconds'
	rules <<<'set timeout'
	expect_error 1:12 'syntax error: unexpected end of line, expected a timeout name (tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied or icmp)'
	rules <<<'set timeout tcp.estab 30'
	expect_error 1:13 'unknown timeout "tcp.estab" (expected tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied or icmp)'
	rules <<<'set timeout udp 30'
	expect_error 1:13 'unknown timeout "udp" (expected tcp.syn_sent, tcp.syn_recv, tcp.established, tcp.fin_wait, tcp.close_wait, tcp.last_ack, tcp.time_wait, tcp.close, udp.unreplied, udp.replied or icmp)'
	rules <<<'set timeout icmp 30s'
	expect_error 1:18 'bad timeout "30s" (expected a number of seconds)'
	rules <<<'set timeout icmp -1'
	expect_error 1:18 'bad timeout "-1" (expected a number of seconds)'
	rules <<<'set timeout icmp 0'
	expect_error 1:18 "timeout icmp can't be 0 (1..4294967 seconds; leave it unset for the default)"
	rules <<<'set timeout udp.unreplied 4294968'
	expect_error 1:27 'timeout udp.unreplied of 4294968 seconds is out of range (1..4294967)'
	rules <<<'set timeout udp.unreplied 99999999999999999999999'
	expect_error 1:27 'timeout udp.unreplied of 99999999999999999999999 seconds is out of range (1..4294967)'
	rules <<<'set timeout icmp 30 60'
	expect_error 1:21 'syntax error: unexpected "60" (syntax: set timeout NAME SECONDS)'
	rules <<'EOF'
set timeout tcp.time_wait 60
set timeout icmp 30
  set timeout tcp.time_wait 120
EOF
	expect_error 3:15 'timeout tcp.time_wait already set on line 1'
	rules <<<'set bogus 1'
	expect_error 1:5 'syntax error: unexpected "bogus", expected default, timeout or limit after "set"'
	# macros expand in settings
	rules <<'EOF'
T = "3600"
set timeout tcp.established $T
EOF
	emit
	assert_eq "$(ct_config | cut -d' ' -f9-12)" "$(le32 3600)"
}

@test "error: set limit states" {
	rules <<<'set limit states 0'
	expect_error 1:18 'limit states 0 is out of range (1..65536, the table size)'
	rules <<<'set limit states 65537'
	expect_error 1:18 'limit states 65537 is out of range (1..65536, the table size)'
	rules <<<'set limit states 4294967296'
	expect_error 1:18 'limit states 4294967296 is out of range (1..65536, the table size)'
	rules <<<'set limit states many'
	expect_error 1:18 'bad limit "many" (expected a number of states)'
	rules <<<'set limit states'
	expect_error 1:17 'syntax error: unexpected end of line, expected a number of states'
	rules <<<'set limit flows 10'
	expect_error 1:11 'syntax error: unexpected "flows", expected "states" after "set limit"'
	rules <<<'set limit states 10 20'
	expect_error 1:21 'syntax error: unexpected "20" (syntax: set limit states N)'
	rules <<'EOF'
set limit states 10
set limit states 10
EOF
	expect_error 2:1 'limit states already set on line 1'
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

@test "digest: SHA-256 of the gen 0 batch with an empty pin dir, less line 1 and the digest bytes" {
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	local d
	d=$("$FWMAPGEN" --digest crosscheck.rules 2>/dev/null)
	"$FWMAPGEN" --gen 0 --pin-dir '' crosscheck.rules 2>/dev/null |
		tail -n +2 |
		awk '/ \/bg_fw_gens key / {
			for (i = 1; i <= NF; i++) if ($i == "value") v = i + 2
			out = $1
			for (i = 2; i <= NF; i++)
				if (i < v + 40 || i >= v + 72) out = out " " $i
			$0 = out
		} { print }' >stripped
	grep -q '^map update pinned /bg_fw_vec key' stripped
	assert_eq "$(sha256sum stripped | cut -d' ' -f1)" "$d"
}

@test "emit: -o writes atomically and only on success" {
	local good
	rules <<<'pass from 192.0.2.0/24'
	good=$("$FWMAPGEN" --pin-dir /p t.rules)
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch t.rules
	assert_eq "$status" 0
	assert_eq "$output" ""
	assert_eq "$(cat out.batch)" "$good"
	assert_eq "$(stat -c %a out.batch)" "$(printf '%o' $((0666 & ~$(umask))))"
	# a failed compilation leaves the previous batch alone
	rules <<<'pass from 192.0.2.1/24'
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch t.rules
	assert_eq "$status" 1
	assert_eq "$(cat out.batch)" "$good"
	[ -z "$(ls out.batch.tmp.* 2>/dev/null)" ]
	run --separate-stderr "$FWMAPGEN" -o nodir/out.batch t.rules
	assert_eq "$status" 1
	[ ! -e nodir ]
}

@test "emit: bpftool batch loads it into maps of the ABI sizes" {
	BPFFS_MNT="$BATS_TEST_TMPDIR/bpffs"
	mkdir "$BPFFS_MNT"
	mount -t bpf bpf "$BPFFS_MNT"
	local d="$BPFFS_MNT" m
	bpftool map create "$d/bg_fw_vec" type hash key 8 value 512 entries 65536 name bg_fw_vec
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
	bpftool map create "$d/bg_fw_hits" type percpu_array key 4 value 16 entries 16386 name bg_fw_hits
	bpftool map create "$d/bg_fw_gens" type array key 4 value 240 entries 2 name bg_fw_gens
	bpftool map create "$d/bg_ct_config" type array key 4 value 56 entries 2 name bg_ct_config
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

# ---------------------------------------------------------------- evaluator

@test "explain: overlapping CIDRs, first match wins" {
	rules <<'EOF'
set default block
pass from 192.0.2.128/25   # narrower first
block log from 192.0.2.0/24 to any label "test net"
pass from 10.0.0.0/8
block from 10.1.0.0/16     # never reached
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.200 -> 198.51.100.1'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:2)
text: pass from 192.0.2.128/25'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 198.51.100.1'
	assert_eq "$output" 'verdict: block
rule: 2 (t.rules:3)
label: "test net"
text: block log from 192.0.2.0/24 to any label "test net"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules '10.1.2.3->10.1.2.4'
	assert_eq "${lines[1]}" "rule: 3 (t.rules:4)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules '2001:db8::1 -> 2001:db8::2'
	assert_eq "$output" 'verdict: block
rule: 0 (default policy)'
}

@test "explain: negation, tables, families" {
	printf '2001:db8:bad::/48\n198.51.100.66\n' >bad.txt
	rules <<'EOF'
table <bad> file "bad.txt"
table <v4> { 192.0.2.0/24 }
block from <bad>
pass from !<v4> to 192.0.2.0/24
pass inet6 from !2001:db8::/32
block to !<v4>
EOF
	printf '%s\n' \
		'198.51.100.66 -> 192.0.2.1' \
		'2001:db8:bad::1 -> ::1' \
		'198.51.100.67 -> 192.0.2.1' \
		'192.0.2.9 -> 192.0.2.1' \
		'2001:db9::1 -> ::1' \
		'2001:db8::1 -> ::1' \
		'192.0.2.9 -> 198.51.100.1' \
		'192.0.2.9 -> 192.0.2.10' >p.txt
	run --separate-stderr "$FWMAPGEN" --eval t.rules <p.txt
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 1,block 1,pass 2,pass 0,pass 3,pass 0,block 4,pass 0,"
}

@test "explain: on IFACE matches the ingress interface name" {
	rules <<'EOF'
pass on lo from 192.0.2.0/24 label "lo"
block from 192.0.2.0/24
EOF
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on lo 192.0.2.1 -> 192.0.2.2'
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:1)
label: "lo"
text: pass on lo from 192.0.2.0/24 label "lo"'
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'on eth7 192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
	run --separate-stderr "$FWMAPGEN" --explain t.rules '192.0.2.1 -> 192.0.2.2'
	assert_eq "${lines[1]}" "rule: 2 (t.rules:2)"
}

@test "eval: default policy and bad packet lines" {
	rules <<'EOF'
set default block
pass to 2001:db8::/32
EOF
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
192.0.2.1 -> 192.0.2.2

::1 -> 2001:db8::5
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 0,pass 1,"
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
192.0.2.1 -> 192.0.2.2
192.0.2.1 -> ::1
EOF
	assert_eq "$status" 1
	assert_eq "$stderr" "<stdin>:2: bad packet: SRC and DST are not of the same family"
}

@test "explain: proto, ports, fragments, packets without a protocol" {
	rules <<'EOF'
set default block
pass proto tcp to 192.0.2.1 port 22 label "ssh"
pass proto udp from port { 53, 5353 } to port 1024:65535
block proto icmp
pass inet6 proto icmp6
pass proto 132 to port 9 # not allowed
EOF
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" 't.rules:6:19: "port" needs proto tcp or proto udp'
	sed -i '$d' t.rules
	echo 'pass proto 253' >>t.rules
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 198.51.100.1:40000 -> 192.0.2.1:22'
	assert_eq "$status" 0
	assert_eq "$output" 'verdict: pass
rule: 1 (t.rules:2)
label: "ssh"
text: pass proto tcp to 192.0.2.1 port 22 label "ssh"'
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
tcp 198.51.100.1:40000 -> 192.0.2.1:23
6 198.51.100.1:40000 -> 192.0.2.1:22
tcp 198.51.100.1 -> 192.0.2.1 frag
udp [2001:db8::53]:53 -> [2001:db8::1]:1024
udp [2001:db8::53]:53 -> [2001:db8::1]:1023
udp 192.0.2.53 -> 192.0.2.1 frag
17 192.0.2.53:5353 -> 192.0.2.1:65535 state established
icmp 192.0.2.1 -> 192.0.2.2
icmp 192.0.2.1 -> 192.0.2.2 frag
icmp6 [::1] -> ::2
58 ::1 -> ::2 state invalid
192.0.2.1 -> 192.0.2.2
on lo 253 [::1] -> [::2] frag
47 192.0.2.1 -> 192.0.2.2
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "block 0,pass 1,block 0,pass 2,block 0,block 0,pass 2,block 3,block 3,pass 4,pass 4,pass 5,pass 5,block 0,"
}

@test "explain: state matches the connection class, default new" {
	rules <<'EOF'
block state invalid
pass proto tcp to port 22 state new
pass state established,related
EOF
	run --separate-stderr "$FWMAPGEN" --eval t.rules <<'EOF'
tcp 192.0.2.1:1 -> 192.0.2.2:22
tcp 192.0.2.1:1 -> 192.0.2.2:22 state new
tcp 192.0.2.1:1 -> 192.0.2.2:22 state invalid
tcp 192.0.2.1:1 -> 192.0.2.2:80 state established
udp [::1]:1 -> [::2]:22 state related
tcp 192.0.2.1:1 -> 192.0.2.2:80
192.0.2.1 -> 192.0.2.2 state related frag
192.0.2.1 -> 192.0.2.2 frag state invalid
EOF
	assert_eq "$status" 0
	assert_eq "$(tr '\n' , <<<"$output")" "pass 2,pass 2,block 1,pass 3,pass 3,pass 0,pass 3,block 1,"
}

@test "eval: bad packets with protocols and ports" {
	rules <<<'pass'
	local -a bad=(
		'icmp 192.0.2.1:5 -> 192.0.2.2|a port needs protocol tcp or udp'
		'192.0.2.1:5 -> 192.0.2.2:6|a port needs protocol tcp or udp'
		'tcp 192.0.2.1:5 -> 192.0.2.2:6 frag|a non-first fragment (frag) has no ports'
		'tcp 192.0.2.1 -> 192.0.2.2|a tcp or udp packet needs SRC:PORT and DST:PORT (or frag)'
		'udp 192.0.2.1:5 -> 192.0.2.2|a tcp or udp packet needs SRC:PORT and DST:PORT (or frag)'
		'tcp [::1]:70000 -> [::2]:1|bad port in "[::1]:70000" (0 to 65535)'
		'tcp [::1] :1 -> [::2]:1|expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]'
		'tcp [192.0.2.1]:1 -> 192.0.2.2:1|bad address "[192.0.2.1]:1" (no prefix length here)'
		'192.0.2.1 -> 192.0.2.2 state closed|bad state "closed" (new, established, related or invalid)'
		'sctp 192.0.2.1 -> 192.0.2.2|expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state STATE] [frag]'
		'192.0.2.1 -> 192.0.2.2 frag frag|expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state new|established|related|invalid] [frag]'
	)
	local c
	for c in "${bad[@]}"; do
		run --separate-stderr "$FWMAPGEN" --eval t.rules <<<"${c%%|*}"
		assert_eq "$status" 1
		assert_eq "$stderr" "<stdin>:1: bad packet: ${c#*|}"
		run --separate-stderr "$FWMAPGEN" --explain t.rules "${c%%|*}"
		assert_eq "$status" 2
		assert_eq "$stderr" "fwmapgen: bad PACKET: ${c#*|} (see fwmapgen --help)"
	done
}

@test "eval: 100k packets quickly" {
	cp "$FIXTURES/crosscheck.rules" "$FIXTURES/crosscheck-table.txt" .
	awk 'BEGIN { for (i = 0; i < 100000; i++)
		printf "192.0.%d.%d -> 198.51.100.%d\n", i % 4, i % 256, i % 7 }' >p.txt
	local t0 t1
	t0=$(date +%s%N)
	"$FWMAPGEN" --eval crosscheck.rules <p.txt >out.txt 2>/dev/null
	t1=$(date +%s%N)
	[ "$(wc -l <out.txt)" -eq 100000 ]
	echo "eval took $(((t1 - t0) / 1000000)) ms" >&2
	[ $(((t1 - t0) / 1000000)) -lt 3000 ]
	assert_eq "$(sort out.txt | uniq -c | tr -s ' ' | tr '\n' ,)" \
		" 87512 block 13, 12488 block 8,"
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
	awk -v lo_index="$lo" -f "$FIXTURES/kernel-sim.awk" cc.batch p.txt >sim.out
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
	awk -v lo_index="$lo" -f "$FIXTURES/kernel-sim.awk" cc.batch p.txt >sim.out
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
	awk -v lo_index="$lo" -f "$FIXTURES/kernel-sim.awk" ns.batch p.txt >sim.out
	diff eval.out sim.out
}

# ---------------------------------------------------------------- capacity

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
