#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tests of the node's web UI against a real node: makes a state directory
# and tokens, starts `airlock node` on tcp:127.0.0.1:PORT (plaintext, with
# --insecure-plaintext) and on a unix socket, runs one of
#   api      tests/node/ui_test.py: sessions, CSRF, headers, rate limit (python3)
#   browser  tests/ui/ui.test.js: the UI in headless Chromium (playwright-core)
# then stops the node and checks its log for sanitizer reports.  Needs root
# like run_e2e.sh (the node's sandboxes get cgroup limits).  Prints TAP and
# a final "N passed, N failed" line; exits non-zero on a failure, 77 when
# skipped.
#
# usage: run_ui.sh AIRLOCK_BIN_DIR api|browser [test args...]
#   AIRLOCK_BIN_DIR holds the built airlock and airlock-node binaries (the
#   build directory: the browser test's node_modules are cached there).
#   AIRLOCK_UI_NODE_CONFIG=FILE adds --config FILE to the node (for example
#   to make the "approver" token an approver once approvals exist).
#   AIRLOCK_UI_FULL_FLOW=1 runs the browser test's approval flow too.
#   AIRLOCK_UI_KEEP=1 keeps the temporary directory.
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN_IN=${1:?usage: run_ui.sh AIRLOCK_BIN_DIR api|browser}
MODE=${2:?usage: run_ui.sh AIRLOCK_BIN_DIR api|browser}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BIN_IN=$(cd "$BIN_IN" && pwd)
[ "$(id -u)" = 0 ] || skip_all "run_ui.sh needs root (the node's sandboxes get cgroup limits)"
case $MODE in
api) need="python3 openssl" ;;
browser) need="node npm" ;;
*) echo "run_ui.sh: mode must be api or browser, not '$MODE'"; exit 2 ;;
esac
for tool in $need; do
  command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is missing (scripts/install-deps)"
done
if [ "$MODE" = browser ] && [ "$(node -e 'console.log(process.versions.node.split(".")[0])')" -lt 18 ]; then
  skip_all "playwright-core needs Node.js 18 or later, this is $(node --version)"
fi
CHROMIUM=${AIRLOCK_UI_CHROMIUM:-/usr/bin/chromium}
if [ "$MODE" = browser ] && [ ! -x "$CHROMIUM" ]; then
  skip_all "$CHROMIUM is missing (scripts/install-deps installs chromium)"
fi
for b in airlock airlock-node; do
  [ -x "$BIN_IN/$b" ] || bail "$BIN_IN/$b is built"
done

# The browser test's dependency (playwright-core, pinned in
# tests/ui/package-lock.json) is installed once per lock file into the build
# directory, not into the source tree.
if [ "$MODE" = browser ]; then
  DEPS=$BIN_IN/ui-test-deps
  lock_sum=$(cat "$SRC/tests/ui/package.json" "$SRC/tests/ui/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$DEPS/.lock-sum" 2>/dev/null)" != "$lock_sum" ] || [ ! -d "$DEPS/node_modules/playwright-core" ]; then
    rm -rf "$DEPS"
    mkdir -p "$DEPS"
    cp "$SRC/tests/ui/package.json" "$SRC/tests/ui/package-lock.json" "$DEPS/"
    (cd "$DEPS" && npm ci --no-audit --no-fund --loglevel=error) >"$DEPS/npm.log" 2>&1 ||
      bail "npm ci in $DEPS" "$(cat "$DEPS/npm.log")"
    echo "$lock_sum" >"$DEPS/.lock-sum"
  fi
fi

