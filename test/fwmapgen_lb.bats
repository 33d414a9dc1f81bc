#!/usr/bin/env bats
# fwmapgen, the load balancer's statements: "service ... { backend ... }"
# and "set health". Their map entries decoded with the ABI's layouts
# (lib/lbcheck.py); errors with their location; Maglev's ring measured on
# the batch (balance, disruption, weights, down backends); --features;
# --explain against an independent copy of the kernel's hash. Needs
# build/fwmapgen and build/bg-abi (make all).

# Rulesets quote $MACROS literally; bats sets $stderr.
# shellcheck disable=SC2016,SC2154

load lib/fwmapgen

LBCHECK="$BATS_TEST_DIRNAME/lib/lbcheck.py"

lbcheck() {
	/usr/bin/python3 "$LBCHECK" "$@"
}

# lb_enum ENUM NAME: a value of the ABI's enums, from bg-abi
lb_enum() {
	"$BATS_TEST_DIRNAME/../build/bg-abi" | jq -r ".enums.$1.$2"
}

# endpoint I: backend I (from 1) of service_rules: 198.51.100.I:8080 for
# I up to 250, then port 8081 ...
endpoint() {
	echo "198.51.100.$((($1 - 1) % 250 + 1)):$((8080 + ($1 - 1) / 250))"
}

# service_rules NAME N [SKIP] [ATTRS]: a maglev service of backends 1..N
# but SKIP, each with ATTRS ("weight 2" ...)
service_rules() {
	local i
	echo "service $1 192.0.2.10 port 80 proto tcp {"
	for ((i = 1; i <= $2; i++)); do
		[ "$i" = "${3:-0}" ] && continue
		echo "	backend $(endpoint "$i") ${4:-}"
	done
	echo "}"
}

RULES_MAIN='# services of both families, every scheduler
W = "192.0.2.21"
pass from any to any
service web 192.0.2.10 port 80 proto tcp {
	backend 192.0.2.20:8080 weight 3
	backend $W     # the service port
	backend 192.0.2.22 weight 2 down

}
service dns6 2001:db8::53 port 53 proto udp scheduler source-hash {
	backend [2001:db8::1]:5353
	backend 2001:db8::2 weight 2
}
service rr 198.51.100.10 port 443 proto tcp scheduler round-robin {
	backend 203.0.113.1:8443
	backend 203.0.113.2:8443
}
service api6 2001:db8::80 port 80 proto tcp scheduler maglev {
	backend [2001:db8:1::1]:8080
}
set health web http "/healthz?x=1" interval 5 timeout 2 fall 3 rise 2
set health dns6 tcp interval 10 timeout 10 fall 1 rise 100'

