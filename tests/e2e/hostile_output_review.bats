#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Output that goes away under fim: a reader that closes the pipe early, and
# standard descriptors fim was started without.

load helpers

# /etc/a changed and 300 files added after the baseline: a JSON report far
# larger than a pipe buffer, and TRAIL the alert trail that check appends to.
big_drift() {
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<<'/etc CONTENT'
	baseline
	printf 'tampered\n' >>"$ROOT/etc/a"
	for i in $(seq 300); do
		printf '%s\n' "$i" >"$ROOT/etc/added-file-with-a-long-name-$i"
	done
	TRAIL=$T/alerts.jsonl
}

# trail_whole: TRAIL's chain holds, with 300 added, 2 changed (/etc/a and
# /etc) and the summary.
trail_whole() {
	timeout 60 "$FIM" log verify "$TRAIL" >"$T/verify" 2>&1 || {
		cat "$T/verify"
		return 1
	}
	assert_eq "$TRAIL: 303 lines, chain intact" "$(cat "$T/verify")" "log verify"
	assert_eq 300 "$(grep -c '"action":"added"' "$TRAIL")" "added events in the trail"
	assert_eq 1 "$(grep -c '"summary":' "$TRAIL")" "summary lines in the trail"
}

@test "output review: check into a pipe closed early (| head -c 10) exits 20, says Broken pipe, and writes the whole trail" {
	big_drift
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check --alerts "$TRAIL" \
		2>"$T/err" | head -c 10 >/dev/null
	rc=${PIPESTATUS[0]}
	err=$(cat "$T/err")
	assert_eq 20 "$rc" "exit status (stderr: $err)"
	assert_contains "$err" "fim: check: cannot write to standard output (pipe:["
	assert_contains "$err" "]): Broken pipe"
	assert_eq 1 "$(wc -l <"$T/err")" "one message"
	trail_whole
}

@test "output review: show into a pipe closed early exits 20, not killed by SIGPIPE" {
	big_drift
	fimrun accept --all --reason reviewed
	assert_rc 0
	args=()
	for i in $(seq 300); do args+=("/etc/added-file-with-a-long-name-$i"); done
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" show "${args[@]}" 2>"$T/err" | head -c 10 >/dev/null
	rc=${PIPESTATUS[0]}
	assert_eq 20 "$rc" "exit status (stderr: $(cat "$T/err"))"
	assert_contains "$(cat "$T/err")" "fim: show: cannot write to standard output (pipe:["
}

@test "output review: check with stdout closed (>&-) names it closed, not the file that took its descriptor" {
	big_drift
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check --alerts "$TRAIL" \
		>&- 2>"$T/err" || rc=$?
	err=$(cat "$T/err")
	assert_eq 20 "$rc" "exit status (stderr: $err)"
	assert_eq "fim: check: cannot write to standard output (closed): Bad file descriptor" "$err" "stderr"
	trail_whole
	# the baseline took no line of the report
	fimrun --format json check
	assert_rc 5
}

@test "output review: with the smallest --max-line, a line of the journal's stream stays within it, <N> prefix included" {
	mkdir -p "$ROOT/etc/d"
	policy <<<'/etc CONTENT'
	baseline
	# an added file whose event, unprefixed, is 4094 to 4096 bytes: it fits
	# the limit alone, and must be cut to take the "<4>" in front
	dir=$ROOT/etc/d
	for c in a b c d e; do dir=$dir/$(printf "$c%.0s" $(seq 200)); done
	mkdir -p "$dir"
	# added_len NAME: the length of NAME's added event, with no cut
	added_len() {
		: >"$dir/$1"
		fimrun --format json check
		grep "/$1\"" "$T/out" | grep '"action":"added"' | awk '{ print length($0) }'
		rm -f "$dir/$1"
	}
	one=$(added_len n)
	step=$(($(added_len nn) - one))
	name=$(printf 'n%.0s' $(seq $((1 + (4095 - one) / step))))
	: >"$dir/$name"
	len=$(added_len "$name")
	: >"$dir/$name"
	[ "$len" -ge 4094 ] && [ "$len" -le 4096 ] || { echo "no event of 4094-4096 bytes ($len)"; false; }
	: >"$T/j"
	rc=0
	JOURNAL_STREAM=$(stat -c %d:%i "$T/j") timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" \
		--format json --max-line 4096 check >>"$T/j" 2>"$T/err" || rc=$?
	assert_eq 5 "$rc" "exit status ($(cat "$T/err"))"
	line=$(grep "/$name" "$T/j")
	assert_eq "<4>" "${line:0:3}" "prefix of a medium drift"
	[ "${#line}" -le 4096 ] || { echo "a line of ${#line} bytes over --max-line 4096"; false; }
	assert_contains "$line" '"truncated":true'
}

@test "output review: a corrupt baseline found after stdout failed is still reported, exit 18" {
	mkdir -p "$ROOT/etc/a" "$ROOT/etc/z"
	for i in $(seq 200); do printf '%s\n' "$i" >"$ROOT/etc/a/f$i"; done
	printf 'target content\n' >"$ROOT/etc/z/f"
	policy <<<'/etc CONTENT'
	baseline
	# break the record of /etc/z/f (see errors.bats), walked after 200 drifts
	"$PY" - "$ROOT/etc/z/f" "$DB/current/data.mdb" <<-'EOF'
		import hashlib, sys
		d = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
		b = bytearray(open(sys.argv[2], "rb").read())
		i = b.find(d)
		assert i > 8 and b.find(d, i + 1) < 0, "digest not found exactly once"
		b[i - 5:i] = b"\xff" * 5
		open(sys.argv[2], "wb").write(b)
	EOF
	for i in $(seq 200); do printf 'tampered\n' >>"$ROOT/etc/a/f$i"; done
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --format json check --alerts "$T/trail" \
		>/dev/full 2>"$T/err" || rc=$?
	err=$(cat "$T/err")
	assert_eq 18 "$rc" "exit status (stderr: $err)"
	assert_contains "$err" "fim: $DB: the baseline is corrupt: Bad message"
	# drift reported before the corrupt record was read (the usual order:
	# the tree is walked in name order) failed on stdout, said too
	if grep -q '"action":"changed"' "$T/trail"; then
		assert_contains "$err" "fim: check: cannot write to standard output (/dev/full): No space left on device"
	fi
}
