#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Accounts, groups, SSH keys, sudoers, services and cron end to end: a fake OS
# root, the drift an intruder leaves, and what check says about it.

load helpers

# A small but complete OS root: accounts, a key, sudoers, units, crontabs.
mkos() {
	local e=$ROOT/etc
	mkdir -p "$e/ssh" "$e/sudoers.d" "$e/cron.d" "$e/cron.daily" "$ROOT/root" \
		"$ROOT/home/alice/.ssh" "$ROOT/lib/systemd/system" \
		"$e/systemd/system/multi-user.target.wants" "$ROOT/var/spool/cron/crontabs"
	cat >"$e/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/bash
		daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
		svc:x:998:998:service account:/var/lib/svc:/usr/sbin/nologin
		alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
	EOF
	cat >"$e/shadow" <<-'EOF'
		root:$6$rootsaltQQ$ROOTHASHrootHASHrootHASHrootHASH:19000:0:99999:7:::
		daemon:*:19000:0:99999:7:::
		svc:!:19000:0:99999:7:::
		alice:$y$j9T$ALICESALTzz$ALICEHASHaliceHASHaliceHASH:19000:0:99999:7:::
	EOF
	cat >"$e/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		sudo:x:27:
		svc:x:998:
		alice:x:1000:
	EOF
	cat >"$e/gshadow" <<-'EOF'
		root:*::
		sudo:*::
		alice:!::
	EOF
	cat >"$e/sudoers" <<-'EOF'
		Defaults env_reset
		root ALL=(ALL:ALL) ALL
		%sudo ALL=(ALL:ALL) ALL
		@includedir /etc/sudoers.d
	EOF
	printf 'SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n' \
		>"$e/crontab"
	printf '#!/bin/sh\nexec logrotate /etc/logrotate.conf\n' >"$e/cron.daily/logrotate"
	chmod 755 "$e/cron.daily/logrotate"
	cat >"$ROOT/lib/systemd/system/ssh.service" <<-'EOF'
		[Unit]
		Description=OpenBSD Secure Shell server
		[Service]
		ExecStart=/usr/sbin/sshd -D
		[Install]
		WantedBy=multi-user.target
	EOF
	cat >"$ROOT/lib/systemd/system/foo.service" <<-'EOF'
		[Service]
		ExecStart=/usr/bin/foo
		[Install]
		WantedBy=multi-user.target
	EOF
	ln -s /lib/systemd/system/ssh.service "$e/systemd/system/multi-user.target.wants/ssh.service"
	ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f "$T/alice" >/dev/null
	ssh-keygen -q -t ed25519 -N '' -C intruder -f "$T/evil" >/dev/null
	cp "$T/alice.pub" "$ROOT/home/alice/.ssh/authorized_keys"
	policy <<-'EOF'
		users     severity=high
		groups    severity=high
		services  severity=high
		sudoers   severity=high
		cron      severity=high
	EOF
}

# SHA256 fingerprint of a public key file, as ssh-keygen prints it.
fp() {
	ssh-keygen -lf "$1" | awk '{print $2}'
}

@test "objects: an untouched OS root reports nothing, show and policy test name objects" {
	mkos
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=16 added=0 removed=0 changed=0 errors=0
	EOF
	fimrun show user:svc
	assert_rc 0
	assert_contains "$out" "user svc"
	assert_contains "$out" "shell           /usr/sbin/nologin"
	assert_contains "$out" "password        locked"
	fimrun --format json show user:alice
	assert_rc 0
	assert_contains "$out" '"uid":1000'
	assert_contains "$out" "\"authorized_keys\":[\"$(fp "$T/alice.pub") ssh-ed25519 comment=alice@laptop\"]"
	fimrun show user:nobody
	assert_rc 2
	assert_contains "$err" "user:nobody: not in the baseline"
	fimrun policy test service:ssh.service
	assert_rc 0
	assert_contains "$out" "service:ssh.service: services name=* ($POL:3) severity=high"
}

@test "objects: a shell given to a service account, in its own terms" {
	mkos
	baseline
	sed -i 's|^svc:x:998:998:service account:/var/lib/svc:/usr/sbin/nologin|svc:x:998:998:service account:/var/lib/svc:/bin/bash|' "$ROOT/etc/passwd"
	expect_check 4 <<-'EOF'
		changed user:svc shell
		summary scanned=16 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq /usr/sbin/nologin "$(jget user:svc fim.before.shell)"
	assert_eq '["an account that could not log in was given a shell"]' "$(jget user:svc fim.suspicious)"
	assert_eq critical "$(jget user:svc fim.severity)"
	fimrun check
	assert_rc 4
	assert_contains "$out" "user svc  [critical]  shell"
	assert_contains "$out" "shell           /usr/sbin/nologin -> /bin/bash"
	assert_contains "$out" "! an account that could not log in was given a shell"
}

