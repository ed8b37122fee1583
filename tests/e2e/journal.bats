#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Journal rules through the daemon: fim watch --journal-dir reads journal files
# made here with systemd-journal-remote from export-format text, and alerts.

load helpers
load watch_helpers

JREMOTE=
for p in /usr/lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-remote; do
	[ -x "$p" ] && JREMOTE=$p && break
done

setup() {
	T=$BATS_TEST_TMPDIR
	ROOT=$T/root
	DB=$T/db
	POL=$T/fim.policy
	JD=$T/journal
	ALERTS=$T/alerts.jsonl
	WPID=
	SEQ=0
	mkdir -p "$ROOT/etc" "$JD"
	[ -n "$JREMOTE" ] || skip "systemd-journal-remote is not installed"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\nsudo:x:27:\n' >"$ROOT/etc/group"
	BASE=
}

teardown() {
	watch_kill
	limits_unlock
}

# A policy with the accounts collected and a marker rule the tests wait for;
# extra policy lines from stdin.
jpolicy() {
	{
		printf 'users\ngroups\njournal marker SYSLOG_IDENTIFIER=fim-test-marker\n'
		cat
	} >"$POL"
}

# entry FIELD=VALUE...: one more export-format entry for the next jwrite, 100 ms
# (journal time) after the previous one. Entries carry what journald adds itself
# (_UID, _EXE, _COMM, _PID, no client can set them): the tests pass them as fields.
entry() {
	# times start at the first entry, after the baseline: the first start reads the
	# journal from the baseline's time on
	[ -n "$BASE" ] || BASE=$(($(date +%s%N) / 1000))
	SEQ=$((SEQ + 1))
	{
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n' $((BASE + SEQ * 100000)) $((SEQ * 100000))
		printf '_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h1\n'
		printf '%s\n' "$@"
		printf '\n'
	} >>"$T/export.txt"
}

ssh_fail() { # USER ADDR [UID]
	entry SYSLOG_IDENTIFIER=sshd _COMM=sshd _EXE=/usr/sbin/sshd "_UID=${3:-0}" _PID=$((4000 + SEQ)) \
		"MESSAGE=Failed password for $1 from $2 port 22 ssh2"
}

# Appends the pending entries, and a marker N, to the journal file.
jwrite() {
	entry SYSLOG_IDENTIFIER=fim-test-marker "MESSAGE=marker $1"
	"$JREMOTE" --output="$JD/remote.journal" "$T/export.txt" 2>"$T/jremote.err" || {
		cat "$T/jremote.err" >&2
		return 1
	}
	rm -f "$T/export.txt"
}

# Starts the daemon and waits (at most WAIT_MAX s) until it says it started:
# the journal is open and followed from then on.
watch_start() {
	local before end
	before=$(started_count)
	A=$ALERTS spawn_watch --journal-dir "$JD"
	end=$((SECONDS + WAIT_MAX))
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(started_count)" -gt "$before" ] && return 0
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "fim watch did not start" >&2
	cat "$T/watch.err" >&2
	return 1
}

started_count() {
	[ -f "$ALERTS" ] || {
		echo 0
		return
	}
	grep -c '"fim":{"object":"watch","id":"started"' "$ALERTS" || true
}

watch_stop() {
	kill -TERM "$WPID"
	local rc=0
	timeout "$WAIT_MAX" tail --pid="$WPID" -f /dev/null || rc=$?
	wait "$WPID" || rc=$?
	WPID=
	if [ "$rc" -ne 0 ]; then
		echo "fim watch did not stop cleanly (status $rc)" >&2
		cat "$T/watch.err" >&2
		return 1
	fi
}

# jalerts [RULE] [KEY]: one line per journal alert in the trail (of RULE):
# "RULE" or the value of the dotted KEY ("-" when absent).
jalerts() {
	"$PY" - "$ALERTS" "${1:-}" "${2:-}" <<-'EOF'
		import json, sys
		path, rule, key = sys.argv[1:4]
		try:
		    data = open(path, "rb").read()
		except FileNotFoundError:
		    data = b""
		for raw in data.split(b"\n")[:-1]:
		    o = json.loads(raw)
		    f = o.get("fim", {})
		    if f.get("object") != "journal" or (rule and f.get("rule") != rule):
		        continue
		    if not key:
		        print(f["rule"])
		        continue
		    v = o
		    for k in key.split("."):
		        v = v.get(k) if isinstance(v, dict) else None
		    print("-" if v is None else v if isinstance(v, str) else json.dumps(v))
	EOF
}

