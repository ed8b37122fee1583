#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim watch: the daemon on a real tree with real inotify - what it alerts,
# once, and how it degrades (queue overflow, watch limit) without losing a change.

load helpers
load watch_helpers

# The sysctls a test changed, to restore.
SAVED_QUEUE=
SAVED_WATCHES=

teardown() {
	watch_kill
	restore_sysctls
	limits_unlock
	if [ -n "${LPID:-}" ]; then kill "$LPID" 2>/dev/null || true; fi
	if [ -n "${MOUNTED:-}" ]; then umount "$MOUNTED" 2>/dev/null || true; fi
}

# Serialises the tests that change an inotify sysctl with every daemon (the
# value is global: see limits_lock).
lock_sysctls() {
	limits_lock exclusive
}

restore_sysctls() {
	if [ -n "$SAVED_QUEUE" ]; then
		echo "$SAVED_QUEUE" >/proc/sys/fs/inotify/max_queued_events
		SAVED_QUEUE=
	fi
	if [ -n "$SAVED_WATCHES" ]; then
		echo "$SAVED_WATCHES" >/proc/sys/fs/inotify/max_user_watches
		SAVED_WATCHES=
	fi
	# the daemon of this test still runs: others may change a limit only
	# once it is gone
	if [ "$LIMITS_HELD" = exclusive ]; then
		limits_lock shared
	fi
}

A=
# A tree under /data and a policy without times (a rewrite of the same
# bytes is then no drift), alerts only into the trail.
data_tree() {
	mkdir -p "$ROOT/data/sub" "$ROOT/other"
	printf 'alpha\n' >"$ROOT/data/a"
	printf 'bravo\n' >"$ROOT/data/sub/b"
	printf 'other\n' >"$ROOT/other/x"
	policy <<-EOF
		set alerts.journald = no
		set watch.journal = no
		${1:-}
		/data type mode uid gid size hash target
	EOF
	A=$T/alerts.jsonl
}

@test "watch: modify, create, delete, rename and chmod are alerted with what changed" {
	data_tree
	printf 'c\n' >"$ROOT/data/c"
	printf 'm\n' >"$ROOT/data/m"
	baseline
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	printf 'new\n' >"$ROOT/data/new"
	rm "$ROOT/data/sub/b"
	mv "$ROOT/data/m" "$ROOT/data/m2"
	chmod 0600 "$ROOT/data/c"
	barrier
	assert_eq "added /data/m2
added /data/new
changed /data/a size,hash
changed /data/c mode
removed /data/m
removed /data/sub/b" "$(drift)"
	run "$PY" - "$A" <<-'EOF'
		import json, sys
		ev = [json.loads(l) for l in open(sys.argv[1]) if '"/data/c"' in l][0]
		print(ev["fim"]["before"]["mode"], ev["fim"]["after"]["mode"], ev["file"]["path"])
	EOF
	assert_eq "0644 0600 /data/c" "$output"
}

@test "watch: a directory made and moved away again is no drift; one moved in is" {
	data_tree
	baseline
	start_watch
	mkdir "$ROOT/data/d"
	printf 'r\n' >"$ROOT/data/d/r"
	wait_for "added /data/d/r"
	mv "$ROOT/data/d" "$T/outside"
	mkdir -p "$T/in/deeper"
	printf 'i\n' >"$T/in/deeper/i"
	mv "$T/in" "$ROOT/data/in"
	wait_for "added /data/in/deeper/i"
	printf 'j\n' >"$ROOT/data/in/deeper/j"
	wait_for "added /data/in/deeper/j"
	barrier
	assert_eq "added /data/d
added /data/d/r
added /data/in
added /data/in/deeper
added /data/in/deeper/i
added /data/in/deeper/j" "$(drift)"
}

