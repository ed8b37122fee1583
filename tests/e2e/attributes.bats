#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# One attribute at a time: each change is reported with exactly the attribute
# names it affects, and values before and after; the hash algorithms.

load helpers

# /etc/f is the object under test; /etc itself is recorded by PERMS only, so
# entries coming and going do not show up as changes of /etc.
make_tree() {
	mkdir -p "$ROOT/etc" "$ROOT/other"
	printf 'abc\n' >"$ROOT/etc/f"
	printf 'other\n' >"$ROOT/etc/g"
	age_tree "$ROOT"
	policy <<-'EOF'
		/etc   CONTENT
		=/etc  PERMS
	EOF
	baseline
}

sha256() { sha256sum <"$1" | cut -d' ' -f1; }

@test "content: same size, mtime restored with touch -d: hash and ctime change" {
	make_tree
	local m old
	m=$(stat -c %y "$ROOT/etc/f")
	old=$(sha256 "$ROOT/etc/f")
	printf 'xyz\n' >"$ROOT/etc/f"
	touch -d "$m" "$ROOT/etc/f"
	assert_eq "$m" "$(stat -c %y "$ROOT/etc/f")" "mtime after touch -d"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "sha256:$old" "$(jget /etc/f fim.before.hash)" "fim.before.hash"
	assert_eq "sha256:$(sha256 "$ROOT/etc/f")" "$(jget /etc/f fim.after.hash)" "fim.after.hash"
	assert_eq "{\"sha256\": \"$(sha256 "$ROOT/etc/f")\"}" "$(jget /etc/f file.hash)" "ECS file.hash"
}

@test "content: the human report lists ctime and hash with both digests" {
	make_tree
	local m old ctb cta
	m=$(stat -c %y "$ROOT/etc/f")
	old=$(sha256 "$ROOT/etc/f")
	printf 'xyz\n' >"$ROOT/etc/f"
	touch -d "$m" "$ROOT/etc/f"
	check_json
	ctb=$(jget /etc/f fim.before.ctime)
	cta=$(jget /etc/f fim.after.ctime)
	fimrun --format human check
	assert_rc 4
	sed -e 's/in [0-9]*\.[0-9] s$/in N s/' -e 's/^baseline: .* on .* (sha256)$/baseline: X on Y (sha256)/' "$T/out" >"$T/human"
	assert_eq "$(
		cat <<-EOF
			fim check: DRIFT - 1 changed, 0 added, 0 removed, 0 unreadable; 3 objects scanned in N s
			baseline: X on Y (sha256)

			Changed (1)
			  /etc/f  [medium]  ctime hash
			      ctime    $ctb -> $cta
			      hash     sha256:$old -> sha256:$(sha256 "$ROOT/etc/f")
		EOF
	)" "$(cat "$T/human")" "human report"
}

@test "mode: chmod reports mode and ctime with octal values" {
	make_tree
	chmod 4755 "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f mode,ctime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 0644 "$(jget /etc/f fim.before.mode)" "fim.before.mode"
	assert_eq 4755 "$(jget /etc/f fim.after.mode)" "fim.after.mode"
}

@test "uid and gid: chown reports both as numbers" {
	make_tree
	chown 1234:5678 "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f uid,gid,ctime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 0 "$(jget /etc/f fim.before.uid)" "fim.before.uid"
	assert_eq 1234 "$(jget /etc/f fim.after.uid)" "fim.after.uid"
	assert_eq 5678 "$(jget /etc/f fim.after.gid)" "fim.after.gid"
}

@test "gid alone: chgrp reports gid, not uid" {
	make_tree
	chgrp 42 "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f gid,ctime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "size: a truncated file reports size, mtime, ctime and hash" {
	make_tree
	truncate -s 2 "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f size,mtime,ctime,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 4 "$(jget /etc/f fim.before.size)" "fim.before.size"
	assert_eq 2 "$(jget /etc/f fim.after.size)" "fim.after.size"
}

@test "mtime: touch -m reports mtime and ctime in RFC 3339 UTC with nanoseconds" {
	make_tree
	touch -m -d '2023-05-06 07:08:09.987654321 UTC' "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f mtime,ctime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 2020-01-02T03:04:05.123456789Z "$(jget /etc/f fim.before.mtime)" "fim.before.mtime"
	assert_eq 2023-05-06T07:08:09.987654321Z "$(jget /etc/f fim.after.mtime)" "fim.after.mtime"
}