@test "maps: services, backends, health, service information, round-robin turns and rings of both families" {
	rules <<<"$RULES_MAIN"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 1 rules (inet 1, inet6 1), default pass, 0 table entries, 4 services (8 backends)"
	emit
	lbcheck dump t.batch >d.json
	local svc='[.id, .vip, .port, .proto, .family, .sched, .nbackends, .first_backend, .ring_off, .ring_size, .pad, .rr, .rr_len]'
	local info='.sinfo | [.name, .line, .check, .interval_s, .timeout_s, .fall, .rise, .path, .pad]'
	local be='[.endpoint, .family, .flags, .weight, .svc, .pad, .health.up, .health.changes, .health.since_ns]'
	local maglev source_hash rr none tcp http
	maglev=$(lb_enum bg_lb_sched BG_LB_SCHED_MAGLEV)
	source_hash=$(lb_enum bg_lb_sched BG_LB_SCHED_SOURCE_HASH)
	rr=$(lb_enum bg_lb_sched BG_LB_SCHED_ROUND_ROBIN)
	none=$(lb_enum bg_lb_check BG_LB_CHECK_NONE)
	tcp=$(lb_enum bg_lb_check BG_LB_CHECK_TCP)
	http=$(lb_enum bg_lb_check BG_LB_CHECK_HTTP)
	assert_eq "$(jq -c ".svc | length" d.json)" 4
	# ids in file order, rings packed from 0 in that order, all 1021
	assert_eq "$(jq -c ".svc.web | $svc" d.json)" "[1,\"192.0.2.10\",80,6,0,$maglev,3,0,0,1021,0,0,8]"
	assert_eq "$(jq -c ".svc.dns6 | $svc" d.json)" "[2,\"2001:db8::53\",53,17,1,$source_hash,2,3,1021,1021,0,0,8]"
	assert_eq "$(jq -c ".svc.rr | $svc" d.json)" "[3,\"198.51.100.10\",443,6,0,$rr,2,5,2042,1021,0,0,8]"
	assert_eq "$(jq -c ".svc.api6 | $svc" d.json)" "[4,\"2001:db8::80\",80,6,1,$maglev,1,7,3063,1021,0,0,8]"
	assert_eq "$(jq -c ".svc.web | $info" d.json)" "[\"web\",4,$http,5,2,3,2,\"/healthz?x=1\",0]"
	assert_eq "$(jq -c ".svc.dns6 | $info" d.json)" "[\"dns6\",10,$tcp,10,10,1,100,\"\",0]"
	assert_eq "$(jq -c ".svc.rr | $info" d.json)" "[\"rr\",14,$none,0,0,0,0,\"\",0]"
	assert_eq "$(jq -c ".svc.api6 | $info" d.json)" "[\"api6\",18,$none,0,0,0,0,\"\",0]"
	# backends numbered across the ruleset; the service's port when none
	assert_eq "$(jq -c ".backend | length" d.json)" 8
	assert_eq "$(jq -c ".backend[\"0\"] | $be" d.json)" '["192.0.2.20:8080",0,0,3,1,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"1\"] | $be" d.json)" '["192.0.2.21:80",0,0,1,1,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"2\"] | $be" d.json)" "[\"192.0.2.22:80\",0,$(abi_const BG_LB_BF_DOWN),2,1,0,0,0,0]"
	assert_eq "$(jq -c ".backend[\"3\"] | $be" d.json)" '["[2001:db8::1]:5353",1,0,1,2,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"4\"] | $be" d.json)" '["[2001:db8::2]:53",1,0,2,2,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"5\"] | $be" d.json)" '["203.0.113.1:8443",0,0,1,3,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"6\"] | $be" d.json)" '["203.0.113.2:8443",0,0,1,3,0,1,0,0]'
	assert_eq "$(jq -c ".backend[\"7\"] | $be" d.json)" '["[2001:db8:1::1]:8080",1,0,1,4,0,1,0,0]'
	# one ring line a position, each a backend of its service not down
	assert_eq "$(jq .ring_lines d.json)" 4084
	assert_eq "$(grep -c '/bg_lb_ring ' t.batch)" 4084
	assert_eq "$(lbcheck rings t.batch)" "ok 4 4084"
	assert_eq "$(lbcheck shares t.batch web | cut -d' ' -f1,2 | tail -1)" "192.0.2.22:80 0"
	# the bytes themselves: port and key in network order, proto, family
	grep -Fx "map update pinned /p/bg_lb_vip key hex 00 00 00 00 c0 00 02 0a 00 00 00 00 00 00 00 00 00 00 00 00 00 50 06 00 value hex 01 00 00 00 00 00 00 00 fd 03 00 00 00 00 03 00 00 00 00 00 00 00 00 00" t.batch
	grep -Fx "map update pinned /p/bg_lb_vip key hex 00 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 53 00 35 11 01 value hex 02 00 00 00 fd 03 00 00 fd 03 00 00 02 00 02 00 03 00 00 00 00 00 00 00" t.batch
	grep -Fx "map update pinned /p/bg_lb_rr key hex 03 00 00 00 value hex 00 00 00 00 00 00 00 00" t.batch
}

@test "maps: generation 1 keys its entries past generation 0's" {
	rules <<<"$RULES_MAIN"
	emit --gen 1
	local per_be per_ring slots
	per_be=$(abi_const BG_LB_MAX_BACKENDS)
	per_ring=$(abi_const BG_LB_RING_PER_GEN)
	slots=$(abi_const BG_LB_SVC_SLOTS)
	grep -Fq "/p/bg_lb_backend key hex $(le32 "$per_be") value hex c0 00 02 14 " t.batch
	grep -Fq "/p/bg_lb_health key hex $(le32 $((per_be + 7))) value hex 01 00 00 00 " t.batch
	grep -Fq "/p/bg_lb_ring key hex $(le32 $((per_ring + 4083))) value hex 07 00 00 00" t.batch
	grep -Fq "/p/bg_lb_sinfo key hex $(le32 $((slots + 4))) value hex 61 70 69 36 00 " t.batch
	grep -Fq "/p/bg_lb_rr key hex $(le32 $((slots + 1))) value hex " t.batch
	grep -Fq "/p/bg_lb_vip key hex 01 00 00 00 c0 00 02 0a " t.batch
	run grep -c "/bg_lb_[a-z]* key hex 00 00 00 00 " t.batch
	assert_eq "$output" 0
}

