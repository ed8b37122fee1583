#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# baseline + check on real trees: an untouched tree is quiet, every kind of
# drift is reported exactly once with the right exit status, show and --root.

load helpers

# /etc with files, a subdirectory and a symlink; /other is not selected.
make_tree() {
	mkdir -p "$ROOT/etc/sub" "$ROOT/other"
	printf 'alpha\n' >"$ROOT/etc/a"
	printf 'bravo\n' >"$ROOT/etc/b"
	printf 'charlie\n' >"$ROOT/etc/sub/c"
	ln -s a "$ROOT/etc/link"
	printf 'not selected\n' >"$ROOT/other/x"
	age_tree "$ROOT"
}

# Directories are recorded by PERMS only, so adding or removing an entry
# does not change them: the exit status shows the entry's drift alone.
quiet_dirs_policy() {
	policy <<-'EOF'
		/etc      CONTENT
		=/etc     PERMS
		=/etc/sub PERMS
	EOF
}

@test "untouched tree: check exits 0 with an all-zero summary, twice" {
	make_tree
	policy <<<'/etc CONTENT'
	baseline
	for i in 1 2; do
		expect_check 0 <<-'EOF'
			summary scanned=6 added=0 removed=0 changed=0 errors=0
		EOF
		assert_eq "" "$err" "stderr of check $i"
	done
}

@test "untouched tree: human summary says no drift and names the baseline" {
	make_tree
	policy <<<'/etc CONTENT'
	baseline
	fimrun --format human check
	assert_rc 0
	local first second
	first=$(sed -n 1p "$T/out")
	second=$(sed -n 2p "$T/out")
	[[ $first =~ ^fim\ check:\ no\ drift\ -\ 0\ changed,\ 0\ added,\ 0\ removed,\ 0\ unreadable\;\ 6\ objects\ scanned\ in\ [0-9]+\.[0-9]\ s$ ]] ||
		assert_eq "fim check: no drift - 0 changed, 0 added, 0 removed, 0 unreadable; 6 objects scanned in N.N s" "$first" "summary line"
	[[ $second =~ ^baseline:\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\ on\ $(hostname)\ \(sha256\)$ ]] ||
		assert_eq "baseline: YYYY-MM-DDTHH:MM:SSZ on $(hostname) (sha256)" "$second" "baseline line"
	assert_eq 2 "$(wc -l <"$T/out")" "number of output lines"
}

@test "baseline prints one summary line with the counts" {
	make_tree
	policy <<<'/etc CONTENT'
	fimrun baseline
	assert_rc 0
	[[ $out =~ ^fim\ baseline:\ 4\ files,\ 2\ directories,\ [0-9.]+\ MB\ hashed\ \(sha256\),\ 0\ other\ objects,\ 0\ unreadable,\ in\ [0-9.]+\ s\ -\>\ ${DB}$ ]] ||
		assert_eq "fim baseline: 4 files, 2 directories, N MB hashed (sha256), 0 other objects, 0 unreadable, in N s -> $DB" "$out" "baseline output"
	fimrun -q baseline
	assert_rc 0
	assert_eq "" "$out$err" "output of baseline -q"
}

