#!/usr/bin/env bats
# A fresh machine needs two commands, make demo and make test: each
# installs the Debian packages it lacks (deps.sh, quiet when none are
# missing) before building and running. deps.sh and apt are replaced by
# stubs here: the tests install nothing.

load lib/common

setup()
{
	BG_TMP=$(mktemp -d /run/bgtest.XXXXXX)
	# Readable by nobody: the non-root cases run the same stubs.
	chmod 0755 "$BG_TMP"
	LOG=$BG_TMP/log
	: >"$LOG"
	chmod 0666 "$LOG"
	for s in deps bats demo; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$s" "$LOG" >"$BG_TMP/$s"
		chmod 0755 "$BG_TMP/$s"
	done
	STUBS=(DEPS="$BG_TMP/deps" BATS="$BG_TMP/bats" DEMO="$BG_TMP/demo")
	# make as a user types it: nothing inherited from a make running the
	# suite (make test BATS_FLAGS=--tap passes its variables down, in
	# MAKEFLAGS and in the environment).
	MAKE_RUN=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BATS_FLAGS make -s -C "$BG_REPO")
}

teardown()
{
	rm -rf "$BG_TMP"
}

nobody()
{
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# dpkg-query that reports every package installed except those listed in
# $BG_TMP/missing, and an apt-get that only logs.
fake_apt()
{
	mkdir -p "$BG_TMP/bin"
	: >"$BG_TMP/missing"
	cat >"$BG_TMP/bin/dpkg-query" <<-EOF
		#!/bin/sh
		for p; do :; done
		grep -qx "\$p" "$BG_TMP/missing" && exit 1
		printf 'install ok installed'
	EOF
	printf '#!/bin/sh\necho "apt-get $*" >>"%s"\n' "$LOG" >"$BG_TMP/bin/apt-get"
	chmod 0755 "$BG_TMP/bin/dpkg-query" "$BG_TMP/bin/apt-get"
}

deps()
{
	env PATH="$BG_TMP/bin:$PATH" "$BG_REPO/scripts/deps.sh" "$@"
}

@test "make test and make demo install what is missing first, then build and run" {
	run "${MAKE_RUN[@]}" test "${STUBS[@]}"
	[ "$status" -eq 0 ] || fail "$output"
	# deps first; then bats, files side by side, each test file once
	[ "$(sed -n 1p "$LOG")" = "deps --test" ] || fail "$(cat "$LOG")"
	[ "$(wc -l <"$LOG")" -eq 2 ] || fail "$(cat "$LOG")"
	read -ra argv < <(sed -n 2p "$LOG")
	[ "${argv[*]:0:4}" = "bats --jobs 3 --no-parallelize-within-files" ] ||
		fail "$(cat "$LOG")"
	[ "$(printf '%s\n' "${argv[@]:4}" | sort)" = "$(cd "$BG_REPO" && printf '%s\n' test/*.bats | sort)" ] ||
		fail "$(cat "$LOG")"
	# TEST_JOBS=1: one file at a time, no GNU parallel needed
	: >"$LOG"
	run "${MAKE_RUN[@]}" test TEST_JOBS=1 "${STUBS[@]}"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $(sed -n 2p "$LOG") == "bats test/"*.bats ]] || fail "$(cat "$LOG")"
	[[ $(sed -n 2p "$LOG") != *--jobs* ]] || fail "$(cat "$LOG")"
	: >"$LOG"
	run "${MAKE_RUN[@]}" demo "${STUBS[@]}"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$LOG")" = "$(printf 'deps --demo\ndemo ')" ] || fail "$(cat "$LOG")"
	# Everything up to date and installed: make prints nothing of its own.
	[ -z "$output" ] || fail "$output"
}

@test "make test and make demo as a non-root user: a clear message, nothing run" {
	for t in test demo; do
		run nobody "${MAKE_RUN[@]}" "$t" "${STUBS[@]}"
		[ "$status" -ne 0 ]
		[[ $output == *"make $t: must run as root"* ]] || fail "$t: $output"
		[ ! -s "$LOG" ] || fail "$t ran: $(cat "$LOG")"
	done
}

@test "deps.sh installs only what is missing for the set asked, quietly when nothing is" {
	fake_apt
	run deps --demo
	[ "$status" -eq 0 ]
	[ -z "$output" ] || fail "$output"
	[ ! -s "$LOG" ] || fail "apt ran: $(cat "$LOG")"
	printf 'hping3\nstrace\n' >"$BG_TMP/missing"
	run deps --demo
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == "deps.sh: installing hping3" ]] || fail "$output"
	grep -q '^apt-get install .* hping3$' "$LOG" || fail "$(cat "$LOG")"
	: >"$LOG"
	run deps --test
	[ "$status" -eq 0 ] || fail "$output"
	grep -q '^apt-get install .* hping3 strace$' "$LOG" || fail "$(cat "$LOG")"
	# Not root with something missing: says what and exits non-zero.
	: >"$LOG"
	run nobody env PATH="$BG_TMP/bin:$PATH" "$BG_REPO/scripts/deps.sh" --demo
	[ "$status" -ne 0 ]
	[[ $output == *"root needed to install: hping3"* ]] || fail "$output"
	[ ! -s "$LOG" ]
}