@test "atime: touch -a is not drift under CONTENT, and is under a rule with atime" {
	make_tree
	touch -a -d '2022-01-01 00:00:00 UTC' "$ROOT/etc/f"
	# touch -a still moves ctime, which CONTENT has.
	expect_check 4 <<-'EOF'
		changed /etc/f ctime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	policy <<-'EOF'
		/etc   atime
		=/etc  PERMS
	EOF
	baseline
	touch -a -d '2022-02-02 00:00:00 UTC' "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f atime
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 2022-01-01T00:00:00.000000000Z "$(jget /etc/f fim.before.atime)" "fim.before.atime"
	assert_eq 2022-02-02T00:00:00.000000000Z "$(jget /etc/f fim.after.atime)" "fim.after.atime"
}

@test "inode: a file replaced by a copy of itself (mv) reports inode and ctime" {
	make_tree
	local before
	before=$(stat -c %i "$ROOT/etc/f")
	cp -p "$ROOT/etc/f" "$ROOT/etc/f.tmp"
	mv "$ROOT/etc/f.tmp" "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,inode
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "$before" "$(jget /etc/f fim.before.inode)" "fim.before.inode"
	assert_eq "$(stat -c %i "$ROOT/etc/f")" "$(jget /etc/f fim.after.inode)" "fim.after.inode"
}

@test "nlink: a hard link made elsewhere reports nlink and ctime" {
	make_tree
	ln "$ROOT/etc/f" "$ROOT/other/hardlink"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,nlink
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 1 "$(jget /etc/f fim.before.nlink)" "fim.before.nlink"
	assert_eq 2 "$(jget /etc/f fim.after.nlink)" "fim.after.nlink"
}

@test "target: ln -sfn to another target reports target (and the new link's metadata)" {
	mkdir -p "$ROOT/etc"
	ln -s /old "$ROOT/etc/l"
	age_tree "$ROOT"
	policy <<-'EOF'
		/etc   CONTENT
		=/etc  PERMS
	EOF
	baseline
	local ino_before
	ino_before=$(stat -c %i "$ROOT/etc/l")
	ln -sfn /new/target "$ROOT/etc/l"
	# ln may or may not give the new link a new inode number; ask the file system.
	local want=size,mtime,ctime,inode,target
	[ "$(stat -c %i "$ROOT/etc/l")" != "$ino_before" ] || want=size,mtime,ctime,target
	expect_check 4 <<-EOF
		changed /etc/l $want
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq /old "$(jget /etc/l fim.before.target)" "fim.before.target"
	assert_eq /new/target "$(jget /etc/l fim.after.target)" "fim.after.target"
	assert_eq 4 "$(jget /etc/l fim.before.size)" "fim.before.size"
	assert_eq 11 "$(jget /etc/l fim.after.size)" "fim.after.size"
}

@test "target: same length, only the target differs (new link renamed over the old)" {
	mkdir -p "$ROOT/etc"
	ln -s /aaa "$ROOT/etc/l"
	age_tree "$ROOT"
	policy <<<'/etc/l target'
	baseline
	ln -s /bbb "$ROOT/etc/l.tmp"
	mv -T "$ROOT/etc/l.tmp" "$ROOT/etc/l"
	expect_check 4 <<-'EOF'
		changed /etc/l target
		summary scanned=1 added=0 removed=0 changed=1 errors=0
	EOF
}

# A value that only one side has (hash of a file, target of a link) appeared
# or vanished: that is a change of that attribute, reported with the type.
@test "type: a file replaced by a directory" {
	make_tree
	set_aside "$ROOT/etc/f"
	mkdir "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f type,mode,size,mtime,ctime,inode,nlink,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq file "$(jget /etc/f fim.before.type)" "fim.before.type"
	assert_eq dir "$(jget /etc/f fim.after.type)" "fim.after.type"
}

@test "type: a file replaced by a symlink reports where the link points" {
	make_tree
	set_aside "$ROOT/etc/f"
	ln -s /tmp/evil "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f type,mode,size,mtime,ctime,inode,target,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq symlink "$(jget /etc/f fim.after.type)" "fim.after.type"
	assert_eq /tmp/evil "$(jget /etc/f fim.after.target)" "fim.after.target"
}

@test "type: a file replaced by a FIFO" {
	make_tree
	set_aside "$ROOT/etc/f"
	mkfifo -m 644 "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f type,size,mtime,ctime,inode,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq fifo "$(jget /etc/f fim.after.type)" "fim.after.type"
}

@test "type: a directory replaced by a symlink to it: the link is not followed" {
	mkdir -p "$ROOT/etc/d" "$ROOT/elsewhere"
	printf 'x\n' >"$ROOT/etc/d/x"
	cp -a "$ROOT/etc/d/x" "$ROOT/elsewhere/x"
	policy <<-'EOF'
		/etc  type target
	EOF
	baseline
	set_aside "$ROOT/etc/d"
	ln -s ../elsewhere "$ROOT/etc/d"
	expect_check 6 <<-'EOF'
		changed /etc/d type,target
		removed /etc/d/x
		summary scanned=2 added=0 removed=1 changed=1 errors=0
	EOF
}

