#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A damaged or badly placed baseline store: fim refuses it cleanly (exit 18,
# or 19 when signed), never dies of a signal, and never uses a store that
# another user could have written without saying so.

load helpers
load watch_helpers

export FIM_PASSPHRASE='correct horse battery staple'

mktree() {
	mkdir -p "$ROOT/etc/sub" "$ROOT/usr/bin"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		printf 'file %s\n' "$i" >"$ROOT/etc/f$i"
		printf 'bin %s\n' "$i" >"$ROOT/usr/bin/b$i"
		ln -s "/etc/f$i$(printf '%0300d' 0)" "$ROOT/etc/sub/l$i"
	done
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\n' >"$ROOT/etc/group"
	policy <<-'EOF'
		/etc CONTENT
		/usr CONTENT
		users
		groups
	EOF
}

# flips RUNS SEED [FIM ARGS...]: RUNS times, flips 1 to 3 random bytes
# (seeded: the same damage on every run of the suite) of a copy of the
# baseline's data.mdb and runs "fim check" on it. Prints "rc count" lines.
flips() {
	"$PY" - "$FIM" "$ROOT" "$DB" "$POL" "$@" <<-'EOF'
		import collections, os, random, shutil, subprocess, sys
		fim, root, db, pol, runs, seed = sys.argv[1:7]
		extra = sys.argv[7:]
		env = os.path.realpath(os.path.join(db, "current"))
		data = os.path.join(env, "data.mdb")
		orig = open(data, "rb").read()
		rnd = random.Random(int(seed))
		seen = collections.Counter()
		for i in range(int(runs)):
		    buf = bytearray(orig)
		    meta = rnd.random() < 0.3
		    for _ in range(rnd.randint(1, 3)):
		        at = rnd.randrange(8192 if meta else len(buf))
		        buf[at] ^= rnd.randint(1, 255)
		    with open(data, "r+b") as f:
		        f.write(buf)
		    p = subprocess.run([fim, "-r", root, "-d", db, "-c", pol, "--format", "json",
		                        "check"] + extra, stdout=subprocess.DEVNULL,
		                       stderr=subprocess.PIPE, timeout=60)
		    seen[p.returncode] += 1
		    if p.returncode < 0 or p.returncode >= 128:
		        print("run %d: killed (%d): %s" % (i, p.returncode, p.stderr[-300:]),
		              file=sys.stderr)
		with open(data, "r+b") as f:
		    f.write(orig)
		for rc, n in sorted(seen.items()):
		    print(rc, n)
	EOF
}

@test "hostile store: hundreds of damaged unsigned stores end in 0-15 or 18, never a signal" {
	mktree
	fimrun baseline
	assert_rc 0
	run_flips=$(flips "${FIM_FLIP_RUNS:-250}" 1207)
	echo "$run_flips"
	while read -r code n; do
		if [ "$code" -lt 0 ] || [ "$code" -ge 20 ] || [ "$code" -eq 16 ] || [ "$code" -eq 17 ]; then
			echo "exit status $code in $n runs" >&2
			return 1
		fi
	done <<<"$run_flips"
	# the damage is found: most runs are refused
	n18=$(awk '$1 == 18 { print $2 }' <<<"$run_flips")
	[ "${n18:-0}" -gt 0 ]
	# the intact store is untouched by all this
	fimrun check
	assert_rc 0
}

@test "hostile store: every damaged signed store is refused with 19 before LMDB reads it" {
	mktree
	fimraw key generate --out "$T/keys"
	assert_rc 0
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	run_flips=$(flips "${FIM_FLIP_RUNS_SIGNED:-80}" 4242 --verify-key "$T/keys/fim.pub")
	echo "$run_flips"
	assert_eq "19 ${FIM_FLIP_RUNS_SIGNED:-80}" "$run_flips"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 0
}

@test "hostile store: a data file shorter than its meta pages say is refused, not mapped" {
	mktree
	fimrun baseline
	assert_rc 0
	data="$DB/current/data.mdb"
	truncate -s $(($(stat -c %s "$data") - 4096)) "$data"
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: not a fim baseline, or it is corrupt" "$err"
	fimrun show /etc/f1
	assert_rc 18
}

