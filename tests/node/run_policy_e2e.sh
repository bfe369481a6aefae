#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs tests/node/policy_e2e.py (policy, approvals and audit against real
# nodes).  Needs root like the node's other end-to-end tests: the node's
# sandboxes get cgroup limits.  usage: run_policy_e2e.sh AIRLOCK_BIN_DIR
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN=${1:?usage: run_policy_e2e.sh AIRLOCK_BIN_DIR}
[ "$(id -u)" = 0 ] || skip_all "run_policy_e2e.sh needs root (the node's sandboxes get cgroup limits)"
exec python3 "$(dirname "$0")/policy_e2e.py" "$BIN"
