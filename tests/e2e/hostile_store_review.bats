#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A damaged store, from the sides the first hostile-store suite left open: the
# lock file, and the copy that accept makes of a damaged baseline.

load helpers

mktree() {
	mkdir -p "$ROOT/etc"
	for i in 1 2 3 4 5 6 7 8; do
		printf 'file %s\n' "$i" >"$ROOT/etc/f$i"
	done
	policy <<-'EOF2'
		/etc CONTENT
	EOF2
}

# hold_lock FILE: takes a shared fcntl lock on byte 0 of FILE, as a reader
# of the environment (the daemon, a concurrent check) does, until unhold.
hold_lock() {
	rm -f "$T/held"
	"$PY" - "$1" "$T/held" <<-'EOF2' &
		import fcntl, os, sys, time
		fd = os.open(sys.argv[1], os.O_RDWR)
		fcntl.lockf(fd, fcntl.LOCK_SH, 1, 0)
		open(sys.argv[2], "w").close()
		time.sleep(120)
	EOF2
	holder=$!
	for _ in $(seq 600); do
		[ -e "$T/held" ] && return 0
		sleep 0.1
	done
	return 1
}

unhold() {
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
}

teardown() {
	if [ -n "${holder:-}" ]; then unhold; fi
}

@test "hostile store review: a truncated lock file while another reader holds it is not read" {
	mktree
	fimrun baseline
	assert_rc 0
	lock="$DB/current/lock.mdb"
	[ -e "$lock" ] || : >"$lock"
	truncate -s 100 "$lock"
	hold_lock "$lock"
	fimrun check
	assert_rc 0
	assert_eq "" "$err"
	fimrun show /etc/f1
	assert_rc 0
	unhold
}

@test "hostile store review: a lock file of garbage while another reader holds it is not read" {
	mktree
	fimrun baseline
	assert_rc 0
	lock="$DB/current/lock.mdb"
	"$PY" -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(256)) * 32)' "$lock"
	hold_lock "$lock"
	fimrun check
	assert_rc 0
	assert_eq "" "$err"
	unhold
}