@test "hostile store: a meta page naming a last page or a root beyond the file is refused" {
	mktree
	fimrun baseline
	assert_rc 0
	cp "$DB/current/data.mdb" "$T/orig"
	# offsets in each meta page: 128 the main root, 136 the last page
	for at in 128 136 4224 4232; do
		cp "$T/orig" "$DB/current/data.mdb"
		printf '\377\377\377\000' | dd of="$DB/current/data.mdb" bs=1 seek="$at" conv=notrunc status=none
		fimrun check
		assert_rc 18
		assert_eq "fim: $DB: not a fim baseline, or it is corrupt" "$err"
	done
}

@test "hostile store: a world-writable db directory is refused; signed, it is a loud warning" {
	mktree
	fimrun baseline
	assert_rc 0
	chmod 0777 "$DB"
	fimrun check
	assert_rc 18
	assert_eq "fim: $(realpath "$DB"): writable by every user: refusing an unsigned baseline that another user could replace or change (fix its owner or mode, or sign it)" "$err"
	# a world-writable directory above, without the sticky bit
	chmod 0700 "$DB"
	mkdir -m 0777 "$T/open"
	mv "$DB" "$T/open/db"
	fimraw -r "$ROOT" -d "$T/open/db" -c "$POL" check
	assert_rc 18
	assert_contains "$err" "$(realpath "$T/open"): writable by every user"
	# sticky (as /tmp is), it is fine
	chmod 1777 "$T/open"
	fimraw -r "$ROOT" -d "$T/open/db" -c "$POL" check
	assert_rc 0
	mv "$T/open/db" "$DB"
	# signed: the signature is what is trusted, with a warning
	fimraw key generate --out "$T/keys"
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	chmod 0777 "$DB"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 0
	assert_eq "fim: warning: $(realpath "$DB"): writable by every user: another user could replace or change this baseline; it is used only because its signature is checked" "$err"
}

@test "hostile store: data.mdb, lock.mdb or the baseline directory owned or writable by others is refused" {
	mktree
	fimrun baseline
	assert_rc 0
	env=$(realpath "$DB/current")
	chown 65534 "$env/data.mdb"
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $env/data.mdb: owned by uid 65534, neither root nor the user fim runs as (0): refusing"
	chown 0 "$env/data.mdb"
	chmod g+w "$env/lock.mdb"
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $env/lock.mdb: writable by its group: refusing"
	chmod g-w "$env/lock.mdb"
	chmod 0770 "$env"
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $env: writable by its group: refusing"
	chmod 0700 "$env"
	fimrun check
	assert_rc 0
}

@test "hostile store: 'current' pointing into a directory another user controls is refused" {
	mktree
	fimrun baseline
	assert_rc 0
	mkdir -m 0755 "$T/elsewhere"
	cp -a "$(realpath "$DB/current")" "$T/elsewhere/env"
	chown 65534 "$T/elsewhere"
	ln -sfn "$T/elsewhere/env" "$DB/current"
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $(realpath "$T/elsewhere"): owned by uid 65534"
	# the same copy in a directory of ours is used
	chown 0 "$T/elsewhere"
	fimrun check
	assert_rc 0
	# the link itself made by another user
	chown -h 65534 "$DB/current"
	fimrun check
	assert_rc 18
	assert_contains "$err" "fim: $DB/current: owned by uid 65534"
}

@test "hostile store: the daemon alerts baseline_rejected for a corrupt baseline at start and exits failed" {
	mktree
	printf 'set watch.journal = no\n' >>"$POL"
	fimrun baseline
	assert_rc 0
	data="$DB/current/data.mdb"
	truncate -s $(($(stat -c %s "$data") - 4096)) "$data"
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$T/alerts.jsonl" watch \
		>"$T/out" 2>"$T/err" || rc=$?
	assert_rc 18
	grep -q '"action":"baseline_rejected"' "$T/alerts.jsonl"
	assert_contains "$(cat "$T/alerts.jsonl")" "the baseline cannot be used (corrupt or untrusted); fim watch does not start"
	# and the same at every restart: never a crash loop of silent deaths
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$T/alerts.jsonl" watch \
		>"$T/out" 2>"$T/err" || rc=$?
	assert_rc 18
	assert_eq 2 "$(grep -c '"action":"baseline_rejected"' "$T/alerts.jsonl")"
}

