#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A bind mount of a directory of the same file system keeps the device
# number: it is still a mount, and what it hides is not called removed.
# Needs root (real mounts inside the test's root).

load helpers

teardown() {
	if [ -f "$T/mounts" ]; then
		tac "$T/mounts" | while read -r m; do umount -l "$m" || true; done
	fi
}

@test "rev mounts: an empty directory bind-mounted over a selected one: what it hides is hidden, not removed" {
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
