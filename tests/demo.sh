#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make demo: baseline a copy of real system files, tamper with it the way an
# intruder would, and show what fim check reports.
set -eu
: "${FIM:?FIM must name the fim binary}"
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fim-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root db=$work/db policy=$top/policy/demo.policy
fim() { "$FIM" -r "$root" -d "$db" -c "$policy" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "copying /etc, /usr/sbin, the systemd units and a log into $root"
mkdir -p "$root/usr/lib" "$root/var/log" "$root/root"
cp -a /etc "$root/etc"
cp -a /usr/sbin "$root/usr/sbin"
cp -a /usr/lib/systemd "$root/usr/lib/systemd" 2>/dev/null || mkdir -p "$root/usr/lib/systemd/system"
# merged /usr: unit links name /lib/systemd/...
if [ -L /lib ]; then ln -s usr/lib "$root/lib"; fi
printf 'boot ok\n' >"$root/var/log/demo.log"

step "fim baseline"
fim baseline || [ $? -eq 8 ] # 8: something was unreadable, the rest is recorded

step "tampering"
# Same size, same mtime: only the content digest can tell.
f=$root/etc/passwd
m=$(stat -c %y "$f")
sed 's/^daemon:x:1:1:/daemon:x:0:0:/' "$f" >"$work/passwd"
cat "$work/passwd" >"$f" # in place: same inode
touch -d "$m" "$f"
echo "  gave 'daemon' uid 0 in /etc/passwd, keeping its size, inode and mtime"
cp "$root/usr/sbin/$(ls "$root/usr/sbin" | head -1)" "$root/usr/sbin/.hidden-helper"
chmod 4755 "$root/usr/sbin/.hidden-helper"
echo "  planted a setuid binary /usr/sbin/.hidden-helper"
chmod 0644 "$root/etc/shadow"
echo "  made /etc/shadow world-readable"
rm -f "$root/etc/hostname"
echo "  removed /etc/hostname"
printf 'svc ALL=(ALL) NOPASSWD: ALL\n' >>"$root/etc/sudoers"
echo "  gave an account passwordless sudo in /etc/sudoers"
printf '*/5 * * * * root /dev/shm/.u\n' >"$root/etc/cron.d/update-check"
echo "  added a cron job that runs /dev/shm/.u every five minutes"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
printf '[Service]\nExecStart=/var/tmp/.cache/agent\n[Install]\nWantedBy=multi-user.target\n' \
	>"$root/etc/systemd/system/netcheck.service"
ln -s /etc/systemd/system/netcheck.service "$root/etc/systemd/system/multi-user.target.wants/"
echo "  installed and enabled netcheck.service, running /var/tmp/.cache/agent"
printf 'later line\n' >>"$root/var/log/demo.log"
echo "  appended to /var/log/demo.log (growing: not drift)"

step "fim check"
rc=0
fim check || rc=$?
echo "(exit status $rc: 1 added | 2 removed | 4 changed)"

step "fim check --format json (first lines and the summary)"
fim --format json check >"$work/out.json" || true
head -n 2 "$work/out.json"; echo "..."; tail -n 1 "$work/out.json"