@test "watch: a file in a brand-new directory tree is not missed" {
	data_tree
	baseline
	start_watch
	mkdir -p "$ROOT/data/n1/n2" && printf 'x\n' >"$ROOT/data/n1/n2/f"
	wait_for "added /data/n1/n2/f"
	# joined at once: a file created later in the new directory is seen too
	printf 'y\n' >"$ROOT/data/n1/n2/g"
	wait_for "added /data/n1/n2/g"
	barrier
	assert_eq "added /data/n1
added /data/n1/n2
added /data/n1/n2/f
added /data/n1/n2/g" "$(drift)"
}

@test "watch: rewriting identical content is no drift; a burst of 1000 writes is one alert" {
	data_tree
	baseline
	start_watch
	printf 'alpha\n' >"$ROOT/data/a"
	printf 'bravo\n' >"$ROOT/data/sub/b"
	# one open, 1000 writes, and nothing else between the open and the close
	# (seq runs before), at real-time priority where allowed: the burst takes
	# milliseconds, and a busy machine must not stretch it beyond the settle
	# delay (the daemon alerts a writer that pauses longer more than once)
	local rt=
	if chrt -f 1 true 2>/dev/null; then rt="chrt -f 1"; fi
	$rt bash -c 'n=$(seq 1000); for i in $n; do echo "$i"; done >>"$1"' burst "$ROOT/data/burst"
	barrier
	sleep 0.5 # longer than the settle delay: a second alert would be here
	barrier
	assert_eq "added /data/burst" "$(drift)"
	run "$PY" - "$A" <<-'EOF'
		import json, sys
		ev = [json.loads(l) for l in open(sys.argv[1]) if '"/data/burst"' in l]
		print(len(ev), ev[0]["fim"]["after"]["size"])
	EOF
	assert_eq "1 3893" "$output"
}

@test "watch: the same drift is alerted once; a further change again; back to the baseline is silent" {
	data_tree
	baseline
	start_watch
	chmod 0600 "$ROOT/data/a"
	wait_for "changed /data/a mode"
	chmod 0600 "$ROOT/data/a" # same state: no second alert
	touch "$ROOT/data/a"
	chmod 0640 "$ROOT/data/a" # a new state
	wait_for "changed /data/a mode" 2
	chmod 0644 "$ROOT/data/a" # as in the baseline
	barrier
	chmod 0640 "$ROOT/data/a" # drifted again: alerted again
	wait_for "changed /data/a mode" 3
	barrier
	assert_eq 3 "$(alerts | grep -c '^changed /data/a mode$')"
}

@test "watch: SIGHUP reloads the policy and re-arms the watches" {
	data_tree
	# the baseline covers /other; the daemon starts without it
	cat >>"$POL" <<<'/other type mode size hash'
	baseline
	data_tree
	start_watch
	printf 'changed\n' >"$ROOT/other/x"
	barrier
	assert_eq "" "$(drift)"
	cat >>"$POL" <<<'/other type mode size hash'
	kill -HUP "$WPID"
	wait_for "watch policy_reloaded"
	wait_for "changed /other/x size,hash"
	printf 'new\n' >"$ROOT/other/y"
	wait_for "added /other/y"
	kill -0 "$WPID"
}

@test "watch: SIGTERM stops cleanly with 0 and the alert trail verifies" {
	data_tree
	baseline
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	stop_watch
	assert_rc 0
	assert_eq "watch started
watch reconciled
changed /data/a size,hash
watch stopped" "$(alerts)"
	fimraw log verify "$A"
	assert_rc 0
}

@test "watch: changes made while it was down are alerted when it starts" {
	data_tree
	baseline
	start_watch
	stop_watch
	assert_rc 0
	printf 'changed\n' >"$ROOT/data/a"
	rm "$ROOT/data/sub/b"
	: >"$A"
	start_watch
	assert_eq "changed /data/a size,hash
removed /data/sub/b" "$(drift)"
}

@test "watch: a second daemon on the same baseline is refused" {
	data_tree
	baseline
	start_watch
	fimrun watch
	assert_rc 20
	assert_eq "fim: $DB/state: another fim watch is running on this baseline" "$err"
}

