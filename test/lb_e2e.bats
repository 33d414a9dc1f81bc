#!/usr/bin/env bats
# The load balancer end to end: a client namespace, the balancer (up.sh on
# both of its interfaces) and a backend namespace with three HTTP servers
# per family, each answering with its own name. Real curl through the VIP,
# both families; the client only ever sees the VIP (a capture on its side);
# status.sh and its JSON show the services and backends.
#
#   $CLI  cli0 198.51.100.7/24      2001:db8:c::7/64
#          |   (VIP 192.0.2.10 and 2001:db8:f::10 routed via the DUT)
#   $DUT  dut0 198.51.100.1/24      2001:db8:c::1/64
#         dut1 203.0.113.1/24       2001:db8:b::1/64
#          |
#   $BK   bk0  203.0.113.11-13/24   2001:db8:b::11-13/64 (default via DUT)

load lib/common

setup()
{
	bpffs_setup
	LAB_ID=$$-$BATS_TEST_NUMBER
	DUT=bgl-$LAB_ID-dut
	CLI=bgl-$LAB_ID-cli
	BK=bgl-$LAB_ID-bk
	local ns h
	for ns in "$DUT" "$CLI" "$BK"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n "$DUT" link add dut0 type veth peer name cli0 netns "$CLI"
	ip -n "$DUT" link add dut1 type veth peer name bk0 netns "$BK"
	in_dut sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$DUT" addr add 198.51.100.1/24 dev dut0
	ip -n "$DUT" addr add 2001:db8:c::1/64 dev dut0 nodad
	ip -n "$DUT" addr add 203.0.113.1/24 dev dut1
	ip -n "$DUT" addr add 2001:db8:b::1/64 dev dut1 nodad
	ip -n "$CLI" addr add 198.51.100.7/24 dev cli0
	ip -n "$CLI" addr add 2001:db8:c::7/64 dev cli0 nodad
	for h in 11 12 13; do
		ip -n "$BK" addr add "203.0.113.$h/24" dev bk0
		ip -n "$BK" addr add "2001:db8:b::$h/64" dev bk0 nodad
	done
	ip -n "$DUT" link set dut0 up
	ip -n "$DUT" link set dut1 up
	ip -n "$CLI" link set cli0 up
	ip -n "$BK" link set bk0 up
	ip -n "$CLI" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$CLI" route add 2001:db8:f::/64 via 2001:db8:c::1
	ip -n "$BK" route add default via 203.0.113.1
	ip -n "$BK" route add default via 2001:db8:b::1
	# Rewritten packets keep checksums only if the senders computed them:
	# a veth with TX offload hands XDP partial checksums (README, "The
	# load balancer"); frames XDP redirects into a veth need an XDP
	# program on its peer.
	in_ns "$CLI" ethtool -K cli0 tx off >/dev/null
	in_ns "$BK" ethtool -K bk0 tx off >/dev/null
	in_ns "$CLI" ip link set dev cli0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	in_ns "$BK" ip link set dev bk0 xdpdrv obj "$BG_BUILD/bench/xdp_noop.o" sec xdp
	for h in 11 12 13; do
		mkdir -p "$BG_TMP/www$h"
		echo "backend $h" >"$BG_TMP/www$h/index.html"
		ns_spawn "$BK" /usr/bin/python3 -m http.server 8080 \
			--bind "203.0.113.$h" --directory "$BG_TMP/www$h"
		ns_spawn "$BK" /usr/bin/python3 -m http.server 8081 \
			--bind "2001:db8:b::$h" --directory "$BG_TMP/www$h"
	done
	# Six servers starting at once: up to 20 s on a busy machine.
	local i
	for i in $(seq 200); do
		(($(in_ns "$BK" ss -Hltn | grep -c ':808[01] ') == 6)) && break
		sleep 0.1
	done
	(($(in_ns "$BK" ss -Hltn | grep -c ':808[01] ') == 6)) ||
		fail "backends: $(in_ns "$BK" ss -Hltn)"
	RULES=$(ruleset lb <<-'EOF'
		service web 192.0.2.10 port 80 proto tcp {
			backend 203.0.113.11:8080
			backend 203.0.113.12:8080
			backend 203.0.113.13:8080 weight 2
		}
		service web6 2001:db8:f::10 port 80 proto tcp scheduler round-robin {
			backend [2001:db8:b::11]:8081
			backend [2001:db8:b::12]:8081
			backend [2001:db8:b::13]:8081
		}
	EOF
	)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "up.sh dut0: $output"
	run up dut1 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "up.sh dut1: $output"
}