@test "objects: a second UID 0 account is added and called out" {
	mkos
	baseline
	echo 'toor:x:0:0::/root:/bin/bash' >>"$ROOT/etc/passwd"
	echo 'toor::19000:0:99999:7:::' >>"$ROOT/etc/shadow"
	expect_check 1 <<-'EOF'
		added user:toor
		summary scanned=17 added=1 removed=0 changed=0 errors=0
	EOF
	assert_eq '["a second account with UID 0", "an empty password: anyone can log in as this account"]' \
		"$(jget user:toor fim.suspicious)"
	assert_eq '0' "$(jget user:toor fim.after.uid)"
	assert_eq 'empty' "$(jget user:toor fim.after.password)"
	assert_eq '{"name": "toor", "id": "0", "group": {"id": "0"}}' "$(jget user:toor user)"
	assert_eq '["iam"]' "$(jget user:toor event.category)"
}

@test "objects: password changes are seen, the secret never leaves shadow" {
	mkos
	baseline
	sed -i 's|^alice:[^:]*:|alice:$y$j9T$NEWSALTxx$NEWHASHnewHASHnewHASH:|' "$ROOT/etc/shadow"
	sed -i 's|^svc:!:|svc:$6$svcsalt$SVCHASHsvc:|' "$ROOT/etc/shadow"
	expect_check 4 <<-'EOF'
		changed user:alice password
		changed user:svc password
		summary scanned=16 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq set "$(jget user:alice fim.before.password)"
	assert_eq set "$(jget user:alice fim.after.password)"
	assert_eq locked "$(jget user:svc fim.before.password)"
	assert_eq set "$(jget user:svc fim.after.password)"
	fimrun check
	assert_contains "$out" "password        set -> set (the secret changed)"
	assert_contains "$out" "password        locked -> set"
	fimrun show user:alice user:root
	fimrun --format json show user:alice user:root
	# Nothing fim wrote or stored holds any part of a shadow hash.
	for secret in ALICESALT ALICEHASH NEWSALT NEWHASH rootsalt ROOTHASH SVCHASH svcsalt; do
		if grep -rqa "$secret" "$DB" "$T/out" "$T/err"; then
			echo "secret part $secret leaked" >&2
			return 1
		fi
	done
	fimrun check
	fimrun --format json check
	for secret in NEWSALT NEWHASH SVCHASH; do
		if grep -qa "$secret" "$T/out" "$T/err"; then
			echo "secret part $secret leaked into check output" >&2
			return 1
		fi
	done
}

@test "objects: a user joins the sudo group: both sides, called out" {
	mkos
	baseline
	sed -i 's/^sudo:x:27:$/sudo:x:27:svc/' "$ROOT/etc/group"
	expect_check 4 <<-'EOF'
		changed group:sudo members
		changed user:svc groups
		summary scanned=16 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq '{"members": {"added": ["svc"], "removed": []}}' "$(jget group:sudo fim.delta)"
	assert_eq '["svc is a new member of a sudo-capable group"]' "$(jget group:sudo fim.suspicious)"
	assert_eq '["joined the sudo-capable group sudo"]' "$(jget user:svc fim.suspicious)"
	fimrun check
	assert_contains "$out" "members         + svc"
	assert_contains "$out" "groups          + sudo"
}

@test "objects: an SSH key added, and one whose options changed" {
	mkos
	baseline
	cat "$T/evil.pub" >>"$ROOT/home/alice/.ssh/authorized_keys"
	expect_check 4 <<-'EOF'
		changed user:alice authorized_keys
		summary scanned=16 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "{\"authorized_keys\": {\"added\": [\"$(fp "$T/evil.pub") ssh-ed25519 comment=intruder\"], \"removed\": []}}" \
		"$(jget user:alice fim.delta)"
	baseline
	# options on the known key: same fingerprint, visible as a change of that key
	printf 'from="10.0.0.0/8",no-pty %s\n' "$(cat "$T/alice.pub")" >"$ROOT/home/alice/.ssh/authorized_keys"
	cat "$T/evil.pub" >>"$ROOT/home/alice/.ssh/authorized_keys"
	fimrun check
	assert_rc 4
	assert_contains "$out" "authorized_keys ~ $(fp "$T/alice.pub") ssh-ed25519 options=from=\"10.0.0.0/8\",no-pty comment=alice@laptop (was: $(fp "$T/alice.pub") ssh-ed25519 comment=alice@laptop)"
	# authorized_keys2 is read too: attackers use it because tools forget it
	baseline
	mkdir -p "$ROOT/root/.ssh"
	cp "$T/evil.pub" "$ROOT/root/.ssh/authorized_keys2"
	expect_check 4 <<-'EOF'
		changed user:root authorized_keys
		summary scanned=16 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq '["an SSH key was added to a UID 0 account"]' "$(jget user:root fim.suspicious)"
}