# far_value KEY: the leaf node of KEY in the baseline's data file now says
# its value lies on an overflow page past the end of the file (LMDB then
# fails the read transaction, and every later read in it).
far_value() {
	"$PY" - "$DB/current/data.mdb" "$1" <<-'EOF2'
		import struct, sys
		f, want = sys.argv[1], sys.argv[2].encode()
		b = bytearray(open(f, "rb").read())
		ps = struct.unpack_from("<I", b, 16 + 24)[0]
		for i in range(2, len(b) // ps):
		    o = i * ps
		    _, _, fl, lo, _ = struct.unpack_from("<QHHHH", b, o)
		    if not fl & 2:
		        continue
		    for j in range((lo - 16) // 2):
		        p = o + struct.unpack_from("<H", b, o + 16 + 2 * j)[0]
		        nlo, nhi, nfl, ks = struct.unpack_from("<HHHH", b, p)
		        if bytes(b[p + 8:p + 8 + ks]) == want and nlo >= 8:
		            struct.pack_into("<H", b, p + 4, nfl | 1)
		            struct.pack_into("<Q", b, p + 8 + ks, len(b) // ps + 3)
		            open(f, "r+b").write(b)
		            sys.exit(0)
		sys.exit("no leaf node for %s" % sys.argv[2])
	EOF2
}

@test "hostile store review: a meta value past the end of the file is a corrupt baseline (18), not an I/O error" {
	mktree
	fimrun baseline
	assert_rc 0
	far_value created
	fimrun check
	assert_rc 18
	assert_eq "fim: $DB: the baseline is corrupt: Bad message" "$err"
}

# short_lower DB: the root page of database DB (a leaf in these small
# trees) claims a table of nodes far longer than the page.
short_lower() {
	"$PY" - "$DB/current/data.mdb" "$1" <<-'EOF2'
		import struct, sys
		f, name = sys.argv[1], sys.argv[2].encode()
		b = bytearray(open(f, "rb").read())
		ps = struct.unpack_from("<I", b, 16 + 24)[0]
		for i in range(2, len(b) // ps):
		    o = i * ps
		    _, _, fl, lo, _ = struct.unpack_from("<QHHHH", b, o)
		    if not fl & 2:
		        continue
		    for j in range((lo - 16) // 2):
		        p = o + struct.unpack_from("<H", b, o + 16 + 2 * j)[0]
		        _, _, nfl, ks = struct.unpack_from("<HHHH", b, p)
		        if nfl & 2 and bytes(b[p + 8:p + 8 + ks]) == name:
		            root = struct.unpack_from("<Q", b, p + 8 + ks + 40)[0] * ps
		            lower = struct.unpack_from("<H", b, root + 12)[0]
		            struct.pack_into("<H", b, root + 12, lower | 0xf000)
		            open(f, "r+b").write(b)
		            sys.exit(0)
		sys.exit("no database %s" % sys.argv[2])
	EOF2
}

@test "hostile store review: accept on a baseline its copy finds damaged ends in 18, nothing accepted" {
	mktree
	fimrun baseline
	assert_rc 0
	printf 'changed\n' >"$ROOT/etc/f1"
	link=$(readlink "$DB/current")
	# the node names, which a check of /etc does not read, but the copy does
	short_lower nodes
	fimrun accept --all --reason review
	assert_rc 18
	# (the last line: a sanitizer build's copy reports LMDB's overrun first)
	assert_eq "fim: $DB: the baseline is corrupt; nothing accepted" "$(tail -n 1 "$T/err")"
	assert_eq "$link" "$(readlink "$DB/current")"
	assert_eq "$link" "$(ls "$DB" | grep -v '^current$')"
}

@test "hostile store review: without /proc a fault in the map is still a corrupt baseline (18)" {
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
		skip "needs root and unshare(1) to hide /proc"
	fi
	unshare -m true 2>/dev/null || skip "no mount namespace here"
	if ldd "$FIM" 2>/dev/null | grep -q libasan; then
		skip "a sanitizer build cannot run without /proc itself"
	fi
	mktree
	fimrun baseline
	assert_rc 0
	# the file tree's root page: its node table runs past the end of the file
	short_lower files
	fimrun check
	assert_rc 18
	rc=0
	unshare -m sh -c 'mount -t tmpfs none /proc && exec timeout 30 "$@"' sh \
		"$FIM" -r "$ROOT" -d "$DB" -c "$POL" check >"$T/out" 2>"$T/err" || rc=$?
	err=$(cat "$T/err")
	assert_rc 18
	assert_eq "fim: $DB: the baseline is corrupt: Bad message" "$err"
}

@test "hostile store review: a watcher state whose meta pages point past its file is refused, not mapped" {
	mktree
	printf 'set watch.journal = no\n' >>"$POL"
	fimrun baseline
	assert_rc 0
	# an LMDB file whose both meta pages name a root and a last page far
	# beyond its end (the state's own map is 64 MiB: LMDB would touch them)
	mkdir -p "$DB/state"
	"$PY" - "$DB/current/data.mdb" "$DB/state/data.mdb" <<-'EOF2'
		import struct, sys
		b = bytearray(open(sys.argv[1], "rb").read())
		ps = struct.unpack_from("<I", b, 16 + 24)[0]
		for m in (0, ps):
		    struct.pack_into("<Q", b, m + 128, 5000)
		    struct.pack_into("<Q", b, m + 136, 6000)
		open(sys.argv[2], "wb").write(b)
	EOF2
	fimrun --alerts "$T/alerts.json" watch
	assert_rc 20
	assert_eq "fim: $DB/state: the watcher's state is corrupt; move it away to start afresh (the journal is then read again from the baseline's time)" "$err"
}

@test "hostile store review: a data.sig that is a link or a directory is an integrity failure (19)" {
	export FIM_PASSPHRASE='correct horse battery staple'
	mktree
	fimraw key generate --out "$T/keys"
	assert_rc 0
	fimrun baseline --sign-key "$T/keys/fim.key"
	assert_rc 0
	env=$(readlink -f "$DB/current")
	cp "$env/data.sig" "$T/sig"
	expect="fim: $DB: baseline integrity failure: the signature does not match the baseline's content (its data file is not the bytes that were signed: damaged, or changed after signing) (verify key $T/keys/fim.pub)"
	rm "$env/data.sig"
	ln -s "$T/sig" "$env/data.sig"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_eq "$expect" "$err"
	rm "$env/data.sig"
	mkdir "$env/data.sig"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 19
	assert_eq "$expect" "$err"
	rmdir "$env/data.sig"
	cp "$T/sig" "$env/data.sig"
	fimrun check --verify-key "$T/keys/fim.pub"
	assert_rc 0
}

@test "hostile store review: a db path through a link in a directory every user can write is refused" {
	mktree
	fimrun baseline
	assert_rc 0
	mkdir "$T/open"
	chmod 0777 "$T/open"
	ln -s "$DB" "$T/open/db"
	fimraw -r "$ROOT" -d "$T/open/db" -c "$POL" check
	assert_rc 18
	assert_eq "fim: $T/open: writable by every user: refusing an unsigned baseline that another user could replace or change (fix its owner or mode, or sign it)" "$err"
	# sticky, like /tmp: the link is root's and stays as it is
	chmod 1777 "$T/open"
	fimraw -r "$ROOT" -d "$T/open/db" -c "$POL" check
	assert_rc 0
}