teardown()
{
	down dut1 >/dev/null 2>&1 || true
	down dut0 >/dev/null 2>&1 || true
	netns_del "$CLI"
	netns_del "$BK"
	netns_del "$DUT"
	bpffs_teardown
}

# curl_vip URL N: N requests; prints each answer's body.
curl_vip()
{
	local i
	for i in $(seq "$2"); do
		in_cli curl -sS --max-time 3 -g "$1" || echo "FAILED"
	done
}

@test "curl through the VIP, IPv4 and IPv6: every request answered, spread over the backends; the client sees only the VIP" {
	capture_start cli "$CLI" cli0 tcp
	run curl_vip http://192.0.2.10/ 30
	echo "$output"
	[[ $output != *FAILED* ]] || fail "a request failed"
	[ "$(grep -c '^backend 1[123]$' <<<"$output")" -eq 30 ]
	[ "$(sort -u <<<"$output" | wc -l)" -eq 3 ]
	run curl_vip 'http://[2001:db8:f::10]/' 9
	echo "$output"
	[[ $output != *FAILED* ]] || fail "a request failed"
	# round-robin: three turns each.
	[ "$(sort <<<"$output" | uniq -c | awk '{print $1}' | sort -u)" = 3 ]
	run capture_stop cli
	echo "$output" | tail -5
	local n bad
	n=$(grep -c ' > ' <<<"$output")
	[ "$n" -gt 100 ]
	# Every segment is between the client and a VIP, none from a backend.
	bad=$(grep -v -E '198\.51\.100\.7\.[0-9]+ > 192\.0\.2\.10\.80:|192\.0\.2\.10\.80 > 198\.51\.100\.7\.[0-9]+:|2001:db8:c::7\.[0-9]+ > 2001:db8:f::10\.80:|2001:db8:f::10\.80 > 2001:db8:c::7\.[0-9]+:' <<<"$output" || true)
	[ -z "$bad" ] || fail "segments not with the VIP: $bad"
	[[ $output != *203.0.113.* && $output != *2001:db8:b::* ]]
}

@test "status.sh shows the services and their backends with flows; --json too" {
	run curl_vip http://192.0.2.10/ 12
	[[ $output != *FAILED* ]]
	run status_json
	[ "$status" -eq 0 ]
	echo "$output" | jq .loadbalancer
	jq -e '.loadbalancer.services | length == 2' <<<"$output"
	jq -e '.loadbalancer.services[0] | .name == "web" and .vip == "192.0.2.10"
		and .port == 80 and .proto == "tcp" and .scheduler == "maglev"
		and (.backends | length == 3)' <<<"$output"
	jq -e '[.loadbalancer.services[0].backends[] | .flows] | add == 12' <<<"$output"
	jq -e '.loadbalancer.services[0].backends[2] | .address == "203.0.113.13"
		and .port == 8080 and .weight == 2 and .state == "up"' <<<"$output"
	jq -e '.loadbalancer.services[1].backends[0].address == "2001:db8:b::11"' <<<"$output"
	jq -e '.loadbalancer.counters.new_flow == 12 and .loadbalancer.counters.reply > 0' <<<"$output"
	run in_dut "$BG_REPO/scripts/status.sh"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ $output == *"web 192.0.2.10:80/tcp maglev, ring 1021, no health check"* ]]
	[[ $output == *"203.0.113.13:8080 weight 2 up: "* ]]
	[[ $output == *"web6 [2001:db8:f::10]:80/tcp round-robin"* ]]
}