@test "error: the service line" {
	rules <<<$'service web 192.0.2.10 port 80 proto tcp scheduler wrr {\n\tbackend 192.0.2.1\n}'
	expect_error 1:52 'unknown scheduler "wrr" (expected maglev, round-robin or source-hash)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp\n\tbackend 192.0.2.1\n}'
	expect_error 1:41 "syntax error: unexpected end of line, expected '{' (then one backend per line)"
	rules <<<'service web 192.0.2.10 port 80 proto tcp { }'
	expect_error 1:44 'a service needs at least one backend'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\t# none yet\n\n}'
	expect_error 4:1 'a service needs at least one backend'
	rules <<<$'service web 192.0.2.10 port 0 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:29 'port 0 is out of range (1..65535)'
	rules <<<$'service web 192.0.2.10 port 65536 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:29 'port 65536 is out of range (1..65535)'
	rules <<<$'service web 192.0.2.10 port 80 proto icmp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:38 'syntax error: unexpected "icmp", expected tcp or udp after "proto"'
	rules <<<$'service web 192.0.2.0/24 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:13 'bad VIP "192.0.2.0/24" (an IPv4 or IPv6 address, no prefix length)'
	rules <<<$'service w/b 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:9 "bad service name \"w/b\" (letters, digits, '_', '.' and '-')"
	rules <<<$'service a2345678901234567890123456789012 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 1:9 'service name "a2345678901234567890123456789012" is longer than 31 characters'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}\nservice web 192.0.2.11 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 4:9 'duplicate service web (first defined on line 1)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}\nservice web2 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 4:14 'duplicate VIP 192.0.2.10 port 80 proto tcp (service web on line 1)'
	# the same VIP on another port or protocol is another service
	rules <<<$'service a 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}\nservice b 192.0.2.10 port 80 proto udp {\n\tbackend 192.0.2.1\n}\nservice c 192.0.2.10 port 81 proto tcp {\n\tbackend 192.0.2.1\n}'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "error: the backends" {
	rules <<<$'pass from any\nservice web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1'
	expect_error 2:42 "syntax error: unterminated '{' of service web (missing '}')"
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\nservice api 192.0.2.11 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	expect_error 3:1 "syntax error: unexpected \"service\", expected backend or '}'"
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n\tbackend 2001:db8::1\n}'
	expect_error 3:10 'backend 2001:db8::1 is IPv6, the VIP of service web is IPv4'
	rules <<<$'service web 2001:db8::10 port 80 proto tcp {\n\tbackend 192.0.2.1:80\n}'
	expect_error 2:10 'backend 192.0.2.1:80 is IPv4, the VIP of service web is IPv6'
	# the service's port is the port of a backend given without one
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n\tbackend 192.0.2.2\n\tbackend 192.0.2.1:80\n}'
	expect_error 4:10 'duplicate backend 192.0.2.1:80 in service web (line 2)'
	rules <<<$'service web 2001:db8::10 port 80 proto tcp {\n\tbackend [2001:db8::1]:8080\n\tbackend [2001:db8:0::1]:8080\n}'
	expect_error 3:10 'duplicate backend [2001:db8::1]:8080 in service web (line 2)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1 weight 0\n}'
	expect_error 2:27 'weight 0 is out of range (1..65535)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1 weight 65536\n}'
	expect_error 2:27 'weight 65536 is out of range (1..65535)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1 weight 2 down weight 3\n}'
	expect_error 2:34 'duplicate "weight"'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1:0\n}'
	expect_error 2:10 'backend port 0 is out of range (1..65535)'
	rules <<<$'service web 2001:db8::10 port 80 proto tcp {\n\tbackend [2001:db8::1]:65536\n}'
	expect_error 2:10 'backend port 65536 is out of range (1..65535)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend [192.0.2.1]:80\n}'
	expect_error 2:10 'bad backend "[192.0.2.1]:80" (expected ADDR, IPv4:PORT or [IPv6]:PORT)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.0/24\n}'
	expect_error 2:10 'bad backend "192.0.2.0/24" (expected ADDR, IPv4:PORT or [IPv6]:PORT)'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1 slow\n}'
	expect_error 2:20 'syntax error: unexpected "slow" (syntax: backend ADDR[:PORT] [weight W] [down])'
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1 }'
	expect_error 2:20 "syntax error: unexpected '}' (syntax: backend ADDR[:PORT] [weight W] [down])"
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n} pass'
	expect_error 3:3 'syntax error: unexpected "pass" (syntax: } alone on its line)'
	# outside a service, a backend line is no statement
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}\n\tbackend 192.0.2.2'
	expect_error 4:2 'syntax error: unexpected "backend", expected a rule (pass|block ...), table, set default, ratelimit, service, scrub or NAME = "VALUE"'
	# macros expand inside the block; an error in one points at its '$'
	rules <<<$'B = "192.0.2.1:99999"\nservice web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.2\n\tbackend $B weight 2\n}'
	expect_error 4:10 'backend port 99999 is out of range (1..65535)'
}

