#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/snapshot.sh - what a snapshot and a fork of a persistent sandbox
# cost when its workspace holds a tree of about 20,000 files (default
# /usr/share/man), side by side with the peer baseline: `cp -a` and
# `cp -a --reflink=auto` of the same tree on the same file system.
#
#   snapshot   POST /v1/sandboxes/{id}/snapshots, until its 201
#   restore    POST /v1/sandboxes/{id}/restore of that snapshot, until its 200
#   fork       POST /v1/sandboxes {"fork_from": {sandbox, snapshot}}, until
#              the new sandbox is ready (201); "create" is the same request
#              without fork_from, so fork - create is the copy's share
#   cp -a, cp -a --reflink=auto   of the workspace's tree into the node's
#              state directory (the same file system as the snapshots)
#
# Runs as root (the node's default identity). Every timing is repeated
# --runs times (default 7) after one warm-up; prints medians (ms) and the
# ratios to `cp -a`.  The file system's type is printed: on ext4 there is no
# reflink, so snapshots are full copies (copy_file_range).
#
# usage: bench/snapshot.sh [--airlock BIN] [--runs N] [--tree DIR]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AIRLOCK=$root/build/airlock
RUNS=7
TREE=/usr/share/man
while [ $# -gt 0 ]; do
  case "$1" in
    --airlock) AIRLOCK=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --tree) TREE=${2:?}; shift 2 ;;
    *) sed -n 's/^# usage: //p' "$0" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench/snapshot.sh runs as root" >&2; exit 2; }

W=$(mktemp -d /tmp/airlock-snapbench.XXXXXX)
NODE_PID=
cleanup() {
  [ -z "$NODE_PID" ] || { kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null || true; }
  rm -rf "$W"
}
trap cleanup EXIT
chmod 755 "$W"
STATE=$W/state
mkdir -m 700 "$STATE"
# the node's loop is busy for a whole copy (see docs/node.md): no client timeout meanwhile
echo '{"io_timeout_s": 600, "tenant_max": {"snapshots": 100, "snapshot_bytes": "100g"}}' >"$W/node.json"
"$AIRLOCK" token create --name bench --state-dir "$STATE" >"$W/token" 2>/dev/null
"$AIRLOCK" node --config "$W/node.json" --state-dir "$STATE" --listen "unix:$STATE/node.sock" --pool 0 \
  --ready-file "$STATE/ready" </dev/null >"$W/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 600); do [ -e "$STATE/ready" ] && break; sleep 0.05; done
[ -e "$STATE/ready" ] || { cat "$W/node.log" >&2; exit 1; }

python3 - "$STATE" "$W/token" "$TREE" "$RUNS" <<'EOF'
import http.client, json, os, socket, statistics, subprocess, sys, time

state, token_file, tree, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
token = open(token_file).read().strip()

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(os.path.join(state, "node.sock"))

def req(method, path, body=None):
    c = Conn("localhost", timeout=600)
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None

def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out

st, sb = req("POST", "/v1/sandboxes", {})
assert st == 201, (st, sb)
sid = sb["id"]
wsdir = state + ".workspaces"
ws = os.path.join(wsdir, os.listdir(wsdir)[0])
# the tree into the workspace, owned as the node's own files would be
subprocess.run(["cp", "-a", tree, ws + "/tree"], check=True)
subprocess.run(["chown", "-R", "--no-dereference", "%d:%d" % (os.stat(ws).st_uid, os.stat(ws).st_gid), ws + "/tree"],
               check=True)
st, o = req("POST", "/v1/sandboxes/%s/exec" % sid, {"argv": ["sh", "-c", "find /workspace | wc -l; du -sh /workspace"]})
files, size = o["stdout"].split("\n")[0], o["stdout"].split("\n")[1].split()[0]
fstype = subprocess.run(["stat", "-f", "-c", "%T", state], capture_output=True, text=True).stdout.strip()

res = {k: [] for k in ("snapshot", "restore", "fork", "create", "cp -a", "cp -a --reflink=auto")}
for i in range(runs + 1):
    ms, (st, sn) = timed(lambda: req("POST", "/v1/sandboxes/%s/snapshots" % sid, {"name": "s%d" % i}))
    assert st == 201, (st, sn)
    if i:
        res["snapshot"].append(ms)
    ms, (st, o) = timed(lambda: req("POST", "/v1/sandboxes/%s/restore" % sid, {"snapshot": "s%d" % i}))
    assert st == 200, (st, o)
    if i:
        res["restore"].append(ms)
    ms, (st, fk) = timed(lambda: req("POST", "/v1/sandboxes", {"fork_from": {"sandbox": sid, "snapshot": "s%d" % i}}))
    assert st == 201, (st, fk)
    if i:
        res["fork"].append(ms)
    req("DELETE", "/v1/sandboxes/" + fk["id"])
    ms, (st, plain) = timed(lambda: req("POST", "/v1/sandboxes", {}))
    assert st == 201, (st, plain)
    if i:
        res["create"].append(ms)
    req("DELETE", "/v1/sandboxes/" + plain["id"])
    req("DELETE", "/v1/sandboxes/%s/snapshots/s%d" % (sid, i))
    for name, extra in (("cp -a", []), ("cp -a --reflink=auto", ["--reflink=auto"])):
        dst = os.path.join(state, "cp-copy")
        ms, _ = timed(lambda: subprocess.run(["cp", "-a"] + extra + [ws, dst], check=True))
        if i:
            res[name].append(ms)
        subprocess.run(["rm", "-rf", dst], check=True)
    time.sleep(0.5)  # the deleted sandboxes' teardown off the next round

base = statistics.median(res["cp -a"])
print("tree: %s (%s entries, %s), file system %s, %d runs after 1 warm-up" % (tree, files, size, fstype, runs))
print("%-24s %10s %10s" % ("", "median ms", "vs cp -a"))
for k, v in res.items():
    m = statistics.median(v)
    print("%-24s %10.1f %9.2fx" % (k, m, m / base))
print("%-24s %10.1f %9.2fx" % ("fork - create", statistics.median(res["fork"]) - statistics.median(res["create"]),
                                (statistics.median(res["fork"]) - statistics.median(res["create"])) / base))
EOF
