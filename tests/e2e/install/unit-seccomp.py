#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Runs a command under the system call filter of a systemd unit.

    unit-seccomp.py UNIT COMMAND...

Reads the SystemCallFilter= and SystemCallErrorNumber= lines of UNIT,
expands the @groups with `systemd-analyze syscall-filter` (as the systemd
on this host would), loads an allow-list filter that fails every other
system call with that errno, and executes COMMAND under it. Exits 2 when
the unit has no filter or a name is unknown to systemd.
"""
import errno
import os
import subprocess
import sys

import seccomp


def groups():
    """Each @group and what it lists (names and other @groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], check=True,
                         capture_output=True, text=True).stdout
    table, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = table.setdefault(line.split()[0], [])
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.append(line.strip())
    return table


def expand(words, table, seen=None):
    seen = set() if seen is None else seen
    names = set()
    for w in words:
        if w.startswith("@"):
            if w not in table:
                sys.exit(f"unit-seccomp: unknown group {w}")
            if w not in seen:
                seen.add(w)
                names |= expand(table[w], table, seen)
        else:
            names.add(w)
    return names


def main():
    unit, cmd = sys.argv[1], sys.argv[2:]
    words, err = [], "EPERM"
    with open(unit, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("SystemCallFilter="):
                value = line.split("=", 1)[1].split()
                if value and value[0].startswith("~"):
                    sys.exit("unit-seccomp: deny lists are not handled")
                words += value
            elif line.startswith("SystemCallErrorNumber="):
                err = line.split("=", 1)[1]
    if not words:
        sys.exit(f"unit-seccomp: {unit} has no SystemCallFilter=")
    allowed = expand(words, groups())
    filt = seccomp.SyscallFilter(defaction=seccomp.ERRNO(getattr(errno, err)))
    for name in sorted(allowed):
        try:
            filt.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a system call of this architecture
    filt.load()
    os.execvp(cmd[0], cmd)


main()
