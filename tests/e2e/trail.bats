#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The alert trail: check --alerts appends hash-chained JSON lines, log verify
# names the first line that was removed, edited, reordered, inserted or cut.

load helpers

# /etc with two files; /etc/a drifts (content) after the baseline.
drifted_tree() {
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	printf 'bravo\n' >"$ROOT/etc/b"
	age_tree "$ROOT"
	policy <<<'/etc CONTENT'
	baseline
	printf 'tampered\n' >>"$ROOT/etc/a"
}

# Two check runs with the same single drift: 4 trail lines (event, summary,
# event, summary). Extra arguments go to both checks.
two_checks() {
	F=$T/alerts.jsonl
	drifted_tree
	for i in 1 2; do
		fimrun check --alerts "$F" "$@"
		assert_rc 4
	done
}

# A trail of N events made here, from the construction in fim/trust/trail.h and
# independently of fim: with KEYFILE, keyed like fim keys it.
mktrail() {
	F=$T/alerts.jsonl
	"$PY" - "$F" "$1" "${2:-}" <<-'EOF'
		import hashlib, sys
		path, n, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		key = hashlib.blake2b(open(keyfile, "rb").read(), digest_size=32).digest() if keyfile else b""
		kid = hashlib.blake2b(b"fim trail key id", digest_size=8, key=key).hexdigest() if key else "none"
		prev, out = bytes(32), b""
		for i in range(1, n + 1):
		    rest = b'"event":{"kind":"alert","action":"changed"},"fim":{"id":"/etc/f%d"}}' % i
		    h = hashlib.blake2b(prev + i.to_bytes(8, "big") + rest, digest_size=32, key=key).digest()
		    out += b'{"fim_chain":{"seq":%d,"key_id":"%s","hash":"%s"},' % (i, kid.encode(), h.hex().encode())
		    out += rest + b"\n"
		    prev = h
		open(path, "wb").write(out)
	EOF
}

# One line per trail line: "SEQ KEY ACTION ID" for an event, "SEQ KEY summary
# changed=N" for a summary; every line must be one JSON object.
trail_lines() {
	"$PY" - "$1" <<-'EOF'
		import json, sys
		for no, raw in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
		    o = json.loads(raw)
		    c = o["fim_chain"]
		    assert list(o)[0] == "fim_chain", "line %d: chain fields not first" % no
		    assert len(c["hash"]) == 64, "line %d: hash %r" % (no, c["hash"])
		    key = "keyed" if c["key_id"] != "none" else "none"
		    if "summary" in o.get("fim", {}):
		        print(c["seq"], key, "summary changed=%d" % o["fim"]["summary"]["changed"])
		    else:
		        print(c["seq"], key, o["event"]["action"], o["fim"]["id"])
	EOF
}

# Appends to F a line as an attacker would write it: next seq, the key id of
# the last line, hash recomputed over the previous hash WITHOUT any key
# (REST given as $1).
forge_next() {
	"$PY" - "$F" "$1" <<-'EOF'
		import hashlib, json, sys
		path, rest = sys.argv[1], sys.argv[2].encode()
		last = open(path, "rb").read().split(b"\n")[-2]
		c = json.loads(last)["fim_chain"]
		seq = c["seq"] + 1
		h = hashlib.blake2b(bytes.fromhex(c["hash"]) + seq.to_bytes(8, "big") + rest, digest_size=32).hexdigest()
		with open(path, "ab") as f:
		    f.write(b'{"fim_chain":{"seq":%d,"key_id":"%s","hash":"%s"},' % (seq, c["key_id"].encode(), h.encode()) + rest + b"\n")
	EOF
}

# pick FILE N...: lines N... of FILE in that order, to F.
pick() {
	local from=$1 n
	shift
	for n in "$@"; do
		sed -n "${n}p" "$from"
	done >"$F"
}

# expect_broken LINE WHY [log verify options...]
expect_broken() {
	local line=$1 why=$2
	shift 2
	fimraw log verify "$@" "$F"
	assert_rc 19
	assert_eq "fim: $F:$line: $why" "$err" "stderr of log verify"
	assert_eq "" "$out" "stdout of log verify"
}

# expect_intact N [log verify options...]: exit 0 and N lines reported.
expect_intact() {
	local n=$1
	shift
	fimraw log verify "$@" "$F"
	assert_rc 0
	assert_eq "" "$err" "stderr of log verify"
	assert_contains "$out" "$F: $n line"
}

