#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/openclaw.sh [N] - airlock's node and the official OpenClaw node host
# side by side through one gateway (the harness in ../shared/openclaw):
# `system.run true` p50/p90 over N sequential node.invoke calls each
# (gateway.sh bench), and the RSS of the node processes (airlock's node and
# its recorder, sandboxes excluded; the official host's launcher + worker).
# Needs root (sandboxes). Prints one JSON line per node and a summary.
set -eu
N=${1:-30}
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
# airlock: the node process and its recorder child, not the sandboxes
rss_a=0
for pid in $P $(pgrep -P $P -x airlock-node 2>/dev/null; pgrep -P $P -f 'recorder' 2>/dev/null); do
  r=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0); rss_a=$((rss_a + ${r:-0}))
done
rss_o=$("$H" node-rss official)
echo "$A"; echo "$O"
python3 - "$A" "$O" "$rss_a" "$rss_o" <<'PY'
import json, sys
a, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ra, ro = int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"airlock_p50": a["p50"], "airlock_p90": a["p90"], "official_p50": o["p50"], "official_p90": o["p90"],
  "speedup_p50": round(o["p50"] / a["p50"], 2), "airlock_rss_kib": ra, "official_rss_kib": ro,
  "memory_ratio": round(ro / max(ra, 1), 1)}))
PY
