#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A damaged store, from the sides the first hostile-store suite left open: the
# lock file, and the copy that accept makes of a damaged baseline.

load helpers

mktree() {
	mkdir -p "$ROOT/etc"
	for i in 1 2 3 4 5 6 7 8; do
		printf 'file %s\n' "$i" >"$ROOT/etc/f$i"
	done
	policy <<-'EOF2'
		/etc CONTENT
	EOF2
}

# hold_lock FILE: takes a shared fcntl lock on byte 0 of FILE, as a reader
# of the environment (the daemon, a concurrent check) does, until unhold.
hold_lock() {
	rm -f "$T/held"
	"$PY" - "$1" "$T/held" <<-'EOF2' &
		import fcntl, os, sys, time
		fd = os.open(sys.argv[1], os.O_RDWR)
		fcntl.lockf(fd, fcntl.LOCK_SH, 1, 0)
		open(sys.argv[2], "w").close()
		time.sleep(120)
	EOF2
	holder=$!
	for _ in $(seq 600); do
		[ -e "$T/held" ] && return 0
		sleep 0.1
	done
	return 1
}

unhold() {
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
}

teardown() {
	if [ -n "${holder:-}" ]; then unhold; fi
}

@test "hostile store review: a truncated lock file while another reader holds it is not read" {
	mktree
	fimrun baseline
	assert_rc 0
	lock="$DB/current/lock.mdb"
	[ -e "$lock" ] || : >"$lock"
	truncate -s 100 "$lock"
	hold_lock "$lock"
	fimrun check
	assert_rc 0
	assert_eq "" "$err"
	fimrun show /etc/f1
	assert_rc 0
	unhold
}

@test "hostile store review: a lock file of garbage while another reader holds it is not read" {
	mktree
	fimrun baseline
	assert_rc 0
	lock="$DB/current/lock.mdb"
	"$PY" -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(256)) * 32)' "$lock"
	hold_lock "$lock"
	fimrun check
	assert_rc 0
	assert_eq "" "$err"
	unhold
}
