# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# openclaw_gateway.sh - for the tests that drive a real OpenClaw gateway's
# agent against a scripted model (tests/cli/mock_openai.py): start that
# model and write the gateway's openclaw.json with a given sandbox block.
# Sourced:
#
#   openclaw_agent_setup DIR SANDBOX_JSON
#
# starts the model (MOCK_PID; its requests in DIR/mock.ndjson), picks
# GW_PORT and GW_TOKEN, and writes DIR/gw/.openclaw/openclaw.json (mode
# 0600; the gateway's log in DIR/gateway.log) whose agents.defaults use the
# model and SANDBOX_JSON as their sandbox.
#
#   openclaw_gateway_ready      after the gateway (GW_PID) was started: wait
#                               for /readyz, or bail with its output
#   agent CMD                   one agent turn in the session "airlock-test"
#                               (the OpenAI `user` field keeps one OpenClaw
#                               session): the model calls exec with CMD;
#                               prints the tool output it got

openclaw_agent_setup() {
  local dir=$1 sandbox=$2
  python3 "$(dirname "${BASH_SOURCE[0]}")/../cli/mock_openai.py" "$dir/mock.port" "$dir/mock.ndjson" &
  MOCK_PID=$!
  for _ in $(seq 100); do [ -s "$dir/mock.port" ] && break; sleep 0.05; done
  GW_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  GW_TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  mkdir -p "$dir/gw/.openclaw"
  cat >"$dir/gw/.openclaw/openclaw.json" <<JSON
{
  "gateway": { "mode": "local", "bind": "loopback", "port": $GW_PORT,
               "auth": { "mode": "token", "token": "$GW_TOKEN" },
               "http": { "endpoints": { "chatCompletions": { "enabled": true } } } },
  "logging": { "file": "$dir/gateway.log" },
  "update": { "checkOnStart": false },
  "models": { "mode": "merge", "providers": { "mock": {
      "baseUrl": "http://127.0.0.1:$(cat "$dir/mock.port")/v1", "apiKey": "sk-mock", "api": "openai-completions",
      "timeoutSeconds": 60,
      "models": [ { "id": "m1", "name": "Mock", "reasoning": false, "input": ["text"],
                    "cost": { "input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0 },
                    "contextWindow": 120000, "maxTokens": 4096 } ] } } },
  "agents": { "defaults": { "model": { "primary": "mock/m1" }, "sandbox": $sandbox } }
}
JSON
  chmod 600 "$dir/gw/.openclaw/openclaw.json"
}

openclaw_gateway_ready() {
  local ready=0
  for _ in $(seq 600); do
    ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_PORT/readyz" 2>/dev/null)
    [ "$ready" = 200 ] && break
    kill -0 "$GW_PID" 2>/dev/null || break
    sleep 0.2
  done
  [ "$ready" = 200 ] || bail "the gateway starts" "$(tail -5 "$T/gateway.out")"
}

agent() {
  curl -s --max-time 240 -H "Authorization: Bearer $GW_TOKEN" -H 'content-type: application/json' \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"model": "openclaw", "user": "airlock-test", "messages": [{"role": "user", "content": "RUN: " + sys.argv[1]}]}))' "$1")" \
    "http://127.0.0.1:$GW_PORT/v1/chat/completions" >"$T/turn.json"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"])' "$T/turn.json" 2>/dev/null
}
