#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim watch against a hostile host: the watched tree (the root, a start point
# or a directory above one) taken away and brought back; the syslog daemon
# down, stuck or slow while alerts are sent (datagram and stream sockets);
# a policy reload while a tree is gone; what the line-oriented sinks say.

load helpers
load watch_helpers

teardown() {
	watch_kill
	limits_unlock
	stop_syslogd
}

A=
# A tree under /data and /srv/app (a start point below a directory that is
# not one), a policy without times, alerts into the trail. $1: extra settings.
data_tree() {
	mkdir -p "$ROOT/data/sub" "$ROOT/srv/app"
	printf 'alpha\n' >"$ROOT/data/a"
	printf 'bravo\n' >"$ROOT/data/sub/b"
	printf 'app\n' >"$ROOT/srv/app/conf"
	policy <<-EOF
		set alerts.journald = no
		set watch.journal = no
		${1:-}
		/data type mode uid gid size hash target
		/srv/app type mode uid gid size hash target
	EOF
	A=$T/alerts.jsonl
}

# --- a syslog daemon of the test's own: rsyslogd on a private socket ---

SPID=
# start_syslogd: rsyslogd takes datagrams on $T/log.sock and writes each
# message's text, one per line, to $T/syslog; waits until the socket is there.
start_syslogd() {
	command -v rsyslogd >/dev/null || skip "rsyslogd is not installed"
	mkdir -p "$T/rsyslog"
	cat >"$T/rsyslog.conf" <<-EOF
		global(workDirectory="$T/rsyslog")
		module(load="imuxsock" SysSock.Use="off")
		input(type="imuxsock" Socket="$T/log.sock")
		template(name="text" type="string" string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\n")
		*.* action(type="omfile" file="$T/syslog" template="text")
	EOF
	rm -f "$T/log.sock"
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" >>"$T/rsyslog.err" 2>&1 &
	SPID=$!
	for _ in $(seq 300); do
		[ -S "$T/log.sock" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "rsyslogd did not start" >&2
	cat "$T/rsyslog.err" >&2
	return 1
}

stop_syslogd() {
	if [ -n "$SPID" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		timeout 30 tail --pid="$SPID" -f /dev/null || kill -KILL "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	SPID=
}

# syslog_wait TEXT [COUNT]: until $T/syslog has COUNT (1) lines containing TEXT; 60 s at most.
syslog_wait() {
	for _ in $(seq 600); do
		if [ "$(grep -cF -- "$1" "$T/syslog" 2>/dev/null)" -ge "${2:-1}" ]; then
			return 0
		fi
		sleep 0.1
	done
	{
		echo "no syslog line with '$1' (x${2:-1}) within 60 s"
		echo "--- syslog:"
		cat "$T/syslog"
		echo "--- daemon stderr:"
		cat "$T/watch.err"
	} >&2
	return 1
}

# --- item: the watched tree goes away and comes back ---

# root_away BACKEND-SETTING: the root renamed away, changed there, renamed back.
root_away() {
	data_tree "$1"
	printf 'gone\n' >"$ROOT/data/gone"
	baseline
	start_watch
	mv "$ROOT" "$T/away"
	wait_for "watch tree_gone"
	printf 'changed away\n' >"$T/away/data/a"
	printf 'new\n' >"$T/away/data/new"
	rm "$T/away/data/gone"
	mv "$T/away" "$ROOT"
	wait_for "watch tree_back"
	wait_for "changed /data/a size,hash"
	wait_for "added /data/new"
	wait_for "removed /data/gone"
	# watched again: a change after the return is alerted
	printf 'after the return\n' >"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	printf 'app2\n' >"$ROOT/srv/app/conf"
	wait_for "changed /srv/app/conf size,hash"
	barrier
	assert_eq "added /data/new
changed /data/a size,hash
changed /data/sub/b size,hash
changed /srv/app/conf size,hash
removed /data/gone" "$(drift)"
	run "$PY" - "$A" "$ROOT" <<-'PYEOF'
		import json, sys
		for line in open(sys.argv[1]):
		    o = json.loads(line)
		    if o["event"]["action"] in ("tree_gone", "tree_back"):
		        print(o["event"]["action"], o["fim"]["severity"], o["fim"]["paths"],
		              sys.argv[2] in o["message"])
	PYEOF
	assert_eq "tree_gone critical ['/'] True
tree_back high ['/'] True" "$output"
}

@test "hostile watch: inotify: the root renamed away and back is alerted, rescanned and watched again" {
	root_away ""
}

@test "hostile watch: fanotify: the root renamed away and back is alerted, rescanned and watched again" {
	root_away "set watch.backend = fanotify"
}

# root_recreated BACKEND-SETTING: the root deleted, then a copy made in its place.
root_recreated() {
	data_tree "$1"
	baseline
	start_watch
	cp -a "$ROOT" "$T/copy"
	rm -rf "$ROOT"
	wait_for "watch tree_gone"
	printf 'changed meanwhile\n' >"$T/copy/data/a"
	mv "$T/copy" "$ROOT"
	wait_for "watch tree_back"
	wait_for "changed /data/a size,hash"
	printf 'after the return\n' >"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	barrier
	assert_eq "changed /data/a size,hash
changed /data/sub/b size,hash" "$(drift)"
}

@test "hostile watch: inotify: the root deleted and recreated is alerted, rescanned and watched again" {
	root_recreated ""
}

@test "hostile watch: fanotify: the root deleted and recreated is alerted, rescanned and watched again" {
	root_recreated "set watch.backend = fanotify"
}

# parent_away BACKEND-SETTING: /srv (above the start point /srv/app) renamed
# away and back.
parent_away() {
	data_tree "$1"
	baseline
	start_watch
	mv "$ROOT/srv" "$ROOT/srv.away"
	wait_for "watch tree_gone"
	printf 'changed away\n' >"$ROOT/srv.away/app/conf"
	mv "$ROOT/srv.away" "$ROOT/srv"
	wait_for "watch tree_back"
	wait_for "changed /srv/app/conf size,hash"
	printf 'new\n' >"$ROOT/srv/app/new"
	wait_for "added /srv/app/new"
	barrier
	assert_eq "added /srv/app/new
changed /srv/app/conf size,hash" "$(drift | grep -v '^removed /srv/app')"
}

@test "hostile watch: inotify: a start point's parent renamed away and back is alerted and watched again" {
	parent_away ""
}

@test "hostile watch: fanotify: a start point's parent renamed away and back is alerted and watched again" {
	parent_away "set watch.backend = fanotify"
}

# root_blink BACKEND-SETTING: the root renamed away, changed there and renamed
# back at once, faster than the daemon looks at it.
root_blink() {
	data_tree "$1"
	baseline
	start_watch
	mv "$ROOT" "$T/away" && printf 'changed away\n' >"$T/away/data/a" && mv "$T/away" "$ROOT"
	wait_for "changed /data/a size,hash"
	printf 'after the return\n' >"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	barrier
	assert_eq "changed /data/a size,hash
changed /data/sub/b size,hash" "$(drift)"
}

@test "hostile watch: inotify: the root renamed away and back at once: what changed meanwhile is alerted" {
	root_blink ""
}

@test "hostile watch: fanotify: the root renamed away and back at once: what changed meanwhile is alerted" {
	root_blink "set watch.backend = fanotify"
}

# point_recreated BACKEND-SETTING: the start point /srv/app deleted, then made
# again with other contents.
point_recreated() {
	data_tree "$1"
	baseline
	start_watch
	rm -rf "$ROOT/srv/app"
	wait_for "watch tree_gone"
	mkdir "$ROOT/srv/app.new"
	printf 'other app\n' >"$ROOT/srv/app.new/conf"
	mv "$ROOT/srv/app.new" "$ROOT/srv/app"
	wait_for "watch tree_back"
	wait_for "changed /srv/app/conf size,hash"
	printf 'x\n' >"$ROOT/srv/app/x"
	wait_for "added /srv/app/x"
	run "$PY" - "$A" <<-'PYEOF'
		import json, sys
		for line in open(sys.argv[1]):
		    o = json.loads(line)
		    if o["event"]["action"] in ("tree_gone", "tree_back"):
		        print(o["event"]["action"], o["fim"]["severity"], o["fim"]["paths"])
	PYEOF
	assert_eq "tree_gone high ['/srv/app']
tree_back high ['/srv/app']" "$output"
}

@test "hostile watch: inotify: a start point deleted and made again is alerted, rescanned and watched again" {
	point_recreated ""
}

@test "hostile watch: fanotify: a start point deleted and made again is alerted, rescanned and watched again" {
	point_recreated "set watch.backend = fanotify"
}

# --- item: syslog alerts are not lost while the syslog daemon is down ---

@test "hostile watch: alerts sent while syslogd is down reach it once it is back, then a sink_gap" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/log.sock"
	baseline
	start_syslogd
	start_watch
	syslog_wait "fim watch started"
	stop_syslogd
	printf 'changed while down\n' >"$ROOT/data/a"
	printf 'new\n' >"$ROOT/data/new"
	wait_for "changed /data/a size,hash"
	wait_for "added /data/new"
	start_syslogd
	syslog_wait "watch sink_gap"
	# each alert arrived, in order, before the gap alert
	run grep -F -e "changed file /data/a " -e "added file /data/new " -e "watch sink_gap" \
		"$T/syslog"
	assert_eq "authpriv.warning fim[PID]: changed file /data/a [size,hash] severity=medium rule=/data
authpriv.warning fim[PID]: added file /data/new severity=medium rule=/data
authpriv.err fim[PID]: watch sink_gap severity=high: 2 alerts could not be delivered to every sink; what is still drifted is sent again by a full check now" \
		"$(printf '%s\n' "$output" | head -3 | sed 's/fim\[[0-9]*\]/fim[PID]/')"
	# later alerts go straight through
	printf 'after the return\n' >"$ROOT/data/sub/b"
	syslog_wait "changed file /data/sub/b [size,hash]"
}

@test "hostile watch: a syslog daemon that is not there at the start gets the alerts once it starts" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/log.sock"
	baseline
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	start_syslogd
	syslog_wait "watch sink_gap"
	syslog_wait "fim watch started"
	syslog_wait "changed file /data/a [size,hash]"
}

# --- item: the syslog line of a journal alert says what happened ---

@test "hostile watch: the syslog line of an ssh brute force names the address, the count and the users" {
	local jremote=
	for p in /usr/lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-remote; do
		[ -x "$p" ] && jremote=$p && break
	done
	[ -n "$jremote" ] || skip "systemd-journal-remote is not installed"
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/log.sock"
	sed -i '/^set watch.journal = no$/d' "$POL"
	baseline
	# ten failed logins from one address within the window, written by sshd as root
	local base i
	base=$(($(date +%s%N) / 1000))
	for i in $(seq 10); do
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n' $((base + i * 100000)) $((i * 100000))
		printf '_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h1\n'
		printf 'SYSLOG_IDENTIFIER=sshd\n_COMM=sshd\n_EXE=/usr/sbin/sshd\n_UID=0\n_PID=%s\n' $((4000 + i))
		printf 'MESSAGE=Failed password for %s from 203.0.113.9 port 22 ssh2\n\n' \
			"$([ $((i % 2)) = 0 ] && echo root || echo oracle)"
	done >"$T/export.txt"
	mkdir -p "$T/journal"
	"$jremote" --output="$T/journal/remote.journal" "$T/export.txt"
	start_syslogd
	start_watch --journal-dir "$T/journal"
	syslog_wait "journal ssh-bruteforce"
	assert_eq "authpriv.err fim[PID]: journal ssh-bruteforce severity=high: 10 failed SSH logins from 203.0.113.9 in 60 s (users: oracle, root)" \
		"$(grep -F "journal ssh-bruteforce" "$T/syslog" | sed 's/fim\[[0-9]*\]/fim[PID]/')"
}

@test "hostile watch: a syslog socket path that cannot be one is a policy error naming the setting" {
	local long
	long=/$(printf 'x%.0s' $(seq 120))
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $long"
	baseline
	fimrun watch
	assert_rc 17
	assert_eq "fim: $POL: alerts.syslog_socket: longer than a socket path may be (107 bytes)" "$err"
	data_tree "set alerts.syslog_socket = log.sock"
	fimrun watch
	assert_rc 17
	assert_contains "$err" "'log.sock' is not an absolute path"
}

# --- the syslog socket is a stream one (syslog-ng's unix-stream, ...) ---

# start_stream_syslogd: a daemon listening on the stream socket $T/stream.sock
# that writes each NUL-ended line it gets to $T/syslog (a line cut short as
# "PARTIAL ..."); waits until the socket is there.
start_stream_syslogd() {
	rm -f "$T/stream.sock"
	"$PY" - "$T/stream.sock" "$T/syslog" <<-'PYEOF' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.bind(sys.argv[1])
		s.listen(16)
		out = open(sys.argv[2], "ab", buffering=0)
		while True:
		    c, _ = s.accept()
		    buf = b""
		    while True:
		        b = c.recv(65536)
		        if not b:
		            break
		        buf += b
		        while b"\0" in buf:
		            line, buf = buf.split(b"\0", 1)
		            out.write(line + b"\n")
		    if buf:
		        out.write(b"PARTIAL " + buf + b"\n")
		    c.close()
	PYEOF
	SPID=$!
	for _ in $(seq 300); do
		[ -S "$T/stream.sock" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "the stream syslog daemon did not start" >&2
	return 1
}

@test "hostile watch: alerts reach a syslog daemon listening on a stream socket, also after it restarts" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/stream.sock"
	baseline
	start_stream_syslogd
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	syslog_wait "changed file /data/a [size,hash]"
	stop_syslogd
	start_stream_syslogd
	printf 'new\n' >"$ROOT/data/new"
	wait_for "added /data/new"
	syslog_wait "added file /data/new "
	assert_eq "<84>MMM DD HH:MM:SS fim[PID]: changed file /data/a [size,hash] severity=medium rule=/data
<84>MMM DD HH:MM:SS fim[PID]: added file /data/new severity=medium rule=/data" \
		"$(grep -F -e "changed file /data/a " -e "added file /data/new " -e PARTIAL "$T/syslog" |
			sed -E 's/^(<[0-9]+>)[A-Z][a-z]{2} [ 0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} fim\[[0-9]+\]/\1MMM DD HH:MM:SS fim[PID]/')"
	assert_not_contains "$(cat "$T/watch.err")" "cannot send"
}

@test "hostile watch: a stream syslog daemon that accepts no connection does not slow the alerts down" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/stream.sock"
	baseline
	start_watch
	# listening, never accepting, its backlog full
	"$PY" - "$T/stream.sock" <<-'PYEOF' &
		import os, socket, sys, time
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.bind(sys.argv[1] + ".new")
		s.listen(0)
		held = []
		while True:
		    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		    c.setblocking(False)
		    try:
		        c.connect(sys.argv[1] + ".new")
		    except BlockingIOError:
		        break
		    held.append(c)
		os.rename(sys.argv[1] + ".new", sys.argv[1])
		time.sleep(600)
	PYEOF
	SPID=$!
	for _ in $(seq 300); do [ -S "$T/stream.sock" ] && break; sleep 0.1; done
	local i
	for i in $(seq 100); do printf 'n\n' >"$ROOT/data/n$i"; done
	# each alert waited a second for the connection before
	wait_for "added /data/n100"
	assert_eq 100 "$(alerts | grep -c '^added /data/n')"
}

