#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Shipping fim: make install, the manual pages, the systemd units and the
# cron file, the default policy (on this very host), and the Debian package.

load helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
DEFAULT_POLICY=$TOP/policy/fim.policy
UNITS="fim.service fim-check.service fim-check.timer"

# Where make install puts units, as the Makefile decides it.
unitdir() {
	local d
	d=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) || d=
	echo "${d:-/lib/systemd/system}"
}

# make install with the binary under test (never rebuilt here).
# make_install DESTDIR [MAKE VARIABLES...]
make_install() {
	local dest=$1 build
	shift
	build=$(dirname "$FIM")
	rc=0
	timeout "$FIM_TIMEOUT" make -s -C "$TOP" -o "$build/fim" install BUILD="$build" DESTDIR="$dest" "$@" \
		>"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# Every path below DIR with its mode, sorted.
layout() {
	(cd "$1" && find . -mindepth 1 -printf '%M %P\n' | LC_ALL=C sort -k2)
}

# The fim arguments of a command line: what follows the binary's path.
fim_args() {
	sed -n "s|.*$1 \(.*\)|\1|p"
}

# Runs a command confined as a unit confines fim (see install/sandbox).
SANDBOX=$BATS_TEST_DIRNAME/install/sandbox

@test "make install DESTDIR: binary, manual pages, policy, units, cron file, state directory" {
	make_install "$T/dest"
	assert_rc 0
	local u man5 man8 want
	u=$(unitdir)
	u=${u#/}
	man5=$(cd "$TOP/man" && ls -- *.5)
	man8=$(cd "$TOP/man" && ls -- *.8)
	want=$(
		{
			echo "drwxr-xr-x etc"
			echo "drwxr-xr-x etc/cron.d"
			echo "-rw-r--r-- etc/cron.d/fim"
			echo "drwxr-xr-x etc/fim"
			echo "-rw-r--r-- etc/fim/fim.policy"
			echo "drwxr-xr-x etc/fim/policy.d"
			echo "drwxr-xr-x etc/logrotate.d"
			echo "-rw-r--r-- etc/logrotate.d/fim"
			p=
			for c in ${u//\// }; do
				p=${p:+$p/}$c
				echo "drwxr-xr-x $p"
			done
			for f in $UNITS; do echo "-rw-r--r-- $u/$f"; done
			echo "drwxr-xr-x usr"
			echo "drwxr-xr-x usr/sbin"
			echo "-rwxr-xr-x usr/sbin/fim"
			echo "drwxr-xr-x usr/share"
			echo "drwxr-xr-x usr/share/doc"
			echo "drwxr-xr-x usr/share/doc/fim-monitor"
			echo "drwxr-xr-x usr/share/doc/fim-monitor/examples"
			for f in "$TOP"/packaging/examples/*; do
				echo "-rw-r--r-- usr/share/doc/fim-monitor/examples/$(basename "$f")"
			done
			echo "drwxr-xr-x usr/share/man"
			echo "drwxr-xr-x usr/share/man/man5"
			for f in $man5; do echo "-rw-r--r-- usr/share/man/man5/$f"; done
			echo "drwxr-xr-x usr/share/man/man8"
			for f in $man8; do echo "-rw-r--r-- usr/share/man/man8/$f"; done
			echo "drwxr-xr-x var"
			echo "drwxr-xr-x var/lib"
			echo "drwx------ var/lib/fim"
			echo "drwxr-xr-x var/log"
			echo "drwxr-x--- var/log/fim"
		} | LC_ALL=C sort -k2
	)
	assert_eq "$want" "$(layout "$T/dest")" "installed layout"
	cmp "$TOP/policy/fim.policy" "$T/dest/etc/fim/fim.policy"
	for f in $UNITS; do cmp "$TOP/packaging/$f" "$T/dest/$u/$f"; done
	cmp "$TOP/packaging/fim.cron" "$T/dest/etc/cron.d/fim"
	cmp "$TOP/packaging/fim.logrotate" "$T/dest/etc/logrotate.d/fim"
	# Where the files installed say the examples are.
	assert_contains "$(cat "$TOP/policy/fim.policy")" "/usr/share/doc/fim-monitor/examples/"
	assert_contains "$(cat "$TOP/packaging/fim.cron")" "/usr/share/doc/fim-monitor/examples/"
	# No secret is ever made into a staging tree.
	[ ! -e "$T/dest/etc/fim/alerts.key" ]
	fimraw --version
	local want_version
	want_version=$out
	timeout "$FIM_TIMEOUT" "$T/dest/usr/sbin/fim" --version >"$T/out"
	assert_eq "$want_version" "$(cat "$T/out")" "installed binary's version"
}

@test "make install PREFIX=/usr/local: the units and the cron job name the installed binary" {
	make_install "$T/dest" PREFIX=/usr/local
	assert_rc 0
	local u
	u=$(unitdir)
	[ -x "$T/dest/usr/local/sbin/fim" ]
	[ -f "$T/dest/usr/local/share/man/man8/fim.8" ]
	# The policy and the state stay where fim looks for them by default.
	[ -f "$T/dest/etc/fim/fim.policy" ]
	[ -d "$T/dest/var/lib/fim" ]
	assert_eq "/usr/local/sbin/fim" \
		"$(grep -o '/[^ =]*/sbin/fim' "$T/dest$u/fim.service")" "fim.service"
	assert_eq "/usr/local/sbin/fim" \
		"$(grep -o '/[^ =]*/sbin/fim' "$T/dest$u/fim-check.service")" "fim-check.service"
	assert_eq "/usr/local/sbin/fim" \
		"$(grep -o '/[^ =]*/sbin/fim' "$T/dest/etc/cron.d/fim")" "cron file"
	assert_not_contains "$(cat "$T/dest$u"/* "$T/dest/etc/cron.d/fim")" "/usr/sbin/fim"
}

@test "make install keeps an edited policy and puts the new one beside it" {
	make_install "$T/dest"
	assert_rc 0
	echo "/srv CONTENT" >>"$T/dest/etc/fim/fim.policy"
	cp "$T/dest/etc/fim/fim.policy" "$T/edited"
	make_install "$T/dest"
	assert_rc 0
	assert_contains "$out" "keeping $T/dest/etc/fim/fim.policy"
	cmp "$T/edited" "$T/dest/etc/fim/fim.policy"
	cmp "$TOP/policy/fim.policy" "$T/dest/etc/fim/fim.policy.dist"
}

@test "make install on the host itself makes the trail key once, readable by root only" {
	local vars=(PREFIX="$T/usr" SYSCONFDIR="$T/etc" LOCALSTATEDIR="$T/var" UNITDIR="$T/units")
	make_install "" "${vars[@]}"
	assert_rc 0
	assert_contains "$out" "made $T/etc/fim/alerts.key"
	assert_eq "-rw------- 32" "$(stat -c '%A %s' "$T/etc/fim/alerts.key")" "alerts.key"
	cp "$T/etc/fim/alerts.key" "$T/key.before"
	make_install "" "${vars[@]}"
	assert_rc 0
	assert_not_contains "$out" "made "
	cmp "$T/key.before" "$T/etc/fim/alerts.key"
}

@test "make uninstall removes what install put in place, but not the policy or the state" {
	make_install "$T/dest"
	assert_rc 0
	rc=0
	timeout "$FIM_TIMEOUT" make -s -C "$TOP" uninstall DESTDIR="$T/dest" >"$T/out" 2>&1 || rc=$?
	assert_rc 0
	assert_eq "" "$(cd "$T/dest" && find . -type f | LC_ALL=C sort | grep -v '^./etc/fim/fim.policy$')" \
		"files left"
	[ -f "$T/dest/etc/fim/fim.policy" ]
	[ -d "$T/dest/var/lib/fim" ]
}

@test "every manual page renders without a warning" {
	command -v man >/dev/null || skip "man is not installed"
	local n=0 f
	for f in "$TOP"/man/*.[1-8]; do
		rc=0
		LC_ALL=C.UTF-8 MANWIDTH=80 timeout "$FIM_TIMEOUT" man --warnings -E UTF-8 -l "$f" >"$T/out" 2>"$T/err" || rc=$?
		assert_rc 0
		assert_eq "" "$(cat "$T/err")" "warnings of $(basename "$f")"
		[ -s "$T/out" ]
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}

# The units, with ExecStart pointing at the binary under test, so that
# systemd-analyze also checks that the command exists.
units_for_verify() {
	mkdir -p "$T/units"
	for f in $UNITS; do
		sed "s|/usr/sbin/fim|$FIM|g" "$TOP/packaging/$f" >"$T/units/$f"
	done
}

@test "the units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	units_for_verify
	rc=0
	(cd "$T/units" && timeout "$FIM_TIMEOUT" systemd-analyze verify --man=no $UNITS) >"$T/out" 2>&1 || rc=$?
	assert_rc 0
	# A setting systemd does not understand is only a warning: none at all.
	assert_eq "" "$(cat "$T/out")" "systemd-analyze verify output"
	# The check is not a no-op here: a misspelt setting is reported.
	sed -i 's/^ProtectHome=/ProtectHme=/' "$T/units/fim.service"
	(cd "$T/units" && timeout "$FIM_TIMEOUT" systemd-analyze verify --man=no fim.service) >"$T/out" 2>&1 || true
	assert_contains "$(cat "$T/out")" "Unknown key 'ProtectHme'"
}

@test "fim.service: notify, watchdog, restart, reload, and the sandbox" {
	local s
	s=$(grep -v '^#' "$TOP/packaging/fim.service")
	for line in "Type=notify" "ExecStart=/usr/sbin/fim --alerts /var/log/fim/alerts.jsonl --alerts-key /etc/fim/alerts.key watch" \
		'ExecReload=/bin/kill -HUP $MAINPID' \
		"Restart=on-failure" "RestartPreventExitStatus=16 17 18 19" \
		"CapabilityBoundingSet=CAP_DAC_READ_SEARCH" "NoNewPrivileges=yes" \
		"ProtectSystem=strict" "ReadWritePaths=/var/lib/fim /var/log/fim" \
		"ProtectHome=read-only" "DevicePolicy=closed" "SystemCallFilter=@system-service mincore" \
		"StartLimitIntervalSec=1h" "StartLimitBurst=10" \
		"WantedBy=multi-user.target"; do
		assert_contains "$s" "$line" "fim.service"
	done
	assert_contains "$s" "WatchdogSec=" "fim.service"
	# It would hide /usr/lib/modules, which the default policy watches.
	assert_not_contains "$s" "ProtectKernelModules" "fim.service"
}

# unit_settings UNIT KEY: the values KEY= has in UNIT, one a line.
unit_settings() {
	sed -n "s/^$2=//p" "$TOP/packaging/$1"
}

@test "the units show fim the host's /tmp, /var/tmp, /dev/shm and /dev, and need the trail key to start" {
	local u key
	for u in fim.service fim-check.service; do
		# Private copies would make a rule for those staging spots watch
		# nothing; /dev/kmsg would be a stand-in (ProtectKernelLogs).
		assert_eq "" "$(grep -E '^(PrivateTmp|PrivateDevices|ProtectKernelLogs|TemporaryFileSystem|InaccessiblePaths|PrivateMounts)=' \
			"$TOP/packaging/$u")" "$u: settings that hide parts of the host"
		assert_eq "/var/lib/fim /var/log/fim" "$(unit_settings "$u" ReadWritePaths)" "$u: ReadWritePaths"
		# The key the command line names must exist for the unit to start,
		# instead of a start that fails with exit 20 every 10 seconds.
		key=$(unit_settings "$u" ExecStart | sed -n 's/.*--alerts-key \([^ ]*\).*/\1/p')
		assert_eq /etc/fim/alerts.key "$key" "$u: --alerts-key"
		assert_eq "$key" "$(unit_settings "$u" AssertPathExists)" "$u: AssertPathExists"
	done
	# What fim says, and does, without the key.
	mkdir -p "$ROOT/etc"
	policy <<<"/etc CONTENT"
	baseline
	fimrun --alerts "$T/alerts.jsonl" --alerts-key "$T/missing.key" --journal-dir "$T" watch
	assert_rc 20
	assert_eq "fim: $T/missing.key: cannot read the alert trail key: No such file or directory" "$err" "message"
	[ ! -e "$T/alerts.jsonl" ]
	# A policy may watch the staging spots: in the test sandbox (the units'
	# confinement, see install/sandbox), fim sees the host's /tmp and
	# /dev/shm, and its check writes nothing there.
	STAGE_TMP=$(mktemp -d /tmp/fim-stage.XXXXXX)
	STAGE_SHM=$(mktemp -d /dev/shm/fim-stage.XXXXXX)
	mkdir -p "$T/db0"
	printf '%s PERMS\n%s PERMS\n' "$STAGE_TMP" "$STAGE_SHM" >"$T/stage.policy"
	rc=0
	timeout "$FIM_TIMEOUT" "$SANDBOX" "$TOP/packaging/fim-check.service" "$T/db0" \
		"$FIM" -c "$T/stage.policy" -d "$T/db0" -q baseline >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 0
	touch "$STAGE_TMP/payload" "$STAGE_SHM/payload"
	rc=0
	timeout "$FIM_TIMEOUT" "$SANDBOX" "$TOP/packaging/fim-check.service" "$T/db0" \
		"$FIM" -c "$T/stage.policy" -d "$T/db0" --format json check >"$T/out" 2>"$T/err" || rc=$?
	EVENTS=$("$PY" "$JSONL" events "$T/out")
	assert_events <<-EOF
		added $STAGE_SHM/payload
		added $STAGE_TMP/payload
		summary scanned=4 added=2 removed=0 changed=0 errors=0
	EOF
	assert_rc 1
}

teardown() {
	rm -rf "${STAGE_TMP:-}" "${STAGE_SHM:-}"
}

@test "fim-check: a oneshot at idle priority, drift is not a failure, the timer is daily and persistent" {
	local s t
	s=$(grep -v '^#' "$TOP/packaging/fim-check.service")
	for line in "Type=oneshot" "SuccessExitStatus=1 2 3 4 5 6 7 8 9 10 11 12 13 14 15" \
		"Nice=19" "IOSchedulingClass=idle" "StandardOutput=journal" \
		"CapabilityBoundingSet=CAP_DAC_READ_SEARCH" "ProtectSystem=strict"; do
		assert_contains "$s" "$line" "fim-check.service"
	done
	# Started by the timer only.
	assert_not_contains "$s" "[Install]" "fim-check.service"
	t=$(grep -v '^#' "$TOP/packaging/fim-check.timer")
	for line in "Persistent=true" "RandomizedDelaySec=" "OnCalendar=" "WantedBy=timers.target"; do
		assert_contains "$t" "$line" "fim-check.timer"
	done
}

@test "the scheduled check's command line works: drift to stdout as JSON and to a trail that verifies" {
	mkdir -p "$ROOT/etc"
	echo a >"$ROOT/etc/a"
	policy <<<"/etc CONTENT severity=high"
	baseline
	echo b >>"$ROOT/etc/a"
	head -c 32 /dev/urandom >"$T/alerts.key"
	local args
	args=$(grep '^ExecStart=' "$TOP/packaging/fim-check.service" | fim_args /usr/sbin/fim)
	args=${args//\/var\/log\/fim\/alerts.jsonl/$T/alerts.jsonl}
	args=${args//\/etc\/fim\/alerts.key/$T/alerts.key}
	# shellcheck disable=SC2086 # the unit's words
	fimraw -r "$ROOT" -d "$DB" -c "$POL" $args
	assert_rc 4
	EVENTS=$("$PY" "$JSONL" events "$T/out")
	assert_events <<-EOF
		changed /etc/a size,mtime,ctime,hash
		summary scanned=2 added=0 removed=0 changed=1 errors=0
	EOF
	fimraw log verify --alerts-key "$T/alerts.key" "$T/alerts.jsonl"
	assert_rc 0
	assert_eq 2 "$(wc -l <"$T/alerts.jsonl")" "trail lines"
	# The cron job runs the same command, and is off until uncommented.
	local cron
	cron=$(grep 'fim-check' "$TOP/packaging/fim.cron" | grep -v '^# ')
	assert_eq "$(grep '^ExecStart=' "$TOP/packaging/fim-check.service" | fim_args /usr/sbin/fim)" \
		"$(echo "$cron" | fim_args /usr/sbin/fim | sed 's/ 2>&1 |.*//')" "cron command"
	assert_eq "" "$(grep -vE '^(#|$|SHELL=|PATH=|MAILTO=)' "$TOP/packaging/fim.cron")" "active cron lines"
	# Steps aside on a systemd host, where the timer does the job.
	assert_contains "$cron" "[ -d /run/systemd/system ] ||"
}

@test "the cron job sends each JSON line to syslog as one message, a line of 6 KiB included" {
	command -v logger >/dev/null || skip "logger is not installed"
	# A file whose path alone is 2000 bytes: its alert line is over 6000, under
	# the 7680 bytes fim cuts a line to (see hostile_output.bats for longer).
	local deep=$ROOT/etc i name
	name=$(printf 'd%.0s' $(seq 250))
	for i in $(seq 8); do deep=$deep/$name; done
	mkdir -p "$deep"
	policy <<<"/etc CONTENT severity=high"
	baseline
	echo x >"$deep/new"
	head -c 32 /dev/urandom >"$T/alerts.key"
	# The job as cron runs it, with this tree, and logger writing to a socket
	# of the test's instead of /dev/log.
	local job
	job=$(sed -n 's/^#[0-9]* [0-9]* \* \* \* root //p' "$TOP/packaging/fim.cron")
	job=${job#*|| }
	job=${job//\/usr\/sbin\/fim/$FIM -r $ROOT -d $DB -c $POL}
	job=${job//\/var\/log\/fim\/alerts.jsonl/$T/alerts.jsonl}
	job=${job//\/etc\/fim\/alerts.key/$T/alerts.key}
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %s -u %s "$@"\n' "$(command -v logger)" "$T/log.sock" >"$T/bin/logger"
	chmod +x "$T/bin/logger"
	"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
end = time.monotonic() + 600
with open(sys.argv[2], "wb") as out:
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            m = s.recv(1 << 20)
        except socket.timeout:
            break
        if m.endswith(b"fim-test-end"):
            break
        out.write(m + b"\n")
' "$T/log.sock" "$T/syslog" &
	local receiver=$!
	poll "$WAIT_MAX" test -e "$T/log.sock.ready"
	rc=0
	PATH=$T/bin:$PATH timeout "$FIM_TIMEOUT" sh -c "$job" >"$T/out" 2>"$T/err" || rc=$?
	logger -u "$T/log.sock" fim-test-end
	timeout "$WAIT_MAX" tail --pid="$receiver" -f /dev/null || kill "$receiver"
	wait "$receiver" || true
	assert_rc 0
	assert_eq "" "$(cat "$T/out" "$T/err")" "output of the job"
	# authpriv.notice, tag fim-check, then the line whole.
	assert_eq 3 "$(wc -l <"$T/syslog")" "messages"
	assert_eq 3 "$(grep -c '^<85>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]* fim-check: {' "$T/syslog")" "messages"
	sed 's/^<85>[^{]* fim-check: //' "$T/syslog" >"$T/lines"
	EVENTS=$("$PY" "$JSONL" events "$T/lines")
	assert_events <<-EOF
		added ${deep#"$ROOT"}/new
		changed ${deep#"$ROOT"} mtime,ctime
		summary scanned=10 added=1 removed=0 changed=1 errors=0
	EOF
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/lines")" -gt 6000 ]
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/lines")" -le 7680 ]
	# The same events as the trail's (which has its chain, and time stamps of
	# its own).
	fimraw log verify --alerts-key "$T/alerts.key" "$T/alerts.jsonl"
	assert_rc 0
	assert_eq "$(sed 's/"@timestamp":"[^"]*",//' "$T/lines")" \
		"$(sed 's/^{"fim_chain":{[^}]*},/{/; s/"@timestamp":"[^"]*",//' "$T/alerts.jsonl")" "syslog and trail"
}

@test "fim.service's command line, in its sandbox: READY, watchdog pings, reload on SIGHUP, clean exit" {
	mkdir -p "$ROOT/etc" "$T/journal" "$T/log"
	echo a >"$ROOT/etc/a"
	policy <<<"/etc CONTENT severity=high"
	baseline
	head -c 32 /dev/urandom >"$T/alerts.key"
	local args
	args=$(grep '^ExecStart=' "$TOP/packaging/fim.service" | fim_args /usr/sbin/fim)
	args=${args//\/var\/log\/fim\/alerts.jsonl/$T/log/alerts.jsonl}
	args=${args//\/etc\/fim\/alerts.key/$T/alerts.key}
	# The journal is read from an empty directory, not from this host's;
	# the state and the trail's directory are writable, as in the unit.
	rc=0
	limits_share
	# shellcheck disable=SC2086 # the unit's words
	timeout 300 "$PY" "$BATS_TEST_DIRNAME/install/notify.py" "$T/log/alerts.jsonl" \
		"$SANDBOX" "$TOP/packaging/fim.service" "$DB:$T/log" \
		"$FIM" -r "$ROOT" -d "$DB" -c "$POL" --journal-dir "$T/journal" $args \
		>"$T/out" 2>"$T/err" {LIMITS_FD}>&- || rc=$?
	limits_unlock
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	assert_eq "$(printf '%s\n' ready watchdog reloaded stopping 'exit 0')" "$out" "service life"
	assert_rc 0
	fimraw log verify --alerts-key "$T/alerts.key" "$T/log/alerts.jsonl"
	assert_rc 0
}

# The default policy in $T/default.policy, without the host's
# /etc/fim/policy.d, which is not part of it.
default_policy() {
	mkdir -p "$T/policy.d"
	sed "s|^include /etc/fim/policy.d/|include $T/policy.d/|" "$DEFAULT_POLICY" >"$T/default.policy"
	assert_eq 1 "$(grep -c "^include $T/policy.d/\*.policy\$" "$T/default.policy")" "include line"
}

# fim policy test of one path or object, as "rule severity attributes" or
# "excluded by rule".
decides() {
	default_policy
	fimraw -c "$T/default.policy" --format json policy test "$@"
	assert_rc 0
	"$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["selected"]:
        print(r.get("path", r.get("id")), r["rule"], r["severity"],
              "growing" if r.get("growing") else "-", " ".join(r["attributes"]))
    elif "rule" in r:
        print(r.get("path", r.get("id")), "excluded by", r["rule"])
    else:
        print(r.get("path", r.get("id")), "not selected")
' "$T/out"
}

@test "default policy: which rule decides the key paths and objects" {
	local C="type mode uid gid size mtime ctime inode nlink target hash xattrs acl caps selinux"
	local P="type mode uid gid xattrs acl caps selinux"
	local L="type mode uid gid size inode xattrs acl caps selinux"
	run decides /usr/bin/sudo /usr/sbin/sshd /usr/lib/x86_64-linux-gnu/libc.so.6 \
		/usr/lib/modules/6.1.0-9-amd64/kernel/fs/ext4/ext4.ko /lib/modules/6.1.0/x.ko \
		/boot/vmlinuz-6.1.0-9-amd64 /boot/grub/grubenv /etc/shadow /etc/passwd /etc/sudoers \
		/etc/sudoers.d/admins /etc/ssh/sshd_config /etc/ssh/ssh_host_ed25519_key \
		/etc/ld.so.preload /etc/ld.so.cache /etc/pam.d/sshd /etc/crontab /etc/fim/fim.policy \
		/etc/hosts /etc/mtab /etc/resolv.conf /etc/adjtime /etc/shadow- /etc/lvm/archive/vg0_00001.vg \
		/root/.ssh/authorized_keys /root/.ssh/known_hosts /root/.bashrc \
		/home/alice/.ssh/authorized_keys /home/alice/.ssh/authorized_keys2 /home/alice/.bashrc \
		/var/log/syslog /var/log/syslog.1 /var/log/auth.log.2.gz /var/log/apt/history.log \
		/var/log/journal/0123/system.journal /var/log/fim /var/log/fim/alerts.jsonl \
		/var/log/fim/alerts.jsonl.1 /var/log/fim/alerts.jsonl.2.gz /tmp/x \
		/var/lib/dpkg/info/openssh-server.postinst /var/lib/dpkg/info/openssh-server.prerm \
		/var/lib/dpkg/info/openssh-server.preinst /var/lib/dpkg/info/openssh-server.postrm \
		/var/lib/dpkg/info/openssh-server.config /var/lib/dpkg/info/openssh-server.md5sums \
		/var/lib/dpkg/status /var/lib/systemd/linger/alice /var/spool/cron/atjobs/a00001019a2b3c \
		/var/spool/cron/atjobs/.SEQ /root/.config/systemd/user/default.target.wants/x.service \
		/root/.config/autostart/x.desktop /home/alice/.config/systemd/user/x.service \
		/home/alice/.config/autostart/x.desktop /home/alice/.profile /home/alice/.bash_logout \
		/home/alice/.zshrc /home/alice/.cache/x /home/alice/.config/x \
		user:root group:sudo sudoers:%sudo cron:/etc/crontab \
		service:ssh.service service:apt-daily.service service:fim-check.service service:fim.service
	assert_eq 0 "$status" "policy test status"
	assert_eq "$(
		cat <<-EOF
			/usr/bin/sudo /usr/bin high - $C
			/usr/sbin/sshd /usr/sbin high - $C
			/usr/lib/x86_64-linux-gnu/libc.so.6 /usr/lib high - $C
			/usr/lib/modules/6.1.0-9-amd64/kernel/fs/ext4/ext4.ko /usr/lib/modules critical - $C
			/lib/modules/6.1.0/x.ko /lib/modules critical - $C
			/boot/vmlinuz-6.1.0-9-amd64 /boot critical - $C
			/boot/grub/grubenv /boot/grub/grubenv medium - $P
			/etc/shadow /etc/shadow critical - $C
			/etc/passwd /etc/passwd critical - $C
			/etc/sudoers /etc/sudoers critical - $C
			/etc/sudoers.d/admins /etc/sudoers.d critical - $C
			/etc/ssh/sshd_config /etc/ssh critical - $C
			/etc/ssh/ssh_host_ed25519_key /etc/ssh critical - $C
			/etc/ld.so.preload /etc/ld.so.preload critical - $C
			/etc/ld.so.cache /etc/ld.so.cache high - type mode uid gid size hash xattrs acl caps selinux
			/etc/pam.d/sshd /etc/pam.d critical - $C
			/etc/crontab /etc high - $C
			/etc/fim/fim.policy /etc/fim critical - $C
			/etc/hosts /etc high - $C
			/etc/mtab /etc/mtab medium - type mode uid gid target xattrs acl caps selinux
			/etc/resolv.conf /etc/resolv.conf medium - type mode uid gid target hash xattrs acl caps selinux
			/etc/adjtime /etc/adjtime low - $P
			/etc/shadow- /etc/shadow- critical - $P
			/etc/lvm/archive/vg0_00001.vg excluded by /etc/lvm/archive
			/root/.ssh/authorized_keys /root/.ssh critical - $C
			/root/.ssh/known_hosts /root/.ssh/known_hosts low - $P
			/root/.bashrc /root/.bashrc high - $C
			/home/alice/.ssh/authorized_keys /home/*/.ssh/authorized_keys* critical - $C
			/home/alice/.ssh/authorized_keys2 /home/*/.ssh/authorized_keys* critical - $C
			/home/alice/.bashrc /home/*/.bashrc medium - $C
			/var/log/syslog /var/log/syslog high growing type mode uid gid size inode hash xattrs acl caps selinux
			/var/log/syslog.1 excluded by /var/log/**/*.[0-9]
			/var/log/auth.log.2.gz excluded by /var/log/**/*.gz
			/var/log/apt/history.log /var/log low growing $L
			/var/log/journal/0123/system.journal excluded by /var/log/journal/*/*.journal
			/var/log/fim /var/log low growing $L
			/var/log/fim/alerts.jsonl excluded by /var/log/fim/alerts.jsonl
			/var/log/fim/alerts.jsonl.1 excluded by /var/log/**/*.[0-9]
			/var/log/fim/alerts.jsonl.2.gz excluded by /var/log/**/*.gz
			/tmp/x not selected
			/var/lib/dpkg/info/openssh-server.postinst /var/lib/dpkg/info/*.postinst high - $C
			/var/lib/dpkg/info/openssh-server.prerm /var/lib/dpkg/info/*.prerm high - $C
			/var/lib/dpkg/info/openssh-server.preinst /var/lib/dpkg/info/*.preinst high - $C
			/var/lib/dpkg/info/openssh-server.postrm /var/lib/dpkg/info/*.postrm high - $C
			/var/lib/dpkg/info/openssh-server.config /var/lib/dpkg/info/*.config high - $C
			/var/lib/dpkg/info/openssh-server.md5sums /var/lib/dpkg/info medium - $C
			/var/lib/dpkg/status not selected
			/var/lib/systemd/linger/alice /var/lib/systemd/linger high - $C
			/var/spool/cron/atjobs/a00001019a2b3c /var/spool/cron/atjobs high - $C
			/var/spool/cron/atjobs/.SEQ /var/spool/cron/atjobs/.SEQ low - $P
			/root/.config/systemd/user/default.target.wants/x.service /root/.config/systemd/user high - $C
			/root/.config/autostart/x.desktop /root/.config/autostart high - $C
			/home/alice/.config/systemd/user/x.service /home/*/.config/systemd/user medium - $C
			/home/alice/.config/autostart/x.desktop /home/*/.config/autostart medium - $C
			/home/alice/.profile /home/*/.profile medium - $C
			/home/alice/.bash_logout /home/*/.bash_logout medium - $C
			/home/alice/.zshrc /home/*/.zshrc medium - $C
			/home/alice/.cache/x not selected
			/home/alice/.config/x not selected
			root * critical - uid gid gecos home shell password groups authorized_keys
			sudo * high - gid members administrators
			%sudo * critical - rules members files
			/etc/crontab * high - jobs env user hash mode schedule
			ssh.service * high - unit_file hash enabled dropins active exec_start schedule aliases wanted_by
			apt-daily.service apt-daily.service high - unit_file hash enabled dropins exec_start schedule aliases wanted_by
			fim-check.service fim-check.service high - unit_file hash enabled dropins exec_start schedule aliases wanted_by
			fim.service fim.service high - unit_file hash enabled dropins exec_start schedule aliases wanted_by
		EOF
	)" "$output" "decisions of the default policy"
}

# Checks ROOT with the default policy, appending to ROOT's alert trail as
# the units do; leaves EVENTS.
check_default() {
	fimraw -r "$ROOT" -d "$DB" -c "$T/default.policy" --format json \
		--alerts "$ROOT/var/log/fim/alerts.jsonl" --alerts-key "$T/alerts.key" check
	EVENTS=$("$PY" "$JSONL" events "$T/out")
}

@test "logrotate and the default policy: logs and the trail rotate without a report, each trail file verifies" {
	command -v logrotate >/dev/null || skip "logrotate is not installed"
	default_policy
	mkdir -p "$ROOT/etc" "$ROOT/var/log/apt" "$ROOT/var/log/fim"
	echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
	echo "root:x:0:" >"$ROOT/etc/group"
	chmod 0750 "$ROOT/var/log/fim"
	seq 100 >"$ROOT/var/log/syslog"
	chmod 0640 "$ROOT/var/log/syslog"
	seq 10 >"$ROOT/var/log/apt/history.log"
	head -c 32 /dev/urandom >"$T/alerts.key"
	# The baseline predates the trail, as on a host where the first check
	# comes after it.
	fimraw -r "$ROOT" -d "$DB" -c "$T/default.policy" baseline
	assert_rc 0
	check_default
	assert_rc 0
	assert_events <<<"summary scanned=10 added=0 removed=0 changed=0 errors=0"
	check_default
	assert_rc 0
	# The system's logs rotate as Debian's logrotate.conf rotates them (a new
	# file with the old one's mode and owner), fim's trail as its own file
	# says.
	{
		printf '%s {\n\tweekly\n\trotate 4\n\tcreate\n\tcompress\n\tdelaycompress\n}\n' \
			"$ROOT/var/log/syslog" "$ROOT/var/log/apt/history.log"
		sed "s|^/var/log/fim/alerts.jsonl |$ROOT/var/log/fim/alerts.jsonl |" "$TOP/packaging/fim.logrotate"
	} >"$T/logrotate.conf"
	assert_eq 1 "$(grep -c "^$ROOT/var/log/fim/alerts.jsonl {" "$T/logrotate.conf")" "trail stanza"
	local round
	for round in 1 2; do
		echo "line $round" >>"$ROOT/var/log/syslog"
		rc=0
		timeout "$FIM_TIMEOUT" logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf" >"$T/out" 2>&1 || rc=$?
		assert_rc 0
		# fim makes the next trail itself, at its next alert.
		[ ! -e "$ROOT/var/log/fim/alerts.jsonl" ]
		fimraw log verify --alerts-key "$T/alerts.key" "$ROOT/var/log/fim/alerts.jsonl.1"
		assert_rc 0
		[ "$(stat -c %s "$ROOT/var/log/syslog")" -eq 0 ]
		check_default
		assert_rc 0
		assert_events <<<"summary scanned=10 added=0 removed=0 changed=0 errors=0"
		# A new file, a new chain, from 1.
		assert_eq 1 "$(wc -l <"$ROOT/var/log/fim/alerts.jsonl")" "trail lines"
		assert_contains "$(cat "$ROOT/var/log/fim/alerts.jsonl")" '{"fim_chain":{"seq":1,'
		fimraw log verify --alerts-key "$T/alerts.key" "$ROOT/var/log/fim/alerts.jsonl"
		assert_rc 0
	done
	assert_eq "$(printf '%s\n' alerts.jsonl alerts.jsonl.1 alerts.jsonl.2.gz)" \
		"$(ls "$ROOT/var/log/fim")" "trail files"
	gzip -dc "$ROOT/var/log/fim/alerts.jsonl.2.gz" >"$T/trail.2"
	assert_eq 2 "$(wc -l <"$T/trail.2")" "lines of the first trail"
	fimraw log verify --alerts-key "$T/alerts.key" "$T/trail.2"
	assert_rc 0
	# The trail's directory still counts.
	chmod 0755 "$ROOT/var/log/fim"
	check_default
	assert_rc 4
	assert_events <<<"changed /var/log/fim mode
summary scanned=10 added=0 removed=0 changed=1 errors=0"
}

@test "the example of local rules parses, its commented-out lines included, and its rules win" {
	sed -E 's/^# ([/!]|set )/\1/' "$TOP/packaging/examples/local.policy" >"$T/local.policy"
	assert_eq 3 "$(grep -cE '^(/var/log|set )' "$T/local.policy")" "lines uncommented"
	printf '/var/log NONE\ninclude %s\n' "$T/local.policy" >"$T/main.policy"
	fimraw -c "$T/main.policy" policy test /opt/app/bin/x /srv/www/site/uploads/a.php /var/log/auth.log
	assert_rc 0
	assert_eq "$(
		cat <<-EOF
			/opt/app/bin/x: /opt ($T/local.policy:9) severity=high
			    type mode uid gid size mtime ctime inode nlink target hash xattrs acl caps selinux
			/srv/www/site/uploads/a.php: excluded by !/srv/www/*/uploads ($T/local.policy:13)
			/var/log/auth.log: /var/log/auth.log ($T/local.policy:19) severity=medium growing
			    type mode uid gid size xattrs acl caps selinux
		EOF
	)" "$out" "decisions of the local rules"
}

@test "default policy: fim baseline then fim check on this host reports no drift" {
	[ "$(id -u)" = 0 ] || skip "reads the whole system: needs root"
	# Hashes every system file once; the check then reads them from the
	# page cache. Each run reads the whole host: 30 min each at most, for a
	# machine busy with other work (the sandboxed check runs at --nice and
	# yields to it).
	rc=0
	timeout 1800 "$FIM" -c "$DEFAULT_POLICY" -d "$DB" --keep-cache -q baseline >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 0
	rc=0
	timeout 1800 "$FIM" -c "$DEFAULT_POLICY" -d "$DB" --keep-cache --format json check \
		>"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	EVENTS=$("$PY" "$JSONL" events "$T/out")
	local scanned
	scanned=$(echo "$EVENTS" | sed -n 's/.*scanned=\([0-9]*\).*/\1/p')
	assert_eq "summary scanned=$scanned added=0 removed=0 changed=0 errors=0" "$EVENTS" "drift"
	assert_rc 0
	[ "$scanned" -gt 1000 ]
	# And so it does in the scheduled check's sandbox.
	rc=0
	timeout 1800 "$SANDBOX" "$TOP/packaging/fim-check.service" "$DB" \
		"$FIM" -c "$DEFAULT_POLICY" -d "$DB" --keep-cache --nice --format json check \
		>"$T/out" 2>"$T/err" || rc=$?
	EVENTS=$("$PY" "$JSONL" events "$T/out") || show_run >&2
	assert_eq "summary scanned=$scanned added=0 removed=0 changed=0 errors=0" "$EVENTS" \
		"drift seen from the sandbox"
	assert_rc 0
	# What the baseline holds, as the rules say.
	fimraw -c "$DEFAULT_POLICY" -d "$DB" --format json show /etc/passwd /usr/bin/ls user:root
	assert_rc 0
	assert_contains "$out" '"hash":"sha256:'
	if [ -f /var/log/dpkg.log ]; then
		fimraw -c "$DEFAULT_POLICY" -d "$DB" --format json show /var/log/dpkg.log
		assert_rc 0
		# growing: the size and inode, not the content (not read by a check)
		assert_contains "$out" '"size":' "a log's record"
		assert_contains "$out" '"inode":' "a log's record"
		assert_not_contains "$out" '"hash"' "a log's record"
	fi
}

# Runs the package's maintainer scripts against the tree $T/sys (DPKG_ROOT),
# in a mount namespace where /run/systemd/system exists, with the systemd
# helpers replaced by stubs that log their arguments to $T/calls.
maintscript() {
	local script=$1
	shift
	unshare -m sh -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system || exit 99
		script=$1; shift
		DPKG_ROOT=$ROOTDIR PATH=$STUBS:$PATH sh -e "$script" "$@"
	' sh "$T/ctl/$script" "$@"
}

@test "make deb: a lintian-clean package with the units, the policy as a conffile, nothing started" {
	for tool in dpkg-buildpackage dh lintian; do
		command -v "$tool" >/dev/null || skip "$tool is not installed"
	done
	rc=0
	timeout 600 "$TOP/packaging/make-deb" "$T/deb" >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	assert_rc 0
	local deb version
	version=$(timeout "$FIM_TIMEOUT" "$FIM" --version | sed 's/^fim //')
	# Debian's own fim is an image viewer.
	deb=$T/deb/fim-monitor_${version}_$(dpkg --print-architecture).deb
	assert_eq "$deb" "$out" "built package"
	assert_eq "" "$(grep '^E:' "$T/deb/lintian.log")" "lintian errors"

	dpkg-deb -c "$deb" | awk '{print $1, $6}' | sed 's|^\([^ ]*\) \./|\1 |; s|/$||' |
		grep -v ' $' | LC_ALL=C sort -k2 >"$T/contents"
	local u
	u=$(unitdir)
	u=${u#/}
	for f in $UNITS; do
		grep -qx -- "-rw-r--r-- $u/$f" "$T/contents"
	done
	for f in "$TOP"/man/*.[1-8]; do
		grep -qx -- "-rw-r--r-- usr/share/man/man${f##*.}/$(basename "$f").gz" "$T/contents"
	done
	grep -qx -- "-rwxr-xr-x usr/sbin/fim" "$T/contents"
	grep -qx -- "-rw-r--r-- etc/fim/fim.policy" "$T/contents"
	grep -qx -- "drwxr-xr-x etc/fim/policy.d" "$T/contents"
	grep -qx -- "-rw-r--r-- etc/cron.d/fim" "$T/contents"
	grep -qx -- "-rw-r--r-- etc/logrotate.d/fim" "$T/contents"
	for f in "$TOP"/packaging/examples/*; do
		grep -qx -- "-rw-r--r-- usr/share/doc/fim-monitor/examples/$(basename "$f")" "$T/contents"
	done
	grep -qx -- "-rw-r--r-- usr/share/doc/fim-monitor/copyright" "$T/contents"
	assert_eq "fim" "$(dpkg-deb -f "$deb" Conflicts)" "Conflicts"
	# Made by postinst, not shipped: no secret, no state in the package.
	assert_eq "" "$(grep -E ' (var|etc/fim/alerts\.key)' "$T/contents")" "shipped state"

	mkdir -p "$T/ctl"
	dpkg-deb -e "$deb" "$T/ctl"
	assert_eq "$(printf '%s\n' /etc/cron.d/fim /etc/fim/fim.policy /etc/logrotate.d/fim)" \
		"$(LC_ALL=C sort "$T/ctl/conffiles")" "conffiles"
	assert_eq "$version" "$(dpkg-deb -f "$deb" Version)" "package version"

	# The maintainer scripts, run as dpkg would, against a scratch root.
	command -v unshare >/dev/null || skip "unshare is not installed"
	export ROOTDIR=$T/sys STUBS=$T/stubs
	mkdir -p "$ROOTDIR/etc/fim" "$STUBS"
	for s in deb-systemd-helper deb-systemd-invoke systemctl; do
		cat >"$STUBS/$s" <<-EOF
			#!/bin/sh
			echo "$s \$*" >>"$T/calls"
			# Nothing was enabled by the administrator.
			[ "\$1" = was-enabled ] && exit 1
			[ "\$2" = was-enabled ] && exit 1
			exit 0
		EOF
		chmod +x "$STUBS/$s"
	done
	: >"$T/calls"
	rc=0
	maintscript postinst configure || rc=$?
	assert_rc 0
	assert_eq "drwx------ 0 0" "$(stat -c '%A %u %g' "$ROOTDIR/var/lib/fim")" "/var/lib/fim"
	assert_eq "drwxr-x--- 0 0" "$(stat -c '%A %u %g' "$ROOTDIR/var/log/fim")" "/var/log/fim"
	assert_eq "-rw------- 32" "$(stat -c '%A %s' "$ROOTDIR/etc/fim/alerts.key")" "alerts.key"
	# A fresh install enables, starts and restarts nothing.
	assert_eq "" "$(grep -E ' (enable|start|restart|try-restart|reload-or-restart) ' "$T/calls")" \
		"units enabled or started on install"
	cp "$ROOTDIR/etc/fim/alerts.key" "$T/key.before"
	# An upgrade keeps the key and restarts the daemon only if it runs.
	: >"$T/calls"
	maintscript postinst configure 0.0.9 || rc=$?
	assert_rc 0
	cmp "$T/key.before" "$ROOTDIR/etc/fim/alerts.key"
	assert_eq "deb-systemd-invoke try-restart fim.service" \
		"$(grep -E ' (enable|start|restart|try-restart) ' "$T/calls")" "units touched on upgrade"
	: >"$T/calls"
	maintscript prerm remove || rc=$?
	assert_rc 0
	assert_eq "deb-systemd-invoke stop fim.service fim-check.timer fim-check.service" \
		"$(grep -E ' (stop|disable) ' "$T/calls")" "units stopped on removal"
	# A purge removes the baseline, and keeps the alert trail (evidence) and
	# the key that verifies it, saying so.
	echo '{"fim_chain":{}}' >"$ROOTDIR/var/log/fim/alerts.jsonl"
	mkdir -p "$ROOTDIR/var/lib/fim/baseline.x"
	rc=0
	maintscript postrm purge >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 0
	[ ! -e "$ROOTDIR/var/lib/fim" ]
	[ -f "$ROOTDIR/var/log/fim/alerts.jsonl" ]
	cmp "$T/key.before" "$ROOTDIR/etc/fim/alerts.key"
	assert_eq "alerts.key" "$(ls -A "$ROOTDIR/etc/fim")" "left in /etc/fim"
	assert_contains "$(cat "$T/err")" "kept the alert trail /var/log/fim and its key /etc/fim/alerts.key"
	# Without them, nothing is left and nothing is said.
	rm -r "$ROOTDIR/var/log/fim" "$ROOTDIR/etc/fim/alerts.key"
	rc=0
	maintscript postrm purge >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 0
	[ ! -e "$ROOTDIR/etc/fim" ]
	assert_eq "" "$(cat "$T/out" "$T/err")" "output of a purge"
}
