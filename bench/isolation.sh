#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/isolation.sh - one run, side by side, of the isolation levels
# (docs/isolation.md): `/bin/true` and a small Python script under
#
#   namespaces   airlock run --isolation namespaces -- CMD   (the default)
#   gvisor       airlock run --isolation gvisor -- CMD
#   runsc do     runsc --platform=ptrace --network=none --ignore-cgroups do CMD  (runsc alone, root only:
#                the host's / as the root, no limits, none of airlock's work)
#   vm           airlock run --isolation vm -- CMD           ("n/a" when this build or host has no vm backend)
#
# Medians of N runs (default 15) after 2 warm-ups, interleaved round-robin so
# drift on a noisy VM hits all alike; ratios against namespaces; and
# airlock's own overhead on top of runsc (gvisor - runsc do).  Timed by one
# Python process (perf_counter_ns around posix_spawn + waitpid, stdio on
# pipes of its own, never /dev/null: see once()).  A benchmark, not a
# test: exits 0 unless it cannot run.
#
# usage: bench/isolation.sh [--airlock PATH] [--runs N]
set -eu
AIRLOCK=build/airlock
RUNS=15
while [ $# -gt 0 ]; do
  case $1 in
  --airlock) AIRLOCK=$2; shift 2 ;;
  --runs) RUNS=$2; shift 2 ;;
  *) echo "usage: $0 [--airlock PATH] [--runs N]" >&2; exit 2 ;;
  esac
done
AIRLOCK=$(realpath "$AIRLOCK")
RUNSC=$(command -v runsc || true)
exec python3 - "$AIRLOCK" "$RUNS" "$RUNSC" <<'PY'
import os, statistics, subprocess, sys, time
airlock, runs, runsc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
script = "import json, hashlib\nprint(hashlib.sha256(json.dumps(list(range(1000))).encode()).hexdigest())"
workloads = {"/bin/true": ["/bin/true"], "python3 script": ["python3", "-c", script]}

def works(argv):
    try:
        return subprocess.run(argv, input=b"", capture_output=True, timeout=120).returncode == 0
    except Exception:
        return False

backends = {}
backends["namespaces"] = lambda cmd: [airlock, "run", "--isolation", "namespaces", "--", *cmd]
backends["gvisor"] = lambda cmd: [airlock, "run", "--isolation", "gvisor", "--", *cmd]
if runsc and os.geteuid() == 0:
    backends["runsc do"] = lambda cmd: [runsc, "--platform=ptrace", "--network=none", "--ignore-cgroups", "do", *cmd]
backends["vm"] = lambda cmd: [airlock, "run", "--isolation", "vm", "--", *cmd]
available = {name: works(make(["/bin/true"])) for name, make in backends.items()}

def once(argv):
    # stdio are pipes of ours, never /dev/null: runsc (the `runsc do`
    # column) changes the owner of the descriptors it gets as stdio to its
    # sandbox user, and would leave the host's /dev/null owned by nobody
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.close(in_w)
    t = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0] if argv[0].startswith("/") else "/usr/bin/" + argv[0], argv, {"PATH": "/usr/bin:/bin"},
                         file_actions=[(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
                                       (os.POSIX_SPAWN_DUP2, out_w, 2)])
    os.close(out_w)
    while os.read(out_r, 65536):
        pass
    _, status = os.waitpid(pid, 0)
    dt = (time.perf_counter_ns() - t) / 1e6
    os.close(in_r)
    os.close(out_r)
    return dt, os.waitstatus_to_exitcode(status)

results = {}
for wname, cmd in workloads.items():
    names = [n for n in backends if available[n]]
    samples = {n: [] for n in names}
    for r in range(runs + 2):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            dt, rc = once(backends[n](cmd))
            if rc != 0:
                print(f"# {n} {wname}: exit {rc}", file=sys.stderr)
            if r >= 2:
                samples[n].append(dt)
    results[wname] = {n: statistics.median(s) for n, s in samples.items()}

# airlock's own work under gvisor, from AIRLOCK_TRACE: until runsc is
# started, and from runsc's end to airlock's
own = []
if available.get("gvisor"):
    for _ in range(runs):
        p = subprocess.run(backends["gvisor"](["/bin/true"]), input=b"", capture_output=True,
                           env={"PATH": "/usr/bin:/bin", "AIRLOCK_TRACE": "1"})
        marks = {}
        for line in p.stderr.decode(errors="replace").splitlines():
            parts = line.split()
            if line.startswith("airlock-trace:") and len(parts) >= 5:
                marks[" ".join(parts[4:])] = float(parts[1])
        if {"runsc started", "runsc reaped", "cleaned up"} <= marks.keys():
            own.append(marks["runsc started"] + marks["cleaned up"] - marks["runsc reaped"])

cols = list(backends)
print(f"# {runs} runs each, medians in ms; uid {os.geteuid()}; load {os.getloadavg()[0]:.2f}")
print("| workload | " + " | ".join(cols) + " | gvisor / namespaces | gvisor - runsc do |")
print("|---|" + "---:|" * (len(cols) + 2))
for wname, med in results.items():
    cells = [f"{med[c]:.1f}" if c in med else "n/a" for c in cols]
    ratio = f"{med['gvisor'] / med['namespaces']:.1f}x" if "gvisor" in med and "namespaces" in med else "n/a"
    over = f"{med['gvisor'] - med['runsc do']:+.1f} ms" if "gvisor" in med and "runsc do" in med else "n/a"
    print(f"| {wname} | " + " | ".join(cells) + f" | {ratio} | {over} |")
if own:
    print(f"# airlock's own work under gvisor (AIRLOCK_TRACE: before runsc starts + after it ends), median of "
          f"{len(own)}: {statistics.median(own):.1f} ms")
PY
