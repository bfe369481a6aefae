#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A short tour of airlock: runs a few commands in sandboxes and shows what
# they can and cannot do.  Used by `make demo`.
set -u
AIRLOCK=${1:-build/airlock}
WS=$(mktemp -d /tmp/airlock-demo.XXXXXX)
trap 'rm -rf "$WS"' EXIT
chmod 777 "$WS"
# as root, a writable workspace must belong to a regular user (never root):
# the sandbox then runs as a host uid of its own, idmapped onto that owner
if [ "$(id -u)" = 0 ]; then chown "${SUDO_UID:-1000}:${SUDO_GID:-1000}" "$WS"; fi
echo 'print("hello from the workspace")' >"$WS/hello.py"
DEGRADED=""
if ! "$AIRLOCK" run -- true 2>/dev/null; then
  echo "(no usable cgroup for this user: running with --allow-degraded, limits fall back to rlimits)"
  DEGRADED=--allow-degraded
fi
step() { printf '\n$ %s\n' "$*"; }

step airlock run -- sh -c 'id; hostname; ls /'
"$AIRLOCK" run $DEGRADED -- sh -c 'id; hostname; ls /'

step airlock run --workspace "$WS" -- python3 /workspace/hello.py
"$AIRLOCK" run $DEGRADED --workspace "$WS" -- python3 /workspace/hello.py

step 'OPENAI_API_KEY=sk-demo airlock run -- sh -c "env"   # the caller'"'"'s secrets stay outside'
OPENAI_API_KEY=sk-demo "$AIRLOCK" run $DEGRADED -- sh -c 'env | sort'

step airlock run -- sh -c 'cat /etc/shadow; ls /root; rm -rf /usr/bin 2>&1 | head -2; curl -sS https://example.com'
"$AIRLOCK" run $DEGRADED -- sh -c 'cat /etc/shadow; ls /root; rm -rf /usr/bin 2>&1 | head -2; python3 -c "import urllib.request as u; u.urlopen(\"http://example.com\", timeout=2)" 2>&1 | tail -1'

step airlock run --timeout 1 -- sh -c 'while :; do :; done'
"$AIRLOCK" run $DEGRADED --timeout 1 -- sh -c 'while :; do :; done'
echo "exit code: $?"

step airlock run --memory 64m --report report.json -- python3 -c 'x = bytearray(512 << 20)'
"$AIRLOCK" run $DEGRADED --memory 64m --report "$WS/report.json" -- python3 -c 'x = bytearray(512 << 20)'
echo "exit code: $?"
cat "$WS/report.json"
