#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/node_exec.sh - round trip of one `true` through the node API, under
# load, side by side with the container path it replaces:
#
#   airlock persistent   POST /v1/sandboxes/{id}/exec into one persistent
#                        sandbox (the node's agent spawns the command)
#   airlock one-shot     POST /v1/exec: a warm sandbox from the node's pool
#                        (--pool), destroyed when the command ends
#   docker exec          `docker exec airlock-bench true` into one running
#                        container (what OpenClaw does for every sandboxed
#                        command); Debian's docker.io engine, started here if
#                        no daemon runs, on an image made with debootstrap
#   bwrap (fallback)     bwrap --ro-bind / / --dev /dev --proc /proc
#                        --unshare-all --die-with-parent true, only when no
#                        docker engine can run here (the output says why)
#
# at concurrency 1, 8 and 32: p50, p90, p99, max, execs/second and failures.
# The issue's targets on a 2-core machine: p50 at most 2 ms, at least 25x
# faster than docker exec, at least 1000 execs/s at concurrency 32 with no
# failures, node idle memory under 10 MB.  This is a benchmark, not a test:
# it reports numbers and whether the targets were met in this run, and exits
# 0 either way (non-zero only when it cannot run at all).
#
# Method.  The airlock cases are driven by bench/node_load.c (node-load): C
# threads, each with its own airlock_client (libairlock's C client, one
# keep-alive connection per thread, opened by untimed warm-up execs), each
# running execs back to back; every exec is timed with CLOCK_MONOTONIC around
# airlock_client_exec().  The peer is driven the same way by a Python
# harness: C threads, each running the peer command back to back with
# subprocess.run, timed with perf_counter_ns (also CLOCK_MONOTONIC) around
# it, after one untimed run per thread.  A failure is an exec refused or
# broken (429, 5xx, connection error) or a command that did not exit 0.
# Percentiles (linear interpolation between closest ranks, as
# bench/launch.sh) are over the successful execs; execs/s is successful
# execs over the wall time of the whole timed part.  Each concurrency runs
# airlock persistent, airlock one-shot, then the peer.
#
# The node runs with a temporary state directory (0700, in a 0755 parent so
# that the sandbox user can reach node-made workspaces), on a unix socket,
# with --pool N.  Its token is created with --max-concurrent 64 (the node's
# own maximum): the default per-token maximum is 16 concurrent execs, which
# would turn concurrency 32 into 429s.  The node's memory is read from
# /proc/PID/status (VmRSS, VmHWM) and /proc/PID/smaps_rollup (Pss) when
# idle (pool full, the persistent sandbox ready, before any load), right
# after the load and again after --settle seconds; "tree" adds the node's
# sandboxes (their agents) to it.
#
# Everything started here (node, container, dockerd when it was not
# running) is stopped on exit, also on Ctrl-C.  The docker image
# airlock-bench-bookworm is kept between runs (made once); debootstrap uses
# the Debian mirror that apt is configured with (read from the apt sources
# at run time, with apt's proxy if it has one).
#
# usage: bench/node_exec.sh [--bin DIR] [--concurrency "1 8 32"] [--pool N]
#                           [--requests N] [--oneshot-requests N]
#                           [--peer-requests N] [--peer docker|bwrap]
#                           [--warmup N] [--settle S] [--json FILE]
# Without --bin it builds build-nbench (Release) from this tree; DIR must
# hold airlock-node and node-load.  --requests N: timed execs into the
# persistent sandbox at concurrency 1 (twice that at higher concurrency;
# default 2000); --oneshot-requests and --peer-requests the same for
# one-shot /v1/exec (default 500) and the peer (default 100).  --warmup N:
# untimed execs per thread first (default 3; the peer does 1).  --settle S:
# idle seconds before the last memory reading (default 3).
# --json FILE writes every sample (ns) and the summary as JSON.
set -euo pipefail

BIN=""
CONCURRENCY="1 8 32"
POOL=4
REQUESTS=2000
ONESHOT_REQUESTS=500
PEER_REQUESTS=100
PEER=docker
WARMUP=3
SETTLE=3
JSON=""

