#!/usr/bin/env bash
# What bpfguard runs, with which ruleset, and what it did.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [IFACE] [--json]

Show the interfaces bpfguard is attached to (program id and XDP mode), each
program of the registry and where it runs, the slots of the XDP chain, the
active ruleset (rules, default policy), the counters per action, the
sources in overload tables (connection limits) with the seconds they
have left there, the fill and evictions of the fragment tables, and every
rule as it runs (@ID and its text in ruleset syntax, read back from the
maps) with its hits, summed over all CPUs. With IFACE, only that interface
is listed. --json prints one JSON object (schema in README.md).

  --json       machine-readable output
  -h, --help   this text

$BG_ENV_HELP
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
bg_setup_bpffs check || bg_die "bpffs missing: ${BG_BPFFS} is not a bpffs mount"
bg_have_maps || bg_die "bpfguard is not running (no pinned maps under $BG_PIN_DIR)"
bg_registry_load

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

# json_str VAR STRING: STRING as a JSON string literal, into VAR (no
# process: programs_json writes a dozen per registry line).
json_str()
{
	local s=$2 c i out=""
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	if [[ $s == *[[:cntrl:]]* ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			[[ $c != [[:cntrl:]] ]] || printf -v c '\\u%04x' "'$c"
			out+=$c
		done
		s=$out
	fi
	printf -v "$1" '"%s"' "$s"
}

# The programs of the registry, one object per line: where it hooks,
# whether up.sh runs it (state: enabled, skipped with the reason, or
# reserved), and what runs there: per interface listed ($@) for the hooks
# of an interface, the slot's program for an XDP chain stage. The lines
# are written as JSON here and shaped by one jq (a jq per line and per
# interface took seconds).
programs_json()
{
	local i st dev at slot id f att nm obj prog hook when
	for i in "${!BG_REG_NAME[@]}"; do
		st=$(bg_registry_state "$i")
		at=${BG_REG_AT[i]}
		[[ $at != - ]] || at=null
		slot=null
		if [[ ${BG_REG_HOOK[i]} == xdp-stage ]]; then
			slot=$(bg_xdp_slot_id "$at")
			slot=${slot:-null}
		fi
		att=""
		for dev in "$@"; do
			[[ ${BG_REG_HOOK[i]} == xdp || ${BG_REG_HOOK[i]} == tc-* ]] || break
			id=$(bg_hook_prog_id "$dev" "${BG_REG_HOOK[i]}" "$at")
			json_str dev "$dev"
			json_str id "$id"
			att+="${att:+,}{\"iface\":$dev,\"id\":$id}"
		done
		json_str nm "${BG_REG_NAME[i]}"
		json_str obj "${BG_REG_OBJ[i]}"
		json_str prog "${BG_REG_PROG[i]}"
		json_str hook "${BG_REG_HOOK[i]}"
		json_str when "${BG_REG_WHEN[i]}"
		json_str f "$st"
		printf '{"name":%s,"obj":%s,"prog":%s,"hook":%s,"at":%s,"when":%s,"st":%s,"slot":%s,"attached":[%s]}\n' \
			"$nm" "$obj" "$prog" "$hook" "$at" "$when" "$f" "$slot" "$att"
	done | jq -s '
		map({name, object: (if .obj == "-" then null else .obj end),
		 program: .prog, hook,
		 slot: (if .hook == "xdp-stage" then .at else null end),
		 pref: (if .hook | startswith("tc-") then .at else null end),
		 enabled_by: .when,
		 state: {run: "enabled", skip: "skipped", reserved: "reserved"}[.st | split(" ")[0]],
		 reason: (.st | split(" ")[1:] | join(" ") | if . == "" then null else . end)}
		+ (if .hook == "xdp-stage" then {prog_id: .slot}
		   elif .hook == "xdp" or (.hook | startswith("tc-")) then
			{attached: (.attached | map({iface,
				prog_id: (if .id == "" then null else (.id | tonumber) end)}))}
		   else {} end))'
}

# The slots of the XDP chain, each with the registry's program for it.
chain_json()
{
	local i n
	for i in "${!BG_REG_NAME[@]}"; do
		[[ ${BG_REG_HOOK[i]} == xdp-stage ]] || continue
		json_str n "${BG_REG_NAME[i]}"
		printf '{"s":%s,"n":%s}\n' "${BG_REG_AT[i]}" "$n"
	done | jq -s --argjson chain "$(bg_xdp_chain_json)" '
		(map({(.s | tostring): .n}) | add // {}) as $names
		| if $chain == null then null
		  else $chain | map(. + {name: $names[.slot | tostring]}) end'
}

# One object from parts, and the status of each module (its keys at the
# top); the parts come through stdin (a ruleset of thousands of rules
# outgrows a command-line argument).
ifaces=$(ifaces_json)
mapfile -t devs < <(jq -r '.[].name' <<<"$ifaces")
status=$({
	jq -n --arg bpffs "$BG_BPFFS" --argjson ifaces "$ifaces" \
		'{bpffs: $bpffs, interfaces: $ifaces}'
	programs_json "${devs[@]}" | jq -c '{programs: .}'
	chain_json | jq -c '{xdp_chain: .}'
	for m in "${BG_MODULES[@]}"; do
		"bg_${m}_status_json"
	done
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
	"programs:",
	(.programs[] | select(.state != "reserved") |
		"  \(.name) \(.program) (\(.hook)" +
		(if .slot != null then " slot \(.slot)" elif .pref != null then " pref \(.pref)" else "" end) +
		"): " +
		(if .state == "skipped" then "skipped: \(.reason)"
		 elif .hook == "xdp-stage" then (if .prog_id == null then "slot empty" else "prog \(.prog_id)" end)
		 elif (.attached | length) == 0 then "no interface"
		 else .attached | map("\(.iface) " + (if .prog_id == null then "NOT ATTACHED" else "prog \(.prog_id)" end)) | join(", ") end)),
	"xdp chain: " + (if .xdp_chain == null then "none"
		else .xdp_chain | map("slot \(.slot)" + (if .name then " (\(.name))" else "" end) + ": " +
			(if .prog_id == null then "empty" else "prog \(.prog_id)" end)) | join(", ") end),
	"ruleset: " + (if .ruleset.loaded then
		"\(.ruleset.source), \(.ruleset.rules) rules (inet \(.ruleset.inet), inet6 \(.ruleset.inet6)), default \(.ruleset.default), generation \(.ruleset.generation), digest \(.ruleset.digest[0:16])"
		else "none loaded" end),
	"counters: " + (.counters | to_entries | map("\(.key) \(.value)") | join(", ")),
	(if (.overload // []) == [] then empty else
	 "overload: " + (.overload | map("<\(.table)> \(.address) (rule \(.rule), \(.reason)\(if .flushed then ", flushed" else "" end)), \(.expires_in) s left") | join("; ")) end),
	(if (.fragments // []) == [] then empty else
	 "fragments: " + (.fragments | map("\(.table | ltrimstr("bg_frag")) \(.entries)/\(.capacity) (evicted \(.evicted))") | join(", ")) end),
	(if .conntrack == null then empty else
	 "conntrack: \(.conntrack.flows) flows (capacity \(.conntrack.capacity.inet) + \(.conntrack.capacity.inet6)" +
	 (if .conntrack.limit then ", limit \(.conntrack.limit) per family" else "" end) + "), evicted \(.conntrack.counters.evicted), expired \(.conntrack.counters.expired), over limit \(.conntrack.counters.over_limit)",
	 "  per state: " + (.conntrack.per_state | to_entries | map("\(.key) \(.value)") | join(", ")) end),
	(if .ratelimit == null then empty else
	 "ratelimit: " + (.ratelimit.counters | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | if . == [] then "no packets yet" else join(", ") end),
	 (.ratelimit.config as $c | [
	   (if $c.syn_rate > 0 then "syn-flood \($c.syn_rate)/s per source, cookies \(if $c.syn_cookies == 1 then "on above \($c.syn_cookie_above)/s" else "off" end)" else empty end),
	   (if $c.icmp_rate > 0 or $c.icmp_max_payload > 0 then "icmp-flood \($c.icmp_rate)/s, max payload \($c.icmp_max_payload)" else empty end),
	   (if $c.udp_amp_rate > 0 then "udp-amplification \($c.udp_amp_rate)/s" else empty end),
	   (if $c.tcp_half_open > 0 or $c.tcp_rst_rate > 0 or $c.tcp_fin_rate > 0 or $c.tcp_ack_rate > 0 then "tcp-flood half-open \($c.tcp_half_open), rst \($c.tcp_rst_rate)/s, fin \($c.tcp_fin_rate)/s, ack \($c.tcp_ack_rate)/s" else empty end)]
	  | if . == [] then empty else "  protections: " + join("; ") end),
	 (.ratelimit.policies[] | "  %\(.id) \(.text)  # line \(.line): \(.packets) packets, \(.over) over"),
	 (if .ratelimit.top == [] then empty else
	  "  top talkers: " + (.ratelimit.top | map("\(.source)\(if .prefix != 0 and .prefix != 32 and .prefix != 128 then "/\(.prefix)" else "" end)\(if .port != 0 then " port \(.port)" else "" end) (\(.limit)) \(.over) over, \(.passed) passed") | join("; ")) end) end),
	(if (.loadbalancer.services // []) == [] then empty else
	 def hp($a; $p): (if ($a | contains(":")) then "[\($a)]" else $a end) + ":\($p)";
	 "loadbalancer: " + (.loadbalancer.counters | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | if . == [] then "no packets yet" else join(", ") end),
	 (.loadbalancer.services[] |
	  "  \(.name) \(hp(.vip; .port))/\(.proto) \(.scheduler), ring \(.ring_size)" +
	  (if .health == null then ", no health check" else ", health \(.health.check)\(if .health.path then " \(.health.path)" else "" end) every \(.health.interval) s" end),
	  (.backends[] | "    \(hp(.address; .port)) weight \(.weight) \(.state)\(if .admin == "down" then " (down in the ruleset)" else "" end): \(.flows) flows, \(.packets) packets, \(.replies) replies")) end),
	(if (.scrub.entries // 0) == 0 then empty else
	 "scrub: \(.scrub.entries) entries, " + (.scrub.counters | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | if . == [] then "no packets yet" else join(", ") end) end),
	"rules:"' <<<"$status"
# Each rule as it runs, in ruleset syntax (decoded from bg_fw_rtext, not
# read from the file), in the order they match, the default policy (@0)
# last; the line of the file it came from as a comment. Tab-separated
# for column, not with @tsv, which would double a label's backslashes
# (texts hold no tab).
jq -r '
	"packets\tbytes\trule",
	((.rules | map(select(.id != 0)) + map(select(.id == 0)))[]
	 | "\(.packets)\t\(.bytes)\t@\(.id) " +
	   (.text // "(no text: loaded by an older fwmapgen)") +
	   (if .line then "  # line \(.line)" else "" end))
' <<<"$status" | column -t -s $'\t' -R 1,2 | sed 's/^/  /'
