#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Account files where the line glibc takes first is one fim cannot read
# whole: the account it defines is not taken from a later line.

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

@test "rev accounts: a cut line before an account's own line is the one in force, not the later line" {
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

@test "rev accounts: an account too large to record is reported once, its cause said once" {
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
