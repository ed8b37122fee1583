#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Sparse and huge files: a file of terabytes that stores nothing must cost what
# it stores, in baseline, check and watch, and never blind the daemon.

load helpers
load watch_helpers

# Data under /data; no times in the rule, so only what the test does drifts.
sparse_tree() {
	mkdir -p "$ROOT/data"
	printf 'alpha\n' >"$ROOT/data/a"
	policy <<-EOF
		set alerts.journald = no
		set watch.journal = no
		${1:-}
		/data type mode size hash
	EOF
}

# The hash line of "fim show ID".
shown_hash() {
	fimrun show "$1"
	assert_rc 0
	printf '%s\n' "$out" | awk '$1 == "hash" { print $2 }'
}

@test "sparse: baseline and check of a 1 TB sparse file finish, its hash named sha256-sparse" {
	sparse_tree
	truncate -s 1T "$ROOT/data/big"
	baseline
	h=$(shown_hash /data/big)
	assert_contains "$h" "sha256-sparse:"
	assert_eq 78 "${#h}" "length of the sparse hash value"
	# a file without holes keeps the plain digest
	assert_eq "sha256:$(sha256sum <"$ROOT/data/a" | cut -d' ' -f1)" "$(shown_hash /data/a)"
	expect_check 0 <<-'EOF'
		summary scanned=3 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "sparse: data written into a hole is hash drift, named sparse on both sides" {
	sparse_tree
	truncate -s 1T "$ROOT/data/big"
	baseline
	printf 'x' | dd of="$ROOT/data/big" bs=1 seek=500000000000 conv=notrunc status=none
	expect_check 4 <<-'EOF'
		changed /data/big hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	before=$(jget /data/big fim.before.hash)
	after=$(jget /data/big fim.after.hash)
	assert_contains "$before" "sha256-sparse:"
	assert_contains "$after" "sha256-sparse:"
	[ "$before" != "$after" ]
	# the sparse digest is no SHA-256 of the content: not offered as ECS file.hash
	run jget /data/big file.hash
	assert_contains "$output" "event for /data/big has no file.hash"
}

@test "sparse: the sparse name follows the algorithm (blake2b-sparse)" {
	sparse_tree "set hash = blake2b"
	truncate -s 1T "$ROOT/data/big"
	baseline
	h=$(shown_hash /data/big)
	assert_eq "blake2b-sparse:" "${h:0:15}"
	assert_eq 143 "${#h}" "length of the sparse hash value"
}

@test "sparse: a file that gains holes with the same bytes shows a hash change" {
	sparse_tree
	{ printf 'head\n'; head -c 1048576 /dev/zero; printf 'tail\n'; } >"$ROOT/data/z"
	baseline
	assert_contains "$(shown_hash /data/z)" "sha256:"
	fallocate --dig-holes "$ROOT/data/z"
	[ "$(stat -c %b "$ROOT/data/z")" -lt 2048 ] || skip "this file system made no hole"
	expect_check 4 <<-'EOF'
		changed /data/z hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_contains "$(jget /data/z fim.after.hash)" "sha256-sparse:"
}

@test "sparse: a growing 1 TB log may grow, but not change inside" {
	sparse_tree
	mkdir -p "$ROOT/log"
	printf 'line 1\n' >"$ROOT/log/l"
	truncate -s 1T "$ROOT/log/l"
	cat >>"$POL" <<-'EOF'
		/log type size hash growing
	EOF
	baseline
	printf 'line 2\n' >>"$ROOT/log/l"
	expect_check 0 <<-'EOF'
		summary scanned=4 added=0 removed=0 changed=0 errors=0
	EOF
	printf 'y' | dd of="$ROOT/log/l" bs=1 seek=4096000 conv=notrunc status=none
	expect_check 4 <<-'EOF'
		changed /log/l hash
		summary scanned=4 added=0 removed=0 changed=1 errors=0
	EOF
}

# --- fim watch: hashing a large file never holds the loop ---

teardown() {
	watch_kill
	limits_unlock
	if [ -n "${LPID:-}" ]; then kill "$LPID" 2>/dev/null || true; fi
	if [ -n "${HPID:-}" ]; then kill "$HPID" 2>/dev/null || true; fi
	LPID= HPID=
}

# A baseline with /data/big holding 8 MiB of data (32 chunks of a read).
big_tree() {
	sparse_tree
	head -c 8388608 /dev/urandom >"$ROOT/data/big"
	baseline
}

@test "watch: a file grown to 1 TB with holes is alerted, with its sparse hash" {
	big_tree
	start_watch
	truncate -s 1T "$ROOT/data/big"
	wait_for "changed /data/big size,hash"
	assert_contains "$("$PY" "$JSONL" get "$A" /data/big fim.after.hash changed)" "sha256-sparse:"
}

@test "watch: while a large file is hashed, other changes are alerted and SIGTERM stops at once" {
	big_tree
	# each chunk of the worker's read waits 2 s: hashing /data/big takes a minute
	FIM_TEST_HASH_DELAY_MS=2000 start_watch
	truncate -s 1T "$ROOT/data/big"
	# the daemon (timeout's child) holds the file open once its read is under way
	for _ in $(seq 300); do
		ls -l "/proc/$(pgrep -P "$WPID")/fd" 2>/dev/null | grep -q " -> $ROOT/data/big\$" && break
		sleep 0.1
	done
	ls -l "/proc/$(pgrep -P "$WPID")/fd" | grep -q " -> $ROOT/data/big\$"
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	# the big file is still being read: its alert is not there yet
	run alerts
	assert_not_contains "$output" "changed /data/big"
	term_watch 10
	assert_rc 0
	[ "$took" -lt 5000 ] || { echo "SIGTERM took $took ms" >&2; false; }
	assert_eq "watch stopped" "$(alerts | tail -1)"
}

@test "watch: the loop lives while a large file is hashed (STATUS and WATCHDOG go on)" {
	big_tree
	notify_listen
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000 FIM_TEST_HASH_DELAY_MS=2000 start_watch
	truncate -s 1T "$ROOT/data/big"
	for _ in $(seq 300); do
		ls -l "/proc/$(pgrep -P "$WPID")/fd" 2>/dev/null | grep -q " -> $ROOT/data/big\$" && break
		sleep 0.1
	done
	# the loop sends STATUS once a second: three more while the file is read
	seen=$(grep -c '^STATUS=' "$T/notify.txt")
	for _ in $(seq 300); do
		[ "$(grep -c '^STATUS=' "$T/notify.txt")" -ge $((seen + 3)) ] && break
		sleep 0.1
	done
	now=$(grep -c '^STATUS=' "$T/notify.txt")
	kill "$LPID" 2>/dev/null || true
	[ "$now" -ge $((seen + 3)) ] || { echo "STATUS stopped while a file was hashed" >&2; false; }
	grep -q '^WATCHDOG=1$' "$T/notify.txt"
	run alerts
	assert_not_contains "$output" "changed /data/big"
}

@test "watch: a file its owner holds a lease on does not stall the loop, nor SIGTERM" {
	sparse_tree
	printf 'small\n' >"$ROOT/data/l"
	baseline
	start_watch
	# the owner writes and keeps a write lease: any open by another waits
	# for the kernel to break it (lease-break-time, 45 s by default)
	"$PY" - "$ROOT/data/l" "$T/leased" <<-'EOF' &
		import fcntl, os, signal, sys, time
		signal.signal(signal.SIGIO, signal.SIG_IGN)
		fd = os.open(sys.argv[1], os.O_RDWR)
		os.write(fd, b"leased\n")
		fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)  # F_SETLEASE
		open(sys.argv[2], "w").close()
		time.sleep(120)
	EOF
	LPID=$!
	for _ in $(seq 300); do [ -e "$T/leased" ] && break; sleep 0.1; done
	[ -e "$T/leased" ]
	# an event that opens nothing: the daemon checks /data/l again ...
	chmod 0644 "$ROOT/data/l"
	# ... tries to open it (its lease is being broken) ...
	ino=$(stat -c %i "$ROOT/data/l")
	for _ in $(seq 300); do
		grep -q "LEASE *BREAKING .*:$ino " /proc/locks && break
		sleep 0.1
	done
	grep -q "LEASE *BREAKING .*:$ino " /proc/locks
	# ... and still alerts another change meanwhile
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	run alerts
	assert_not_contains "$output" "changed /data/l"
	term_watch 10
	assert_rc 0
	[ "$took" -lt 5000 ] || { echo "SIGTERM took $took ms" >&2; false; }
}

