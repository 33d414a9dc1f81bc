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

# One object from parts; the parts come through stdin (a ruleset of
# thousands of rules outgrows a command-line argument).
status=$({
	jq -n --arg bpffs "$FW_BPFFS" '{bpffs: $bpffs}'
	ifaces_json | jq -c '{interfaces: .}'
	bg_firewall_status_json
	bg_conntrack_status_json
} | jq -s 'add')

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