# ---- check --alerts writes the trail ----

@test "two checks with one drift append 4 chained JSON lines; log verify says intact" {
	two_checks
	assert_eq "1 none changed /etc/a
2 none summary changed=1
3 none changed /etc/a
4 none summary changed=1" "$(trail_lines "$F")" "trail lines"
	assert_eq 600 "$(stat -c %a "$F")" "mode of the trail"
	fimraw log verify "$F"
	assert_rc 0
	assert_eq "$F: 4 lines, chain intact" "$out"
	assert_eq "" "$err"
}

@test "trail lines carry the usual event fields after the chain fields" {
	two_checks
	# the first line without its chain fields is what check --format json prints
	fimrun --format json check
	assert_rc 4
	local event summary
	event=$("$PY" -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); del o["fim_chain"]; del o["@timestamp"]; print(json.dumps(o, sort_keys=True))' "$F")
	summary=$("$PY" -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); del o["@timestamp"]; print(json.dumps(o, sort_keys=True))' "$T/out")
	assert_eq "$summary" "$event" "first trail event vs the JSON report"
	local created
	created=$("$PY" -c 'import lmdb,os,sys; e=lmdb.open(os.path.realpath(sys.argv[1]+"/current"),max_dbs=32,readonly=True,lock=False); m=e.open_db(b"meta"); print(e.begin().get(b"created",db=m).decode())' "$DB")
	assert_eq '{"fim":{"summary":{"scanned":3,"added":0,"removed":0,"changed":1,"errors":0,"baseline":{"created":"'"$created"'"}}}}' \
		"$(sed -n 2p "$F" | sed 's/^{"fim_chain":{[^}]*},/{/')" "summary line"
}

@test "human output on stdout, JSON in the trail" {
	F=$T/alerts.jsonl
	drifted_tree
	fimrun --format human check --alerts "$F"
	assert_rc 4
	assert_contains "$out" "/etc/a"
	assert_eq "1 none changed /etc/a
2 none summary changed=1" "$(trail_lines "$F")"
}

@test "no drift: only the summary line is appended, and the chain continues" {
	F=$T/alerts.jsonl
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	policy <<<'/etc CONTENT'
	baseline
	fimrun check --alerts "$F"
	assert_rc 0
	printf 'x\n' >>"$ROOT/etc/a"
	fimrun check --alerts "$F"
	assert_rc 4
	assert_eq "1 none summary changed=0
2 none changed /etc/a
3 none summary changed=1" "$(trail_lines "$F")"
	expect_intact 3
	assert_eq "$F: 3 lines, chain intact" "$out"
}

@test "set alerts.file in the policy is the same as --alerts" {
	F=$T/alerts.jsonl
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<-EOF
		set alerts.file = $F
		/etc CONTENT
	EOF
	baseline
	printf 'x\n' >>"$ROOT/etc/a"
	fimrun check
	assert_rc 4
	fimrun check
	assert_rc 4
	assert_eq 4 "$(wc -l <"$F")" "trail lines"
	expect_intact 4
	assert_eq "$F: 4 lines, chain intact" "$out"
}

@test "check refuses a trail that is a symbolic link, and leaves its target alone" {
	F=$T/alerts.jsonl
	drifted_tree
	printf 'precious\n' >"$T/target"
	ln -s "$T/target" "$F"
	fimrun check --alerts "$F"
	assert_rc 20
	assert_contains "$err" "$F"
	assert_eq "precious" "$(cat "$T/target")"
}

# ---- tampering with a trail written by check ----

@test "a removed line is named: the first, a middle one" {
	two_checks
	cp "$F" "$T/orig"
	sed -i 1d "$F"
	expect_broken 1 "a line is missing before it"
	cp "$T/orig" "$F"
	sed -i 3d "$F"
	expect_broken 3 "a line is missing before it"
}

@test "an edited line is named: one byte in the event, one in the chain fields" {
	two_checks
	cp "$F" "$T/orig"
	sed -i '3s|"/etc/a"|"/etc/b"|' "$F"
	expect_broken 3 "edited or forged"
	cp "$T/orig" "$F"
	sed -i '2s|"changed":1|"changed":0|' "$F"
	expect_broken 2 "edited or forged"
	cp "$T/orig" "$F"
	sed -i '4s|"seq":4|"seq":04|' "$F"
	expect_broken 4 "not a trail line"
}

