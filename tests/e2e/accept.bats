#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim accept and fim history: reviewed drift taken into the baseline, one
# transaction, with who, when and why kept, and nothing taken that was not seen.

load helpers

mkaccept() {
	mkdir -p "$ROOT/etc/sub"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/etc/b"
	printf 'c\n' >"$ROOT/etc/c"
	printf 'root:x:0:0:root:/root:/bin/bash\nsvc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n' \
		>"$ROOT/etc/passwd"
	printf 'root:x:0:\nsvc:x:998:\n' >"$ROOT/etc/group"
	policy <<-'EOF'
		/etc CONTENT
		!/etc/passwd
		!/etc/group
		users
	EOF
	age_tree "$ROOT"
	baseline
}

@test "accept: a subset is taken in, the rest still reported" {
	mkaccept
	printf 'changed\n' >>"$ROOT/etc/a"
	printf 'changed\n' >>"$ROOT/etc/b"
	sed -i 's|/usr/sbin/nologin|/bin/bash|' "$ROOT/etc/passwd"
	fimrun accept /etc/a user:svc --reason "CHG-42: new motd and svc shell"
	assert_rc 0
	assert_eq "accepted: changed /etc/a: size mtime ctime hash
accepted: changed user svc: shell
fim accept: 2 objects accepted into $DB" "$out"
	expect_check 4 <<-'EOF'
		changed /etc mtime,ctime
		changed /etc/b size,mtime,ctime,hash
		summary scanned=7 added=0 removed=0 changed=2 errors=0
	EOF
}

@test "accept --all takes in exactly what check showed: added, removed, changed" {
	mkaccept
	printf 'changed\n' >>"$ROOT/etc/a"
	rm "$ROOT/etc/b"
	printf 'n\n' >"$ROOT/etc/sub/new"
	echo 'toor:x:0:0::/root:/bin/sh' >>"$ROOT/etc/passwd"
	fimrun accept --all --reason "maintenance window"
	assert_rc 0
	assert_contains "$out" "accepted: changed /etc/a: size mtime ctime hash"
	assert_contains "$out" "accepted: removed /etc/b"
	assert_contains "$out" "accepted: added /etc/sub/new"
	assert_contains "$out" "accepted: added user toor"
	assert_contains "$out" "fim accept: 6 objects accepted into $DB"
	expect_check 0 <<-'EOF'
		summary scanned=8 added=0 removed=0 changed=0 errors=0
	EOF
	fimrun show /etc/b
	assert_rc 2
}

@test "accept --kind: only objects of that kind" {
	mkaccept
	printf 'changed\n' >>"$ROOT/etc/a"
	sed -i 's|/usr/sbin/nologin|/bin/bash|' "$ROOT/etc/passwd"
	fimrun accept --kind user --reason "svc needs a shell"
	assert_rc 0
	assert_eq "accepted: changed user svc: shell
fim accept: 1 objects accepted into $DB" "$out"
	expect_check 4 <<-'EOF'
		changed /etc mtime,ctime
		changed /etc/a size,mtime,ctime,hash
		summary scanned=7 added=0 removed=0 changed=2 errors=0
	EOF
}

@test "accept: the audit trail says who, when, why and what; show lists it per object" {
	mkaccept
	printf 'changed\n' >>"$ROOT/etc/a"
	SUDO_USER=alice fimrun accept /etc/a --reason "ticket 7"
	assert_rc 0
	printf 'again\n' >>"$ROOT/etc/a"
	fimrun accept /etc/a --reason "ticket 8"
	fimrun history
	assert_rc 0
	assert_contains "$out" "#1  "
	assert_contains "$out" "by root (sudo alice)  1 objects"
	assert_contains "$out" "    reason: ticket 7"
	assert_contains "$out" "    changed /etc/a: size mtime ctime hash"
	assert_contains "$out" "#2  "
	assert_contains "$out" "    reason: ticket 8"
	fimrun --format json history
	assert_rc 0
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
	first=$(printf '%s\n' "$out" | head -n 1)
	"$PY" - "$first" <<-'EOF'
		import json, sys
		e = json.loads(sys.argv[1])
		assert e["seq"] == 1, e
		assert e["reason"] == "ticket 7", e
		assert e["by"]["uid"] == 0 and e["by"]["user"] == "root", e
		assert e["by"]["sudo_user"] == "alice", e
		assert e["objects"] == [{"object": "file", "id": "/etc/a", "action": "changed",
		                         "changed": ["size", "mtime", "ctime", "hash"]}], e
		assert e["time"].endswith("Z"), e
	EOF
	fimrun show /etc/a
	assert_contains "$out" "  accepted #1 "
	assert_contains "$out" ": ticket 7"
	assert_contains "$out" "  accepted #2 "
	# a fresh baseline keeps the history
	fimrun baseline
	fimrun history
	assert_contains "$out" "    reason: ticket 8"
}

@test "accept refuses what it cannot vouch for, and changes nothing then" {
	mkaccept
	fimrun accept /etc/a
	assert_rc 16
	assert_contains "$err" "say why with --reason"
	fimrun accept --reason x
	assert_rc 16
	fimrun accept /etc/a --reason "nothing changed"
	assert_rc 0
	assert_contains "$err" "/etc/a: no drift to accept"
	assert_contains "$err" "nothing accepted; the baseline is unchanged"
	fimrun accept /etc/nope --reason x
	assert_rc 16
	assert_contains "$err" "/etc/nope: neither on disk nor in the baseline; nothing to accept"
	printf 'x\n' >"$ROOT/etc/passwd.new"
	mkdir -p "$ROOT/etc/newdir" && printf 'y\n' >"$ROOT/etc/newdir/f"
	fimrun accept /etc/newdir/f --reason x
	assert_rc 16
	assert_contains "$err" "/etc/newdir/f: its directory is not in the baseline; accept /etc/newdir first"
	fimrun accept /etc/newdir /etc/newdir/f --reason "both, parent first"
	assert_rc 0
	fimrun history
	assert_not_contains "$out" "reason: x"
	# a policy edit is adopted by a baseline, not smuggled in by accept
	printf '/etc PERMS\n' >"$POL"
	fimrun accept /etc/a --reason x
	assert_rc 16
	assert_contains "$err" "the policy changed since the baseline"
}

@test "accept --all: a removed directory takes what was below it along" {
	mkdir -p "$ROOT/etc/sub/deep"
	printf 'x\n' >"$ROOT/etc/sub/x"
	printf 'y\n' >"$ROOT/etc/sub/deep/y"
	mkaccept
	rm -r "$ROOT/etc/sub"
	fimrun accept --all --reason "CHG-7 retire sub"
	assert_rc 0
	assert_contains "$out" "accepted: removed /etc/sub"
	expect_check 0 <<-'EOF'
		summary scanned=6 added=0 removed=0 changed=0 errors=0
	EOF
	fimrun show /etc/sub/deep/y
	assert_rc 2
}

@test "accept: '.', '..' and empty components are refused" {
	mkaccept
	printf 'changed\n' >>"$ROOT/etc/a"
	for p in /etc/../etc/a /etc/./a /etc//a /etc/sub/..; do
		fimrun accept "$p" --reason "CHG-8"
		assert_rc 16 "$p"
		assert_contains "$err" "$p: not a plain path (no '.', '..' or empty components)"
	done
	fimrun history
	assert_not_contains "$out" "CHG-8"
}
