# shellcheck shell=bash
# Module of xdp_ratelimit (bg_rl_xdp): the rate limiter, slot 0 of the XDP
# chain, which the firewall tail-calls with what it passes. Enabled by the
# ruleset feature "ratelimit" (fwmapgen --features: "ratelimit" policies
# or a "set syn-flood|icmp-flood|udp-amplification|tcp-flood"). Sourced
# through the program registry.

bg_ratelimit_attach()
{
	bg_ratelimit_cookie_sysctl
	bg_hook_attach "$@"
}

# The SYN-ACKs with cookies the stage sends for a local listener are
# taken back by the kernel's own cookie check only while
# net.ipv4.tcp_syncookies (of this network namespace) is 1 or 2
# (headers/bg_syncookie.h): with 0 every cookie ACK would be refused. A
# ruleset that asks for cookies ("set syn-flood ... cookies on") sets 0
# to 1, and says so; 1 and 2 stay as they are (with 1, the stage answers
# once a listener's SYN queue is full; with 2, every SYN above the rate).
bg_ratelimit_cookie_sysctl()
{
	local f=/proc/sys/net/ipv4/tcp_syncookies
	bg_ruleset_has_feature syncookies || return 0
	[[ -r $f ]] || bg_die "$f is missing: SYN cookies need a kernel with CONFIG_SYN_COOKIES"
	[[ $(<"$f") == 0 ]] || return 0
	echo 1 >"$f" || bg_die "could not set net.ipv4.tcp_syncookies to 1 (SYN cookies need it)"
	bg_warn "net.ipv4.tcp_syncookies was 0: set to 1, as \"set syn-flood ... cookies on\" needs"
}

# Does the running ruleset ask for SYN cookies (syn_rate and syn_cookies
# of its bg_rl_config)?
bg_syncookies_in_use()
{
	local v
	[[ -e $(bg_map bg_rl_config) ]] || return 1
	bg_have_maps || return 1
	v=$(bg_map_raw bg_rl_config "$(bg_u32_hex "$(bg_active_gen)")") ||
		return 1
	(($(bg_le "$v" "$(bg_abi_off bg_rl_config syn_rate)" 4) != 0 &&
		$(bg_le "$v" "$(bg_abi_off bg_rl_config syn_cookies)" 4) != 0))
}

# Does the running ruleset rate-limit? Its generation's bg_rl_config has
# policies or a protection (one lookup, the raw bytes: every field but the
# padding is a setting, 0 when off).
bg_ratelimit_in_use()
{
	local v
	[[ -e $(bg_map bg_rl_config) ]] || return 1
	bg_have_maps || return 1
	v=$(bg_map_raw bg_rl_config "$(bg_u32_hex "$(bg_active_gen)")") ||
		return 1
	[[ ${v// /} =~ [1-9a-f] ]]
}

# How many sources status.sh lists as top talkers.
BG_RL_TOP=${BG_RL_TOP:-10}

# status.sh: {ratelimit: {config, counters, policies, top}}: the DDoS
# settings and policies of the running ruleset, the counters per reason,
# per policy (packets, over the rate) and the sources with the most
# packets over their rate; null when the rate limiter's maps are missing.
# bpftool's BTF view (display only).
bg_ratelimit_status_json()
{
	local gen slots counters pstats pinfo state config epoch
	if [[ ! -e $(bg_map bg_rl_stats) || ! -e $(bg_map bg_rl_config) ]] ||
		! bg_have_maps; then
		echo '{"ratelimit": null}'
		return 0
	fi
	gen=$(bg_active_gen)
	slots=$(bg_abi .consts.BG_RL_POLICY_SLOTS)
	counters=$(bpftool -j map dump pinned "$(bg_map bg_rl_stats)" |
		bg_abi_stats bg_rl_stat BG_RL_STAT_)
	config=$(bg_map_lookup bg_rl_config "$(bg_u32_hex "$gen")" |
		jq -c '.formatted.value')
	pinfo=$(bpftool -j map dump pinned "$(bg_map bg_rl_pinfo)" |
		jq -c --argjson gen "$gen" '
			[.[].formatted | select(.key.gen == $gen)
			 | {id: .key.id, line: .value.line,
			    label: (.value.label | strings),
			    text: (.value.text | strings)}]')
	pstats=$(bpftool -j map dump pinned "$(bg_map bg_rl_pstats)" |
		jq -c --argjson lo $((gen * slots)) --argjson hi $(((gen + 1) * slots)) '
			[.[].formatted | select(.key > $lo and .key < $hi)
			 | {id: (.key - $lo),
			    packets: ([.values[].value.packets] | add),
			    over: ([.values[].value.over] | add)}
			 | select(.packets > 0)]')
	# The running ruleset's entries only: an older one's wait for the
	# sweep, under policy ids that meant other policies.
	epoch=$(bg_map_lookup bg_fw_active "00 00 00 00" |
		jq '.formatted.value.switches')
	state=$(bpftool -j map dump pinned "$(bg_map bg_rl_state)" |
		jq -c --argjson top "$BG_RL_TOP" --argjson epoch "$epoch" "$BG_JQ_ADDR"'
			[.[].formatted | select(.value.over > 0 and .key.epoch == $epoch)
			 | {kind: .key.kind, family: .key.family,
			    prefix: .key.plen, key: .key,
			    port: ((.key.port % 256) * 256 + (.key.port / 256 | floor)),
			    passed: .value.passed, over: .value.over}]
			| sort_by(-.over) | .[:$top]
			| map(. + {source: (.key | addrtext)} | del(.key))')
	printf '%s\n' "$config" "$counters" "$pinfo" "$pstats" "$state" |
		jq -c -s --argjson k "$(bg_abi .enums.bg_rl_kind)" '
		(.[3] | map({(.id | tostring): .}) | add // {}) as $ps
		| ($k | to_entries | map({(.value | tostring):
			(.key | ltrimstr("BG_RL_K_") | ascii_downcase
			 | gsub("_"; "-"))}) | add) as $kinds
		| {ratelimit: {config: .[0], counters: .[1],
		   policies: (.[2] | sort_by(.id) | map(. + {
			packets: ($ps[.id | tostring].packets // 0),
			over: ($ps[.id | tostring].over // 0)})),
		   top: (.[4] | map(. + {limit: ($kinds[.kind | tostring]
				// "policy \(.kind)")}))}}'
}
