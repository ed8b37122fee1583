#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Output under pressure: JSON lines that stay whole when warnings share the
# stream, events too big for syslog cut to fit, syslog levels on a journal
# stream, and writes that fail (full disk, /dev/full) never passing as success.

load helpers

teardown() {
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then umount "$MNT" || true; fi
}

# /etc with 40 files of long names, a passwd, and a policy that reads users:
# after the baseline, 40 added files (well over a pipe buffer of JSON) and a
# malformed passwd line, whose warning comes after them.
noisy_tree() {
	mkdir -p "$ROOT/etc"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\n' >"$ROOT/etc/group"
	policy <<-'EOF'
		/etc/drop CONTENT severity=high
		users severity=high
	EOF
	mkdir -p "$ROOT/etc/drop"
	baseline
	for i in $(seq 40); do
		printf 'x%s\n' "$i" >"$ROOT/etc/drop/file-with-a-rather-long-name-to-fill-the-pipe-$i"
	done
	printf 'this line has no colons at all\n' >>"$ROOT/etc/passwd"
}

# lines_json FILE: every line of FILE is one whole JSON object; prints, per
# line, "<N>" (when it has such a prefix) and event.action or "summary".
lines_json() {
	"$PY" - "$1" <<-'EOF'
		import json, re, sys
		data = open(sys.argv[1], "rb").read()
		assert data.endswith(b"\n"), "output does not end with a newline"
		for no, raw in enumerate(data.split(b"\n")[:-1], 1):
		    m = re.match(rb"^(<[0-7]>)?(.*)$", raw, re.S)
		    try:
		        o = json.loads(m.group(2))
		    except ValueError as e:
		        sys.exit("line %d is not whole JSON (%s): %r" % (no, e, raw[:200]))
		    assert isinstance(o, dict), "line %d: not an object" % no
		    what = "summary" if "summary" in o.get("fim", {}) else o["event"]["action"]
		    if what == "message":
		        what += " " + o["log"]["level"]
		    print(((m.group(1) or b"").decode() + what))
	EOF
}

@test "output: a warning in the middle of a JSON check into one pipe (2>&1) is a line of its own" {
	noisy_tree
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check 2>&1 | cat >"$T/both"
	run lines_json "$T/both"
	[ "$status" -eq 0 ] || { echo "$output" | tail -5; false; }
	assert_eq 40 "$(grep -c '^added$' <<<"$output")" "added events"
	assert_eq "changed
message warning
error
summary" "$(grep -v '^added$' <<<"$output")" "the other lines, in order"
	# the warning is an ECS event naming the file and line
	"$PY" - "$T/both" <<-'EOF'
		import json, sys
		msgs = [json.loads(l) for l in open(sys.argv[1]) if '"action":"message"' in l]
		assert len(msgs) == 1, msgs
		m = msgs[0]
		assert m["message"].startswith("/etc/passwd:2: "), m["message"]
		assert m["event"]["kind"] == "event" and m["event"]["module"] == "fim", m
		assert m["host"]["name"] and m["@timestamp"], m
	EOF
}

@test "output: with stdout and stderr apart, warnings stay text on stderr" {
	noisy_tree
	fimrun --format json check
	assert_rc 13
	assert_contains "$err" "fim: warning: /etc/passwd:2: "
	assert_not_contains "$out" '"action":"message"'
}

# /etc with a critical and a low file; both drift after the baseline.
two_severities() {
	mkdir -p "$ROOT/etc/keys" "$ROOT/etc/logs"
	printf 'k\n' >"$ROOT/etc/keys/k"
	printf 'l\n' >"$ROOT/etc/logs/l"
	policy <<-'EOF'
		/etc/keys/k CONTENT severity=critical
		/etc/logs/l CONTENT severity=low
	EOF
	baseline
	printf 'changed\n' >>"$ROOT/etc/keys/k"
	printf 'changed\n' >>"$ROOT/etc/logs/l"
}

@test "output: on the journal's stream (JOURNAL_STREAM names stdout) each line carries its syslog level" {
	two_severities
	: >"$T/out"
	JOURNAL_STREAM=$(stat -c %d:%i "$T/out") \
		timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check >>"$T/out" 2>"$T/err" || rc=$?
	assert_eq 4 "${rc:-0}" "exit status"
	run lines_json "$T/out"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_eq "<2>changed
<5>changed
<6>summary" "$output" "levels"
	# critical is the key, low the log
	assert_eq "/etc/keys/k" "$(head -1 "$T/out" | sed 's/^<2>//' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["fim"]["id"])')"
	assert_eq "" "$(cat "$T/err")" "stderr"
}