@test "watch: READY=1 and STATUS reach NOTIFY_SOCKET" {
	data_tree
	baseline
	notify_listen
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 start_watch
	poll "$WAIT_MAX" grep -q READY=1 "$T/notify.txt" || true
	run grep READY=1 "$T/notify.txt"
	assert_contains "$output" "READY=1|STATUS=watching 3 directories (0 unwatched"
	# pinged at half of WATCHDOG_USEC
	pings() { [ "$(grep -c '^WATCHDOG=1$' "$T/notify.txt")" -ge 3 ]; }
	poll "$WAIT_MAX" pings || true
	run grep -c '^WATCHDOG=1$' "$T/notify.txt"
	[ "$output" -ge 3 ]
}

@test "watch: a verify key that the baseline does not satisfy is refused (19)" {
	data_tree
	baseline
	FIM_PASSPHRASE=pass fimraw key generate --out "$T/keys"
	assert_rc 0
	fimrun watch --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "not signed"
}

@test "watch: bad settings are policy errors" {
	data_tree 'set watch.rescan_interval = soon'
	fimrun watch
	assert_rc 17
	assert_contains "$err" "'soon' is not a number of seconds"
}

@test "watch: a queue overflow is alerted and what was missed is found by a rescan" {
	data_tree
	baseline
	f=/proc/sys/fs/inotify/max_queued_events
	lock_sysctls
	SAVED_QUEUE=$(cat "$f")
	if ! echo 16 >"$f" 2>/dev/null; then
		SAVED_QUEUE=
		skip "cannot write $f"
	fi
	start_watch
	# the daemon's queue is made at start: the old value is back for others
	restore_sysctls
	# fim itself (WPID is the timeout(1) around it) stops reading for a while
	fpid=$(pgrep -P "$WPID")
	kill -STOP "$fpid"
	for i in $(seq 40); do printf '%s\n' "$i" >"$ROOT/data/f$i"; done
	kill -CONT "$fpid"
	wait_for "watch overflow"
	wait_for "added /data/f40"
	for i in $(seq 40); do wait_for "added /data/f$i"; done
	assert_eq 40 "$(drift | grep -c '^added /data/f')"
	# the trees queued for the rescan were kept in the state until done
	stop_watch
	assert_rc 0
	run rescan_set
	assert_eq "" "$output"
}

# Watches root holds now, in every process.
inotify_watches() {
	cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || true
}

@test "watch: an exhausted watch limit is alerted and the unwatched trees are rescanned" {
	data_tree 'set watch.rescan_interval = 1'
	for d in d1 d2 d3 d4 d5 d6; do mkdir -p "$ROOT/data/deep/$d"; done
	printf 'q\n' >"$ROOT/data/deep/d6/q"
	baseline
	f=/proc/sys/fs/inotify/max_user_watches
	lock_sysctls
	SAVED_WATCHES=$(cat "$f")
	# room for a few of the daemon's watches only, for as short as possible
	if ! echo $(($(inotify_watches) + 3)) >"$f" 2>/dev/null; then
		SAVED_WATCHES=
		skip "cannot write $f"
	fi
	spawn_watch
	wait_for "watch watch_limit" || { restore_sysctls; false; }
	restore_sysctls
	wait_for "watch reconciled"
	run "$PY" - "$A" <<-'EOF'
		import json, sys
		ev = [json.loads(l) for l in open(sys.argv[1]) if '"watch_limit"' in l][0]
		print(ev["fim"]["severity"], len(ev["fim"]["paths"]) > 0)
	EOF
	assert_eq "high True" "$output"
	# a change below an unwatched directory is found by the interval scan
	printf 'changed\n' >"$ROOT/data/deep/d6/q"
	wait_for "changed /data/deep/d6/q size,hash"
}

@test "watch: an accept while it runs is picked up without a restart" {
	data_tree
	baseline
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	fimrun accept --all --reason "reviewed"
	assert_rc 0
	wait_for "watch baseline_reloaded"
	wait_for "watch reconciled" 2
	# compared with the new baseline now: the accepted state is no drift,
	# a further change is
	printf 'again\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash" 2
	barrier
	assert_eq "changed /data/a size,hash
changed /data/a size,hash" "$(drift)"
}

