#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/node_obs.sh - what the node's observability costs:
#
#   logs     execs into one persistent sandbox (bench/node_load.c, `true`,
#            concurrency 1 and 8) with two log lines per exec (a request and
#            an exec end) in JSON and in text, against --log-level error
#            (neither line is written); stderr goes to a file, as under a
#            service manager that is not journald
#   line     one exec end line alone, 200000 times into a file, per format
#            (bench/log_lines.c, log-lines)
#   scrape   GET /metrics, timed around a whole request on a fresh
#            connection (python3 over the unix socket), with the series
#            added for approvals (one SQLite count per scrape), the audit
#            writer (a round trip to the recorder process, at most every
#            100 ms) and sandboxes by state
#
# Each log setting gets its own node (same state directory, one after the
# other), rounds interleaved; the numbers are medians over the rounds of
# node-load's p50 and execs/second.  A benchmark, not a test: it prints
# numbers and exits 0 (non-zero only when it cannot run).
#
# usage: bench/node_obs.sh [--bin DIR] [--rounds N] [--requests N] [--scrapes N]
#   --bin DIR: a build directory with airlock, node-load and log-lines (default build)
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=$REPO/build
ROUNDS=3
REQUESTS=3000
SCRAPES=300
while [ $# -gt 0 ]; do
  case $1 in
  --bin) BIN=$2; shift 2 ;;
  --rounds) ROUNDS=$2; shift 2 ;;
  --requests) REQUESTS=$2; shift 2 ;;
  --scrapes) SCRAPES=$2; shift 2 ;;
  *) echo "usage: $0 [--bin DIR] [--rounds N] [--requests N] [--scrapes N]" >&2; exit 2 ;;
  esac
done
for b in airlock node-load log-lines; do
  [ -x "$BIN/$b" ] || { echo "bench/node_obs.sh: $BIN/$b is not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/node_obs.sh: needs root (the node's sandboxes get cgroups)" >&2; exit 1; }
T=$(mktemp -d /tmp/airlock-obs-bench.XXXXXX)
chmod 755 "$T"
mkdir -m 700 "$T/state"
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
TOKEN=$("$BIN/airlock" token create --name bench --max-concurrent 64 --state-dir "$T/state" 2>/dev/null | tail -n 1)
SOCK=$T/node.sock

start_node() { # start_node LOG_ARGS...
  rm -f "$T/ready"
  "$BIN/airlock" node --state-dir "$T/state" --listen "unix:$SOCK" --ready-file "$T/ready" --pool 0 "$@" \
    </dev/null 2>>"$T/node.log" &
  NODE_PID=$!
  for _ in $(seq 300); do [ -e "$T/ready" ] && return 0; sleep 0.05; done
  echo "the node did not start: $(tail -n 5 "$T/node.log")" >&2
  exit 1
}
stop_node() {
  kill "$NODE_PID"
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=
}
sandbox() {
  python3 - "$SOCK" "$TOKEN" <<'EOF'
import http.client, json, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
c = C("x"); c.request("POST", "/v1/sandboxes", "{}", {"Authorization": "Bearer " + sys.argv[2]})
print(json.loads(c.getresponse().read())["id"])
EOF
}

declare -A P50 RATE
for _ in $(seq "$ROUNDS"); do
  for setting in json text none; do
    case $setting in
    json) start_node --log-format json ;;
    text) start_node --log-format text ;;
    none) start_node --log-format json --log-level error ;;
    esac
    SB=$(sandbox)
    for c in 1 8; do
      out=$("$BIN/node-load" --node "unix:$SOCK" --token "$TOKEN" --sandbox "$SB" --concurrency "$c" \
        --requests "$REQUESTS" --warmup 200 --json)
      P50[$setting.$c]+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$out") "
      RATE[$setting.$c]+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["execs_per_s"])' "$out") "
    done
    stop_node
  done
done
lines=$(grep -c '"msg":"exec end"' "$T/node.log" || true)
bytes=$(stat -c %s "$T/node.log")

start_node --log-format json
SCRAPE=$(python3 - "$SOCK" "$SCRAPES" <<'EOF'
import socket, statistics, sys, time
path, n = sys.argv[1], int(sys.argv[2])
times, size = [], 0
for i in range(n + 20):
    t0 = time.perf_counter_ns()
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    if i >= 20:
        times.append((time.perf_counter_ns() - t0) / 1e6)
        size = len(data)
times.sort()
print("%.3f %.3f %d" % (statistics.median(times), times[int(len(times) * 0.99) - 1], size))
EOF
)
stop_node

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "# $(date -u +%F), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), git $(git -C "$REPO" rev-parse --short HEAD)"
echo "# $ROUNDS rounds x $REQUESTS execs of true into one persistent sandbox; medians over rounds"
echo "| log | c | p50 ms | execs/s |"
echo "|---|---:|---:|---:|"
for setting in json text none; do
  for c in 1 8; do
    echo "| $setting | $c | $(median <<<"${P50[$setting.$c]}") | $(median <<<"${RATE[$setting.$c]}") |"
  done
done
echo "# JSON log: $lines exec end lines, $bytes bytes of log in all (both kinds of line, every run)"
"$BIN/log-lines" "$T/lines.log" 200000 | sed 's/^/# one line alone, /'
read -r med p99 size <<<"$SCRAPE"
echo "# GET /metrics ($SCRAPES scrapes, new connection each): median $med ms, p99 $p99 ms, $size bytes"
