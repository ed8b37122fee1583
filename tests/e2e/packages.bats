#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Packages end to end: a fake dpkg status database under --root, the changes a
# package manager (or an intruder) makes, and what check says in dpkg's terms.

load helpers

STATUS=/var/lib/dpkg/status

# stanza NAME ARCH STATUS VERSION [CONFFILE-LINES]: one package of the database.
stanza() {
	printf 'Package: %s\nStatus: %s\nPriority: optional\nArchitecture: %s\nVersion: %s\n' \
		"$1" "$3" "$2" "$4"
	if [ -n "${5:-}" ]; then printf 'Conffiles:\n%s\n' "$5"; fi
	printf 'Description: the %s package\n continued text\n .\n more\n\n' "$1"
}

CNF=' /etc/ssl/openssl.cnf 6b4b4ba7ea3ec2ac5b1a5e2a9e4b5cfe'

# mkdb [openssl-status] [openssl-version] [conffiles]: a small database.
mkdb() {
	mkdir -p "$ROOT/var/lib/dpkg"
	{
		stanza base-files amd64 'install ok installed' 12.4+deb12u5
		stanza openssl amd64 "${1:-install ok installed}" "${2:-3.0.11-1}" "${3:-$CNF}"
		stanza tzdata all 'install ok installed' 2024a-0+deb12u1
	} >"$ROOT$STATUS"
}

pkgpolicy() {
	echo 'packages severity=medium' | policy
}

@test "packages: an untouched database reports nothing; show names packages" {
	pkgpolicy
	mkdb
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=3 added=0 removed=0 changed=0 errors=0
	EOF
	fimrun show package:openssl:amd64
	assert_rc 0
	assert_eq "package openssl:amd64
  version         3.0.11-1
  status          install ok installed
  architecture    amd64
  conffiles       /etc/ssl/openssl.cnf 6b4b4ba7ea3ec2ac5b1a5e2a9e4b5cfe" "$out"
	fimrun show package:tzdata:all
	assert_rc 0
	assert_contains "$out" "version         2024a-0+deb12u1"
}

@test "packages: an upgrade, in dpkg's terms and ECS fields" {
	pkgpolicy
	mkdb
	baseline
	mkdb '' 3.0.15-1
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 version
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'upgraded 3.0.11-1 -> 3.0.15-1' "$(jget package:openssl:amd64 fim.note)"
	assert_eq '{"name": "openssl", "version": "3.0.15-1", "architecture": "amd64"}' \
		"$(jget package:openssl:amd64 package)"
	assert_eq '3.0.11-1' "$(jget package:openssl:amd64 fim.before.version)"
	assert_eq '3.0.15-1' "$(jget package:openssl:amd64 fim.after.version)"
	assert_eq medium "$(jget package:openssl:amd64 fim.severity)"
	assert_eq '["package"]' "$(jget package:openssl:amd64 event.category)"
	fimrun check
	assert_rc 4
	assert_contains "$out" "package openssl:amd64  [medium]  version
      version         3.0.11-1 -> 3.0.15-1
      note: upgraded 3.0.11-1 -> 3.0.15-1"
}

@test "packages: a downgrade is suspicious and critical" {
	pkgpolicy
	mkdb '' 3.0.15-1
	baseline
	mkdb '' 3.0.11-1
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 version
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'downgraded 3.0.15-1 -> 3.0.11-1 (suspicious)' "$(jget package:openssl:amd64 fim.note)"
	assert_eq '["downgraded: an older version may bring back fixed vulnerabilities"]' \
		"$(jget package:openssl:amd64 fim.suspicious)"
	assert_eq critical "$(jget package:openssl:amd64 fim.severity)"
}

@test "packages: installed, removed to its config files, then purged" {
	pkgpolicy
	mkdb
	baseline
	stanza netcat-openbsd amd64 'install ok installed' 1.219-1 >>"$ROOT$STATUS"
	expect_check 1 <<-'EOF'
		added package:netcat-openbsd:amd64
		summary scanned=4 added=1 removed=0 changed=0 errors=0
	EOF
	assert_eq 'installed 1.219-1' "$(jget package:netcat-openbsd:amd64 fim.note)"
	assert_eq '["package"]' "$(jget package:netcat-openbsd:amd64 event.category)"
	assert_eq '["installation"]' "$(jget package:netcat-openbsd:amd64 event.type)"
	mkdb 'deinstall ok config-files'
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 status
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'removed 3.0.11-1 (config files remain)' "$(jget package:openssl:amd64 fim.note)"
	{
		stanza base-files amd64 'install ok installed' 12.4+deb12u5
		stanza openssl amd64 'purge ok not-installed' 3.0.11-1
		stanza tzdata all 'install ok installed' 2024a-0+deb12u1
	} >"$ROOT$STATUS"
	expect_check 2 <<-'EOF'
		removed package:openssl:amd64
		summary scanned=2 added=0 removed=1 changed=0 errors=0
	EOF
	assert_eq 'removed 3.0.11-1' "$(jget package:openssl:amd64 fim.note)"
}

