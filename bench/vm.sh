#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/vm.sh - what --isolation vm costs (docs/vm.md), in three numbers:
#
#   cold   `airlock run --isolation vm --allow-degraded -- CMD`: QEMU spawned,
#          the guest kernel booted, the agent up, one exec, power-off; the
#          kernel and initramfs already cached (the first-ever run, which
#          builds them, is timed once and reported apart)
#   boot   QEMU spawned to the guest agent's READY (vm-exec's boot_ms)
#   warm   one exec round trip in a VM that is already up (vm-exec: the
#          request framed over virtio-serial, fork + exec in the guest, the
#          exit status back), for a static binary (the agent itself: the
#          protocol's floor), /bin/true and `python3 -c pass`
#   box    the same round trip for /bin/true through a node sandbox's path
#          (box.h over airlock-vm-agent, the node's pipes and SCM_RIGHTS;
#          build/vm_box_test with VM_BOX_BENCH)
#
# with `airlock run -- /bin/true` (namespaces) beside them.  Medians, one
# sitting; the cold runs are interleaved with the namespaces ones.  A
# section bench/isolation.sh can fold in: it prints one markdown table and,
# with --json FILE, the samples.  A benchmark: exits 0 whatever the numbers.
#
# usage: bench/vm.sh [--runs N (cold, default 10)] [--warm-runs N (default 50)] [--build DIR] [--json FILE]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=10 warm=50 build=$root/build json=
while [[ $# -gt 0 ]]; do
  case $1 in
  --runs) runs=$2; shift 2 ;;
  --warm-runs) warm=$2; shift 2 ;;
  --build) build=$2; shift 2 ;;
  --json) json=$2; shift 2 ;;
  *) echo "usage: $0 [--runs N] [--warm-runs N] [--build DIR] [--json FILE]" >&2; exit 2 ;;
  esac
done
airlock=$build/airlock vmexec=$build/vm-exec
[[ -x $airlock && -x $vmexec ]] || { echo "build first: cmake --build $build (airlock, vm-exec)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64" >&2; exit 2; }
work=$(mktemp -d /tmp/airlock-bench-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
export AIRLOCK_STATE_DIR=$work/state

python3 - "$airlock" "$vmexec" "$runs" "$warm" "$work" "${json:-}" <<'PY'
import json, os, statistics, subprocess, sys, time
airlock, vmexec, runs, warm, work, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
null = open(os.devnull, "w")
def timed(argv):
    t = time.perf_counter_ns()
    rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=null, stderr=null)
    if rc != 0:
        sys.exit(f"{argv} exited {rc}")
    return (time.perf_counter_ns() - t) / 1e6
vm = [airlock, "run", "--isolation", "vm", "--allow-degraded", "--"]
first = timed(vm + ["/bin/true"])           # builds the kernel + initramfs cache
samples = {"cold /bin/true": [], "cold python3 -c pass": [], "namespaces /bin/true": []}
for i in range(runs):
    samples["cold /bin/true"].append(timed(vm + ["/bin/true"]))
    samples["cold python3 -c pass"].append(timed(vm + ["python3", "-c", "pass"]))
    samples["namespaces /bin/true"].append(timed([airlock, "run", "--", "/bin/true"]))
warm_json = []
for i in range(3):  # three warm VMs, each with `warm` execs of every command
    p = subprocess.run([vmexec, "--runs", str(warm), "--quiet", "--", "/init", "--then", "/bin/true",
                        "--then", "python3", "-c", "pass"], capture_output=True, text=True)
    warm_json.append(json.loads(p.stderr.strip().splitlines()[-1]))
box = []
boxdir = os.path.join(work, "boxws"); os.makedirs(boxdir, exist_ok=True)
for i in range(3):  # the node's path: box.h -> airlock-vm-agent -> the guest, pipes as the node makes them
    p = subprocess.run([os.path.join(os.path.dirname(vmexec), "vm_box_test"), boxdir], capture_output=True, text=True,
                       env=dict(os.environ, VM_BOX_BENCH=str(warm)))
    box.append(json.loads(p.stdout.strip().splitlines()[-1])["box_exec_ms"])
boot = [w["boot_ms"] for w in warm_json]
med = lambda k: statistics.median(w["commands"][k]["exec_ms"]["median"] for w in warm_json)
p90 = lambda k: statistics.median(w["commands"][k]["exec_ms"]["p90"] for w in warm_json)
accel = warm_json[0]["accel"]
print(f"| what ({accel}) | median ms | runs |")
print("|---|---:|---:|")
print(f"| first run ever (builds the kernel + initramfs cache) | {first:.0f} | 1 |")
for k, v in samples.items():
    print(f"| {k} | {statistics.median(v):.0f} | {len(v)} |")
print(f"| boot: QEMU spawned to agent ready | {statistics.median(boot):.0f} | 3 |")
for k, name in enumerate(["warm exec: static binary (protocol floor)", "warm exec: /bin/true", "warm exec: python3 -c pass"]):
    print(f"| {name} | {med(k):.1f} (p90 {p90(k):.1f}) | 3x{warm} |")
print(f"| node sandbox (box.h over airlock-vm-agent): /bin/true | {statistics.median(b['median'] for b in box):.1f} (p90 {statistics.median(b['p90'] for b in box):.1f}) | 3x{warm} |")
t = med(1)
print(f"\nwarm exec round trip target (< 20 ms, /bin/true): {'met' if t < 20 else 'NOT met'} ({t:.1f} ms)")
if out:
    json.dump({"accel": accel, "first_ms": first, "samples_ms": samples, "warm": warm_json, "box": box}, open(out, "w"), indent=1)
PY
