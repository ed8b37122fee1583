#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Signed baselines: every tampering an attacker with root could try on the
# store is refused with exit 19 when a verify key is required.

load helpers

export FIM_PASSPHRASE='correct horse battery staple'

mksigned() {
	mkdir -p "$ROOT/etc"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/etc/b"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\n' >"$ROOT/etc/group"
	policy <<-'EOF'
		/etc CONTENT
		users
	EOF
	fimraw key generate --out "$T/keys"
	assert_rc 0
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	sleep 0.02
}

# lmdbedit ACTION [ARGS]: changes the current baseline with LMDB itself, as
# an attacker with root would.
lmdbedit() {
	"$PY" - "$DB" "$@" <<-'EOF'
		import lmdb, os, sys
		db, action = sys.argv[1], sys.argv[2]
		env = lmdb.open(os.path.realpath(os.path.join(db, "current")), max_dbs=32)
		files = env.open_db(b"files")
		meta = env.open_db(b"meta")
		users = env.open_db(b"users")
		with env.begin(write=True) as txn:
		    if action == "flip":
		        # one bit of the record of /etc/a (parent: the node of /etc)
		        cur = txn.cursor(files)
		        for k, v in cur:
		            if k.endswith(b"\0\0\0\0\0\0\0\x02a") or (len(k) > 8 and k[8:] == b"a"):
		                v = bytearray(v)
		                v[len(v) // 2] ^= 1
		                txn.put(k, bytes(v), db=files)
		                break
		        else:
		            sys.exit("no record for /etc/a")
		    elif action == "delete":
		        cur = txn.cursor(files)
		        for k, v in cur:
		            if len(k) > 8 and k[8:] == b"b":
		                txn.delete(k, db=files)
		                break
		        else:
		            sys.exit("no record for /etc/b")
		    elif action == "add":
		        rec = txn.get(b"root", db=users)
		        txn.put(b"toor", rec, db=users)
		    elif action == "policy":
		        # a policy that no longer watches /etc, with a matching digest
		        bundle = txn.get(b"policy", db=meta)
		        txn.put(b"policy", bundle.replace(b"/etc CONTENT", b"!/etc        "), db=meta)
		    elif action == "forge":
		        # an accept that never happened, for an object of this baseline
		        audit = env.open_db(b"audit", txn=txn)
		        entry = (b'{"time":"2026-01-01T00:00:00Z","by":{"uid":0,"user":"root"},'
		                 b'"reason":"FORGED-1","objects":[{"object":"file","id":"/etc/a",'
		                 b'"action":"changed"}]}')
		        txn.put((99).to_bytes(8, "big"), entry, db=audit)
		    elif action == "forgeodd":
		        # wrong types everywhere, a "seq" of its own, a terminal escape
		        audit = env.open_db(b"audit", txn=txn)
		        entry = (b'{"seq":1,"time":7,"by":{"user":5,"login_user":null},'
		                 b'"reason":"R\\u001b[2J","objects":[{"object":"file","id":"/etc/a",'
		                 b'"action":"changed","changed":[1,"hash",null]}]}')
		        txn.put((99).to_bytes(8, "big"), entry, db=audit)
		    elif action == "reversekey":
		        # the same records in a database with another key order
		        recs = list(txn.cursor(users))
		        txn.drop(users, delete=True)
		        users = env.open_db(b"users", txn=txn, reverse_key=True)
		        for k, v in recs:
		            txn.put(k, v, db=users)
		    elif action == "unsign":
		        txn.delete(b"signature", db=meta)
		    else:
		        sys.exit("unknown action " + action)
	EOF
}

@test "trust: a signed baseline verifies, and check/show run with the verify key" {
	mksigned
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 0
	assert_contains "$out" "$DB: signature good (key "
	assert_contains "$out" "policy matches"
	expect_check 0 --verify-key "$T/keys/fim.pub" <<-'EOF'
		summary scanned=6 added=0 removed=0 changed=0 errors=0
	EOF
	fimrun show /etc/a --verify-key "$T/keys/fim.pub"
	assert_rc 0
	# the secret key file also carries the public key
	fimrun verify --verify-key "$T/keys/fim.key"
	assert_rc 0
	# "set verify_key" in the policy makes it mandatory too
	printf 'set verify_key = %s\n/etc CONTENT\nusers\n' "$T/keys/fim.pub" >"$POL"
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	fimrun check
	assert_rc 0
}

@test "trust: a modified record is refused with 19" {
	mksigned
	lmdbedit flip
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	# the signature of the data file's bytes fails before LMDB reads it
	assert_eq "fim: $DB: baseline integrity failure: the signature does not match the baseline's content (its data file is not the bytes that were signed: damaged, or changed after signing) (verify key $T/keys/fim.pub)" "$err"
	assert_eq "" "$out"
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 19
	fimrun show /etc/a --verify-key "$T/keys/fim.pub"
	assert_rc 19
}

@test "trust: a removed record, an added record, a swapped policy are refused" {
	for action in delete add policy; do
		rm -rf "$T/keys" "$DB"
		mksigned
		lmdbedit "$action"
		fimrun verify --verify-key "$T/keys/fim.pub"
		assert_rc 19
		assert_contains "$err" "the signature does not match the baseline's content"
	done
}

@test "trust: an unsigned baseline, a rebuilt one, another key, the policy file swapped" {
	mksigned
	lmdbedit unsign
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	# removing the signature changed the signed bytes of the data file
	assert_contains "$err" "the signature does not match the baseline's content"
	# an attacker rebuilds the baseline without the key
	fimrun baseline
	assert_rc 0
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "the baseline is not signed"
	# ... or with a key of their own
	fimraw key generate --out "$T/evil"
	fimrun baseline --sign-key "$T/evil/fim.key"
	assert_rc 0
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "the baseline was signed by another key"
	# the policy in force is not the one signed
	fimrun baseline --sign-key "$T/keys/fim.key"
	printf '/etc PERMS\n' >"$POL"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "the policy in force is not the one the baseline was signed with"
}

@test "trust: a wrong passphrase or unreadable key leaves the baseline untouched" {
	mksigned
	before=$(readlink "$DB/current")
	FIM_PASSPHRASE=wrong fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 19
	assert_eq "fim: $T/keys/fim.key: wrong passphrase, or the key file was altered" "$err"
	assert_eq "$before" "$(readlink "$DB/current")"
	fimrun baseline --sign-key "$T/nope.key"
	assert_rc 20
	assert_contains "$err" "$T/nope.key: cannot load the signing key: No such file or directory"
	assert_eq "$before" "$(readlink "$DB/current")"
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 0
	fimrun check --verify-key "$T/nope.pub"
	assert_rc 19
	assert_contains "$err" "the verify key cannot be read"
}

@test "trust: accept re-signs, and refuses to drop a signature" {
	mksigned
	printf 'changed\n' >>"$ROOT/etc/a"
	fimrun accept /etc/a --reason "CHG-1"
	assert_rc 16
	assert_contains "$err" "the baseline is signed: give --sign-key"
	fimrun accept /etc/a --reason "CHG-1" --sign-key "$T/keys/fim.key"
	assert_rc 0
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 0
	fimrun history
	assert_contains "$out" ", signed by "
}

@test "trust: accept will not sign again a baseline tampered with since it was signed" {
	mksigned
	lmdbedit flip
	printf 'changed\n' >>"$ROOT/etc/b"
	fimrun accept /etc/b --reason "CHG-2" --sign-key "$T/keys/fim.key"
	assert_rc 19
	assert_contains "$err" "baseline integrity failure: the signature does not match the baseline's content"
	assert_contains "$err" "not signing it again"
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 19
}

@test "trust: accept will not sign a baseline whose signature was removed" {
	mksigned
	lmdbedit unsign
	printf 'changed\n' >>"$ROOT/etc/b"
	fimrun accept /etc/b --reason "CHG-3" --sign-key "$T/keys/fim.key"
	assert_rc 19
	assert_contains "$err" "the baseline is not signed; sign a baseline with 'fim baseline --sign-key', not with accept"
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 19
}

@test "trust: a forged accept history is not carried into a new signed baseline" {
	mksigned
	lmdbedit forge
	fimrun history
	assert_contains "$out" "FORGED-1"
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	assert_contains "$err" "the previous baseline does not verify (the signature does not match the baseline's content"
	assert_contains "$err" "its accept history is not carried over"
	fimrun history --verify-key "$T/keys/fim.pub"
	assert_rc 0
	assert_not_contains "$out" "FORGED-1"
	# a history the signer vouched for is carried
	printf 'changed\n' >>"$ROOT/etc/a"
	fimrun accept /etc/a --reason "CHG-9" --sign-key "$T/keys/fim.key"
	assert_rc 0
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	assert_not_contains "$err" "not carried over"
	fimrun history --verify-key "$T/keys/fim.pub"
	assert_contains "$out" "CHG-9"
}

@test "trust: a database re-created with other LMDB flags is refused" {
	mksigned
	lmdbedit reversekey
	fimrun verify --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "its data file is not the bytes that were signed"
}

@test "trust: show and history honour 'set verify_key' of the policy file" {
	mksigned
	lmdbedit flip
	printf 'set verify_key = %s\n' "$T/keys/fim.pub" >>"$POL"
	for cmd in "show /etc/a" "history"; do
		fimrun $cmd
		assert_rc 19 "$cmd"
		assert_contains "$err" "baseline integrity failure: the signature does not match"
	done
	# a policy file that cannot be parsed may be the one asking for the key
	printf 'set nonsense = 1\n' >>"$POL"
	fimrun show /etc/a
	assert_rc 17
	assert_contains "$err" "unknown setting 'nonsense'"
	# no policy file at all: nothing requires a key
	rm "$POL"
	fimrun show /etc/a
	assert_rc 0
	assert_contains "$out" "/etc/a"
}

@test "trust: history prints a malformed entry safely, with the store's sequence number" {
	mksigned
	lmdbedit forgeodd
	fimrun history
	assert_rc 0
	assert_contains "$out" "#99"
	assert_contains "$out" "changed /etc/a: ? hash ?"
	assert_not_contains "$out" $'\e'
	fimrun --format json history
	assert_rc 0
	assert_contains "$out" '{"seq":99,'
	fimrun show /etc/a
	assert_rc 0
	assert_not_contains "$out" $'\e'
}
