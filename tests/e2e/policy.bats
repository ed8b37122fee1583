#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The policy language end to end: what each construct selects and compares,
# as seen in check reports and in `fim policy test`.

load helpers

@test "exclude '!': nothing under an excluded path is recorded or reported" {
	mkdir -p "$ROOT/etc/skip/deeper"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'm\n' >"$ROOT/etc/mtab"
	printf 'x\n' >"$ROOT/etc/skip/x"
	printf 'y\n' >"$ROOT/etc/skip/deeper/y"
	policy <<-'EOF'
		/etc   CONTENT
		=/etc  PERMS
		!/etc/skip
		!/etc/mtab
	EOF
	baseline
	for p in /etc/skip /etc/skip/x /etc/skip/deeper/y /etc/mtab; do
		fimrun show "$p"
		assert_rc 2
	done
	printf 'changed\n' >>"$ROOT/etc/mtab"
	printf 'changed\n' >>"$ROOT/etc/skip/x"
	chmod 700 "$ROOT/etc/skip"
	rm "$ROOT/etc/skip/deeper/y"
	printf 'new\n' >"$ROOT/etc/skip/new"
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
	# The rest is still checked.
	printf 'changed\n' >>"$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "exclude '!' then a later rule below it: only that path comes back" {
	mkdir -p "$ROOT/etc/ssh"
	printf 'c\n' >"$ROOT/etc/ssh/sshd_config"
	printf 'm\n' >"$ROOT/etc/ssh/moduli"
	policy <<-'EOF'
		/etc                  CONTENT
		=/etc                 PERMS
		!/etc/ssh
		/etc/ssh/sshd_config  CONTENT
	EOF
	baseline
	printf 'x\n' >>"$ROOT/etc/ssh/sshd_config"
	printf 'x\n' >>"$ROOT/etc/ssh/moduli"
	printf 'x\n' >"$ROOT/etc/ssh/new"
	expect_check 4 <<-'EOF'
		changed /etc/ssh/sshd_config size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "'=' selects the directory itself only: a new file below it is not reported" {
	mkdir -p "$ROOT/boot/grub"
	printf 'k\n' >"$ROOT/boot/vmlinuz"
	policy <<<'=/boot PERMS'
	baseline
	fimrun show /boot/vmlinuz
	assert_rc 2
	printf 'evil\n' >"$ROOT/boot/new"
	printf 'x\n' >>"$ROOT/boot/vmlinuz"
	rm -r "$ROOT/boot/grub"
	# PERMS has no mtime, ctime or nlink: the directory itself did not change.
	expect_check 0 <<-'EOF'
		summary scanned=1 added=0 removed=0 changed=0 errors=0
	EOF
	chmod 700 "$ROOT/boot"
	expect_check 4 <<-'EOF'
		changed /boot mode
		summary scanned=1 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "'*' matches within one component, '**' across any number of them" {
	mkdir -p "$ROOT/home/al/.ssh" "$ROOT/home/bo/.ssh" "$ROOT/home/al/sub/.ssh" \
		"$ROOT/srv/x/y"
	for f in home/al/.ssh/authorized_keys home/bo/.ssh/authorized_keys home/al/.ssh/id_rsa \
		home/al/sub/.ssh/authorized_keys home/al/notes srv/a.conf srv/x/y/b.conf \
		srv/x/y/b.txt srv/x/c.conf.bak; do
		printf 'v1\n' >"$ROOT/$f"
	done
	policy <<-'EOF'
		/home/*/.ssh/authorized_keys  CONTENT severity=critical
		/srv/**/*.conf                CONTENT
	EOF
	baseline
	find "$ROOT" -type f -exec sh -c 'printf "v2\n" >>"$1"' sh {} \;
	expect_check 4 <<-'EOF'
		changed /home/al/.ssh/authorized_keys size,mtime,ctime,hash
		changed /home/bo/.ssh/authorized_keys size,mtime,ctime,hash
		changed /srv/a.conf size,mtime,ctime,hash
		changed /srv/x/y/b.conf size,mtime,ctime,hash
		summary scanned=4 added=0 removed=0 changed=4 errors=0
	EOF
	# A new match of a glob is added; a new non-match is not.
	mkdir -p "$ROOT/home/cy/.ssh" "$ROOT/srv/z"
	printf 'k\n' >"$ROOT/home/cy/.ssh/authorized_keys"
	printf 'k\n' >"$ROOT/home/cy/.ssh/other"
	printf 'k\n' >"$ROOT/srv/z/new.conf"
	printf 'k\n' >"$ROOT/srv/z/new.txt"
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=6 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "'?' and '[...]' match one character of a component" {
	mkdir -p "$ROOT/etc"
	for f in rc1.d rc2.d rc3.d rcS.d rc10.d; do
		printf 'x\n' >"$ROOT/etc/$f"
	done
	policy <<-'EOF'
		/etc/rc?.d     hash
		!/etc/rc[12].d
	EOF
	baseline
	for f in rc1.d rc2.d rc3.d rcS.d rc10.d; do
		printf 'y\n' >"$ROOT/etc/$f"
	done
	expect_check 4 <<-'EOF'
		changed /etc/rc3.d hash
		changed /etc/rcS.d hash
		summary scanned=2 added=0 removed=0 changed=2 errors=0
	EOF
}

@test "the last matching rule wins, even when it is less specific" {
	mkdir -p "$ROOT/etc/ssh"
	printf 'c\n' >"$ROOT/etc/ssh/sshd_config"
	printf 'p\n' >"$ROOT/etc/passwd"
	policy <<-'EOF'
		/etc      CONTENT severity=high
		=/etc     PERMS
		=/etc/ssh PERMS
		/etc/ssh/sshd_config PERMS severity=critical
	EOF
	baseline
	chmod 600 "$ROOT/etc/ssh/sshd_config" "$ROOT/etc/passwd"
	printf 'x\n' >>"$ROOT/etc/ssh/sshd_config"
	printf 'x\n' >>"$ROOT/etc/passwd"
	expect_check 4 <<-'EOF'
		changed /etc/passwd mode,size,mtime,ctime,hash
		changed /etc/ssh/sshd_config mode
		summary scanned=4 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq critical "$(jget /etc/ssh/sshd_config fim.severity)" "severity of sshd_config"
	assert_eq high "$(jget /etc/passwd fim.severity)" "severity of passwd"

	# The same rules with the general one last: it decides everything below /etc.
	policy <<-'EOF'
		/etc/ssh/sshd_config PERMS severity=critical
		/etc      CONTENT severity=high
		=/etc     PERMS
		=/etc/ssh PERMS
	EOF
	baseline
	chmod 644 "$ROOT/etc/ssh/sshd_config"
	printf 'y\n' >>"$ROOT/etc/ssh/sshd_config"
	expect_check 4 <<-'EOF'
		changed /etc/ssh/sshd_config mode,size,mtime,ctime,hash
		summary scanned=4 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq high "$(jget /etc/ssh/sshd_config fim.severity)" "severity of sshd_config"
}

@test "-attr: CONTENT -mtime -ctime makes touching the mtime no drift" {
	mkdir -p "$ROOT/etc"
	printf 'abc\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<-'EOF'
		/etc  -mtime -ctime
		=/etc PERMS
	EOF
	fimrun policy test /etc/a
	assert_eq "    type mode uid gid size inode nlink target hash xattrs acl caps selinux" \
		"$(sed -n 2p "$T/out")" "attributes of /etc/a"
	baseline
	touch -m "$ROOT/etc/a"
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
	printf 'more\n' >>"$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a size,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "CONTENT -mtime alone: touching the mtime reports ctime only" {
	mkdir -p "$ROOT/etc"
	printf 'abc\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<-'EOF'
		/etc  CONTENT -mtime
		=/etc PERMS
	EOF
	baseline
	touch -m "$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a ctime
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "+attr and groups: PERMS +hash, a define with -inode" {
	mkdir -p "$ROOT/etc"
	printf 'abc\n' >"$ROOT/etc/b"
	printf 'abc\n' >"$ROOT/etc/c"
	age_tree "$ROOT"
	policy <<-'EOF'
		define MINE = CONTENT -inode -ctime
		/etc    PERMS
		/etc/b  PERMS +hash
		/etc/c  MINE
	EOF
	baseline
	local m
	m=$(stat -c %y "$ROOT/etc/b")
	printf 'xyz\n' >"$ROOT/etc/b"
	touch -d "$m" "$ROOT/etc/b"
	chmod 600 "$ROOT/etc/b"
	cp -p "$ROOT/etc/c" "$ROOT/etc/c.tmp"
	mv "$ROOT/etc/c.tmp" "$ROOT/etc/c"
	expect_check 4 <<-'EOF'
		changed /etc/b mode,hash
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "severity= reaches JSON: fim.severity and event.severity 21, 47, 73, 99" {
	mkdir -p "$ROOT/etc"
	for f in low medium high critical default; do
		printf 'x\n' >"$ROOT/etc/$f"
	done
	policy <<-'EOF'
		/etc/low       hash severity=low
		/etc/medium    hash severity=medium
		/etc/high      hash severity=high
		/etc/critical  hash severity=critical
		/etc/default   hash
	EOF
	baseline
	for f in low medium high critical default; do
		printf 'y\n' >"$ROOT/etc/$f"
	done
	printf 'z\n' >"$ROOT/etc/new"
	check_json
	assert_rc 4
	local f want
	for f in low:21 medium:47 high:73 critical:99 default:47; do
		want=${f%:*}
		[ "$want" = default ] && want=medium
		assert_eq "$want" "$(jget "/etc/${f%:*}" fim.severity)" "fim.severity of /etc/${f%:*}"
		assert_eq "${f#*:}" "$(jget "/etc/${f%:*}" event.severity)" "event.severity of /etc/${f%:*}"
	done
	fimrun --format human check
	assert_contains "$out" "  /etc/critical  [critical]  hash" "human report"
	assert_contains "$out" "  /etc/low  [low]  hash" "human report"
}

@test "severity of added and removed objects is their rule's" {
	mkdir -p "$ROOT/etc/crit"
	printf 'x\n' >"$ROOT/etc/crit/old"
	policy <<-'EOF'
		/etc        type severity=low
		/etc/crit/* type severity=critical
	EOF
	baseline
	rm "$ROOT/etc/crit/old"
	printf 'x\n' >"$ROOT/etc/crit/new"
	expect_check 3 <<-'EOF'
		added /etc/crit/new
		removed /etc/crit/old
		summary scanned=3 added=1 removed=1 changed=0 errors=0
	EOF
	assert_eq 99 "$(jget /etc/crit/new event.severity)" "event.severity of the added file"
	assert_eq 99 "$(jget /etc/crit/old event.severity)" "event.severity of the removed file"
	assert_eq "/etc/crit/*" "$(jget /etc/crit/new fim.rule)" "fim.rule of the added file"
}

@test "growing: appending is not drift, also on a second check" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\n' >"$ROOT/var/log/syslog"
	age_tree "$ROOT"
	policy <<-'EOF'
		/var/log  CONTENT growing severity=low
		=/var/log PERMS
	EOF
	baseline
	printf 'line 2\n' >>"$ROOT/var/log/syslog"
	for i in 1 2; do
		expect_check 0 <<-'EOF'
			summary scanned=2 added=0 removed=0 changed=0 errors=0
		EOF
	done
	printf 'line 3\n' >>"$ROOT/var/log/syslog"
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "growing: a truncated log is reported with size and hash" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\nline 2\n' >"$ROOT/var/log/syslog"
	policy <<-'EOF'
		/var/log  CONTENT growing severity=low
		=/var/log PERMS
	EOF
	baseline
	truncate -s 7 "$ROOT/var/log/syslog"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq low "$(jget /var/log/syslog fim.severity)" "fim.severity"
	: >"$ROOT/var/log/syslog"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "growing implies size: a rule of permissions alone still sees a wiped log" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\nline 2\n' >"$ROOT/var/log/auth.log"
	policy <<-'EOF'
		/var/log  PERMS inode growing severity=low
		=/var/log PERMS
	EOF
	baseline
	printf 'line 3\n' >>"$ROOT/var/log/auth.log"
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
	: >"$ROOT/var/log/auth.log"
	expect_check 4 <<-'EOF'
		changed /var/log/auth.log size
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "growing: rewriting the start is reported, same size or grown" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\nline 2\n' >"$ROOT/var/log/syslog"
	policy <<-'EOF'
		/var/log  CONTENT growing
		=/var/log PERMS
	EOF
	baseline
	printf 'X' | dd of="$ROOT/var/log/syslog" bs=1 seek=0 conv=notrunc status=none
	expect_check 4 <<-'EOF'
		changed /var/log/syslog mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	# Rewritten and then appended to: the growth is allowed, the rewrite is not.
	printf 'line 3\n' >>"$ROOT/var/log/syslog"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "growing: a log replaced by a longer file with other content is reported" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\n' >"$ROOT/var/log/syslog"
	policy <<-'EOF'
		/var/log  type size mtime ctime hash growing
	EOF
	baseline
	printf 'lINE 1\nline 2\n' >"$ROOT/var/log/syslog"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "growing does not excuse other attributes: chmod of a log is drift" {
	mkdir -p "$ROOT/var/log"
	printf 'line 1\n' >"$ROOT/var/log/syslog"
	policy <<-'EOF'
		/var/log  CONTENT growing
		=/var/log PERMS
	EOF
	baseline
	printf 'line 2\n' >>"$ROOT/var/log/syslog"
	chmod 666 "$ROOT/var/log/syslog"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog mode
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "include of a policy.d/*.policy glob: files in byte order, others ignored" {
	mkdir -p "$ROOT/etc/skip" "$T/policy.d"
	printf 'a\n' >"$ROOT/etc/a"
	printf 's\n' >"$ROOT/etc/skip/s"
	policy <<-'EOF'
		# the main file only includes
		include policy.d/*.policy
	EOF
	printf '/etc CONTENT severity=high\n=/etc PERMS\n' >"$T/policy.d/10-etc.policy"
	printf '!/etc/skip\n' >"$T/policy.d/20-skip.policy"
	printf 'this is not a policy\n' >"$T/policy.d/README"
	printf '/etc CONTENT severity=low\n' >"$T/policy.d/05-first.policy"
	fimrun policy test /etc/a /etc/skip/s
	assert_rc 0
	assert_eq "$(
		cat <<-EOF
			/etc/a: /etc ($T/policy.d/10-etc.policy:1) severity=high
			    type mode uid gid size mtime ctime inode nlink target hash xattrs acl caps selinux
			/etc/skip/s: excluded by !/etc/skip ($T/policy.d/20-skip.policy:1)
		EOF
	)" "$out" "policy test"
	baseline
	printf 'x\n' >>"$ROOT/etc/a"
	printf 'x\n' >>"$ROOT/etc/skip/s"
	expect_check 4 <<-'EOF'
		changed /etc/a size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq high "$(jget /etc/a fim.severity)" "fim.severity"
}

@test "include of a glob that matches nothing is not an error" {
	mkdir -p "$ROOT/etc"
	policy <<-'EOF'
		include nothing.d/*.policy
		/etc CONTENT
	EOF
	fimrun baseline
	assert_rc 0
}

@test "policy test: selected, excluded and unselected paths, human" {
	policy <<-'EOF'
		# a comment
		define PERMS   = type mode uid gid acl xattrs caps selinux
		define CONTENT = PERMS size mtime ctime inode nlink target hash
		/etc          CONTENT  severity=high
		=/boot        PERMS
		!/etc/mtab
		/var/log      PERMS inode growing severity=low
	EOF
	fimrun policy test /etc/passwd /etc/mtab /etc/mtab/sub /boot /boot/vmlinuz /usr/bin/ls /var/log/syslog /etc/
	assert_rc 0
	assert_eq "$(
		cat <<-EOF
			/etc/passwd: /etc ($POL:4) severity=high
			    type mode uid gid size mtime ctime inode nlink target hash xattrs acl caps selinux
			/etc/mtab: excluded by !/etc/mtab ($POL:6)
			/etc/mtab/sub: excluded by !/etc/mtab ($POL:6)
			/boot: =/boot ($POL:5) severity=medium
			    type mode uid gid xattrs acl caps selinux
			/boot/vmlinuz: not selected (no rule matches)
			/usr/bin/ls: not selected (no rule matches)
			/var/log/syslog: /var/log ($POL:7) severity=low growing
			    type mode uid gid size inode xattrs acl caps selinux
			/etc: /etc ($POL:4) severity=high
			    type mode uid gid size mtime ctime inode nlink target hash xattrs acl caps selinux
		EOF
	)" "$out" "policy test output"
	assert_eq "" "$err" "stderr"
}

@test "policy test: JSON lines for selected, excluded and unselected paths" {
	policy <<-'EOF'
		/etc      CONTENT severity=high
		!/etc/mtab
		/var/log  PERMS inode growing severity=low
	EOF
	fimrun --format json policy test /etc/passwd /etc/mtab /usr/bin /var/log/syslog
	assert_rc 0
	assert_eq "$(
		cat <<-EOF
			{"path":"/etc/passwd","selected":true,"rule":"/etc","file":"$POL","line":1,"attributes":["type","mode","uid","gid","size","mtime","ctime","inode","nlink","target","hash","xattrs","acl","caps","selinux"],"severity":"high","growing":false}
			{"path":"/etc/mtab","selected":false,"rule":"/etc/mtab","file":"$POL","line":2}
			{"path":"/usr/bin","selected":false}
			{"path":"/var/log/syslog","selected":true,"rule":"/var/log","file":"$POL","line":3,"attributes":["type","mode","uid","gid","size","inode","xattrs","acl","caps","selinux"],"severity":"low","growing":true}
		EOF
	)" "$out" "policy test JSON"
}

@test "policy test: a relative path is a usage error, the others are still answered" {
	policy <<<'/etc CONTENT'
	fimrun policy test etc/passwd /etc/passwd
	assert_rc 16
	assert_eq "fim: etc/passwd: not an absolute path" "$err" "stderr"
	assert_eq "/etc/passwd: /etc ($POL:1) severity=medium" "$(head -n1 "$T/out")" "stdout"
}

@test "policy test does not read the file system under the root" {
	policy <<<'/etc CONTENT'
	fimraw -r "$T/does-not-exist" -c "$POL" policy test /etc/passwd
	assert_rc 0
	assert_eq "/etc/passwd: /etc ($POL:1) severity=medium" "$(head -n1 "$T/out")" "stdout"
}

@test "policy changed after the baseline: newly selected files are not 'added'" {
	mkdir -p "$ROOT/etc" "$ROOT/opt/app/lib"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/opt/app/bin"
	printf 'c\n' >"$ROOT/opt/app/lib/c"
	policy <<<'/etc CONTENT'
	baseline
	policy <<-'EOF'
		/etc CONTENT
		/opt CONTENT
	EOF
	expect_check 0 <<-'EOF'
		summary scanned=7 added=0 removed=0 changed=0 errors=0 newly_in_scope=5 out_of_scope=0 policy_changed=true
	EOF
	assert_contains "$err" "fim: warning: $POL:" "stderr"
	assert_contains "$err" "policy" "stderr"
	fimrun --format human check
	assert_rc 0
	assert_contains "$out" "note: the policy changed since the baseline: 5 objects newly in scope and 0 out of scope are not drift; run 'fim baseline' to adopt it" "human report"
	# Objects both policies select are still compared.
	printf 'x\n' >>"$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a size,mtime,ctime,hash
		summary scanned=7 added=0 removed=0 changed=1 errors=0 newly_in_scope=5 out_of_scope=0 policy_changed=true
	EOF
	# After a new baseline the note is gone and the new files are watched.
	baseline
	printf 'x\n' >>"$ROOT/opt/app/bin"
	expect_check 4 <<-'EOF'
		changed /opt/app/bin size,mtime,ctime,hash
		summary scanned=7 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "" "$err" "stderr after the new baseline"
}

@test "policy changed after the baseline: dropped files are not 'removed'" {
	mkdir -p "$ROOT/etc" "$ROOT/opt"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/opt/b"
	policy <<-'EOF'
		/etc CONTENT
		/opt CONTENT
	EOF
	baseline
	policy <<<'/etc CONTENT'
	# /opt and /opt/b are no longer selected.
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0 newly_in_scope=0 out_of_scope=2 policy_changed=true
	EOF
	assert_contains "$err" "warning" "stderr"
}

@test "policy changed after the baseline: only attributes the baseline recorded are compared" {
	mkdir -p "$ROOT/etc"
	printf 'a\n' >"$ROOT/etc/a"
	policy <<-'EOF'
		/etc  PERMS
	EOF
	baseline
	policy <<-'EOF'
		/etc  CONTENT
	EOF
	printf 'more\n' >>"$ROOT/etc/a"
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0 newly_in_scope=0 out_of_scope=0 policy_changed=true
	EOF
	chmod 600 "$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a mode
		summary scanned=2 added=0 removed=0 changed=1 errors=0 newly_in_scope=0 out_of_scope=0 policy_changed=true
	EOF
}

@test "a comment-only change of the policy is still a policy change" {
	mkdir -p "$ROOT/etc"
	printf 'a\n' >"$ROOT/etc/a"
	policy <<<'/etc CONTENT'
	baseline
	printf '# a comment\n/etc CONTENT\n' >"$POL"
	check_json
	assert_rc 0
	assert_contains "$err" "fim: warning: $POL: " "stderr"
	# Same text again: no warning.
	printf '/etc CONTENT\n' >"$POL"
	check_json
	assert_rc 0
	assert_eq "" "$err" "stderr"
}
