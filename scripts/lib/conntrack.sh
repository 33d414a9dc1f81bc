# shellcheck shell=bash
# Module of tc_conntrack (bg_ct_ingress, bg_ct_egress): connection
# tracking on TC ingress and egress of an interface, before the firewall
# (its phase 0 passes what belongs to a tracked flow). Sourced through the
# program registry.

# bg_ct_ifidx flags and bg_ct_local values (headers/bg_ct_abi.h).
BG_CT_IF_OURS=1
BG_CT_IF_RPF_STRICT=2
BG_CT_LOCAL_SEEDED=1

# Interfaces conntrack treats as bpfguard's own (egress skips what came in
# through one of them: it was tracked on ingress already), with what
# conntrack asks of a new flow's source there: $1 ifindex, $2 strict or
# loose (up.sh --reverse-path).
bg_ct_ifidx_set()
{
	local v=$BG_CT_IF_OURS
	[[ $2 != strict ]] || v=$((v | BG_CT_IF_RPF_STRICT))
	bg_map_update bg_ct_ifidx "$(bg_u32_hex "$1")" "$(bg_u32_hex "$v")"
}

bg_ct_ifidx_del()
{
	[[ -e $(bg_map bg_ct_ifidx) ]] || return 0
	bg_map_delete bg_ct_ifidx "$(bg_u32_hex "$1")"
}

# The 16 bytes of IPv6 address $1 as a hex byte string.
bg_ip6_hex()
{
	local a=${1%%/*} head tail g
	local -a h=() t=() w=()
	[[ $a =~ ^[0-9a-fA-F:]+$ ]] || return 1
	if [[ $a == *::* ]]; then
		head=${a%%::*} tail=${a#*::}
	else
		head=$a tail=
	fi
	[[ -z $head ]] || IFS=: read -ra h <<<"$head"
	[[ -z $tail ]] || IFS=: read -ra t <<<"$tail"
	w=("${h[@]}")
	for ((g = ${#h[@]} + ${#t[@]}; g < 8; g++)); do
		w+=(0)
	done
	w+=("${t[@]}")
	((${#w[@]} == 8)) || return 1
	for g in "${w[@]}"; do
		printf '%02x %02x ' $((16#$g >> 8)) $((16#$g & 255))
	done
}

# This host's addresses into bg_ct_local: a packet from outside claiming
# one of them as its source opens no flow. (Addresses added later are
# learnt from the first packet the host sends from them.)
bg_ct_local_seed()
{
	local fam addr k a b c d
	while read -r fam addr; do
		case $fam in
		inet)
			IFS=. read -r a b c d <<<"$addr"
			k="00 00 00 00 $(printf '%02x %02x %02x %02x' "$a" "$b" "$c" "$d") $(printf '00 %.0s' {1..12})"
			;;
		inet6) k="01 00 00 00 $(bg_ip6_hex "$addr")" || continue ;;
		*) continue ;;
		esac
		bg_map_update bg_ct_local "$k" "$(bg_u32_hex "$BG_CT_LOCAL_SEEDED")"
	done < <(ip -j addr show | jq -r '.[].addr_info[]? |
		select(.family == "inet" or .family == "inet6") |
		"\(.family) \(.local)"')
}

# Before the first of its programs is attached to IFACE: conntrack learns
# the interface (with up.sh's BG_REVERSE_PATH, strict unless told loose)
# and this host's addresses.
bg_conntrack_attach()
{
	local iface=$1
	if [[ ${BG_CT_READY:-} != "$iface" ]]; then
		bg_ct_ifidx_set "$(bg_ifindex "$iface")" "${BG_REVERSE_PATH:-strict}"
		bg_ct_local_seed
		BG_CT_READY=$iface
	fi
	bg_hook_attach "$@"
}

bg_conntrack_detach()
{
	bg_hook_detach "$@"
	# Orphans: the pins, and bg_ct_ifidx with them, are gone.
	[[ $5 == orphan ]] || bg_ct_ifidx_del "$(bg_ifindex "$1")"
}

# An interface that is gone (bg_iface_prune).
bg_conntrack_forget()
{
	bg_ct_ifidx_del "$1"
}

# status.sh: {conntrack: ...}: fill level against capacity, flows per
# state, and the conntrack counters (indexes: enum bg_ct_stat in
# headers/bg_ct_abi.h); null without the conntrack maps.
bg_conntrack_status_json()
{
	local flows cap4 cap6 live limit stats
	[[ -e $(bg_map bg_ct4) ]] || {
		echo '{"conntrack": null}'
		return
	}
	flows=$("$BG_LIB_DIR/conntrack.sh" --json)
	# The LRU tables hold a quarter more than conntrack fills (room the
	# kernel's LRU keeps per CPU, BG_CT_LRU_SLACK in headers/bg_ct_abi.h).
	cap4=$(bpftool -j map show pinned "$(bg_map bg_ct4)" | jq '.max_entries * 4 / 5')
	cap6=$(bpftool -j map show pinned "$(bg_map bg_ct6)" | jq '.max_entries * 4 / 5')
	# struct bg_ct_count per family: live = inserted - deleted - evicted
	live=$(bpftool -j map dump pinned "$(bg_map bg_ct_live)" | jq -c '
		map(.formatted.value | .inserted - .deleted - .evicted
			| if . < 0 then 0 else . end)
		| {inet: .[0], inet6: .[1]}')
	limit=$(bg_map_lookup bg_ct_config "$(bg_u32_hex "$(bg_active_gen)")" |
		jq '.formatted.value.limit_states')
	stats=$(bpftool -j map dump pinned "$(bg_map bg_ct_stats)" |
		bg_abi_stats bg_ct_stat BG_CT_STAT_)
	# The flow list goes through stdin: a busy table outgrows the size
	# of one command-line argument.
	jq -c --argjson c4 "$cap4" --argjson c6 "$cap6" \
		--argjson live "$live" --argjson limit "$limit" \
		--argjson stats "$stats" '
		{conntrack: {flows: length, live_entries: ($live.inet + $live.inet6),
		 live: $live,
		 capacity: {inet: $c4, inet6: $c6},
		 limit: (if $limit == 0 then null else $limit end),
		 per_state: (group_by(.proto + "/" + .state)
			| map({(.[0].proto + "/" + .[0].state): length}) | add // {}),
		 counters: $stats}}' <<<"$flows"
}