@test "error: limits of services, backends and rings, at the statement beyond them" {
	local i
	# 655 backends fill the biggest ring; one more is refused
	service_rules big 656 >t.rules
	expect_error 657:2 'service big has more than 655 backends'
	service_rules big 655 >t.rules
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	emit
	assert_eq "$(lbcheck rings t.batch)" "ok 1 65537"
	# 256 services
	for ((i = 1; i <= 257; i++)); do
		echo "service s$i 192.0.2.10 port $i proto tcp {"
		echo "	backend 198.51.100.1"
		echo "}"
	done >t.rules
	expect_error 769:1 'more than 256 services'
	head -n 768 t.rules >u.rules && mv u.rules t.rules
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	# rings of 65537 (328 backends and more): the 8th overflows the slice
	for ((i = 1; i <= 8; i++)); do
		service_rules "s$i" 328 | sed "1s/port 80/port $i/"
	done >t.rules
	expect_error $((7 * 330 + 1)):9 'the rings of the services up to s8 take 524296 slots, more than 524288'
	# 4096 backends in a ruleset
	for ((i = 1; i <= 7; i++)); do
		service_rules "s$i" 600 | sed "1s/port 80/port $i/"
	done >t.rules
	expect_error $((6 * 602 + 497 + 1)):2 'more than 4096 backends in the ruleset'
}

