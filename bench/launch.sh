#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/launch.sh - start-up cost of one sandboxed /bin/true, side by side:
#
#   airlock   airlock run -- /bin/true            (all defaults: user, pid, mount,
#             net, ipc, uts namespaces; seccomp; Landlock; cgroup limits)
#   bwrap     bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
#                   --unshare-all --die-with-parent /bin/true
#   true      /bin/true, no sandbox (the floor: fork + exec + exit)
#
# The comparison is deliberately not like for like: bwrap sets up namespaces
# and mounts only (no seccomp filter, no Landlock, no resource limits), while
# airlock does all of that *and* creates cgroups.  The issue's target is an
# airlock median of at most 0.7x bwrap's.  This is a benchmark, not a test:
# it reports numbers and whether the target was met in this run, and exits 0
# either way (non-zero only when it cannot run at all).
#
# Method: one Python process times every run the same way
# (time.perf_counter_ns around os.posix_spawn + os.waitpid, stdio on /dev/null),
# so harness overhead is identical for all commands; nothing is subtracted.
# Commands are interleaved round-robin (one run of each per round, start
# rotated every round) after warm-up rounds, so drift on a noisy VM hits all
# of them alike.  Peak memory is GNU time's %M (max RSS of the process and the
# descendants it reaped), median of --mem-runs runs.
#
# Started as root with AIRLOCK_BENCH_USER=<existing user>, it also times
# airlock as that user: a different configuration (rootless, no delegated
# cgroup, so --allow-degraded: rlimits instead of cgroup limits).  Those runs
# are timed by the same code in a helper Python process started once as that
# user (setpriv), still interleaved with the others.
#
# A before/after comparison in one sitting: --baseline PATH adds another
# airlock binary (an older build) as one more interleaved command, and
# --workspace adds, for each airlock, the same run with a read-write
# workspace (as root a directory of uid 1000's: the idmapped mount path).
#
# usage: bench/launch.sh [--runs N] [--warmup N] [--mem-runs N]
#                        [--airlock PATH] [--baseline PATH] [--workspace] [--json FILE]
# Without --airlock it builds build-bench/airlock (Release) from this tree.
# --json FILE writes the raw samples (ns) and the summary as JSON.
set -euo pipefail

RUNS=300
WARMUP=10
MEM_RUNS=20
AIRLOCK=""
BASELINE=""
WITH_WORKSPACE=""
JSON=""

usage() {
  sed -n '/^# usage:/,/^# --json/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
    --warmup) WARMUP="${2:?--warmup needs a number}"; shift 2 ;;
    --mem-runs) MEM_RUNS="${2:?--mem-runs needs a number}"; shift 2 ;;
    --airlock) AIRLOCK="${2:?--airlock needs a path}"; shift 2 ;;
    --baseline) BASELINE="${2:?--baseline needs a path}"; shift 2 ;;
    --workspace) WITH_WORKSPACE=yes; shift ;;
    --json) JSON="${2:?--json needs a file}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "launch.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$RUNS" "$WARMUP" "$MEM_RUNS"; do
  case "$n" in ''|*[!0-9]*) echo "launch.sh: not a number: $n" >&2; exit 2 ;; esac
done
[ "$RUNS" -ge 1 ] || { echo "launch.sh: --runs must be at least 1" >&2; exit 2; }
[ "$WARMUP" -ge 1 ] || WARMUP=1  # the warm-up round also checks that each command works

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IS_ROOT=no
[ "$(id -u)" -eq 0 ] && IS_ROOT=yes
NOTES=()

command -v python3 >/dev/null || { echo "launch.sh: python3 is required" >&2; exit 1; }

# --- airlock binary ---------------------------------------------------------
if [ -z "$AIRLOCK" ]; then
  log="$(mktemp)"
  echo "building $REPO/build-bench (Release) ..." >&2
  if ! { cmake -S "$REPO" -B "$REPO/build-bench" -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$REPO/build-bench" -j"$(nproc)" --target airlock-cli; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "launch.sh: build failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  AIRLOCK="$REPO/build-bench/airlock"
fi
[ -x "$AIRLOCK" ] || { echo "launch.sh: not executable: $AIRLOCK" >&2; exit 1; }
AIRLOCK="$(cd "$(dirname "$AIRLOCK")" && pwd)/$(basename "$AIRLOCK")"
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || { echo "launch.sh: not executable: $BASELINE" >&2; exit 1; }
  BASELINE="$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")"
fi

# --- tools, installed when missing and we are root ----------------------------
apt_install() { # package
  [ "$IS_ROOT" = yes ] && command -v apt-get >/dev/null || return 1
  echo "installing $1 ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >/dev/null 2>&1 && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >/dev/null 2>&1
}