# Waits (at most WAIT_MAX s) until the marker N has been alerted: every entry
# before it has been read.
wait_marker() {
	local end=$((SECONDS + WAIT_MAX))
	while [ "$SECONDS" -lt "$end" ]; do
		if jalerts marker fim.journal.message | grep -qx "marker $1"; then
			return 0
		fi
		if ! kill -0 "$WPID" 2>/dev/null; then
			echo "fim watch exited" >&2
			cat "$T/watch.err" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "marker $1 never alerted; the trail has:" >&2
	jalerts >&2
	cat "$T/watch.err" >&2
	return 1
}

@test "ssh brute force: 9 failures no alert, the 10th one alert with source.ip, 20 still one" {
	jpolicy </dev/null
	baseline
	watch_start
	for i in $(seq 9); do ssh_fail root 203.0.113.9; done
	ssh_fail admin 198.51.100.1
	jwrite 1
	wait_marker 1
	assert_eq "" "$(jalerts ssh-bruteforce)" "alerts after 9 failures"

	ssh_fail oracle 203.0.113.9
	jwrite 2
	wait_marker 2
	assert_eq "203.0.113.9" "$(jalerts ssh-bruteforce source.ip)"
	assert_eq "10" "$(jalerts ssh-bruteforce fim.journal.count)"
	assert_eq "60" "$(jalerts ssh-bruteforce fim.journal.window)"
	assert_eq '["root", "oracle"]' "$(jalerts ssh-bruteforce related.user)"
	assert_eq "high" "$(jalerts ssh-bruteforce fim.severity)"
	assert_eq "10 failed SSH logins from 203.0.113.9 in 60 s (users: root, oracle)" \
		"$(jalerts ssh-bruteforce fim.message)"

	for i in $(seq 10); do ssh_fail root 203.0.113.9; done
	jwrite 3
	wait_marker 3
	assert_eq "1" "$(jalerts ssh-bruteforce | wc -l)" "brute-force alerts after 20 failures"
	watch_stop
}

@test "ssh failures written by an unprivileged process do not count" {
	jpolicy </dev/null
	baseline
	watch_start
	for i in $(seq 12); do ssh_fail root 203.0.113.9 1000; done
	jwrite 1
	wait_marker 1
	assert_eq "" "$(jalerts ssh-bruteforce)"
	# ... said once, low, naming neither the address nor the user
	assert_eq "unverified-sender low - -" "$(jalerts unverified-sender) $(jalerts unverified-sender fim.severity) $(jalerts unverified-sender source) $(jalerts unverified-sender user)"
	watch_stop
}

@test "tuned and switched-off built-in rules" {
	jpolicy <<-'EOF'
		journal ssh-bruteforce threshold=3 window=10 severity=critical
		!journal privilege
	EOF
	baseline
	watch_start
	for i in 1 2 3; do ssh_fail root 192.0.2.7; done
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/id"
	jwrite 1
	wait_marker 1
	assert_eq "ssh-bruteforce critical 192.0.2.7" \
		"$(paste -d' ' <(jalerts ssh-bruteforce) <(jalerts ssh-bruteforce fim.severity) \
			<(jalerts ssh-bruteforce source.ip))"
	assert_eq "" "$(jalerts privilege)"
	watch_stop
}

@test "a custom journal rule with named captures" {
	jpolicy <<-'EOF'
		journal app-denied SYSLOG_IDENTIFIER=myapp message=/denied for (?<user_name>\w+) from (?<source_ip>[0-9.]+)/ severity=high
	EOF
	baseline
	watch_start
	entry SYSLOG_IDENTIFIER=myapp _PID=321 _UID=1000 _COMM=myapp _EXE=/usr/bin/myapp "MESSAGE=access denied for carol from 192.0.2.44 (token expired)"
	entry SYSLOG_IDENTIFIER=otherapp "MESSAGE=access denied for dave from 192.0.2.45"
	jwrite 1
	wait_marker 1
	assert_eq "app-denied" "$(jalerts app-denied)"
	assert_eq "app-denied" "$(jalerts app-denied event.action)"
	assert_eq "carol" "$(jalerts app-denied fim.captures.user_name)"
	assert_eq "192.0.2.44" "$(jalerts app-denied fim.captures.source_ip)"
	assert_eq "carol" "$(jalerts app-denied user.name)"
	assert_eq "192.0.2.44" "$(jalerts app-denied source.ip)"
	assert_eq "high 73" "$(jalerts app-denied fim.severity) $(jalerts app-denied event.severity)"
	assert_eq "321" "$(jalerts app-denied process.pid)"
	assert_eq "access denied for carol from 192.0.2.44 (token expired)" \
		"$(jalerts app-denied fim.message)"
	watch_stop
}

