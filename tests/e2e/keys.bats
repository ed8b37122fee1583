#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# fim key generate: the key pair it writes (formats, modes), where the
# passphrase comes from, and what it refuses (overwriting, no --out, no
# passphrase source). Signing with the keys is tested in trust.bats.

load helpers

# Runs fim with no FIM_PASSPHRASE in a new session: no controlling terminal,
# so nothing can be asked.
fim_notty() {
	rc=0
	env -u FIM_PASSPHRASE timeout "$FIM_TIMEOUT" setsid -w "$FIM" "$@" >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# assert_mode MODE PATH
assert_mode() {
	assert_eq "$1" "$(stat -c %a "$2")" "mode of $2"
}

# assert_files DIR NAMES: exactly these entries (dot files included), sorted.
assert_files() {
	assert_eq "$2" "$(cd "$1" && ls -A | sort | tr '\n' ' ' | sed 's/ $//')" "entries of $1"
}

@test "key generate: FIM_PASSPHRASE, the output, the files and their modes" {
	FIM_PASSPHRASE='correct horse' fimraw key generate --out "$T/keys"
	assert_rc 0
	assert_eq "" "$err" "stderr"
	local pub key id
	pub=$(cat "$T/keys/fim.pub")
	key=$(cat "$T/keys/fim.key")
	[[ $pub =~ ^fim-ed25519-public\ [A-Za-z0-9+/]{43}=\ id=([0-9a-f]{16})$ ]] || {
		echo "fim.pub: $pub" >&2
		return 1
	}
	id=${BASH_REMATCH[1]}
	[[ $key =~ ^fim-ed25519-secret-v1\ [A-Za-z0-9+/]{187}=$ ]] || {
		echo "fim.key: $key" >&2
		return 1
	}
	assert_eq "fim: key pair written: $T/keys/fim.pub (public, id $id), $T/keys/fim.key (secret, sealed)
fim: keep $T/keys/fim.key off the monitored host; give fim $T/keys/fim.pub with --verify-key" "$out" "stdout"
	# one line each, newline-terminated
	assert_eq 1 "$(wc -l <"$T/keys/fim.pub")" "lines of fim.pub"
	assert_eq 1 "$(wc -l <"$T/keys/fim.key")" "lines of fim.key"
	assert_mode 700 "$T/keys"
	assert_mode 600 "$T/keys/fim.key"
	assert_mode 644 "$T/keys/fim.pub"
	assert_files "$T/keys" "fim.key fim.pub"
	# the id is the first 8 bytes of BLAKE2b-256 of the public key
	local want
	want=$("$PY" -c 'import base64, hashlib, sys
pk = base64.b64decode(sys.argv[1].split()[1])
print(hashlib.blake2b(pk, digest_size=32).hexdigest()[:16])' "$pub")
	assert_eq "$want" "$id" "key id"
	# the sealed blob carries the same public key (bytes 60..91)
	"$PY" -c 'import base64, sys
blob = base64.b64decode(sys.argv[1].split()[1])
pk = base64.b64decode(sys.argv[2].split()[1])
assert len(blob) == 140 and blob[:8] == b"fimS\1\1\1\0", blob[:8]
assert int.from_bytes(blob[8:12], "big") == 3, "opslimit"
assert int.from_bytes(blob[12:20], "big") == 256 << 20, "memlimit"
assert blob[60:92] == pk, "public key"' "$key" "$pub"
}

@test "key generate: two runs make two different keys" {
	FIM_PASSPHRASE=same fimraw key generate --out "$T/a"
	assert_rc 0
	FIM_PASSPHRASE=same fimraw key generate --out "$T/b"
	assert_rc 0
	[ "$(cat "$T/a/fim.pub")" != "$(cat "$T/b/fim.pub")" ]
	[ "$(cat "$T/a/fim.key")" != "$(cat "$T/b/fim.key")" ]
}

@test "key generate: --passphrase-file, whatever the umask; an existing directory is kept" {
	printf 'from a file\r\nsecond line\n' >"$T/pass"
	mkdir -m 750 "$T/keys"
	(
		umask 077
		unset FIM_PASSPHRASE
		fimraw key generate --out "$T/keys/" --passphrase-file "$T/pass"
		assert_rc 0
		assert_eq "" "$err" "stderr"
		assert_contains "$out" "fim: key pair written: $T/keys/fim.pub (public, id "
		assert_contains "$out" "), $T/keys/fim.key (secret, sealed)"
	)
	assert_mode 750 "$T/keys"
	assert_mode 600 "$T/keys/fim.key"
	assert_mode 644 "$T/keys/fim.pub"
	assert_files "$T/keys" "fim.key fim.pub"
}

@test "key generate: -q prints the files, not the advice" {
	FIM_PASSPHRASE=x fimraw -q key generate --out "$T/keys"
	assert_rc 0
	assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "stdout lines"
	assert_contains "$out" "fim: key pair written: $T/keys/fim.pub"
}

@test "key generate: never overwrites, and leaves nothing behind when it refuses" {
	export FIM_PASSPHRASE=first
	fimraw key generate --out "$T/keys"
	assert_rc 0
	cp -p "$T/keys/fim.key" "$T/key.orig"
	cp -p "$T/keys/fim.pub" "$T/pub.orig"
	FIM_PASSPHRASE=second fimraw key generate --out "$T/keys"
	assert_rc 20
	assert_eq "fim: $T/keys/fim.key: already exists; not overwritten" "$err" "stderr"
	assert_eq "" "$out" "stdout"
	cmp "$T/key.orig" "$T/keys/fim.key"
	cmp "$T/pub.orig" "$T/keys/fim.pub"
	assert_files "$T/keys" "fim.key fim.pub"
	# either file alone is enough, and the other one is not made
	rm "$T/keys/fim.key"
	fimraw key generate --out "$T/keys"
	assert_rc 20
	assert_eq "fim: $T/keys/fim.pub: already exists; not overwritten" "$err" "stderr"
	assert_files "$T/keys" "fim.pub"
	rm "$T/keys/fim.pub"
	ln -s /nonexistent "$T/keys/fim.key"
	fimraw key generate --out "$T/keys"
	assert_rc 20
	assert_eq "fim: $T/keys/fim.key: already exists; not overwritten" "$err" "stderr"
	assert_files "$T/keys" "fim.key"
}

@test "key generate: usage errors exit 16 and write nothing" {
	export FIM_PASSPHRASE=x
	cd "$T"
	fimraw key
	assert_rc 16
	assert_eq "fim: key: which subcommand? (fim key generate --out DIR)" "$err" "stderr"
	fimraw key frobnicate --out "$T/keys"
	assert_rc 16
	assert_eq "fim: key: unknown subcommand 'frobnicate' (fim key generate --out DIR)" "$err" "stderr"
	fimraw key generate
	assert_rc 16
	assert_eq "fim: key generate: where to? (fim key generate --out DIR)" "$err" "stderr"
	fimraw key generate --out ""
	assert_rc 16
	assert_eq "fim: key generate: where to? (fim key generate --out DIR)" "$err" "stderr"
	fimraw key generate "$T/keys"
	assert_rc 16
	assert_eq "fim: key generate: unexpected argument '$T/keys'" "$err" "stderr"
	fimraw key generate extra --out "$T/keys"
	assert_rc 16
	assert_eq "fim: key generate: unexpected argument 'extra'" "$err" "stderr"
	fimraw key generate --out
	assert_rc 16
	assert_contains "$err" "option '--out' requires an argument" "stderr"
	assert_eq "" "$out" "stdout"
	[ ! -e "$T/keys" ]
	[ ! -e "$T/fim.key" ] && [ ! -e "$T/fim.pub" ]
}

@test "key generate: no passphrase source and no terminal: 16, naming the three ways" {
	fim_notty key generate --out "$T/keys"
	assert_rc 16
	assert_eq "fim: key generate: no passphrase: set FIM_PASSPHRASE, use --passphrase-file, or run on a terminal" "$err" "stderr"
	assert_eq "" "$out" "stdout"
	[ ! -e "$T/keys" ]
}

@test "key generate: empty or unreadable passphrases: 16, nothing written" {
	FIM_PASSPHRASE= fimraw key generate --out "$T/keys"
	assert_rc 16
	assert_eq "fim: key generate: FIM_PASSPHRASE is set but empty" "$err" "stderr"
	printf '\nsecond line\n' >"$T/pass"
	fim_notty key generate --out "$T/keys" --passphrase-file "$T/pass"
	assert_rc 16
	assert_eq "fim: $T/pass: no passphrase on the first line" "$err" "stderr"
	fim_notty key generate --out "$T/keys" --passphrase-file "$T/none"
	assert_rc 16
	assert_eq "fim: $T/none: cannot read the passphrase: No such file or directory" "$err" "stderr"
	head -c 5000 /dev/zero | tr '\0' x >"$T/big"
	fim_notty key generate --out "$T/keys" --passphrase-file "$T/big"
	assert_rc 16
	assert_eq "fim: $T/big: larger than 4 KiB: not a passphrase file" "$err" "stderr"
	head -c 1025 /dev/zero | tr '\0' x >"$T/long"
	fim_notty key generate --out "$T/keys" --passphrase-file "$T/long"
	assert_rc 16
	assert_eq "fim: $T/long: the passphrase is longer than 1024 bytes" "$err" "stderr"
	[ ! -e "$T/keys" ]
}

@test "key generate: --out that cannot be a directory: 20" {
	printf 'x\n' >"$T/file"
	FIM_PASSPHRASE=x fimraw key generate --out "$T/file"
	assert_rc 20
	assert_eq "fim: $T/file: cannot write the key pair: Not a directory" "$err" "stderr"
	FIM_PASSPHRASE=x fimraw key generate --out "$T/no/such"
	assert_rc 20
	assert_eq "fim: $T/no/such: cannot write the key pair: No such file or directory" "$err" "stderr"
	[ ! -e "$T/no" ]
}