@test "output: a warning on the journal's stream is a JSON line at level warning" {
	two_severities
	printf 'set hash = sha512\n' >>"$POL"
	: >"$T/out"
	JOURNAL_STREAM=$(stat -c %d:%i "$T/out") \
		timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check >>"$T/out" 2>&1 || rc=$?
	assert_eq 4 "${rc:-0}" "exit status"
	run lines_json "$T/out"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_eq "<4>message warning
<2>changed
<5>changed
<6>summary" "$output" "levels"
}

@test "output: without JOURNAL_STREAM, or naming another file, no line has a level prefix" {
	two_severities
	: >"$T/other"
	for js in "" "$(stat -c %d:%i "$T/other")" "garbage" "1:"; do
		JOURNAL_STREAM=$js fimrun --format json check
		assert_rc 4
		run lines_json "$T/out"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		assert_eq "changed
changed
summary" "$output" "lines with JOURNAL_STREAM='$js'"
	done
	# a terminal-less human report is not prefixed either
	JOURNAL_STREAM= fimrun check
	assert_not_contains "$out" "<"
}

# A baseline of /etc/a, then a change to it.
one_drift() {
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<<'/etc CONTENT'
	baseline
	printf 'tampered\n' >>"$ROOT/etc/a"
}

# full_run NAME ARGS...: runs fim ARGS with stdout on /dev/full; it must fail
# with exit 20, and "fim: NAME:" must name the output and the cause.
full_run() {
	local name=$1
	shift
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" "$@" >/dev/full 2>"$T/err" || rc=$?
	err=$(cat "$T/err")
	assert_eq 20 "$rc" "exit status of fim $* >/dev/full (stderr: $err)"
	assert_contains "$err" "fim: $name: cannot write to standard output (/dev/full): No space left on device"
}

@test "output: show, history, policy test, accept and baseline report a write to /dev/full" {
	one_drift
	full_run show show /etc/a
	full_run show --format json show /etc/a
	full_run history history
	full_run policy policy test /etc/a
	full_run policy --format json policy test /etc/a
	full_run accept accept --all --reason reviewed
	# the accept itself was recorded: only its report was lost
	fimrun check
	assert_rc 0
	full_run history history
	full_run baseline baseline
	fimrun check
	assert_rc 0
}

@test "output: check to /dev/full says No space left on device, in both formats, never exit 0-15" {
	one_drift
	# more than a buffer of report, so that a write fails in the middle
	for i in $(seq 60); do printf '%s\n' "$i" >"$ROOT/etc/added-file-number-$i"; done
	full_run check --format json check
	assert_not_contains "$err" "Input/output error"
	assert_eq 1 "$(grep -c 'cannot write' "$T/err")" "one message"
	full_run check check
	assert_eq 1 "$(grep -c 'cannot write' "$T/err")" "one message"
	# nothing drifted is no excuse either
	fimrun baseline
	assert_rc 0
	full_run check --format json check
}

# The trail F, empty, on a small tmpfs filled to the last block.
full_trail() {
	MNT=$T/trail
	mkdir -p "$MNT"
	mount -t tmpfs -o size=64k tmpfs "$MNT" || skip "cannot mount a tmpfs here"
	F=$MNT/alerts.jsonl
	: >"$F"
	dd if=/dev/zero of="$MNT/fill" bs=1k 2>/dev/null || true
	[ "$(stat -f -c %a "$MNT")" -eq 0 ]
}

@test "output: check --alerts on a full trail disk still reports on stdout, names the trail and the cause, exits 20" {
	one_drift
	full_trail
	fimrun --format json check --alerts "$F"
	assert_rc 20
	assert_eq "fim: $F: cannot append to the alert trail: No space left on device" "$err" "stderr"
	EVENTS=$("$PY" "$JSONL" events "$T/out")
	assert_eq "changed /etc/a size,mtime,ctime,hash
summary scanned=2 added=0 removed=0 changed=1 errors=0" "$EVENTS" "the report on stdout"
	# nothing half-written went into the trail
	assert_eq 0 "$(stat -c %s "$F")" "trail size"
	# and in human form too
	fimrun check --alerts "$F"
	assert_rc 20
	assert_contains "$out" "/etc/a"
	assert_contains "$out" "size"
	assert_eq "fim: $F: cannot append to the alert trail: No space left on device" "$err" "stderr"
}

# jsonline_check FILE MAX: every line of FILE is JSON of at most MAX bytes.
max_line_is() {
	local longest
	longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$1")
	[ "$longest" -le "$2" ] || { echo "longest line of $1: $longest bytes, over $2"; return 1; }
}

