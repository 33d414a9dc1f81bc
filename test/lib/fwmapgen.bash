# shellcheck shell=bash
# Shared by the fwmapgen_*.bats files: each test runs in its own
# temporary directory, writes t.rules, and reads what fwmapgen prints or
# the batch it writes (t.batch), decoded by the helpers below.
# shellcheck disable=SC2034 # FIXTURES, USAGE_LINE1: for the test files

bats_require_minimum_version 1.5.0

setup() {
	FWMAPGEN="$BATS_TEST_DIRNAME/../build/fwmapgen"
	FIXTURES="$BATS_TEST_DIRNAME/fixtures/fwmapgen"
	USAGE_LINE1="usage: fwmapgen [--gen N] [--pin-dir DIR] [-o OUT] FILE"
	unset FW_BPFFS BG_BPFFS
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	if [ -n "${BPFFS_MNT:-}" ] && mountpoint -q "$BPFFS_MNT"; then
		umount "$BPFFS_MNT"
	fi
}

# abi_size STRUCT: its size, from bg-abi (the one description of the ABI)
abi_size() {
	"$BATS_TEST_DIRNAME/../build/bg-abi" | jq -r ".structs.$1.size"
}

# abi_const NAME: a constant of the ABI headers, from bg-abi
abi_const() {
	"$BATS_TEST_DIRNAME/../build/bg-abi" | jq -r ".consts.$1"
}

# The syntax of a filter rule, as fwmapgen's errors quote it.
RULE_SYNTAX='pass|block [log] [on IFACE] [inet|inet6] [vlan N] [proto PROTO] [from [SRC] [port PORTS]] [to [DST] [port PORTS]] [flags F/M] [icmp-type N [code N]] [mac-src MAC] [mac-dst MAC] [dscp N] [state STATE[,STATE...]] [route-to ADDR] [reply-to ADDR] [dup-to IFACE [via ADDR]] [label "TEXT"]'

# The PACKET of --explain and --eval, as its errors quote it.
PACKET_SYNTAX='expected [on IFACE] [PROTO] SRC[:PORT] -> DST[:PORT] [state new|established|related|invalid] [frag] [vlan N] [flags F|none] [icmp-type N [code N]] [mac-src MAC] [mac-dst MAC] [dscp N|NAME]'

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
	local per
	per=$("$BATS_TEST_DIRNAME/../build/bg-abi" | jq '.consts.BG_FW_VEC_PER_GEN')
	line=$(grep -F "/bg_fw_vec key hex $(le32 $((${2:-0} * per + $1))) value hex " t.batch) || {
		echo "MISSING vector $1"
		return 1
	}
	read -ra bytes <<<"${line##*value hex }"
	if [ "${#bytes[@]}" -ne "$(abi_size bg_fw_vec)" ]; then
		echo "MISSING: vector $1 is not a struct bg_fw_vec"
		return 1
	fi
	# the rule words (BG_FW_WORDS of them), not the summary after them
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

# keyp GEN PLEN FAMILY PORT: a struct bg_lpm_port_key as the batch writes it
keyp() {
	printf '%s %s %s %02x %02x 00 00' "$(le32 $((64 + $2)))" "$(le32 "$1")" \
		"$(le32 "$3")" $(($4 >> 8)) $(($4 & 255))
}

# ct_config [GEN]: the value bytes of the bg_ct_config line of t.batch
ct_config() {
	value_bytes bg_ct_config "0${1:-0} 00 00 00"
}