@test "reordered and repeated lines are named" {
	two_checks
	cp "$F" "$T/orig"
	pick "$T/orig" 1 3 2 4
	expect_broken 2 "out of order or repeated"
	pick "$T/orig" 1 2 3 4 4
	expect_broken 5 "out of order or repeated"
	pick "$T/orig" 2 1 3 4
	expect_broken 1 "out of order or repeated"
}

@test "a hand-written line, inserted or appended, is named" {
	two_checks
	cp "$F" "$T/orig"
	local fake='{"fim_chain":{"seq":5,"key_id":"none","hash":"0000000000000000000000000000000000000000000000000000000000000000"},"event":{"kind":"alert","action":"removed"},"fim":{"id":"/etc/shadow"}}'
	printf '%s\n' "$fake" >>"$F"
	expect_broken 5 "edited or forged"
	# inserted as line 3, numbered 3
	sed -n 1,2p "$T/orig" >"$F"
	printf '%s\n' "${fake/\"seq\":5/\"seq\":3}" >>"$F"
	sed -n 3,4p "$T/orig" >>"$F"
	expect_broken 3 "edited or forged"
	# not even a trail line
	cp "$T/orig" "$F"
	printf '{"event":{"action":"removed"}}\n' >>"$F"
	expect_broken 5 "not a trail line"
}

@test "a line cut in half is named, and check will not continue the chain after it" {
	two_checks
	truncate -s -10 "$F"
	expect_broken 4 "incomplete last line"
	local size
	size=$(stat -c %s "$F")
	fimrun check --alerts "$F"
	assert_rc 20
	assert_contains "$err" "$F"
	assert_eq "$size" "$(stat -c %s "$F")" "size of the trail"
}

@test "limit: lines cut from the end leave an intact, shorter chain" {
	two_checks
	sed -i '$d' "$F"
	expect_intact 3
	assert_eq "$F: 3 lines, chain intact" "$out"
}

# ---- keys ----

@test "--alerts-key: a keyed trail verifies only with its key" {
	head -c 32 /dev/urandom >"$T/key"
	head -c 32 /dev/urandom >"$T/other"
	two_checks --alerts-key "$T/key"
	assert_eq "1 keyed changed /etc/a
2 keyed summary changed=1
3 keyed changed /etc/a
4 keyed summary changed=1" "$(trail_lines "$F")"
	fimraw log verify --alerts-key "$T/key" "$F"
	assert_rc 0
	assert_eq "$F: 4 lines, chain intact (keyed)" "$out"
	expect_broken 1 "keyed, but no key was given"
	expect_broken 1 "made with another key" --alerts-key "$T/other"
}

@test "--alerts-key: check will not extend a keyed trail with another key or none" {
	head -c 32 /dev/urandom >"$T/key"
	head -c 32 /dev/urandom >"$T/other"
	two_checks --alerts-key "$T/key"
	cp "$F" "$T/orig"
	fimrun check --alerts "$F" --alerts-key "$T/other"
	assert_rc 20
	assert_contains "$err" "$F"
	fimrun check --alerts "$F"
	assert_rc 20
	cmp "$F" "$T/orig"
	fimraw log verify --alerts-key "$T/key" "$F"
	assert_rc 0
}

@test "--alerts-key: an unkeyed trail is not taken for a keyed one" {
	head -c 32 /dev/urandom >"$T/key"
	two_checks
	expect_broken 1 "not keyed, but a key was given" --alerts-key "$T/key"
}

@test "keyed: a line forged without the key is caught; unkeyed, it is not" {
	head -c 32 /dev/urandom >"$T/key"
	two_checks --alerts-key "$T/key"
	forge_next '"event":{"kind":"alert","action":"removed"},"fim":{"id":"/etc/x"}}'
	expect_broken 5 "edited or forged" --alerts-key "$T/key"
	# Without a key the chain only proves order, not authorship.
	rm "$F"
	mktrail 3
	forge_next '"event":{"kind":"alert","action":"removed"},"fim":{"id":"/etc/x"}}'
	expect_intact 4
}