@test "useradd in the journal: the accounts are re-checked and the new user alerted" {
	jpolicy </dev/null
	baseline
	watch_start
	printf 'mallory:x:0:0::/root:/bin/bash\n' >>"$ROOT/etc/passwd"
	entry SYSLOG_IDENTIFIER=useradd _COMM=useradd _EXE=/usr/sbin/useradd _UID=0 _PID=555 \
		"MESSAGE=new user: name=mallory, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1"
	jwrite 1
	wait_marker 1
	assert_eq "mallory" "$(jalerts accounts user.target.name)"
	assert_eq '["iam"]' "$(jalerts accounts event.category)"
	poll "$WAIT_MAX" grep -q '"fim":{"object":"user","id":"mallory"' "$ALERTS" || true
	"$PY" - "$ALERTS" <<-'EOF'
		import json, sys
		found = [o for o in map(json.loads, open(sys.argv[1], "rb").read().split(b"\n")[:-1])
		         if o.get("fim", {}).get("object") == "user"]
		acts = ["%s %s" % (o["event"]["action"], o["fim"]["id"]) for o in found]
		assert acts == ["added mallory"], acts
	EOF
	watch_stop
}

@test "sudo failures and refusals are alerted with the users and the command" {
	jpolicy </dev/null
	baseline
	watch_start
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo \
		"MESSAGE=alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh"
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo \
		"MESSAGE=eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/passwd root"
	entry SYSLOG_IDENTIFIER=su _UID=0 _COMM=su _EXE=/usr/bin/su "MESSAGE=FAILED SU (to root) eve on pts/2"
	jwrite 1
	wait_marker 1
	assert_eq "alice eve eve" "$(jalerts privilege-failure user.name | paste -sd' ')"
	assert_eq "root root root" "$(jalerts privilege-failure user.target.name | paste -sd' ')"
	assert_eq "/bin/sh|/usr/bin/passwd root|-" "$(jalerts privilege-failure process.command_line | paste -sd'|')"
	assert_eq "high high high" "$(jalerts privilege-failure fim.severity | paste -sd' ')"
	assert_eq "sudo by alice refused: 3 incorrect password attempts" \
		"$(jalerts privilege-failure fim.message | head -n 1)"
	assert_eq "" "$(jalerts privilege)"
	watch_stop
}

@test "a restart resumes from the cursor: entries written while down are alerted once" {
	jpolicy </dev/null
	baseline
	watch_start
	for n in 1 2; do
		entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo $n"
	done
	jwrite 1
	wait_marker 1
	watch_stop
	for n in 3 4; do
		entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo $n"
	done
	jwrite 2
	watch_start
	wait_marker 2
	watch_stop
	assert_eq "/bin/echo 1|/bin/echo 2|/bin/echo 3|/bin/echo 4" \
		"$(jalerts privilege process.command_line | paste -sd'|')"
	assert_eq "marker 1|marker 2" "$(jalerts marker fim.journal.message | paste -sd'|')"
	# the trail of the two runs still verifies
	fimrun log verify "$ALERTS"
	assert_rc 0
}

@test "a cursor no longer in the journal: the gap is alerted, reading resumes after its time" {
	jpolicy </dev/null
	baseline
	watch_start
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo 1"
	jwrite 1
	wait_marker 1
	watch_stop
	# rotated away while fim was down; a new file holds an older and a newer entry
	rm "$JD/remote.journal"
	local keep=$SEQ
	SEQ=0
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo old"
	SEQ=$keep
	entry SYSLOG_IDENTIFIER=sudo _UID=0 _COMM=sudo _EXE=/usr/bin/sudo "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo 2"
	jwrite 2
	watch_start
	wait_marker 2
	watch_stop
	assert_eq "/bin/echo 1|/bin/echo 2" "$(jalerts privilege process.command_line | paste -sd'|')"
	grep -q '"id":"journal_gap"' "$ALERTS"
}

