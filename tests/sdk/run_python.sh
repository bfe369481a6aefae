#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the Python SDK's tests (clients/python/tests, pytest) against a real
# node that their fixture starts from the built binaries.  Needs root like
# the node's other end-to-end tests (the node's sandboxes get cgroup
# limits): exits 77 otherwise, and when no python3 with pytest is installed
# (scripts/install-deps installs python3-pytest).
#
# usage: run_python.sh AIRLOCK_BIN_DIR [pytest args...]
set -u
BIN=${1:?usage: run_python.sh AIRLOCK_BIN_DIR [pytest args...]}
shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$BIN" && pwd)
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP run_python.sh needs root (the node's sandboxes get cgroup limits)"; exit 77; }
for b in airlock airlock-node; do
  [ -x "$BIN/$b" ] || { echo "Bail out! $BIN/$b is not built"; exit 1; }
done
# the first python3 that has pytest: the one on PATH, else Debian's own
PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "1..0 # SKIP no python3 with pytest (scripts/install-deps installs python3-pytest)"; exit 77; }
cd "$SRC/clients/python" || exit 1
# nothing written into the source tree: no bytecode, no pytest cache
export PYTHONDONTWRITEBYTECODE=1
AIRLOCK_BIN_DIR=$BIN exec "$PY" -m pytest -p no:cacheprovider -v "$@" tests
