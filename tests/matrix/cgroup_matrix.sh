#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/matrix/cgroup_matrix.sh BUILD_DIR [LAYOUT...] - airlock's limits on
# cgroup layouts this host does not have: pure cgroup v2 (what Debian 12,
# Ubuntu 22.04+ and Fedora boot with), pure v1 and hybrid.  Each layout is
# one VM booted with Debian's kernel by airlock's own --isolation vm (under
# QEMU's TCG emulation where there is no usable KVM; hence --allow-degraded)
# and checked by guest.sh inside it, as root, in a delegated cgroup (v2) and
# rootless.  The guest has no systemd: a unit's delegation is reproduced as
# systemd does it (the trusted.delegate mark, a chowned sub-tree).
# Skips (77) without qemu-system-x86_64 or a guest kernel.
set -uo pipefail
build=$(cd "$1" && pwd)
shift
layouts=("$@")
[[ ${#layouts[@]} -gt 0 ]] || layouts=(v2 v1 hybrid)
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: no qemu-system-x86_64 (apt-get install qemu-system-x86)"; exit 77; }
ls /boot/vmlinuz-* >/dev/null 2>&1 || [[ -n ${AIRLOCK_VM_KERNEL:-} ]] ||
  { echo "SKIP: no guest kernel (apt-get install linux-image-amd64)"; exit 77; }

work=$(mktemp -d /tmp/airlock-matrix.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export AIRLOCK_STATE_DIR=$work/state
ws=$work/ws
mkdir -p "$ws"
cp "$build/airlock" "$build/airlock-node" "$here/guest.sh" "$ws/"
# the attack suite and its programs, run in each layout by guest.sh
mkdir -p "$ws/tests"
cp -r "$here/../attack" "$here/../lib" "$ws/tests/"
cp -r "$build/attack-bin" "$ws/"
chmod -R a+rX "$ws"
chmod 755 "$ws" "$ws"/*

fails=0
for layout in "${layouts[@]}"; do
  echo "# layout $layout: booting"
  out=$("$build/airlock" run --isolation vm --allow-degraded --memory 1g --timeout 600 --workspace "$ws" \
    -- /bin/sh /workspace/guest.sh stage1 "$layout" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  if [[ $rc != 0 ]] || ! grep -q '^# done [1-9]' <<<"$out"; then
    echo "FAIL $layout: the guest did not finish (exit $rc)"
    fails=$((fails + 1))
  fi
  n=$(grep -c '^not ok' <<<"$out")
  fails=$((fails + n))
done
if [[ $fails -gt 0 ]]; then echo "$fails failure(s)"; exit 1; fi
echo "all layouts passed"
