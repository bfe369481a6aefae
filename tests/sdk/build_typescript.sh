#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compiles the TypeScript SDK (clients/typescript) with tsc into OUT_DIR
# (OUT_DIR/dist), with typescript and @types/node from the SDK's
# package.json devDependencies installed from npm by name into DEPS_DIR once
# per package.json.  Shared by tests/sdk/run_typescript.sh and
# bench/clients.sh so that neither writes into the source tree.
# Exits 0 when OUT_DIR/dist/index.js is built, 1 otherwise (with the reason).
#
# usage: build_typescript.sh DEPS_DIR OUT_DIR
set -u
DEPS=${1:?usage: build_typescript.sh DEPS_DIR OUT_DIR}
OUT=${2:?usage: build_typescript.sh DEPS_DIR OUT_DIR}
PKG=$(cd "$(dirname "$0")/../../clients/typescript" && pwd)
sum=$(sha256sum <"$PKG/package.json" | cut -d' ' -f1)
if [ "$(cat "$DEPS/.sum" 2>/dev/null)" != "$sum" ] || [ ! -x "$DEPS/node_modules/.bin/tsc" ]; then
  rm -rf "$DEPS"
  mkdir -p "$DEPS"
  cp "$PKG/package.json" "$DEPS/"
  if ! (cd "$DEPS" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >"$DEPS/npm.log" 2>&1; then
    echo "npm install in $DEPS failed: $(tail -n 20 "$DEPS/npm.log")"
    exit 1
  fi
  echo "$sum" >"$DEPS/.sum"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$PKG/src" "$PKG/test" "$PKG/package.json" "$PKG/tsconfig.json" "$OUT/"
ln -s "$DEPS/node_modules" "$OUT/node_modules"
if ! (cd "$OUT" && ./node_modules/.bin/tsc -p .) >"$OUT/tsc.log" 2>&1; then
  echo "tsc failed: $(cat "$OUT/tsc.log")"
  exit 1
fi
