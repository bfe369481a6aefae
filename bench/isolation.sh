#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/isolation.sh - one run, side by side, of the isolation levels
# (docs/isolation.md): `/bin/true` and a small Python script under
#
#   namespaces   airlock run --isolation namespaces -- CMD   (the default)
#   gvisor       airlock run --isolation gvisor -- CMD
#   runsc do     runsc --platform=ptrace --network=none --ignore-cgroups do CMD  (runsc alone, root only:
#                the host's / as the root, no limits, none of airlock's work)
#   vm           airlock run --isolation vm --allow-degraded -- CMD   (TCG emulation on a host without
#                VMX/SVM; "n/a" when this build or host has no vm backend)
#   docker runsc docker run --rm --runtime runsc --network none -v /usr:/usr:ro IMG CMD  (Debian's
#                docker.io, a private dockerd started here whose runsc runtime has the same flags as
#                the `runsc do` column; the image is symlinks to the host's /usr, like airlock's root;
#                root only, "n/a" without docker.io or runsc)
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
REPO=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=""
DK=""
if [ -n "$RUNSC" ] && [ "$(id -u)" = 0 ] && command -v docker >/dev/null && command -v dockerd >/dev/null; then
  # shellcheck source=tests/oci/private_dockerd.sh
  . "$REPO/tests/oci/private_dockerd.sh"
  DK=$(mktemp -d /tmp/al-iso.XXXXXX)
  trap 'dockerd_stop "$DK"; rm -rf "$DK"' EXIT
  printf '{"runtimes": {"runsc": {"path": "%s", "runtimeArgs": ["--platform=ptrace", "--network=none", "--ignore-cgroups"]}}}\n' \
    "$RUNSC" >"$DK/daemon.json"
  mkdir -p "$DK/rootfs/etc" "$DK/rootfs/usr" "$DK/rootfs/tmp"
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$DK/rootfs/$l"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$DK/rootfs/etc/passwd"
  if dockerd_start "$DK" "" --config-file "$DK/daemon.json" && docker_import "$DK" "$DK/rootfs" al-iso-usr; then
    DOCKER=$(command -v docker)
  else
    echo "# docker runsc: dockerd did not start: $(tail -n 2 "$DK/log" 2>/dev/null)" >&2
  fi
fi
python3 - "$AIRLOCK" "$RUNS" "$RUNSC" "$DOCKER" <<'PY'
import os, statistics, subprocess, sys, time
airlock, runs, runsc, docker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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
backends["vm"] = lambda cmd: [airlock, "run", "--isolation", "vm", "--allow-degraded", "--", *cmd]
if docker:
    backends["docker runsc"] = lambda cmd: [docker, "run", "--rm", "--runtime", "runsc", "--network", "none",
                                            "-v", "/usr:/usr:ro", "al-iso-usr", *cmd]
available = {name: works(make(["/bin/true"])) for name, make in backends.items()}

def once(argv):
    # stdio are pipes of ours, never /dev/null: runsc (the `runsc do`
    # column) changes the owner of the descriptors it gets as stdio to its
    # sandbox user, and would leave the host's /dev/null owned by nobody
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.close(in_w)
    t = time.perf_counter_ns()
    env = {"PATH": "/usr/bin:/bin"}
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    pid = os.posix_spawn(argv[0] if argv[0].startswith("/") else "/usr/bin/" + argv[0], argv, env,
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
print("| workload | " + " | ".join(cols) + " | gvisor / namespaces | gvisor - runsc do | docker runsc / gvisor |")
print("|---|" + "---:|" * (len(cols) + 3))
for wname, med in results.items():
    cells = [f"{med[c]:.1f}" if c in med else "n/a" for c in cols]
    ratio = f"{med['gvisor'] / med['namespaces']:.1f}x" if "gvisor" in med and "namespaces" in med else "n/a"
    over = f"{med['gvisor'] - med['runsc do']:+.1f} ms" if "gvisor" in med and "runsc do" in med else "n/a"
    dk = f"{med['docker runsc'] / med['gvisor']:.2f}x" if "docker runsc" in med and "gvisor" in med else "n/a"
    print(f"| {wname} | " + " | ".join(cells) + f" | {ratio} | {over} | {dk} |")
if own:
    print(f"# airlock's own work under gvisor (AIRLOCK_TRACE: before runsc starts + after it ends), median of "
          f"{len(own)}: {statistics.median(own):.1f} ms")
PY