@test "watch: the alert trail is reopened after logrotate moved it" {
	data_tree
	baseline
	start_watch
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	mv "$A" "$A.1"
	printf 'changed\n' >"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	assert_eq "changed /data/sub/b size,hash" "$(alerts)"
	fimraw log verify "$A.1"
	assert_rc 0
	fimraw log verify "$A"
	assert_rc 0
	run "$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["fim_chain"]["seq"])' "$A"
	assert_eq 1 "$output"
}

@test "watch: a file system mounted over a watched directory is alerted and rescanned" {
	data_tree
	baseline
	mkdir -p "$T/evil"
	printf 'evil\n' >"$T/evil/b"
	printf 'planted\n' >"$T/evil/p"
	start_watch
	if ! mount --bind "$T/evil" "$ROOT/data/sub" 2>/dev/null; then
		skip "cannot mount here"
	fi
	MOUNTED=$ROOT/data/sub
	wait_for "watch mounts_changed"
	wait_for "added /data/sub/p"
	umount "$ROOT/data/sub" && MOUNTED=
	wait_for "watch mounts_changed" 2
	barrier
	assert_eq "added /data/sub/p
changed /data/sub/b size,hash" "$(drift)"
}

# rescan_set [add PATH]: the paths in the daemon's pending-rescan set (after
# adding PATH as a crashed daemon would have left it).
rescan_set() {
	"$PY" - "$DB/state" "$@" <<-'EOF'
		import hashlib, lmdb, sys
		env = lmdb.open(sys.argv[1], max_dbs=4)
		db = env.open_db(b"rescan")
		with env.begin(write=True) as txn:
		    if len(sys.argv) > 3 and sys.argv[2] == "add":
		        p = sys.argv[3].encode()
		        txn.put(hashlib.sha256(p).digest(), p, db=db)
		    for _, v in txn.cursor(db=db):
		        print(v.decode())
	EOF
}

# raw_write IMAGE FROM TO: replaces the one occurrence of FROM in the file
# system image IMAGE (not mounted) with TO, of the same length, as a write to
# the disk below the file system would: no inode, size or time moves.
raw_write() {
	"$PY" - "$@" <<-'EOF'
		import sys
		path, a, b = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
		assert len(a) == len(b)
		data = open(path, "rb").read()
		assert data.count(a) == 1, data.count(a)
		with open(path, "r+b") as f:
		    f.seek(data.index(a))
		    f.write(b)
	EOF
}

# The pending rescan is the only thing that reads /data/sub/b again: the
# daemon runs with --quick, so its start-up reconcile trusts a file whose
# inode, size, mtime and ctime are as recorded, and the content under
# /data/sub was rewritten on the disk itself while the daemon was down.
@test "watch: a rescan left pending by a crash is done at the next start, then forgotten" {
	mkdir -p "$ROOT/data/sub"
	printf 'alpha\n' >"$ROOT/data/a"
	truncate -s 4M "$T/sub.img"
	mkfs.ext2 -q -F "$T/sub.img" >/dev/null 2>&1 || skip "no mkfs.ext2 here"
	if ! mount -o loop "$T/sub.img" "$ROOT/data/sub" 2>/dev/null; then
		skip "cannot mount a loop device here"
	fi
	MOUNTED=$ROOT/data/sub
	printf 'bravo-as-in-the-baseline\n' >"$ROOT/data/sub/b"
	policy <<-EOF
		set alerts.journald = no
		set watch.journal = no
		/data type mode uid gid size hash target inode mtime ctime
	EOF
	A=$T/alerts.jsonl
	baseline
	start_watch --quick
	stop_watch
	assert_rc 0
	umount "$ROOT/data/sub" && MOUNTED=
	raw_write "$T/sub.img" "bravo-as-in-the-baseline" "bravo-rewritten-on-disk!"
	mount -o loop "$T/sub.img" "$ROOT/data/sub"
	MOUNTED=$ROOT/data/sub
	run rescan_set add /data/sub
	assert_eq "/data/sub" "$output"
	start_watch --quick
	barrier
	stop_watch
	assert_rc 0
	assert_eq "changed /data/sub/b hash" "$(drift)"
	run rescan_set
	assert_eq "" "$output"
}

