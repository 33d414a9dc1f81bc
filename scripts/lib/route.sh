# shellcheck shell=bash
# Module of tc_route: the firewall's routing actions (route-to, reply-to,
# dup-to). bg_rt_ingress, last of the TC ingress programs: the firewall
# marks what a routing rule passes, it sends that to the rule's next hop.
# bg_rt_egress, first of the TC egress programs: reply-to for the replies
# this host makes itself. Both enabled by the ruleset feature "route"
# (fwmapgen --features): a ruleset without routing runs no tc_route.
# Sourced through the program registry.

# Does the running ruleset route? bg_fw_route holds the union of a
# generation's routing actions at rule id 0, only for a generation that
# has some (headers/bg_fw_abi.h): one lookup, its raw bytes.
bg_route_in_use()
{
	local v
	[[ -e $(bg_map bg_fw_route) ]] || return 1
	bg_have_maps || return 1
	v=$(bg_map_raw bg_fw_route "$(bg_u32_hex "$(bg_active_gen)") 00 00 00 00") ||
		return 1
	(($(bg_le "$v" "$(bg_abi_off bg_fw_route actions)" 1) != 0))
}

# status.sh: {routing: [{id, actions, dup_ifindex}]}: the rules of the
# active ruleset that route, with their actions by name ("route-to",
# "reply-to", "dup-to", "via"; fwmapgen --explain shows the addresses);
# [] without any, null without the map. Display only (BTF's view).
bg_route_status_json()
{
	if [[ ! -e $(bg_map bg_fw_route) ]] || ! bg_have_maps; then
		echo '{"routing": null}'
		return 0
	fi
	bpftool -j map dump pinned "$(bg_map bg_fw_route)" |
		jq -c --argjson gen "$(bg_active_gen)" \
			--argjson f "$(bg_abi .enums.bg_route_flags)" '
		def bit($b): (. / $b | floor) % 2 == 1;
		{routing: [.[].formatted | select(.key.gen == $gen and .key.id != 0)
			| .value.actions as $a
			| {id: .key.id,
			   actions: [{n: "route-to", b: $f.BG_ROUTE_F_ROUTE_TO},
				{n: "reply-to", b: $f.BG_ROUTE_F_REPLY_TO},
				{n: "dup-to", b: $f.BG_ROUTE_F_DUP_TO},
				{n: "via", b: $f.BG_ROUTE_F_DUP_VIA}]
				| map(select(.b as $b | $a | bit($b)) | .n),
			   dup_ifindex: .value.dup_ifindex}] | sort_by(.id)}'
}
