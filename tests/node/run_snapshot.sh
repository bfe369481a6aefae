#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Snapshots, restore, reset and fork of the node's persistent sandboxes
# (tests/node/snapshot_e2e.py) against a real `airlock node`: as root, then
# rootless (the node run by an unprivileged user with --allow-degraded).
# Prints TAP; exits non-zero when a check failed, 77 when not root.
#
# usage: run_snapshot.sh AIRLOCK_BIN_DIR [root|rootless|both]
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN_IN=${1:?usage: run_snapshot.sh AIRLOCK_BIN_DIR [root|rootless|both]}
WHICH=${2:-both}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || skip_all "run_snapshot.sh needs root (and makes an unprivileged user for the rootless pass)"
command -v python3 >/dev/null 2>&1 || bail "python3 is installed (scripts/install-deps)"
T=$(mktemp -d /tmp/airlock-snapshot.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
mkdir -m 755 "$T/bin"
cp "$BIN_IN/airlock" "$HERE/snapshot_e2e.py" "$T/bin/"
[ -x "$BIN_IN/airlock-node" ] && cp "$BIN_IN/airlock-node" "$T/bin/"
chmod 755 "$T/bin"/*
rc=0
if [ "$WHICH" != rootless ]; then
  echo "# as root"
  python3 "$T/bin/snapshot_e2e.py" --bin-dir "$T/bin" --tmp "$T" || rc=1
fi
if [ "$WHICH" != root ]; then
  have_test_user || bail "make the test user $TEST_USER"
  mkdir -m 700 "$T/rootless"
  chown "$TEST_USER:" "$T/rootless"
  echo "# rootless, as $TEST_USER"
  as_test_user /usr/bin/python3 "$T/bin/snapshot_e2e.py" --bin-dir "$T/bin" --tmp "$T/rootless" || rc=1
fi
exit $rc