# --- the watchdog during the reconcile: fed while it works, not while it hangs ---

@test "watch: a reconcile hung on a leased file does not feed the watchdog" {
	sparse_tree
	printf 'small\n' >"$ROOT/data/l"
	baseline
	notify_listen
	# the owner holds a write lease and keeps it when the daemon's open
	# asks for it back (the open waits up to lease-break-time, 45 s)
	"$PY" - "$ROOT/data/l" "$T" <<-'EOF' &
		import fcntl, os, signal, sys, time
		t = sys.argv[2]
		signal.signal(signal.SIGIO, lambda *a: open(t + "/broken", "w").close())
		fd = os.open(sys.argv[1], os.O_RDWR)
		fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGIO)
		fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)  # F_SETLEASE
		open(t + "/leased", "w").close()
		for _ in range(1200):
		    if os.path.exists(t + "/release"):
		        break
		    time.sleep(0.1)
		fcntl.fcntl(fd, 1024, fcntl.F_UNLCK)
		os.close(fd)
	EOF
	HPID=$!
	poll "$WAIT_MAX" test -e "$T/leased"
	A=$T/alerts.jsonl
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 spawn_watch
	# the start-up reconcile opens /data/l: the kernel asks the owner to break
	poll "$WAIT_MAX" test -e "$T/broken"
	# the walk may still queue what follows /data/l before it waits too
	sleep 2
	before=$(watchdogs)
	sleep 5 # a window in which a live loop would ping ten times
	after=$(watchdogs)
	run cat "$T/notify.txt"
	assert_not_contains "$output" "READY=1"
	# one ping may be in flight from the work done before all of it waited
	[ "$after" -le $((before + 1)) ] || {
		echo "the watchdog was fed $((after - before)) times by a hung reconcile" >&2
		false
	}
	# the lease goes: the reconcile ends, READY=1 and the loop's pings follow
	touch "$T/release"
	wait_for "watch reconciled"
	poll "$WAIT_MAX" grep -q READY=1 "$T/notify.txt"
	more() { [ "$(watchdogs)" -ge $((after + 2)) ]; }
	poll "$WAIT_MAX" more
	stop_watch
	assert_rc 0
}

