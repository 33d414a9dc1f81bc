#!/usr/bin/env bash
# List the load balancer's flows and the backend each one goes to.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

usage()
{
	cat <<EOF2
Usage: $BG_PROG [--json]

List the flows in bg_lb_flow, the load balancer's flow table: protocol,
the client's address and port, the VIP and port it contacted, the service
and the backend (address and port) its packets go to, packets and bytes
from the client, and seconds since its last packet. Each flow keeps its
backend while that backend is up; the table is an LRU of
BG_LB_FLOW_MAX entries.

  --json       an array of objects: proto, client, client_port, vip,
               vip_port, service, backend, backend_port, packets, bytes,
               idle
  -h, --help   this text

$BG_ENV_HELP
EOF2
}

json=0
while (($#)); do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--json) json=1 ;;
	*) bg_die "unknown option $1 (see --help)" ;;
	esac
	shift
done

bg_require_root
bg_setup_bpffs check || bg_die "bpffs missing: ${BG_BPFFS} is not a bpffs mount"
bg_registry_load
[[ -e $(bg_map bg_lb_flow) ]] ||
	bg_die "the load balancer is not loaded (no service in the ruleset)"

# Service names by id, of the running ruleset.
names=$(bg_loadbalancer_status_json |
	jq -c '[.loadbalancer.services[]? | {(.id | tostring): .name}] | add // {}')
read -r now _ </proc/uptime
# shellcheck disable=SC2016,SC2153 # jq's $; BG_JQ_* from the modules
flows=$(bpftool -j map dump pinned "$(bg_map bg_lb_flow)" |
	jq -c --argjson names "$names" --argjson now "$now" \
		"$BG_JQ_ADDR$BG_JQ_LBADDR"'
		[.[].formatted | .key as $k | .value as $v
		 | {proto: (if $k.proto == 6 then "tcp" else "udp" end),
		    client: ({family: $k.family, addr: $k.saddr} | lbaddr),
		    client_port: ($k.sport | be16),
		    vip: ({family: $k.family, addr: $k.daddr} | lbaddr),
		    vip_port: ($k.dport | be16),
		    service: ($names[$v.svc | tostring] // null),
		    backend: ({family: $k.family, addr: $v.baddr} | lbaddr),
		    backend_port: ($v.bport | be16),
		    packets: $v.packets, bytes: $v.bytes,
		    idle: (($now - $v.last_ns / 1e9) | floor
			| if . < 0 then 0 else . end)}]
		| sort_by(.vip, .vip_port, .client, .client_port)')
if ((json)); then
	printf '%s\n' "$flows"
	exit 0
fi
jq -r '
	def hp($a; $p): (if ($a | contains(":")) then "[\($a)]" else $a end) + ":\($p)";
	"proto\tclient\tvip\tservice\tbackend\tpackets\tbytes\tidle",
	(.[] | "\(.proto)\t\(hp(.client; .client_port))\t\(hp(.vip; .vip_port))\t\(.service // "-")\t\(hp(.backend; .backend_port))\t\(.packets)\t\(.bytes)\t\(.idle)")
' <<<"$flows" | column -t -s $'\t'
