#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Fatal errors and their exit statuses (16 usage, 17 policy, 18 baseline,
# 20 I/O), objects that cannot or must not be read (FIFOs, sockets, devices,
# permission denied: exit 8), and baselines that cannot be written.

load helpers

teardown() {
	if [ -n "${IMMUTABLE:-}" ]; then chattr -i "$IMMUTABLE" || true; fi
	if [ -n "${MNT:-}" ] && mountpoint -q "$MNT"; then umount "$MNT" || true; fi
	if [ -n "${UNPRIV:-}" ]; then rm -rf "$UNPRIV"; fi
}

small_tree() {
	mkdir -p "$ROOT/etc"
	printf 'a\n' >"$ROOT/etc/a"
	policy <<<'/etc CONTENT'
}

# --- usage: 16 ---

@test "usage: unknown command exits 16 and says so" {
	small_tree
	fimrun frobnicate
	assert_rc 16
	assert_eq "fim: unknown command 'frobnicate' (see fim --help)" "$err" "stderr"
	assert_eq "" "$out" "stdout"
}

@test "usage: unknown option exits 16 with the usage on stderr" {
	small_tree
	fimrun --frobnicate check
	assert_rc 16
	assert_contains "$err" "unrecognized option '--frobnicate'" "stderr"
	assert_contains "$err" "usage: fim [options] command [args]" "stderr"
	assert_eq "" "$out" "stdout"
	fimrun -Z check
	assert_rc 16
	assert_contains "$err" "invalid option -- 'Z'" "stderr"
}

@test "usage: --format xml exits 16 before anything is done" {
	small_tree
	fimrun --format xml baseline
	assert_rc 16
	assert_eq "fim: --format: unknown format 'xml' (use human or json)" "$err" "stderr"
	[ ! -e "$DB" ] || assert_eq "no $DB" "$(ls -la "$DB")" "db directory"
}

@test "usage: no command, stray arguments, missing arguments: 16" {
	small_tree
	fimraw
	assert_rc 16
	assert_contains "$err" "usage: fim" "stderr"
	baseline
	fimrun check extra
	assert_rc 16
	assert_eq "fim: check: unexpected argument 'extra'" "$err" "stderr"
	fimrun show
	assert_rc 16
	assert_eq "fim: show: which object? (fim show PATH|KIND:NAME...)" "$err" "stderr"
	fimrun policy
	assert_rc 16
	assert_eq "fim: policy: unknown or missing subcommand (fim policy test PATH|KIND:NAME...)" "$err" "stderr"
	fimrun policy frob /etc
	assert_rc 16
	fimrun -c
	assert_rc 16
	assert_contains "$err" "option requires an argument -- 'c'" "stderr"
}

