#!/usr/bin/env bash
# List (or flush) the flows tc_conntrack tracks, like `conntrack -L`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [--json] [--src ADDR] [--flush]

List the flows in bg_ct4 and bg_ct6: protocol, state, the initiator's
addresses and ports, packets and bytes per direction, the firewall rule
that admitted the flow, age and time left (seconds). Expired entries the
sweep has not removed yet are not listed.

  --src ADDR   only flows with ADDR on either side
  --flush      delete the listed flows (all of them without --src)
  --json       an array of objects: proto, state, src, dst, sport, dport,
               packets {orig, reply}, bytes {orig, reply}, rule, age,
               expires, flags, assured, local (ends in a local socket),
               socket_cookie (the local socket; 0 for forwarded flows)
  -h, --help   this text
EOF2
}

json=0 src="" flush=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--json) json=1 ;;
	--flush) flush=1 ;;
	--src)
		[[ $# -ge 2 ]] || bg_die "--src needs an address"
		src=$2
		shift
		;;
	*) bg_die "unknown option $1 (see --help)" ;;
	esac
	shift
done

bg_require_root
bg_require_tools bpftool jq awk
bg_setup_bpffs check || bg_die "bpffs missing: ${FW_BPFFS} is not a bpffs mount"
[[ -e $(bg_map bg_ct4) ]] ||
	bg_die "bpfguard is not running (no conntrack table under $BG_PIN_DIR)"

# CLOCK_BOOTTIME, the clock tc_conntrack stamps entries with, plus the
# test hook's offset.
now_ns()
{
	local offset
	offset=$(bpftool -j map lookup pinned "$(bg_map bg_ct_config)" \
		key hex 00 00 00 00 | jq '.formatted.value.clock_offset_ns')
	awk -v o="$offset" '{ printf "%.0f\n", $1 * 1e9 + o }' /proc/uptime
}

# Entries as TSV: family, raw key bytes (hex, space separated), then the
# value's named fields as JSON.
entries()
{
	local fam m
	for fam in 4 6; do
		m=$(bg_map "bg_ct$fam")
		bpftool -j map dump pinned "$m" | jq -r --arg f "$fam" '.[] |
			[$f, (.key | map(ltrimstr("0x")) | join(" ")),
			 (.formatted.value | tojson)] | @tsv'
	done
}

timeouts=$(bpftool -j map lookup pinned "$(bg_map bg_ct_config)" \
	key hex 00 00 00 00 | jq -c '.formatted.value.timeout')

# Render the entries: addresses from the raw key (IPv6 in RFC 5952 form),
# the initiator's view first, state names, age and time left. The default
# timeouts mirror bg_ct_default_timeout() in headers/bg_ct.h.
list=$(entries | awk -F'\t' -v now="$(now_ns)" -v tmo="$timeouts" '
function hex(h,    i, v) {
	v = 0; h = tolower(h)
	for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}
function v4(b, o) { return hex(b[o]) "." hex(b[o+1]) "." hex(b[o+2]) "." hex(b[o+3]) }
function v6(b, o,    i, w, best, bestlen, run, start, s, out) {
	for (i = 0; i < 8; i++)
		w[i] = sprintf("%x", hex(b[o + 2*i]) * 256 + hex(b[o + 2*i + 1]))
	best = -1; bestlen = 1; run = 0
	for (i = 0; i < 8; i++) {
		if (w[i] == "0") {
			if (run == 0) start = i
			run++
			if (run > bestlen) { best = start; bestlen = run }
		} else run = 0
	}
	out = ""
	for (i = 0; i < 8; i++) {
		if (i == best) { out = out "::"; i += bestlen - 1; continue }
		if (out != "" && substr(out, length(out)) != ":") out = out ":"
		out = out w[i]
	}
	return out
}
function port(b, o) { return hex(b[o]) * 256 + hex(b[o+1]) }
BEGIN {
	split("syn_sent syn_recv established fin_wait close_wait last_ack time_wait close new", sname, " ")
	# seconds: tcp states 1..8, udp unreplied, udp replied, icmp
	split("120 60 432000 120 60 30 120 10 30 120 30", deflt, " ")
	gsub(/[\[\] ]/, "", tmo); split(tmo, cfg, ",")
	for (i = 1; i <= 11; i++) t[i] = (cfg[i] + 0) ? cfg[i] + 0 : deflt[i]
}
{
	fam = $1; n = split($2, b, " "); v = $3
	proto = hex(b[fam == 4 ? 13 : 37])
	a0 = fam == 4 ? v4(b, 1) : v6(b, 1)
	a1 = fam == 4 ? v4(b, 5) : v6(b, 17)
	p0 = port(b, fam == 4 ? 9 : 33); p1 = port(b, fam == 4 ? 11 : 35)
	match(v, /"state":[0-9]+/); state = substr(v, RSTART + 8, RLENGTH - 8) + 0
	match(v, /"flags":[0-9]+/); flags = substr(v, RSTART + 8, RLENGTH - 8) + 0
	match(v, /"last_ns":[0-9]+/); last = substr(v, RSTART + 10, RLENGTH - 10) + 0
	match(v, /"first_ns":[0-9]+/); first = substr(v, RSTART + 11, RLENGTH - 11) + 0
	match(v, /"rule_id":[0-9]+/); rule = substr(v, RSTART + 10, RLENGTH - 10) + 0
	match(v, /"sock_cookie":[0-9]+/); cookie = substr(v, RSTART + 14, RLENGTH - 14)
	match(v, /"packets":\[[0-9]+,[0-9]+\]/); split(substr(v, RSTART + 11, RLENGTH - 12), pk, ",")
	match(v, /"bytes":\[[0-9]+,[0-9]+\]/); split(substr(v, RSTART + 9, RLENGTH - 10), by, ",")
	if (proto == 6) ti = state
	else if (proto == 17) ti = (state == 3) ? 10 : 9
	else ti = 11
	left = t[ti] - (now - last) / 1e9
	if (left <= 0) next
	if (int(flags / 1) % 2) { s = a1; d = a0; sp = p1; dp = p0 }
	else { s = a0; d = a1; sp = p0; dp = p1 }
	pname = proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" : proto == 58 ? "icmp6" : proto
	st = (state >= 1 && state <= 9) ? sname[state] : "none"
	printf "{\"proto\":\"%s\",\"state\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%d,\"dport\":%d,\"packets\":{\"orig\":%s,\"reply\":%s},\"bytes\":{\"orig\":%s,\"reply\":%s},\"rule\":%d,\"age\":%d,\"expires\":%d,\"flags\":%d,\"assured\":%s,\"local\":%s,\"socket_cookie\":%s,\"family\":%d,\"key\":\"%s\"}\n", pname, st, s, d, sp, dp, pk[1], pk[2], by[1], by[2], rule, (now - first) / 1e9, left, flags, (int(flags / 4) % 2) ? "true" : "false", (int(flags / 8) % 2) ? "true" : "false", cookie, fam, $2
}' | jq -s --arg src "$src" '
	map(select($src == "" or .src == $src or .dst == $src))')

if ((flush)); then
	# One bpftool batch for all of them. A flow may end on its own
	# meanwhile (gone either way), and bpftool stops a batch at the first
	# failed command: only then go flow by flow. The live and per-source counters are
	# reconciled by the next kernel sweep.
	batch=$(mktemp "${TMPDIR:-/tmp}/bgflush.XXXXXX")
	jq -r --arg d "$BG_PIN_DIR" '.[] | "map delete pinned \($d)/\(if .family == 4 then "bg_ct4" else "bg_ct6" end) key hex \(.key)"' \
		<<<"$list" >"$batch"
	n=$(wc -l <"$batch")
	if ((n > 0)) && ! bpftool batch file "$batch" >/dev/null 2>&1; then
		while read -r _ _ _ path _ _ key; do
			# shellcheck disable=SC2086 # one argument per key byte
			bpftool map delete pinned "$path" key hex $key 2>/dev/null ||
				true
		done <"$batch"
	fi
	rm -f "$batch"
	bg_info "flushed $n flow(s)"
	exit 0
fi

if ((json)); then
	jq 'map(del(.key, .family))' <<<"$list"
	exit 0
fi
jq -r '.[] | "\(.proto) \(.state) src=\(.src) dst=\(.dst) sport=\(.sport) dport=\(.dport) packets=\(.packets.orig)/\(.packets.reply) bytes=\(.bytes.orig)/\(.bytes.reply) rule=\(.rule) age=\(.age)s expires=\(.expires)s" + (if .assured then " [ASSURED]" else "" end) + (if .local then " [LOCAL]" else "" end)' <<<"$list"
printf '%s flow(s)\n' "$(jq length <<<"$list")"
