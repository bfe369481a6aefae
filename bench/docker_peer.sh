# SPDX-License-Identifier: Apache-2.0
# bench/docker_peer.sh - sourced by the benchmarks that measure `docker exec`
# as the peer (node_exec.sh, clients.sh): Debian's docker.io engine, started
# here when none runs (no bridge, no iptables rules), and one container of a
# debootstrap bookworm image, made once, running `sleep infinity` with
# --network none.  The caller sets IS_ROOT, TMP and the arrays and variables
# below before it calls setup_docker, and calls stop_dockerd on exit.

IMAGE=airlock-bench-bookworm
SUITE=bookworm
NAME=airlock-bench
DOCKER_OK=no
DOCKER_WHY=""
DOCKER_VERSION=""
DOCKERD_PID=""
CONTAINER=""
DOCKER=""

apt_install() { # package...
  [ "$IS_ROOT" = yes ] && command -v apt-get >/dev/null || return 1
  echo "installing $* ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null 2>&1 && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null 2>&1
}

stop_dockerd() { # the one this script started, if any
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "${0##*/}: dockerd (pid $DOCKERD_PID) did not stop in 30 s; killing it" >&2
      kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    fi
  fi
  DOCKERD_PID=""
}
# The first http(s) URI of an enabled "deb" source for $SUITE with "main",
# from the apt configuration (one-line .list files and deb822 .sources).
apt_mirror() {
  python3 - "$SUITE" <<'PY'
import glob, re, sys
suite = sys.argv[1]
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
        + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
def ok(uri):
    return re.match(r"https?://", uri) is not None
for f in files:
    try:
        text = open(f).read()
    except OSError:
        continue
    if f.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.split()
            if "deb" not in fields.get("types", []) or [x.lower() for x in fields.get("enabled", ["yes"])] == ["no"]:
                continue
            if suite in fields.get("suites", []) and "main" in fields.get("components", []):
                for uri in fields.get("uris", []):
                    if ok(uri):
                        print(uri.rstrip("/")); sys.exit(0)
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:] and ok(words[1]):
                print(words[1].rstrip("/")); sys.exit(0)
sys.exit(1)
PY
}

setup_docker() {
  # the CLI that comes with the engine (docker.io) when there is one
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER="$(command -v docker || true)"; fi
  if [ -z "$DOCKER" ] || ! command -v dockerd >/dev/null; then
    if ! "${DOCKER:-false}" info >/dev/null 2>&1; then
      apt_install docker.io || { DOCKER_WHY="docker.io is not installed and could not be installed"; return 1; }
      DOCKER=/usr/bin/docker
    fi
  fi
  [ -x "$DOCKER" ] || { DOCKER_WHY="no docker CLI"; return 1; }
  if ! "$DOCKER" info >/dev/null 2>&1; then
    [ "$IS_ROOT" = yes ] || { DOCKER_WHY="no docker daemon runs, and starting one needs root"; return 1; }
    command -v dockerd >/dev/null || { DOCKER_WHY="no dockerd binary"; return 1; }
    # No bridge and no iptables rules: the container runs with --network
    # none, and this keeps dockerd off the host's firewall.  setsid: a
    # Ctrl-C must not stop it before the container is removed.
    echo "starting dockerd (log: $TMP/dockerd.log) ..." >&2
    setsid dockerd --iptables=false --bridge=none >"$TMP/dockerd.log" 2>&1 </dev/null &
    DOCKERD_PID=$!
    for _ in $(seq 120); do
      "$DOCKER" info >/dev/null 2>&1 && break
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.5
    done
    if ! "$DOCKER" info >/dev/null 2>&1; then
      DOCKER_WHY="dockerd did not come up: $(grep -iE 'level=(error|fatal)|failed' "$TMP/dockerd.log" | tail -n1 | cut -c1-240)"
      return 1
    fi
    PEER_NOTES+=("dockerd started by this script (--iptables=false --bridge=none), stopped at the end")
  fi
  DOCKER_VERSION="$("$DOCKER" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null || echo '?')"
  if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt_install debootstrap ||
      { DOCKER_WHY="image $IMAGE is missing and debootstrap could not be installed"; return 1; }
    local mirror proxy=""
    mirror="$(apt_mirror)" || { DOCKER_WHY="no http(s) Debian mirror for $SUITE main in the apt sources"; return 1; }
    eval "$(apt-config shell proxy Acquire::http::Proxy 2>/dev/null || true)"
    if [ -n "$proxy" ] && [ "$proxy" != DIRECT ]; then
      export http_proxy="$proxy" https_proxy="$proxy"
    fi
    if ! curl -sf -o /dev/null --max-time 20 "$mirror/dists/$SUITE/Release"; then
      DOCKER_WHY="the apt mirror $mirror is not reachable (needed by debootstrap)"; return 1
    fi
    echo "making image $IMAGE: debootstrap --variant=minbase $SUITE from $mirror (once; a few minutes) ..." >&2
    local root="$TMP/rootfs"
    if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$TMP/debootstrap.log" 2>&1; then
      DOCKER_WHY="debootstrap failed: $(tail -n1 "$TMP/debootstrap.log" | cut -c1-240)"; return 1
    fi
    if ! tar -C "$root" -c . | "$DOCKER" import - "$IMAGE" >/dev/null 2>"$TMP/import.log"; then
      DOCKER_WHY="docker import failed: $(tail -n1 "$TMP/import.log" | cut -c1-240)"; return 1
    fi
    rm -rf "$root"
    PEER_NOTES+=("image $IMAGE made in this run (debootstrap --variant=minbase $SUITE, $mirror)")
  else
    PEER_NOTES+=("image $IMAGE: cached from an earlier run")
  fi
  "$DOCKER" rm -f "$NAME" >/dev/null 2>&1 || true  # a container left by an interrupted run
  if ! "$DOCKER" run -d --network none --name "$NAME" "$IMAGE" sleep infinity >/dev/null 2>"$TMP/run.log"; then
    DOCKER_WHY="docker run failed: $(tail -n1 "$TMP/run.log" | cut -c1-240)"; return 1
  fi
  CONTAINER="$NAME"
  if ! "$DOCKER" exec "$NAME" true 2>"$TMP/exec.log"; then
    DOCKER_WHY="docker exec failed: $(tail -n1 "$TMP/exec.log" | cut -c1-240)"; return 1
  fi
  return 0
}