# --- a burst held while the syslog daemon is stuck ---

@test "hostile watch: a burst held while syslogd is stopped reaches it in order soon after it goes on" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/log.sock"
	baseline
	start_syslogd
	start_watch
	syslog_wait "fim watch started"
	kill -STOP "$SPID"
	local i start took
	# 400 alerts: even sent twice (the full check after a failed sink sends
	# again what is still drifted) they stay within the 1024 lines held
	for i in $(seq 400); do printf 'n\n' >"$ROOT/data/n$i"; done
	wait_for "added /data/n400"
	start=$SECONDS
	kill -CONT "$SPID"
	# the socket queue holds a few lines: a daemon back gets the held ones
	# at its own pace (a second or two), not a few a second (40 s and more)
	syslog_wait "watch sink_gap"
	took=$((SECONDS - start))
	[ "$took" -lt 30 ] || { echo "the held lines took $took s to reach syslogd" >&2; false; }
	# each alert once, in the trail's order, before the gap alert (after it,
	# the full check the gap starts sends again what is still drifted: to
	# the trail too, so only its part before the gap alert compares)
	assert_eq "$(alerts | sed '/^watch sink_gap/q' | grep '^added /data/n' | sed 's/^added //')" \
		"$(sed '/watch sink_gap/q' "$T/syslog" | grep -F 'added file /data/n' |
			sed -E 's/.*added file ([^ ]*) .*/\1/')"
}

