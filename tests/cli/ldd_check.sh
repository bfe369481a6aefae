#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ldd_check.sh - the libc-only `airlock` binary (run, gc, policy check) loads
# no shared library but libc, the dynamic loader and the vDSO: the node's
# libraries (SQLite, libsodium, OpenSSL, libcurl, libevent, libidn2) and
# libseccomp stay in `airlock-node`.  A sanitizer build may also load the
# sanitizer runtimes and what comes with them (libasan, libubsan, libm,
# libgcc_s, libstdc++, libpthread, libdl, librt) and a shared libjansson, but
# never one of those.  The same checks are run on `airlock-node` beside it,
# which links libsqlite3, to show that they see libraries.  Prints TAP and
# "N passed, N failed".
#
# usage: ldd_check.sh PATH_TO_AIRLOCK [SANITIZE]
#   SANITIZE: the build's AIRLOCK_SANITIZE (ON, OFF; default OFF)
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
AIRLOCK=${1:?usage: ldd_check.sh PATH_TO_AIRLOCK [SANITIZE]}
NODE=$(dirname "$AIRLOCK")/airlock-node
case ${2:-OFF} in
[Oo][Nn] | 1 | [Tt][Rr][Uu][Ee] | [Yy] | [Yy][Ee][Ss]) SANITIZE=1 ;;
*) SANITIZE=0 ;;
esac
command -v ldd >/dev/null || bail "ldd is installed (libc-bin)"

FORBIDDEN="libsqlite3 libsodium libcrypto libssl libcurl libevent libidn2 libseccomp"
SANITIZER_RUNTIMES="libasan libubsan libm libgcc_s libstdc++ libjansson libpthread libdl librt"

# libs FILE: the file names of the libraries ldd lists for FILE, one a line
# (libc.so.6, ld-linux-x86-64.so.2, ...); ldd's own output when it fails
libs() {
  local out
  out=$(ldd "$1" 2>&1) || { printf 'ldd %s failed: %s\n' "$1" "$out"; return 1; }
  awk 'NF { print $1 }' <<<"$out" | sed 's|.*/||'
}
# unexpected LIB...: those airlock may not load in this build
unexpected() {
  local lib
  for lib; do
    case $lib in linux-vdso.so.* | libc.so.6 | ld-linux*) continue ;; esac
    # the name without .so and its version: libasan.so.8 -> libasan
    [ "$SANITIZE" = 1 ] && [[ " $SANITIZER_RUNTIMES " == *" ${lib%%.so*} "* ]] && continue
    echo "$lib"
  done
}
# forbidden LIB...: those airlock may never load (libevent-2.1.so.7 and
# libevent_openssl-2.1.so.7 are both libevent)
forbidden() {
  local lib f
  for lib; do
    for f in $FORBIDDEN; do
      case $lib in "$f"*) echo "$lib" ;; esac
    done
  done
}
list() { tr '\n' ' ' <<<"$1" | sed 's/ $//'; }

what="libc, the dynamic loader and the vDSO"
[ "$SANITIZE" = 1 ] && what+=" (sanitizer build: and the sanitizer runtimes)"
airlock_libs=$(libs "$AIRLOCK") || bail "ldd reads $AIRLOCK" "$airlock_libs"
mapfile -t A <<<"$airlock_libs"
extra=$(unexpected "${A[@]}")
if [[ " $(list "$airlock_libs") " == *" libc.so.6 "* ]] && [ -z "$extra" ]; then
  ok "airlock loads only $what"
else
  bad "airlock loads only $what" "unexpected: $(list "$extra"); ldd lists: $(list "$airlock_libs")"
fi
bad_libs=$(forbidden "${A[@]}")
result "airlock loads none of $FORBIDDEN" "$([ -z "$bad_libs" ] && echo 0 || echo 1)" \
  "found: $(list "$bad_libs"); ldd lists: $(list "$airlock_libs")"

# the other binary: the same functions must find its libraries
node_libs=$(libs "$NODE") || bail "ldd reads $NODE" "$node_libs"
mapfile -t N <<<"$node_libs"
result "airlock-node links libsqlite3" "$(forbidden "${N[@]}" | grep -q '^libsqlite3' && echo 0 || echo 1)" \
  "ldd lists: $(list "$node_libs")"
result "the checks above reject airlock-node" \
  "$([ -n "$(unexpected "${N[@]}")" ] && [ -n "$(forbidden "${N[@]}")" ] && echo 0 || echo 1)" \
  "unexpected: $(list "$(unexpected "${N[@]}")"); forbidden: $(list "$(forbidden "${N[@]}")")"

finish
