#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Sparse and huge files: a file of terabytes that stores nothing must cost what
# it stores, in baseline, check and watch, and never blind the daemon.

load helpers

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
