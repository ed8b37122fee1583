# SPDX-License-Identifier: ISC
# Shared by the end-to-end suites (load helpers): a fresh fake root per test,
# a wrapper that runs fim on it, and assertions that print expected vs actual.
#
# Per test: T (the test's temp dir), ROOT (the tree fim sees as /), DB, POL.
# fimrun ARGS... runs "$FIM" -r ROOT -d DB -c POL ARGS... with a timeout and
# leaves rc, out (stdout), err (stderr); the raw bytes are in $T/out, $T/err.

: "${FIM:?FIM must name the fim binary}"
JSONL=$BATS_TEST_DIRNAME/jsonl.py
# The system interpreter starts faster than a version manager's shim.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
export NO_COLOR=1 LC_ALL=C

setup() {
	T=$BATS_TEST_TMPDIR
	ROOT=$T/root
	DB=$T/db
	POL=$T/fim.policy
	mkdir -p "$ROOT"
}

# policy < TEXT: writes the policy file.
policy() {
	cat >"$POL"
}

# How long one fim run may take before it counts as hung, and how long a test
# waits for something to happen (a daemon's alert, a file): ceilings for a
# machine busy with other work, never delays. Nothing waits this long unless
# what it waits for does not come.
FIM_TIMEOUT=${FIM_TIMEOUT:-300}
WAIT_MAX=${WAIT_MAX:-60}

# Runs fim with the given arguments as they are (no -r/-d/-c added).
fimraw() {
	rc=0
	timeout "$FIM_TIMEOUT" "$FIM" "$@" >"$T/out" 2>"$T/err" || rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	if [ "$rc" -eq 124 ]; then
		echo "fim $* timed out ($FIM_TIMEOUT s)" >&2
		return 1
	fi
	return 0
}

fimrun() {
	fimraw -r "$ROOT" -d "$DB" -c "$POL" "$@"
}

# Shows what the last run printed.
show_run() {
	echo "--- exit status: $rc"
	echo "--- stdout:"
	cat "$T/out"
	echo "--- stderr:"
	cat "$T/err"
	echo "---"
}

assert_rc() {
	if [ "$rc" -ne "$1" ]; then
		echo "expected exit status $1, got $rc" >&2
		show_run >&2
		return 1
	fi
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	if [ "$1" != "$2" ]; then
		{
			echo "${3:-value} differs"
			echo "--- expected:"
			printf '%s\n' "$1"
			echo "--- actual:"
			printf '%s\n' "$2"
			echo "---"
		} >&2
		return 1
	fi
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
	case "$1" in
	*"$2"*) return 0 ;;
	esac
	{
		echo "${3:-text} does not contain: $2"
		echo "--- actual:"
		printf '%s\n' "$1"
		echo "---"
	} >&2
	return 1
}

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
	case "$1" in
	*"$2"*)
		{
			echo "${3:-text} contains, but must not: $2"
			echo "--- actual:"
			printf '%s\n' "$1"
			echo "---"
		} >&2
		return 1
		;;
	esac
}

# Takes the baseline; fails the test unless it succeeds. The pause makes sure
# every later change gets a later time stamp than the baseline saw.
baseline() {
	fimrun baseline "$@"
	assert_rc 0
	sleep 0.02
}

# Runs check in JSON and puts the rendered events (see jsonl.py) in EVENTS.
check_json() {
	fimrun --format json check "$@"
	EVENTS=$("$PY" "$JSONL" events "$T/out") || {
		show_run >&2
		return 1
	}
}

# assert_events <<EOF: the events of the last check_json, exactly.
assert_events() {
	local want
	want=$(cat)
	if [ "$want" != "$EVENTS" ]; then
		{
			echo "events differ"
			echo "--- expected:"
			printf '%s\n' "$want"
			echo "--- actual:"
			printf '%s\n' "$EVENTS"
			echo "--- diff:"
			diff <(printf '%s\n' "$want") <(printf '%s\n' "$EVENTS")
			show_run
		} >&2
		return 1
	fi
}

# jget ID KEY [ACTION]: a field of the event about ID (with that event.action)
# in the last JSON output.
jget() {
	"$PY" "$JSONL" get "$T/out" "$@"
}

# The whole check in one go: check_json, then exit status and events.
# expect_check STATUS [CHECK OPTIONS...] <<EOF ... EOF
expect_check() {
	local status=$1
	shift
	check_json "$@"
	assert_events
	assert_rc "$status"
}

# Sets the times of everything under DIR (not following links) to a fixed past
# date, so that a later touch is always a change.
age_tree() {
	find "$1" -exec touch -h -d '2020-01-02 03:04:05.123456789 UTC' {} +
}

# Moves a path out of the tree but keeps it alive, so that its inode number
# cannot be handed to the object that replaces it.
set_aside() {
	mkdir -p "$T/aside"
	mv "$1" "$T/aside/$(basename "$1").$RANDOM$RANDOM"
}

# poll SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds, for at
# most SECONDS; returns its last status.
poll() {
	local end=$((SECONDS + $1)) r
	shift
	while true; do
		r=0
		"$@" || r=$?
		if [ "$r" -eq 0 ] || [ "$SECONDS" -ge "$end" ]; then
			return "$r"
		fi
		sleep 0.1
	done
}

# The inotify and fanotify limits (fs.inotify.*, fs.fanotify.*) are the
# host's: while a test has lowered one, a daemon of any other test, in this
# suite or in another copy of it run at the same time, would hit it instead.
# So the lock is one per host, whatever TMPDIR says: a test that runs a
# daemon holds it shared, a test that changes a limit holds it exclusive.
LIMITS_LOCK=/tmp/fim-e2e-limits.lock
LIMITS_FD=
LIMITS_HELD=

# limits_lock shared|exclusive: takes the lock, or converts the one held.
limits_lock() {
	local how=-s
	[ "$1" = exclusive ] && how=-x
	[ "$LIMITS_HELD" = "$1" ] && return 0
	[ -n "$LIMITS_FD" ] || exec {LIMITS_FD}>>"$LIMITS_LOCK"
	if ! flock -w 600 "$how" "$LIMITS_FD"; then
		echo "no $1 lock on $LIMITS_LOCK within 600 s" >&2
		return 1
	fi
	LIMITS_HELD=$1
}

# What a test calls before it starts a daemon: a lock already held stays.
# The daemon must not inherit it: start it with {LIMITS_FD}>&-.
limits_share() {
	[ -n "$LIMITS_HELD" ] || limits_lock shared
}

limits_unlock() {
	if [ -n "$LIMITS_FD" ]; then
		exec {LIMITS_FD}>&-
	fi
	LIMITS_FD= LIMITS_HELD=
}
