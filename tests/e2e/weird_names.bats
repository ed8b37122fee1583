#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Names of any bytes and paths of any length: valid JSON that keeps names
# apart, escapes in the human report, paths longer than PATH_MAX.

load helpers

# Every name here goes into /etc. jsonl.py renders ids with \\ for a backslash
# and \xNN for every byte outside printable ASCII.
NAMES=($'a\nb' $'t\tb' $'\xff' $'\xfe' 'back\slash' 'with space' '-dash' $'esc\x1b[31m'
	'é' 'q"uote' $'cr\r' $'\xc3(' '*' '[x]')

make_names() {
	local n
	for n in "${NAMES[@]}"; do
		printf 'v1\n' >"$ROOT/etc/$n"
	done
}

expected_ids() { # ACTION [ATTRS]
	local suffix=${2:+ $2}
	sort <<-EOF
		$1 /etc/a\x0ab$suffix
		$1 /etc/t\x09b$suffix
		$1 /etc/\xff$suffix
		$1 /etc/\xfe$suffix
		$1 /etc/back\\\\slash$suffix
		$1 /etc/with space$suffix
		$1 /etc/-dash$suffix
		$1 /etc/esc\x1b[31m$suffix
		$1 /etc/\xc3\xa9$suffix
		$1 /etc/q"uote$suffix
		$1 /etc/cr\x0d$suffix
		$1 /etc/\xc3($suffix
		$1 /etc/*$suffix
		$1 /etc/[x]$suffix
	EOF
}

quiet_policy() {
	policy <<-'EOF'
		/etc  CONTENT
		=/etc PERMS
	EOF
}

@test "weird names added: every line is valid JSON and every name is reported exactly" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	make_names
	check_json
	assert_rc 1
	assert_eq "$(expected_ids added)
summary scanned=15 added=14 removed=0 changed=0 errors=0" "$EVENTS" "events"
	# file.path and file.name are just as exact.
	"$PY" - "$T/out" <<-'EOF'
		import json, sys
		for no, line in enumerate(open(sys.argv[1], "rb"), 1):
		    o = json.loads(line.decode("utf-8"))
		    if "summary" in o["fim"]:
		        continue
		    f = o["file"]
		    def exact(d, k):
		        return bytes.fromhex(d[k + "_hex"]) if k + "_hex" in d else d[k].encode()
		    path, name, ident = exact(f, "path"), exact(f, "name"), exact(o["fim"], "id")
		    assert path == ident, "line %d: file.path %r != fim.id %r" % (no, path, ident)
		    assert path == b"/etc/" + name, "line %d: file.name %r vs path %r" % (no, name, path)
		    assert f["directory"] == "/etc", "line %d: file.directory %r" % (no, f["directory"])
	EOF
}

@test "weird names changed and removed: valid JSON with exact ids" {
	mkdir -p "$ROOT/etc"
	make_names
	quiet_policy
	baseline
	local n
	for n in "${NAMES[@]}"; do
		chmod 600 "$ROOT/etc/$n"
	done
	check_json
	assert_rc 4
	assert_eq "$(expected_ids changed mode,ctime)
summary scanned=15 added=0 removed=0 changed=14 errors=0" "$EVENTS" "events"
	baseline
	for n in "${NAMES[@]}"; do
		rm "$ROOT/etc/$n"
	done
	check_json
	assert_rc 2
	assert_eq "$(expected_ids removed)
summary scanned=1 added=0 removed=14 changed=0 errors=0" "$EVENTS" "events"
}

@test "names differing only in invalid bytes have different fim.id_hex" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	printf 'x' >"$ROOT/etc/"$'\xff'
	printf 'x' >"$ROOT/etc/"$'\xfe'
	printf 'x' >"$ROOT/etc/"$'\xfe\xff'
	check_json
	assert_rc 1
	"$PY" - "$T/out" <<-'EOF'
		import json, sys
		ids = {}
		for line in open(sys.argv[1], "rb"):
		    o = json.loads(line)
		    if "summary" in o["fim"]:
		        continue
		    f = o["fim"]
		    assert "id_hex" in f, "no fim.id_hex for %r" % f["id"]
		    assert f["id"] == bytes.fromhex(f["id_hex"]).decode("utf-8", "replace"), f
		    ids[f["id_hex"]] = f["id"]
		want = {"2f6574632fff", "2f6574632ffe", "2f6574632ffeff"}
		assert set(ids) == want, "fim.id_hex values %s, expected %s" % (sorted(ids), sorted(want))
		# The text forms alone collide: that is why the _hex key exists.
		assert ids["2f6574632fff"] == ids["2f6574632ffe"] == "/etc/\ufffd", ids
	EOF
}

@test "valid UTF-8 names carry no _hex key" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	printf 'x' >"$ROOT/etc/é"
	printf 'x' >"$ROOT/etc/"$'a\nb'
	check_json
	assert_rc 1
	assert_eq "/etc/é" "$(jget '/etc/\xc3\xa9' fim.id)" "fim.id"
	assert_eq "/etc/"$'a\nb' "$(jget '/etc/a\x0ab' fim.id)" "fim.id"
	assert_not_contains "$out" "_hex" "JSON output"
}

@test "human report escapes: \\n, \\t, \\xff, \\\\, \\x1b; valid UTF-8 stays" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	make_names
	fimrun --format human check
	assert_rc 1
	sed -n 's/  \[medium\]  file 0644 0:0, 3 bytes$//p' "$T/out" | sort >"$T/names"
	assert_eq "$(
		sort <<-'EOF'
			  /etc/a\nb
			  /etc/t\tb
			  /etc/\xff
			  /etc/\xfe
			  /etc/back\\slash
			  /etc/with space
			  /etc/-dash
			  /etc/esc\x1b[31m
			  /etc/é
			  /etc/q"uote
			  /etc/cr\x0d
			  /etc/\xc3(
			  /etc/*
			  /etc/[x]
		EOF
	)" "$(cat "$T/names")" "names in the human report"
	# No raw control byte reaches the terminal.
	if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$T/out"; then
		assert_eq "no control bytes" "$(cat -A "$T/out")" "human report"
	fi
}

@test "a symlink target with invalid UTF-8 and a newline: target_hex and escapes" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	ln -s $'/tar\xffget\n' "$ROOT/etc/link"
	check_json
	assert_rc 1
	assert_eq 2f746172ff6765740a "$(jget /etc/link fim.after.target_hex)" "fim.after.target_hex"
	# (the shell drops the trailing newline of both sides; target_hex has it)
	assert_eq $'/tar\xef\xbf\xbdget' "$(jget /etc/link fim.after.target)" "fim.after.target"
	baseline
	ln -sfn $'/tar\xfeget\n' "$ROOT/etc/link"
	fimrun --format human check
	assert_rc 4
	assert_contains "$out" '      target   "/tar\xffget\n" -> "/tar\xfeget\n"' "human report"
}

@test "show and policy test quote weird names (human)" {
	mkdir -p "$ROOT/etc"
	printf 'x' >"$ROOT/etc/"$'a\nb\xff'
	quiet_policy
	baseline
	fimrun show "/etc/"$'a\nb\xff'
	assert_rc 0
	assert_eq '/etc/a\nb\xff' "$(head -n1 "$T/out")" "first line of show"
	fimrun policy test "/etc/"$'a\nb\xff'
	assert_rc 0
	assert_eq "/etc/a\\nb\\xff: /etc ($POL:1) severity=medium" "$(head -n1 "$T/out")" "first line of policy test"
}

@test "show --format json of a name with invalid UTF-8: fim.id_hex" {
	mkdir -p "$ROOT/etc"
	printf 'x' >"$ROOT/etc/"$'a\nb\xff'
	quiet_policy
	baseline
	fimrun --format json show "/etc/"$'a\nb\xff'
	assert_rc 0
	[ -s "$T/out" ] || { echo "fim --format json show printed nothing" >&2; show_run >&2; false; }
	"$PY" -c '
import json, sys
o = json.loads(open(sys.argv[1], "rb").read())
f = o["fim"]
assert bytes.fromhex(f.get("id_hex", "")) == b"/etc/a\nb\xff", "fim.id_hex of show: %r" % f
assert f.get("id") == "/etc/a\nb\ufffd", "fim.id of show: %r" % f
' "$T/out" || { show_run; false; }
}

@test "policy test --format json of a name with invalid UTF-8: path and path_hex" {
	printf '/etc CONTENT\n/etc/x\xfe hash\n' >"$POL"
	fimrun --format json policy test "/etc/"$'\xff' "/etc/x"$'\xfe'
	assert_rc 0
	"$PY" -c '
import json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == 2, "expected 2 lines, got %r" % lines
a, b = (json.loads(l) for l in lines)
assert bytes.fromhex(a.get("path_hex", "")) == b"/etc/\xff", "first line: %r" % a
assert a.get("path") == "/etc/\ufffd", "first line: %r" % a
assert bytes.fromhex(b.get("path_hex", "")) == b"/etc/x\xfe", "second line: %r" % b
assert bytes.fromhex(b.get("rule_hex", "")) == b"/etc/x\xfe", "second line: %r" % b
' "$T/out" || { show_run; false; }
}

@test "policy test (human) escapes a rule pattern with invalid bytes" {
	printf '/etc/x\xfe hash\n' >"$POL"
	fimrun policy test "/etc/x"$'\xfe'
	assert_rc 0
	assert_eq "/etc/x\\xfe: /etc/x\\xfe ($POL:1) severity=medium" "$(head -n1 "$T/out")" "first line of policy test"
}

@test "policy patterns with quotes, escapes and raw bytes select weird names" {
	mkdir -p "$ROOT/etc"
	make_names
	{
		printf '/etc  CONTENT\n=/etc PERMS\n'
		printf '!"/etc/with space"\n'
		printf '!/etc/back\\\\slash\n'
		printf '!/etc/\xff\n'
		printf '!/etc/\\*\n'
	} >"$POL"
	# The file holds !/etc/back\\slash (an escaped backslash) and !/etc/\* (a literal star).
	grep -qxF '!/etc/back\\slash' "$POL" || assert_eq '!/etc/back\\slash' "$(cat "$POL")" "policy file"
	grep -qxF '!/etc/\*' "$POL" || assert_eq '!/etc/\*' "$(cat "$POL")" "policy file"
	baseline
	local n
	for n in "${NAMES[@]}"; do
		printf 'v2\n' >>"$ROOT/etc/$n"
	done
	check_json
	assert_rc 4
	assert_eq "$(expected_ids changed size,mtime,ctime,hash | grep -v -e 'with space' -e 'back' -e '/etc/\\xff ' -e '/etc/\* ')
summary scanned=11 added=0 removed=0 changed=10 errors=0" "$EVENTS" "events"
}

# 30 levels of 200-byte names: about 6000 bytes, beyond PATH_MAX (4096).
make_deep() {
	local n
	n=$(printf 'd%.0s' $(seq 200))
	mkdir -p "$ROOT/deep"
	(
		cd "$ROOT/deep"
		for _ in $(seq 30); do
			mkdir "$n"
			cd "$n"
		done
		printf 'bottom\n' >file
	)
	DEEP=/deep$(printf "/$n%.0s" $(seq 30))
}

# Runs "$@" in the deepest directory (paths are too long to name directly).
in_deep() {
	(
		cd "$ROOT/deep"
		for _ in $(seq 30); do cd d*; done
		"$@"
	)
}

@test "a path longer than PATH_MAX: changed, reported with its full path" {
	make_deep
	[ ${#DEEP} -gt 4096 ]
	policy <<-'EOF'
		/deep  CONTENT
		=/deep PERMS
	EOF
	baseline
	in_deep sh -c 'printf "more\n" >>file'
	expect_check 4 <<-EOF
		changed $DEEP/file size,mtime,ctime,hash
		summary scanned=32 added=0 removed=0 changed=1 errors=0
	EOF
	local id
	id=$(jget "$DEEP/file" fim.id)
	assert_eq "$DEEP/file" "$id" "fim.id"
	[ ${#id} -gt 4096 ] || assert_eq "more than 4096 bytes" "${#id}" "length of fim.id"
	fimrun --format human check
	assert_rc 4
	assert_contains "$out" "  $DEEP/file  [medium]  size mtime ctime hash" "human report"
	fimrun --format json show "$DEEP/file"
	assert_rc 0
	assert_contains "$out" "\"id\":\"$DEEP/file\"" "show"
}

@test "a path longer than PATH_MAX: a deep tree added, then removed" {
	mkdir -p "$ROOT/deep"
	policy <<-'EOF'
		/deep  CONTENT
		=/deep PERMS
	EOF
	baseline
	make_deep
	check_json
	assert_rc 1
	assert_eq 31 "$(grep -c '^added ' <<<"$EVENTS")" "number of added objects"
	assert_contains "$EVENTS" "added $DEEP/file" "events"
	baseline
	rm -rf "$ROOT/deep/"d*
	check_json
	assert_rc 2
	assert_eq 31 "$(grep -c '^removed ' <<<"$EVENTS")" "number of removed objects"
	assert_contains "$EVENTS" "removed $DEEP/file" "events"
	assert_contains "$EVENTS" "summary scanned=1 added=0 removed=31 changed=0 errors=0" "events"
}

@test "a name of 255 bytes" {
	mkdir -p "$ROOT/etc"
	quiet_policy
	baseline
	local n
	n=$(printf 'n%.0s' $(seq 255))
	printf 'x' >"$ROOT/etc/$n"
	expect_check 1 <<-EOF
		added /etc/$n
		summary scanned=2 added=1 removed=0 changed=0 errors=0
	EOF
}
