#!/usr/bin/env bats
# fwmapgen, the language: lines, comments, continuations, quotes, macros,
# statements, and the errors of each, at the right line and column.
# Needs build/fwmapgen (make build/fwmapgen).

# Rulesets quote $MACROS literally; bats sets $stderr and $stderr_lines.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

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

@test "error: duplicate macro name" {
	rules <<'EOF'
X = "192.0.2.1"
Y = "2001:db8::1"
  X = "192.0.2.2"
EOF
	expect_error 3:3 'duplicate macro X (first defined on line 1)'
}

@test "error: syntax: unexpected token" {
	rules <<<'pass from any lable "x"'
	expect_error 1:15 'syntax error: unexpected "lable" (syntax: '"$RULE_SYNTAX"')'
	# options out of order
	rules <<<'pass from any log'
	expect_error 1:15 'syntax error: unexpected "log" (syntax: '"$RULE_SYNTAX"')'
	rules <<<'drop from any'
	expect_error 1:1 'syntax error: unexpected "drop", expected a rule (pass|block ...), table, set default, ratelimit, service, scrub or NAME = "VALUE"'
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