usage() {
  sed -n '/^# usage:/,/^# --json FILE/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="${2:?--bin needs a directory}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:?--concurrency needs a list such as \"1 8 32\"}"; shift 2 ;;
    --pool) POOL="${2:?--pool needs a number}"; shift 2 ;;
    --requests) REQUESTS="${2:?--requests needs a number}"; shift 2 ;;
    --oneshot-requests) ONESHOT_REQUESTS="${2:?--oneshot-requests needs a number}"; shift 2 ;;
    --peer-requests) PEER_REQUESTS="${2:?--peer-requests needs a number}"; shift 2 ;;
    --peer) PEER="${2:?--peer needs docker or bwrap}"; shift 2 ;;
    --warmup) WARMUP="${2:?--warmup needs a number}"; shift 2 ;;
    --settle) SETTLE="${2:?--settle needs a number of seconds}"; shift 2 ;;
    --json) JSON="${2:?--json needs a file}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "node_exec.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
CONCURRENCY="$(echo "$CONCURRENCY" | tr ',' ' ')"
for n in "$POOL" "$REQUESTS" "$ONESHOT_REQUESTS" "$PEER_REQUESTS" "$WARMUP" "$SETTLE" $CONCURRENCY; do
  case "$n" in ''|*[!0-9]*) echo "node_exec.sh: not a number: $n" >&2; exit 2 ;; esac
done
[ -n "$CONCURRENCY" ] || { echo "node_exec.sh: --concurrency is empty" >&2; exit 2; }
for c in $CONCURRENCY; do
  [ "$c" -ge 1 ] && [ "$c" -le 64 ] || { echo "node_exec.sh: concurrency must be 1 to 64 (the node's maximum), not $c" >&2; exit 2; }
done
[ "$POOL" -le 64 ] || { echo "node_exec.sh: --pool must be 0 to 64" >&2; exit 2; }
for n in "$REQUESTS" "$ONESHOT_REQUESTS" "$PEER_REQUESTS"; do
  [ "$n" -ge 1 ] || { echo "node_exec.sh: request counts must be at least 1" >&2; exit 2; }
done
case "$PEER" in docker|bwrap) ;; *) echo "node_exec.sh: --peer must be docker or bwrap" >&2; exit 2 ;; esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IS_ROOT=no
[ "$(id -u)" -eq 0 ] && IS_ROOT=yes
NOTES=()
PEER_NOTES=()

command -v python3 >/dev/null || { echo "node_exec.sh: python3 is required" >&2; exit 1; }

# shellcheck source=bench/docker_peer.sh
. "$(dirname "${BASH_SOURCE[0]}")/docker_peer.sh"