@test "xattrs: setfattr reports xattrs and ctime, value as name=\"text\"" {
	make_tree
	setfattr -n user.x -v y "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,xattrs
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "" "$(jget /etc/f fim.before.xattrs)" "fim.before.xattrs"
	assert_eq 'user.x="y"' "$(jget /etc/f fim.after.xattrs)" "fim.after.xattrs"
}

@test "xattrs: trusted.* is left out, so root and a confined service see the same" {
	make_tree
	setfattr -n trusted.fim -v y "$ROOT/etc/f" || skip "no trusted.* xattrs here"
	setfattr -n user.x -v y "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,xattrs
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'user.x="y"' "$(jget /etc/f fim.after.xattrs)" "fim.after.xattrs"
}

@test "xattrs: binary and long values, sorted by name" {
	make_tree
	setfattr -n user.b -v 0x00ff10 "$ROOT/etc/f"
	setfattr -n user.a -v "$(printf 'v%.0s' $(seq 300))" "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,xattrs
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	local long
	long=$(printf 'v%.0s' $(seq 300) | sha256sum | cut -d' ' -f1)
	local got
	got=$(jget /etc/f fim.after.xattrs)
	assert_contains "$got" "user.a=sha256:$long" "fim.after.xattrs"
	assert_contains "$got" "user.b=0x00ff10" "fim.after.xattrs"
	case "$got" in
	user.a=*user.b=*) ;;
	*) assert_eq "user.a=... user.b=..." "$got" "order of fim.after.xattrs" ;;
	esac
}

@test "acl: setfacl reports acl and ctime in short text form" {
	make_tree
	setfacl -m u:1234:r "$ROOT/etc/f"
	# The mask is r--, as the group bits were: the mode does not change.
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,acl
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "" "$(jget /etc/f fim.before.acl)" "fim.before.acl"
	assert_eq "u::rw-,u:1234:r--,g::r--,m::r--,o::r--" "$(jget /etc/f fim.after.acl)" "fim.after.acl"
}

@test "acl: a default ACL on a directory carries the d: prefix" {
	mkdir -p "$ROOT/etc/d"
	policy <<<'/etc/d acl'
	baseline
	setfacl -d -m u:1234:rx "$ROOT/etc/d"
	expect_check 4 <<-'EOF'
		changed /etc/d acl
		summary scanned=1 added=0 removed=0 changed=1 errors=0
	EOF
	assert_contains "$(jget /etc/d fim.after.acl)" "d:u:1234:r-x" "fim.after.acl"
}

@test "caps: setcap reports caps and ctime, not xattrs" {
	command -v setcap >/dev/null || skip "setcap is not installed"
	make_tree
	setcap cap_net_raw+ep "$ROOT/etc/f"
	expect_check 4 <<-'EOF'
		changed /etc/f ctime,caps
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "" "$(jget /etc/f fim.before.caps)" "fim.before.caps"
	assert_eq "cap_net_raw=ep" "$(jget /etc/f fim.after.caps)" "fim.after.caps"
}

@test "selinux: label changes" {
	skip "needs a system with SELinux enabled to set labels"
}

@test "every attribute at once on one file, none on its neighbour" {
	make_tree
	printf 'a different content\n' >"$ROOT/etc/f"
	chmod 600 "$ROOT/etc/f"
	chown 1:2 "$ROOT/etc/f"
	setfattr -n user.k -v v "$ROOT/etc/f"
	setfacl -m u:99:r "$ROOT/etc/f"
	ln "$ROOT/etc/f" "$ROOT/other/second-name"
	expect_check 4 <<-'EOF'
		changed /etc/f mode,uid,gid,size,mtime,ctime,nlink,hash,xattrs,acl
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 0640 "$(jget /etc/f fim.after.mode)" "fim.after.mode (group bits show the ACL mask)"
}

@test "hash: set hash = sha512 records sha512:HEX equal to sha512sum" {
	mkdir -p "$ROOT/etc"
	printf 'some content\n' >"$ROOT/etc/f"
	policy <<-'EOF'
		set hash = sha512
		/etc CONTENT
	EOF
	fimrun baseline
	assert_rc 0
	assert_contains "$out" "hashed (sha512)" "baseline output"
	local old new
	old=$(sha512sum <"$ROOT/etc/f" | cut -d' ' -f1)
	fimrun --format json show /etc/f
	assert_rc 0
	assert_contains "$out" "\"hash\":\"sha512:$old\"" "show output"
	printf 'other content\n' >"$ROOT/etc/f"
	new=$(sha512sum <"$ROOT/etc/f" | cut -d' ' -f1)
	check_json
	assert_eq "sha512:$old" "$(jget /etc/f fim.before.hash)" "fim.before.hash"
	assert_eq "sha512:$new" "$(jget /etc/f fim.after.hash)" "fim.after.hash"
	assert_eq "{\"sha512\": \"$new\"}" "$(jget /etc/f file.hash)" "ECS file.hash"
}

