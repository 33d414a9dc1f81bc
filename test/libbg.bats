#!/usr/bin/env bats
# lib/, the userspace library every helper links (build/libbg.a):
#
#   1. test/unit/libbg_test.c: JSON escaping, address formatting, option
#      parsing, messages and exit codes, the bpffs and pin paths.
#   2. What the library quotes is JSON to jq, and decodes to the input.
#   3. The helpers built on it share its command line and its archive.
# Needs make all (build/libbg.a and the helpers); no root.

load lib/common

build_unit() {
	gcc -O2 -g -Wall -Wextra -Werror -I"$BG_REPO/headers" -I"$BG_REPO/lib" \
		-o "$BATS_TEST_TMPDIR/libbg_test" "$BG_REPO/test/unit/libbg_test.c" \
		"$BG_BUILD/libbg.a"
}

# quote FILE: FILE's bytes as a JSON string, by the library
quote() {
	"$BATS_TEST_TMPDIR/libbg_test" quote <"$1"
}

@test "libbg: JSON escaping, addresses, options, messages, pins (unit test)" {
	run build_unit
	[ "$status" -eq 0 ] || fail "$output"
	run "$BATS_TEST_TMPDIR/libbg_test"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} =~ ^libbg_test:\ all\ [0-9]+\ checks\ passed$ ]] || fail "$output"
}

@test "libbg: quoted strings are JSON to jq and decode to the input" {
	build_unit
	local f=$BATS_TEST_TMPDIR/in q
	# control bytes, quotes, backslashes and every UTF-8 length
	printf 'a\001b\tc\nd"e\\f\177 na\303\257ve \342\202\254 \360\237\230\200 \346\227\245\346\234\254' >"$f"
	q=$(quote "$f")
	[[ $q =~ ^[\ -~]*$ ]] || fail "not printable ASCII: $q"
	jq -j . <<<"$q" | cmp - "$f" || fail "$q"
	# random code points (no surrogates), all planes
	python3 -c '
import random, sys
r = random.Random(11)
cps = [c for c in (r.choice([r.randrange(0x80), r.randrange(0x80, 0x800),
	r.randrange(0x800, 0x10000), r.randrange(0x10000, 0x110000)])
	for _ in range(20000)) if not 0xd800 <= c <= 0xdfff]
sys.stdout.buffer.write("".join(map(chr, cps)).encode())' >"$f"
	q=$(quote "$f")
	[[ $q =~ ^[\ -~]*$ ]] || fail "not printable ASCII"
	jq -j . <<<"$q" | cmp - "$f"
	# any bytes at all still make one valid JSON string
	head -c 20000 /dev/urandom >"$f"
	q=$(quote "$f")
	[[ $q =~ ^[\ -~]*$ ]] || fail "not printable ASCII"
	jq -e 'type == "string"' <<<"$q" >/dev/null || fail "jq refused it"
}

@test "libbg: the helpers share its options (--help, --version, exit 2)" {
	local h
	for h in bg-events bg-load bg-purge; do
		run --separate-stderr "$BG_BUILD/$h" --version
		[ "$status" -eq 0 ] || fail "$h: $stderr"
		[[ $output =~ ^$h\ \(bpfguard\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "$h: $output"
		run --separate-stderr "$BG_BUILD/$h" --help
		[ "$status" -eq 0 ] && [[ $output == "Usage: $h "* ]] || fail "$h: $output"
		[ -z "$stderr" ] || fail "$h: $stderr"
		run --separate-stderr "$BG_BUILD/$h" --no-such-option
		[ "$status" -eq 2 ] || fail "$h: status $status"
		[ -z "$output" ] || fail "$h: $output"
		[[ $stderr == *"unrecognized option '--no-such-option'"*"Usage: $h "* ]] ||
			fail "$h: $stderr"
	done
	run --separate-stderr "$BG_BUILD/bg-events" --count 0
	[ "$status" -eq 2 ]
	[ "$stderr" = "bg-events: --count needs a number >= 1" ] || fail "$stderr"
	run --separate-stderr "$BG_BUILD/bg-load" --list
	[ "$status" -eq 2 ]
	[ "$stderr" = "bg-load: --list needs OBJ alone" ] || fail "$stderr"
}

@test "libbg: BG_BPFFS, or FW_BPFFS, names the bpffs of the helpers" {
	local d=$BATS_TEST_TMPDIR
	run --separate-stderr env -u FW_BPFFS BG_BPFFS="$d/bg" "$BG_BUILD/bg-events" --count 1
	[ "$status" -eq 1 ]
	[[ $stderr == "bg-events: cannot open $d/bg/tc/globals/bg_fw_log: "* ]] || fail "$stderr"
	run --separate-stderr env BG_BPFFS="$d/bg" FW_BPFFS="$d/fw" "$BG_BUILD/bg-events"
	[[ $stderr == "bg-events: cannot open $d/bg/tc/globals/bg_fw_log: "* ]] || fail "$stderr"
	run --separate-stderr env -u BG_BPFFS FW_BPFFS="$d/fw" "$BG_BUILD/bg-events"
	[[ $stderr == "bg-events: cannot open $d/fw/tc/globals/bg_fw_log: "* ]] || fail "$stderr"
	# an explicit --bpffs wins over both
	run --separate-stderr env BG_BPFFS="$d/bg" FW_BPFFS="$d/fw" "$BG_BUILD/bg-events" --bpffs "$d/opt"
	[[ $stderr == "bg-events: cannot open $d/opt/tc/globals/bg_fw_log: "* ]] || fail "$stderr"
	echo 'pass' >"$d/t.rules"
	run --separate-stderr env BG_BPFFS="$d/bg" FW_BPFFS="$d/fw" "$FWMAPGEN" "$d/t.rules"
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ ${lines[1]} == "map update pinned $d/bg/tc/globals/"* ]] || fail "${lines[1]}"
}

@test "libbg: make builds build/libbg.a from lib/*.c; fwmapgen and the tools link it" {
	local c members
	members=$(ar t "$BG_BUILD/libbg.a")
	for c in "$BG_REPO"/lib/*.c; do
		grep -qx "$(basename "$c" .c).o" <<<"$members" || fail "$c not in libbg.a: $members"
	done
	# fwmapgen has no copy of its own of what moved to the library
	[ ! -e "$BG_REPO/fwmapgen/util.c" ]
	nm "$FWMAPGEN" | grep -qw bg_read_file || fail "fwmapgen: no bg_read_file"
	nm "$BG_BUILD/bg-events" | grep -qw bg_ringbuf_run || fail "bg-events: no bg_ringbuf_run"
	nm "$BG_BUILD/bg-load" | grep -qw bg_opt_parse || fail "bg-load: no bg_opt_parse"
}