# --- cleanup: everything started here, also on Ctrl-C ------------------------
TMP=""
NODE_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true  # the node kills its sandboxes and exits
    for _ in $(seq 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  if [ -n "$CONTAINER" ]; then
    "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1 || true
  fi
  stop_dockerd
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "node_exec.sh: interrupted; cleaning up" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- binaries ---------------------------------------------------------------
if [ -z "$BIN" ]; then
  log="$(mktemp)"
  echo "building $REPO/build-nbench (Release) ..." >&2
  if ! { cmake -S "$REPO" -B "$REPO/build-nbench" -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$REPO/build-nbench" -j"$(nproc)" --target airlock-node-cli node-load; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "node_exec.sh: build failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  BIN="$REPO/build-nbench"
fi
BIN="$(cd "$BIN" && pwd)"
for b in airlock-node node-load; do
  [ -x "$BIN/$b" ] || { echo "node_exec.sh: not executable: $BIN/$b" >&2; exit 1; }
done

# --- tools, installed when missing and we are root ----------------------------
# --- tools, installed when missing and we are root (apt_install: docker_peer.sh)
if ! command -v curl >/dev/null && ! apt_install curl; then
  echo "node_exec.sh: curl is required (sandbox creation goes through curl --unix-socket)" >&2
  exit 1
fi

TMP="$(mktemp -d /tmp/airlock-nbench.XXXXXX)"
chmod 0755 "$TMP"  # world-traversable parent: node-made workspaces sit beside the state dir

# --- the peer: docker exec into a running container, else bwrap --------------
BWRAP=""
if [ "$PEER" = docker ]; then
  if setup_docker; then
    DOCKER_OK=yes
  else
    PEER=bwrap
    PEER_NOTES+=("DOCKER CANNOT RUN HERE: $DOCKER_WHY; the peer is bwrap instead")
    if [ -n "$CONTAINER" ]; then "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1 || true; CONTAINER=""; fi
    stop_dockerd  # not left running (and busy) next to the measurements
  fi
else
  PEER_NOTES+=("--peer bwrap: docker not tried")
fi
if [ "$PEER" = bwrap ]; then
  BWRAP="$(command -v bwrap || true)"
  if [ -z "$BWRAP" ] && apt_install bubblewrap; then BWRAP="$(command -v bwrap || true)"; fi
  if [ -z "$BWRAP" ]; then
    PEER=none
    PEER_NOTES+=("bwrap not found and not installable: no peer is measured")
  fi
fi

# --- the node -------------------------------------------------------------------
STATE="$TMP/state"
mkdir -m 0700 "$STATE"
SOCK="$TMP/node.sock"
MAXC=64
if ! TOKEN="$("$BIN/airlock-node" token create --name bench --max-concurrent "$MAXC" --state-dir "$STATE" 2>"$TMP/token.log")"; then
  cat "$TMP/token.log" >&2
  echo "node_exec.sh: cannot create a token" >&2
  exit 1
fi
( umask 077; printf 'Authorization: Bearer %s\n' "$TOKEN" >"$TMP/auth.header" )
# setsid: a Ctrl-C reaches this script, which stops the node in order
setsid "$BIN/airlock-node" node --state-dir "$STATE" --listen "unix:$SOCK" --pool "$POOL" \
  --ready-file "$TMP/ready" >"$TMP/node.log" 2>&1 </dev/null &
NODE_PID=$!
api() { # METHOD PATH [BODY]
  curl -sS --max-time 30 --unix-socket "$SOCK" -H @"$TMP/auth.header" -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data "$3"} "http://node$2"
}
for _ in $(seq 300); do
  [ -s "$TMP/ready" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || break
  sleep 0.1
done
if ! [ -s "$TMP/ready" ]; then
  cat "$TMP/node.log" >&2
  echo "node_exec.sh: the node did not become ready" >&2
  exit 1
fi
if ! SB_JSON="$(api POST /v1/sandboxes '{"labels":{"by":"bench/node_exec.sh"},"limits":{"cpus":'"$(nproc)"'}}')" ||
   ! SANDBOX="$(printf '%s' "$SB_JSON" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="ready"; print(d["id"])' 2>/dev/null)"; then
  echo "node_exec.sh: cannot create the persistent sandbox: $SB_JSON" >&2
  cat "$TMP/node.log" >&2
  exit 1
fi
# ready: the sandbox's agent answered, and the pool is full
for _ in $(seq 300); do
  if api GET /v1/health | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["pool"]; sys.exit(0 if d["ready"] and p["ready"]>=p["target"] else 1)' 2>/dev/null &&
     api GET "/v1/sandboxes/$SANDBOX" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["state"]=="ready" else 1)' 2>/dev/null; then
    break
  fi
  sleep 0.1
done

# --- environment ----------------------------------------------------------------
CPU="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"
[ -n "$CPU" ] || CPU="$(uname -m)"
REV="unknown"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  REV="$(git -C "$REPO" rev-parse --short HEAD)"
  DIRTY="$(git -C "$REPO" status --porcelain -- src include CMakeLists.txt 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
  [ -z "$DIRTY" ] || { REV="$REV + uncommitted changes"; NOTES+=("uncommitted changes in: $DIRTY"); }
fi
case "$PEER" in
  docker) PEER_DESC="docker exec $NAME true ($DOCKER; $DOCKER_VERSION; image $IMAGE, --network none)" ;;
  bwrap) PEER_DESC="$BWRAP --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true ($("$BWRAP" --version 2>/dev/null | head -n1))" ;;
  *) PEER_DESC="none" ;;
esac