# --- signals while the root is gone ---

# root_gone_hup BACKEND-SETTING: the root deleted, the policy reloaded while
# it is gone, then a copy (one file changed) put in its place.
root_gone_hup() {
	data_tree "$1"
	baseline
	start_watch
	cp -a "$ROOT" "$T/copy"
	rm -rf "$ROOT"
	wait_for "watch tree_gone"
	kill -HUP "$WPID"
	wait_for "watch policy_reloaded"
	printf 'changed meanwhile\n' >"$T/copy/data/a"
	mv "$T/copy" "$ROOT"
	wait_for "watch tree_back"
	wait_for "changed /data/a size,hash"
	barrier
	# nothing was checked against the deleted tree, its going is told once,
	# the check the reload owes is made on the return
	wait_for "watch reconciled" 2
	assert_eq "changed /data/a size,hash" "$(drift)"
	assert_eq "watch started
watch reconciled
watch tree_gone
watch policy_reloaded
watch tree_back
watch reconciled" "$(alerts | grep '^watch ')"
}

@test "hostile watch: inotify: a policy reload while the root is gone checks nothing until it is back" {
	root_gone_hup ""
}

@test "hostile watch: fanotify: a policy reload while the root is gone checks nothing until it is back" {
	root_gone_hup "set watch.backend = fanotify"
}

# point_gone_hup BACKEND-SETTING: the start point /srv/app deleted, the policy
# reloaded while it is gone, then made again with other contents.
point_gone_hup() {
	data_tree "$1"
	baseline
	start_watch
	rm -rf "$ROOT/srv/app"
	wait_for "watch tree_gone"
	kill -HUP "$WPID"
	wait_for "watch policy_reloaded"
	mkdir "$ROOT/srv/app.new"
	printf 'other app\n' >"$ROOT/srv/app.new/conf"
	mv "$ROOT/srv/app.new" "$ROOT/srv/app"
	wait_for "watch tree_back"
	wait_for "changed /srv/app/conf size,hash"
	printf 'x\n' >"$ROOT/srv/app/x"
	wait_for "added /srv/app/x"
	assert_eq "watch tree_gone
watch tree_back" "$(alerts | grep -e '^watch tree_')"
}

@test "hostile watch: inotify: a start point gone over a policy reload is alerted, rescanned and watched on its return" {
	point_gone_hup ""
}

@test "hostile watch: fanotify: a start point gone over a policy reload is alerted, rescanned and watched on its return" {
	point_gone_hup "set watch.backend = fanotify"
}
