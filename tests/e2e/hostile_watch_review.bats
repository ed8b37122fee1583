#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim watch under attack, second look: a stream syslog socket, a syslog
# daemon stuck or slow to take a burst, a policy reload while the root or a
# start point is gone.

load helpers

WPID=

teardown() {
	if [ -n "$WPID" ] && kill -0 "$WPID" 2>/dev/null; then
		kill -TERM "$WPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$WPID" 2>/dev/null || true
	fi
	WPID=
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

# Starts the daemon (extra arguments are passed on) and waits until it has
# reconciled. Skips when fanotify is asked for and refused here.
start_watch() {
	local before
	before=$(alerts | grep -cxF "watch reconciled" || true)
	timeout 300 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$A" "$@" watch \
		>"$T/watch.out" 2>"$T/watch.err" &
	WPID=$!
	wait_for "watch reconciled" $((before + 1))
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here: $(cat "$T/watch.err")"
	fi
}

# The alerts in the trail so far: "ACTION ID [changed,...]" for drift,
# "watch ACTION" for the daemon's own events.
alerts() {
	[ -f "$A" ] || return 0
	"$PY" - "$A" <<-'EOF'
		import json, sys
		for line in open(sys.argv[1], encoding="utf-8"):
		    o = json.loads(line)
		    f = o.get("fim", {})
		    if f.get("object") == "watch":
		        print("watch", o["event"]["action"])
		    elif "summary" not in f:
		        out = [o["event"]["action"], f["id"]]
		        if f.get("changed"):
		            out.append(",".join(f["changed"]))
		        print(" ".join(out))
	EOF
}

# wait_for LINE [COUNT]: until the trail has COUNT (1) lines LINE; 60 s at most.
wait_for() {
	local want=${2:-1}
	for _ in $(seq 600); do
		if [ "$(alerts | grep -cxF -- "$1")" -ge "$want" ]; then
			return 0
		fi
		if [ -n "$WPID" ] && ! kill -0 "$WPID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	{
		echo "no alert '$1' (x$want) within 60 s"
		echo "--- alerts:"
		alerts
		echo "--- daemon stderr:"
		cat "$T/watch.err"
	} >&2
	return 1
}

# The drift alerts (not the daemon's own events, nor barriers), sorted.
drift() {
	alerts | grep -v '^watch ' | grep -v ' /data/barrier' | sort
}

NBARRIER=0
barrier() {
	NBARRIER=$((NBARRIER + 1))
	printf 'b\n' >"$ROOT/data/barrier$NBARRIER"
	wait_for "added /data/barrier$NBARRIER"
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

@test "hostile watch review: alerts reach a syslog daemon listening on a stream socket, also after it restarts" {
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

@test "hostile watch review: a stream syslog daemon that accepts no connection does not slow the alerts down" {
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

@test "hostile watch review: a burst held while syslogd is stopped reaches it in order soon after it goes on" {
	data_tree "set alerts.syslog = yes
set alerts.syslog_socket = $T/log.sock"
	baseline
	start_syslogd
	start_watch
	syslog_wait "fim watch started"
	kill -STOP "$SPID"
	local i
	for i in $(seq 1000); do printf 'n\n' >"$ROOT/data/n$i"; done
	wait_for "added /data/n1000"
	kill -CONT "$SPID"
	# the socket queue holds a few lines: a daemon back gets the held ones
	# at its own pace, not a few a second
	syslog_wait "watch sink_gap"
	# each alert once, in the trail's order, before the gap alert
	assert_eq "$(alerts | grep '^added /data/n' | sed 's/^added //')" \
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

@test "hostile watch review: inotify: a policy reload while the root is gone checks nothing until it is back" {
	root_gone_hup ""
}

@test "hostile watch review: fanotify: a policy reload while the root is gone checks nothing until it is back" {
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

@test "hostile watch review: inotify: a start point gone over a policy reload is alerted, rescanned and watched on its return" {
	point_gone_hup ""
}

@test "hostile watch review: fanotify: a start point gone over a policy reload is alerted, rescanned and watched on its return" {
	point_gone_hup "set watch.backend = fanotify"
}
