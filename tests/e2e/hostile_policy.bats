#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Policies that used to hurt: the same policy named by another path was taken
# for another policy, and a long list of rules made every path cost as much as
# the whole list.

load helpers

export FIM_PASSPHRASE='correct horse battery staple'

# A policy in $T/conf that includes conf.d/*.policy by a relative name, and a
# small tree it watches.
mkpolicy() {
	mkdir -p "$ROOT/etc" "$T/conf/conf.d"
	printf 'a\n' >"$ROOT/etc/a"
	printf 'b\n' >"$ROOT/etc/b"
	printf '/etc CONTENT\ninclude conf.d/*.policy\n' >"$T/conf/fim.policy"
	printf '!/etc/b\n' >"$T/conf/conf.d/skip.policy"
	ln -s conf "$T/link"
}

# fimin DIR ARGS...: runs fim from DIR, with the root and db given absolute.
fimin() {
	local dir=$1
	shift
	rc=0
	(cd "$dir" && timeout 30 "$FIM" -r "$ROOT" -d "$DB" "$@") >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

@test "policy identity: a signed baseline verifies whatever path names its policy" {
	mkpolicy
	fimraw key generate --out "$T/keys"
	assert_rc 0
	fimin / -c "$T/conf/fim.policy" baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	for spelling in fim.policy ./fim.policy ../conf/fim.policy "$T/link/fim.policy" \
		"$T/conf//fim.policy"; do
		fimin "$T/conf" -c "$spelling" verify --verify-key "$T/keys/fim.pub"
		assert_rc 0
		assert_contains "$out" "policy matches"
		fimin "$T/conf" -c "$spelling" --format json check --verify-key "$T/keys/fim.pub"
		assert_rc 0
		assert_eq "" "$err" "stderr of check -c $spelling"
	done
}

@test "policy identity: an unsigned baseline sees no policy change under another spelling" {
	mkpolicy
	fimin "$T/conf" -c fim.policy baseline
	assert_rc 0
	fimin / -c "$T/link/fim.policy" --format json check
	assert_rc 0
	assert_eq "" "$err" "stderr"
	assert_not_contains "$out" "policy_changed"
	# an object the policy selects changed: still found, under the same rule
	printf 'A\n' >"$ROOT/etc/a"
	fimin / -c "$T/link/fim.policy" --format json check
	assert_rc 4
	assert_eq "/etc" "$(jget /etc/a fim.rule changed)"
}

@test "policy identity: what the policy says still counts, in every file" {
	mkpolicy
	fimraw key generate --out "$T/keys"
	assert_rc 0
	fimin / -c "$T/conf/fim.policy" baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	# an included file's content
	printf '!/etc/a\n' >"$T/conf/conf.d/skip.policy"
	fimin "$T/conf" -c fim.policy check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_eq "fim: $DB: baseline integrity failure: the policy in force is not the one the baseline was signed with (verify key $T/keys/fim.pub)" "$err"
	# the same bytes, included at another place
	printf '!/etc/b\n' >"$T/conf/conf.d/skip.policy"
	printf 'include conf.d/*.policy\n/etc CONTENT\n' >"$T/conf/fim.policy"
	fimin "$T/conf" -c fim.policy check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	# one more file that says nothing
	printf '/etc CONTENT\ninclude conf.d/*.policy\n' >"$T/conf/fim.policy"
	: >"$T/conf/conf.d/zz.policy"
	fimin "$T/conf" -c fim.policy check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	rm "$T/conf/conf.d/zz.policy"
	fimin "$T/conf" -c fim.policy check --verify-key "$T/keys/fim.pub"
	assert_rc 0
}

# Turns the current baseline into one an older fim wrote: its policy digest
# was the SHA-256 of the stored policy bundle.
legacy_digest() {
	"$PY" - "$DB" <<-'EOF'
		import hashlib, lmdb, os, sys
		env = lmdb.open(os.path.realpath(os.path.join(sys.argv[1], "current")), max_dbs=32)
		meta = env.open_db(b"meta")
		with env.begin(write=True) as txn:
		    bundle = txn.get(b"policy", db=meta)
		    txn.put(b"policy_digest", hashlib.sha256(bundle).digest(), db=meta)
	EOF
}

@test "policy identity: a baseline of an older fim is still taken as built with its policy" {
	mkpolicy
	fimin / -c "$T/conf/fim.policy" baseline
	assert_rc 0
	legacy_digest
	fimin "$T/conf" -c fim.policy --format json check
	assert_rc 0
	assert_eq "" "$err" "stderr"
	assert_not_contains "$out" "policy_changed"
	# and a policy that differs is still seen as changed
	printf '!/etc/a\n' >"$T/conf/conf.d/skip.policy"
	fimin "$T/conf" -c fim.policy --format json check
	assert_contains "$err" "the policy in force is not the one the baseline was built with"
	# an accept is refused on a changed policy, allowed on the same one
	fimin "$T/conf" -c fim.policy accept --all --reason test
	assert_rc 16
	assert_contains "$err" "the policy changed since the baseline"
	printf '!/etc/b\n' >"$T/conf/conf.d/skip.policy"
	fimin "$T/conf" -c fim.policy accept --all --reason test
	assert_rc 0
	printf 'A\n' >"$ROOT/etc/a"
	fimin "$T/conf" -c fim.policy accept --all --reason test
	assert_rc 0
	fimin / -c "$T/link/fim.policy" --format json check
	assert_rc 0
	assert_eq "" "$err" "stderr"
}

# 60,000 exclusions in one directory, and files next to them. Matching used to
# test every path against every rule: 60,000 x 10,000 walks, tens of seconds of
# CPU (past the 30 s limit of fimrun on most machines); with the rules indexed
# by their literal prefix it takes well under one second.
@test "policy size: 60,000 exclusions do not make every path cost 60,000 rules" {
	mkdir -p "$ROOT/data/set"
	"$PY" - "$ROOT/data/set" "$POL" <<-'EOF'
		import os, sys
		d, pol = sys.argv[1], sys.argv[2]
		with open(pol, "w") as f:
		    f.write("/data CONTENT\n")
		    for i in range(60000):
		        f.write("!/data/set/f%05d.skip\n" % i)
		for i in range(10000):
		    open(os.path.join(d, "f%05d" % i), "w").close()
		for i in range(0, 60000, 6000):
		    open(os.path.join(d, "f%05d.skip" % i), "w").close()
	EOF
	TIMEFORMAT='%U %S'
	{ time fimrun --format json baseline; } 2>"$T/cpu"
	assert_rc 0
	# CPU seconds of fim (user + system), not the wall clock: the machine may be busy
	cpu=$(tail -n 1 "$T/cpu")
	echo "baseline: $cpu s of CPU (user, system)"
	"$PY" -c "import sys; sys.exit(float(sys.argv[1]) + float(sys.argv[2]) >= 10)" $cpu
	fimrun --format json show /data/set/f09999
	assert_rc 0
	fimrun --format json show /data/set/f06000.skip
	assert_rc 2
	assert_eq "fim: /data/set/f06000.skip: not in the baseline" "$err"
	fimrun policy test /data/set/f00001 /data/set/f54000.skip
	assert_rc 0
	assert_contains "$out" "/data/set/f00001"
	assert_contains "$out" "/data/set/f54000.skip"
}