@test "--help exits 0 on stdout; --version prints the version" {
	fimraw --help
	assert_rc 0
	assert_eq "usage: fim [options] command [args]" "$(head -n1 "$T/out")" "first line of --help"
	assert_eq "" "$err" "stderr"
	fimraw --version
	assert_rc 0
	[[ $out =~ ^fim\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || assert_eq "fim X.Y.Z" "$out" "--version"
}

# --- policy: 17 ---

@test "policy: unknown attribute exits 17 with FILE:LINE:COL, for every command" {
	mkdir -p "$ROOT/etc"
	policy <<-'EOF'
		# a comment
		/etc  hsh severity=high
	EOF
	for cmd in baseline check "policy test /etc"; do
		# shellcheck disable=SC2086
		fimrun $cmd
		assert_rc 17
		assert_eq "fim: $POL:2:7: unknown attribute or group 'hsh'" "$err" "stderr of $cmd"
		assert_eq "" "$out" "stdout of $cmd"
	done
	[ ! -e "$DB" ] || assert_eq "no $DB" "$(ls -la "$DB")" "db directory after a failed baseline"
}

@test "policy: other errors, each with its position and cause" {
	local line want
	while IFS='|' read -r line want; do
		printf '%s\n' "$line" >"$POL"
		fimrun policy test /etc
		assert_rc 17
		assert_eq "fim: $POL:$want" "$err" "stderr for policy line: $line"
	done <<-'EOF'
		/etc CONTENT severity=urgent|1:23: unknown severity 'urgent' (use low, medium, high or critical)
		set hash = md5|1:12: unknown hash algorithm 'md5' (use sha256, sha512 or blake2b)
		frobnicate /etc|1:1: unknown keyword 'frobnicate'
		!/etc hash|1:7: an exclude rule takes no attributes
		/etc/../x CONTENT|1:1: '.' and '..' are not allowed in a pattern
		"/etc CONTENT|1:1: unterminated quote
	EOF
}

@test "policy: missing policy file exits 17 and names it" {
	small_tree
	fimraw -r "$ROOT" -d "$DB" -c "$T/nope.policy" check
	assert_rc 17
	assert_eq "fim: $T/nope.policy: No such file or directory" "$err" "stderr"
	fimraw -r "$ROOT" -d "$DB" -c "$T/nope.policy" baseline
	assert_rc 17
	[ ! -e "$DB" ] || assert_eq "no $DB" "$(ls -la "$DB")" "db directory after a failed baseline"
}

@test "policy: a directory as policy file exits 17" {
	fimraw -r "$ROOT" -d "$DB" -c "$ROOT" check
	assert_rc 17
	assert_eq "fim: $ROOT: Is a directory" "$err" "stderr"
}

@test "policy: include cycle exits 17 and names the files" {
	small_tree
	printf 'include b.policy\n/etc CONTENT\n' >"$T/a.policy"
	printf '# b\ninclude a.policy\n' >"$T/b.policy"
	fimraw -r "$ROOT" -d "$DB" -c "$T/a.policy" check
	assert_rc 17
	assert_eq "fim: $T/b.policy:2:9: include cycle through $T/a.policy" "$err" "stderr"
	printf 'include self.policy\n' >"$T/self.policy"
	fimraw -r "$ROOT" -d "$DB" -c "$T/self.policy" baseline
	assert_rc 17
	assert_eq "fim: $T/self.policy:1:9: include cycle through $T/self.policy" "$err" "stderr"
}

@test "policy: an error in an included file names that file and line" {
	mkdir -p "$T/policy.d"
	printf 'include policy.d/*.policy\n' >"$POL"
	printf '/etc CONTENT\n' >"$T/policy.d/10-ok.policy"
	printf '\n\n/usr  PERMS +sha1\n' >"$T/policy.d/20-bad.policy"
	fimrun policy test /etc
	assert_rc 17
	assert_eq "fim: $T/policy.d/20-bad.policy:3:13: unknown attribute or group 'sha1'" "$err" "stderr"
}

@test "policy: include of a missing file (no glob) exits 17" {
	printf 'include missing.policy\n' >"$POL"
	fimrun policy test /etc
	assert_rc 17
	assert_eq "fim: $POL:1:9: cannot open $T/missing.policy: No such file or directory" "$err" "stderr"
}

# --- baseline missing or unusable: 18 ---

@test "no baseline: check and show exit 18 naming the db directory" {
	small_tree
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: no baseline; run 'fim baseline' first" "$err" "stderr"
	assert_eq "" "$out" "stdout"
	fimrun show /etc/a
	assert_rc 18
	assert_eq "fim: $DB: no baseline; run 'fim baseline' first" "$err" "stderr"
	mkdir -p "$DB"
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: no baseline; run 'fim baseline' first" "$err" "stderr"
}

@test "baseline whose 'current' dangles: 18" {
	small_tree
	baseline
	rm -r "$DB"/baseline.*
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $DB: " "stderr"
}

@test "garbage in data.mdb: 18, no crash" {
	small_tree
	baseline
	head -c 65536 /dev/urandom >"$DB/current/data.mdb"
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: not a fim baseline, or it is corrupt" "$err" "stderr"
	printf 'garbage' >"$DB/current/data.mdb"
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: not a fim baseline, or it is corrupt" "$err" "stderr"
	fimrun show /etc/a
	assert_rc 18
	# A new baseline replaces the corrupt one.
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "empty data.mdb: 18, reported as corrupt" {
	small_tree
	baseline
	: >"$DB/current/data.mdb"
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: not a fim baseline, or it is corrupt" "$err" "stderr"
}

@test "a corrupt record value: 18 naming the baseline, other records still readable" {
	mkdir -p "$ROOT/etc"
	printf 'target content\n' >"$ROOT/etc/f"
	printf 'other\n' >"$ROOT/etc/g"
	policy <<<'/etc CONTENT'
	baseline
	# The record of /etc/f holds its digest; break the field header before it.
	"$PY" - "$ROOT/etc/f" "$DB/current/data.mdb" <<-'EOF'
		import hashlib, sys
		d = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
		b = bytearray(open(sys.argv[2], "rb").read())
		i = b.find(d)
		assert i > 8 and b.find(d, i + 1) < 0, "digest not found exactly once"
		b[i - 5:i] = b"\xff" * 5
		open(sys.argv[2], "wb").write(b)
	EOF
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $DB: the baseline is corrupt" "stderr"
	fimrun show /etc/f
	assert_rc 18
	assert_eq "fim: /etc/f: cannot read its record: the baseline is corrupt" "$err" "stderr"
	fimrun show /etc/g
	assert_rc 0
	assert_eq "/etc/g" "$(head -n1 "$T/out")" "show /etc/g"
}

@test "a baseline of another schema version: 18 naming both versions" {
	small_tree
	baseline
	# meta "schema" is a big-endian u32 right after its key; make it 99.
	"$PY" - "$DB/current/data.mdb" <<-'EOF'
		import sys
		b = open(sys.argv[1], "rb").read()
		old = b"schema\x00\x00\x00\x01"
		assert b.count(old) == 1, "schema value not found exactly once"
		open(sys.argv[1], "wb").write(b.replace(old, b"schema\x00\x00\x00\x63"))
	EOF
	fimrun check
	assert_rc 18
	[[ $err =~ ^fim:\ $DB:\ baseline\ has\ schema\ version\ 99,\ this\ fim\ reads\ version\ [0-9]+\;\ run\ \'fim\ baseline\'\ to\ rebuild\ it$ ]] ||
		assert_eq "fim: $DB: baseline has schema version 99, this fim reads version N; run 'fim baseline' to rebuild it" "$err" "stderr"
	fimrun show /etc/a
	assert_rc 18
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
}

# --- baseline cannot be written: 20, the previous one stays ---

@test "baseline into a db path under a regular file: 20, naming the path" {
	small_tree
	: >"$T/file"
	fimraw -r "$ROOT" -d "$T/file/db" -c "$POL" baseline
	assert_rc 20
	assert_eq "fim: $T/file/db: cannot create a new baseline: Not a directory" "$err" "stderr"
	fimraw -r "$ROOT" -d "$T/file/db" -c "$POL" check
	assert_rc 18
}

@test "baseline that cannot write into the db dir: 20, the previous baseline stays in force" {
	small_tree
	baseline
	local before
	before=$(readlink "$DB/current")
	printf 'b\n' >"$ROOT/etc/b"
	IMMUTABLE=$DB
	chattr +i "$DB" || skip "chattr +i is not supported here"
	fimrun baseline
	assert_rc 20
	assert_contains "$err" "fim: $DB: cannot create a new baseline: Operation not permitted" "stderr"
	chattr -i "$DB"
	IMMUTABLE=
	assert_eq "$before" "$(readlink "$DB/current")" "current after the failed baseline"
	assert_eq "$before current" "$(ls "$DB" | tr '\n' ' ' | sed 's/ $//')" "db directory"
	# The old baseline is the one check uses: /etc/b is new to it.
	expect_check 5 <<-'EOF'
		added /etc/b
		changed /etc mtime,ctime
		summary scanned=3 added=1 removed=0 changed=1 errors=0
	EOF
}

@test "baseline on a full file system: 20, the previous baseline intact, nothing left behind" {
	small_tree
	MNT=$T/small
	mkdir -p "$MNT"
	mount -t tmpfs -o size=300k tmpfs "$MNT" || skip "cannot mount a tmpfs here"
	local db=$MNT/db
	fimraw -r "$ROOT" -d "$db" -c "$POL" baseline
	assert_rc 0
	local before
	before=$(readlink "$db/current")
	mkdir "$ROOT/etc/many"
	(cd "$ROOT/etc/many" && seq 3000 | xargs touch)
	fimraw -r "$ROOT" -d "$db" -c "$POL" baseline
	assert_rc 20
	assert_contains "$err" "fim: $db: baseline not written: No space left on device" "stderr"
	assert_eq "$before" "$(readlink "$db/current")" "current after the failed baseline"
	assert_eq "$before current" "$(ls "$db" | tr '\n' ' ' | sed 's/ $//')" "db directory"
	fimraw -r "$ROOT" -d "$db" -c "$POL" --format json check
	assert_rc 5
	assert_eq '{"fim":{"summary":{"scanned":3003,"added":3001,"removed":0,"changed":1,"errors":0,"baseline":{"created":"C"}}}}' \
		"$(tail -n1 "$T/out" | sed 's/"created":"[^"]*"/"created":"C"/')" "summary of check against the previous baseline"
}

@test "a missing root directory: 20 naming it" {
	small_tree
	baseline
	fimraw -r "$T/no-such-root" -d "$DB" -c "$POL" check
	assert_rc 20
	assert_eq "fim: $T/no-such-root: cannot open root directory: No such file or directory" "$err" "stderr"
}

# --- objects that must not be opened ---

@test "FIFO, socket and devices are recorded by metadata; check does not hang" {
	mkdir -p "$ROOT/dev2"
	mkfifo -m 600 "$ROOT/dev2/fifo"
	"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$ROOT/dev2/sock"
	mknod -m 666 "$ROOT/dev2/null" c 1 3
	mknod -m 660 "$ROOT/dev2/loop" b 7 0
	policy <<<'/dev2 CONTENT'
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=5 added=0 removed=0 changed=0 errors=0
	EOF
	local p want
	for p in fifo:fifo sock:socket "null:chardev 1:3" "loop:blockdev 7:0"; do
		fimrun --format json show "/dev2/${p%%:*}"
		assert_rc 0
		want=${p#*:}
		assert_contains "$out" "\"type\":\"$want\"" "show /dev2/${p%%:*}"
		assert_not_contains "$out" '"hash"' "show /dev2/${p%%:*}"
	done
	# A device that changes its numbers is a type change.
	rm "$ROOT/dev2/null"
	mknod -m 666 "$ROOT/dev2/null" c 1 5
	check_json
	assert_rc 4
	assert_eq "chardev 1:3" "$(jget /dev2/null fim.before.type)" "fim.before.type"
	assert_eq "chardev 1:5" "$(jget /dev2/null fim.after.type)" "fim.after.type"
	assert_contains "$EVENTS" "changed /dev2/null type," "events"
}

@test "a FIFO that appears, and one that replaces a growing log, are never opened" {
	mkdir -p "$ROOT/var/log"
	printf 'line\n' >"$ROOT/var/log/syslog"
	policy <<-'EOF'
		/var/log   CONTENT growing
		=/var/log  PERMS
	EOF
	baseline
	mkfifo -m 644 "$ROOT/var/log/newfifo"
	set_aside "$ROOT/var/log/syslog"
	mkfifo -m 644 "$ROOT/var/log/syslog"
	check_json
	assert_contains "$EVENTS" "added /var/log/newfifo" "events"
	assert_contains "$EVENTS" "changed /var/log/syslog type," "events"
	assert_rc 5
}

# --- unreadable objects: 8 (needs an unprivileged user: root reads anything) ---

# Runs fim as nobody on a tree under a directory nobody can traverse.
unpriv_setup() {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	UNPRIV=$(mktemp -d /tmp/fim-e2e-unpriv.XXXXXX)
	chmod 755 "$UNPRIV"
	ROOT=$UNPRIV/root DB=$UNPRIV/db POL=$UNPRIV/fim.policy
	mkdir -p "$ROOT/etc/locked" "$DB"
	chown 65534:65534 "$DB"
	printf 'a\n' >"$ROOT/etc/a"
	printf 's\n' >"$ROOT/etc/secret"
	printf 'x\n' >"$ROOT/etc/locked/x"
	policy <<-'EOF'
		/etc  CONTENT
		=/etc PERMS
	EOF
	chmod 644 "$POL"
}

fimnobody() {
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		timeout "$FIM_TIMEOUT" "$FIM" -r "$ROOT" -d "$DB" -c "$POL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

@test "exit 8: an unreadable file and directory are reported, the rest is still checked" {
	unpriv_setup
	fimnobody baseline
	assert_rc 0
	chmod 000 "$ROOT/etc/secret" "$ROOT/etc/locked"
	printf 'more\n' >>"$ROOT/etc/a"
	fimnobody --format json check
	EVENTS=$("$PY" "$JSONL" events "$T/out") || { show_run; false; }
	# Their metadata is still readable (lstat) and compared.
	assert_events <<-'EOF'
		changed /etc/a size,mtime,ctime,hash
		changed /etc/locked mode,ctime
		changed /etc/secret mode,ctime
		error /etc/locked
		error /etc/secret
		summary scanned=4 added=0 removed=0 changed=3 errors=2
	EOF
	assert_rc 12
	assert_contains "$(jget /etc/secret error.message error)" "Permission denied" "error.message"
	assert_contains "$(jget /etc/locked error.message error)" "Permission denied" "error.message"
	fimnobody --format human check
	assert_rc 12
	assert_contains "$out" "fim check: DRIFT - 3 changed, 0 added, 0 removed, 2 unreadable;" "human summary"
	assert_contains "$out" $'\nUnreadable (2)\n  /etc/locked: ' "human report"
	grep -qx '  /etc/locked: .*Permission denied' "$T/out" || assert_contains "$out" "  /etc/locked: ...Permission denied" "human report"
	grep -qx '  /etc/secret: .*Permission denied' "$T/out" || assert_contains "$out" "  /etc/secret: ...Permission denied" "human report"
}

@test "exit 8 alone: unreadable, nothing else changed" {
	unpriv_setup
	chmod 000 "$ROOT/etc/secret"
	fimnobody baseline
	assert_rc 8
	[[ $err =~ fim:\ warning:\ /etc/secret:\ .*Permission\ denied ]] ||
		assert_eq "fim: warning: /etc/secret: ...Permission denied" "$err" "stderr of baseline"
	assert_contains "$out" ", 1 unreadable," "baseline summary"
	fimnobody --format json check
	EVENTS=$("$PY" "$JSONL" events "$T/out") || { show_run; false; }
	assert_events <<-'EOF'
		error /etc/secret
		summary scanned=5 added=0 removed=0 changed=0 errors=1
	EOF
	assert_rc 8
	fimnobody show /etc/secret
	assert_rc 0
	assert_contains "$out" "  (content was unreadable when the baseline was taken)" "show"
}

@test "a directory unreadable at baseline time is still recorded by its metadata" {
	unpriv_setup
	chmod 000 "$ROOT/etc/locked"
	fimnobody baseline
	assert_rc 8
	[[ $err =~ fim:\ warning:\ /etc/locked:\ .*Permission\ denied ]] ||
		assert_eq "fim: warning: /etc/locked: ...Permission denied" "$err" "stderr of baseline"
	fimnobody show /etc/locked
	assert_rc 0
	assert_contains "$out" "  mode     0000" "show /etc/locked"
	chmod 755 "$ROOT/etc/locked"
	fimnobody --format json check
	EVENTS=$("$PY" "$JSONL" events "$T/out") || { show_run; false; }
	assert_events <<-'EOF'
		added /etc/locked/x
		changed /etc/locked mode,ctime
		summary scanned=5 added=1 removed=0 changed=1 errors=0
	EOF
	assert_rc 5
}

@test "a large file truncated and regrown while it is hashed never crashes fim" {
	mkdir -p "$ROOT/d"
	head -c 200000000 /dev/zero >"$ROOT/d/big"
	policy <<<'/d CONTENT'
	baseline
	(
		for _ in $(seq 1 40); do
			truncate -s 1000 "$ROOT/d/big"
			sleep 0.02
			truncate -s 200000000 "$ROOT/d/big"
			sleep 0.03
		done
	) &
	local churn=$!
	for _ in 1 2 3 4 5 6; do
		fimrun --keep-cache check
		# Drift (4) and "could not read it steadily" (8) are fine; a
		# signal (128+) or a fatal error (16+) is not.
		if [ "$rc" -ge 16 ]; then
			wait "$churn"
			show_run
			false
		fi
	done
	wait "$churn"
}