@test "output: a sudoers object with 3000 rules is cut to the line limit, marked, and whole in the trail" {
	mkdir -p "$ROOT/etc"
	for i in $(seq 3000); do echo "root ALL=(ALL) /usr/bin/command-number-$i"; done >"$ROOT/etc/sudoers"
	policy <<<'sudoers severity=high'
	baseline
	echo 'root ALL=(ALL) NOPASSWD: /usr/bin/evil' >>"$ROOT/etc/sudoers"
	F=$T/alerts.jsonl
	check_json --alerts "$F"
	assert_rc 4
	assert_eq "changed sudoers:root rules
summary scanned=1 added=0 removed=0 changed=1 errors=0" "$EVENTS"
	LC_ALL=C max_line_is "$T/out" 7680
	assert_eq true "$(jget sudoers:root fim.truncated)"
	# what was dropped is counted per list; what was kept is the start of each
	"$PY" - "$T/out" "$F" <<-'EOF'
		import json, sys
		cut = json.loads(open(sys.argv[1]).readline())
		whole = json.loads(open(sys.argv[2]).readline())
		f, w = cut["fim"], whole["fim"]
		assert "truncated" not in w and len(w["after"]["rules"]) == 3001, "trail event cut"
		d = f["dropped"]
		assert set(d) == {"fim.before.rules", "fim.after.rules"}, d
		for side in ("before", "after"):
		    kept = f[side]["rules"]
		    assert len(kept) > 50, (side, len(kept))
		    assert kept == w[side]["rules"][:len(kept)], side
		    assert len(kept) + d["fim.%s.rules" % side] == len(w[side]["rules"]), side
		# the delta and the finding, what a reader needs, are whole
		assert f["delta"]["rules"]["added"] == ["ALL=(ALL) NOPASSWD: /usr/bin/evil"], f["delta"]
		assert f["suspicious"] == w["suspicious"] and f["suspicious"], f
		for k in ("@timestamp", "event", "host"):
		    assert cut[k] == whole[k] or k == "@timestamp", k
		assert cut["event"]["action"] == "changed" and f["id"] == "root" and f["severity"] == "critical"
	EOF
	fimrun log verify "$F"
	assert_rc 0
	# a larger limit keeps more
	check_json --max-line 20000
	assert_rc 4
	LC_ALL=C max_line_is "$T/out" 20000
	[ "$(LC_ALL=C awk 'NR == 1 { print length($0) }' "$T/out")" -gt 16000 ]
	fimrun --max-line 100 check
	assert_rc 16
	assert_eq "fim: --max-line: '100' is not a number of bytes from 4096 to 1048320" "$err"
}

@test "output: names of raw bytes too long for a line are cut with their _hex twins, still the same bytes" {
	local name d i
	name=$(printf 'z\xff%.0s' $(seq 120))
	d=$ROOT/etc/deep
	for i in $(seq 15); do d=$d/$name; done
	mkdir -p "$ROOT/etc/deep"
	policy <<<'/etc/deep CONTENT'
	baseline
	mkdir -p "$d"
	check_json
	assert_rc 5
	LC_ALL=C max_line_is "$T/out" 7680
	"$PY" - "$T/out" <<-'EOF'
		import json, sys
		for raw in open(sys.argv[1], "rb"):
		    o = json.loads(raw)
		    f = o["fim"]
		    if "summary" in f or o["event"]["action"] != "added":
		        continue
		    for obj, key in ((f, "id"), (o["file"], "path")):
		        if key + "_hex" in obj:
		            b = bytes.fromhex(obj[key + "_hex"])
		            assert b.decode("utf-8", "replace") == obj[key], key
		            assert b.startswith(b"/etc/deep/z\xffz\xff"), b[:20]
		    if f.get("truncated"):
		        assert f["dropped"], f
	EOF
}

@test "output: check --alerts with stdout on /dev/full still writes the whole trail, exits 20" {
	one_drift
	F=$T/alerts.jsonl
	full_run check --format json check --alerts "$F"
	assert_eq 1 "$(grep -c 'cannot write' "$T/err")" "one message"
	fimrun log verify "$F"
	assert_rc 0
	assert_contains "$out" "2 lines, chain intact"
	"$PY" "$JSONL" events "$F" >"$T/events" 2>&1 || { cat "$T/events"; false; }
	assert_eq "changed /etc/a size,mtime,ctime,hash
summary scanned=2 added=0 removed=0 changed=1 errors=0" "$(cat "$T/events")" "the trail"
}
