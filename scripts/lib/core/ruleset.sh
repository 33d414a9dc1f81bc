# shellcheck shell=bash
# The ruleset: fwmapgen compiles it into two generations of the pinned
# maps, bg_fw_active names the one packets use, and every program reads
# its settings through it. Switching is atomic (one store). Sourced by
# lib.sh.

# The ruleset maps are there (bg_fw_gens: only xdp_firewall makes it;
# conntrack alone makes bg_fw_active too, to read the generation).
bg_have_maps()
{
	[[ -e $(bg_map bg_fw_active) && -e $(bg_map bg_fw_gens) ]]
}

# The layout of bg_fw_gen and bg_fw_active these functions read, from the
# ABI in one jq (it takes ~35 ms to start here: a switch used to run
# twenty). bg_prepare_ruleset reads it in the script's shell, so that the
# $(...) after it have it; a function called without it reads it itself.
bg_rs_layout()
{
	[[ -z ${BG_RS_GEN_SIZE:-} ]] || return 0
	local -a v
	# shellcheck disable=SC2016 # $s is jq's
	read -ra v <<<"$(bg_abi '.structs as $s | [$s.bg_fw_gen.size,
		($s.bg_fw_gen.fields[] | select(.name == "digest") | .offset),
		($s.bg_fw_gen.fields[] | select(.name == "source") | .offset),
		.consts.BG_FW_SOURCE_LEN,
		($s.bg_fw_active.fields[] | select(.name == "switches")
			| .offset)] | @tsv')"
	[[ ${#v[@]} == 5 && ${v[*]} =~ ^[0-9\ ]+$ ]] ||
		bg_die "cannot read the layout of the ruleset maps from $BG_ABI"
	BG_RS_GEN_SIZE=${v[0]} BG_RS_GEN_DIGEST=${v[1]} BG_RS_GEN_SOURCE=${v[2]}
	BG_RS_SOURCE_LEN=${v[3]} BG_RS_SWITCHES=${v[4]}
}

# bg_fw_active: {gen, switches}.
bg_active_raw()
{
	local v
	if ! v=$(bg_map_raw bg_fw_active "00 00 00 00") ||
		! bg_le "$v" 0 8 >/dev/null; then
		bg_die "cannot read $(bg_map bg_fw_active)"
	fi
	printf '%s' "$v"
}

# The generation packets use: 0 or 1, anything else is an error.
bg_active_gen()
{
	local gen
	gen=$(bg_le "$(bg_active_raw)" 0 4)
	[[ $gen == [01] ]] ||
		bg_die "$(bg_map bg_fw_active) says generation $gen, not 0 or 1: the maps are damaged or from another version (down.sh removes them)"
	printf '%s\n' "$gen"
}

bg_active_switches()
{
	bg_rs_layout
	bg_le "$(bg_active_raw)" "$BG_RS_SWITCHES" 4
}

# bg_fw_gens[gen]: raw bytes of struct bg_fw_gen (bg-abi has the layout).
bg_gen_raw()
{
	local v
	[[ $1 == [01] ]] || bg_die "no generation $1 (0 or 1)"
	bg_rs_layout
	# At least the bytes up to the end of the source path.
	if ! v=$(bg_map_raw bg_fw_gens "$(bg_u32_hex "$1")") ||
		! bg_le "$v" $((BG_RS_GEN_SOURCE + BG_RS_SOURCE_LEN - 4)) 4 \
			>/dev/null; then
		bg_die "cannot read generation $1 from $(bg_map bg_fw_gens)"
	fi
	printf '%s' "$v"
}

# 1 when generation $1 holds a complete ruleset, else 0.
bg_gen_loaded()
{
	local l
	l=$(bg_le "$(bg_gen_raw "$1")" 0 4)
	[[ $l == [01] ]] ||
		bg_die "$(bg_map bg_fw_gens)[$1] says loaded=$l, not 0 or 1: the maps are damaged or from another version (down.sh removes them)"
	printf '%s\n' "$l"
}

# Digest (hex) and source path of generation $1.
bg_gen_digest_of()
{
	local -a b
	bg_rs_layout
	read -ra b <<<"$(bg_gen_raw "$1")"
	local IFS=
	printf '%s\n' "${b[*]:BG_RS_GEN_DIGEST:32}"
}

bg_gen_source()
{
	bg_rs_layout
	bg_hexstr "$(bg_gen_raw "$1")" "$BG_RS_GEN_SOURCE" "$BG_RS_SOURCE_LEN"
}

# bg_fw_gens[gen] as bpftool prints it: raw bytes in .value, named fields
# in .formatted.value (for display: status.sh).
bg_gen_json()
{
	bg_map_lookup bg_fw_gens "$(bg_u32_hex "$1")"
}

# The ruleset digest of a generation (bg_fw_gen.digest, 32 bytes).
bg_gen_digest()
{
	bg_rs_layout
	jq -r --argjson o "$BG_RS_GEN_DIGEST" '.value[$o:$o + 32] | map(ltrimstr("0x")) | join("")'
}

# The maps fwmapgen fills per generation: hashes and tries with the
# generation in the key (emptied of a generation by bg_purge_gen), and
# arrays with a range of indexes per generation (overwritten whole).
# The rate limiter's (bg_rl_*) are among them: its arrays are read through
# the generation's tries and bg_rl_config only, which every batch writes.
# So are the load balancer's (bg_lb_*): its arrays are read through the
# generation's bg_lb_vip entries only.
BG_FW_GEN_KEYED=(bg_fw_src4 bg_fw_dst4 bg_fw_src6 bg_fw_dst6 bg_fw_sport
	bg_fw_dport bg_fw_iface bg_fw_vlan bg_fw_mac bg_fw_rinfo
	bg_fw_limits bg_fw_rtext bg_fw_route bg_rl_src4 bg_rl_src6 bg_rl_pinfo
	bg_lb_vip)
BG_FW_GEN_ARRAYS=(bg_fw_vec bg_fw_rules bg_fw_proto bg_fw_tcpflags bg_fw_icmp
	bg_fw_dscp bg_fw_gens bg_fw_hits bg_fw_rstates bg_rl_policy bg_rl_clist
	bg_rl_config bg_rl_amp_ports bg_lb_ring bg_lb_backend bg_lb_health
	bg_lb_sinfo bg_lb_rr)

# Delete every entry of generation $1 from the generation-keyed maps. The
# generation sits at byte 4 of the LPM keys and byte 0 of the others.
# bg-purge reads the keys alone (bpftool's dump formats every value, which
# made a purge of 4096 rules take a second) and fails unless none of the
# generation is left.
bg_purge_gen()
{
	local gen=$1 m off
	local -a maps=()
	bg_rs_layout
	bg_map_update bg_fw_gens "$(bg_u32_hex "$gen")" \
		"$(bg_zero_hex "$BG_RS_GEN_SIZE")" >/dev/null
	for m in "${BG_FW_GEN_KEYED[@]}"; do
		case $m in
		bg_fw_src* | bg_fw_dst* | bg_fw_sport | bg_fw_dport | bg_rl_src4 | \
			bg_rl_src6) off=4 ;;
		*) off=0 ;;
		esac
		[[ -e $(bg_map "$m") ]] && maps+=("$off:$(bg_map "$m")")
	done
	((${#maps[@]} == 0)) || "$BG_PURGE" "$gen" "${maps[@]}" ||
		bg_die "could not clear generation $gen of the ruleset maps"
}

# Switching to a ruleset takes two steps, so that a caller can do what
# must succeed first (up.sh: attach the interface) in between:
#   bg_prepare_ruleset FILE  fills the generation packets are not using and
#                            checks it loaded completely; nothing switches
#                            (on a first load, with no ruleset running, the
#                            new one is live at once);
#   bg_commit_ruleset        one store to bg_fw_active switches every
#                            packet over, then the old generation goes;
#   bg_rollback_ruleset      instead of the commit: removes the prepared
#                            generation and puts back the settings outside
#                            the generations that the batch changed
#                            (bg_ct_config), as they were.
# State between the steps: BG_RS_* variables. Call them in the script's
# shell, not in $(...).
BG_RS_STATE=none

# Maps fwmapgen fills per generation (the generation is in the key, or the
# index is per generation): everything else the batch writes is global and
# is saved before the batch for a rollback.
bg_is_gen_map()
{
	local m
	for m in "${BG_FW_GEN_KEYED[@]}" "${BG_FW_GEN_ARRAYS[@]}"; do
		[[ $1 == "$m" ]] && return 0
	done
	return 1
}

# A bpftool batch that writes back the current entries of the global maps
# that batch $1 updates. No jq (see bg_map_raw): each entry of the dump
# opens with its raw "key" and "value" arrays; entries of per-CPU maps
# ("values") are not saved.
bg_snapshot_globals()
{
	local m dump
	while read -r m; do
		bg_is_gen_map "$(basename "$m")" && continue
		dump=$(bpftool -j map dump pinned "$m") ||
			bg_die "cannot save $m before loading the ruleset"
		{ grep -oE '(^\[|\},)\{"key":\["0x[^]]*\],"value":\["0x[^]]*\]' \
			<<<"$dump" || true; } |
			sed -E 's/^(\[|\},)\{"key":\[//; s/\],"value":\[/ value hex /
				s/\]$//; s/"0x//g; s/"//g; s/,/ /g' |
			awk -v m="$m" '{ print "map update pinned " m " key hex " $0 }'
	done < <(cut -d' ' -f1-4 "$1" | awk '$1 == "map" && $2 == "update" &&
		$3 == "pinned" && !seen[$4]++ { print $4 }')
}

bg_prepare_ruleset()
{
	local rules=$1 batch
	BG_RS_STATE=none
	bg_rs_layout
	BG_RS_RULES=$rules
	BG_RS_DIGEST=$("$FWMAPGEN" --digest "$rules") ||
		bg_die "ruleset $rules is invalid; nothing changed"
	BG_RS_ACTIVE=$(bg_active_gen)
	BG_RS_WAS_LOADED=$(bg_gen_loaded "$BG_RS_ACTIVE")
	if [[ $BG_RS_WAS_LOADED == 1 &&
		$(bg_gen_digest_of "$BG_RS_ACTIVE") == "$BG_RS_DIGEST" ]]; then
		BG_RS_STATE=unchanged
		bg_info "ruleset $rules unchanged (generation $BG_RS_ACTIVE)"
		return 0
	fi
	if [[ $BG_RS_WAS_LOADED == 1 ]]; then
		BG_RS_NEXT=$((1 - BG_RS_ACTIVE))
	else
		BG_RS_NEXT=$BG_RS_ACTIVE
	fi
	batch=$(mktemp "${TMPDIR:-/tmp}/bgrules.XXXXXX")
	BG_RS_UNDO=$(mktemp "${TMPDIR:-/tmp}/bgundo.XXXXXX")
	if ! "$FWMAPGEN" --gen "$BG_RS_NEXT" --pin-dir "$BG_PIN_DIR" \
		-o "$batch" "$rules"; then
		rm -f "$batch" "$BG_RS_UNDO"
		bg_die "ruleset $rules is invalid; nothing changed"
	fi
	bg_snapshot_globals "$batch" >"$BG_RS_UNDO"
	BG_RS_STATE=prepared
	bg_purge_gen "$BG_RS_NEXT"
	if ! bpftool batch file "$batch" >/dev/null; then
		rm -f "$batch"
		bg_rollback_ruleset
		bg_die "loading ruleset $rules into the maps failed; the running ruleset is unchanged"
	fi
	rm -f "$batch"
	if [[ $(bg_gen_loaded "$BG_RS_NEXT") != 1 ||
		$(bg_gen_digest_of "$BG_RS_NEXT") != "$BG_RS_DIGEST" ]]; then
		bg_rollback_ruleset
		bg_die "ruleset $rules did not load completely; the running ruleset is unchanged"
	fi
}

bg_commit_ruleset()
{
	[[ $BG_RS_STATE == prepared ]] || return 0
	bg_switch_gen "$BG_RS_NEXT"
	BG_RS_STATE=committed
	rm -f "$BG_RS_UNDO"
	if [[ $BG_RS_WAS_LOADED == 1 ]]; then
		# Packets already classifying with the old generation finish
		# within an RCU grace period; give them far more than that. The
		# new ruleset is live: a failed clean-up is not a failed switch
		# (the next switch purges that generation first anyway).
		sleep 0.05
		(bg_purge_gen "$BG_RS_ACTIVE") ||
			bg_warn "old generation $BG_RS_ACTIVE not fully removed"
	fi
	bg_info "ruleset $BG_RS_RULES loaded (generation $BG_RS_NEXT, digest ${BG_RS_DIGEST:0:16})"
}

# Runs from exit hooks too: warns rather than dies.
bg_rollback_ruleset()
{
	[[ $BG_RS_STATE == prepared ]] || return 0
	BG_RS_STATE=rolled-back
	(bg_purge_gen "$BG_RS_NEXT") ||
		bg_warn "generation $BG_RS_NEXT (not in use) not fully removed"
	if [[ -s $BG_RS_UNDO ]] &&
		! bpftool batch file "$BG_RS_UNDO" >/dev/null; then
		bg_warn "could not restore the conntrack settings of the running ruleset"
	fi
	rm -f "$BG_RS_UNDO"
}

# Compile and switch to ruleset $1 in one go (nothing to do in between).
bg_apply_ruleset()
{
	bg_prepare_ruleset "$1"
	bg_commit_ruleset
}

bg_switch_gen()
{
	local gen=$1 switches
	switches=$(bg_active_switches) ||
		bg_die "cannot read $(bg_map bg_fw_active)"
	bg_map_update bg_fw_active "00 00 00 00" \
		"$(bg_u32_hex "$gen") $(bg_u32_hex $(((switches + 1) & 0xffffffff)))" \
		>/dev/null || bg_die "could not switch to generation $gen"
}
