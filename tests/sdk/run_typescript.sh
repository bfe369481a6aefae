#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the TypeScript SDK (clients/typescript) with tsc and runs its tests
# (node --test) against a real node that their fixture starts from the built
# binaries.  typescript and @types/node, pinned in the SDK's package.json
# devDependencies, are installed once per package.json into the build
# directory (sdk-ts-deps/), and the SDK is compiled there too (sdk-ts/):
# nothing is written into the source tree.  Needs root like the node's other
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
PKG=$SRC/clients/typescript

DEPS=$BIN/sdk-ts-deps
sum=$(sha256sum <"$PKG/package.json" | cut -d' ' -f1)
if [ "$(cat "$DEPS/.sum" 2>/dev/null)" != "$sum" ] || [ ! -x "$DEPS/node_modules/.bin/tsc" ]; then
  rm -rf "$DEPS"
  mkdir -p "$DEPS"
  cp "$PKG/package.json" "$DEPS/"
  (cd "$DEPS" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >"$DEPS/npm.log" 2>&1 ||
    bail "npm install in $DEPS: $(tail -n 20 "$DEPS/npm.log")"
  echo "$sum" >"$DEPS/.sum"
fi

OUT=$BIN/sdk-ts
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$PKG/src" "$PKG/test" "$PKG/package.json" "$PKG/tsconfig.json" "$OUT/"
ln -s "$DEPS/node_modules" "$OUT/node_modules"
(cd "$OUT" && ./node_modules/.bin/tsc -p .) >"$OUT/tsc.log" 2>&1 || bail "tsc: $(cat "$OUT/tsc.log")"
cd "$OUT" || exit 1
AIRLOCK_BIN_DIR=$BIN AIRLOCK_SRC_DIR=$SRC exec node --test --test-concurrency=1 "$@" test/*.test.mjs