@test "lb.sh lists each flow with its backend; --json too" {
	run in_cli curl -sS --max-time 3 http://192.0.2.10/
	[ "$status" -eq 0 ] || fail "curl: $output"
	run in_dut "$BG_REPO/scripts/lb.sh" --json
	[ "$status" -eq 0 ] || fail "$output"
	echo "$output"
	jq -e 'length == 1 and .[0].proto == "tcp" and .[0].client == "198.51.100.7"
		and .[0].vip == "192.0.2.10" and .[0].vip_port == 80
		and .[0].service == "web" and .[0].backend_port == 8080
		and (.[0].backend | test("^203\\.0\\.113\\.1[123]$"))
		and .[0].packets >= 5' <<<"$output"
	b=$(jq -r '.[0].backend' <<<"$output")
	run in_dut "$BG_REPO/scripts/lb.sh"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ $output == *"198.51.100.7:"*"192.0.2.10:80"*"web"*"$b:8080"* ]]
	run in_dut "$BG_REPO/scripts/lb.sh" --help
	[ "$status" -eq 0 ] && [[ $output == Usage:* ]]
}

# The server of backend $1 (11, 12 or 13) on port $2, stopped.
stop_backend()
{
	pkill -f -- "http.server $2 --bind [0-9a-f:.]*$1 " ||
		fail "no server $1:$2 to stop"
}

@test "health: the checker up.sh starts takes a stopped backend out; no request fails after it noticed; lb-health.sh --once; down.sh stops it" {
	RULES=$(ruleset lbh <<-'EOF'
		service web 192.0.2.10 port 80 proto tcp {
			backend 203.0.113.11:8080
			backend 203.0.113.12:8080
			backend 203.0.113.13:8080
		}
		set health web http "/index.html" interval 1 timeout 1 fall 2 rise 2
	EOF
	)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"health checker started"* ]] || fail "$output"
	run curl_vip http://192.0.2.10/ 12
	[[ $output != *FAILED* && $output == *"backend 12"* ]] || fail "$output"
	stop_backend 12 8080
	# Two failed probes a second apart; a round of the checker takes
	# seconds on a machine busy with other tests: up to a minute.
	local i state="" end=$((SECONDS + 60))
	while ((SECONDS < end)); do
		state=$(status_json | jq -r '.loadbalancer.services[0].backends[1].state')
		[[ $state == down ]] && break
		sleep 0.2
	done
	[ "$state" = down ] ||
		fail "backend 12 still $state; checker: $(cat "$(lock_path_of "$FW_BPFFS").lbhealth.log")"
	run curl_vip http://192.0.2.10/ 30
	echo "$output"
	[[ $output != *FAILED* ]] || fail "a request failed after the checker noticed"
	[[ $output != *"backend 12"* ]]
	[ "$(sort -u <<<"$output" | wc -l)" -eq 2 ]
	status_json | jq -e '.loadbalancer.services[0].health == {check: "http",
		path: "/index.html", interval: 1, timeout: 1, fall: 2, rise: 2}'
	# Back: up again after two good probes.
	ns_spawn "$BK" /usr/bin/python3 -m http.server 8080 \
		--bind 203.0.113.12 --directory "$BG_TMP/www12"
	end=$((SECONDS + 60))
	while ((SECONDS < end)); do
		state=$(status_json | jq -r '.loadbalancer.services[0].backends[1].state')
		[[ $state == up ]] && break
		sleep 0.2
	done
	[ "$state" = up ] || fail "backend 12 still $state"
	# One round by hand: the stopped backend at once.
	pid=$(cat "$(lock_path_of "$FW_BPFFS").lbhealth.pid")
	kill "$pid"
	stop_backend 13 8080
	run in_dut "$BG_REPO/scripts/lb-health.sh" --once
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == "web: backend 203.0.113.13 port 8080 down" ]] || fail "$output"
	status_json | jq -e '[.loadbalancer.services[0].backends[].state] == ["up", "up", "down"]'
	run up dut0 --rules "$RULES"
	[[ $output == *"health checker started"* ]] || fail "$output"
	pid=$(cat "$(lock_path_of "$FW_BPFFS").lbhealth.pid")
	kill -0 "$pid"
	run down dut1
	kill -0 "$pid"
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"health checker stopped"* ]] || fail "$output"
	# Gone (a zombie where the namespace's init does not reap it).
	for i in $(seq 20); do
		[[ ! -e /proc/$pid ]] || grep -q '^State:.*Z' "/proc/$pid/status" &&
			break
		sleep 0.1
	done
	[[ ! -e /proc/$pid ]] || grep -q '^State:.*Z' "/proc/$pid/status"
	# Its PID file and log went with it.
	! compgen -G "$(lock_path_of "$FW_BPFFS").lbhealth*" ||
		fail "left: $(compgen -G "$(lock_path_of "$FW_BPFFS").lbhealth*")"
}