@test "atime in the rule: a file read only by fim does not drift; a read by someone else does" {
	mkdir -p "$ROOT/data/sub"
	printf 'read me\n' >"$ROOT/data/f"
	printf 'me too\n' >"$ROOT/data/sub/g"
	age_tree "$ROOT" # atime <= mtime: under relatime the next plain read updates atime
	policy <<<'/data CONTENT atime'
	baseline
	for i in 1 2; do
		expect_check 0 <<-'EOF'
			summary scanned=4 added=0 removed=0 changed=0 errors=0
		EOF
	done
	# The test can fail: an ordinary read does move atime, and it is reported.
	cat "$ROOT/data/f" >/dev/null
	expect_check 4 <<-'EOF'
		changed /data/f atime
		summary scanned=4 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "atime in the rule: a symlink read only by fim does not drift" {
	mkdir -p "$ROOT/data"
	ln -s /somewhere/else "$ROOT/data/l"
	age_tree "$ROOT"
	policy <<<'/data CONTENT atime'
	baseline
	for i in 1 2; do
		expect_check 0 <<-'EOF'
			summary scanned=2 added=0 removed=0 changed=0 errors=0
		EOF
	done
}

@test "exit 1: a file added" {
	make_tree
	quiet_dirs_policy
	baseline
	printf 'new\n' >"$ROOT/etc/new"
	expect_check 1 <<-'EOF'
		added /etc/new
		summary scanned=7 added=1 removed=0 changed=0 errors=0
	EOF
	assert_eq file "$(jget /etc/new fim.after.type)" "fim.after.type"
	assert_eq 4 "$(jget /etc/new fim.after.size)" "fim.after.size"
	assert_eq "sha256:$(sha256sum <"$ROOT/etc/new" | cut -d' ' -f1)" "$(jget /etc/new fim.after.hash)" "fim.after.hash"
}

@test "exit 2: a file removed" {
	make_tree
	quiet_dirs_policy
	baseline
	rm "$ROOT/etc/b"
	expect_check 2 <<-'EOF'
		removed /etc/b
		summary scanned=5 added=0 removed=1 changed=0 errors=0
	EOF
	assert_eq 6 "$(jget /etc/b fim.before.size)" "fim.before.size"
}

@test "exit 4: a file changed" {
	make_tree
	quiet_dirs_policy
	baseline
	chmod 600 "$ROOT/etc/a"
	expect_check 4 <<-'EOF'
		changed /etc/a mode,ctime
		summary scanned=6 added=0 removed=0 changed=1 errors=0
	EOF
}

@test "exit statuses OR together: 3, 5, 6 and 7" {
	make_tree
	quiet_dirs_policy

	baseline
	touch "$ROOT/etc/new"
	rm "$ROOT/etc/b"
	expect_check 3 <<-'EOF'
		added /etc/new
		removed /etc/b
		summary scanned=6 added=1 removed=1 changed=0 errors=0
	EOF

	baseline
	touch "$ROOT/etc/new2"
	chmod 600 "$ROOT/etc/a"
	expect_check 5 <<-'EOF'
		added /etc/new2
		changed /etc/a mode,ctime
		summary scanned=7 added=1 removed=0 changed=1 errors=0
	EOF

	baseline
	rm "$ROOT/etc/new2"
	chmod 640 "$ROOT/etc/a"
	expect_check 6 <<-'EOF'
		changed /etc/a mode,ctime
		removed /etc/new2
		summary scanned=6 added=0 removed=1 changed=1 errors=0
	EOF

	baseline
	touch "$ROOT/etc/new3"
	rm "$ROOT/etc/new"
	chmod 644 "$ROOT/etc/a"
	expect_check 7 <<-'EOF'
		added /etc/new3
		changed /etc/a mode,ctime
		removed /etc/new
		summary scanned=6 added=1 removed=1 changed=1 errors=0
	EOF
}

@test "a whole directory removed: it and every object below it are reported removed" {
	make_tree
	mkdir -p "$ROOT/etc/sub/deeper/deepest"
	printf 'd\n' >"$ROOT/etc/sub/deeper/d"
	printf 'e\n' >"$ROOT/etc/sub/deeper/deepest/e"
	ln -s nowhere "$ROOT/etc/sub/deeper/deepest/l"
	quiet_dirs_policy
	baseline
	rm -r "$ROOT/etc/sub"
	expect_check 2 <<-'EOF'
		removed /etc/sub
		removed /etc/sub/c
		removed /etc/sub/deeper
		removed /etc/sub/deeper/d
		removed /etc/sub/deeper/deepest
		removed /etc/sub/deeper/deepest/e
		removed /etc/sub/deeper/deepest/l
		summary scanned=4 added=0 removed=7 changed=0 errors=0
	EOF
}

@test "a directory replaced by a file: the type changes and everything below is removed" {
	make_tree
	quiet_dirs_policy
	baseline
	set_aside "$ROOT/etc/sub"
	printf 'now a file\n' >"$ROOT/etc/sub"
	chmod 755 "$ROOT/etc/sub"
	check_json
	# /etc/sub is decided by "=/etc/sub PERMS", whatever its type.
	assert_events <<-'EOF'
		changed /etc/sub type
		removed /etc/sub/c
		summary scanned=5 added=0 removed=1 changed=1 errors=0
	EOF
	assert_rc 6
}

@test "a new directory with content: every object in it is reported added" {
	make_tree
	quiet_dirs_policy
	baseline
	mkdir -p "$ROOT/etc/newdir/inner"
	printf 'x\n' >"$ROOT/etc/newdir/x"
	printf 'y\n' >"$ROOT/etc/newdir/inner/y"
	expect_check 1 <<-'EOF'
		added /etc/newdir
		added /etc/newdir/inner
		added /etc/newdir/inner/y
		added /etc/newdir/x
		summary scanned=10 added=4 removed=0 changed=0 errors=0
	EOF
}

@test "adding and removing entries changes the directory's mtime, ctime and nlink" {
	make_tree
	policy <<<'/etc CONTENT'
	baseline
	mkdir "$ROOT/etc/newdir"
	rm "$ROOT/etc/sub/c"
	expect_check 7 <<-'EOF'
		added /etc/newdir
		changed /etc mtime,ctime,nlink
		changed /etc/sub mtime,ctime
		removed /etc/sub/c
		summary scanned=6 added=1 removed=1 changed=2 errors=0
	EOF
}

@test "human report: changed, added and removed sections with values before and after" {
	make_tree
	quiet_dirs_policy
	baseline
	chmod 600 "$ROOT/etc/a"
	chown 7:8 "$ROOT/etc/a"
	printf 'added\n' >"$ROOT/etc/new"
	rm "$ROOT/etc/b"
	check_json
	assert_rc 7
	local before after
	before=$(jget /etc/a fim.before.ctime)
	after=$(jget /etc/a fim.after.ctime)
	fimrun --format human check
	assert_rc 7
	sed -e 's/in [0-9]*\.[0-9] s$/in N s/' -e 's/^baseline: .*/baseline: .../' "$T/out" >"$T/human"
	assert_eq "$(
		cat <<-EOF
			fim check: DRIFT - 1 changed, 1 added, 1 removed, 0 unreadable; 6 objects scanned in N s
			baseline: ...

			Changed (1)
			  /etc/a  [medium]  mode uid gid ctime
			      mode     0644 -> 0600
			      uid      0 -> 7
			      gid      0 -> 8
			      ctime    $before -> $after

			Added (1)
			  /etc/new  [medium]  file 0644 0:0, 6 bytes

			Removed (1)
			  /etc/b  [medium]  file 0644 0:0, 6 bytes
		EOF
	)" "$(cat "$T/human")" "human report"
}