@test "watch: a directory above a start point replaced is followed; the old one is not named after it" {
	mkdir -p "$ROOT/data/sub/d"
	printf 'good\n' >"$ROOT/data/sub/d/f"
	policy <<-'EOF'
		set alerts.journald = no
		set watch.journal = no
		/data/sub/d type mode size hash
	EOF
	A=$T/alerts.jsonl
	baseline
	start_watch
	mv "$ROOT/data" "$ROOT/data.old"
	mkdir -p "$ROOT/data/sub/d"
	printf 'EVIL!\n' >"$ROOT/data/sub/d/f"
	wait_for "changed /data/sub/d/f size,hash"
	# the old tree is no longer /data: a write there is nobody's drift
	printf 'old\n' >>"$ROOT/data.old/sub/d/f"
	printf 'e2\n' >"$ROOT/data/sub/d/g"
	wait_for "added /data/sub/d/g"
	assert_eq "added /data/sub/d/g
changed /data/sub/d/f size,hash" "$(drift)"
}

@test "watch: a directory too deep for a path is watched through a descriptor; nothing stops the daemon" {
	data_tree
	baseline
	start_watch
	# 22 directories of 200 bytes: the path is longer than PATH_MAX
	deep() {
		"$PY" - "$ROOT/data" "$1" <<-'EOF'
			import os, sys
			os.chdir(sys.argv[1])
			for _ in range(22):
			    os.makedirs("x" * 200, exist_ok=True)
			    os.chdir("x" * 200)
			with open(sys.argv[2], "w") as f:
			    f.write(sys.argv[2] + "\n")
		EOF
	}
	rel=/data
	for _ in $(seq 22); do rel=$rel/$(printf 'x%.0s' $(seq 200)); done
	deep f
	wait_for "added $rel/f"
	deep g
	wait_for "added $rel/g"
	# re-armed from scratch (SIGHUP, and so a restart): still watched to the bottom
	kill -HUP "$WPID"
	wait_for "watch policy_reloaded"
	deep h
	wait_for "added $rel/h"
	kill -0 "$WPID"
}

@test "watch: a broken policy on disk does not stop the daemon when the baseline is replaced" {
	data_tree
	baseline
	start_watch
	cp "$POL" "$T/good.policy"
	printf '/data hsh\n' >>"$POL"
	fimraw -r "$ROOT" -d "$DB" -c "$T/good.policy" baseline
	assert_rc 0
	wait_for "watch baseline_reloaded"
	wait_for "watch reconciled" 2
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	kill -0 "$WPID"
}

@test "watch: an alert a sink could not take is sent again once it works" {
	data_tree
	baseline
	start_watch
	# the trail cannot be written: a directory where the file was
	mv "$A" "$A.1"
	mkdir "$A"
	printf 'changed\n' >"$ROOT/data/a"
	poll "$WAIT_MAX" grep -q "cannot send an alert" "$T/watch.err" || true
	assert_contains "$(cat "$T/watch.err")" "alert sink trail: cannot send an alert"
	rmdir "$A"
	printf 'changed\n' >"$ROOT/data/sub/b"
	wait_for "watch sink_gap"
	wait_for "changed /data/a size,hash"
	assert_eq "changed /data/a size,hash
changed /data/sub/b size,hash" "$(drift)"
}

@test "watch: a daemon that was killed is alerted at the next start" {
	data_tree
	baseline
	start_watch
	kill -KILL "$(pgrep -P "$WPID")"
	wait "$WPID" || true
	WPID=
	start_watch
	assert_eq "watch started
watch reconciled
watch unclean_stop
watch started
watch reconciled" "$(alerts)"
}

