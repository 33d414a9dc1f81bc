#!/usr/bin/env bash
# What bpfguard runs, with which ruleset, and what it did.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [IFACE] [--json]

Show the interfaces bpfguard is attached to (program id and XDP mode), the
active ruleset (rules, default policy), the counters per action and the
hits per rule, summed over all CPUs. With IFACE, only that interface is
listed. --json prints one JSON object (schema in README.md).

  --json       machine-readable output
  -h, --help   this text
EOF2
}

iface="" json=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--json) json=1 ;;
	-*) bg_die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $iface ]] || bg_die "one interface at a time (see --help)"
		iface=$1
		;;
	esac
	shift
done

bg_require_root
bg_require_tools bpftool ip jq
[[ -z $iface ]] || bg_require_iface "$iface"
bg_setup_bpffs check || bg_die "bpffs missing: ${FW_BPFFS} is not a bpffs mount"
bg_have_maps || bg_die "bpfguard is not running (no pinned maps under $BG_PIN_DIR)"

netns=$(bg_netns_id)

# Interfaces: the registry, checked against what the kernel has attached
# (looked up by ifindex: a renamed interface is still the same one).
ifaces_json()
{
	local links idx name prog_id mode owner
	links=$(ip -j link show)
	bpftool -j map dump pinned "$(bg_map bg_ifaces)" |
		jq -r --arg ns "$netns" '.[].formatted | select((.key.netns | tostring) == $ns)
			| "\(.key.ifindex) \(.value.name)"' |
		while read -r idx name; do
			name=$(jq -r --argjson i "$idx" --arg n "$name" \
				'(.[] | select(.ifindex == $i) | .ifname) // $n' <<<"$links")
			[[ -z $iface || $name == "$iface" ]] || continue
			prog_id="" mode="" owner=none
			if bg_iface_exists "$name"; then
				read -r prog_id mode < <(bg_xdp_attached "$name") || true
			fi
			if [[ -n $prog_id ]]; then
				owner=foreign
				bg_prog_is_ours "$prog_id" && owner=bpfguard
			fi
			jq -n --arg name "$name" --argjson idx "$idx" \
				--argjson id "${prog_id:-null}" --argjson mode "${mode:-null}" \
				--arg owner "$owner" \
				'{name: $name, ifindex: $idx,
				  xdp: {prog_id: $id,
					mode: ({"1": "native", "2": "generic", "3": "offload"}[$mode | tostring] // null),
					owner: $owner}}'
		done | jq -s '.'
}

gen=$(bg_active_gen)
gen_json=$(bg_gen_json "$gen")
switches=$(bpftool -j map lookup pinned "$(bg_map bg_fw_active)" key hex 00 00 00 00 |
	jq '.formatted.value.switches')

