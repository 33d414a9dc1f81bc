# shellcheck shell=bash
# Module of tc_scrub: traffic normalization, the ruleset's "scrub"
# statements (min-ttl, max-mss, no-df, random-id). bg_scrub_ingress on TC
# ingress, bg_scrub_egress on TC egress, both enabled by the ruleset
# feature "scrub" (fwmapgen --features): a ruleset without scrub runs
# neither. Sourced through the program registry.

# Does the running ruleset scrub? Its generation's bg_scrub_config.n (the
# kernel entries of its statements): one lookup, its raw bytes.
bg_scrub_in_use()
{
	local v
	[[ -e $(bg_map bg_scrub_config) ]] || return 1
	bg_have_maps || return 1
	v=$(bg_map_raw bg_scrub_config "$(bg_u32_hex "$(bg_active_gen)")") ||
		return 1
	(($(bg_le "$v" "$(bg_abi_off bg_scrub_config n)" 4) != 0))
}

# status.sh: {scrub: {entries, counters}}: how many kernel entries the
# running ruleset has (bg_scrub_config.n: one per from/to pair of a
# statement) and what was rewritten (enum bg_scrub_stat, summed over
# CPUs); null without the maps.
bg_scrub_status_json()
{
	local counters entries
	if [[ ! -e $(bg_map bg_scrub_stats) || ! -e $(bg_map bg_scrub_config) ]] ||
		! bg_have_maps; then
		echo '{"scrub": null}'
		return 0
	fi
	counters=$(bpftool -j map dump pinned "$(bg_map bg_scrub_stats)" |
		bg_abi_stats bg_scrub_stat BG_SCRUB_STAT_)
	entries=$(bg_map_lookup bg_scrub_config "$(bg_u32_hex "$(bg_active_gen)")" |
		jq '.formatted.value.n')
	jq -nc --argjson c "$counters" --argjson n "$entries" \
		'{scrub: {entries: $n, counters: $c}}'
}