echo "== airlock node benchmark: round trip of one 'true' through the API =="
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:   $(uname -r) ($(uname -m))"
echo "cpu:      $CPU"
echo "nproc:    $(nproc)"
echo "memory:   $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "root:     $IS_ROOT (uid $(id -u))"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
echo "airlock:  $BIN/airlock-node node --pool $POOL on unix socket (git $REV)"
echo "client:   $BIN/node-load (libairlock client, one warm keep-alive connection per thread)"
echo "sandbox:  $SANDBOX (persistent, cpus = nproc so the sandbox quota does not cap throughput: $(printf '%s' "$SB_JSON" | python3 -c 'import json,sys; l=json.load(sys.stdin)["limits"]; print("memory %dm, cpus %g, pids %d" % (l["memory"]>>20, l["cpus"], l["pids"]))'))"
echo "token:    --max-concurrent $MAXC (the node's own maximum; the per-token default is 16)"
echo "peer:     $PEER_DESC"
echo "python:   $(python3 -c 'import platform; print(platform.python_version())')"
echo "runs:     concurrency $CONCURRENCY; timed execs at c=1 / c>1: persistent $REQUESTS/$((2 * REQUESTS)), one-shot $ONESHOT_REQUESTS/$((2 * ONESHOT_REQUESTS)), peer $PEER_REQUESTS/$((2 * PEER_REQUESTS))"
echo "          after $WARMUP untimed execs per thread (peer: 1); per concurrency: persistent, one-shot, peer"
for n in ${NOTES[@]+"${NOTES[@]}"} ${PEER_NOTES[@]+"${PEER_NOTES[@]}"}; do echo "note:     $n"; done
echo

export BENCH_BIN="$BIN" BENCH_SOCK="$SOCK" BENCH_SANDBOX="$SANDBOX" BENCH_NODE_PID="$NODE_PID"
export BENCH_CONCURRENCY="$CONCURRENCY" BENCH_REQUESTS="$REQUESTS" BENCH_ONESHOT="$ONESHOT_REQUESTS"
export BENCH_PEER_REQUESTS="$PEER_REQUESTS" BENCH_PEER="$PEER" BENCH_DOCKER="$DOCKER" BENCH_NAME="$NAME"
export BENCH_BWRAP="$BWRAP" BENCH_WARMUP="$WARMUP" BENCH_SETTLE="$SETTLE" BENCH_POOL="$POOL"
export BENCH_JSON="$JSON" BENCH_TMP="$TMP" BENCH_STATE="$STATE" BENCH_NODE_LOG="$TMP/node.log" BENCH_AUTH="$TMP/auth.header"
# not exec: the EXIT trap must still run to stop what was started
AIRLOCK_TOKEN="$TOKEN" python3 - <<'PY'
import json, os, re, signal, subprocess, sys, threading, time

def interrupted(*_):
    os._exit(130)  # the shell around us cleans up; no traceback, no waiting for threads
signal.signal(signal.SIGINT, interrupted)
signal.signal(signal.SIGTERM, interrupted)

E = os.environ
bindir, sock, sandbox = E["BENCH_BIN"], E["BENCH_SOCK"], E["BENCH_SANDBOX"]
node_pid = int(E["BENCH_NODE_PID"])
concs = [int(x) for x in E["BENCH_CONCURRENCY"].split()]
n_persist, n_oneshot, n_peer = int(E["BENCH_REQUESTS"]), int(E["BENCH_ONESHOT"]), int(E["BENCH_PEER_REQUESTS"])
peer, warmup, settle, pool = E["BENCH_PEER"], int(E["BENCH_WARMUP"]), int(E["BENCH_SETTLE"]), int(E["BENCH_POOL"])
tmp, node_log = E["BENCH_TMP"], E["BENCH_NODE_LOG"]
json_out = os.path.abspath(E["BENCH_JSON"]) if E["BENCH_JSON"] else ""
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
TICK = os.sysconf("SC_CLK_TCK")

if peer == "docker":
    PEER_LABEL = "docker exec (running container)"
    PEER_ARGV = [E["BENCH_DOCKER"], "exec", E["BENCH_NAME"], "true"]
elif peer == "bwrap":
    PEER_LABEL = "bwrap (fallback peer)"
    PEER_ARGV = [E["BENCH_BWRAP"], "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 "--unshare-all", "--die-with-parent", "true"]
else:
    PEER_LABEL, PEER_ARGV = None, None
PERSIST = "airlock persistent sandbox"
ONESHOT = "airlock one-shot (pool %d)" % pool

def pct(s, p):
    """Percentile of sorted s, linear interpolation between closest ranks."""
    if not s:
        return float("nan")
    i = (len(s) - 1) * p / 100.0
    lo = int(i)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)

