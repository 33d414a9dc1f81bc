#!/usr/bin/env bats
# fwmapgen runs as root: what it writes must not replace device nodes,
# FIFOs or symbolic links, what it reads must be a bounded regular text
# file, and its errors must not echo more than a short excerpt of input.
# Needs build/fwmapgen and root (mknod, a private mount namespace).

# Rulesets quote $MACROS literally; bats sets $stderr.
# shellcheck disable=SC2016,SC2154

# setup, rules, assert_eq: the helpers every fwmapgen test file shares.
load lib/fwmapgen

# ---------------------------------------------------------------- -o OUT

@test "-o /dev/null writes into the device and leaves it a character device" {
	rules <<<'pass from 192.0.2.0/24'
	# A private /dev: were /dev/null replaced, only this copy would be.
	run --separate-stderr unshare -m --propagation private bash -c '
		mount -t tmpfs bg-dev /dev && mknod -m 666 /dev/null c 1 3 &&
		"$1" --pin-dir /p -o /dev/null t.rules &&
		stat -c %F /dev/null && ls /dev' bg-test "$FWMAPGEN"
	assert_eq "$status" 0
	assert_eq "$stderr" ""
	# still the device, and no temporary file was left beside it
	assert_eq "$output" "character special file
null"
	# the same with a device node of our own
	mknod -m 666 null c 1 3
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o null t.rules
	assert_eq "$status" 0
	assert_eq "$(stat -c %F null)" "character special file"
	[ -z "$(ls null.tmp.* 2>/dev/null)" ]
}

@test "-o FIFO writes into the FIFO" {
	rules <<<'pass from 192.0.2.0/24'
	"$FWMAPGEN" --pin-dir /p t.rules >want
	mkfifo out.fifo
	timeout 10 cat out.fifo >got &
	run --separate-stderr timeout 10 "$FWMAPGEN" --pin-dir /p -o out.fifo t.rules
	wait
	assert_eq "$status" 0
	assert_eq "$stderr" ""
	[ -p out.fifo ]
	cmp want got
	[ -z "$(ls out.fifo.tmp.* 2>/dev/null)" ]
}

@test "-o refuses a symbolic link and leaves its target alone" {
	rules <<<'pass from 192.0.2.0/24'
	echo keep >target
	ln -s target link
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o link t.rules
	assert_eq "$status" 1
	assert_eq "$output" ""
	assert_eq "$stderr" "fwmapgen: -o link: is a symbolic link (-o follows none: name the file itself)"
	[ -L link ]
	assert_eq "$(cat target)" keep
	# a dangling link: its target is not created either
	ln -s absent dangling
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o dangling t.rules
	assert_eq "$status" 1
	[ -L dangling ]
	[ ! -e absent ]
	[ -z "$(ls ./*.tmp.* 2>/dev/null)" ]
}

