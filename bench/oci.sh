#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/oci.sh - podman with airlock-oci against podman with runc, in one
# sitting (issue 16's target: faster than runc at the median):
#
#   run    podman --runtime R run --rm --rootfs DIR true
#   image  podman --runtime R run --rm IMAGE true   (DIR imported as an image)
#   exec   podman --runtime R exec CTR true   (into a running container)
#   drun   docker run --rm --runtime R IMAGE true   (Docker's engine)
#   dexec  docker exec CTR true
#
# The Docker rows use a dockerd of the benchmark's own
# (tests/oci/private_dockerd.sh: private directories and socket, runtime
# "airlock" added, the vfs storage driver), stopped at the end; they are
# left out when dockerd or docker is missing.
# DIR is an image-less rootfs of static busybox (tests/oci/make_rootfs.sh).
# A containers.conf of the benchmark's own (CONTAINERS_CONF) sets
# default_ulimits, which podman needs here (no CAP_SYS_RESOURCE).  The two
# runtimes alternate run by run (hyperfine's interleaving is per command,
# so this loop does it itself), after warm-up runs; medians and the ratio
# airlock/runc are printed, with the raw samples in --json FILE.  A
# benchmark, not a test: it exits 0 whether or not the target is met.
#
# usage: bench/oci.sh [--runs N] [--warmup N] [--oci PATH] [--runc PATH] [--json FILE]
# Needs root and podman.  Without --oci it uses build/airlock-oci of this tree.
set -eu
RUNS=30 WARMUP=3 JSON=
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OCI=$HERE/../build/airlock-oci
RUNC=$(command -v runc || echo /usr/sbin/runc)
while [ $# -gt 0 ]; do
  case $1 in
  --runs) RUNS=$2; shift 2 ;;
  --warmup) WARMUP=$2; shift 2 ;;
  --oci) OCI=$2; shift 2 ;;
  --runc) RUNC=$2; shift 2 ;;
  --json) JSON=$2; shift 2 ;;
  *) echo "usage: bench/oci.sh [--runs N] [--warmup N] [--oci PATH] [--runc PATH] [--json FILE]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench/oci.sh: needs root" >&2; exit 1; }
command -v podman >/dev/null || { echo "bench/oci.sh: needs podman" >&2; exit 1; }
OCI=$(readlink -f "$OCI")
TMP=$(mktemp -d /tmp/airlock-oci-bench.XXXXXX)
chmod 755 "$TMP"
IMG=localhost/airlock-oci-bench:$$
# shellcheck source=../tests/oci/private_dockerd.sh
. "$HERE/../tests/oci/private_dockerd.sh"
trap 'podman --runtime "$OCI" rm -f -t 0 bench-oci-airlock >/dev/null 2>&1; podman --runtime "$RUNC" rm -f -t 0 bench-oci-runc >/dev/null 2>&1; podman rmi -f "$IMG" >/dev/null 2>&1; dockerd_stop "$TMP/d"; rm -rf "$TMP"' EXIT
"$HERE/../tests/oci/make_rootfs.sh" "$TMP/rootfs"
DOCKER_IMG=
if command -v dockerd >/dev/null && command -v docker >/dev/null; then
  dockerd_start "$TMP/d" "$OCI" || { echo "bench/oci.sh: dockerd did not start: $(tail -3 "$TMP/d/log")" >&2; exit 1; }
  DOCKER_IMG=airlock-oci-bench:$$
  docker_import "$TMP/d" "$TMP/rootfs" "$DOCKER_IMG"
  docker run -d --runtime airlock --name bench-oci-airlock "$DOCKER_IMG" sleep 100000 >/dev/null
  docker run -d --runtime runc --name bench-oci-runc "$DOCKER_IMG" sleep 100000 >/dev/null
else
  echo "bench/oci.sh: no dockerd/docker: the Docker rows are left out" >&2
fi
printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' >"$TMP/containers.conf"
export CONTAINERS_CONF=$TMP/containers.conf
tar -C "$TMP/rootfs" -c . | podman import - "$IMG" >/dev/null 2>&1
podman --runtime "$OCI" run -d --name bench-oci-airlock --rootfs "$TMP/rootfs" sleep 100000 >/dev/null
podman --runtime "$RUNC" run -d --name bench-oci-runc --rootfs "$TMP/rootfs" sleep 100000 >/dev/null

python3 - "$OCI" "$RUNC" "$TMP/rootfs" "$RUNS" "$WARMUP" "$JSON" "$IMG" "$DOCKER_IMG" <<'PY'
import json, os, statistics, subprocess, sys, time
oci, runc, rootfs, runs, warmup, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
image, docker_image = sys.argv[7], sys.argv[8]
rts = {"airlock-oci": (oci, "bench-oci-airlock", "airlock"), "runc": (runc, "bench-oci-runc", "runc")}
def cmd(kind, rt):
    path, ctr, name = rts[rt]
    if kind == "drun":
        return ["docker", "run", "--rm", "--runtime", name, docker_image, "true"]
    if kind == "dexec":
        return ["docker", "exec", ctr, "true"]
    if kind == "run":
        return ["podman", "--runtime", path, "run", "--rm", "--rootfs", rootfs, "true"]
    if kind == "image":
        return ["podman", "--runtime", path, "run", "--rm", image, "true"]
    return ["podman", "--runtime", path, "exec", ctr, "true"]
def once(c):
    t = time.perf_counter_ns()
    r = subprocess.run(c, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit("failed: " + " ".join(c))
    return (time.perf_counter_ns() - t) / 1e6
samples = {}
kinds = ("run", "image", "exec") + (("drun", "dexec") if docker_image else ())
for kind in kinds:
    order = list(rts)
    for _ in range(warmup):
        for rt in order:
            once(cmd(kind, rt))
    for i in range(runs):
        for rt in (order if i % 2 == 0 else order[::-1]):
            samples.setdefault(kind, {}).setdefault(rt, []).append(once(cmd(kind, rt)))
print(f"{'':6} {'airlock-oci':>14} {'runc':>10} {'ratio':>7}   (medians in ms, {runs} runs each, interleaved)")
summary = {}
for kind in kinds:
    a = statistics.median(samples[kind]["airlock-oci"]); r = statistics.median(samples[kind]["runc"])
    summary[kind] = {"airlock-oci": a, "runc": r, "ratio": a / r}
    print(f"{kind:6} {a:14.1f} {r:10.1f} {a / r:7.3f}   {'faster than runc' if a < r else 'NOT faster than runc'}")
if out:
    json.dump({"samples_ms": samples, "medians_ms": summary}, open(out, "w"), indent=1)
PY