@test "watch: SIGTERM during the start-up reconcile stops it at once (exit 0, stopped)" {
	sparse_tree
	printf 'small\n' >"$ROOT/data/big"
	baseline
	# 16 MiB to hash again at 300 ms a step: the reconcile reads it for
	# about 20 s
	head -c 16M /dev/zero >"$ROOT/data/big"
	A=$T/alerts.jsonl
	FIM_TEST_CHECK_DELAY_MS=300 spawn_watch
	# the daemon (timeout's child) has /data/big open or mapped: the
	# reconcile reads it
	reading() {
		local pid
		pid=$(pgrep -P "$WPID") || return 1
		grep -q " $ROOT/data/big\$" "/proc/$pid/maps" ||
			ls -l "/proc/$pid/fd" 2>/dev/null | grep -q " -> $ROOT/data/big\$"
	}
	poll "$WAIT_MAX" reading
	run alerts
	assert_not_contains "$output" "watch reconciled"
	term_watch 30
	echo "SIGTERM took $took ms" >&2
	assert_rc 0
	[ "$took" -lt 5000 ] || { echo "SIGTERM took $took ms" >&2; false; }
	run alerts
	assert_eq "watch started
watch stopped" "$output"
	assert_eq "" "$(cat "$T/watch.err")"
}
