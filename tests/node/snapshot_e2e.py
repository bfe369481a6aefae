#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Snapshots, restore, reset and fork of persistent sandboxes against a real
`airlock node` (docs/api.md "Snapshots").  Started by run_snapshot.sh, as
root or (rootless) as an unprivileged user; makes its own state directory,
tokens and node, restarts the node once, and stops it at the end.

Prints TAP ("ok N - name" / "not ok N - name" with "#   detail" lines) and
exits non-zero when a check failed.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class T:
    def __init__(self, args):
        self.airlock = os.path.join(args.bin_dir, "airlock")
        self.rootless = os.geteuid() != 0
        self.tmp = tempfile.mkdtemp(prefix="airlock-snap-", dir=args.tmp)
        os.chmod(self.tmp, 0o755)  # node-made workspaces sit beside the state dir
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state, 0o700)
        self.sock = os.path.join(self.state, "node.sock")
        self.tokens = {}
        self.node = None
        self.n = 0
        self.failed = 0
        # quotas small enough to reach: 4 snapshots, 3 MiB of files, 250 entries
        self.config = os.path.join(self.tmp, "node.json")
        with open(self.config, "w") as f:
            json.dump({"tenant_max": {"snapshots": 4, "snapshot_bytes": "3m", "snapshot_files": 250, "disk": "64m"}}, f)

    # ---- TAP ---------------------------------------------------------------
    def check(self, cond, name, detail=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[:20]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    # ---- the node ----------------------------------------------------------
    def token(self, name):
        out = subprocess.run([self.airlock, "token", "create", "--name", name, "--state-dir", self.state],
                             capture_output=True, text=True, check=True)
        self.tokens[name] = out.stdout.strip()

    def start(self):
        ready = os.path.join(self.state, "ready")
        cmd = [self.airlock, "node", "--config", self.config, "--state-dir", self.state, "--listen",
               "unix:" + self.sock, "--ready-file", ready, "--pool", "0"]
        if self.rootless:
            cmd.append("--allow-degraded")
        self.log = open(os.path.join(self.tmp, "node.log"), "a")
        self.node = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        for _ in range(600):
            if os.path.exists(ready) or self.node.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(ready):
            raise SystemExit("Bail out! the node does not start: " + self.node_log())

    def stop(self):
        if self.node and self.node.poll() is None:
            self.node.send_signal(signal.SIGTERM)
            try:
                self.node.wait(20)
            except subprocess.TimeoutExpired:
                self.node.kill()
                self.node.wait()
        self.node = None

    def node_log(self):
        with open(os.path.join(self.tmp, "node.log"), errors="replace") as f:
            return f.read()[-2000:]

    def req(self, method, path, body=None, who="alice"):
        c = UnixHTTPConnection(self.sock)
        headers = {"Authorization": "Bearer " + self.tokens[who]}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw

    def sandbox(self, body=None, who="alice"):
        st, o = self.req("POST", "/v1/sandboxes", body or {}, who)
        if st != 201:
            raise SystemExit("Bail out! POST /v1/sandboxes: %s %s" % (st, o))
        return o["id"]

    def sh(self, sb, script, who="alice"):
        st, o = self.req("POST", "/v1/sandboxes/%s/exec" % sb, {"argv": ["sh", "-c", script]}, who)
        if st != 200 or o.get("exit_code") != 0:
            raise SystemExit("Bail out! exec in %s: %s %s" % (sb, st, o))
        return o["stdout"]

    # the whole state a snapshot covers: types, modes, link targets, and the
    # contents of every regular file, of the workspace, /tmp and HOME
    MANIFEST = ("cd / && find workspace tmp home/sandbox -mindepth 1 -printf '%y %m %p %l\\n' | sort && "
                "find workspace tmp home/sandbox -type f -exec sha256sum {} + | sort")

    def manifest(self, sb):
        return self.sh(sb, self.MANIFEST)


POPULATE = r"""
set -e
cd /workspace
mkdir -p src/deep/er empty keep
printf 'hello\n' > src/a.txt
head -c 100000 /dev/urandom > src/deep/er/blob
printf '#!/bin/sh\necho run\n' > run.sh && chmod 750 run.sh
chmod 640 src/a.txt
chmod 711 keep
ln -s src/a.txt link
ln -s /nonexistent dangling
printf 'gone soon\n' > doomed
mkdir -p $HOME/.cache && printf 'home\n' > $HOME/.cache/h && chmod 600 $HOME/.cache/h
printf 'scratch\n' > /tmp/t1 && mkdir /tmp/emptydir
"""

CHANGE = r"""
set -e
cd /workspace
rm doomed
rm -r empty
printf 'changed\n' > src/a.txt
chmod 600 run.sh
rm link && ln -s run.sh link
printf 'new\n' > newfile && mkdir newdir
rm $HOME/.cache/h && printf 'new\n' > $HOME/n
rm /tmp/t1 && printf 'x\n' > /tmp/t2
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--tmp", default="/tmp")
    args = ap.parse_args()
    t = T(args)
    for who in ("alice", "bob"):
        t.token(who)
    t.start()
    mode = "rootless" if t.rootless else "root"
    try:
        run(t, mode)
        bounded_workspace(t, mode)
        async_copies(t, mode)
    finally:
        t.stop()
    # every snapshot, restore, reset, fork and delete is in the audit trail
    out = subprocess.run([t.airlock, "audit", "--state-dir", t.state, "--format", "json", "--limit", "1000"],
                         capture_output=True, text=True)
    kinds = {}
    for line in out.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("tenant") == "alice" and rec.get("snapshot", "").startswith("sn_"):
            kinds[rec.get("kind")] = kinds.get(rec.get("kind"), 0) + 1
            if rec.get("kind") == "sandbox.fork" and rec.get("sandbox") == rec.get("from_sandbox"):
                kinds["fork record names the origin as the fork"] = 1
    want = ("snapshot.create", "snapshot.delete", "sandbox.restore", "sandbox.reset", "sandbox.fork")
    t.check(out.returncode == 0 and all(kinds.get(k) for k in want) and len(kinds) == len(want),
            "%s: the audit trail has records of each snapshot action" % mode, (out.returncode, kinds, out.stderr))
    with open(os.path.join(t.tmp, "node.log"), errors="replace") as f:
        san = [l for l in f if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l or "runtime error:" in l]
    t.check(not san, "%s: no sanitizer report in the node's log" % mode, "".join(san[:5]))
    print("1..%d" % t.n)
    print("# %d passed, %d failed (%s)" % (t.n - t.failed, t.failed, mode))
    if t.failed:
        print("# node log:\n" + "\n".join("#   " + l for l in t.node_log().splitlines()[-30:]))
    return 1 if t.failed else 0


def bounded_workspace(t, mode):
    """A node-made workspace is a tmpfs of the sandbox's quota (root): a fill
    stops at the cap, the host's disk does not pay, and it goes with the
    sandbox.  A rootless node cannot mount it: reported unbounded."""
    st, o = t.req("POST", "/v1/sandboxes", {"limits": {"disk": "1g"}})
    t.check(st == 403 and "limits.disk" in str(o) and "maximum" in str(o),
            "%s: a disk above the tenant's maximum (tenant_max.disk) is refused (403)" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {})
    t.check(st == 201 and o["limits"]["disk"] == 64 << 20 and o.get("workspace_quota_bytes") in (None, 64 << 20),
            "%s: a sandbox that asks for no disk gets the default brought down to the maximum" % mode, (st, o))
    if st == 201:
        t.req("DELETE", "/v1/sandboxes/" + o["id"])
    st, o = t.req("POST", "/v1/sandboxes", {"limits": {"disk": "8m"}})
    if not t.check(st == 201, "%s: a sandbox with an 8 MiB disk is made" % mode, (st, o)):
        return
    sb = o["id"]
    if t.rootless:
        t.check(o.get("workspace_quota_bytes", 0) is None,
                "%s: the node reports its workspaces as unbounded (null quota)" % mode, o)
        t.req("DELETE", "/v1/sandboxes/" + sb)
        return
    t.check(o.get("workspace_quota_bytes") == 8 << 20, "%s: the sandbox reports an 8 MiB workspace quota" % mode, o)
    ws_dir = t.state + ".workspaces"
    def used():
        s = os.statvfs(ws_dir)
        return (s.f_blocks - s.f_bfree) * s.f_frsize
    before = used()
    st, r = t.req("POST", "/v1/sandboxes/%s/exec" % sb, {"argv": ["sh", "-c",
        "echo RAN; dd if=/dev/zero of=/workspace/big bs=1M count=64 2>&1; rm /workspace/big; "
        "i=0; while [ $i -lt 5000 ]; do (: > /workspace/f$i) 2>/dev/null || break; i=$((i+1)); done; echo files=$i"]})
    grown = used() - before
    out = (r or {}).get("stdout", "") + (r or {}).get("stderr", "")
    t.check(st == 200 and "RAN" in out and "No space left on device" in out and "files=20" in out
            and "files=5000" not in out,
            "%s: writes to a node-made workspace stop at the quota in bytes and inodes (ENOSPC)" % mode, (st, r))
    t.check(grown < 4 << 20, "%s: the host's disk does not pay for them" % mode, "grew %d bytes" % grown)
    # the files API writes into the same cap
    c = UnixHTTPConnection(t.sock)
    c.request("PUT", "/v1/sandboxes/%s/files?path=up.bin" % sb, body=b"\0" * (12 << 20),
              headers={"Authorization": "Bearer " + t.tokens["alice"]})
    resp = c.getresponse()
    body = resp.read()
    c.close()
    t.check(resp.status == 507 and b"space" in body.lower(),
            "%s: a files API upload above the quota fails naming the lack of space" % mode, (resp.status, body[:300]))
    def mine():  # the only workspace of 8 MiB: this sandbox's
        with open("/proc/mounts") as f:
            return [l.split()[1] for l in f if ws_dir in l and "size=8192k" in l and "tmpfs" in l]
    mounted = mine()
    t.check(len(mounted) == 1, "%s: the workspace is a tmpfs of the quota while the sandbox lives" % mode, mounted)
    st, _ = t.req("DELETE", "/v1/sandboxes/" + sb)
    for _ in range(100):  # the sandbox's processes are reaped first
        if not mine():
            break
        time.sleep(0.05)
    t.check(st == 204 and not mine() and mounted and not os.path.exists(mounted[0]),
            "%s: deleting the sandbox unmounts and removes its workspace" % mode, (st, mine(), mounted))


def async_copies(t, mode):
    """A snapshot or restore of a large tree copies on a thread of its own:
    the node answers other tenants meanwhile (their exec is answered before
    the copy is), refuses a second copy of the same sandbox and execs in a
    sandbox being restored (409), and a sandbox deleted mid-copy leaves no
    snapshot behind.  Judged by the order of the answers, not by time."""
    t.stop()
    with open(t.config, "w") as f:  # quotas large enough for the tree
        json.dump({"tenant_max": {"snapshots": 10, "snapshot_bytes": "1g", "snapshot_files": 1000000}}, f)
    t.start()
    sb = t.sandbox()
    t.sh(sb, "python3 -c 'import os\nfor d in range(600):\n os.mkdir(\"/workspace/t%d\" % d)\n"
             " [open(\"/workspace/t%d/%d\" % (d, i), \"w\").write(\"x\" * 200) for i in range(100)]'")
    other = t.sandbox(who="bob")
    order, answers = [], {}

    def call(key, method, path, body=None, who="alice"):
        answers[key] = t.req(method, path, body, who)
        order.append(key)

    def background(key, method, path, body=None, who="alice"):
        th = threading.Thread(target=call, args=(key, method, path, body, who))
        th.start()
        return th

    th = background("snapshot", "POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "big"})
    time.sleep(0.15)  # the copy is under way: 60,000 files take a second or more
    call("second", "POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "again"})
    call("bob", "POST", "/v1/sandboxes/%s/exec" % other, {"argv": ["echo", "bob ran"]}, "bob")
    th.join()
    st, snap = answers["snapshot"]
    if not t.check(st == 201 and snap.get("files", 0) >= 60000, "%s: a 60,000-file snapshot is taken" % mode,
                   (st, snap)):
        return
    copying = order.index("snapshot") > order.index("bob")
    t.check(copying and answers["bob"][0] == 200 and answers["bob"][1].get("stdout") == "bob ran\n",
            "%s: another tenant's exec is answered while the snapshot copies" % mode, (order, answers["bob"]))
    t.check(copying and answers["second"][0] == 409 and "under way" in str(answers["second"][1]),
            "%s: a second snapshot of the same sandbox meanwhile is refused (409)" % mode, answers["second"])

    t.sh(sb, "rm -rf /workspace/t1*")
    order.clear()
    th = background("restore", "POST", "/v1/sandboxes/%s/restore" % sb, {"snapshot": "big"})
    time.sleep(0.15)
    call("exec", "POST", "/v1/sandboxes/%s/exec" % sb, {"argv": ["true"]})
    th.join()
    t.check(answers["restore"][0] == 200 and order.index("exec") < order.index("restore")
            and answers["exec"][0] == 409 and "being restored" in str(answers["exec"][1]),
            "%s: an exec in a sandbox being restored is refused (409) before the restore ends" % mode,
            (order, answers["restore"], answers["exec"]))
    t.check(t.sh(sb, "ls /workspace/t1 | wc -l").strip() == "100",
            "%s: the restore brought the removed files back" % mode)

    order.clear()
    th = background("doomed", "POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "doomed"})
    time.sleep(0.15)
    call("delete", "DELETE", "/v1/sandboxes/" + sb)
    th.join()
    st, _ = t.req("GET", "/v1/snapshots")
    names = [s["name"] for s in _["snapshots"]] if st == 200 else None
    doomed_ok = answers["doomed"][0] in (201, 409)  # 201 only when the copy beat the delete
    t.check(answers["delete"][0] == 204 and doomed_ok and names is not None and "doomed" not in names
            and "big" not in names, "%s: a sandbox deleted while its snapshot copies leaves no snapshot" % mode,
            (order, answers["doomed"], answers["delete"], names))
    snapdir = os.path.join(t.state, "snapshots")
    recorded = set()
    for who in ("alice", "bob"):  # bob's sandbox has its @created
        st, o = t.req("GET", "/v1/snapshots", who=who)
        recorded |= {s["id"] for s in o["snapshots"]} if st == 200 else set()
    for _ in range(100):  # removals run on threads of their own, after the answer
        left = set(os.listdir(snapdir))
        if left <= recorded:
            break
        time.sleep(0.1)
    t.check(left <= recorded, "%s: no snapshot files without a record" % mode, (left, recorded))
    t.req("DELETE", "/v1/sandboxes/" + other, who="bob")


def run(t, mode):
    sb = t.sandbox()
    clean = t.manifest(sb)
    t.sh(sb, POPULATE)
    before = t.manifest(sb)
    t.check("workspace/src/deep/er/blob" in before and "l 777 workspace/link src/a.txt" in before,
            "%s: the sandbox holds the populated tree" % mode, before)

    st, snap = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "base"})
    t.check(st == 201 and snap["name"] == "base" and snap["id"].startswith("sn_") and snap["files"] >= 10
            and snap["bytes"] >= 100000, "%s: POST snapshots answers 201 with id, files, bytes" % mode, (st, snap))

    t.sh(sb, CHANGE)
    changed = t.manifest(sb)
    t.check(changed != before and "newfile" in changed and "doomed" not in changed,
            "%s: the tree changed after the snapshot" % mode, changed)

    st, o = t.req("POST", "/v1/sandboxes/%s/restore" % sb, {"snapshot": "base"})
    t.check(st == 200, "%s: restore answers 200" % mode, (st, o))
    after = t.manifest(sb)
    t.check(after == before, "%s: restore brings back the exact tree (contents, modes, links, empty dirs, "
            "deleted files back, new files gone)" % mode, "before:\n%s\nafter:\n%s" % (before, after))

    # forks: from the snapshot and from the current state, each independent
    st, fk = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb, "snapshot": "base"}})
    t.check(st == 201, "%s: a fork from a named snapshot is made" % mode, (st, fk))
    if st == 201:
        t.check(t.manifest(fk["id"]) == before, "%s: the fork starts with the snapshot's tree" % mode)
        t.sh(fk["id"], "echo fork-only > /workspace/f && echo fork > /workspace/src/a.txt && echo x > /tmp/ft")
        t.sh(sb, "echo origin-only > /workspace/o")
        fm, om = t.manifest(fk["id"]), t.manifest(sb)
        t.check("workspace/f" in fm and "workspace/o" not in fm and "tmp/ft" in fm,
                "%s: the fork sees its own write, not the origin's" % mode, fm)
        t.check("workspace/o" in om and "workspace/f" not in om and "tmp/ft" not in om
                and om.replace("workspace/o\n", "") != fm, "%s: the origin does not see the fork's writes" % mode,
                om)
    st, live = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb}})
    t.check(st == 201, "%s: a fork of a sandbox's current state is made" % mode, (st, live))
    if st == 201:
        t.check(t.manifest(live["id"]) == t.manifest(sb), "%s: it starts with the origin's current tree" % mode)
        st, lst = t.req("GET", "/v1/snapshots")
        t.check(st == 200 and not any(s["name"].startswith("fork-") for s in lst["snapshots"]),
                "%s: the fork's own temporary snapshot is gone once it is ready" % mode, lst)

    # reset: back to the state at creation
    st, o = t.req("POST", "/v1/sandboxes/%s/reset" % sb)
    t.check(st == 200 and o["name"] == "@created", "%s: reset answers 200 naming @created" % mode, (st, o))
    t.check(t.manifest(sb) == clean, "%s: reset brings back the tree of the sandbox's creation" % mode,
            t.manifest(sb))
    if fk and fk.get("id"):
        st, o = t.req("POST", "/v1/sandboxes/%s/reset" % fk["id"])
        t.check(st == 200 and t.manifest(fk["id"]) == before,
                "%s: a fork's reset brings back the state it was forked from" % mode, (st, o))

    # listing
    st, lst = t.req("GET", "/v1/sandboxes/%s/snapshots" % sb)
    names = sorted(s["name"] for s in lst["snapshots"]) if st == 200 else []
    t.check(names == ["@created", "base"], "%s: GET snapshots lists @created and base" % mode, (st, lst))

    # bad input and conflicts
    for body, what in (({"name": "../x"}, "'../x'"), ({"name": ""}, "empty"), ({"name": "a" * 65}, "65 bytes"),
                       ({"nam": "x"}, "unknown field"), ({"name": "@created"}, "@created")):
        st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, body)
        want = 409 if what == "@created" else 400
        t.check(st == want and o and "message" in json.dumps(o),
                "%s: snapshot name %s is %d with a message" % (mode, what, want), (st, o))
    st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "base"})
    t.check(st == 409 and "already has a snapshot 'base'" in json.dumps(o), "%s: a duplicate name is 409" % mode,
            (st, o))
    st, o = t.req("POST", "/v1/sandboxes/%s/restore" % sb, {"snapshot": "nope"})
    t.check(st == 404 and "no snapshot 'nope'" in json.dumps(o), "%s: restore of an unknown snapshot is 404" % mode,
            (st, o))
    st, o = t.req("POST", "/v1/sandboxes/sb_0000000000000000/snapshots", {"name": "x"})
    t.check(st == 404, "%s: a snapshot of an unknown sandbox is 404" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb, "snapshot": "nope"}})
    t.check(st == 404 and "no snapshot 'nope'" in json.dumps(o), "%s: a fork of an unknown snapshot is 404" % mode,
            (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": "../etc"}})
    t.check(st == 400 and "fork_from" in json.dumps(o), "%s: a fork_from with a bad id is 400" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb}, "workspace": "x"})
    t.check(st == 400, "%s: fork_from with a workspace is 400" % mode, (st, o))

    # a restore while an exec runs: 409
    slow = []
    th = threading.Thread(target=lambda: slow.append(t.req("POST", "/v1/sandboxes/%s/exec" % sb,
                                                             {"argv": ["sh", "-c", "echo started > /tmp/run; sleep 3"]})))
    th.start()
    for _ in range(100):  # until the exec has really started in the sandbox
        if "tmp/run" in t.manifest(sb):
            break
        time.sleep(0.05)
    st2, o2 = t.req("POST", "/v1/sandboxes/%s/restore" % sb, {"snapshot": "base"})
    th.join()
    t.check(slow and slow[0][0] == 200 and slow[0][1]["exit_code"] == 0,
            "%s: the exec that ran during the restore attempt finished" % mode, slow)
    t.check(st2 == 409 and "running" in json.dumps(o2), "%s: restore during a running exec is 409" % mode,
            (st2, o2))

    # a restore that cannot be completed (a full disk) changes nothing (bob: a quota of his own)
    st, small = t.req("POST", "/v1/sandboxes", {"limits": {"disk": "8m"}}, who="bob")
    if t.check(st == 201, "%s: a sandbox with an 8m disk" % mode, (st, small)):
        sm = small["id"]
        t.sh(sm, "head -c 2000000 /dev/urandom > /tmp/a", who="bob")
        st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sm, {"name": "s"}, who="bob")
        t.check(st == 201, "%s: its snapshot with a 2 MB file" % mode, (st, o))
        t.sh(sm, "rm /tmp/a; head -c 20000000 /dev/urandom > /tmp/b 2>/dev/null; echo keep > $HOME/k || true",
             who="bob")
        full = t.sh(sm, "cd / && find tmp home/sandbox | sort; df -k /tmp | tail -1", who="bob")
        st, o = t.req("POST", "/v1/sandboxes/%s/restore" % sm, {"snapshot": "s"}, who="bob")
        after_fail = t.sh(sm, "cd / && find tmp home/sandbox | sort; df -k /tmp | tail -1", who="bob")
        t.check(st == 500 and "nothing was changed" in json.dumps(o) and after_fail == full and "tmp/b" in full,
                "%s: a restore into a full disk is 500 and changes nothing (no staging left)" % mode,
                (st, o, full, after_fail))
        t.req("DELETE", "/v1/sandboxes/" + sm, who="bob")

    # another tenant sees nothing of alice's snapshots
    st, lst = t.req("GET", "/v1/snapshots", who="bob")
    t.check(st == 200 and lst["snapshots"] == [], "%s: bob lists none of alice's snapshots" % mode, (st, lst))
    sid = snap["id"]
    for method, path, body in (("GET", "/v1/snapshots/" + sid, None), ("DELETE", "/v1/snapshots/" + sid, None),
                               ("POST", "/v1/sandboxes/%s/restore" % sb, {"snapshot": "base"}),
                               ("GET", "/v1/sandboxes/%s/snapshots" % sb, None),
                               ("POST", "/v1/sandboxes", {"fork_from": {"snapshot": sid}}),
                               ("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb}})):
        st, o = t.req(method, path, body, who="bob")
        t.check(st == 404, "%s: bob's %s %s is 404" % (mode, method, path), (st, o))
    st, o = t.req("GET", "/v1/snapshots/" + sid)
    t.check(st == 200 and o["name"] == "base", "%s: alice's snapshot is still there after bob's attempts" % mode,
            (st, o))

    # quotas: 3 MiB of files and 4 snapshots for the tenant
    t.sh(sb, "head -c 2000000 /dev/urandom > /workspace/big")
    st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "big1"})
    t.check(st == 201, "%s: a 2 MB snapshot fits the 3 MiB quota" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "big2"})
    t.check(st == 403 and "snapshot_bytes" in json.dumps(o), "%s: a second one is 403 naming snapshot_bytes" % mode,
            (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb}})
    t.check(st == 403 and "snapshot_bytes" in json.dumps(o),
            "%s: a fork of the current state is bounded by the same quota (403)" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sb, "snapshot": "big1"}})
    t.check(st == 403 and "snapshot_bytes" in json.dumps(o),
            "%s: a fork of a big snapshot is bounded by the quota through its @created (403)" % mode, (st, o))
    st, lst = t.req("GET", "/v1/snapshots")
    t.check(not any(s["name"] in ("big2",) or s["name"].startswith("fork-") for s in lst["snapshots"]),
            "%s: refused snapshots leave nothing behind" % mode, lst)
    t.sh(sb, "mkdir /workspace/many && cd /workspace/many && for i in $(seq 300); do : > f$i; done")
    st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "many"})
    t.check(st == 403 and "snapshot_files" in json.dumps(o),
            "%s: 300 empty files are 403 naming snapshot_files (250 entries)" % mode, (st, o))
    t.sh(sb, "rm -r /workspace/many")
    st, o = t.req("DELETE", "/v1/sandboxes/%s/snapshots/big1" % sb)
    t.check(st == 204, "%s: DELETE of a snapshot is 204" % mode, (st, o))
    t.sh(sb, "rm /workspace/big")
    made = []
    for i in range(6):
        st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb, {"name": "n%d" % i})
        if st != 201:
            break
        made.append(o["name"])
    t.check(st == 403 and "snapshots" in json.dumps(o) and len(made) == 3,
            "%s: the 4-snapshot quota holds (base + 3 more, then 403)" % mode, (st, o, made))

    # the CLI and the C client under it: snapshot, snapshots, restore, fork, snapshot-rm
    st, o = t.req("DELETE", "/v1/sandboxes/%s/snapshots/n2" % sb)
    env = dict(os.environ, AIRLOCK_NODE="unix:" + t.sock, AIRLOCK_TOKEN=t.tokens["alice"])

    def cli(*a):
        return subprocess.run([t.airlock, "sandbox"] + list(a), capture_output=True, text=True, env=env)
    t.sh(sb, "echo cli > /workspace/c")
    r = cli("snapshot", sb, "viacli")
    t.check(r.returncode == 0 and r.stdout.strip().startswith("sn_"), "%s: airlock sandbox snapshot" % mode, r)
    cli_id = r.stdout.strip()
    r = cli("snapshots", sb)
    t.check(r.returncode == 0 and "viacli" in r.stdout and cli_id in r.stdout, "%s: airlock sandbox snapshots" % mode,
            r)
    t.sh(sb, "rm /workspace/c")
    r = cli("restore", sb, "viacli")
    t.check(r.returncode == 0 and "workspace/c" in t.manifest(sb), "%s: airlock sandbox restore" % mode, r)
    r = cli("fork", sb, "viacli")
    t.check(r.returncode == 0 and r.stdout.strip().startswith("sb_") and
            "workspace/c" in t.manifest(r.stdout.strip()), "%s: airlock sandbox fork" % mode, r)
    r = cli("restore", sb, "no/such")
    t.check(r.returncode == 125 and "no/such" in r.stderr, "%s: a bad name is refused by the CLI (125)" % mode, r)
    r = cli("reset", sb)
    t.check(r.returncode == 0 and "workspace/c" not in t.manifest(sb), "%s: airlock sandbox reset" % mode, r)
    r = cli("snapshot-rm", sb, "viacli")
    t.check(r.returncode == 0 and t.req("GET", "/v1/snapshots/" + cli_id)[0] == 404,
            "%s: airlock sandbox snapshot-rm" % mode, r)

    # a restart keeps the snapshots (the sandboxes do not survive it)
    st, keep = t.req("GET", "/v1/snapshots")
    before_ids = sorted(s["id"] for s in keep["snapshots"] if s["name"] != "@created")
    t.stop()
    t.start()
    st, lst = t.req("GET", "/v1/snapshots")
    after_ids = sorted(s["id"] for s in lst["snapshots"]) if st == 200 else None
    t.check(after_ids == before_ids and len(after_ids) == 3, "%s: a node restart keeps the snapshots" % mode,
            (before_ids, after_ids))
    st, fk2 = t.req("POST", "/v1/sandboxes", {"fork_from": {"snapshot": sid}})
    t.check(st == 201 and t.manifest(fk2["id"]) == before,
            "%s: after the restart, a fork of the kept snapshot has its exact tree" % mode, (st, fk2))
    r = cli("snapshots", "--format", "json")
    listed = json.loads(r.stdout) if r.returncode == 0 else []
    t.check(sorted(x["id"] for x in listed if x["name"] != "@created") == before_ids,
            "%s: airlock sandbox snapshots (no id) lists the tenant's after the restart" % mode, r)
    r = cli("fork", "--snapshot", sid)
    t.check(r.returncode == 0 and t.manifest(r.stdout.strip()) == before,
            "%s: airlock sandbox fork --snapshot ID after the restart" % mode, r)
    r = cli("fork", "--snapshot", "sn_0000000000000000")
    t.check(r.returncode == 125 and "404" in r.stderr and "sn_0000000000000000" in r.stderr,
            "%s: airlock sandbox fork of an unknown snapshot exits 125 with the node's 404" % mode, r)
    st, o = t.req("DELETE", "/v1/snapshots/" + sid)
    t.check(st == 204 and t.req("GET", "/v1/snapshots/" + sid)[0] == 404,
            "%s: DELETE /v1/snapshots/ID removes it" % mode, (st, o))
    # deleting a sandbox removes its snapshots
    sb3 = t.sandbox()
    st, s3 = t.req("POST", "/v1/sandboxes/%s/snapshots" % sb3, {"name": "x"})
    t.check(st == 201, "%s: a snapshot of a third sandbox" % mode, (st, s3))
    st, _ = t.req("DELETE", "/v1/sandboxes/" + sb3)
    time.sleep(0.5)
    st, o = t.req("GET", "/v1/snapshots/" + s3["id"])
    for _ in range(50):  # the files are removed on a thread of their own
        gone = not os.path.exists(os.path.join(t.state, "snapshots", s3["id"]))
        if gone:
            break
        time.sleep(0.1)
    t.check(st == 404 and gone, "%s: DELETE of its sandbox removes a sandbox's snapshots (record and files)" % mode,
            (st, o, gone))
    t.check(os.stat(os.path.join(t.state, "snapshots")).st_mode & 0o777 == 0o700,
            "%s: the snapshot directory is mode 0700" % mode)

    # gVisor: the workspace alone (where the host can run it)
    st, g = t.req("POST", "/v1/sandboxes", {"isolation": "gvisor"})
    if st != 201:
        print("# gvisor: not run (%s %s)" % (st, g))
        return
    gid = g["id"]
    t.sh(gid, "echo one > /workspace/g && mkdir /workspace/gd")
    st, o = t.req("POST", "/v1/sandboxes/%s/snapshots" % gid, {"name": "g1"})
    t.check(st == 201 and o["files"] == 2, "%s: gvisor: a snapshot holds the workspace" % mode, (st, o))
    t.sh(gid, "echo two > /workspace/g && rmdir /workspace/gd && echo new > /workspace/n")
    st, o = t.req("POST", "/v1/sandboxes/%s/restore" % gid, {"snapshot": "g1"})
    t.check(st == 409 and "isolation gvisor" in json.dumps(o) and t.sh(gid, "cat /workspace/n") == "new\n",
            "%s: gvisor: a restore in place is refused (409) and changes nothing" % mode, (st, o))
    st, o = t.req("POST", "/v1/sandboxes/%s/reset" % gid)
    t.check(st == 409, "%s: gvisor: so is a reset" % mode, (st, o))
    st, gf = t.req("POST", "/v1/sandboxes", {"isolation": "gvisor", "fork_from": {"sandbox": gid, "snapshot": "g1"}})
    # (ls fails under gVisor here, statx: the checks use cat and test)
    probe = "cat /workspace/g; test -d /workspace/gd && echo dir; test -e /workspace/n || echo no-n"
    out = t.sh(gf["id"], probe) if st == 201 else ""
    t.check(st == 201 and out == "one\ndir\nno-n\n", "%s: gvisor: a fork from the snapshot has its workspace" % mode,
            (st, gf, out))
    t.req("DELETE", "/v1/sandboxes/" + gid)


if __name__ == "__main__":
    sys.exit(main())
