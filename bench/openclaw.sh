#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/openclaw.sh [N] - airlock's node and the official OpenClaw node host
# side by side through one gateway (the harness in ../shared/openclaw):
# `system.run true` p50/p90 over N sequential node.invoke calls each
# (gateway.sh bench), the agent's exec step (a whole agent turn through the
# mock model whose exec runs `true` on the node, M turns after one warm-up),
# and the RSS of the node processes (airlock's node and its recorder,
# sandboxes excluded; the official host's launcher + worker).
# Needs root (sandboxes). Prints one JSON line per node and a summary.
set -eu
N=${1:-30}
M=${AGENT_TURNS:-8}
H=${OPENCLAW_HARNESS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/openclaw}/gateway.sh
BIN=${AIRLOCK:-$(dirname "$0")/../build/airlock}
T=$(mktemp -d /tmp/al-ocbench.XXXXXX)
export OPENCLAW_HARNESS_STATE=$T/gw
mkdir -m 700 "$T/s"
trap '[ -n "${P:-}" ] && kill $P 2>/dev/null; wait 2>/dev/null; "$H" stop >/dev/null 2>&1; rm -rf "$T" "$T/s.workspaces"' EXIT
eval "$("$H" start)"
"$BIN" node --state-dir "$T/s" --listen "unix:$T/sock" --pool 0 --openclaw-gateway "$OPENCLAW_URL" \
  --openclaw-setup-code "$("$H" setup-code)" --openclaw-name airlock >"$T/node.log" 2>&1 &
P=$!
"$H" wait-node airlock 30 >/dev/null
"$H" ref-node official >/dev/null
"$H" wait-node official 60 >/dev/null
A=$("$H" bench airlock "$N" true)
O=$("$H" bench official "$N" true)
# agent turns, alternating between the nodes after 3 warm-up turns each (the
# gateway's first turns are seconds slower): the whole HTTP turn (the
# harness's "ops: agent turn MS ms") and the exec-tool gap, from the mock
# model's log: the time between its two calls of one turn (node.list,
# system.run.prepare, system.run, exec.finished and the agent's bookkeeping)
for _ in 1 2 3; do "$H" agent-exec airlock true >/dev/null 2>&1; "$H" agent-exec official true >/dev/null 2>&1; done
TA= TO=
for _ in $(seq "$M"); do
  TA="$TA $("$H" agent-exec airlock true 2>&1 >/dev/null | sed -n 's/^ops: agent turn \([0-9]*\) ms.*/\1/p')"
  TO="$TO $("$H" agent-exec official true 2>&1 >/dev/null | sed -n 's/^ops: agent turn \([0-9]*\) ms.*/\1/p')"
done
GAPS=$(python3 - "$OPENCLAW_HARNESS_STATE/logs/mock-llm.ndjson" "$M" <<'PY'
import json, sys
calls = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    calls.setdefault((e.get("node"), e.get("turn")), []).append(e["t"])
gaps = {"airlock": [], "official": []}
for (node, _), ts in calls.items():
    if node in gaps and len(ts) == 2:
        gaps[node].append(ts[1] - ts[0])
print(json.dumps({k: v[-int(sys.argv[2]):] for k, v in gaps.items()}))
PY
)
# airlock: the node process and its recorder child, not the sandboxes (each
# agent session gets one, named airlock-node until it runs airlock-init)
rss_a=0
for pid in $P $(pgrep -P $P -x airlock-record 2>/dev/null); do
  r=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0); rss_a=$((rss_a + ${r:-0}))
done
rss_o=$("$H" node-rss official)
echo "$A"; echo "$O"
python3 - "$A" "$O" "$rss_a" "$rss_o" "$TA" "$TO" "$GAPS" <<'PY'
import json, statistics, sys
a, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ra, ro = int(sys.argv[3]), int(sys.argv[4])
ta, to = ([int(x) for x in v.split()] for v in sys.argv[5:7])
gaps = json.loads(sys.argv[7])
med = lambda v: statistics.median(v) if v else None
print(json.dumps({"airlock_p50": a["p50"], "airlock_p90": a["p90"], "official_p50": o["p50"], "official_p90": o["p90"],
  "speedup_p50": round(o["p50"] / a["p50"], 2), "airlock_rss_kib": ra, "official_rss_kib": ro,
  "memory_ratio": round(ro / max(ra, 1), 1), "agent_turns": len(ta),
  "airlock_agent_turn_p50_ms": med(ta), "official_agent_turn_p50_ms": med(to),
  "agent_turn_ratio": round(med(to) / med(ta), 2) if ta and to else None,
  "airlock_exec_gap_p50_ms": med(gaps["airlock"]), "official_exec_gap_p50_ms": med(gaps["official"]),
  "exec_gap_ratio": round(med(gaps["official"]) / med(gaps["airlock"]), 2) if gaps["airlock"] and gaps["official"] else None}))
PY