@test "show PATH: the baseline record, human and JSON" {
	mkdir -p "$ROOT/etc"
	printf 'hello\n' >"$ROOT/etc/f"
	chmod 640 "$ROOT/etc/f"
	chown 12:34 "$ROOT/etc/f"
	touch -d '2021-03-04 05:06:07.5 UTC' "$ROOT/etc/f"
	policy <<<'/etc CONTENT'
	baseline
	local ino ctime sum
	ino=$(stat -c %i "$ROOT/etc/f")
	ctime=$(date -u -d "@$(stat -c %Z "$ROOT/etc/f")" +%Y-%m-%dT%H:%M:%S)
	sum=$(sha256sum <"$ROOT/etc/f" | cut -d' ' -f1)

	fimrun show /etc/f
	assert_rc 0
	sed 's/^\(  ctime    [^.]*\)\.[0-9]\{9\}Z$/\1.NZ/' "$T/out" >"$T/human"
	assert_eq "$(
		cat <<-EOF
			/etc/f
			  type     file
			  mode     0640
			  uid      12
			  gid      34
			  size     6
			  mtime    2021-03-04T05:06:07.500000000Z
			  ctime    ${ctime}.NZ
			  inode    $ino
			  nlink    1
			  hash     sha256:$sum
			  xattrs   
			  acl      
			  caps     
			  selinux  
		EOF
	)" "$(cat "$T/human")" "fim show /etc/f"

	fimrun --format json show /etc/f
	assert_rc 0
	assert_eq 1 "$(wc -l <"$T/out")" "JSON lines"
	"$PY" - "$T/out" "$ino" "$sum" <<-'EOF'
		import json, sys
		o = json.loads(open(sys.argv[1]).read())
		f = o["fim"]
		want = {"object": "file", "id": "/etc/f", "in_scope": True}
		for k, v in want.items():
		    assert f.get(k) == v, "fim.%s: expected %r, got %r" % (k, v, f.get(k))
		r = f["record"]
		want = {"type": "file", "mode": "0640", "mtime": "2021-03-04T05:06:07.500000000Z",
		        "hash": "sha256:" + sys.argv[3], "acl": "", "caps": "", "xattrs": ""}
		for k, v in want.items():
		    assert r.get(k) == v, "record.%s: expected %r, got %r" % (k, v, r.get(k))
		for k, v in {"uid": 12, "gid": 34, "size": 6, "inode": int(sys.argv[2]), "nlink": 1}.items():
		    assert str(r.get(k)) == str(v), "record.%s: expected %r, got %r" % (k, v, r.get(k))
		assert "atime" not in r, "atime is not in the rule, yet recorded: %r" % r
		assert "target" not in r, "a regular file has no target: %r" % r
	EOF
}