@test "error: set health" {
	local svc=$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	rules <<<"set health nope tcp interval 5 timeout 2 fall 3 rise 2"$'\n'"$svc"
	expect_error 1:12 'unknown service nope'
	rules <<<"$svc"$'\n''set health web tcp interval 5 timeout 2 fall 3 rise 2'$'\n''set health web http "/" interval 5 timeout 2 fall 3 rise 2'
	expect_error 5:12 'health check of service web already set on line 4'
	rules <<<"$svc"$'\n''set health web tcp interval 5 timeout 6 fall 3 rise 2'
	expect_error 4:39 'timeout 6 is longer than the interval 5'
	rules <<<"$svc"$'\n''set health web tcp timeout 6 rise 2 fall 3 interval 5'
	expect_error 4:28 'timeout 6 is longer than the interval 5'
	rules <<<"$svc"$'\n''set health web http "healthz" interval 5 timeout 2 fall 3 rise 2'
	expect_error 4:21 "bad health check path \"healthz\" (it starts with '/')"
	rules <<<"$svc"$'\n''set health web http "/a b" interval 5 timeout 2 fall 3 rise 2'
	expect_error 4:21 'bad health check path "/a b" (printable, no blanks: write %20)'
	rules <<<"$svc"$'\n'"set health web http \"/$(printf 'a%.0s' {1..127})\" interval 5 timeout 2 fall 3 rise 2"
	expect_error 4:21 'health check path is longer than 127 bytes'
	rules <<<"$svc"$'\n''set health web http interval 5 timeout 2 fall 3 rise 2'
	expect_error 4:21 'syntax error: unexpected "interval", expected a quoted path after "http"'
	rules <<<"$svc"$'\n''set health web icmp interval 5 timeout 2 fall 3 rise 2'
	expect_error 4:16 'syntax error: unexpected "icmp", expected tcp or http'
	rules <<<"$svc"$'\n''set health web tcp interval 3601 timeout 2 fall 3 rise 2'
	expect_error 4:29 'interval 3601 is out of range (1..3600)'
	rules <<<"$svc"$'\n''set health web tcp interval 5 timeout 2 fall 0 rise 2'
	expect_error 4:46 'fall 0 is out of range (1..100)'
	rules <<<"$svc"$'\n''set health web tcp interval 5 timeout 2 fall 3 rise 101'
	expect_error 4:53 'rise 101 is out of range (1..100)'
	rules <<<"$svc"$'\n''set health web tcp interval 5 timeout 2 fall 3'
	expect_error 4:47 'set health: missing rise (syntax: set health NAME tcp|http "PATH" interval SECONDS timeout SECONDS fall N rise N)'
	rules <<<"$svc"$'\n''set health web tcp interval 5 interval 5'
	expect_error 4:31 'duplicate "interval"'
	# before or after its service; a path of 127 bytes fits
	rules <<<"set health web http \"/$(printf 'a%.0s' {1..126})\" interval 1 timeout 1 fall 100 rise 1"$'\n'"$svc"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "maglev: N equal backends share the ring within 10%" {
	local ep n
	service_rules s 10 >t.rules
	emit
	while read -r ep n; do
		# M / N = 102.1, +-10%
		if ((n < 92 || n > 112)); then
			fail "$ep: $n of 1021 positions"
		fi
	done < <(lbcheck shares t.batch s)
	assert_eq "$(lbcheck shares t.batch s | wc -l)" 10
	assert_eq "$(lbcheck rings t.batch)" "ok 1 1021"
}

@test "maglev: removing one of N backends moves at most 5% of the other backends' positions" {
	local n r m moved
	for n in 5 10; do
		service_rules s "$n" >t.rules
		"$FWMAPGEN" t.rules >full.batch
		for ((r = 1; r <= n; r++)); do
			service_rules s "$n" "$r" >t.rules
			"$FWMAPGEN" t.rules >less.batch
			read -r m moved < <(lbcheck moved full.batch less.batch s "$(endpoint "$r")")
			assert_eq "$m" 1021
			if ((moved * 100 > m * 5)); then
				fail "N=$n, without backend $r: $moved of $m positions moved"
			fi
		done
	done
}

@test "maglev: weights 1, 2, 3 take 1/6, 2/6, 3/6 of the ring within 10%" {
	printf 'service s 192.0.2.10 port 80 proto tcp {\n\tbackend 198.51.100.1 weight 1\n\tbackend 198.51.100.2 weight 2\n\tbackend 198.51.100.3 weight 3\n}\n' >t.rules
	emit
	local ep n w=1
	while read -r ep n; do
		# n / 1021 within 10% of w / 6
		if ((n * 6 * 10 < w * 1021 * 9 || n * 6 * 10 > w * 1021 * 11)); then
			fail "$ep of weight $w: $n of 1021 positions"
		fi
		w=$((w + 1))
	done < <(lbcheck shares t.batch s)
	assert_eq "$w" 4
}

@test "maglev: a backend marked down is out of the ring, of the same size; all down leaves none" {
	service_rules s 4 >t.rules
	sed -i '3s/$/ down/' t.rules
	emit
	assert_eq "$(lbcheck shares t.batch s | sed -n 2p)" "198.51.100.2:8080 0"
	assert_eq "$(lbcheck shares t.batch s | awk '$2 > 0' | wc -l)" 3
	assert_eq "$(lbcheck rings t.batch)" "ok 1 1021"
	service_rules s 4 "" down >t.rules
	emit
	assert_eq "$(lbcheck dump t.batch | jq -c '.svc.s | [.ring_size, .nbackends, .first_backend]')" '[0,4,0]'
	assert_eq "$(lbcheck rings t.batch)" "ok 1 0"
	run grep -c /bg_lb_ring t.batch
	assert_eq "$output" 0
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 198.51.100.7:40000 -> 192.0.2.10:80'
	assert_eq "${lines[-1]}" "loadbalancer: service s has no backend up (dropped)"
}

@test "features: loadbalancer with a service, lbhealth with a health check" {
	rules <<<$'service web 192.0.2.10 port 80 proto tcp {\n\tbackend 192.0.2.1\n}'
	assert_eq "$("$FWMAPGEN" --features t.rules)" loadbalancer
	rules <<<"$RULES_MAIN"
	assert_eq "$("$FWMAPGEN" --features t.rules)" $'loadbalancer\nlbhealth'
	rules <<<"$RULES_MAIN"$'\nratelimit rate 1/second'
	assert_eq "$("$FWMAPGEN" --features t.rules)" $'ratelimit\nloadbalancer\nlbhealth'
	rules <<<'pass from 192.0.2.0/24'
	run --separate-stderr "$FWMAPGEN" --features t.rules
	assert_eq "$status" 0
	assert_eq "$output" ""
}

@test "emit: a ruleset without services writes the batch it wrote before; a service adds only its own lines" {
	cp "$FIXTURES/golden.rules" "$FIXTURES/golden.batch" .
	run --separate-stderr "$FWMAPGEN" --pin-dir /sys/fs/bpf/tc/globals golden.rules
	assert_eq "$status" 0
	assert_eq "$output" "$(cat golden.batch)"
	run --separate-stderr "$FWMAPGEN" --digest golden.rules
	assert_eq "digest=$output" "$(head -1 golden.batch | grep -o 'digest=[0-9a-f]*')"
	run grep -c bg_lb_ golden.batch
	assert_eq "$output" 0
	# the firewall's lines are the same with services beside them (but
	# bg_fw_gens, which names the file and holds the digest)
	{
		cat golden.rules
		grep -v '^pass' <<<"$RULES_MAIN"
	} >t.rules
	"$FWMAPGEN" --pin-dir /sys/fs/bpf/tc/globals t.rules >t.batch
	assert_eq "$(grep -c /bg_lb_ t.batch)" $((4084 + 8 * 2 + 4 * 3))
	assert_eq "$(sed 1d t.batch | grep -v -e /bg_lb_ -e /bg_fw_gens)" \
		"$(sed 1d golden.batch | grep -v /bg_fw_gens)"
	[ "$("$FWMAPGEN" --digest t.rules)" != "$("$FWMAPGEN" --digest golden.rules)" ]
}

@test "explain: the backend of a new flow is the ring's at the kernel's hash; nothing off the VIP" {
	rules <<<"$RULES_MAIN"
	emit
	local pk want got i p c sp v dp
	for ((i = 0; i < 24; i++)); do
		for pk in "tcp 198.51.100.$((i * 7 + 1)) $((40000 + i * 977)) 192.0.2.10 80" \
			"udp 2001:db8:f::$((i * 13 + 1)) $((1024 + i * 31)) 2001:db8::53 53" \
			"tcp 2001:db8:e::$((i + 1)) $((50000 + i)) 2001:db8::80 80"; do
			read -r p c sp v dp <<<"$pk"
			want=$(lbcheck pick t.batch "$p" "$c" "$sp" "$v" "$dp")
			[[ $want == service* ]] || fail "no pick for $pk: $want"
			if [[ $v == *:* ]]; then
				got=$("$FWMAPGEN" --explain t.rules "$p [$c]:$sp -> [$v]:$dp" | grep '^loadbalancer:')
			else
				got=$("$FWMAPGEN" --explain t.rules "$p $c:$sp -> $v:$dp" | grep '^loadbalancer:')
			fi
			assert_eq "$got" "loadbalancer: $want"
		done
	done
	# the backends picked are spread over the service (not one constant)
	for ((i = 0; i < 24; i++)); do
		"$FWMAPGEN" --explain t.rules "tcp 198.51.100.$((i + 1)):4000 -> 192.0.2.10:80" | grep '^loadbalancer:'
	done | sort -u >picked
	assert_eq "$(wc -l <picked)" 2
	grep -Fxq 'loadbalancer: service web backend 192.0.2.20:8080 (index 0)' picked
	# source-hash: the client's address alone decides
	assert_eq "$("$FWMAPGEN" --explain t.rules 'udp [2001:db8:f::1]:1 -> [2001:db8::53]:53' | grep '^loadbalancer:')" \
		"$("$FWMAPGEN" --explain t.rules 'udp [2001:db8:f::1]:65000 -> [2001:db8::53]:53' | grep '^loadbalancer:')"
	run --separate-stderr "$FWMAPGEN" --explain t.rules 'tcp 198.51.100.7:40000 -> 198.51.100.10:443'
	assert_eq "${lines[-1]}" "loadbalancer: service rr round-robin (backend depends on the turn)"
	# the VIP on another port, with another protocol, or another address
	for pk in 'tcp 198.51.100.7:40000 -> 192.0.2.10:81' \
		'udp 198.51.100.7:40000 -> 192.0.2.10:80' \
		'tcp 198.51.100.7:40000 -> 192.0.2.11:80' \
		'icmp 198.51.100.7 -> 192.0.2.10'; do
		run --separate-stderr "$FWMAPGEN" --explain t.rules "$pk"
		assert_eq "$status" 0
		assert_eq "$output" $'verdict: pass\nrule: 1 (t.rules:3)\ntext: pass from any to any'
	done
}
