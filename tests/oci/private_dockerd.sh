# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# private_dockerd.sh - a Docker engine of the caller's own (Debian's
# docker.io), for the tests and benchmarks that drive airlock-oci through
# Docker: its data, exec root, socket and pid file in one directory, no
# iptables, no bridge, the vfs storage driver, airlock-oci added as the
# runtime "airlock".  The host's docker service and /var/lib/docker are
# never used.  Sourced:
#
#   . tests/oci/private_dockerd.sh
#   dockerd_start DIR OCI [DOCKERD_ARGS...]   sets DOCKER_HOST; 0, or 1 (log in DIR/log);
#                                             OCI "": no runtime added (a --config-file names them)
#   dockerd_stop DIR                          removes every container, stops dockerd, waits
#   docker_import DIR ROOTFS NAME             a rootfs directory as image NAME
#
# DIR should be short: the socket path must fit in 108 bytes.  Safe under
# `set -e` (bench/oci.sh): dockerd_stop always returns 0.

dockerd_start() { # dockerd_start DIR OCI [DOCKERD_ARGS...]
  local dir=$1 oci=$2
  shift 2
  mkdir -p "$dir/root" "$dir/exec"
  [ -z "$oci" ] || set -- --add-runtime "airlock=$oci" "$@"
  setsid dockerd --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$dir/docker.sock" \
    --pidfile "$dir/pid" --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    "$@" >"$dir/log" 2>&1 </dev/null &
  echo $! >"$dir/dockerd.pid"
  export DOCKER_HOST=unix://$dir/docker.sock
  # readiness, not timing: up to 60 s for the socket to answer
  for _ in $(seq 1 120); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

dockerd_stop() { # dockerd_stop DIR
  local dir=$1 pid ids
  [ -s "$dir/dockerd.pid" ] || return 0
  pid=$(cat "$dir/dockerd.pid")
  if kill -0 "$pid" 2>/dev/null; then
    ids=$(DOCKER_HOST=unix://$dir/docker.sock docker ps -aq 2>/dev/null) || true
    # shellcheck disable=SC2086 # ids are words
    [ -z "$ids" ] || DOCKER_HOST=unix://$dir/docker.sock docker rm -f $ids >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true # reaped when it is this shell's child
  fi
  rm -f "$dir/dockerd.pid"
  # what dockerd mounted in its directories (network namespaces, shm)
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  return 0
}

docker_import() { # docker_import DIR ROOTFS NAME
  tar -C "$2" -c . | docker import - "$3" >/dev/null 2>>"$1/log"
}