@test "TLS passthrough to openssl s_server backends and a UDP service, IPv4 and IPv6" {
	local h a
	for h in 11 12 13; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$BG_TMP/k$h.pem" -out "$BG_TMP/c$h.pem" \
			-subj "/CN=backend$h" -days 1 2>/dev/null
		for a in "203.0.113.$h" "[2001:db8:b::$h]"; do
			ns_spawn "$BK" openssl s_server -quiet -www -accept "$a:8443" \
				-cert "$BG_TMP/c$h.pem" -key "$BG_TMP/k$h.pem"
		done
		# The answer's size names the backend.
		start_udp_answer "$BK" "203.0.113.$h" 5353 "1$h"
		start_udp_answer "$BK" "2001:db8:b::$h" 5353 "1$h"
	done
	for i in $(seq 100); do
		(($(in_ns "$BK" ss -Hltn | grep -c ':8443 ') == 6)) && break
		sleep 0.1
	done
	RULES=$(ruleset tls <<-'EOF'
		service tls 192.0.2.10 port 443 proto tcp {
			backend 203.0.113.11:8443
			backend 203.0.113.12:8443
			backend 203.0.113.13:8443
		}
		service tls6 2001:db8:f::10 port 443 proto tcp scheduler round-robin {
			backend [2001:db8:b::11]:8443
			backend [2001:db8:b::12]:8443
			backend [2001:db8:b::13]:8443
		}
		service dns 192.0.2.10 port 53 proto udp scheduler round-robin {
			backend 203.0.113.11:5353
			backend 203.0.113.12:5353
			backend 203.0.113.13:5353
		}
		service dns6 2001:db8:f::10 port 53 proto udp scheduler round-robin {
			backend [2001:db8:b::11]:5353
			backend [2001:db8:b::12]:5353
			backend [2001:db8:b::13]:5353
		}
	EOF
	)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	local url seen
	for url in https://192.0.2.10/ 'https://[2001:db8:f::10]/'; do
		seen=""
		for i in $(seq 9); do
			# No termination: the client sees the backend's own certificate.
			run in_cli curl -ksS -v --max-time 5 -g "$url"
			[ "$status" -eq 0 ] || fail "$url: $output"
			[[ $output == *"<pre>"* ]] || fail "$url: no s_server page"
			[[ $output =~ CN[\ =]+backend(1[123]) ]] || fail "$url: $output"
			seen+=" ${BASH_REMATCH[1]}"
		done
		echo "$url:$seen"
		[ "$(tr ' ' '\n' <<<"$seen" | sort -u | grep -c .)" -ge 2 ]
	done
	for a in 192.0.2.10 2001:db8:f::10; do
		seen=""
		for i in 1 2 3 4 5 6; do
			seen+=" $(udp_ask "$CLI" "$a" 53)"
		done
		echo "udp $a:$seen"
		# round-robin: each backend twice, no answer missing.
		[ "$(tr ' ' '\n' <<<"$seen" | grep . | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" = "111:2 112:2 113:2 " ]
	done
}

