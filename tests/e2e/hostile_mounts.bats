#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A file system mounted over a selected directory hides what the baseline
# recorded below it: check says so, naming the mount, and calls none of it
# removed. Needs root (real mounts inside the test's root).

load helpers

mkdata() {
	mkdir -p "$ROOT/data/sub/deep"
	echo a >"$ROOT/data/sub/a"
	echo b >"$ROOT/data/sub/deep/b"
	echo keep >"$ROOT/data/keep"
	policy <<-'EOF'
		/data  type mode uid gid size inode hash  severity=high
	EOF
}

# mountit TYPE DIR: mounts a fresh TYPE over DIR, remembered for teardown.
mountit() {
	mount -t "$1" "$1" "$2"
	echo "$2" >>"$T/mounts"
}

teardown() {
	if [ -f "$T/mounts" ]; then
		tac "$T/mounts" | while read -r m; do umount -l "$m" || true; done
	fi
}

@test "hostile mounts: proc over a selected directory: what it hides is reported hidden, not dropped" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount"
	mkdata
	baseline
	mountit proc "$ROOT/data/sub"
	check_json
	assert_rc 12
	assert_events <<-'EOF'
		changed /data/sub mode,size,inode
		error file:/data/sub/a
		error file:/data/sub/deep
		error file:/data/sub/deep/b
		summary scanned=3 added=0 removed=0 changed=1 errors=3
	EOF
	assert_contains "$(cat "$T/out")" '"message":"hidden by a mount: proc mounted on /data/sub"'
	problem=$("$PY" "$JSONL" lines "$T/out" | grep '"/data/sub/deep/b"' | grep '"action": "error"')
	assert_contains "$problem" '"severity": "high"'
	fimrun check
	assert_rc 12
	assert_contains "$out" "files: /data/sub/deep/b: hidden by a mount: proc mounted on /data/sub"
	assert_not_contains "$out" "Removed"
}

@test "hostile mounts: tmpfs over a selected directory: the hidden objects are not called removed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount"
	mkdata
	baseline
	mountit tmpfs "$ROOT/data/sub"
	echo planted >"$ROOT/data/sub/c"
	check_json
	assert_rc 13
	assert_events <<-'EOF'
		added /data/sub/c
		changed /data/sub mode,size,inode
		error file:/data/sub/a
		error file:/data/sub/deep
		error file:/data/sub/deep/b
		summary scanned=4 added=1 removed=0 changed=1 errors=3
	EOF
	assert_contains "$(cat "$T/out")" '"message":"hidden by a mount: tmpfs mounted on /data/sub"'
}

@test "hostile mounts: below a mount that was there at baseline, a deleted file is removed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount"
	mkdir -p "$ROOT/data/sub"
	mountit tmpfs "$ROOT/data/sub"
	mkdata
	baseline
	rm "$ROOT/data/sub/a"
	check_json
	assert_rc 6
	assert_events <<-'EOF'
		changed /data/sub size
		removed /data/sub/a
		summary scanned=5 added=0 removed=1 changed=1 errors=0
	EOF
}

@test "hostile mounts: an empty directory bind-mounted over a selected one: what it hides is hidden, not removed" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount"
	mkdir -p "$ROOT/data/sub/deep" "$ROOT/empty"
	echo a >"$ROOT/data/sub/a"
	echo b >"$ROOT/data/sub/deep/b"
	policy <<-'EOF'
		/data  type mode uid gid size inode hash  severity=high
	EOF
	baseline
	mount --bind "$ROOT/empty" "$ROOT/data/sub"
	echo "$ROOT/data/sub" >>"$T/mounts"
	check_json
	assert_rc 12
	assert_events <<-'EOF'
		changed /data/sub inode
		error file:/data/sub/a
		error file:/data/sub/deep
		error file:/data/sub/deep/b
		summary scanned=2 added=0 removed=0 changed=1 errors=3
	EOF
	# the file system is that of the test's temp dir, whichever it is
	problem=$("$PY" "$JSONL" lines "$T/out" | grep '"/data/sub/deep/b"' | grep '"action": "error"')
	assert_contains "$problem" "hidden by a mount: "
	assert_contains "$problem" " mounted on /data/sub"
	assert_contains "$problem" '"severity": "high"'
	assert_not_contains "$(cat "$T/out")" '"action":"removed"'
}
