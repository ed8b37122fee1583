#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Reads fim's JSON Lines output for the end-to-end tests.

    jsonl.py events FILE          one line per event, then the summary (see below)
    jsonl.py get FILE ID KEY [ACTION]
                                  the value of KEY (dotted, e.g. fim.after.hash) in the event
                                  whose id renders as ID (and whose event.action is ACTION);
                                  strings raw, the rest as JSON
    jsonl.py lines FILE           every line, parsed and re-rendered (checks it is JSON)

Events render as "ACTION ID" (for objects other than files ID is "KIND:NAME",
e.g. "changed user:svc shell") plus, for "changed", a space and the comma-separated
fim.changed list: "changed /etc/a size,mtime,ctime,hash". IDs are the exact bytes
(fim.id_hex when present) with a backslash shown as \\\\ and every byte outside
printable ASCII as \\xNN, so "/etc/a\\x0ab" is a name with a newline. Events are
sorted; the summary comes last as "summary scanned=N added=N removed=N changed=N
errors=N" followed by any other summary keys, sorted.

Every line is also checked against the JSON contract; a violation exits 2 with a
message naming the line.
"""
import json
import re
import sys

VOCAB = ("type mode uid gid size mtime ctime atime inode nlink target hash "
         "xattrs acl caps selinux").split()
KINDS = {
    "file": VOCAB,
    "user": "uid gid gecos home shell password groups authorized_keys".split(),
    "group": "gid members administrators".split(),
    "service": "unit_file hash enabled dropins active exec_start schedule aliases wanted_by".split(),
    "sudoers": "rules members files".split(),
    "cron": "jobs env user hash mode schedule".split(),
    "package": "version status architecture conffiles source multi_arch".split(),
}
LISTS = {"groups", "authorized_keys", "members", "administrators", "dropins", "exec_start",
         "schedule", "aliases", "wanted_by", "rules", "files", "jobs", "env", "conffiles"}
PASSWORD_STATES = {"set", "locked", "empty", "none"}
SEVERITY = {"low": 21, "medium": 47, "high": 73, "critical": 99}
NUMERIC = {"uid", "gid", "size", "inode", "nlink"}


def die(msg):
    print("jsonl.py: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        die("%s: output does not end with a newline" % path)
    out = []
    for no, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            die("line %d is not UTF-8 (%s): %r" % (no, e, raw[:300]))
        try:
            obj = json.loads(text)
        except ValueError as e:
            die("line %d is not JSON (%s): %r" % (no, e, raw[:300]))
        if not isinstance(obj, dict):
            die("line %d is not a JSON object: %r" % (no, raw[:300]))
        out.append((no, obj))
    return out


def hexed(obj, key, no):
    """The exact bytes of obj[key], using the sibling KEY_hex when present."""
    if key + "_hex" in obj:
        try:
            b = bytes.fromhex(obj[key + "_hex"])
        except ValueError:
            die("line %d: %s_hex is not hex: %r" % (no, key, obj[key + "_hex"]))
        if b.decode("utf-8", "replace") != obj[key]:
            die("line %d: %s %r does not match %s_hex %r" % (no, key, obj[key], key, b))
        return b
    if not isinstance(obj.get(key), str):
        die("line %d: %s missing or not a string" % (no, key))
    return obj[key].encode("utf-8")


def render(b):
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def check_values(no, what, vals, kind="file"):
    if not isinstance(vals, dict):
        die("line %d: fim.%s is not an object" % (no, what))
    vocab = KINDS[kind]
    for k, v in vals.items():
        if k.endswith("_hex"):
            continue
        if k not in vocab:
            die("line %d: fim.%s has unknown %s attribute %r" % (no, what, kind, k))
        if v is None and what in ("before", "after"):
            continue  # the object has no such value (a FIFO has no hash)
        if kind != "file":
            if k in LISTS:
                if not isinstance(v, list) or not all(isinstance(e, str) for e in v):
                    die("line %d: fim.%s.%s should be a list of strings: %r" % (no, what, k, v))
            elif k in ("uid", "gid"):
                if not isinstance(v, int):
                    die("line %d: fim.%s.%s should be a number: %r" % (no, what, k, v))
            elif not isinstance(v, str):
                die("line %d: fim.%s.%s should be a string: %r" % (no, what, k, v))
            if k == "password" and v not in PASSWORD_STATES:
                die("line %d: fim.%s.password is not a bare state: %r" % (no, what, v))
            continue
        if k in NUMERIC and not isinstance(v, int):
            die("line %d: fim.%s.%s should be a number: %r" % (no, what, k, v))
        if k not in NUMERIC and not isinstance(v, str):
            die("line %d: fim.%s.%s should be a string: %r" % (no, what, k, v))


def events(path):
    objs = load(path)
    if not objs:
        die("no output at all (expected at least a summary line)")
    lines, counts = [], {"added": 0, "removed": 0, "changed": 0, "error": 0}
    summary = None
    for no, o in objs:
        fim = o.get("fim")
        if not isinstance(fim, dict):
            die("line %d has no fim object" % no)
        if "summary" in fim:
            if summary is not None:
                die("line %d: a second summary line" % no)
            if no != len(objs):
                die("line %d: the summary is not the last line" % no)
            summary = fim["summary"]
            continue
        ev = o.get("event", {})
        action = ev.get("action")
        if action not in counts:
            die("line %d: unknown event.action %r" % (no, action))
        counts[action] += 1
        kind = fim.get("object")
        if kind not in KINDS:
            die("line %d: unknown fim.object %r" % (no, kind))
        if action == "error" and "id" not in fim:
            ident = "%s:%s" % (kind, render(hexed(fim, "source", no)))
            if isinstance(fim.get("line"), int):
                ident += ":%d" % fim["line"]
        else:
            ident = render(hexed(fim, "id", no))
            if kind != "file":
                ident = "%s:%s" % (kind, ident)
        if action == "error":
            if not isinstance(o.get("error", {}).get("message"), str):
                die("line %d: error event without error.message" % no)
            lines.append("error " + ident)
            continue
        sev = fim.get("severity")
        if sev not in SEVERITY or ev.get("severity") != SEVERITY[sev]:
            die("line %d: fim.severity %r does not match event.severity %r"
                % (no, sev, ev.get("severity")))
        if action == "changed":
            ch = fim.get("changed")
            if not isinstance(ch, list) or not ch:
                die("line %d: changed event with no fim.changed list" % no)
            if len(set(ch)) != len(ch) or any(a not in KINDS[kind] for a in ch):
                die("line %d: bad fim.changed %r" % (no, ch))
            for side in ("before", "after"):
                vals = fim.get(side)
                check_values(no, side, vals, kind)
                keys = {k for k in vals if not k.endswith("_hex")}
                if keys != set(ch):
                    die("line %d: fim.%s has %s, fim.changed says %s"
                        % (no, side, sorted(keys), ch))
            ch = sorted(ch, key=KINDS[kind].index)
            lines.append("changed %s %s" % (ident, ",".join(ch)))
        else:
            have, lack = ("after", "before") if action == "added" else ("before", "after")
            if lack in fim or "changed" in fim:
                die("line %d: %s event carries fim.%s or fim.changed" % (no, action, lack))
            check_values(no, have, fim.get(have), kind)
            lines.append("%s %s" % (action, ident))
    if summary is None:
        die("no summary line")
    for k, n in (("added", counts["added"]), ("removed", counts["removed"]),
                 ("changed", counts["changed"]), ("errors", counts["error"])):
        if summary.get(k) != n:
            die("summary says %s=%r but %d such events were written" % (k, summary.get(k), n))
    main = ["scanned", "added", "removed", "changed", "errors"]
    # which baseline was used is checked, not printed: it differs every run
    created = summary.get("baseline", {}).get("created", "")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", created):
        die("summary: fim.summary.baseline.created is %r" % created)
    rest = sorted(k for k in summary if k not in main and k != "baseline")
    lines.sort()
    lines.append("summary " + " ".join("%s=%s" % (k, json.dumps(summary.get(k)))
                                       for k in main + rest))
    print("\n".join(lines))


def get(path, ident, key, action=None):
    found = None
    for no, o in load(path):
        fim = o.get("fim", {})
        if action is not None and o.get("event", {}).get("action") != action:
            continue
        if "id" not in fim:
            continue
        mine = render(hexed(fim, "id", no))
        if fim.get("object", "file") != "file":
            mine = "%s:%s" % (fim["object"], mine)
        if mine == ident:
            if found is not None:
                die("more than one event for %s" % ident)
            found = o
    if found is None:
        die("no event for %s" % ident)
    v = found
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            die("event for %s has no %s" % (ident, key))
        v = v[part]
    print(v if isinstance(v, str) else json.dumps(v))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "events":
        events(sys.argv[2])
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "get":
        get(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "lines":
        for _, o in load(sys.argv[2]):
            print(json.dumps(o, sort_keys=True))
    else:
        die("usage: jsonl.py events FILE | get FILE ID KEY [ACTION] | lines FILE")


if __name__ == "__main__":
    main()
