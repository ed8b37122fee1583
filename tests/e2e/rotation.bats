#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# growing logs and rotation: a real logrotate run is no drift, a log wiped,
# cut, replaced, or "rotated" without its recorded content is.

load helpers
load watch_helpers

teardown() {
	watch_kill
}

LOG=/var/log/syslog

# mklog: a log with two lines, a policy that follows it as growing, the baseline.
mklog() {
	mkdir -p "$ROOT/var/log"
	printf 'Dec  8 01:00:00 host sshd[1]: Accepted publickey for root\nDec  8 01:00:01 host su: session opened\n' \
		>"$ROOT$LOG"
	policy <<-'EOF'
		=/var/log PERMS
		/var/log/* PERMS size inode hash growing severity=high
		!/var/log/*.[0-9]
		!/var/log/*.gz
		!/var/log/*.xz
		!/var/log/*.zst
		!/var/log/*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]
		!/var/log/*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].gz
	EOF
	age_tree "$ROOT"
	baseline
}

# rotate DIRECTIVE...: logrotate -f on the log with these directives.
rotate() {
	{
		echo "$ROOT$LOG {"
		printf '\t%s\n' "$@"
		echo "}"
	} >"$T/logrotate.conf"
	chmod 644 "$T/logrotate.conf"
	run logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf"
	[ "$status" -eq 0 ] || {
		echo "logrotate failed: $output" >&2
		return 1
	}
}

grow() {
	printf 'Dec  8 02:00:00 host cron[2]: job ran\n' >>"$ROOT$LOG"
}

none() {
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "rotation: create + compress + delaycompress, then growth, then the next rotation" {
	mklog
	grow
	rotate create "rotate 3" compress delaycompress
	[ -f "$ROOT$LOG.1" ] && [ ! -s "$ROOT$LOG" ]
	none
	grow
	none
	# the recorded content moves on to syslog.2.gz, a new inode
	rotate create "rotate 3" compress delaycompress
	[ -f "$ROOT$LOG.2.gz" ]
	none
}

@test "rotation: create + compress, the recorded content only in syslog.1.gz" {
	mklog
	rotate create "rotate 3" compress
	[ -f "$ROOT$LOG.1.gz" ] && [ ! -e "$ROOT$LOG.1" ]
	none
	grow
	none
}

@test "rotation: copytruncate keeps the inode, the copy holds the recorded content" {
	mklog
	ino=$(stat -c %i "$ROOT$LOG")
	rotate copytruncate "rotate 3"
	assert_eq "$ino" "$(stat -c %i "$ROOT$LOG")" "inode after copytruncate"
	assert_eq 0 "$(stat -c %s "$ROOT$LOG")" "size after copytruncate"
	none
	grow
	grow
	grow
	none
}

@test "rotation: dateext" {
	mklog
	rotate create dateext "rotate 3"
	[ -f "$ROOT$LOG-$(date +%Y%m%d)" ]
	none
	grow
	none
}

@test "rotation: a log truncated to zero is drift, said so" {
	mklog
	: >"$ROOT$LOG"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "shrank from 98 to 0 bytes: truncated, not rotated" "$(jget /var/log/syslog fim.note)"
}

@test "rotation: a log cut to half is drift" {
	mklog
	truncate -s 47 "$ROOT$LOG"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "shrank from 98 to 47 bytes: truncated, not rotated" "$(jget /var/log/syslog fim.note)"
}

@test "rotation: a log replaced by a new file with no rotated predecessor is drift" {
	mklog
	set_aside "$ROOT$LOG"
	printf 'Dec  8 03:00:00 host nothing happened\n' >"$ROOT$LOG"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,inode,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "replaced, not rotated: the recorded content is under no rotation name" \
		"$(jget /var/log/syslog fim.note)"
}

@test "rotation: the rotated copy deleted and a fake put in its place is drift" {
	mklog
	rotate create "rotate 3"
	set_aside "$ROOT$LOG.1"
	printf 'Dec  8 01:00:00 host nothing to see\nDec  8 01:00:01 host nothing at all here, really\n' \
		>"$ROOT$LOG.1"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,inode,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "rotation: renamed away, then the renamed copy cut: drift" {
	mklog
	mv "$ROOT$LOG" "$ROOT$LOG.1"
	: >"$ROOT$LOG"
	truncate -s 10 "$ROOT$LOG.1"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,inode,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "rotation: a fake .gz of the wrong size does not count" {
	mklog
	set_aside "$ROOT$LOG"
	printf 'x\n' | gzip >"$ROOT$LOG.1.gz"
	: >"$ROOT$LOG"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size,inode,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
}

# watched: a log and /data for the barriers (see watch_helpers)
mkwatched() {
	mkdir -p "$ROOT/data"
	printf 'a\n' >"$ROOT/data/a"
	mklog
	printf '/data CONTENT\n' >>"$POL"
	age_tree "$ROOT"
	baseline
	start_watch
}

@test "rotation: the watcher is silent on a logrotate run" {
	mkwatched
	grow
	rotate create "rotate 3" compress delaycompress
	grow
	barrier
	assert_eq "" "$(drift)"
	stop_watch
}

@test "rotation: the watcher alerts a wipe" {
	mkwatched
	: >"$ROOT$LOG"
	wait_for "changed /var/log/syslog size,hash"
	barrier
	assert_eq "changed /var/log/syslog size,hash" "$(drift)"
	stop_watch
}

@test "rotation: without hash, a rotated copy older than the baseline explains no wipe" {
	mkdir -p "$ROOT/var/log"
	seq 1000 >"$ROOT$LOG.1"
	seq 10 >"$ROOT$LOG"
	policy <<-'EOF'
		=/var/log PERMS
		/var/log/* PERMS size inode growing severity=low
		!/var/log/*.[0-9]
	EOF
	age_tree "$ROOT"
	# the baseline's time is in whole seconds: the copy must be older than that
	sleep 1.1
	baseline
	: >"$ROOT$LOG"
	expect_check 4 <<-'EOF'
		changed /var/log/syslog size
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq "shrank from 21 to 0 bytes: truncated, not rotated" "$(jget /var/log/syslog fim.note)"
	# a real rotation under the same rule is none
	seq 20 >"$ROOT$LOG"
	mv "$ROOT$LOG" "$ROOT$LOG.1"
	: >"$ROOT$LOG"
	none
}