# --- the node's memory and CPU -------------------------------------------------
def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out

def memory(pid):
    kids = descendants(pid)
    kid_pss = [(k, pss_kb(k), status_kb(k, "RssAnon")) for k in kids]
    tree_pss = sum(p for _, p, _ in kid_pss if p)
    return {"vmrss_kb": status_kb(pid, "VmRSS"), "vmhwm_kb": status_kb(pid, "VmHWM"),
            "rss_anon_kb": status_kb(pid, "RssAnon"), "rss_file_kb": status_kb(pid, "RssFile"),
            "pss_kb": pss_kb(pid), "tree_processes": 1 + len(kids),
            "tree_pss_kb": (pss_kb(pid) or 0) + tree_pss,
            "children": [{"pid": k, "pss_kb": p, "rss_anon_kb": a} for k, p, a in kid_pss]}

def cpu_ms(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK
    except (OSError, IndexError, ValueError):
        return float("nan")

def node_alive():
    try:
        os.kill(node_pid, 0)
        return True
    except OSError:
        return False

def node_get(path):
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "--unix-socket", sock, "http://node" + path],
                       capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else ""

def health():
    try:
        return json.loads(node_get("/v1/health"))
    except ValueError:
        return {}

def wait_pool(limit_s=20):
    """Until the node's pool is full again (dying one-shot sandboxes gone);
    the pool's state, {"ready", "target"}, at the end of the wait."""
    end = time.monotonic() + limit_s
    pool_state = {}
    while time.monotonic() < end:
        pool_state = health().get("pool", {})
        if pool_state and pool_state["ready"] >= pool_state["target"]:
            break
        time.sleep(0.1)
    return pool_state

# --- airlock: node-load -----------------------------------------------------------
def run_airlock(label, c, n):
    pool_before = wait_pool()
    raw = os.path.join(tmp, "raw.txt")
    argv = [os.path.join(bindir, "node-load"), "--node", "unix:" + sock, "--concurrency", str(c),
            "--requests", str(n), "--warmup", str(warmup), "--label", label, "--json", "--raw", raw]
    if label == PERSIST:
        argv += ["--sandbox", sandbox]
    argv += ["--", "true"]
    c0 = cpu_ms(node_pid)
    p = subprocess.run(argv, capture_output=True, text=True)
    c1 = cpu_ms(node_pid)
    if p.returncode != 0:
        return {"label": label, "concurrency": c, "broken": (p.stderr.strip() or "exit %d" % p.returncode)[-300:]}
    d = json.loads(p.stdout)
    for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "min_ms"):
        if d.get(k) is None:
            d[k] = float("nan")  # no successful exec
    samples, fails = [], 0
    with open(raw) as f:
        for line in f:
            w = line.split()
            if len(w) > 1:
                fails += 1
            else:
                samples.append(int(w[0]))
    d["samples_ns"] = samples
    d["pool_before"] = pool_before
    d["node_cpu_ms_per_exec"] = (c1 - c0) / d["execs"] if d["execs"] else float("nan")
    return d

