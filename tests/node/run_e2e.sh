#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end tests of the real node daemon: makes a state directory, tokens
# and TLS material, starts `airlock node` on a unix socket and on TLS on
# loopback, runs tests/node/e2e.py against it, then stops the node and checks
# that it leaves nothing behind (processes, cgroups).  Needs root, python3,
# openssl and sqlite3 (scripts/install-deps).  Prints TAP and a final "N
# passed, N failed" line; exits non-zero when a check failed, 77 when not
# root.
#
# usage: run_e2e.sh AIRLOCK_BIN_DIR [e2e.py --only ARGS]
#   AIRLOCK_BIN_DIR holds the built airlock and airlock-node binaries.
#   AIRLOCK_E2E_KEEP=1 keeps the temporary directory for a look afterwards.
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN_IN=${1:?usage: run_e2e.sh AIRLOCK_BIN_DIR [--only N,...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || skip_all "run_e2e.sh needs root (the node's sandboxes get cgroup limits)"
for tool in python3 openssl sqlite3; do
  command -v "$tool" >/dev/null 2>&1 || bail "$tool is installed (scripts/install-deps)"
done
for b in airlock airlock-node; do
  [ -x "$BIN_IN/$b" ] || bail "$BIN_IN/$b is built"
done

# A world-traversable parent: node-made workspaces live beside the state
# directory (STATE.workspaces) and must be reachable by the sandbox's uid.
T=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
chmod 755 "$T"
D=$T/state
mkdir -m 700 "$D"
# host workspaces: beside the state dir, reachable by the sandbox uid
# (each tenant names workspaces below its own directory, projects/<tenant>/)
mkdir -m 755 "$T/projects" "$T/projects/alice" "$T/projects/bob"
export AIRLOCK_E2E_PROJECTS="$T/projects"
mkdir -m 755 "$T/bin"
cp "$BIN_IN/airlock" "$BIN_IN/airlock-node" "$T/bin/"
chmod 755 "$T/bin"/*
AIRLOCK=$T/bin/airlock
# in sandboxes' environments only: leftovers are found by it in /proc/*/environ
MARK="e2e-mark-$$-$RANDOM$RANDOM"
# must never be visible inside a sandbox
export NODE_SECRET="sk-node-$RANDOM$RANDOM$RANDOM$RANDOM"
unset AIRLOCK_TOKEN

# Our node processes (the first one and those e2e.py starts) are listed in
# $T/node.pids as "PID STATE_DIR"; a pid is ours while its command line names
# our temp directory.
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$T/"; }
alive() { # not gone and not a zombie
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  case "$s" in Z* | X*) return 1 ;; esac
  return 0
}
stop_all() { # SIGTERM to every node of ours still running, SIGKILL after 10 s
  local pid _
  [ -e "$T/node.pids" ] || return 0
  while read -r pid _; do
    if alive "$pid" && ours "$pid"; then kill -TERM "$pid" 2>/dev/null; fi
  done <"$T/node.pids"
  for _ in $(seq 100); do
    local any=0
    while read -r pid _; do alive "$pid" && ours "$pid" && any=1; done <"$T/node.pids"
    [ $any = 0 ] && return 0
    sleep 0.1
  done
  while read -r pid _; do alive "$pid" && ours "$pid" && kill -KILL "$pid" 2>/dev/null; done <"$T/node.pids"
  return 1
}
marked() { grep -lsF "$MARK" /proc/[0-9]*/environ 2>/dev/null | sed 's|/proc/||; s|/environ||' | tr '\n' ' '; }
cgroups_of() { # cgroup directories made by node PID for its sandboxes
  find /sys/fs/cgroup -maxdepth 8 -type d -path "*/airlock/$1.*" 2>/dev/null
}
cleanup() {
  stop_all
  if [ "${AIRLOCK_E2E_KEEP:-0}" = 1 ]; then
    echo "# kept $T"
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tokens ------------------------------------------------------------------
for who in alice bob; do
  "$AIRLOCK" token create --name "$who" --state-dir "$D" >"$T/$who.token" 2>"$T/token.err" ||
    bail "airlock token create $who" "$(cat "$T/token.err")"
  chmod 600 "$T/$who.token"
done

# ---- TLS material --------------------------------------------------------------
mkdir "$T/tls"
if ! (
  cd "$T/tls" &&
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; } &&
    key ca.key &&
    openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=airlock-e2e-ca \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
    key server.key &&
    openssl req -new -key server.key -out server.csr -subj /CN=airlock-e2e-node &&
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
      'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' 'subjectKeyIdentifier=hash' \
      'authorityKeyIdentifier=keyid,issuer' >server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
      -extfile server.ext &&
    key client.key &&
    openssl req -new -key client.key -out client.csr -subj /CN=airlock-e2e-client &&
    printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth' \
      'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid,issuer' >client.ext &&
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 \
      -extfile client.ext &&
    key rogue.key &&
    openssl req -x509 -new -key rogue.key -out rogue.pem -days 2 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1
) >"$T/openssl.log" 2>&1; then
  bail "make the TLS material" "$(cat "$T/openssl.log")"
fi

# ---- the node ------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NODE_ARGS=(--state-dir "$D" --listen "unix:$D/node.sock" --listen "tcp:127.0.0.1:$PORT"
  --tls-cert "$T/tls/server.pem" --tls-key "$T/tls/server.key" --ready-file "$D/ready"
  --workspace-root "$T/projects")
