#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Services without false alarms: what a login or a container creates at run
# time is not configuration drift.

load helpers

@test "services: a login's session scope in /run/systemd/transient is not drift" {
	mkdir -p "$ROOT/lib/systemd/system" "$ROOT/run/systemd/transient"
	printf '[Service]\nExecStart=/usr/bin/foo\n' >"$ROOT/lib/systemd/system/foo.service"
	policy <<<'services'
	baseline
	printf '[Scope]\nSlice=user-1000.slice\n' >"$ROOT/run/systemd/transient/session-3.scope"
	expect_check 0 <<-'EOF'
		summary scanned=1 added=0 removed=0 changed=0 errors=0
	EOF
	# a transient service is still seen
	printf '[Service]\nExecStart=/tmp/.x\n' >"$ROOT/run/systemd/transient/run-u7.service"
	expect_check 1 <<-'EOF'
		added service:run-u7.service
		summary scanned=2 added=1 removed=0 changed=0 errors=0
	EOF
	assert_eq transient "$(jget service:run-u7.service fim.after.enabled)"
}
