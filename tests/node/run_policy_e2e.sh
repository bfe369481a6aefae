#!/usr/bin/env bash
# Runs tests/node/policy_e2e.py (policy, approvals and audit against real
# nodes).  Needs root like the node's other end-to-end tests: the node's
# sandboxes get cgroup limits.  usage: run_policy_e2e.sh AIRLOCK_BIN_DIR
set -u
BIN=${1:?usage: run_policy_e2e.sh AIRLOCK_BIN_DIR}
if [ "$(id -u)" != 0 ]; then
  echo "run_policy_e2e.sh: needs root (the node's sandboxes get cgroup limits); skipped"
  exit 77
fi
exec python3 "$(dirname "$0")/policy_e2e.py" "$BIN"
