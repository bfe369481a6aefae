#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the TypeScript SDK (clients/typescript) with tsc and runs its tests
# (node --test) against a real node that their fixture starts from the built
# binaries.  tests/sdk/build_typescript.sh installs typescript and
# @types/node (pinned in the SDK's package.json devDependencies) once per
# package.json into the build directory (sdk-ts-deps/) and compiles the SDK
# there too (sdk-ts/): nothing is written into the source tree.  Needs root like the node's other
# end-to-end tests: exits 77 otherwise, and when Node.js 18+ or npm is missing.
#
# usage: run_typescript.sh AIRLOCK_BIN_DIR [node --test args...]
set -u
BIN=${1:?usage: run_typescript.sh AIRLOCK_BIN_DIR}
shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$BIN" && pwd)
skip() { echo "1..0 # SKIP $*"; exit 77; }
bail() { echo "Bail out! $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "run_typescript.sh needs root (the node's sandboxes get cgroup limits)"
for t in node npm; do command -v "$t" >/dev/null 2>&1 || skip "$t is missing (scripts/install-deps)"; done
[ "$(node -e 'console.log(process.versions.node.split(".")[0])')" -ge 18 ] || skip "the SDK needs Node.js 18 or later, this is $(node --version)"
for b in airlock airlock-node; do [ -x "$BIN/$b" ] || bail "$BIN/$b is not built"; done
OUT=$BIN/sdk-ts
why=$("$SRC/tests/sdk/build_typescript.sh" "$BIN/sdk-ts-deps" "$OUT") || bail "$why"
cd "$OUT" || exit 1
AIRLOCK_BIN_DIR=$BIN AIRLOCK_SRC_DIR=$SRC exec node --test --test-concurrency=1 "$@" test/*.test.mjs
