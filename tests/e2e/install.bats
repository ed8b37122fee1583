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
	timeout 120 make -s -C "$TOP" -o "$build/fim" install BUILD="$build" DESTDIR="$dest" "$@" \
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
	man5=$(cd "$TOP/man" && ls *.5)
	man8=$(cd "$TOP/man" && ls *.8)
	want=$(
		{
			echo "drwxr-xr-x etc"
			echo "drwxr-xr-x etc/cron.d"
			echo "-rw-r--r-- etc/cron.d/fim"
			echo "drwxr-xr-x etc/fim"
			echo "-rw-r--r-- etc/fim/fim.policy"
			echo "drwxr-xr-x etc/fim/policy.d"
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
			echo "drwxr-xr-x usr/share/doc/fim"
			echo "drwxr-xr-x usr/share/doc/fim/examples"
			for f in "$TOP"/packaging/examples/*; do
				echo "-rw-r--r-- usr/share/doc/fim/examples/$(basename "$f")"
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
	# No secret is ever made into a staging tree.
	[ ! -e "$T/dest/etc/fim/alerts.key" ]
	fimraw --version
	local want_version
	want_version=$out
	timeout 30 "$T/dest/usr/sbin/fim" --version >"$T/out"
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

@test "make uninstall removes what install put in place, but not the policy or the state" {
	make_install "$T/dest"
	assert_rc 0
	rc=0
	timeout 60 make -s -C "$TOP" uninstall DESTDIR="$T/dest" >"$T/out" 2>&1 || rc=$?
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
		LC_ALL=C.UTF-8 MANWIDTH=80 timeout 30 man --warnings -E UTF-8 -l "$f" >"$T/out" 2>"$T/err" || rc=$?
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
	(cd "$T/units" && timeout 60 systemd-analyze verify --man=no $UNITS) >"$T/out" 2>&1 || rc=$?
	assert_rc 0
	# A setting systemd does not understand is only a warning: none at all.
	assert_eq "" "$(cat "$T/out")" "systemd-analyze verify output"
	# The check is not a no-op here: a misspelt setting is reported.
	sed -i 's/^ProtectHome=/ProtectHme=/' "$T/units/fim.service"
	(cd "$T/units" && timeout 60 systemd-analyze verify --man=no fim.service) >"$T/out" 2>&1 || true
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
		"ProtectHome=read-only" "PrivateTmp=yes" "SystemCallFilter=@system-service mincore" \
		"WantedBy=multi-user.target"; do
		assert_contains "$s" "$line" "fim.service"
	done
	assert_contains "$s" "WatchdogSec=" "fim.service"
	# It would hide /usr/lib/modules, which the default policy watches.
	assert_not_contains "$s" "ProtectKernelModules" "fim.service"
	# The default policy never watches what PrivateTmp hides.
	assert_eq "" "$(grep -E '^[!=]?"?/(tmp|var/tmp)([/ ]|$)' "$DEFAULT_POLICY")" "rules for /tmp"
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

@test "fim.service's command line, in its sandbox: READY, watchdog pings, reload on SIGHUP, clean exit" {
	mkdir -p "$ROOT/etc" "$T/journal"
	echo a >"$ROOT/etc/a"
	policy <<<"/etc CONTENT severity=high"
	baseline
	head -c 32 /dev/urandom >"$T/alerts.key"
	local args
	args=$(grep '^ExecStart=' "$TOP/packaging/fim.service" | fim_args /usr/sbin/fim)
	args=${args//\/var\/log\/fim\/alerts.jsonl/$T/alerts.jsonl}
	args=${args//\/etc\/fim\/alerts.key/$T/alerts.key}
	# The journal is read from an empty directory, not from this host's.
	rc=0
	# shellcheck disable=SC2086 # the unit's words
	timeout 300 "$PY" "$BATS_TEST_DIRNAME/install/notify.py" "$T/alerts.jsonl" \
		"$SANDBOX" "$TOP/packaging/fim.service" "$DB" \
		"$FIM" -r "$ROOT" -d "$DB" -c "$POL" --journal-dir "$T/journal" $args \
		>"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	assert_eq "$(printf '%s\n' ready watchdog reloaded stopping 'exit 0')" "$out" "service life"
	assert_rc 0
	fimraw log verify --alerts-key "$T/alerts.key" "$T/alerts.jsonl"
	assert_rc 0
}

# fim policy test of one path or object, as "rule severity attributes" or
# "excluded by rule".
decides() {
	fimraw -c "$DEFAULT_POLICY" --format json policy test "$@"
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
	run decides /usr/bin/sudo /usr/sbin/sshd /usr/lib/x86_64-linux-gnu/libc.so.6 \
		/usr/lib/modules/6.1.0-9-amd64/kernel/fs/ext4/ext4.ko /lib/modules/6.1.0/x.ko \
		/boot/vmlinuz-6.1.0-9-amd64 /boot/grub/grubenv /etc/shadow /etc/passwd /etc/sudoers \
		/etc/sudoers.d/admins /etc/ssh/sshd_config /etc/ssh/ssh_host_ed25519_key \
		/etc/ld.so.preload /etc/ld.so.cache /etc/pam.d/sshd /etc/crontab /etc/fim/fim.policy \
		/etc/hosts /etc/mtab /etc/resolv.conf /etc/adjtime /etc/shadow- /etc/lvm/archive/vg0_00001.vg \
		/root/.ssh/authorized_keys /root/.ssh/known_hosts /root/.bashrc \
		/home/alice/.ssh/authorized_keys /home/alice/.ssh/authorized_keys2 /home/alice/.bashrc \
		/var/log/syslog /var/log/syslog.1 /var/log/auth.log.2.gz /var/log/apt/history.log \
		/var/log/journal/0123/system.journal /tmp/x \
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
			/home/alice/.bashrc not selected
			/var/log/syslog /var/log low - $P
			/var/log/syslog.1 excluded by /var/log/**/*.[0-9]
			/var/log/auth.log.2.gz excluded by /var/log/**/*.gz
			/var/log/apt/history.log /var/log low - $P
			/var/log/journal/0123/system.journal excluded by /var/log/journal/*/*.journal
			/tmp/x not selected
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
	# page cache.
	rc=0
	timeout 900 "$FIM" -c "$DEFAULT_POLICY" -d "$DB" --keep-cache -q baseline >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 0
	rc=0
	timeout 600 "$FIM" -c "$DEFAULT_POLICY" -d "$DB" --keep-cache --format json check \
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
	timeout 600 "$SANDBOX" "$TOP/packaging/fim-check.service" "$DB" \
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
		assert_not_contains "$out" '"size"' "a log's record"
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
	version=$(timeout 30 "$FIM" --version | sed 's/^fim //')
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
	for f in "$TOP"/packaging/examples/*; do
		grep -qx -- "-rw-r--r-- usr/share/doc/fim-monitor/examples/$(basename "$f")" "$T/contents"
	done
	grep -qx -- "-rw-r--r-- usr/share/doc/fim-monitor/copyright" "$T/contents"
	assert_eq "fim" "$(dpkg-deb -f "$deb" Conflicts)" "Conflicts"
	# Made by postinst, not shipped: no secret, no state in the package.
	assert_eq "" "$(grep -E ' (var|etc/fim/alerts\.key)' "$T/contents")" "shipped state"

	mkdir -p "$T/ctl"
	dpkg-deb -e "$deb" "$T/ctl"
	assert_eq "$(printf '%s\n' /etc/cron.d/fim /etc/fim/fim.policy)" \
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
	maintscript postrm purge || rc=$?
	assert_rc 0
	[ ! -e "$ROOTDIR/var/lib/fim" ]
	[ ! -e "$ROOTDIR/var/log/fim" ]
	[ ! -e "$ROOTDIR/etc/fim" ]
}
