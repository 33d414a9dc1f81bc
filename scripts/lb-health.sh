#!/usr/bin/env bash
# The load balancer's health checker: probes the backends of the services
# that have a "set health" and flips their state in bg_lb_health.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [--once]

Probe every backend of the running ruleset's services that have a
"set health NAME tcp|http ..." statement, each service at its interval:
tcp connects to the backend's address and port, http requests its PATH
there and wants a 2xx or 3xx answer, each within the timeout. A backend
goes down after FALL failed probes in a row and comes back after RISE good
ones; the state goes into bg_lb_health, where xdp_loadbalancer reads it
for every packet: new flows avoid a down backend at once, flows pinned to
it move at their next packet. Each change is printed.

up.sh starts it in the background when the ruleset has health checks
(its PID in $BG_LOCK_DIR), down.sh stops it with the last interface; it
follows ruleset switches by itself and ends when no check is left.

  --once       one probe of every checked backend, its state set from
               that probe alone (tests, cron), then exit
  -h, --help   this text

$BG_ENV_HELP
EOF2
}

once=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--once) once=1 ;;
	*) bg_die "unknown option $1 (see --help)" ;;
	esac
	shift
done

bg_require_root
bg_setup_bpffs check || bg_die "bpffs missing: ${BG_BPFFS} is not a bpffs mount"
bg_registry_load
[[ -e $(bg_map bg_lb_health) ]] ||
	bg_die "the load balancer is not loaded (no service in the ruleset)"

# The checked backends, one line each:
# "SERVICE INDEX ADDR PORT CHECK PATH INTERVAL TIMEOUT FALL RISE STATE"
checked()
{
	bg_loadbalancer_status_json | jq -r '
		.loadbalancer.services[]? | select(.health != null) | . as $s
		| .backends[] | select(.admin == "up")
		| [$s.name, .index, .address, .port, $s.health.check,
		   ($s.health.path // "-"), $s.health.interval,
		   $s.health.timeout, $s.health.fall, $s.health.rise,
		   .state] | map(tostring) | join(" ")'
}

# probe CHECK ADDR PORT PATH TIMEOUT: 0 when the backend answers.
probe()
{
	local check=$1 addr=$2 port=$3 path=$4 t=$5 host=$2
	[[ $addr == *:* ]] && host="[$addr]"
	case $check in
	tcp)
		# shellcheck disable=SC2016 # expanded by the inner bash
		timeout "$t" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$addr" "$port" \
			2>/dev/null
		;;
	http)
		# -q: no ~/.curlrc; no proxy: the backend itself answers.
		curl -q -fsS -o /dev/null --max-time "$t" --noproxy '*' -g \
			"http://$host:$port$path" 2>/dev/null
		;;
	*) return 1 ;;
	esac
}

# set_state INDEX ADDR PORT UP: bg_lb_health of the running generation,
# its flip counted and timed (CLOCK_BOOTTIME, as the kernel's
# bpf_ktime_get_boot_ns). Only while INDEX still names ADDR PORT: a
# ruleset switch during the probes may have moved it (the next round
# probes it again). 1: not written.
set_state()
{
	local idx=$1 addr=$2 port=$3 up=$4 key v changes now cur
	key=$(bg_u32_hex $(($(bg_active_gen) * $(bg_abi .consts.BG_LB_MAX_BACKENDS) + idx)))
	# One lookup, not the whole status (seconds on a busy machine, and
	# a flip waits for it).
	# shellcheck disable=SC2016,SC2153 # jq's $; BG_JQ_* from the modules
	cur=$(bg_map_lookup bg_lb_backend "$key" | jq -r "$BG_JQ_ADDR$BG_JQ_LBADDR"'
		.formatted.value | "\({family, addr} | lbaddr) \(.port | be16)"')
	[[ $cur == "$addr $port" ]] || return 1
	v=$(bg_map_raw bg_lb_health "$key") || return 1
	changes=$(($(bg_le "$v" 4 4) + 1))
	read -r now _ </proc/uptime
	now=${now/./}0000000
	bg_map_update bg_lb_health "$key" \
		"$(bg_u32_hex "$up") $(bg_u32_hex "$changes") $(bg_u64_hex "$((10#$now))")" \
		>/dev/null
}

declare -A good=() bad=() due=()

# One round over the backends whose service is due: probes in parallel,
# then the states that change.
round()
{
	local now svc idx addr port check path interval t fall rise state \
		key dir i=0
	local -a lines=()
	now=$(date +%s)
	mapfile -t lines < <(checked)
	((${#lines[@]})) || return 1
	dir=$(mktemp -d "${TMPDIR:-/tmp}/bglbh.XXXXXX")
	for i in "${!lines[@]}"; do
		read -r svc idx addr port check path interval t fall rise state \
			<<<"${lines[i]}"
		[[ $path == - ]] && path=/
		((once || ${due[$svc]:-0} <= now)) || continue
		{ probe "$check" "$addr" "$port" "$path" "$t" && echo ok ||
			echo fail; } >"$dir/$i" &
	done
	wait
	for i in "${!lines[@]}"; do
		[[ -e $dir/$i ]] || continue
		read -r svc idx addr port check path interval t fall rise state \
			<<<"${lines[i]}"
		due[$svc]=$((now + interval))
		key="$svc $addr $port"
		if [[ $(<"$dir/$i") == ok ]]; then
			good[$key]=$((${good[$key]:-0} + 1)) bad[$key]=0
			if [[ $state == down ]] && ((once || good[$key] >= rise)) &&
				set_state "$idx" "$addr" "$port" 1; then
				echo "$svc: backend $addr port $port up"
			fi
		else
			bad[$key]=$((${bad[$key]:-0} + 1)) good[$key]=0
			if [[ $state == up ]] && ((once || bad[$key] >= fall)) &&
				set_state "$idx" "$addr" "$port" 0; then
				echo "$svc: backend $addr port $port down"
			fi
		fi
	done
	rm -rf "$dir"
}

if ((once)); then
	round || bg_info "no service has a health check"
	exit 0
fi
while round; do
	sleep 1
done
bg_info "no service has a health check any more; health checker ends"
