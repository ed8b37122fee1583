#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim watch: a change of content alone (same size, times put back) is a real
# change: a patched byte in a binary must raise an alert under both backends.

load helpers
load watch_helpers

teardown() {
	watch_kill
	limits_unlock
}

# A tree whose rule compares content but no times. $1: extra settings.
content_tree() {
	mkdir -p "$ROOT/data"
	printf 'alpha\n' >"$ROOT/data/a"
	head -c 65536 /dev/zero | tr '\0' 'x' >"$ROOT/data/bin"
	policy <<-EOF
		set alerts.journald = no
		set watch.journal = no
		${1:-}
		/data type mode uid gid size hash target
	EOF
	A=$T/alerts.jsonl
	baseline
}

# Overwrites one byte at OFFSET of FILE in place, and puts its mtime back.
patch_byte() {
	local file=$1 offset=$2 byte=$3 stamp
	stamp=$(stat -c %y "$file")
	printf '%s' "$byte" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
	touch -d "$stamp" "$file"
}

same_size_content() {
	content_tree "$1"
	start_watch
	printf 'alphX\n' >"$ROOT/data/a"
	patch_byte "$ROOT/data/bin" 40000 y
	barrier
	assert_eq "changed /data/a hash
changed /data/bin hash" "$(drift)"
	assert_eq 65536 "$(stat -c %s "$ROOT/data/bin")"
}

@test "watch: inotify: a content change that keeps the size is alerted as hash drift" {
	same_size_content ""
}

@test "watch: fanotify: a content change that keeps the size is alerted as hash drift" {
	same_size_content "set watch.backend = fanotify"
}

@test "watch: a byte patched back to what it was is no drift" {
	content_tree ""
	start_watch
	patch_byte "$ROOT/data/bin" 100 y
	wait_for "changed /data/bin hash"
	patch_byte "$ROOT/data/bin" 100 x
	barrier
	assert_eq "changed /data/bin hash" "$(drift)"
}