ruleset=$(jq -c --argjson gen "$gen" --argjson sw "$switches" \
	--arg digest "$(bg_gen_digest <<<"$gen_json")" '.formatted.value |
	{loaded: (.loaded == 1), source: .source, digest: $digest,
	 rules: .nids, inet: .nrules[0], inet6: .nrules[1],
	 default: (if .default_action == 1 then "block" else "pass" end),
	 generation: $gen, switches: $sw}' <<<"$gen_json")

counters=$(bpftool -j map dump pinned "$(bg_map bg_fw_stats)" | jq -c '
	map({key: .formatted.key, v: ([.formatted.values[].value] | add)})
	| map({(.key | tostring): .v}) | add
	| {pass: ."0", drop: ."1", malformed: ."2", non_ip: ."3", nd: ."4",
	   fragment: ."5", no_ruleset: ."6", log_lost: ."7", ct_pass: ."8"}')

nids=$(jq -r '.rules' <<<"$ruleset")
base=$((gen * 8193))
rinfo=$(bpftool -j map dump pinned "$(bg_map bg_fw_rinfo)" |
	jq -c --argjson gen "$gen" '[.[].formatted | select(.key.gen == $gen)
		| {id: .key.id, line: .value.line, label: .value.label,
		   iface: .value.iface,
		   action: (if .value.action == 1 then "block" else "pass" end)}]')
hits=$(bpftool -j map dump pinned "$(bg_map bg_fw_hits)" |
	jq -c --argjson lo "$base" --argjson hi $((base + nids)) '
		[.[].formatted | select(.key >= $lo and .key <= $hi)
		 | {id: (.key - $lo),
		    packets: ([.values[].value.packets] | add),
		    bytes: ([.values[].value.bytes] | add)}]')
rules=$(printf '%s\n' "$rinfo" "$hits" | jq -c -s --argjson rs "$ruleset" '
	(.[0] | map({(.id | tostring): .}) | add // {}) as $i
	| .[1] | sort_by(.id) | map(. as $h
		| if .id == 0 then
			{id: 0, line: null, label: "default policy",
			 action: $rs.default, iface: ""}
		  else $i[$h.id | tostring] end
		| . + {packets: $h.packets, bytes: $h.bytes})')

# Connection tracking: fill level against capacity, flows per state, and
# the conntrack counters (indexes: enum bg_ct_stat in headers/bg_ct.h).
conntrack_json()
{
	local flows cap4 cap6 live limit stats
	[[ -e $(bg_map bg_ct4) ]] || {
		echo null
		return
	}
	flows=$("$(dirname "$(readlink -f "$0")")/conntrack.sh" --json)
	# The LRU tables hold a quarter more than conntrack fills (room the
	# kernel's LRU keeps per CPU, BG_CT_LRU_SLACK in headers/bg_abi.h).
	cap4=$(bpftool -j map show pinned "$(bg_map bg_ct4)" | jq '.max_entries * 4 / 5')
	cap6=$(bpftool -j map show pinned "$(bg_map bg_ct6)" | jq '.max_entries * 4 / 5')
	# struct bg_ct_count per family: live = inserted - deleted - evicted
	live=$(bpftool -j map dump pinned "$(bg_map bg_ct_live)" | jq -c '
		map(.formatted.value | .inserted - .deleted - .evicted
			| if . < 0 then 0 else . end)
		| {inet: .[0], inet6: .[1]}')
	# shellcheck disable=SC2046 # one argument per key byte
	limit=$(bpftool -j map lookup pinned "$(bg_map bg_ct_config)" \
		key hex $(bg_u32_hex "$gen") | jq '.formatted.value.limit_states')
	stats=$(bpftool -j map dump pinned "$(bg_map bg_ct_stats)" | jq -c '
		map({key: .formatted.key, v: ([.formatted.values[].value] | add)})
		| map({(.key | tostring): .v}) | add
		| {new: ."0", established: ."1", related: ."2", invalid: ."3",
		   over_limit: ."4", evicted: ."5", expired: ."6", midstream: ."7",
		   created: ."8", skipped: ."9", untracked: ."10", sweeps: ."11",
		   wrong_iface: ."12", rst_ignored: ."13", lock_busy: ."14",
		   unswept: ."15", spoofed: ."16"}')
	# The flow list goes through stdin: a busy table outgrows the size
	# of one command-line argument.
	jq -c --argjson c4 "$cap4" --argjson c6 "$cap6" \
		--argjson live "$live" --argjson limit "$limit" \
		--argjson stats "$stats" '
		{flows: length, live_entries: ($live.inet + $live.inet6),
		 live: $live,
		 capacity: {inet: $c4, inet6: $c6},
		 limit: (if $limit == 0 then null else $limit end),
		 per_state: (group_by(.proto + "/" + .state)
			| map({(.[0].proto + "/" + .[0].state): length}) | add // {}),
		 counters: $stats}' <<<"$flows"
}

# One object from parts; the parts come through stdin (a ruleset of
# thousands of rules outgrows a command-line argument).
status=$({
	ifaces_json
	printf '%s\n' "$ruleset" "$counters" "$rules"
	conntrack_json
} | jq -s --arg bpffs "$FW_BPFFS" '{bpffs: $bpffs, interfaces: .[0],
	ruleset: .[1], counters: .[2], rules: .[3], conntrack: .[4]}')

if ((json)); then
	printf '%s\n' "$status"
	exit 0
fi

jq -r '
	"interfaces:",
	(if (.interfaces | length) == 0 then "  (none in this network namespace)"
	 else .interfaces[] | "  \(.name) (ifindex \(.ifindex)): " +
		(if .xdp.prog_id == null then "NOT ATTACHED"
		 elif .xdp.owner != "bpfguard" then "FOREIGN XDP program \(.xdp.prog_id)"
		 else "xdp_firewall prog \(.xdp.prog_id), \(.xdp.mode)" end) end),
	"ruleset: " + (if .ruleset.loaded then
		"\(.ruleset.source), \(.ruleset.rules) rules (inet \(.ruleset.inet), inet6 \(.ruleset.inet6)), default \(.ruleset.default), generation \(.ruleset.generation), digest \(.ruleset.digest[0:16])"
		else "none loaded" end),
	"counters: " + (.counters | to_entries | map("\(.key) \(.value)") | join(", ")),
	(if .conntrack == null then empty else
	 "conntrack: \(.conntrack.flows) flows (capacity \(.conntrack.capacity.inet) + \(.conntrack.capacity.inet6)" +
	 (if .conntrack.limit then ", limit \(.conntrack.limit) per family" else "" end) + "), evicted \(.conntrack.counters.evicted), expired \(.conntrack.counters.expired), over limit \(.conntrack.counters.over_limit)",
	 "  per state: " + (.conntrack.per_state | to_entries | map("\(.key) \(.value)") | join(", ")) end),
	"rules:"' <<<"$status"
jq -r '
	(["id", "line", "action", "packets", "bytes", "label"] | @tsv),
	(.rules[] | [.id, (.line // "-"), .action, .packets, .bytes,
		.label + (if (.iface // "") != "" then " [on \(.iface)]" else "" end)] | @tsv)
' <<<"$status" | column -t -s $'\t' | sed 's/^/  /'