@test "a stateful ruleset: the balancer's flows pass the firewall as established (TC conntrack never sees them); forged packets of no flow, or from the wrong side, stay blocked" {
	local before after cport baddr dmac
	RULES=$(ruleset stateful <<-'EOF2'
		set default block
		block state invalid label "invalid"
		pass inet6 proto icmp6 label "neighbour discovery"
		pass proto tcp to 192.0.2.10 port 80 flags S/SA state new label "web"
		pass proto tcp to 2001:db8:f::10 port 80 flags S/SA state new label "web6"
		service web 192.0.2.10 port 80 proto tcp {
			backend 203.0.113.11:8080
			backend 203.0.113.12:8080
		}
		service web6 2001:db8:f::10 port 80 proto tcp {
			backend [2001:db8:b::11]:8081
			backend [2001:db8:b::12]:8081
		}
	EOF2
	)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	# The firewall reads the balancer's tables (slot 0 of its maps of maps).
	for m in bg_fw_lb_flows bg_fw_lb_rnat; do
		[ "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/$m" | jq length)" -eq 1 ] ||
			fail "$m empty"
	done
	run curl_vip http://192.0.2.10/ 8
	[[ $output != *FAILED* ]] || fail "IPv4: $output"
	run curl_vip 'http://[2001:db8:f::10]/' 4
	[[ $output != *FAILED* ]] || fail "IPv6: $output"
	run status_json
	# Only the SYNs met the rules; everything after them, the backends'
	# SYN-ACKs included, passed in phase 0 as the balancer's flows.
	jq -e '.counters.lb_pass >= 36 and .counters.drop == 0' <<<"$output" ||
		fail "$(jq .counters <<<"$output")"
	jq -e '.loadbalancer.counters.new_flow == 12' <<<"$output" ||
		fail "$(jq .loadbalancer.counters <<<"$output")"
	before=$output

	# Forged: ACKs to the VIP of no flow (from a client), and "replies"
	# of no flow from a backend's address on the backends' side.
	in_cli hping3 -q -c 3 -i u20000 -A -p 80 -s 41000 192.0.2.10 >/dev/null 2>&1 || true
	in_ns "$BK" hping3 -q -c 3 -i u20000 -A -a 203.0.113.11 -s 8080 -k \
		-p 45000 198.51.100.7 >/dev/null 2>&1 || true
	# And a "reply" of a live flow (a backend's address and port, the
	# client's) forged on the clients' side: the flow leaves by dut1, so
	# this is none of the balancer's.
	read -r cport baddr < <(in_dut "$BG_REPO/scripts/lb.sh" --json |
		jq -r '[.[] | select(.vip == "192.0.2.10")][0] | "\(.client_port) \(.backend)"')
	dmac=$(ip -n "$DUT" -j link show dut0 | jq -r '.[0].address')
	in_cli "$PY" -c 'import sys
from scapy.all import Ether, IP, TCP, sendp
sendp(Ether(dst=sys.argv[1]) / IP(src=sys.argv[2], dst="198.51.100.7") /
      TCP(sport=8080, dport=int(sys.argv[3]), flags="A", seq=1, ack=1),
      iface="cli0", count=2, verbose=False)' "$dmac" "$baddr" "$cport"
	sleep 0.3
	run status_json
	after=$output
	[ $(($(jq .counters.drop <<<"$after") - $(jq .counters.drop <<<"$before"))) -eq 8 ] ||
		fail "drops: $(jq .counters <<<"$after")"
	[ "$(jq .counters.lb_pass <<<"$after")" -eq "$(jq .counters.lb_pass <<<"$before")" ]
	[ "$(jq .loadbalancer.counters.packets <<<"$after")" -eq \
		"$(jq .loadbalancer.counters.packets <<<"$before")" ]

	# Without the balancer's tables the same ruleset blocks its flows
	# after the SYN: the backends' SYN-ACKs are of no flow conntrack knows.
	bpftool map delete pinned "$FW_BPFFS/tc/globals/bg_fw_lb_flows" key 0 0 0 0
	run in_cli curl -sS --max-time 2 http://192.0.2.10/
	[ "$status" -ne 0 ] || fail "answered without the tables: $output"
	# up.sh again (idempotent) puts them back.
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	run curl_vip http://192.0.2.10/ 2
	[[ $output != *FAILED* ]] || fail "$output"
	# With the last interface down, the firewall's maps of maps are empty
	# (and gone with the pins).
	run down dut1
	[ "$(bpftool -j map dump pinned "$FW_BPFFS/tc/globals/bg_fw_lb_flows" | jq length)" -eq 1 ]
	run down dut0
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$FW_BPFFS/tc/globals/bg_fw_lb_flows" ]
}