T=$(mktemp -d /tmp/airlock-ui.XXXXXX)
chmod 755 "$T"
D=$T/state
mkdir -m 700 "$D"
mkdir -m 755 "$T/bin"
cp "$BIN_IN/airlock" "$BIN_IN/airlock-node" "$T/bin/"
chmod 755 "$T/bin"/*
AIRLOCK=$T/bin/airlock
unset AIRLOCK_TOKEN
: >"$T/extra.pids"

NODE_PID=
# a pid is one of our nodes while its command line names our temp directory
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$T/"; }
cleanup() {
  local pid
  for pid in $NODE_PID $(cat "$T/extra.pids" 2>/dev/null); do
    ours "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  for _ in $(seq 100); do
    local any=0
    for pid in $NODE_PID $(cat "$T/extra.pids" 2>/dev/null); do ours "$pid" && any=1; done
    [ $any = 0 ] && break
    sleep 0.1
  done
  for pid in $NODE_PID $(cat "$T/extra.pids" 2>/dev/null); do ours "$pid" && kill -KILL "$pid" 2>/dev/null; done
  if [ "${AIRLOCK_UI_KEEP:-0}" = 1 ]; then
    echo "# kept $T"
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for who in alice bob carol approver agent; do
  "$AIRLOCK" token create --name "$who" --state-dir "$D" >"$T/$who.token" 2>"$T/token.err" ||
    bail "airlock token create $who" "$(cat "$T/token.err")"
done

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
NODE_ARGS=(--state-dir "$D" --listen "unix:$D/node.sock" --listen "tcp:127.0.0.1:$PORT" --insecure-plaintext
  --pool 1 --ready-file "$D/ready")
# the browser drives the whole approval flow: a supervised node whose
# approver is the token the page logs in with
if [ "$MODE" = browser ] && [ -z "${AIRLOCK_UI_NODE_CONFIG:-}" ]; then
  printf '%s\n' '{"autonomy": {"level": "supervised"}, "approvalGating": {"approvers": ["approver"], "timeout": 120000}}' \
    >"$T/ui-node.json"
  AIRLOCK_UI_NODE_CONFIG=$T/ui-node.json
fi
[ -n "${AIRLOCK_UI_NODE_CONFIG:-}" ] && NODE_ARGS+=(--config "$AIRLOCK_UI_NODE_CONFIG")
"$AIRLOCK" node "${NODE_ARGS[@]}" </dev/null >>"$T/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 600); do
  [ -e "$D/ready" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$D/ready" ] || bail "the node starts" "$(cat "$T/node.log")"

# their TAP lines become ours (tests/lib/testlib.sh)
if [ "$MODE" = api ]; then
  tap_merge < <(python3 "$HERE/ui_test.py" --bin-dir "$T/bin" --tmp "$T" --state "$D" --sock "$D/node.sock" \
    --port "$PORT" --tokens alice,bob,carol --web-dir "$SRC/web" --pids-file "$T/extra.pids" "$@")
else
  mkdir -m 700 "$T/profile"
  tap_merge < <(NODE_PATH=$DEPS/node_modules UI_URL="http://127.0.0.1:$PORT/" UI_TOKEN=$(cat "$T/approver.token") \
    UI_AGENT_TOKEN=$(cat "$T/agent.token") UI_CHROMIUM=$CHROMIUM UI_PROFILE_DIR=$T/profile \
    UI_FULL_FLOW=${AIRLOCK_UI_FULL_FLOW:-1} UI_SCREENSHOT_DIR=${AIRLOCK_UI_SCREENSHOTS:-} \
    node "$SRC/tests/ui/ui.test.js" "$@")
fi
[ "$TAP_MERGED_SUMMARY" = 1 ] || bad "the $MODE tests ran to their summary line"

kill -TERM "$NODE_PID"
wait "$NODE_PID"
rc=$?
NODE_PID=
# these two are counted only when they fail
[ $rc = 0 ] || bad "the node exits 0 after SIGTERM" "exit $rc"
san=$(grep -E -m 5 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$T/node.log" "$T"/node-*/node.log 2>/dev/null)
[ -z "$san" ] || bad "no sanitizer report in the nodes' logs" "$san"
if [ "$fail" -gt 0 ]; then
  echo "# node log (last 30 lines):"
  tail -n 30 "$T/node.log" | sed 's/^/#   /'
fi
finish