@test "set alerts.key in the policy keys the trail" {
	F=$T/alerts.jsonl
	head -c 40 /dev/urandom >"$T/key"
	mkdir -p "$ROOT/etc"
	printf 'alpha\n' >"$ROOT/etc/a"
	age_tree "$ROOT"
	policy <<-EOF
		set alerts.file = $F
		set alerts.key = $T/key
		/etc CONTENT
	EOF
	baseline
	printf 'x\n' >>"$ROOT/etc/a"
	fimrun check
	assert_rc 4
	fimraw log verify --alerts-key "$T/key" "$F"
	assert_rc 0
	assert_eq "$F: 2 lines, chain intact (keyed)" "$out"
}

# ---- log verify on trails made here (the format is the contract) ----

@test "log verify accepts a trail built from the documented construction" {
	mktrail 5
	expect_intact 5
	assert_eq "$F: 5 lines, chain intact" "$out"
	printf 'a secret of more than thirty-two bytes\n' >"$T/key"
	mktrail 2 "$T/key"
	fimraw log verify --alerts-key "$T/key" "$F"
	assert_rc 0
	assert_eq "$F: 2 lines, chain intact (keyed)" "$out"
	mktrail 1
	expect_intact 1
	assert_eq "$F: 1 line, chain intact" "$out"
}

@test "log verify names each kind of tampering on a made trail" {
	mktrail 6
	cp "$F" "$T/orig"
	sed -i 4d "$F"
	expect_broken 4 "a line is missing before it"
	sed '5s|f5|f6|' "$T/orig" >"$F"
	expect_broken 5 "edited or forged"
	pick "$T/orig" 1 2 3 4 6 5
	expect_broken 5 "out of order or repeated"
	pick "$T/orig" 1 2 3 3 4 5 6
	expect_broken 4 "out of order or repeated"
	pick "$T/orig" 1 2 3 4 5 6 1
	expect_broken 7 "out of order or repeated"
	{ cat "$T/orig"; printf 'not json\n'; } >"$F"
	expect_broken 7 "not a trail line"
	{ cat "$T/orig"; printf '\n'; } >"$F"
	expect_broken 7 "not a trail line"
	head -c -1 "$T/orig" >"$F"
	expect_broken 6 "incomplete last line"
}

@test "log verify: an empty trail is intact; -q prints nothing" {
	F=$T/alerts.jsonl
	: >"$F"
	expect_intact 0
	assert_eq "$F: 0 lines, chain intact" "$out"
	mktrail 2
	fimraw -q log verify "$F"
	assert_rc 0
	assert_eq "" "$out$err"
}

@test "log verify: usage errors exit 16" {
	fimraw log
	assert_rc 16
	assert_eq "fim: log: which action? (fim log verify [--alerts-key KEYFILE] FILE)" "$err"
	fimraw log frob x
	assert_rc 16
	assert_eq "fim: log: unknown action 'frob' (fim log verify [--alerts-key KEYFILE] FILE)" "$err"
	fimraw log verify
	assert_rc 16
	assert_eq "fim: log verify: which trail? (fim log verify [--alerts-key KEYFILE] FILE)" "$err"
	fimraw log verify a b
	assert_rc 16
	assert_eq "fim: log verify: unexpected argument 'b' (fim log verify [--alerts-key KEYFILE] FILE)" "$err"
	mktrail 1
	printf 'short' >"$T/key"
	fimraw log verify --alerts-key "$T/key" "$F"
	assert_rc 16
	assert_eq "fim: $T/key: not a trail key: shorter than 32 bytes" "$err"
}

@test "log verify: an unreadable trail or key exits 20 with the cause" {
	fimraw log verify "$T/missing"
	assert_rc 20
	assert_eq "fim: $T/missing: cannot read the alert trail: No such file or directory" "$err"
	fimraw log verify "$T"
	assert_rc 20
	assert_eq "fim: $T: cannot read the alert trail: Is a directory" "$err"
	mkfifo "$T/fifo"
	fimraw log verify "$T/fifo"
	assert_rc 20
	assert_eq "fim: $T/fifo: cannot read the alert trail: not a regular file" "$err"
	mktrail 1
	fimraw log verify --alerts-key "$T/nokey" "$F"
	assert_rc 20
	assert_eq "fim: $T/nokey: cannot read the trail key: No such file or directory" "$err"
}
