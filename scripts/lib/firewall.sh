# shellcheck shell=bash
# Module of xdp_firewall (bg_fw_xdp): the XDP program of an interface. It
# classifies every packet against the ruleset and hands what it passes to
# the XDP chain (bg_xdp_chain). Sourced through the program registry.
#
# up.sh's options for it: BG_XDP_MODE (native, generic, or empty: the mode
# the interface runs in, native for a new one) and BG_FORCE (1: replace an
# XDP program bpfguard did not attach).

# Before anything changes: refuse if IFACE runs someone else's program,
# and choose the XDP mode.
bg_firewall_check()
{
	local iface=$1 name
	BG_FW_CUR_ID="" BG_FW_CUR_MODE="" BG_FW_OURS_BEFORE=0 BG_FW_ATTACHED=0
	read -r BG_FW_CUR_ID BG_FW_CUR_MODE < <(bg_xdp_attached "$iface") || true
	if [[ -n $BG_FW_CUR_ID ]] && bg_have_maps &&
		bg_prog_is_ours "$BG_FW_CUR_ID"; then
		BG_FW_OURS_BEFORE=1
	fi
	if [[ -n $BG_FW_CUR_ID && $BG_FW_OURS_BEFORE == 0 && ${BG_FORCE:-0} == 0 ]]; then
		name=$(bpftool -j prog show id "$BG_FW_CUR_ID" 2>/dev/null | jq -r '.name // "?"')
		bg_die "$iface already runs XDP program $BG_FW_CUR_ID ($name) that bpfguard did not attach; use --force to replace it"
	fi
	# Without --mode, an interface keeps the mode it runs in.
	BG_FW_MODE=${BG_XDP_MODE:-}
	if [[ -z $BG_FW_MODE ]]; then
		BG_FW_MODE=native
		[[ $BG_FW_OURS_BEFORE == 1 && $BG_FW_CUR_MODE == 2 ]] &&
			BG_FW_MODE=generic
	fi
	case $BG_FW_MODE in
	native) BG_FW_MODE_NUM=1 BG_FW_IP_MODE=xdpdrv BG_FW_OTHER_MODE=xdpgeneric ;;
	generic) BG_FW_MODE_NUM=2 BG_FW_IP_MODE=xdpgeneric BG_FW_OTHER_MODE=xdpdrv ;;
	*) bg_die "--mode must be native or generic, not '$BG_FW_MODE'" ;;
	esac
}