@test "watch: a write through a hard link from outside is found by the periodic full check" {
	data_tree 'set watch.full_rescan_interval = 2'
	ln "$ROOT/data/a" "$T/outside-link"
	baseline
	start_watch
	printf 'through the link\n' >>"$T/outside-link"
	wait_for "changed /data/a size,hash"
	wait_for "watch reconciled" 2
}

# Starts the daemon with watch.backend = fanotify; skips when the kernel or
# the file system refuses file system marks here (the daemon says so).
start_fanotify() {
	data_tree "set watch.backend = fanotify"
	"$@"
	baseline
	start_watch
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here: $(cat "$T/watch.err")"
	fi
}

@test "watch: fanotify: modify, create, delete, rename and chmod are alerted as with inotify" {
	start_fanotify eval 'printf "c\n" >"$ROOT/data/c"; printf "m\n" >"$ROOT/data/m"'
	run grep -c "using inotify" "$T/watch.err"
	assert_eq 0 "$output"
	printf 'changed\n' >"$ROOT/data/a"
	printf 'new\n' >"$ROOT/data/new"
	rm "$ROOT/data/sub/b"
	mv "$ROOT/data/m" "$ROOT/data/m2"
	chmod 0600 "$ROOT/data/c"
	barrier
	assert_eq "added /data/m2
added /data/new
changed /data/a size,hash
changed /data/c mode
removed /data/m
removed /data/sub/b" "$(drift)"
}

@test "watch: fanotify: a file in a brand-new nested directory; a file removed with its directory" {
	start_fanotify mkdir -p "$ROOT/data/old/deeper"
	printf 'g\n' >"$ROOT/data/old/deeper/g" 2>/dev/null || true
	mkdir -p "$ROOT/data/n1/n2" && printf 'x\n' >"$ROOT/data/n1/n2/f"
	wait_for "added /data/n1/n2/f"
	printf 'y\n' >"$ROOT/data/n1/n2/g"
	wait_for "added /data/n1/n2/g"
	# the directories are gone before their events are read: not named, rescanned
	rm -r "$ROOT/data/sub"
	wait_for "removed /data/sub/b"
	barrier
	assert_eq "added /data/n1
added /data/n1/n2
added /data/n1/n2/f
added /data/n1/n2/g
added /data/old/deeper/g
removed /data/sub
removed /data/sub/b" "$(drift)"
}

@test "watch: fanotify: changes outside the root or the policy are not alerted" {
	start_fanotify true
	mkdir -p "$T/outside"
	printf 'o\n' >"$T/outside/f"
	rm "$T/outside/f"
	printf 'changed\n' >"$ROOT/other/x"
	printf 'new\n' >"$ROOT/other/y"
	printf 'new\n' >"$ROOT/data-not"
	chmod 0700 "$ROOT/other"
	printf 'changed\n' >"$ROOT/data/a"
	barrier
	assert_eq "changed /data/a size,hash" "$(drift)"
}

@test "watch: fanotify: a file system mounted over a watched directory is marked too and not held" {
	start_fanotify true
	# another file system, filled first, then moved over /data/sub
	mkdir -p "$T/fs"
	if ! mount -t tmpfs -o mode=0755 fimtest "$T/fs" 2>/dev/null; then
		skip "cannot mount here"
	fi
	MOUNTED=$T/fs
	printf 'bravo\n' >"$T/fs/b"
	if ! mount --move "$T/fs" "$ROOT/data/sub" 2>/dev/null; then
		skip "cannot move a mount here"
	fi
	MOUNTED=$ROOT/data/sub
	wait_for "watch mounts_changed"
	# its root directory is another one (the size tmpfs gives it); b is the same
	wait_for "changed /data/sub size"
	printf 'more\n' >>"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	# the daemon holds no descriptor of it: it can be unmounted
	umount "$ROOT/data/sub" && MOUNTED=
	wait_for "watch mounts_changed" 2
	barrier
	assert_eq "changed /data/sub size
changed /data/sub/b size,hash" "$(drift)"
}