@test "sudo, su and useradd lines forged by a user: one low notice naming nobody, no alert" {
	jpolicy </dev/null
	baseline
	watch_start
	entry SYSLOG_IDENTIFIER=sudo _UID=1000 _COMM=logger _EXE=/usr/bin/logger _PID=900 \
		"MESSAGE=alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh"
	entry SYSLOG_IDENTIFIER=su _UID=1000 _COMM=logger _EXE=/usr/bin/logger _PID=901 \
		"MESSAGE=FAILED SU (to root) alice on pts/3"
	entry SYSLOG_IDENTIFIER=useradd _UID=1000 _COMM=useradd _EXE=/usr/sbin/useradd _PID=902 \
		"MESSAGE=new user: name=alice, UID=0, GID=0, home=/root, shell=/bin/bash"
	jwrite 1
	wait_marker 1
	assert_eq "unverified-sender marker" "$(jalerts | paste -sd' ')"
	assert_eq "low" "$(jalerts unverified-sender fim.severity)"
	assert_eq "-" "$(jalerts unverified-sender user)"
	assert_eq "/usr/bin/logger 1000" \
		"$(jalerts unverified-sender fim.journal.exe) $(jalerts unverified-sender fim.journal.uid)"
	watch_stop
}

@test "SIGHUP keeps the brute-force counts of rules that did not change" {
	jpolicy </dev/null
	baseline
	watch_start
	for i in $(seq 9); do ssh_fail root 203.0.113.50; done
	jwrite 1
	wait_marker 1
	kill -HUP "$WPID"
	poll "$WAIT_MAX" grep -q '"id":"policy_reloaded"' "$ALERTS" || true
	grep -q '"id":"policy_reloaded"' "$ALERTS"
	ssh_fail admin 203.0.113.50
	jwrite 2
	wait_marker 2
	assert_eq "203.0.113.50 10" \
		"$(jalerts ssh-bruteforce source.ip) $(jalerts ssh-bruteforce fim.journal.count)"
	watch_stop
}

@test "a failed unit from PID 1 is alerted once; the same line from another process is not" {
	jpolicy </dev/null
	baseline
	watch_start
	local f
	for f in 1 2; do
		entry _PID=1 _UID=0 _COMM=systemd _EXE=/usr/lib/systemd/systemd UNIT=backdoor.service UNIT_RESULT=exit-code \
			MESSAGE_ID=d9b373ed55a64feb8242e02dbe79a49c \
			"MESSAGE=backdoor.service: Failed with result 'exit-code'."
	done
	entry _PID=4242 _UID=1000 _COMM=logger _EXE=/usr/bin/logger UNIT=decoy.service MESSAGE_ID=d9b373ed55a64feb8242e02dbe79a49c \
		"MESSAGE=decoy.service: Failed with result 'exit-code'."
	jwrite 1
	wait_marker 1
	assert_eq "backdoor.service" "$(jalerts services service.name)"
	assert_eq "unit backdoor.service failed (result 'exit-code')" "$(jalerts services fim.message)"
	watch_stop
}

@test "binary and invalid UTF-8 in an entry come out as valid JSON" {
	jpolicy <<-'EOF'
		journal any SYSLOG_IDENTIFIER=binapp message=/^evil/
	EOF
	baseline
	watch_start
	BASE=$(($(date +%s%N) / 1000))
	"$PY" - "$T/export.txt" "$BASE" <<-'PYEOF'
		import struct, sys
		msg = b"evil\xff\xfe\x00\nsecond line\x1b[31m"
		with open(sys.argv[1], "ab") as f:
		    f.write(b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=1\n" % (int(sys.argv[2]) + 1))
		    f.write(b"_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=binapp\n")
		    f.write(b"MESSAGE\n" + struct.pack("<Q", len(msg)) + msg + b"\n\n")
	PYEOF
	jwrite 1
	wait_marker 1
	assert_eq '"evil\ufffd\ufffd\ufffd\nsecond line\u001b[31m"' \
		"$("$PY" -c 'import json,sys
for l in open(sys.argv[1], "rb"):
    o = json.loads(l)
    if o["fim"].get("rule") == "any":
        print(json.dumps(o["fim"]["journal"]["message"]))' "$ALERTS")"
	watch_stop
	fimrun log verify "$ALERTS"
	assert_rc 0
}

@test "a bad journal rule is a policy error with its position" {
	printf 'users\njournal x message=/a(b/\n' >"$POL"
	fimrun check
	assert_rc 17
	assert_eq "fim: $POL:2:23: bad regular expression: missing closing parenthesis" "$err"
	printf 'journal ssh-bruteforce SYSLOG_IDENTIFIER=x\n' >"$POL"
	fimrun check
	assert_rc 17
	assert_eq "fim: $POL:1:24: 'SYSLOG_IDENTIFIER=' cannot change the built-in journal rule 'ssh-bruteforce' (only threshold= window= severity=)" "$err"
}