@test "objects: services enabled, masked, overridden by a drop-in running from /tmp" {
	mkos
	baseline
	ln -s /lib/systemd/system/foo.service "$ROOT/etc/systemd/system/multi-user.target.wants/foo.service"
	ln -s /dev/null "$ROOT/etc/systemd/system/ssh.service"
	expect_check 4 <<-'EOF'
		changed service:foo.service enabled,wanted_by
		changed service:ssh.service unit_file,enabled
		summary scanned=16 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq disabled "$(jget service:foo.service fim.before.enabled)"
	assert_eq enabled "$(jget service:foo.service fim.after.enabled)"
	assert_eq masked "$(jget service:ssh.service fim.after.enabled)"
	assert_eq /dev/null "$(jget service:ssh.service fim.after.unit_file)"
	assert_eq '{"name": "ssh.service"}' "$(jget service:ssh.service service)"
	rm "$ROOT/etc/systemd/system/ssh.service"
	baseline
	mkdir -p "$ROOT/etc/systemd/system/foo.service.d"
	printf '[Service]\nExecStart=\nExecStart=/tmp/.x/run\n' >"$ROOT/etc/systemd/system/foo.service.d/override.conf"
	expect_check 4 <<-'EOF'
		changed service:foo.service dropins,exec_start
		summary scanned=16 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq '["/tmp/.x/run"]' "$(jget service:foo.service fim.after.exec_start)"
	assert_eq '["runs a program from a temporary directory: /tmp/.x/run"]' \
		"$(jget service:foo.service fim.suspicious)"
}

@test "objects: sudoers and cron drift, with the dangerous parts called out" {
	mkos
	baseline
	echo 'svc ALL=(ALL) NOPASSWD: ALL' >"$ROOT/etc/sudoers.d/backdoor"
	echo '* * * * * root /dev/shm/.k' >"$ROOT/etc/cron.d/update"
	printf '#!/bin/sh\nexec logrotate -f /etc/logrotate.conf\n' >"$ROOT/etc/cron.daily/logrotate"
	expect_check 5 <<-'EOF'
		added cron:/etc/cron.d/update
		added sudoers:svc
		changed cron:/etc/cron.daily/logrotate hash
		summary scanned=18 added=2 removed=0 changed=1 errors=0
	EOF
	assert_eq '["ALL=(ALL) NOPASSWD: ALL"]' "$(jget sudoers:svc fim.after.rules)"
	assert_eq '["passwordless sudo was granted"]' "$(jget sudoers:svc fim.suspicious)"
	assert_eq '["* * * * * root /dev/shm/.k"]' "$(jget cron:/etc/cron.d/update fim.after.jobs)"
	assert_eq '["runs a program from a temporary directory: /dev/shm/.k"]' \
		"$(jget cron:/etc/cron.d/update fim.suspicious)"
}

@test "objects: per-object rules: an exclusion and an attribute left out" {
	mkos
	policy <<-'EOF'
		users
		!users name=alice
		services
		services name=foo.service -enabled -wanted_by severity=low
	EOF
	baseline
	sed -i 's|^alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash|alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh|' "$ROOT/etc/passwd"
	ln -s /lib/systemd/system/foo.service "$ROOT/etc/systemd/system/multi-user.target.wants/foo.service"
	expect_check 0 <<-'EOF'
		summary scanned=5 added=0 removed=0 changed=0 errors=0
	EOF
	sed -i 's|/usr/bin/foo|/usr/bin/foo --evil|' "$ROOT/lib/systemd/system/foo.service"
	expect_check 4 <<-'EOF'
		changed service:foo.service hash,exec_start
		summary scanned=5 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq low "$(jget service:foo.service fim.severity)"
	assert_eq services\ name=foo.service "$(jget service:foo.service fim.rule)"
}

@test "objects: a malformed line is reported with file:line, the rest still checked" {
	mkos
	baseline
	sed -i '2a this line is not an account' "$ROOT/etc/passwd"
	sed -i 's|^svc:x:998:998:service account:/var/lib/svc:/usr/sbin/nologin|svc:x:998:998:service account:/var/lib/svc:/bin/sh|' "$ROOT/etc/passwd"
	check_json
	assert_rc 12
	assert_contains "$EVENTS" "changed user:svc shell"
	assert_contains "$EVENTS" "error user:/etc/passwd:3"
	assert_contains "$err" "fim: warning: /etc/passwd:3: "
	fimrun check
	assert_contains "$out" "users: /etc/passwd:3: "
}