"$AIRLOCK" node "${NODE_ARGS[@]}" </dev/null >>"$T/node.log" 2>&1 &
NODE_PID=$!
echo "$NODE_PID" >"$T/node.pid"
echo "$NODE_PID $D" >>"$T/node.pids"
for _ in $(seq 600); do
  [ -e "$D/ready" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$D/ready" ] || bail "the node starts" "$(cat "$T/node.log")"

# ---- the tests -----------------------------------------------------------------
START=$(date +%s)
# bash's own notice that the node was killed (the restart test does it) goes
# to a file, not into the test output
exec 3>&2 2>>"$T/shell.err"
python3 "$HERE/e2e.py" --bin-dir "$T/bin" --tmp "$T" --state "$D" --sock "$D/node.sock" --tls-port "$PORT" \
  --marker "$MARK" --pid-file "$T/node.pid" --pids-file "$T/node.pids" --ready-file "$D/ready" \
  --node-log "$T/node.log" --counts-file "$T/counts" "$@" -- "${NODE_ARGS[@]}" 2>&3
PY_RC=$?
exec 2>&3 3>&-
if [ -r "$T/counts" ]; then
  read -r pass fail n <"$T/counts"
else
  bad "e2e.py ended without results (exit $PY_RC)"
fi

# ---- stopping: nothing may be left behind ----------------------------------------
CUR=$(cat "$T/node.pid")
if alive "$CUR" && ours "$CUR"; then
  kill -TERM "$CUR"
  t0=$(date +%s%N)
  for _ in $(seq 200); do
    alive "$CUR" || break
    sleep 0.05
  done
  ms=$((($(date +%s%N) - t0) / 1000000))
  if alive "$CUR"; then
    result "the node exits within 10 s of SIGTERM" 1 "pid $CUR still running after ${ms} ms"
  else
    result "the node exits within 10 s of SIGTERM (${ms} ms)" 0
  fi
  if [ "$CUR" = "$NODE_PID" ]; then
    wait "$NODE_PID"
    rc=$?
    result "the node exits 0 after SIGTERM" "$([ $rc = 0 ] && echo 0 || echo 1)" "exit status $rc"
  fi
else
  result "the node is still running at the end of the tests" 1 "pid $CUR is gone; log: $(tail -n 20 "$T/node.log")"
fi
stop_all || result "every node of the test stops on SIGTERM" 1 "some needed SIGKILL"
sleep 0.2
left=$(marked)
result "no sandbox process is left after the node stopped" "$([ -z "$left" ] && echo 0 || echo 1)" \
  "processes with the marker: $left $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
cg=
while read -r pid _; do cg+=$(cgroups_of "$pid"); done <"$T/node.pids"
result "no cgroup directory of the node's pid is left under /sys/fs/cgroup/*/.../airlock/" \
  "$([ -z "$cg" ] && echo 0 || echo 1)" "$cg"
san=$(grep -E -m 5 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$T/node.log"*)
result "no sanitizer report in the node's log" "$([ -z "$san" ] && echo 0 || echo 1)" "$san"
if [ "$fail" -gt 0 ]; then
  echo "# node log (last 40 lines):"
  tail -n 40 "$T/node.log" | sed 's/^/#   /'
fi
echo "# $(( $(date +%s) - START )) s"
finish