@test "hash: set hash = blake2b records blake2b:HEX equal to b2sum (BLAKE2b-512)" {
	mkdir -p "$ROOT/etc"
	printf 'some content\n' >"$ROOT/etc/f"
	: >"$ROOT/etc/empty"
	head -c 200000 /dev/urandom >"$ROOT/etc/big"
	policy <<-'EOF'
		set hash = blake2b
		/etc CONTENT
	EOF
	fimrun baseline
	assert_rc 0
	assert_contains "$out" "hashed (blake2b)" "baseline output"
	local f
	for f in f empty big; do
		fimrun --format json show "/etc/$f"
		assert_rc 0
		assert_contains "$out" "\"hash\":\"blake2b:$(b2sum <"$ROOT/etc/$f" | cut -d' ' -f1)\"" "show /etc/$f"
	done
	local old
	old=$(b2sum <"$ROOT/etc/f" | cut -d' ' -f1)
	printf 'other content\n' >"$ROOT/etc/f"
	check_json
	assert_eq "blake2b:$old" "$(jget /etc/f fim.before.hash)" "fim.before.hash"
	assert_eq "blake2b:$(b2sum <"$ROOT/etc/f" | cut -d' ' -f1)" "$(jget /etc/f fim.after.hash)" "fim.after.hash"
}

@test "hash: the default is sha256, equal to sha256sum, also for a file larger than any buffer" {
	mkdir -p "$ROOT/etc"
	head -c 3000000 /dev/urandom >"$ROOT/etc/big"
	policy <<<'/etc CONTENT'
	baseline
	fimrun --format json show /etc/big
	assert_contains "$out" "\"hash\":\"sha256:$(sha256 "$ROOT/etc/big")\"" "show output"
	# One byte in the middle, same size and mtime: still caught.
	local m
	m=$(stat -c %y "$ROOT/etc/big")
	printf 'Z' | dd of="$ROOT/etc/big" bs=1 seek=1500000 conv=notrunc status=none
	touch -d "$m" "$ROOT/etc/big"
	expect_check 4 <<-'EOF'
		changed /etc/big ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "hash: the baseline's algorithm is used by check even if the policy now names another" {
	mkdir -p "$ROOT/etc"
	printf 'x\n' >"$ROOT/etc/f"
	policy <<-'EOF'
		set hash = sha512
		/etc CONTENT
	EOF
	baseline
	policy <<-'EOF'
		set hash = blake2b
		/etc CONTENT
	EOF
	# The policy changed: a warning, but an untouched file is not drift.
	check_json
	assert_events <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0 newly_in_scope=0 out_of_scope=0 policy_changed=true
	EOF
	assert_rc 0
	assert_contains "$err" "warning" "stderr"
}

@test "acl of a directory not walked into (=/boot) is still compared" {
	mkdir -p "$ROOT/boot"
	policy <<<'=/boot acl'
	baseline
	setfacl -m u:1234:rwx "$ROOT/boot"
	expect_check 4 <<-'EOF'
		changed /boot acl
		summary scanned=1 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "u::rwx,u:1234:rwx,g::r-x,m::rwx,o::r-x" "$(jget /boot fim.after.acl)" "fim.after.acl"
}

@test "a rule without type: the merge still works and a type swap is reported" {
	mkdir -p "$ROOT/etc/sub"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/etc/sub/b"
	printf 's\n' >"$ROOT/etc/shadow"
	policy <<<'/etc hash'
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=5 added=0 removed=0 changed=0 errors=0
	EOF
	rm "$ROOT/etc/a"
	printf 'B\n' >"$ROOT/etc/sub/b"
	rm "$ROOT/etc/shadow"
	mkfifo "$ROOT/etc/shadow"
	expect_check 6 <<-'EOF'
		changed /etc/shadow type,hash
		changed /etc/sub/b hash
		removed /etc/a
		summary scanned=4 added=0 removed=1 changed=2 errors=0
	EOF
}

@test "xattrs: names holding separators cannot pass for other xattrs" {
	printf 'x\n' >"$ROOT/f1"
	printf 'x\n' >"$ROOT/f2"
	setfattr -n user.a -v 1 "$ROOT/f1"
	setfattr -n user.b -v 2 "$ROOT/f1"
	setfattr -n 'user.a="1",user.b' -v 2 "$ROOT/f2"
	policy <<<'/ xattrs'
	baseline
	fimrun --format json show /f1 /f2
	assert_rc 0
	assert_contains "$out" '"xattrs":"user.a=\"1\",user.b=\"2\""' "f1"
	assert_contains "$out" '"xattrs":"0x757365722e613d2231222c757365722e62=\"2\""' "f2"
}
