# SPDX-License-Identifier: ISC
# Shared by the suites that run the daemon (load helpers, then watch_helpers):
# start it, read its alert trail, wait for an alert, stop it, listen to what
# it tells systemd.
#
# A is the alert trail ($T/alerts.jsonl unless a suite set it); WPID the
# daemon's pid while it runs, LPID the NOTIFY_SOCKET listener's. A suite's
# teardown calls watch_kill (and kills LPID when it listened).

WPID=

# Starts the daemon in the background (extra arguments are passed on; the
# environment of the call too) and returns at once, with WPID set. Its
# output goes to $T/watch.out and $T/watch.err; it runs for 600 s at most.
spawn_watch() {
	A=${A:-$T/alerts.jsonl}
	limits_share
	# the daemon must not inherit the lock (see limits_share)
	# --foreground: a signal sent to timeout reaches the daemon once, not also
	# through the process group (a doubled SIGHUP would reload twice)
	timeout --foreground 600 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$A" "$@" watch \
		>"$T/watch.out" 2>"$T/watch.err" {LIMITS_FD}>&- &
	WPID=$!
}

# Starts the daemon as spawn_watch does and waits until it has reconciled,
# i.e. watches everything. Skips the test when fanotify was asked for and the
# kernel refused it here.
start_watch() {
	local before
	A=${A:-$T/alerts.jsonl}
	before=$(alerts | grep -cxF "watch reconciled" || true)
	spawn_watch "$@"
	wait_for "watch reconciled" $((before + 1))
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here: $(cat "$T/watch.err")"
	fi
}

# The alerts in the trail so far, one per line: "ACTION ID [changed,...]"
# for drift, "watch ACTION" for the daemon's own events.
alerts() {
	[ -f "$A" ] || return 0
	"$PY" - "$A" <<-'EOF'
		import json, sys
		for line in open(sys.argv[1], encoding="utf-8"):
		    o = json.loads(line)
		    f = o.get("fim", {})
		    assert o.get("@timestamp", "").endswith("Z"), line
		    if f.get("object") == "watch":
		        print("watch", o["event"]["action"])
		    elif "summary" not in f:
		        out = [o["event"]["action"], f["id"]]
		        if f.get("changed"):
		            out.append(",".join(f["changed"]))
		        print(" ".join(out))
	EOF
}

# wait_for LINE [COUNT]: until the trail has COUNT (1) lines LINE; WAIT_MAX
# seconds at most, or until the daemon is gone.
wait_for() {
	local want=${2:-1} end=$((SECONDS + WAIT_MAX))
	while [ "$SECONDS" -lt "$end" ]; do
		if [ "$(alerts | grep -cxF -- "$1")" -ge "$want" ]; then
			return 0
		fi
		if [ -n "$WPID" ] && ! kill -0 "$WPID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	{
		echo "no alert '$1' (x$want) within $WAIT_MAX s"
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

# A change after the ones under test: once its alert is there, every
# event before it was handled.
NBARRIER=0
barrier() {
	NBARRIER=$((NBARRIER + 1))
	printf 'b\n' >"$ROOT/data/barrier$NBARRIER"
	wait_for "added /data/barrier$NBARRIER"
}

# Stops the daemon with SIGTERM; rc is its exit status.
stop_watch() {
	kill -TERM "$WPID"
	rc=0
	wait "$WPID" || rc=$?
	WPID=
}

# term_watch [SECONDS]: sends SIGTERM and waits SECONDS (10) at most for the
# daemon to exit; rc is its exit status, took the milliseconds it took.
# Returns 1 (the daemon left for watch_kill) when it still runs after that.
term_watch() {
	local start tries=$((${1:-10} * 10))
	start=$(date +%s%N)
	kill -TERM "$WPID"
	for _ in $(seq "$tries"); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$WPID" 2>/dev/null; then
		echo "fim watch still runs ${1:-10} s after SIGTERM" >&2
		return 1
	fi
	rc=0
	wait "$WPID" || rc=$?
	WPID=
	took=$((($(date +%s%N) - start) / 1000000))
}

# A NOTIFY_SOCKET listener at $T/notify.sock writing each message (newlines
# as |) to $T/notify.txt, one line a message; LPID is its pid (a suite's
# teardown kills it). Returns once the socket is there.
notify_listen() {
	"$PY" - "$T/notify.sock" "$T/notify.txt" <<-'EOF' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(sys.argv[1])
		s.settimeout(300)
		with open(sys.argv[2], "a") as out:
		    while True:
		        msg = s.recv(4096).decode()
		        out.write(msg.replace("\n", "|") + "\n")
		        out.flush()
	EOF
	LPID=$!
	poll "$WAIT_MAX" test -S "$T/notify.sock"
}

# The WATCHDOG=1 pings the listener has seen.
watchdogs() { grep -c '^WATCHDOG=1$' "$T/notify.txt" || true; }

# For teardown: a daemon still running is stopped, and killed with what it
# started if it does not stop within 5 s; it must not outlive its test.
watch_kill() {
	if [ -n "$WPID" ] && kill -0 "$WPID" 2>/dev/null; then
		local child
		child=$(pgrep -P "$WPID" || true)
		kill -TERM "$WPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$WPID" $child 2>/dev/null || true
	fi
	WPID=
}
