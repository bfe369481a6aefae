#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make_rootfs.sh DIR: an image-less rootfs for the airlock-oci tests: Debian's
# static busybox (busybox-static) and its applets, nothing else.
set -eu
DIR=${1:?usage: make_rootfs.sh DIR}
BB=$(command -v busybox || true)
[ -n "$BB" ] && file -L "$BB" 2>/dev/null | grep -q 'statically linked' || BB=/bin/busybox
[ -x "$BB" ] || { echo "no busybox (apt-get install busybox-static)" >&2; exit 77; }
mkdir -p "$DIR/bin" "$DIR/etc" "$DIR/proc" "$DIR/sys" "$DIR/dev" "$DIR/tmp"
chmod 1777 "$DIR/tmp"
cp "$BB" "$DIR/bin/busybox"
for a in sh true false cat ls id sleep echo ps grep touch seq wc kill stat tty mkdir readlink head; do
  ln -sf busybox "$DIR/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$DIR/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$DIR/etc/group"