@test "hostile store: a signed baseline damaged after signing stops the daemon with 19 and an alert" {
	mktree
	printf 'set watch.journal = no\n' >>"$POL"
	fimraw key generate --out "$T/keys"
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	printf '\001' | dd of="$DB/current/data.mdb" bs=1 seek=20000 conv=notrunc status=none
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$T/alerts.jsonl" \
		--verify-key "$T/keys/fim.pub" watch >"$T/out" 2>"$T/err" || rc=$?
	assert_rc 19
	assert_contains "$(cat "$T/err")" "its data file is not the bytes that were signed"
	assert_contains "$(cat "$T/alerts.jsonl")" "the baseline fails verification; fim watch does not start"
}

@test "hostile store: a baseline signed without a data file signature gets a clear 19" {
	mktree
	fimraw key generate --out "$T/keys"
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	# what a baseline signed by fim 0.1 looks like: no data.sig
	rm "$DB/current/data.sig"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_contains "$err" "the baseline is not signed (its data file has no signature; a baseline signed by fim 0.1 must be signed again with 'fim baseline --sign-key')"
}

@test "hostile store: a record that reads as corrupt during the daemon's first check stops it with baseline_rejected" {
	mktree
	printf 'set watch.journal = no\n' >>"$POL"
	fimrun baseline
	assert_rc 0
	# a sound LMDB file whose record of /etc/f1 does not decode
	"$PY" - "$DB" <<-'EOF'
		import lmdb, os, sys
		env = lmdb.open(os.path.realpath(os.path.join(sys.argv[1], "current")), max_dbs=32)
		files = env.open_db(b"files")
		with env.begin(write=True) as txn:
		    for k, v in txn.cursor(files):
		        if len(k) > 8 and k[8:] == b"f1":
		            txn.put(k, b"\xff" * len(v), db=files)
		            break
		    else:
		        sys.exit("no record for /etc/f1")
	EOF
	fimrun check
	assert_rc 18
	assert_contains "$err" "the baseline is corrupt"
	rc=0
	timeout 60 "$FIM" -r "$ROOT" -d "$DB" -c "$POL" --alerts "$T/alerts.jsonl" watch \
		>"$T/out" 2>"$T/err" || rc=$?
	assert_rc 18
	assert_contains "$(cat "$T/alerts.jsonl")" "the baseline is corrupt (found while checking everything against it); fim watch does not start"
}

@test "hostile store: a baseline swapped in under the daemon whose policy record is damaged stops it with baseline_rejected" {
	mktree
	printf 'set watch.journal = no\nset alerts.journald = no\n' >>"$POL"
	fimrun baseline
	assert_rc 0
	# a copy of the baseline whose policy digest no longer decodes
	local cur
	cur=$(readlink "$DB/current")
	cp -a "$DB/$cur" "$DB/$cur.damaged"
	"$PY" - "$DB/$cur.damaged" <<-'EOF'
		import lmdb, sys
		env = lmdb.open(sys.argv[1], max_dbs=32)
		meta = env.open_db(b"meta")
		with env.begin(write=True) as txn:
		    txn.put(b"policy_digest", b"x", db=meta)
	EOF
	A=$T/alerts.jsonl
	spawn_watch
	poll "$WAIT_MAX" grep -q '"action":"reconciled"' "$A"
	ln -s "$cur.damaged" "$DB/current.new"
	mv -T "$DB/current.new" "$DB/current"
	rc=0
	wait "$WPID" || rc=$?
	WPID=
	assert_rc 18
	assert_contains "$(cat "$A")" "the new one's policy record is corrupt; fim watch stops"
	assert_contains "$(grep -F baseline_rejected "$A")" '"severity":"critical"'
}

# A daemon a test started must not outlive it.
teardown() {
	watch_kill
	limits_unlock
}