@test "show of a path not in the baseline exits 2 and names it; the others are still shown" {
	mkdir -p "$ROOT/etc"
	printf 'hello\n' >"$ROOT/etc/f"
	policy <<<'/etc CONTENT'
	baseline
	fimrun show /etc/nope
	assert_rc 2
	assert_eq "" "$out" "stdout"
	assert_eq "fim: /etc/nope: not in the baseline" "$err" "stderr"
	fimrun show /etc/nope /etc/f
	assert_rc 2
	assert_eq "/etc/f" "$(head -n1 "$T/out")" "first line of stdout"
}

@test "--root: no report carries the temp dir; paths are as inside the root" {
	make_tree
	policy <<<'/etc CONTENT'
	baseline
	printf 'changed\n' >"$ROOT/etc/a"
	rm "$ROOT/etc/b"
	touch "$ROOT/etc/new"
	check_json
	assert_rc 7
	assert_not_contains "$(cat "$T/out")" "$T" "JSON output"
	assert_not_contains "$(cat "$T/out")" "bats-run" "JSON output"
	assert_eq "/etc/a" "$(jget /etc/a file.path)" "file.path"
	assert_eq "/etc" "$(jget /etc/a file.directory)" "file.directory"
	assert_eq "a" "$(jget /etc/a file.name)" "file.name"
	assert_eq "/etc" "$(jget /etc/a fim.rule)" "fim.rule"
	fimrun --format human check
	assert_not_contains "$out$err" "$T" "human output"
	fimrun --format json show /etc/link
	assert_not_contains "$out$err" "$T" "show output"
	# The link is recorded as it reads, not resolved through the root.
	assert_contains "$out" '"target":"a"' "show output"
}

@test "a checked file's record is the one of the live tree, not of the host" {
	# /etc/hostname exists on the host; inside the root it is different.
	mkdir -p "$ROOT/etc"
	printf 'inside-the-root\n' >"$ROOT/etc/hostname"
	policy <<<'/etc/hostname CONTENT'
	baseline
	fimrun --format json show /etc/hostname
	assert_contains "$out" "\"hash\":\"sha256:$(sha256sum <"$ROOT/etc/hostname" | cut -d' ' -f1)\"" "show output"
	"$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))["fim"]["record"]
assert str(r["size"]) == "16", "record.size: %r" % r["size"]
' "$T/out" || { show_run; false; }
}

@test "--jobs: 1 and 4 hash workers give the same report in the same order" {
	local i
	for i in $(seq 60); do
		mkdir -p "$ROOT/etc/d$((i % 5))"
		head -c $((i * 1500)) /dev/urandom >"$ROOT/etc/d$((i % 5))/f$i"
	done
	policy <<-'EOF'
		/etc      CONTENT
		=/etc     PERMS
		=/etc/d*  PERMS
	EOF
	baseline
	for i in $(seq 1 3 60); do
		printf 'x' >>"$ROOT/etc/d$((i % 5))/f$i"
	done
	rm "$ROOT/etc/d2/f2"
	printf 'new\n' >"$ROOT/etc/d3/new"
	check_json -j 1
	assert_rc 7
	local serial ids1
	serial=$EVENTS
	ids1=$(grep -o '"id":"[^"]*"' "$T/out")
	assert_eq 20 "$(grep -c '^changed ' <<<"$serial")" "changed objects"
	for j in 4 0; do
		check_json -j "$j"
		assert_rc 7
		assert_eq "$serial" "$EVENTS" "events with -j $j"
		assert_eq "$ids1" "$(grep -o '"id":"[^"]*"' "$T/out")" "order of the report with -j $j"
	done
}

@test "--quick: an untouched tree is quiet; edits that keep size and mtime are still caught" {
	make_tree
	quiet_dirs_policy
	baseline
	expect_check 0 --quick <<-'EOF'
		summary scanned=6 added=0 removed=0 changed=0 errors=0
	EOF
	local m
	m=$(stat -c %y "$ROOT/etc/a")
	printf 'ALPHA\n' >"$ROOT/etc/a"
	touch -d "$m" "$ROOT/etc/a"
	setfattr -n user.k -v v "$ROOT/etc/b"
	expect_check 4 --quick <<-'EOF'
		changed /etc/a ctime,hash
		changed /etc/b ctime,xattrs
		summary scanned=6 added=0 removed=0 changed=2 errors=0
	EOF
}
