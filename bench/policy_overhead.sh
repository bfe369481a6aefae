#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/policy_overhead.sh - what the policy and the audit trail add to an
# exec round trip (issue target: under 10% slower).  Three nodes run side by
# side, identical but for their config:
#
#   off      {"audit": {"enabled": false}}: no policy, no audit (issue 3's node)
#   audit    the audit trail only (the default config)
#   policy   {"autonomy": {"level": "full"}, ...}: every exec classified and
#            judged, plus the audit trail (a request and a result record)
#
# Each round drives each node with bench/node_load.c (node-load) at
# concurrency 1, then at concurrency 8, executing `true` in one persistent
# sandbox (the round trip measured in bench/RESULTS.md for issue 3), and the
# order of the nodes rotates from round to round.  Printed: the median over
# rounds of each node's p50 latency and execs/s, and the ratios to `off`.
# A second pass runs the issue's 5-segment shell string through
# `sh -c` so the classifier has real work; there the command itself (five
# processes) dominates.
#
# usage: bench/policy_overhead.sh [BUILD_DIR] [ROUNDS] [REQUESTS]
#   defaults: build 7 1500.  Needs root (the node's sandboxes get cgroups).
# This is a benchmark, not a test: it exits 0 whatever the numbers are.
set -eu
BUILD=${1:-build}
ROUNDS=${2:-7}
REQUESTS=${3:-1500}
AIRLOCK=$BUILD/airlock
LOAD=$BUILD/node-load
for f in "$AIRLOCK" "$BUILD/airlock-node" "$LOAD"; do
  [ -x "$f" ] || { echo "policy_overhead.sh: $f is not built (make build)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "policy_overhead.sh: needs root"; exit 1; }

T=$(mktemp -d /tmp/airlock-bench-policy.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

declare -A CONFIG=(
  [off]='{"audit": {"enabled": false}}'
  [audit]='{}'
  [policy]='{"autonomy": {"level": "full"}, "approvalGating": {"approvers": ["op"]}}'
)
NODES=(off audit policy)
declare -A TOKEN SBOX
for name in "${NODES[@]}"; do
  mkdir -m 755 "$T/$name" # node-made workspaces sit beside the state dir: reachable by the sandbox uid
  printf '%s\n' "${CONFIG[$name]}" >"$T/$name.json"
  TOKEN[$name]=$("$AIRLOCK" token create --name bench --max-concurrent 64 --state-dir "$T/$name/state" 2>/dev/null)
  "$AIRLOCK" node --config "$T/$name.json" --state-dir "$T/$name/state" --listen "unix:$T/$name.sock" \
    --ready-file "$T/$name.ready" --pool 0 >"$T/$name.log" 2>&1 &
  PIDS+=($!)
done
for name in "${NODES[@]}"; do
  for _ in $(seq 200); do [ -e "$T/$name.ready" ] && break; sleep 0.05; done
  [ -e "$T/$name.ready" ] || { echo "node $name did not start:"; cat "$T/$name.log"; exit 1; }
  SBOX[$name]=$(curl -sS --unix-socket "$T/$name.sock" -H "Authorization: Bearer ${TOKEN[$name]}" \
    -d "{}" http://localhost/v1/sandboxes | python3 -c "import json,sys; j = json.load(sys.stdin); print(j.get(\"id\") or sys.exit(\"sandbox: %s\" % j))")
done

FIVE='cd /tmp && true && echo x | cat > /dev/null; test -d /tmp || false'

run_pass() { # label concurrency argv...
  local label=$1 conc=$2
  shift 2
  local out=$T/$label.c$conc.jsonl
  : >"$out"
  for round in $(seq "$ROUNDS"); do
    local order=("${NODES[@]:$((round % 3))}" "${NODES[@]:0:$((round % 3))}")
    for name in "${order[@]}"; do
      AIRLOCK_TOKEN=${TOKEN[$name]} "$LOAD" --node "unix:$T/$name.sock" --sandbox "${SBOX[$name]}" \
        --concurrency "$conc" --requests "$REQUESTS" --warmup 20 --label "$name" --json -- "$@" >>"$out"
    done
  done
  python3 - "$out" "$label" "$conc" <<'PY'
import json, statistics, sys
path, label, conc = sys.argv[1:]
runs = {}
for line in open(path):
    j = json.loads(line)
    runs.setdefault(j["label"], []).append(j)
med = {k: (statistics.median(r["p50_ms"] for r in v), statistics.median(r["execs_per_s"] for r in v),
           sum(r["failures"] for r in v)) for k, v in runs.items()}
print("%s, concurrency %s (%d rounds, median of per-round values)" % (label, conc, len(runs["off"])))
print("  %-8s %10s %12s %9s %14s" % ("node", "p50 ms", "execs/s", "failures", "p50 vs off"))
for k in ("off", "audit", "policy"):
    p50, tput, fails = med[k]
    print("  %-8s %10.3f %12.1f %9d %13.1f%%" % (k, p50, tput, fails, (p50 / med["off"][0] - 1) * 100))
print("  policy+audit vs off: p50 x%.3f, throughput x%.3f (target: under 10%% slower)" %
      (med["policy"][0] / med["off"][0], med["policy"][1] / med["off"][1]))
PY
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
run_pass "true" 1 true
run_pass "true" 8 true
run_pass "5-segment sh -c" 1 sh -c "$FIVE"
echo "audit records written by the policy node:"
sqlite3 "$T/policy/state/audit.db" 'select count(*) from records' 2>/dev/null || echo "  (sqlite3 not installed)"
