#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Suspicious facts that must not depend on where a new entry sorts.

load helpers

mkcron() {
	mkdir -p "$ROOT/etc/cron.d" "$ROOT/var/spool/cron/crontabs" "$ROOT/lib/systemd/system"
	printf '17 * * * * root run-parts /etc/cron.hourly\n' >"$ROOT/etc/crontab"
	printf '*/5 * * * * /home/alice/bin/sync\n' >"$ROOT/var/spool/cron/crontabs/alice"
	printf '[Service]\nExecStart=/usr/bin/foo\n' >"$ROOT/lib/systemd/system/foo.service"
	policy <<-'EOF'
		cron
		services
	EOF
	baseline
}

@test "suspect: a new @reboot job beside 5-field jobs is still called out" {
	mkcron
	echo '@reboot root /dev/shm/.x' >>"$ROOT/etc/crontab"
	echo '@hourly /var/tmp/.y --quiet' >>"$ROOT/var/spool/cron/crontabs/alice"
	expect_check 4 <<-'EOF'
		changed cron:/etc/crontab jobs
		changed cron:/var/spool/cron/crontabs/alice jobs
		summary scanned=3 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq '["runs a program from a temporary directory: /dev/shm/.x"]' \
		"$(jget cron:/etc/crontab fim.suspicious)"
	assert_eq '["runs a program from a temporary directory: /var/tmp/.y"]' \
		"$(jget cron:/var/spool/cron/crontabs/alice fim.suspicious)"
	assert_eq critical "$(jget cron:/etc/crontab fim.severity)"
}

@test "suspect: systemd's %T specifier is /tmp; a cron '-' is not a prefix" {
	mkcron
	printf '[Service]\nExecStart=%%T/.x run\n' >"$ROOT/lib/systemd/system/foo.service"
	echo '* * * * * root -/usr/bin/true' >>"$ROOT/etc/crontab"
	check_json
	assert_rc 4
	assert_eq '["runs a program from a temporary directory: %T/.x"]' \
		"$(jget service:foo.service fim.suspicious)"
	fimrun --format json check
	if "$PY" "$JSONL" get "$T/out" cron:/etc/crontab fim.suspicious 2>/dev/null; then
		echo "a cron command starting with '-' was called out" >&2
		return 1
	fi
}

@test "suspect: a group granted sudo through a User_Alias is sudo-capable" {
	mkdir -p "$ROOT/etc"
	printf 'root:x:0:0:root:/root:/bin/bash\nsvc:x:998:998::/:/usr/sbin/nologin\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\nops:x:50:\nsvc:x:998:\n' >"$ROOT/etc/group"
	printf 'User_Alias ADMINS = %%ops, alice\nADMINS ALL=(ALL) ALL\n' >"$ROOT/etc/sudoers"
	policy <<-'EOF'
		users
		groups
	EOF
	baseline
	sed -i 's/^ops:x:50:$/ops:x:50:svc/' "$ROOT/etc/group"
	expect_check 4 <<-'EOF'
		changed group:ops members
		changed user:svc groups
		summary scanned=5 added=0 removed=0 changed=2 errors=0
	EOF
	assert_eq '["svc is a new member of a sudo-capable group"]' "$(jget group:ops fim.suspicious)"
	assert_eq '["joined the sudo-capable group ops"]' "$(jget user:svc fim.suspicious)"
}
