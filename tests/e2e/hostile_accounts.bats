#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Account files shaped to hide an account from fim: long lines, huge comments,
# lines past what fim keeps. What glibc reads, fim reads or reports.

load helpers

mkaccounts() {
	mkdir -p "$ROOT/etc" "$ROOT/root"
	cat >"$ROOT/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/bash
		alice:x:1000:1000::/home/alice:/bin/bash
	EOF
	cat >"$ROOT/etc/shadow" <<-'EOF'
		root:!:19000:0:99999:7:::
		alice:!:19000:0:99999:7:::
	EOF
	printf 'root:x:0:\nalice:x:1000:\n' >"$ROOT/etc/group"
	policy <<-'EOF'
		users   severity=critical
		groups  severity=high
	EOF
}

# addline PREFIX CHAR COUNT SUFFIX: appends PREFIX, COUNT times CHAR, SUFFIX and
# a newline to the passwd.
addline() {
	"$PY" -c 'import sys; sys.stdout.write(sys.argv[1] + sys.argv[2] * int(sys.argv[3]) + sys.argv[4] + "\n")' \
		"$1" "$2" "$3" "$4" >>"$ROOT/etc/passwd"
}

@test "hostile accounts: a second uid-0 account on a line longer than 64 KiB is reported added" {
	mkaccounts
	baseline
	addline 'toor:x:0:0:' A 100000 ':/root:/bin/bash'
	check_json
	assert_rc 1
	assert_events <<-'EOF'
		added user:toor
		summary scanned=5 added=1 removed=0 changed=0 errors=0
	EOF
	assert_eq critical "$(jget user:toor fim.severity)"
	assert_eq 0 "$(jget user:toor fim.after.uid)"
}

@test "hostile accounts: a passwd padded past 16 MiB by one comment still has every account read" {
	mkaccounts
	baseline
	addline '#' c $((17 << 20)) ''
	echo 'toor:x:0:0::/root:/bin/bash' >>"$ROOT/etc/passwd"
	check_json
	assert_rc 1
	assert_events <<-'EOF'
		added user:toor
		summary scanned=5 added=1 removed=0 changed=0 errors=0
	EOF
	fimrun check
	assert_rc 1
	assert_not_contains "$out" "not found"
	assert_contains "$out" "fim check: DRIFT"
}

@test "hostile accounts: 17 MiB of blanks before an entry do not hide it" {
	mkaccounts
	baseline
	# glibc skips leading blanks however many: only what follows is the line
	addline '' ' ' $((17 << 20)) 'toor:x:0:0::/root:/bin/bash'
	check_json
	assert_rc 1
	assert_events <<-'EOF'
		added user:toor
		summary scanned=5 added=1 removed=0 changed=0 errors=0
	EOF
}

@test "hostile accounts: a line fim cannot interpret is reported, and check is never 'no drift'" {
	mkaccounts
	baseline
	# glibc reads uid 0 after 5 MiB of blanks; fim keeps 4 MiB of a line
	addline 'toor:x:' ' ' $((5 << 20)) '0:0::/root:/bin/bash'
	check_json
	assert_rc 8
	assert_events <<-'EOF'
		error user:/etc/passwd:3
		summary scanned=4 added=0 removed=0 changed=0 errors=1
	EOF
	assert_contains "$err" "fim: warning: /etc/passwd:3: line of 5242907 bytes, longer than 4194304: glibc reads it, fim cannot interpret it; user 'toor' is not recorded"
	# at the severity of the users rule: the line may hide any account
	problem=$("$PY" "$JSONL" lines "$T/out" | grep '"action": "error"')
	assert_contains "$problem" '"severity": "critical"'
	assert_contains "$problem" '"severity": 99'
	fimrun check
	assert_rc 8
	assert_contains "$out" "users: /etc/passwd:3: line of 5242907 bytes"
	assert_contains "$out" "fim check: INCOMPLETE - 0 changed, 0 added, 0 removed, 1 unreadable"
	assert_not_contains "$out" "no drift"
}

@test "hostile accounts: a cut line keeps its account, and an account it replaced is not called removed" {
	mkaccounts
	baseline
	# alice becomes uid 0 on a line longer than fim keeps: her uid is still read
	sed -i '/^alice:/d' "$ROOT/etc/passwd"
	addline 'alice:x:0:0:' G $((5 << 20)) ':/root:/bin/bash'
	check_json
	assert_rc 12
	assert_events <<-'EOF'
		changed user:alice uid,gid
		error user:/etc/passwd:2
		summary scanned=4 added=0 removed=0 changed=1 errors=1
	EOF
	assert_contains "$err" "user 'alice' is recorded without field 5 and those after it"
}

@test "hostile accounts: a cut line before an account's own line is the one in force, not the later line" {
	mkaccounts
	baseline
	# glibc: alice is uid 0 (first line of her name); fim keeps 4 MiB of a line
	"$PY" -c 'import sys; sys.stdout.write("alice:x:" + " " * (5 << 20) + "0:0::/root:/bin/sh\n")' >"$T/cut"
	cat "$T/cut" "$ROOT/etc/passwd" >"$T/passwd"
	mv "$T/passwd" "$ROOT/etc/passwd"
	check_json
	assert_rc 8
	assert_events <<-'EOF'
		error user:/etc/passwd:1
		error user:/etc/passwd:3
		error user:alice
		summary scanned=3 added=0 removed=0 changed=0 errors=3
	EOF
	assert_contains "$err" "/etc/passwd:1: line of 5242906 bytes, longer than 4194304: glibc reads it, fim cannot interpret it; user 'alice' is not recorded"
	assert_contains "$err" "/etc/passwd:3: duplicate user 'alice': the first entry, on line 1, is in force"
	assert_contains "$(cat "$T/out")" "not found, but a source could not be read: not reported as removed"
}

@test "hostile accounts: an account too large to record is reported once, its cause said once" {
	mkaccounts
	baseline
	# glibc reads uid 0; a 2 MiB gecos is longer than a value fim records
	"$PY" -c 'import sys; sys.stdout.write("toor:x:0:0:" + "g" * (2 << 20) + ":/root:/bin/sh\n")' >>"$ROOT/etc/passwd"
	check_json
	assert_rc 8
	assert_events <<-'EOF'
		error user:/etc/passwd:3
		summary scanned=4 added=0 removed=0 changed=0 errors=1
	EOF
	assert_eq "fim: warning: /etc/passwd:3: user 'toor' cannot be recorded: Argument list too long" "$err"
	problem=$("$PY" "$JSONL" lines "$T/out" | grep '"action": "error"')
	assert_contains "$problem" '"severity": "critical"'
}