# Attach (or keep) the firewall; BG_XDP_ROOT_ID and BG_XDP_ROOT_MODE say
# what runs on IFACE afterwards (up.sh records them in bg_ifaces).
bg_firewall_attach()
{
	local iface=$1 prog=$2 pin id err force_arg=()
	pin=$(bg_pin "$prog")
	id=$(bg_prog_id "$pin")
	# shellcheck disable=SC2034 # read by up.sh
	BG_XDP_ROOT_ID=$id BG_XDP_ROOT_MODE=$BG_FW_MODE_NUM
	if [[ $BG_FW_CUR_ID == "$id" && $BG_FW_CUR_MODE == "$BG_FW_MODE_NUM" ]]; then
		bg_info "$iface: xdp_firewall already attached (prog $id, $BG_FW_MODE)"
		return 0
	fi
	# The programs attached before (conntrack) have seen the open flows
	# of this interface only once those sent a segment: give them a
	# moment, or phase 0 would drop their replies until then.
	[[ $BG_FW_CUR_ID == "$id" ]] || sleep "${BG_PICKUP_WAIT:-0.5}"
	# Native and generic XDP cannot coexist: moving between them leaves
	# the interface unfiltered for a moment.
	if [[ -n $BG_FW_CUR_ID && $BG_FW_CUR_MODE != "$BG_FW_MODE_NUM" ]]; then
		ip link set dev "$iface" "$BG_FW_OTHER_MODE" off 2>/dev/null || true
	fi
	# Replace a program only when it is ours or --force says so: without
	# -force, iproute2 asks the kernel to attach only where no program
	# runs, so a program the checks above missed is refused by the kernel.
	if ((${BG_FORCE:-0})) || [[ -n $BG_FW_CUR_ID &&
		$BG_FW_CUR_MODE == "$BG_FW_MODE_NUM" && $BG_FW_OURS_BEFORE == 1 ]]; then
		force_arg=(-force)
	fi
	if ! err=$(ip "${force_arg[@]}" link set dev "$iface" "$BG_FW_IP_MODE" \
		pinned "$pin" 2>&1); then
		# Put the interface back the way it was before saying so.
		if [[ $BG_FW_OURS_BEFORE == 1 && $BG_FW_CUR_MODE != "$BG_FW_MODE_NUM" ]]; then
			ip link set dev "$iface" "$BG_FW_OTHER_MODE" pinned "$pin" ||
				true
		fi
		err=${err//$'\n'/ }
		[[ $err == *"already attached"* ]] &&
			bg_die "$iface: the kernel refused to replace the XDP program attached there ($err): bpfguard did not attach it; use --force to replace it"
		[[ $BG_FW_MODE == native ]] &&
			bg_die "attaching to $iface in native mode failed ($err): driver without XDP support? try --mode generic"
		bg_die "attaching to $iface failed ($err)"
	fi
	BG_FW_ATTACHED=1
	bg_info "$iface: xdp_firewall attached (prog $id, $BG_FW_MODE)"
}

# A rollback takes off only what this run attached.
bg_firewall_detach()
{
	local iface=$1 why=$5
	if [[ $why == rollback ]]; then
		((${BG_FW_ATTACHED:-0})) || return 0
		ip link set dev "$iface" "$BG_FW_IP_MODE" off 2>/dev/null || true
		return 0
	fi
	bg_hook_detach "$@"
}

# jq: the address of a BTF-formatted {family, addr[4]} (__be32 words read
# as little-endian numbers), IPv6 in RFC 5952 form.
# shellcheck disable=SC2016 # jq's variables, not the shell's
BG_JQ_ADDR='
def mod256: . - 256 * (. / 256 | floor); # jq 1.6 takes % in 32 bits
def bytes4: [mod256, (. / 256 | floor | mod256), (. / 65536 | floor | mod256),
	(. / 16777216 | floor | mod256)];
def v6text: [.[] | bytes4] | add | [range(0; 16; 2) as $i | .[$i] * 256 + .[$i + 1]]
	| . as $w
	| ([range(0; 8) | select($w[.] == 0)] | reduce .[] as $i ({best: [-1, 0], cur: [-1, 0]};
		(if .cur[0] >= 0 and .cur[0] + .cur[1] == $i then .cur[1] += 1 else .cur = [$i, 1] end)
		| if .cur[1] > .best[1] then .best = .cur else . end) | .best) as $z
	| [range(0; 8) | select($z[1] < 2 or . < $z[0] or . >= $z[0] + $z[1])
		| . as $i | $w[$i] as $v
		| {i: $i, t: ([$v / 4096, $v / 256, $v / 16, $v]
			| map(floor | . - 16 * (. / 16 | floor))
			| map("0123456789abcdef"[.:.+1]) | join("") | sub("^0+(?=.)"; ""))}]
	  as $parts
	| if $z[1] < 2 then ($parts | map(.t) | join(":"))
	  else (($parts | map(select(.i < $z[0]) | .t) | join(":")) + "::" +
		($parts | map(select(.i >= $z[0] + $z[1]) | .t) | join(":"))) end;
def addrtext: if .family == 0 then (.addr[0] | bytes4 | map(tostring) | join("."))
	else (.addr | v6text) end;
'

# The sources in overload tables (connection limits), with the seconds
# left until they are let in again; conntrack's clock is CLOCK_BOOTTIME
# plus the test hook's offset. An IPv6 source is a /64.
bg_firewall_overload_json()
{
	local now
	[[ -e $(bg_map bg_fw_overload) ]] || {
		echo '[]'
		return 0
	}
	now=$(bg_ct_now_ns)
	bpftool -j map dump pinned "$(bg_map bg_fw_overload)" |
		jq -c --argjson now "$now" "$BG_JQ_ADDR"'
		[.[].formatted | select(.value.expires_ns > $now)
		 | {table: .value.table,
		    address: (.key | addrtext + (if .family == 0 then "" else "/64" end)),
		    rule: .value.rule_id,
		    reason: (if .value.reason == 1 then "max-src-conn" else "max-src-conn-rate" end),
		    flushed: (.value.flush == 1),
		    expires_in: (((.value.expires_ns - $now) / 1e9) | ceil)}]
		| sort_by(.table, .address)'
}

# status.sh: the fragment tables (README, "Fragments"), each as
# {table, entries, capacity, made, evicted}. Nothing deletes their entries,
# so those made and no longer there were evicted (the LRU's choice: the
# oldest). Empty for maps pinned by a bpfguard without them.
bg_firewall_frag_json()
{
	local made t i=0 n max
	[[ -e $(bg_map bg_frag_made) ]] || {
		echo '[]'
		return 0
	}
	made=$(bpftool -j map dump pinned "$(bg_map bg_frag_made)" |
		jq -c '[.[] | [.formatted.values[].value] | add]')
	for t in bg_frag4_flow bg_frag4_rule bg_frag6_flow bg_frag6_rule; do
		n=$(bpftool -j map dump pinned "$(bg_map "$t")" | jq 'length')
		max=$(bpftool -j map show pinned "$(bg_map "$t")" |
			jq '.max_entries')
		jq -nc --arg t "$t" --argjson n "$n" --argjson max "$max" \
			--argjson made "$made" --argjson i "$i" '
			{table: $t, entries: $n, capacity: $max, made: $made[$i],
			 evicted: ([$made[$i] - $n, 0] | max)}'
		i=$((i + 1))
	done | jq -c -s '.'
}

# bpftool (7.1) writes a backslash in a string of its BTF view as "\n"
# (its json_writer), so the labels, interface names and rule texts, which
# hold no newline (printable ASCII only), get their backslashes back.
# shellcheck disable=SC2016 # jq, not shell
BG_FW_JQ_BTF_STRING='def btf_string: gsub("\n"; "\\");'

# status.sh: the active ruleset, the counters per action and the hits per
# rule, summed over CPUs, each rule with its text as fwmapgen wrote it
# into bg_fw_rtext (rule_format.c: the parsed rule in ruleset syntax). One
# dump and one jq program per map, whatever the number of rules.
bg_firewall_status_json()
{
	local gen gen_json switches ruleset counters nids base rinfo hits texts
	gen=$(bg_active_gen)
	gen_json=$(bg_gen_json "$gen")
	switches=$(bg_map_lookup bg_fw_active "00 00 00 00" |
		jq '.formatted.value.switches')
	ruleset=$(jq -c --argjson gen "$gen" --argjson sw "$switches" \
		--arg digest "$(bg_gen_digest <<<"$gen_json")" '.formatted.value |
		{loaded: (.loaded == 1), source: .source, digest: $digest,
		 rules: .nids, inet: .nrules[0], inet6: .nrules[1],
		 default: (if .default_action == 1 then "block" else "pass" end),
		 generation: $gen, switches: $sw}' <<<"$gen_json")
	counters=$(bpftool -j map dump pinned "$(bg_map bg_fw_stats)" |
		bg_abi_stats bg_fw_stat BG_STAT_)
	nids=$(jq -r '.rules' <<<"$ruleset")
	base=$((gen * $(bg_abi .consts.BG_FW_HITS_PER_GEN)))
	rinfo=$(bpftool -j map dump pinned "$(bg_map bg_fw_rinfo)" |
		jq -c --argjson gen "$gen" "$BG_FW_JQ_BTF_STRING"'
			[.[].formatted | select(.key.gen == $gen)
			| {id: .key.id, line: .value.line,
			   label: (.value.label | btf_string),
			   iface: (.value.iface | btf_string),
			   action: (if .value.action == 1 then "block" else "pass" end)}]')
	# Only the active generation's entries, looked up in one bpftool
	# batch: a dump of the whole per-CPU array (both generations, every
	# possible rule) is megabytes of JSON for jq, seconds with a handful
	# of rules.
	hits=$(bg_firewall_hits_batch "$base" "$nids" | bpftool -j batch file - |
		jq -c --argjson lo "$base" --argjson hi $((base + nids)) '
			[.[].output.formatted | select(.key >= $lo and .key <= $hi)
			 | {id: (.key - $lo),
			    packets: ([.values[].value.packets] | add),
			    bytes: ([.values[].value.bytes] | add)}]')
	texts=$(bg_firewall_texts "$gen")
	# The parts through stdin: a ruleset of thousands of rules outgrows a
	# command-line argument.
	printf '%s\n' "$ruleset" "$counters" "$rinfo" "$hits" "$texts" \
		"$(bg_firewall_overload_json)" "$(bg_firewall_frag_json)" |
		jq -c -s '
		.[0] as $rs | .[4] as $t
		| (.[2] | map({(.id | tostring): .}) | add // {}) as $i
		| {ruleset: $rs, counters: .[1], overload: .[5], fragments: .[6],
		   rules: (.[3] | sort_by(.id) | map(. as $h
			| if .id == 0 then
				{id: 0, line: null, label: "default policy",
				 action: $rs.default, iface: ""}
			  else $i[$h.id | tostring] end
			| . + {text: ($t[$h.id | tostring].text // null),
			       text_cut: ($t[$h.id | tostring].cut // false),
			       packets: $h.packets, bytes: $h.bytes}))}'
}

# bpftool batch commands that look up bg_fw_hits at indexes $1 to $1 + $2
# (by map id: a batch line is split at blanks, a pin path may hold some).
bg_firewall_hits_batch()
{
	local id i k
	id=$(bg_map_id bg_fw_hits)
	[[ -n $id ]] || bg_die "cannot read bg_fw_hits"
	for ((i = $1; i <= $1 + $2; i++)); do
		printf -v k '%02x %02x %02x %02x' $((i & 255)) $(((i >> 8) & 255)) \
			$(((i >> 16) & 255)) $(((i >> 24) & 255))
		printf 'map lookup id %s key hex %s\n' "$id" "$k"
	done
}

# The rule texts of generation $1 from bg_fw_rtext: {"ID": {text, cut}}.
# Empty for maps pinned by a bpfguard without it, or a generation an
# older fwmapgen filled (status.sh shows no text then). Display only, so
# bpftool's BTF view: without -j it is that view alone, a tenth of the
# bytes of -j (which adds every byte of the 520-byte values in hex) and
# a tenth of the time for jq with 4096 rules.
bg_firewall_texts()
{
	local cut
	if [[ ! -e $(bg_map bg_fw_rtext) ]]; then
		printf '{}\n'
		return 0
	fi
	cut=$(bg_abi .enums.bg_fw_rtext_flags.BG_FW_RTEXT_F_CUT)
	bpftool map dump pinned "$(bg_map bg_fw_rtext)" |
		jq -c --argjson gen "$1" --argjson cut "$cut" "$BG_FW_JQ_BTF_STRING"'
			[.[] | select(.key.gen == $gen)
			 | {key: (.key.id | tostring),
			    value: {text: (.value.text | strings | btf_string),
				    cut: ((.value.flags / $cut | floor) % 2 == 1)}}]
			| from_entries'
}