BWRAP="$(command -v bwrap || true)"
if [ -z "$BWRAP" ] && apt_install bubblewrap; then BWRAP="$(command -v bwrap || true)"; fi
[ -n "$BWRAP" ] || NOTES+=("bwrap not found and not installable: the bwrap case is skipped")

GNU_TIME=/usr/bin/time
if ! [ -x "$GNU_TIME" ] && ! apt_install time; then
  GNU_TIME=""
  NOTES+=("/usr/bin/time not found and not installable: peak memory is skipped")
fi

SETPRIV="$(command -v setpriv || true)"
BENCH_USER="${AIRLOCK_BENCH_USER:-}"
if [ -n "$BENCH_USER" ]; then
  if [ "$IS_ROOT" != yes ]; then
    NOTES+=("AIRLOCK_BENCH_USER is set but not running as root: rootless case skipped"); BENCH_USER=""
  elif ! id -u "$BENCH_USER" >/dev/null 2>&1; then
    NOTES+=("AIRLOCK_BENCH_USER=$BENCH_USER: no such user: rootless case skipped"); BENCH_USER=""
  elif [ -z "$SETPRIV" ]; then
    NOTES+=("setpriv (util-linux) not found: rootless case skipped"); BENCH_USER=""
  fi
elif [ "$IS_ROOT" = yes ]; then
  NOTES+=("rootless case not run (set AIRLOCK_BENCH_USER=<existing user> to add it)")
fi

# --- environment ----------------------------------------------------------------
CPU="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"
[ -n "$CPU" ] || CPU="$(uname -m)"
REV="unknown"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  REV="$(git -C "$REPO" rev-parse --short HEAD)"
  [ -z "$(git -C "$REPO" status --porcelain -- src include CMakeLists.txt 2>/dev/null)" ] || REV="$REV + uncommitted changes"
fi

echo "== airlock launch benchmark: one sandboxed /bin/true =="
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:   $(uname -r) ($(uname -m))"
echo "cpu:      $CPU"
echo "nproc:    $(nproc)"
echo "root:     $IS_ROOT (uid $(id -u))"
echo "airlock:  $AIRLOCK (git $REV)"
[ -z "$BASELINE" ] || echo "baseline: $BASELINE"
echo "bwrap:    ${BWRAP:-missing}${BWRAP:+ ($("$BWRAP" --version 2>/dev/null | head -n1))}"
echo "python:   $(python3 -c 'import platform; print(platform.python_version())')"
echo "runs:     $RUNS timed rounds after $WARMUP warm-up rounds, round-robin; memory: $MEM_RUNS runs"
for n in ${NOTES[@]+"${NOTES[@]}"}; do echo "note:     $n"; done
echo

export BENCH_RUNS="$RUNS" BENCH_WARMUP="$WARMUP" BENCH_MEM_RUNS="$MEM_RUNS" BENCH_JSON="$JSON"
export BENCH_AIRLOCK="$AIRLOCK" BENCH_BWRAP="$BWRAP" BENCH_TIME="$GNU_TIME"
export BENCH_SETPRIV="$SETPRIV" BENCH_USER BENCH_BASELINE="$BASELINE" BENCH_WORKSPACE="$WITH_WORKSPACE"
exec python3 - <<'PY'
import gc, json, os, pwd, shutil, statistics, subprocess, sys, tempfile, time

E = os.environ
runs, warmup, mem_runs = int(E["BENCH_RUNS"]), int(E["BENCH_WARMUP"]), int(E["BENCH_MEM_RUNS"])
airlock, bwrap, gnu_time = E["BENCH_AIRLOCK"], E["BENCH_BWRAP"], E["BENCH_TIME"]
user, setpriv = E["BENCH_USER"], E["BENCH_SETPRIV"]
json_out = os.path.abspath(E["BENCH_JSON"]) if E["BENCH_JSON"] else ""
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
os.chdir("/")

# The one timing routine.  It is exec'd here and, for the rootless case, in a
# helper Python process running as that user, so every sample is taken by
# the same code: perf_counter_ns around posix_spawn (vfork-based) + waitpid.
TIMER = r'''
import os, time
_devnull = os.open(os.devnull, os.O_RDWR)
_fa = [(os.POSIX_SPAWN_DUP2, _devnull, fd) for fd in (0, 1, 2)]
def once(argv, env):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=_fa)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    return t1 - t0, os.waitstatus_to_exitcode(status)
'''
exec(TIMER)

