#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# What a side-by-side run of the binaries before and after the one-engine
# redesign showed: behaviour it lost (restored here), and the one difference
# it was meant to make (a warning said once), held in place.

load helpers

# ontty ARGS...: runs fim ARGS... (with -r/-d/-c) with stdin, stdout and
# stderr on one pseudo-terminal, as an operator at a terminal does; what it
# wrote is in $T/tty, its exit status in rc.
ontty() {
	rc=0
	timeout "$FIM_TIMEOUT" "$PY" -c '
import os, pty, sys
sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' \
		"$FIM" -r "$ROOT" -d "$DB" -c "$POL" "$@" </dev/null >"$T/tty" 2>&1 || rc=$?
	if [ "$rc" -eq 124 ]; then
		echo "fim $* timed out ($FIM_TIMEOUT s)" >&2
		return 1
	fi
}

# How many times the last ontty drew the check's progress line.
draws() {
	grep -ao 'fim check: [0-9]* files' "$T/tty" | wc -l
}

@test "accept --all on a terminal shows the check's progress line, as check does" {
	policy <<<'/etc CONTENT'
	mkdir -p "$ROOT/etc"
	# The line is drawn at most four times a second: grow the tree until
	# check draws it three times, so that accept's check (the same walk)
	# draws it at least once however busy or idle the machine is.
	local n=0 round drawn=0
	for round in 1 2 3 4 5 6 7 8; do
		while [ "$n" -lt $((8000 << (round - 1))) ]; do
			mkdir "$ROOT/etc/d$n"
			(cd "$ROOT/etc/d$n" && seq -f 'f%g' 1 1000 | xargs touch)
			n=$((n + 1000))
		done
		fimrun baseline
		assert_rc 0
		ontty check
		assert_rc 0
		drawn=$(draws)
		[ "$drawn" -ge 3 ] && break
	done
	[ "$drawn" -ge 3 ] || {
		echo "check drew its progress line $drawn times on $n files" >&2
		return 1
	}
	printf 'x\n' >"$ROOT/etc/d0/f1"
	ontty accept --all --reason "progress"
	assert_rc 0
	if [ "$(draws)" -lt 1 ]; then
		echo "accept --all drew no progress line (check drew $drawn)" >&2
		cat -v "$T/tty" >&2
		return 1
	fi
	assert_contains "$(cat "$T/tty")" "accepted: changed /etc/d0/f1: size"
	# With -q, or not on a terminal: no line, as before.
	printf 'y\n' >"$ROOT/etc/d0/f2"
	ontty -q accept --all --reason "quiet"
	assert_rc 0
	assert_eq 0 "$(draws)" "progress lines with -q"
	printf 'z\n' >"$ROOT/etc/d0/f3"
	fimrun -v accept --all --reason "not a terminal"
	assert_rc 0
	assert_not_contains "$err" "fim check:" "stderr off a terminal"
}

@test "accept --all on a signed baseline others could write warns once, not once per opening" {
	mkdir -p "$ROOT/etc"
	printf 'a\n' >"$ROOT/etc/a"
	policy <<<'/etc CONTENT'
	age_tree "$ROOT"
	export FIM_PASSPHRASE='correct horse battery staple'
	fimraw key generate --out "$T/keys" </dev/null
	assert_rc 0
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	chmod 0777 "$DB"
	printf 'changed\n' >>"$ROOT/etc/a"
	fimrun accept --all --reason "CHG-5" --sign-key "$T/keys/fim.key" \
		--verify-key "$T/keys/fim.pub"
	assert_rc 0
	assert_eq "fim: warning: $DB: writable by every user: another user could replace or change this baseline; it is used only because its signature is checked" \
		"$err" "stderr"
	assert_eq "accepted: changed /etc/a: size mtime ctime hash
fim accept: 1 objects accepted into $DB, signed" "$out"
}

@test "accept takes content the baseline could not read, as check reports it" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	policy <<<'/etc CONTENT'
	mkdir -p "$ROOT/etc"
	printf 's\n' >"$ROOT/etc/secret"
	chmod 000 "$ROOT/etc/secret"
	# root without the capabilities that override file modes: the content
	# stays unread at baseline time
	fimraw_nodac() {
		rc=0
		setpriv --bounding-set=-dac_override,-dac_read_search \
			--inh-caps=-dac_override,-dac_read_search \
			timeout "$FIM_TIMEOUT" "$FIM" -r "$ROOT" -d "$DB" -c "$POL" "$@" \
			>"$T/out" 2>"$T/err" || rc=$?
	}
	fimraw_nodac baseline
	assert_rc 8
	fimrun check
	assert_rc 4
	assert_contains "$out" "note: the baseline could not read this file's content"
	fimrun accept --reason "read at last" /etc/secret
	assert_rc 0
	assert_contains "$out" "accepted: changed /etc/secret: hash"
	fimrun check
	assert_rc 0
	assert_contains "$out" "no drift"
}
