#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `airlock mcp` against a real node through the official MCP TypeScript SDK
# client: starts a node with a policy (ssh blocked, a dangerous pattern asks
# an approver), makes an agent and an approver token, installs the SDK from
# npm into the build directory (once per version) and runs
# tests/mcp/sdk_client.mjs.  Needs root (the node), Node.js 18 or later and
# npm; exits 77 without them.  Prints TAP and "N passed, N failed".
#
# usage: run_mcp.sh AIRLOCK_BIN_DIR
#   MCP_SDK_VERSION picks the SDK version (default below);
#   AIRLOCK_MCP_KEEP=1 keeps the temporary directory.
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN_IN=$(cd "${1:?usage: run_mcp.sh AIRLOCK_BIN_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SDK_VERSION=${MCP_SDK_VERSION:-1.32.2}
[ "$(id -u)" = 0 ] || skip_all "run_mcp.sh needs root (the node's sandboxes get cgroup limits)"
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is missing (scripts/install-deps installs nodejs and npm)"
done
node -e 'process.exit(parseInt(process.versions.node) >= 18 ? 0 : 1)' || skip_all "Node.js 18 or later is needed"
for b in airlock airlock-node; do
  [ -x "$BIN_IN/$b" ] || bail "$BIN_IN/$b is built"
done

# the SDK, by name and version, into the build directory
DEPS=$BIN_IN/mcp-test-deps
if [ "$(cat "$DEPS/.version" 2>/dev/null)" != "$SDK_VERSION" ] || [ ! -d "$DEPS/node_modules/@modelcontextprotocol/sdk" ]; then
  rm -rf "$DEPS"
  mkdir -p "$DEPS"
  if ! (cd "$DEPS" && npm install --no-audit --no-fund --loglevel=error "@modelcontextprotocol/sdk@$SDK_VERSION") \
    >"$DEPS/npm.log" 2>&1; then
    skip_all "npm could not install @modelcontextprotocol/sdk@$SDK_VERSION: $(tail -1 "$DEPS/npm.log")"
  fi
  echo "$SDK_VERSION" >"$DEPS/.version"
fi

T=$(mktemp -d /tmp/airlock-mcp-test.XXXXXX)
chmod 755 "$T" # node-made workspaces live beside the state directory
D=$T/state
mkdir -m 700 "$D"
NODE_PID=
cleanup() {
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID"
    for _ in $(seq 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null
  fi
  if [ "${AIRLOCK_MCP_KEEP:-0}" = 1 ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for who in agent approver; do
  "$BIN_IN/airlock" token create --name "$who" --state-dir "$D" >"$T/$who.token" 2>"$T/token.err" ||
    bail "airlock token create $who" "$(cat "$T/token.err")"
done
cat >"$T/config.json" <<'EOF'
{"autonomy": {"level": "full",
              "allowedActions": ["code_exec", "file_read", "file_write", "file_delete", "system_command"],
              "blockedActions": ["ssh_exec"]},
 "approvalGating": {"approvers": ["approver"], "timeout": 60000, "defaultAction": "reject"}}
EOF
"$BIN_IN/airlock" node --config "$T/config.json" --state-dir "$D" --listen "unix:$T/node.sock" \
  --ready-file "$T/ready" --pool 0 </dev/null >"$T/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 600); do
  [ -e "$T/ready" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$T/ready" ] || bail "the node starts" "$(cat "$T/node.log")"

MCP_SDK_DIR=$DEPS AIRLOCK=$BIN_IN/airlock NODE_SOCK=$T/node.sock AGENT_TOKEN=$(tail -1 "$T/agent.token") \
  APPROVER_TOKEN=$(tail -1 "$T/approver.token") timeout 300 node "$HERE/sdk_client.mjs"
rc=$?
if [ $rc != 0 ]; then
  echo "# node log:"
  tail -20 "$T/node.log" | sed 's/^/#   /'
fi
exit $rc