HELPER = TIMER + r'''
import gc, json, sys
gc.disable()
env = json.loads(sys.argv[1])
for line in sys.stdin:
    ns, rc = once(json.loads(line), env)
    sys.stdout.write("%d %d\n" % (ns, rc))
    sys.stdout.flush()
'''

class Helper:
    """A timer running as another user (started once through setpriv)."""
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.prefix = [setpriv, "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--init-groups"]
        self.p = subprocess.Popen(self.prefix + [sys.executable, "-c", HELPER, json.dumps(ENV)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/")
    def once(self, argv):
        self.p.stdin.write(json.dumps(argv) + "\n")
        self.p.stdin.flush()
        ns, rc = self.p.stdout.readline().split()
        return int(ns), int(rc)
    def close(self):
        self.p.stdin.close()
        self.p.wait()

helper = Helper(user) if user else None
ROOTLESS = "airlock rootless (degraded: rlimits)"

# label, argv, timer.  The first three are the comparison the issue asks for.
local = lambda argv: once(argv, ENV)
baseline, with_ws = E["BENCH_BASELINE"], E["BENCH_WORKSPACE"] == "yes"
ws_dir = ""
if with_ws:
    ws_dir = tempfile.mkdtemp(prefix="airlock-bench-ws-")
    os.chmod(ws_dir, 0o755)
    if os.geteuid() == 0:
        os.chown(ws_dir, 1000, 1000)  # a regular user's: root may not hand out its own
cases = [("airlock", [airlock, "run", "--", "/bin/true"], local)]
if with_ws:
    cases.append(("airlock --workspace", [airlock, "run", "--workspace", ws_dir, "--", "/bin/true"], local))
if baseline:
    cases.append(("baseline", [baseline, "run", "--", "/bin/true"], local))
    if with_ws:
        cases.append(("baseline --workspace", [baseline, "run", "--workspace", ws_dir, "--", "/bin/true"], local))
if bwrap:
    cases.append(("bwrap", [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                            "--tmpfs", "/tmp", "--unshare-all", "--die-with-parent", "/bin/true"], local))
cases.append(("true", ["/bin/true"], local))
if helper:
    cases.append((ROOTLESS, [airlock, "run", "--allow-degraded", "--", "/bin/true"], helper.once))

def as_user(label, argv):
    return helper.prefix + argv if label == ROOTLESS else argv

def why(label, argv):
    p = subprocess.run(as_user(label, argv), env=ENV, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return ((p.stderr.strip() or p.stdout.strip() or "no output").splitlines() or ["?"])[-1][:200]

# Warm-up rounds, which also check that each command works (a failing one
# is dropped and reported).
skipped = []
for _ in range(warmup):
    for c in list(cases):
        _, rc = c[2](c[1])
        if rc != 0:
            skipped.append((c[0], "exit %d: %s" % (rc, why(c[0], c[1]))))
            cases.remove(c)
for label, reason in skipped:
    print("skipped:  %s (%s)" % (label, reason))

# Timed rounds: one run of each command per round, start rotated each round.
samples = {c[0]: [] for c in cases}
failures = {c[0]: 0 for c in cases}
gc.disable()
for r in range(runs):
    k = r % len(cases)
    for label, argv, timer in cases[k:] + cases[:k]:
        ns, rc = timer(argv)
        samples[label].append(ns)
        if rc != 0:
            failures[label] += 1
gc.enable()
if helper:
    helper.close()

def pct(xs, p):
    """Percentile, linear interpolation between closest ranks."""
    s = sorted(xs)
    i = (len(s) - 1) * p / 100.0
    lo = int(i)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)

ms = lambda ns: ns / 1e6
stats = {}
for label, _, _ in cases:
    xs = samples[label]
    stats[label] = {"n": len(xs), "median_ms": ms(pct(xs, 50)), "p10_ms": ms(pct(xs, 10)),
                    "p90_ms": ms(pct(xs, 90)), "mean_ms": ms(statistics.fmean(xs)),
                    "failures": failures[label]}

w = max([len("command")] + [len(c[0]) for c in cases])
print("start-up time of one /bin/true, wall clock per spawn+wait (ms):")
print("%-*s %9s %9s %9s %9s %6s" % (w, "command", "median", "p10", "p90", "mean", "runs"))
for label, _, _ in cases:
    s = stats[label]
    fail = "  (%d runs exited non-zero)" % s["failures"] if s["failures"] else ""
    print("%-*s %9.3f %9.3f %9.3f %9.3f %6d%s" % (w, label, s["median_ms"], s["p10_ms"], s["p90_ms"],
                                                  s["mean_ms"], s["n"], fail))
if ROOTLESS in stats:
    print("(%s: a different configuration, run as user %s;" % (ROOTLESS, user))
    print(" no cgroup limits, rlimit fallbacks instead; timed by the same code in a helper running as that user)")
print()

ratios = {}
def ratio(a, b):
    if a in stats and b in stats and stats[b]["median_ms"] > 0:
        ratios[a + "/" + b] = stats[a]["median_ms"] / stats[b]["median_ms"]
        return "%.3f" % ratios[a + "/" + b]
    return "n/a"
print("ratio of medians airlock/bwrap: %s" % ratio("airlock", "bwrap"))
if baseline:
    print("ratio of medians airlock/baseline: %s" % ratio("airlock", "baseline"))
    if with_ws:
        print("ratio of medians airlock --workspace/baseline --workspace: %s"
              % ratio("airlock --workspace", "baseline --workspace"))
print("ratio of medians airlock/true:  %s" % ratio("airlock", "true"))
if ROOTLESS in stats and "bwrap" in stats:
    print("ratio of medians airlock rootless (degraded)/bwrap: %s  (different configuration)"
          % ratio(ROOTLESS, "bwrap"))
met = None
if "airlock/bwrap" in ratios:
    met = ratios["airlock/bwrap"] <= 0.7
    print("target (issue): airlock median <= 0.7 x bwrap median -> %s in this run (%.3f ms vs limit %.3f ms)"
          % ("MET" if met else "NOT met", stats["airlock"]["median_ms"], 0.7 * stats["bwrap"]["median_ms"]))
else:
    print("target (issue): airlock median <= 0.7 x bwrap median -> not evaluated (airlock or bwrap missing)")
print("(informational only: one run on a noisy machine; compare medians over several runs)")
print()

# Peak memory: GNU time's %M is ru_maxrss from wait4, i.e. the largest RSS of
# the launcher and of the descendants it reaped (for airlock: the launcher
# and its sandbox child).  The "true" row is the floor under /usr/bin/time.
memory = {}
if gnu_time and mem_runs > 0:
    tmpdir = tempfile.mkdtemp(prefix="airlock-bench-")
    os.chmod(tmpdir, 0o711)  # the rootless case writes its (chowned) file here
    vals = {c[0]: [] for c in cases}
    for _ in range(mem_runs):
        for label, argv, _ in cases:
            out = os.path.join(tmpdir, "rss")
            with open(out, "w"):
                pass
            if label == ROOTLESS:
                os.chown(out, helper.uid, helper.gid)
            cmd = as_user(label, [gnu_time, "-f", "%M", "-o", out] + argv)
            p = subprocess.run(cmd, env=ENV, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                with open(out) as f:
                    v = int(f.read().split()[-1])
                if p.returncode == 0:
                    vals[label].append(v)
            except (OSError, ValueError, IndexError):
                pass
    shutil.rmtree(tmpdir, ignore_errors=True)
    print("peak memory, /usr/bin/time -f %%M: max RSS in KB (launcher and the descendants it reaped), %d runs:"
          % mem_runs)
    print("%-*s %9s %9s %9s" % (w, "command", "median", "min", "max"))
    for label, _, _ in cases:
        v = vals[label]
        memory[label] = {"samples_kb": v}
        if v:
            memory[label].update(median_kb=statistics.median(v), min_kb=min(v), max_kb=max(v))
            print("%-*s %9d %9d %9d" % (w, label, statistics.median(v), min(v), max(v)))
        else:
            print("%-*s %9s" % (w, label, "failed"))
    if "airlock" in memory and "bwrap" in memory and memory["bwrap"].get("median_kb"):
        print("ratio of medians airlock/bwrap: %.3f"
              % (memory["airlock"].get("median_kb", 0) / memory["bwrap"]["median_kb"]))
    print()

if json_out:
    doc = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kernel": os.uname().release, "nproc": os.cpu_count(), "root": os.geteuid() == 0,
        "runs": runs, "warmup_rounds": warmup, "order": "round-robin, start rotated each round",
        "commands": [{"label": l, "argv": a, "run_as": user if l == ROOTLESS else None,
                      "samples_ns": samples[l], **stats[l]} for l, a, _ in cases],
        "skipped": [{"label": l, "reason": r} for l, r in skipped],
        "ratios_of_medians": ratios,
        "target": {"airlock_over_bwrap_max": 0.7, "met": met},
        "memory_gnu_time_kb": memory,
    }
    with open(json_out, "w") as f:
        json.dump(doc, f, indent=1)
    print("raw samples written to %s" % json_out)
if ws_dir:
    shutil.rmtree(ws_dir, ignore_errors=True)
sys.exit(0)
PY