# --- the peer: C threads, subprocess.run back to back -----------------------------
def run_peer(c, n):
    lock = threading.Lock()
    state = {"next": 0}
    results = [[] for _ in range(c)]  # (ns, ok, at_ns)
    errors = {}
    warm_fail = [0]
    start = threading.Barrier(c + 1)
    go = threading.Barrier(c + 1)
    t_start = [0]
    ends = [0] * c

    def once():
        t0 = time.perf_counter_ns()
        p = subprocess.run(PEER_ARGV, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        t1 = time.perf_counter_ns()
        why = None
        if p.returncode != 0:
            why = "exit %d: %s" % (p.returncode, (p.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1][:200])
        return t1 - t0, why, t0

    def note(why):
        with lock:
            errors[why] = errors.get(why, 0) + 1

    def worker(k):
        _, why, _ = once()  # untimed: the first run pays for cold caches
        if why:
            warm_fail[0] += 1
            note(why)
        start.wait()
        go.wait()
        while True:
            with lock:
                if state["next"] >= n:
                    break
                state["next"] += 1
            ns, why, t0 = once()
            results[k].append((ns, why is None, t0 - t_start[0], k))
            if why:
                note(why)
        ends[k] = time.perf_counter_ns()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(c)]
    for t in threads:
        t.start()
    start.wait()
    t_start[0] = time.perf_counter_ns()
    go.wait()
    for t in threads:
        t.join()
    elapsed = (max(ends) - t_start[0]) / 1e9
    allr = [r for rs in results for r in rs]
    ok = sorted(r[0] for r in allr if r[1])
    return {"label": PEER_LABEL, "mode": peer, "argv": PEER_ARGV, "concurrency": c, "warmup_per_thread": 1,
            "requests": n, "execs": len(allr), "ok": len(ok), "failures": len(allr) - len(ok),
            "warmup_failures": warm_fail[0], "elapsed_s": elapsed,
            "execs_per_s": len(ok) / elapsed if elapsed > 0 else 0.0,
            "p50_ms": pct(ok, 50) / 1e6, "p90_ms": pct(ok, 90) / 1e6, "p99_ms": pct(ok, 99) / 1e6,
            "max_ms": ok[-1] / 1e6 if ok else float("nan"), "mean_ms": sum(ok) / len(ok) / 1e6 if ok else float("nan"),
            "slowest": [{"ms": r[0] / 1e6, "at_s": r[2] / 1e9, "thread": r[3], "ok": r[1]}
                        for r in sorted(allr, key=lambda r: -r[0])[:5]],
            "errors": [{"count": v, "message": k} for k, v in errors.items()], "samples_ns": ok}

# --- run ------------------------------------------------------------------------------
time.sleep(1)
mem_idle = memory(node_pid)
runs = []
for c in concs:
    scale = 1 if c == 1 else 2
    plan = [(PERSIST, n_persist * scale), (ONESHOT, n_oneshot * scale)]
    if PEER_LABEL:
        plan.append((PEER_LABEL, n_peer * scale))
    for label, n in plan:
        print("running: %-34s concurrency %2d, %5d execs ..." % (label, c, n), file=sys.stderr, flush=True)
        d = run_peer(c, n) if label == PEER_LABEL else run_airlock(label, c, n)
        d["concurrency"] = c
        runs.append(d)
        if not node_alive():
            print("node_exec.sh: THE NODE DIED during %s at concurrency %d" % (label, c), file=sys.stderr)
            break
    if not node_alive():
        break
mem_after = memory(node_pid) if node_alive() else None
time.sleep(settle)
mem_settled = memory(node_pid) if node_alive() else None
health_end = health() if node_alive() else {}
def fsize(name):
    try:
        return os.path.getsize(os.path.join(E["BENCH_STATE"], name))
    except OSError:
        return 0
db_bytes, wal_bytes = fsize("node.db"), fsize("node.db-wal")
metrics = node_get("/metrics") if node_alive() else ""

# --- report ---------------------------------------------------------------------------
def fnum(v, f="%.3f"):
    return "n/a" if v is None or v != v else f % v