@test "watch: fanotify: a directory above a start point replaced is followed; the old one is not" {
	mkdir -p "$ROOT/data/sub/d"
	printf 'good\n' >"$ROOT/data/sub/d/f"
	policy <<-'EOF'
		set alerts.journald = no
		set watch.journal = no
		set watch.backend = fanotify
		/data/sub/d type mode size hash
	EOF
	A=$T/alerts.jsonl
	baseline
	start_watch
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here"
	fi
	mv "$ROOT/data" "$ROOT/data.old"
	mkdir -p "$ROOT/data/sub/d"
	printf 'EVIL!\n' >"$ROOT/data/sub/d/f"
	wait_for "changed /data/sub/d/f size,hash"
	printf 'old\n' >>"$ROOT/data.old/sub/d/f"
	printf 'e2\n' >"$ROOT/data/sub/d/g"
	wait_for "added /data/sub/d/g"
	assert_eq "added /data/sub/d/g
changed /data/sub/d/f size,hash" "$(drift)"
}

@test "watch: fanotify: a queue overflow is alerted and what was missed is found by a rescan" {
	data_tree "set watch.backend = fanotify"
	baseline
	f=/proc/sys/fs/fanotify/max_queued_events
	[ -w "$f" ] || skip "cannot write $f"
	lock_sysctls
	saved=$(cat "$f")
	echo 16 >"$f"
	# the daemon's queue is made at start: the old value is back at once
	start_watch || { echo "$saved" >"$f"; false; }
	echo "$saved" >"$f"
	limits_lock shared
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here"
	fi
	fpid=$(pgrep -P "$WPID")
	kill -STOP "$fpid"
	for i in $(seq 40); do printf '%s\n' "$i" >"$ROOT/data/f$i"; done
	kill -CONT "$fpid"
	wait_for "watch overflow"
	for i in $(seq 40); do wait_for "added /data/f$i"; done
	assert_eq 40 "$(drift | grep -c '^added /data/f')"
	# the message names fanotify's limit (its value now, not the daemon's)
	grep -F '"overflow"' "$A" | grep -qF "(fs.fanotify.max_queued_events = $saved)"
}

# Mounts a tmpfs over /data/sub holding b, as before the baseline.
tmpfs_sub() {
	mount -t tmpfs -o mode=0755 fimtest "$ROOT/data/sub" 2>/dev/null || return 0
	MOUNTED=$ROOT/data/sub
	printf 'bravo\n' >"$ROOT/data/sub/b"
}

@test "watch: fanotify: a file system mounted below a start point before the start is marked too" {
	start_fanotify tmpfs_sub
	[ -n "${MOUNTED:-}" ] || skip "cannot mount here"
	printf 'more\n' >>"$ROOT/data/sub/b"
	wait_for "changed /data/sub/b size,hash"
	barrier
	assert_eq "changed /data/sub/b size,hash" "$(drift)"
}

@test "watch: fanotify: SIGHUP reloads the policy and marks again" {
	data_tree "set watch.backend = fanotify"
	cat >>"$POL" <<<'/other type mode size hash'
	baseline
	data_tree "set watch.backend = fanotify"
	start_watch
	if grep -q "watch.backend = fanotify: not available" "$T/watch.err"; then
		skip "fanotify file system marks are refused here"
	fi
	printf 'changed\n' >"$ROOT/other/x"
	barrier
	assert_eq "" "$(drift)"
	cat >>"$POL" <<<'/other type mode size hash'
	kill -HUP "$WPID"
	wait_for "watch policy_reloaded"
	wait_for "changed /other/x size,hash"
	printf 'new\n' >"$ROOT/other/y"
	wait_for "added /other/y"
	printf 'changed\n' >"$ROOT/data/a"
	wait_for "changed /data/a size,hash"
	kill -0 "$WPID"
}
