# shellcheck shell=bash
# Module of xdp_loadbalancer (bg_lb_xdp): the L4 load balancer, slot 1 of
# the XDP chain, the last stage. Enabled by the ruleset feature
# "loadbalancer" (fwmapgen --features: a "service" statement). Sourced
# through the program registry.

bg_loadbalancer_attach()
{
	bg_hook_attach "$@"
	bg_lb_fw_tables fill
}

# Once the ruleset runs (up.sh, after the switch): the health checker.
bg_loadbalancer_running()
{
	bg_lb_health_start
}

# The health checker and the firewall's view of the flows go with the
# stage: when the slot is emptied (the last interface), both go.
bg_loadbalancer_detach()
{
	bg_hook_detach "$@"
	[[ -z $(bg_xdp_slot_id "$4" 2>/dev/null) ]] || return 0
	bg_lb_fw_tables empty
	bg_lb_health_stop
}

# bg_lb_fw_tables fill|empty: the firewall's phase 0 reads the load
# balancer's flow, reverse translation and service tables through its maps
# of maps bg_fw_lb_flows, bg_fw_lb_rnat and bg_fw_lb_vips
# (progs/xdp_firewall.c, bg_fw_lb_flow, says why): slot 0 of each holds
# the table while the stage is in the chain.
bg_lb_fw_tables()
{
	local t outer
	# With the bpffs gone (down.sh of orphans) there is nothing to empty.
	[[ -n ${BG_PIN_DIR:-} ]] || return 0
	for t in flows:bg_lb_flow rnat:bg_lb_rnat vips:bg_lb_vip; do
		outer=$(bg_map "bg_fw_lb_${t%%:*}")
		if [[ ! -e $outer ]]; then
			# A firewall older than this module: stateful rules
			# would block the balancer's flows after their SYN.
			[[ $1 != fill ]] ||
				bg_warn "the firewall has no $(basename "$outer"): under a stateful ruleset it blocks the load balancer's flows (run down.sh, then up.sh)"
			continue
		fi
		if [[ $1 == fill ]]; then
			bpftool map update pinned "$outer" key 0 0 0 0 \
				value pinned "$(bg_map "${t#*:}")" ||
				bg_die "could not give the firewall the load balancer's ${t#*:}"
		else
			bpftool map delete pinned "$outer" key 0 0 0 0 \
				>/dev/null 2>&1 || true
		fi
	done
}

# The health checker's PID file and log, beside up.sh's lock (a directory
# only root writes to).
bg_lb_health_file()
{
	printf '%s.lbhealth.%s' "$(bg_lock_path)" "$1"
}

# The PID of the running health checker of this bpffs; none: non-zero.
bg_lb_health_pid()
{
	local pid argv
	pid=$(cat "$(bg_lb_health_file pid)" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
	# A PID reused by another program is not ours to signal: root's, and
	# the interpreter running exactly this lb-health.sh.
	[[ $(stat -c %u "/proc/$pid") == 0 ]] || return 1
	mapfile -d '' -t argv <"/proc/$pid/cmdline" || return 1
	# shellcheck disable=SC2153 # lib.sh's
	[[ ${#argv[@]} -ge 2 && ${argv[1]} == "$BG_LIB_DIR/lb-health.sh" ]] ||
		return 1
	printf '%s\n' "$pid"
}

# With a ruleset that has health checks ("set health"), start
# lb-health.sh in the background unless it runs; its output goes to the
# log beside the PID file. Without fd 9, up.sh's lock (bg_lock), which it
# would hold for as long as it runs, and fd 3: a caller's pipe (bats)
# must not wait for it.
bg_lb_health_start()
{
	local log
	bg_ruleset_has_feature lbhealth || return 0
	bg_lb_health_pid >/dev/null && return 0
	log=$(bg_lb_health_file log)
	BG_BPFFS=$BG_BPFFS setsid "$BG_LIB_DIR/lb-health.sh" </dev/null \
		>>"$log" 2>&1 3>&- 9<&- &
	echo $! >"$(bg_lb_health_file pid)"
	bg_info "load balancer health checker started (PID $!, log $log)"
}

# Stops the checker; its PID file and log go with it (nothing is left
# beside the lock once the last interface is down).
bg_lb_health_stop()
{
	local pid
	pid=$(bg_lb_health_pid) || {
		rm -f "$(bg_lb_health_file pid)" "$(bg_lb_health_file log)"
		return 0
	}
	kill "$pid" 2>/dev/null || true
	rm -f "$(bg_lb_health_file pid)" "$(bg_lb_health_file log)"
	bg_info "load balancer health checker stopped (PID $pid)"
}

# Does the running ruleset balance? Its generation has a bg_lb_vip entry
# (the generation is the key's first 4 bytes).
bg_loadbalancer_in_use()
{
	[[ -e $(bg_map bg_lb_vip) ]] || return 1
	bg_have_maps || return 1
	bpftool -j map dump pinned "$(bg_map bg_lb_vip)" |
		jq -e --argjson gen "$(bg_active_gen)" \
			'any(.[]; .formatted.key.gen == $gen)' >/dev/null
}

# jq: the text of {family, addr: 16 bytes} (the load balancer's maps hold
# addresses as bytes, the firewall's addrtext takes 32-bit words).
# Used after BG_JQ_ADDR (lib/firewall.sh, sourced after this module).
# shellcheck disable=SC2016 # the $ are jq's
BG_JQ_LBADDR='
def be16: (. % 256) * 256 + (. / 256 | floor);
def lbaddr: if .family == 0 then (.addr[0:4] | map(tostring) | join("."))
	else {family: 1, addr: [range(0; 16; 4) as $i | .addr[$i] +
		.addr[$i + 1] * 256 + .addr[$i + 2] * 65536 +
		.addr[$i + 3] * 16777216]} | addrtext end;
'

# status.sh: {loadbalancer: {counters, services}}: the services of the
# running ruleset, each with its backends (configured weight and state,
# health as the checker last found it, flows given, packets, bytes and
# replies, summed over CPUs); null when the maps are missing. bpftool's
# BTF view (display only).
bg_loadbalancer_status_json()
{
	local gen maxb slots counters vips backends health bstats sinfo jqaddr
	if [[ ! -e $(bg_map bg_lb_vip) || ! -e $(bg_map bg_lb_stats) ]] ||
		! bg_have_maps; then
		echo '{"loadbalancer": null}'
		return 0
	fi
	# shellcheck disable=SC2153 # lib/firewall.sh's
	jqaddr=$BG_JQ_ADDR$BG_JQ_LBADDR
	gen=$(bg_active_gen)
	maxb=$(bg_abi .consts.BG_LB_MAX_BACKENDS)
	slots=$(bg_abi .consts.BG_LB_SVC_SLOTS)
	counters=$(bpftool -j map dump pinned "$(bg_map bg_lb_stats)" |
		bg_abi_stats bg_lb_stat BG_LB_STAT_)
	vips=$(bpftool -j map dump pinned "$(bg_map bg_lb_vip)" |
		jq -c --argjson gen "$gen" "$jqaddr"'
			[.[].formatted | select(.key.gen == $gen)
			 | {vip: (.key | lbaddr), port: (.key.port | be16),
			    proto: (if .key.proto == 6 then "tcp" else "udp" end),
			    family: .key.family} + .value]')
	# The generation's slices of the arrays, by index (a dump of the
	# whole of them formats 8192 entries each).
	backends=$(bg_lb_slice bg_lb_backend "$gen" "$maxb" "$vips")
	health=$(bg_lb_slice bg_lb_health "$gen" "$maxb" "$vips")
	bstats=$(bg_lb_slice bg_lb_bstats "$gen" "$maxb" "$vips")
	sinfo=$(bpftool -j map dump pinned "$(bg_map bg_lb_sinfo)" |
		jq -c --argjson lo $((gen * slots)) --argjson hi $(((gen + 1) * slots)) '
			[.[].formatted | select(.key >= $lo and .key < $hi)
			 | {id: (.key - $lo)} + .value]')
	printf '%s\n' "$counters" "$vips" "$backends" "$health" "$bstats" \
		"$sinfo" | jq -c -s --argjson maxb "$maxb" \
		--argjson gen "$gen" --argjson sc "$(bg_abi .enums.bg_lb_sched)" \
		--argjson ck "$(bg_abi .enums.bg_lb_check)" "$jqaddr"'
		.[2] as $b | .[3] as $h | .[4] as $s
		| (.[5] | map({(.id | tostring): .}) | add // {}) as $info
		| ($sc | to_entries | map({(.value | tostring): (.key
			| ltrimstr("BG_LB_SCHED_") | ascii_downcase
			| gsub("_"; "-"))}) | add) as $sched
		| ($ck | to_entries | map({(.value | tostring): (.key
			| ltrimstr("BG_LB_CHECK_") | ascii_downcase)}) | add)
			as $check
		| {loadbalancer: {counters: .[0], services: (.[1] | map(
			. as $v | $info[$v.id | tostring] as $i
			| {id, name: $i.name, vip, port, proto,
			   scheduler: $sched[.sched | tostring],
			   ring_size,
			   health: (if ($i.check // 0) == 0 then null else
				{check: $check[$i.check | tostring],
				 path: (if $i.check == 2 then $i.path else null end),
				 interval: $i.interval_s, timeout: $i.timeout_s,
				 fall: $i.fall, rise: $i.rise} end),
			   backends: [range($v.first_backend;
					$v.first_backend + $v.nbackends) as $x
				| ($gen * $maxb + $x | tostring) as $k
				| $b[$k] as $be | $s[$k] as $st
				| {index: $x, address: ($be | lbaddr),
				   port: ($be.port | be16), weight: $be.weight,
				   admin: (if $be.flags % 2 == 1 then "down"
					else "up" end),
				   state: (if $h[$k].up == 1 then "up"
					else "down" end),
				   health_changes: $h[$k].changes,
				   flows: $st.flows, packets: $st.packets,
				   bytes: $st.bytes, replies: $st.replies}]})
			| sort_by(.id))}}'
}

# bg_lb_slice MAP GEN MAXB VIPS: {index: value} of the entries of the
# services' backends in array MAP (per-CPU values summed field by field).
bg_lb_slice()
{
	local map=$1 gen=$2 maxb=$3 vips=$4 keys k
	keys=$(jq -r --argjson gen "$gen" --argjson maxb "$maxb" '
		.[] | range(.first_backend; .first_backend + .nbackends)
		| . + $gen * $maxb' <<<"$vips")
	for k in $keys; do
		bg_map_lookup "$map" "$(bg_u32_hex "$k")"
	done | jq -c -s '
		map({(.formatted.key | tostring):
			(if .formatted.values then
				(.formatted.values | map(.value)
				 | reduce .[] as $v ({}; reduce ($v | keys[]) as $f
					(.; .[$f] += $v[$f])))
			 else .formatted.value end)}) | add // {}'
}
