#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Plays systemd for one Type=notify service, as fim.service describes it.

    notify.py TRAIL COMMAND...

Runs COMMAND with NOTIFY_SOCKET and WATCHDOG_USEC (1 s) set, then:
waits for READY=1, for two WATCHDOG=1 pings after it, sends SIGHUP (the
unit's ExecReload) and waits for the policy_reloaded event in the alert
trail TRAIL, sends SIGTERM and waits for the exit. Prints one line per
step reached ("ready", "watchdog", "reloaded", "stopping", "exit N") and
exits 1 at the first step not reached within its timeout.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def trail_actions(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line).get("event", {}).get("action") for line in f]
    except FileNotFoundError:
        return []


def main():
    trail, cmd = sys.argv[1], sys.argv[2:]
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(cmd, env=env)
    messages = []

    def wait_for(what, timeout, pred):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                print(what, flush=True)
                return
            sock.settimeout(0.2)
            try:
                messages.append(sock.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                pass
            if proc.poll() is not None and not pred():
                break
        print(f"{what}: not reached; messages: {messages!r}; exit {proc.poll()}", flush=True)
        proc.kill()
        proc.wait()
        sys.exit(1)

    def count(field):
        return sum(1 for m in messages for line in m.split("\n") if line == field)

    try:
        wait_for("ready", 120, lambda: count("READY=1") == 1)
        seen = count("WATCHDOG=1")
        wait_for("watchdog", 60, lambda: count("WATCHDOG=1") >= seen + 2)
        proc.send_signal(signal.SIGHUP)
        wait_for("reloaded", 60, lambda: "policy_reloaded" in trail_actions(trail))
        proc.send_signal(signal.SIGTERM)
        wait_for("stopping", 30, lambda: count("STOPPING=1") == 1)
        proc.wait(timeout=30)
        print(f"exit {proc.returncode}", flush=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        os.unlink(path)
        os.rmdir(tmp)


main()