@test "objects: an unreadable account database is not mistaken for removed accounts" {
	mkos
	baseline
	set_aside "$ROOT/etc/passwd"
	mkdir "$ROOT/etc/passwd"
	check_json
	assert_rc 8
	assert_not_contains "$EVENTS" "removed user:"
	assert_contains "$EVENTS" "error user:/etc/passwd"
}

@test "objects: a symlink inside an image resolves inside the image" {
	mkos
	mv "$ROOT/etc/passwd" "$ROOT/etc/passwd.real"
	ln -s /etc/passwd.real "$ROOT/etc/passwd"
	baseline
	fimrun show user:alice
	assert_rc 0
	assert_contains "$out" "home            /home/alice"
}

@test "objects: a baseline from a policy without objects counts them as newly in scope" {
	mkos
	policy <<-'EOF'
		/etc/passwd CONTENT
	EOF
	baseline
	policy <<-'EOF'
		/etc/passwd CONTENT
		users
	EOF
	expect_check 0 <<-'EOF'
		summary scanned=5 added=0 removed=0 changed=0 errors=0 newly_in_scope=4 out_of_scope=0 policy_changed=true
	EOF
}

@test "objects: a short passwd line before the real one is read as glibc reads it" {
	mkos
	baseline
	sed -i '1i svc::0:0' "$ROOT/etc/passwd"
	expect_check 12 <<-'EOF'
		changed user:svc uid,gid,gecos,home,shell,password
		error user:/etc/passwd:1
		error user:/etc/passwd:4
		summary scanned=16 added=0 removed=0 changed=1 errors=2
	EOF
	assert_eq '0' "$(jget user:svc fim.after.uid)"
	assert_eq '998' "$(jget user:svc fim.before.uid)"
	assert_eq 'empty' "$(jget user:svc fim.after.password)"
	assert_contains "$(jget user:svc fim.suspicious)" "a second account with UID 0"
	fimrun check
	assert_contains "$out" "/etc/passwd:1: 7 fields expected, 4 found: read as glibc does"
	assert_contains "$out" "duplicate user 'svc': the first entry, on line 1, is in force"
}

@test "objects: a short passwd line appended is an added account" {
	mkos
	baseline
	echo 'evil::0:0' >>"$ROOT/etc/passwd"
	expect_check 9 <<-'EOF'
		added user:evil
		error user:/etc/passwd:5
		summary scanned=17 added=1 removed=0 changed=0 errors=1
	EOF
	assert_eq '["a second account with UID 0", "an empty password: anyone can log in as this account"]' \
		"$(jget user:evil fim.suspicious)"
	assert_eq 'empty' "$(jget user:evil fim.after.password)"
}

@test "objects: odd numbers and short group lines are read as glibc reads them" {
	mkos
	baseline
	sed -i 's|^svc:x:998:998:|svc:x:+0: 0:|' "$ROOT/etc/passwd"
	sed -i 's|^sudo:x:27:$|sudo:x:+27:svc|; s|^svc:x:998:$|svc:x:998|' "$ROOT/etc/group"
	expect_check 12 <<-'EOF'
		changed group:sudo members
		changed user:svc uid,gid,groups
		error group:/etc/group:3
		error group:/etc/group:4
		error user:/etc/passwd:3
		error user:/etc/passwd:3
		summary scanned=16 added=0 removed=0 changed=2 errors=4
	EOF
	assert_eq '0' "$(jget user:svc fim.after.uid)"
	assert_eq '["svc"]' "$(jget group:sudo fim.after.members)"
	fimrun check
	assert_contains "$out" "uid '+0' is not plain decimal: read as glibc does, as 0"
	assert_contains "$out" "gid ' 0' is not plain decimal"
	assert_contains "$out" "gid '+27' is not plain decimal"
	assert_contains "$out" "/etc/group:4: 4 fields expected, 3 found: read as glibc does"
}

@test "objects: a flood of malformed lines is reported up to a cap, and all counted" {
	mkos
	baseline
	for i in $(seq 150); do echo "junk$i"; done >>"$ROOT/etc/passwd"
	for i in $(seq 150); do echo "junk$i"; done >>"$ROOT/etc/sudoers"
	fimrun check
	assert_rc 8
	assert_eq 101 "$(grep -c '^fim: warning: /etc/passwd:' "$T/err")" "warnings about passwd"
	assert_contains "$err" "fim: warning: /etc/passwd:105: further problems in this file not reported"
	assert_not_contains "$err" "/etc/passwd:106:"
	assert_eq 101 "$(grep -c '^fim: warning: /etc/sudoers:' "$T/err")" "warnings about sudoers"
	assert_contains "$out" "300 unreadable"
}