w = max(len(PERSIST), len(ONESHOT), len(PEER_LABEL or ""))
by = {(r["label"], r["concurrency"]): r for r in runs}
for c in concs:
    print("concurrency %d (each thread: its own connection, execs back to back)" % c)
    print("  %-*s %6s %5s %9s %9s %9s %9s %9s %9s" % (w, "case", "execs", "fail", "p50 ms", "p90 ms", "p99 ms",
                                                       "max ms", "execs/s", "cpu/exec"))
    for label in (PERSIST, ONESHOT, PEER_LABEL):
        r = by.get((label, c))
        if not r:
            continue
        if "broken" in r:
            print("  %-*s  could not run: %s" % (w, label, r["broken"]))
            continue
        cpu = fnum(r.get("node_cpu_ms_per_exec"), "%.2f") + " ms" if "node_cpu_ms_per_exec" in r else "-"
        print("  %-*s %6d %5d %9s %9s %9s %9s %9s %9s" % (w, label, r["execs"], r["failures"], fnum(r["p50_ms"]),
              fnum(r["p90_ms"]), fnum(r["p99_ms"]), fnum(r["max_ms"]), fnum(r["execs_per_s"], "%.1f"), cpu))
    pr = by.get((PEER_LABEL, c))
    for label in (PERSIST, ONESHOT):
        r = by.get((label, c))
        if pr and r and "broken" not in r and "broken" not in pr and r["p50_ms"] > 0:
            r["p50_ratio_peer"] = pr["p50_ms"] / r["p50_ms"]
    if pr:
        print("  p50 %s / airlock: persistent %sx, one-shot %sx" % (
              "docker exec" if peer == "docker" else peer,
              fnum(by.get((PERSIST, c), {}).get("p50_ratio_peer"), "%.1f"),
              fnum(by.get((ONESHOT, c), {}).get("p50_ratio_peer"), "%.1f")))
    for label in (PERSIST, ONESHOT):
        r = by.get((label, c))
        if r and "broken" not in r:
            print("  %s: node wall_ms p50 %s p99 %s max %s (hand-off to agent .. exit report); >10 ms: %d; slowest %s" % (
                  "persistent" if label == PERSIST else "one-shot", fnum(r["node_wall_ms_p50"], "%.0f"),
                  fnum(r["node_wall_ms_p99"], "%.0f"), r["node_wall_ms_max"], r["over_10ms"],
                  ", ".join("%.1f ms @%.2fs" % (s["ms"], s["at_s"]) for s in r["slowest"][:3])))
    for label in (PERSIST, ONESHOT, PEER_LABEL):
        r = by.get((label, c))
        for e in (r or {}).get("errors", []):
            print("  error (%s) x%d: %s" % (label, e["count"], e["message"]))
        if r and r.get("warmup_failures"):
            print("  (%s: %d warm-up execs failed)" % (label, r["warmup_failures"]))
    r = by.get((ONESHOT, c), {})
    pb = r.get("pool_before") or {}
    if pb and pb.get("ready", 0) < pb.get("target", 0):
        print("  NOTE: the pool was not full before the one-shot run (ready %d of %d after waiting 20 s)" % (
              pb["ready"], pb["target"]))
    print()
print("(cpu/exec: the node process's own user+sys CPU per exec, from /proc/PID/stat; its sandboxes not included)")
print()

def mb(kb):
    return "n/a" if kb is None else "%.1f MB" % (kb / 1024.0)
print("node memory (pid %d; MB = MiB):   VmRSS    RssAnon    RssFile      VmHWM        Pss  tree Pss (procs)" % node_pid)
for name, m in (("idle, before load", mem_idle), ("right after load", mem_after),
                ("after %d s idle" % settle, mem_settled)):
    if m:
        print("  %-27s %9s %10s %10s %10s %10s %9s (%d)" % (name, mb(m["vmrss_kb"]), mb(m["rss_anon_kb"]),
              mb(m["rss_file_kb"]), mb(m["vmhwm_kb"]), mb(m["pss_kb"]), mb(m["tree_pss_kb"]), m["tree_processes"]))
        kids = m["children"]
        mbl = lambda key: " ".join("%.1f" % ((c[key] or 0) / 1024.0) for c in kids) + " MB" if kids else "none"
        print("  %-27s each sandbox: Pss %s; RssAnon %s" % ("", mbl("pss_kb"), mbl("rss_anon_kb")))
    else:
        print("  %-27s node gone" % name)
print("  (RssFile: mapped files, mostly shared libraries; Pss splits shared pages among the processes using them;")
print("   tree: the node and its sandboxes, i.e. the persistent one and the pool's, each an airlock-init agent)")
if health_end:
    print("node after the run: execs_running %s, sandboxes %s, pool ready %s of %s; state node.db %.1f MB + WAL %.1f MB" % (
          health_end.get("execs_running"), health_end.get("sandboxes"), health_end.get("pool", {}).get("ready"),
          health_end.get("pool", {}).get("target"), db_bytes / 1048576.0, wal_bytes / 1048576.0))
print()

# targets (informational)
def verdict(ok):
    return "MET" if ok else "NOT met"