@test "packages: hold and unhold" {
	pkgpolicy
	mkdb
	baseline
	mkdb 'hold ok installed'
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 status
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq held "$(jget package:openssl:amd64 fim.note)"
	assert_eq medium "$(jget package:openssl:amd64 fim.severity)"
	fimrun accept --reason "pinned" package:openssl:amd64
	assert_rc 0
	mkdb
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 status
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq unheld "$(jget package:openssl:amd64 fim.note)"
}

@test "packages: a broken upgrade (half-installed, reinst-required) is news" {
	pkgpolicy
	mkdb
	baseline
	mkdb 'install reinstreq half-installed' 3.0.15-1
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 version,status
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'upgraded 3.0.11-1 -> 3.0.15-1; failed: reinst-required' \
		"$(jget package:openssl:amd64 fim.note)"
	assert_eq '["a package operation did not finish: the package is marked reinst-required"]' \
		"$(jget package:openssl:amd64 fim.suspicious)"
	assert_eq critical "$(jget package:openssl:amd64 fim.severity)"
	mkdb 'install ok half-configured' 3.0.11-1
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 status
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'failed: half-configured' "$(jget package:openssl:amd64 fim.note)"
	assert_eq critical "$(jget package:openssl:amd64 fim.severity)"
}

@test "packages: a conffile digest changed in the database is drift of the package" {
	pkgpolicy
	mkdb
	baseline
	mkdb '' '' ' /etc/ssl/openssl.cnf 00000000000000000000000000000000'
	expect_check 4 <<-'EOF'
		changed package:openssl:amd64 conffiles
		summary scanned=3 added=0 removed=0 changed=1 errors=0
	EOF
	assert_eq 'config file digests changed without a new version' \
		"$(jget package:openssl:amd64 fim.note)"
}

@test "packages: a malformed stanza is a problem with its line; the rest is recorded" {
	pkgpolicy
	mkdb
	printf 'Package: broken\nStatus: install ok sideways\n\n' >>"$ROOT$STATUS"
	fimrun baseline
	assert_rc 8
	assert_contains "$out" "3 other objects, 1 unreadable"
	assert_contains "$err" "/var/lib/dpkg/status:33: the Status field is missing or is not"
	check_json
	assert_rc 8
	assert_eq 'error package:/var/lib/dpkg/status:33
summary scanned=3 added=0 removed=0 changed=0 errors=1' "$EVENTS"
}

@test "packages: name= globs and the kind filter of accept" {
	printf 'packages severity=medium\n!packages name=tzdata:*\n' | policy
	mkdb
	baseline
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
	mkdb '' 3.0.15-1
	fimrun accept --kind package --reason "security upgrade"
	assert_rc 0
	expect_check 0 <<-'EOF'
		summary scanned=2 added=0 removed=0 changed=0 errors=0
	EOF
}

@test "packages: the real dpkg database of this machine, baseline then check" {
	command -v dpkg-query >/dev/null || skip "not a dpkg system"
	echo 'packages' | policy
	local want
	# every package whose state is not not-installed: installed, config-files, half-*
	want=$(dpkg-query -W -f='${db:Status-Status}\n' | grep -vc '^not-installed$')
	fimraw -r / -d "$DB" -c "$POL" baseline
	assert_rc 0
	assert_contains "$out" " $want other objects, 0 unreadable"
	fimraw -r / -d "$DB" -c "$POL" --format json check
	assert_rc 0
	EVENTS=$("$PY" "$JSONL" events "$T/out")
	assert_eq "summary scanned=$want added=0 removed=0 changed=0 errors=0" "$EVENTS"
}

@test "packages: on in the shipped default policy, at medium" {
	cp "$BATS_TEST_DIRNAME/../../policy/fim.policy" "$POL"
	fimrun policy test package:openssl:amd64
	assert_rc 0
	assert_contains "$out" "package:openssl:amd64: packages name=* ($POL:"
	assert_contains "$out" ") severity=medium"
}