# dead_gone_rules NAME [gone]: a stateful ruleset (written to NAME.rules,
# its path printed) with service "dead" (a backend that is not there),
# and service "gone" (backend 12) when asked for.
dead_gone_rules()
{
	{
		cat <<-'EOF'
			set default block
			block state invalid label "invalid"
			pass inet6 proto icmp6 label "neighbour discovery"
			pass proto tcp to 192.0.2.10 port 81 flags S/SA state new label "dead"
			pass proto tcp to 192.0.2.11 port 80 flags S/SA state new label "gone"
			service dead 192.0.2.10 port 81 proto tcp {
				backend 203.0.113.99:8080
			}
		EOF
		if [[ ${2:-} == gone ]]; then
			cat <<-'EOF'
				service gone 192.0.2.11 port 80 proto tcp {
					backend 203.0.113.12:8080
				}
			EOF
		fi
	} | ruleset "$1"
}

@test "a stateful ruleset: a passed SYN whose backend never answered makes nothing established; a removed service's flows are not established after the switch" {
	local before after
	RULES=$(dead_gone_rules stateful gone)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	# A SYN the rules pass to a backend that is not there: the balancer
	# keeps its flow, but ACKs of that flow (forged, the source may be
	# too) are not established without an answer from the backend.
	in_cli hping3 -q -c 1 -S -p 81 -s 42000 -k 192.0.2.10 >/dev/null 2>&1 || true
	sleep 0.3
	in_dut "$BG_REPO/scripts/lb.sh" --json |
		jq -e 'any(.[]; .client_port == 42000 and .vip_port == 81)' >/dev/null ||
		fail "no flow: $(in_dut "$BG_REPO/scripts/lb.sh")"
	before=$(status_json)
	in_cli hping3 -q -c 3 -i u20000 -A -p 81 -s 42000 -k 192.0.2.10 >/dev/null 2>&1 || true
	sleep 0.3
	after=$(status_json)
	[ $(($(jq .counters.drop <<<"$after") - $(jq .counters.drop <<<"$before"))) -eq 3 ] ||
		fail "ACKs before any answer: $(jq -c .counters <<<"$after")"
	[ "$(jq .counters.lb_pass <<<"$after")" -eq "$(jq .counters.lb_pass <<<"$before")" ]

	# A flow of service "gone", answered; then a ruleset without it.
	run in_cli curl -sS --max-time 3 --local-port 43000 http://192.0.2.11/
	[ "$output" = "backend 12" ] || fail "$output"
	RULES=$(dead_gone_rules stateful2)
	run up dut0 --rules "$RULES"
	[ "$status" -eq 0 ] || fail "$output"
	run status_json
	jq -e '[.loadbalancer.services[].name] == ["dead"]' <<<"$output" ||
		fail "$(jq -c .loadbalancer.services <<<"$output")"
	before=$output
	in_cli hping3 -q -c 2 -i u20000 -A -p 80 -s 43000 -k 192.0.2.11 >/dev/null 2>&1 || true
	sleep 0.3
	after=$(status_json)
	[ $(($(jq .counters.drop <<<"$after") - $(jq .counters.drop <<<"$before"))) -eq 2 ] ||
		fail "ACKs of the removed service's flow: $(jq -c .counters <<<"$after")"
	[ "$(jq .counters.lb_pass <<<"$after")" -eq "$(jq .counters.lb_pass <<<"$before")" ]
}