@test "-o refuses a directory, a block device and a socket" {
	rules <<<'pass from 192.0.2.0/24'
	mkdir dir
	mknod blk b 7 200
	/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
	local t kind
	for t in dir:directory 'blk:block device' sock:socket; do
		kind=${t#*:}
		t=${t%%:*}
		run --separate-stderr "$FWMAPGEN" --pin-dir /p -o "$t" t.rules
		assert_eq "$status" 1
		assert_eq "$stderr" "fwmapgen: -o $t: is a $kind (-o writes a regular file, a character device or a FIFO)"
	done
	[ -d dir ]
	[ -b blk ]
	[ -S sock ]
	[ -z "$(ls ./*.tmp.* 2>/dev/null)" ]
}

@test "-o replaces a regular file atomically and keeps its mode" {
	rules <<<'pass from 192.0.2.0/24'
	"$FWMAPGEN" --pin-dir /p t.rules >want
	echo old >out.batch
	chmod 600 out.batch
	ln out.batch old-link
	local ino
	ino=$(stat -c %i out.batch)
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch t.rules
	assert_eq "$status" 0
	cmp want out.batch
	assert_eq "$(stat -c %a out.batch)" 600
	# a new file was renamed over it: the old inode is untouched
	[ "$(stat -c %i out.batch)" != "$ino" ]
	assert_eq "$(cat old-link)" old
	[ -z "$(ls out.batch.tmp.* 2>/dev/null)" ]
	# a new file gets 0666 less the umask, as before
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o new.batch t.rules
	assert_eq "$status" 0
	assert_eq "$(stat -c %a new.batch)" "$(printf '%o' $((0666 & ~$(umask))))"
}

# ---------------------------------------------------------------- reading

@test "a table file that is a FIFO or a device is refused, without hanging" {
	mkfifo t.fifo
	rules <<<'table <t> file "t.fifo"'
	run --separate-stderr timeout 5 "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 't.rules:1:16: table file "t.fifo" is not a regular file'
	rules <<<'table <t> file "/dev/zero"'
	run --separate-stderr bash -c 'ulimit -v 131072; timeout 5 "$1" --check t.rules' \
		bg-test "$FWMAPGEN"
	assert_eq "$status" 1
	assert_eq "$stderr" 't.rules:1:16: table file "/dev/zero" is not a regular file'
	# a directory keeps its own message
	mkdir d.txt
	rules <<<'table <t> file "d.txt"'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" 't.rules:1:16: cannot read table file "d.txt": Is a directory'
}

@test "a ruleset that is a FIFO or a device is refused, without hanging" {
	mkfifo r.fifo
	run --separate-stderr timeout 5 "$FWMAPGEN" --check r.fifo
	assert_eq "$status" 1
	assert_eq "$stderr" "r.fifo: ruleset is not a regular file"
	run --separate-stderr bash -c 'ulimit -v 131072; timeout 5 "$1" --digest /dev/zero' \
		bg-test "$FWMAPGEN"
	assert_eq "$status" 1
	assert_eq "$stderr" "/dev/zero: ruleset is not a regular file"
}

@test "table files up to 64 MiB, rulesets up to 16 MiB" {
	# exactly 64 MiB of comments: accepted
	{
		head -c $((64 * 1024 * 1024 - 1)) /dev/zero | tr '\0' '#'
		echo
	} >max.txt
	rules <<<'table <t> file "max.txt"'
	run --separate-stderr timeout 20 "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	echo >>max.txt
	run --separate-stderr timeout 20 "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" 't.rules:1:16: table file "max.txt" is larger than 64 MiB'
	truncate -s 1G huge.txt
	rules <<<'table <t> file "huge.txt"'
	run --separate-stderr bash -c 'ulimit -v 131072; timeout 5 "$1" --check t.rules' \
		bg-test "$FWMAPGEN"
	assert_eq "$status" 1
	assert_eq "$stderr" 't.rules:1:16: table file "huge.txt" is larger than 64 MiB'
	truncate -s $((16 * 1024 * 1024 + 1)) big.rules
	run --separate-stderr timeout 5 "$FWMAPGEN" --check big.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "big.rules: ruleset is larger than 16 MiB"
}

@test "errors echo at most 32 bytes of input, escaped" {
	local secret='root:$y$j9T$SALTsaltSALTsalt$HASHhashHASHhashHASHhash:19000:0:99999:7:::'
	printf '%s\n' "$secret" >shadow.txt
	rules <<<'table <t> file "shadow.txt"'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "shadow.txt:1:1: bad address \"${secret:0:32}...\""
	[[ $stderr != *"${secret:32:8}"* ]]
	# the same for words of the ruleset
	rules <<<"pass from ${secret//\$/x}"
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.rules:1:11: bad address \"root:xyxj9TxSALTsaltSALTsaltxHAS...\""
	printf '192.0.2.1 %s\n' "$secret" >shadow.txt
	rules <<<'table <t> file "shadow.txt"'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "shadow.txt:1:11: unexpected \"${secret:0:32}...\" after the address (one address per line)"
	rules <<<'pass from any label "x" extra-words-that-go-on-and-on-and-on-and-on'
	run --separate-stderr "$FWMAPGEN" --check t.rules
	[[ $stderr == *'unexpected "extra-words-that-go-on-and-on-an..." (syntax: '* ]]
	# a packet line with control bytes: escaped, never sent raw to a terminal
	rules <<<'pass'
	run --separate-stderr "$FWMAPGEN" --eval t.rules < <(printf '\033[2J\\" -> 192.0.2.1\n')
	assert_eq "$status" 1
	assert_eq "$stderr" '<stdin>:1: bad packet: bad address "\x1b[2J\x5c\x22" (no prefix length here)'
}

# ---------------------------------------------------------------- macros

@test "macro expansion is capped: a nested-macro bomb fails fast and small" {
	local m
	{
		echo 'A = "aaaaaaaaaa"'
		for m in B:A C:B D:C E:D F:E G:F H:G; do
			printf '%s = "%s"\n' "${m%:*}" "$(printf "\$${m#*:}%.0s" {1..10})"
		done
		echo 'pass from $H'
	} >bomb.rules
	run --separate-stderr bash -c 'ulimit -v 131072; timeout 5 "$1" --check bomb.rules' \
		bg-test "$FWMAPGEN"
	assert_eq "$status" 1
	assert_eq "$stderr" "bomb.rules:7:8: macro expansion makes the line longer than 1 MiB"
	# under the line cap, but too much in all
	{
		head -n 6 bomb.rules
		for m in {10..30}; do
			printf 'G%s = "$F"\n' "$m"
		done
	} >wide.rules
	run --separate-stderr bash -c 'ulimit -v 131072; timeout 5 "$1" --check wide.rules' \
		bg-test "$FWMAPGEN"
	assert_eq "$status" 1
	assert_eq "$stderr" "wide.rules:22:8: macro expansion exceeds 16 MiB in all"
	# a big list in a macro, used by a few rules, is fine
	{
		printf 'L = "{'
		for m in {0..9999}; do
			printf ' 10.%d.%d.0/24,' $((m / 256)) $((m % 256))
		done
		echo ' }"'
		for m in {1..8}; do
			echo "pass proto $m from \$L"
		done
	} >list.rules
	run --separate-stderr timeout 20 "$FWMAPGEN" --check list.rules
	assert_eq "$status" 0
}

# ---------------------------------------------------------------- bytes

@test "labels and quoted strings take printable ASCII only" {
	rules < <(printf 'pass label "ab\001c"\n')
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "t.rules:1:15: byte 0x01 in a quoted string is not printable ASCII (0x20 to 0x7e)"
	rules < <(printf 'pass from any label "caf\303\251"\n')
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "t.rules:1:25: byte 0xc3 in a quoted string is not printable ASCII (0x20 to 0x7e)"
	rules < <(printf 'X = "192.0.2.1\t"\n')
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.rules:1:15: byte 0x09 in a quoted string is not printable ASCII (0x20 to 0x7e)"
	# outside quotes such bytes were already errors
	rules < <(printf 'pass from any \001\n')
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.rules:1:15: unexpected byte 0x01"
	# comments may hold any text but NUL
	rules < <(printf '# caf\303\251 \001\npass label "cafe" # caf\303\251\n')
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
}

@test "a NUL byte anywhere in the ruleset is an error" {
	local r
	for r in 'pass\0 from any|1:5' 'pass label "a\0b"|1:14' \
		'pass\n# a comment \0 here\n|2:13' 'pass \\\n\0|2:1'; do
		# printf's escapes make the bytes
		# shellcheck disable=SC2059
		rules < <(printf "${r%|*}")
		run --separate-stderr "$FWMAPGEN" --check t.rules
		assert_eq "$status" 1
		assert_eq "$stderr" "t.rules:${r#*|}: NUL byte in a ruleset"
	done
}

@test "table lines take printable ASCII, blanks and comments; no NUL" {
	rules <<<'table <t> file "t.txt"'
	printf '192.0.2.1\0garbage\n' >t.txt
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "t.txt:1:10: NUL byte in a table file"
	printf '192.0.2.1\n# a comment \0\n' >t.txt
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.txt:2:13: NUL byte in a table file"
	printf '192.0.2.1\n198.51.100.1\033\n' >t.txt
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.txt:2:13: byte 0x1b is not printable ASCII (0x20 to 0x7e)"
	printf '192.0.2.1\n\302\240198.51.100.1\n' >t.txt
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$stderr" "t.txt:2:1: byte 0xc2 is not printable ASCII (0x20 to 0x7e)"
	# tabs, CRLF line ends and any text in comments are fine
	printf '192.0.2.1\r\n\t198.51.100.0/24\t# caf\303\251\r\n' >t.txt
	run --separate-stderr "$FWMAPGEN" --check t.rules
	assert_eq "$status" 0
	assert_eq "$output" "t.rules: 0 rules (inet 0, inet6 0), default pass, 2 table entries"
}

# ---------------------------------------------------------------- paths

@test "a symlinked ruleset reads the tables beside the real file, in every mode" {
	mkdir -p real/lists other/lists
	rules real/t.rules <<'EOF'
table <t> file "lists/t.txt"
pass from <t> label "t"
EOF
	printf '192.0.2.0/24\n198.51.100.0/24\n' >real/lists/t.txt
	# a decoy beside the link: broken, so reading it would fail
	printf 'not-an-address\n' >other/lists/t.txt
	ln -s ../real/t.rules other/t.rules
	run --separate-stderr "$FWMAPGEN" --check other/t.rules
	assert_eq "$status" 0
	assert_eq "$output" "other/t.rules: 1 rules (inet 1, inet6 0), default pass, 2 table entries"
	run --separate-stderr "$FWMAPGEN" --digest other/t.rules
	assert_eq "$status" 0
	local digest=$output
	run --separate-stderr "$FWMAPGEN" --explain other/t.rules '198.51.100.7 -> 203.0.113.1'
	assert_eq "$status" 0
	assert_eq "${lines[1]}" "rule: 1 (other/t.rules:2)"
	run --separate-stderr "$FWMAPGEN" --eval other/t.rules <<<'198.51.100.7 -> 203.0.113.1'
	assert_eq "$output" "pass 1"
	run --separate-stderr "$FWMAPGEN" --pin-dir /p -o out.batch other/t.rules
	assert_eq "$status" 0
	# the same entries as from the real path (the source path differs)
	"$FWMAPGEN" --pin-dir /p real/t.rules >want
	diff <(grep -v -e '^#' -e bg_fw_gens want) \
		<(grep -v -e '^#' -e bg_fw_gens out.batch)
	# the decoy is good now, but differs: still not read
	printf '203.0.113.0/24\n' >other/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --eval other/t.rules <<<'203.0.113.7 -> 192.0.2.1'
	assert_eq "$output" "pass 0"
	assert_eq "$("$FWMAPGEN" --digest other/t.rules)" "$digest"
	# an error in the real table names the file that was read
	printf 'bad\n' >real/lists/t.txt
	run --separate-stderr "$FWMAPGEN" --check other/t.rules
	assert_eq "$status" 1
	assert_eq "$stderr" "$(realpath real)/lists/t.txt:1:1: bad address \"bad\""
	# through a symlinked directory the path as given still names it
	ln -s real linkdir
	run --separate-stderr "$FWMAPGEN" --check linkdir/t.rules
	assert_eq "$stderr" 'linkdir/lists/t.txt:1:1: bad address "bad"'
}