print("targets (issue; informational: one run on a noisy 2-vCPU VM):")
tgt = {}
for label, short in ((PERSIST, "persistent"), (ONESHOT, "one-shot")):
    r1 = by.get((label, 1))
    if r1 and "broken" not in r1:
        ok = r1["p50_ms"] <= 2.0
        tgt.setdefault(short, {})["p50_le_2ms_c1"] = ok
        print("  p50 <= 2 ms at concurrency 1, %-10s: %.3f ms -> %s" % (short, r1["p50_ms"], verdict(ok)))
    else:
        print("  p50 <= 2 ms at concurrency 1, %-10s: not evaluated (no concurrency 1 run)" % short)
for label, short in ((PERSIST, "persistent"), (ONESHOT, "one-shot")):
    parts, allok = [], True
    for c in concs:
        r = by.get((label, c), {})
        if "p50_ratio_peer" in r:
            parts.append("c=%d %.1fx" % (c, r["p50_ratio_peer"]))
            allok = allok and r["p50_ratio_peer"] >= 25
    if parts:
        tgt.setdefault(short, {})["p50_25x_faster_than_peer_all_c"] = allok
        print("  >= 25x faster than %s (p50, every concurrency), %-10s: %s -> %s" % (
              "docker exec" if peer == "docker" else peer + " (fallback, not docker)", short, ", ".join(parts),
              verdict(allok)))
    else:
        print("  >= 25x faster than docker exec, %-10s: not evaluated (no peer)" % short)
for label, short in ((PERSIST, "persistent"), (ONESHOT, "one-shot")):
    r = by.get((label, 32))
    if r and "broken" not in r:
        ok = r["execs_per_s"] >= 1000 and r["failures"] == 0 and r["warmup_failures"] == 0
        tgt.setdefault(short, {})["ge_1000_per_s_c32_no_failures"] = ok
        print("  >= 1000 execs/s at concurrency 32, no failures, %-10s: %.1f/s, %d failures -> %s" % (
              short, r["execs_per_s"], r["failures"] + r["warmup_failures"], verdict(ok)))
    else:
        print("  >= 1000 execs/s at concurrency 32, %-10s: not evaluated (no concurrency 32 run)" % short)
ok = mem_idle["vmrss_kb"] is not None and mem_idle["vmrss_kb"] < 10 * 1024
tgt["node_idle_rss_lt_10mb"] = ok
print("  node idle memory < 10 MB: VmRSS %s (Pss %s) before load -> %s; after load, idle: VmRSS %s" % (
      mb(mem_idle["vmrss_kb"]), mb(mem_idle["pss_kb"]), verdict(ok), mb((mem_settled or {}).get("vmrss_kb"))))
print()

# what the node said and counted
try:
    with open(node_log, errors="replace") as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and "serving on" not in l]
except OSError:
    lines = []
counts = {}
for l in lines:
    counts[l] = counts.get(l, 0) + 1
if counts:
    print("node log (stderr), other than 'serving on':")
    for l, k in counts.items():
        print("  %4dx %s" % (k, l[:300]))
else:
    print("node log: nothing but 'serving on'")
interesting = [l for l in metrics.splitlines() if re.match(r"airlock_(execs_total|requests_rejected_total|limit_kills_total|sandboxes_active)", l)
               and not l.endswith(" 0")]
if interesting:
    print("node /metrics (non-zero counters, whole run incl. warm-up):")
    for l in interesting:
        print("  " + l)
print("load:     %s (1, 5, 15 min) at the end" % " ".join(open("/proc/loadavg").read().split()[:3]))

if json_out:
    doc = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kernel": os.uname().release,
           "nproc": os.cpu_count(), "pool": pool, "peer": peer, "peer_argv": PEER_ARGV, "runs": runs,
           "node_memory": {"idle_before_load": mem_idle, "after_load": mem_after, "after_settle": mem_settled,
                           "settle_s": settle},
           "node_health_at_end": health_end, "node_db_bytes_at_end": db_bytes, "node_db_wal_bytes_at_end": wal_bytes,
           "targets_met": tgt, "node_log": lines[:200], "metrics": metrics}
    with open(json_out, "w") as f:
        json.dump(doc, f, indent=1)
    print("raw samples written to %s" % json_out)
sys.exit(0)
PY
