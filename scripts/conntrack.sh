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
addresses and ports, VLAN ids, packets and bytes per direction, the
firewall rule that admitted the flow, age and time left (seconds).
Expired entries the sweep has not removed yet are not listed.

  --src ADDR   only flows with ADDR on either side
  --flush      delete the listed flows (all of them without --src), in
               the kernel (tc_conntrack's tc/sweep program), so the flow
               counters stay exact
  --json       an array of objects: proto, state, src, dst, sport, dport,
               vlan (ids, outermost first; [] untagged), packets {orig,
               reply}, bytes {orig, reply}, rule, xdp_status (what the
               XDP stages marked its first packet with), age, expires,
               flags, assured, local (ends in a local socket), socket_cookie (the
               local socket; 0 for forwarded flows), iface {orig, reply}
               (ifindex each direction is expected on; 0: none yet)
  -h, --help   this text

$BG_ENV_HELP
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

# ADDR (IPv4 dotted quad, or IPv6 in any RFC 4291 text form) as
# "FAMILY HEX": 4 and 8 hex digits, or 6 and 32; non-zero exit when ADDR is
# neither.
addr_hex()
{
	awk -v a="$1" '
	function group(g) { return length(g) >= 1 && length(g) <= 4 && g ~ /^[0-9A-Fa-f]+$/ }
	BEGIN {
		if (a ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) {
			split(a, o, ".")
			for (i = 1; i <= 4; i++) if (o[i] + 0 > 255 || length(o[i]) > 3) exit 1
			printf "4 %02x%02x%02x%02x\n", o[1], o[2], o[3], o[4]; exit 0
		}
		if (a !~ /^[0-9A-Fa-f:]+$/ || a ~ /:::/ || gsub(/::/, "::", a) > 1) exit 1
		n = split(a, halves, "::")
		nl = halves[1] == "" ? 0 : split(halves[1], l, ":")
		nr = (n < 2 || halves[2] == "") ? 0 : split(halves[2], r, ":")
		if (n < 2 && nl != 8) exit 1
		if (n == 2 && nl + nr > 7) exit 1
		out = ""
		for (i = 1; i <= nl; i++) { if (!group(l[i])) exit 1; out = out sprintf("%4s", l[i]) }
		for (i = nl + nr; i < 8; i++) out = out "0000"
		for (i = 1; i <= nr; i++) { if (!group(r[i])) exit 1; out = out sprintf("%4s", r[i]) }
		gsub(/ /, "0", out)
		printf "6 %s\n", tolower(out)
	}'
}

# The tc/sweep command that flushes the flows of ADDR (every flow without
# one), as the 64 bytes of a test-run packet: struct bg_ct_cmd in
# progs/tc_conntrack.c (magic "bgCT", op 2, family, any, addr).
bg_ct_flush_cmd()
{
	local fam=0 hex="" any=1 bytes esc
	if [[ -n $1 ]]; then
		read -r fam hex < <(addr_hex "$1") || return 1
		any=0
		fam=$((fam == 4 ? 0 : 1))
	fi
	hex=${hex}$(printf '0%.0s' {1..32})
	bytes="54436762 02000000 0${fam}000000 0${any}000000 ${hex:0:32}"
	# shellcheck disable=SC2001 # every byte pair gets a \x
	esc=$(sed 's/../\\x&/g' <<<"${bytes// /}")
	# shellcheck disable=SC2059 # the format is \xHH escapes made here
	printf "$esc"
	head -c 32 /dev/zero
}

bg_require_root
bg_require_tools bpftool jq awk
bg_setup_bpffs check || bg_die "bpffs missing: ${BG_BPFFS} is not a bpffs mount"
[[ -e $(bg_map bg_ct4) ]] ||
	bg_die "bpfguard is not running (no conntrack table under $BG_PIN_DIR)"

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

# The settings of the ruleset generation packets use.
gen=0
bg_have_maps && gen=$(bg_active_gen)
timeouts=$(bg_map_lookup bg_ct_config "$(bg_u32_hex "$gen")" |
	jq -c '.formatted.value.timeout')

# Render the entries: addresses from the raw key (IPv6 in RFC 5952 form),
# the initiator's view first, state names, age and time left. The default
# timeouts mirror bg_ct_default_timeout() in headers/bg_ct.h.
srchex=""
if [[ -n $src ]]; then
	read -r _ srchex < <(addr_hex "$src") ||
		bg_die "--src: not an IPv4 or IPv6 address: $src"
fi
# Where the key's fields are (struct bg_ct4_key, bg_ct6_key; bg-abi),
# as 1-based awk indices: "port vlan proto" per family.
k4="$(($(bg_abi_off bg_ct4_key port) + 1)) $(($(bg_abi_off bg_ct4_key vlan) + 1)) $(($(bg_abi_off bg_ct4_key proto) + 1))"
k6="$(($(bg_abi_off bg_ct6_key port) + 1)) $(($(bg_abi_off bg_ct6_key vlan) + 1)) $(($(bg_abi_off bg_ct6_key proto) + 1))"
list=$(entries | awk -F'\t' -v now="$(bg_ct_now_ns)" -v tmo="$timeouts" \
	-v k4="$k4" -v k6="$k6" '
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
function ahex(b, o, n,    i, out) { out = ""; for (i = 0; i < n; i++) out = out tolower(b[o + i]); return out }
BEGIN {
	split("syn_sent syn_recv established fin_wait close_wait last_ack time_wait close new", sname, " ")
	# seconds: tcp states 1..8, udp unreplied, udp replied, icmp
	split("120 60 432000 120 60 30 120 10 30 120 30", deflt, " ")
	gsub(/[\[\] ]/, "", tmo); split(tmo, cfg, ",")
	split(k4, o4, " "); split(k6, o6, " ")
	for (i = 1; i <= 11; i++) t[i] = (cfg[i] + 0) ? cfg[i] + 0 : deflt[i]
}
{
	# struct bg_ct4_key / bg_ct6_key: addr[2], port[2] (network order),
	# vlan[2] (host order, little-endian), proto
	fam = $1; n = split($2, b, " "); v = $3; alen = fam == 4 ? 4 : 16
	po = fam == 4 ? o4[1] : o6[1]; vo = fam == 4 ? o4[2] : o6[2]
	proto = hex(b[fam == 4 ? o4[3] : o6[3]])
	a0 = fam == 4 ? v4(b, 1) : v6(b, 1)
	a1 = fam == 4 ? v4(b, 5) : v6(b, 17)
	p0 = port(b, po); p1 = port(b, po + 2)
	vl0 = hex(b[vo + 1]) * 256 + hex(b[vo]); vl1 = hex(b[vo + 3]) * 256 + hex(b[vo + 2])
	vlan = vl0 ? (vl1 ? vl0 "," vl1 : vl0) : ""
	match(v, /"ifindex":\[[0-9]+,[0-9]+\]/); split(substr(v, RSTART + 11, RLENGTH - 12), ifs, ",")
	match(v, /"state":[0-9]+/); state = substr(v, RSTART + 8, RLENGTH - 8) + 0
	match(v, /"flags":[0-9]+/); flags = substr(v, RSTART + 8, RLENGTH - 8) + 0
	match(v, /"last_ns":[0-9]+/); last = substr(v, RSTART + 10, RLENGTH - 10) + 0
	match(v, /"first_ns":[0-9]+/); first = substr(v, RSTART + 11, RLENGTH - 11) + 0
	match(v, /"rule_id":[0-9]+/); rule = substr(v, RSTART + 10, RLENGTH - 10) + 0
	match(v, /"xdp_status":[0-9]+/); xst = substr(v, RSTART + 13, RLENGTH - 13) + 0
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
	printf "{\"proto\":\"%s\",\"state\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%d,\"dport\":%d,\"vlan\":[%s],\"iface\":{\"orig\":%d,\"reply\":%d},\"packets\":{\"orig\":%s,\"reply\":%s},\"bytes\":{\"orig\":%s,\"reply\":%s},\"rule\":%d,\"xdp_status\":%d,\"age\":%d,\"expires\":%d,\"flags\":%d,\"assured\":%s,\"local\":%s,\"socket_cookie\":%s,\"family\":%d,\"key\":\"%s\",\"a0\":\"%s\",\"a1\":\"%s\"}\n", pname, st, s, d, sp, dp, vlan, ifs[1], ifs[2], pk[1], pk[2], by[1], by[2], rule, xst, (now - first) / 1e9, left, flags, (int(flags / 4) % 2) ? "true" : "false", (int(flags / 8) % 2) ? "true" : "false", cookie, fam, $2, ahex(b, 1, alen), ahex(b, 1 + alen, alen)
}' | jq -s --arg src "$srchex" '
	map(select($src == "" or .a0 == $src or .a1 == $src))')

if ((flush)); then
	# In the kernel: tc_conntrack's tc/sweep program takes a command as
	# the packet of a test run and deletes the flows itself, so the live
	# and per-source counters stay exact (a delete from here would not
	# tell them). Its return value is the number of flows deleted.
	prog=""
	for p in "$BG_PROG_PIN_DIR"/*/bg_ct_sweep; do
		[[ -e $p ]] && prog=$p && break
	done
	[[ -n $prog ]] || bg_die "no pinned tc_conntrack program under $BG_PROG_PIN_DIR (is bpfguard up?)"
	cmd=$(mktemp "${TMPDIR:-/tmp}/bgflush.XXXXXX")
	trap 'rm -f "$cmd"' EXIT
	bg_ct_flush_cmd "$src" >"$cmd" || bg_die "--src: not an IPv4 or IPv6 address: $src"
	out=$(bpftool prog run pinned "$prog" data_in "$cmd" repeat 1) ||
		bg_die "flushing failed: $out"
	n=$(sed -n 's/^Return value: \([0-9]*\).*/\1/p' <<<"$out")
	bg_info "flushed ${n:-0} flow(s)"
	exit 0
fi

if ((json)); then
	jq 'map(del(.key, .family, .a0, .a1))' <<<"$list"
	exit 0
fi
jq -r '.[] | "\(.proto) \(.state) src=\(.src) dst=\(.dst) sport=\(.sport) dport=\(.dport)" + (if (.vlan | length) > 0 then " vlan=\(.vlan | map(tostring) | join("."))" else "" end) + " packets=\(.packets.orig)/\(.packets.reply) bytes=\(.bytes.orig)/\(.bytes.reply) rule=\(.rule) age=\(.age)s expires=\(.expires)s" + (if .assured then " [ASSURED]" else "" end) + (if .local then " [LOCAL]" else "" end)' <<<"$list"
printf '%s flow(s)\n' "$(jq length <<<"$list")"
