#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install_test.sh - `cmake --install` into a DESTDIR in the build tree, then
# use what it installed as a consumer would: the files are where
# GNUInstallDirs says, libairlock.so has its SONAME and exports exactly the
# functions the headers mark AIRLOCK_API (and src/libairlock.map lists), and
# examples/ compiles and runs against the installed library with pkg-config
# and with find_package (shared and static).  As root the example also runs a
# real sandbox through the installed shared library.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK="$BUILD/install-test"
DEST="$WORK/root"
rm -rf "$WORK" && mkdir -p "$WORK"
TMP="$WORK" # run() keeps its output files here

PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$BUILD/CMakeCache.txt")
case "$LIBDIR" in /*) ;; *) LIBDIR="$PREFIX/$LIBDIR" ;; esac
UNITDIR=$(sed -n 's/^AIRLOCK_SYSTEMD_UNITDIR:STRING=//p' "$BUILD/CMakeCache.txt")
case "$UNITDIR" in /*) ;; *) UNITDIR="$PREFIX/$UNITDIR" ;; esac

run env DESTDIR="$DEST" cmake --install "$BUILD"
check "cmake --install into a DESTDIR" [ "$RC" = 0 ]
[ "$RC" = 0 ] || { printf '#   %s\n' "$ERR" | tail -5; bail "nothing installed"; }

t_files() {
  local f missing=0
  for f in "$PREFIX/bin/airlock" "$PREFIX/bin/airlock-node" "$PREFIX/share/airlock/dangerous-actions.json" \
    "$UNITDIR/airlock-node.service" "$PREFIX/include/airlock/airlock.h" "$PREFIX/include/airlock/client.h" \
    "$LIBDIR/libairlock.so" "$LIBDIR/libairlock.so.0" "$LIBDIR/libairlock.a" "$LIBDIR/pkgconfig/airlock.pc" \
    "$LIBDIR/cmake/airlock/airlockConfig.cmake" "$LIBDIR/cmake/airlock/airlockTargets.cmake" \
    "$PREFIX/share/man/man1/airlock.1" "$PREFIX/share/man/man1/airlock-run.1" "$PREFIX/share/man/man8/airlock-node.8" \
    "$PREFIX/share/man/man5/airlock.json.5" "$PREFIX/share/doc/airlock/docs/operations.md"; do
    [ -e "$DEST$f" ] || { echo "missing: $f"; missing=1; }
  done
  [ "$missing" = 0 ]
}
case_ "binaries, catalogue, unit, man pages, docs, headers, libraries, pkg-config, CMake package" t_files

t_unit() {
  local unit="$DEST$UNITDIR/airlock-node.service"
  grep -qx "ExecStart=$PREFIX/bin/airlock node .*" "$unit" || { grep ExecStart "$unit"; return 1; }
  grep -qx "Delegate=yes" "$unit" || { echo "no Delegate=yes"; return 1; }
  ! grep -n "@" "$unit"
}
case_ "the unit has this install's paths and Delegate=yes" t_unit

t_soname() {
  local so="$DEST$LIBDIR/libairlock.so"
  readelf -d "$so" | grep -q 'Library soname: \[libairlock.so.0\]' || { readelf -d "$so" | grep SONAME; return 1; }
  [ "$(readlink "$so")" = libairlock.so.0 ] || { ls -l "$so"; return 1; }
}
case_ "SONAME libairlock.so.0, libairlock.so -> libairlock.so.0" t_soname

t_exports() {
  local so="$DEST$LIBDIR/libairlock.so"
  nm -D --defined-only "$so" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort >"$WORK/exported"
  grep -ho '^AIRLOCK_API [^(]*(' "$SRC/include/airlock/"*.h | sed 's/.*[ *]\(airlock_[a-z_0-9]*\)($/\1/' | sort >"$WORK/declared"
  sed -n 's/^ *\(airlock_[a-z_0-9]*\);$/\1/p' "$SRC/src/libairlock.map" | sort >"$WORK/listed"
  diff -u "$WORK/declared" "$WORK/exported" && diff -u "$WORK/declared" "$WORK/listed" || return 1
  # nothing else: no data symbols, no al_* internals, no jansson
  nm -D --defined-only "$so" | awk '$2 != "A" && $2 != "T" {print; bad=1} END {exit bad}' || return 1
  [ "$(wc -l <"$WORK/exported")" -ge 30 ] || { echo "too few exports"; return 1; }
  nm -D --defined-only "$so" | grep -q 'AIRLOCK_0' || { echo "no symbol version AIRLOCK_0"; return 1; }
}
case_ "libairlock.so exports exactly the AIRLOCK_API functions, versioned AIRLOCK_0" t_exports

t_pkgconfig() {
  local flags
  flags=$(PKG_CONFIG_SYSROOT_DIR="$DEST" PKG_CONFIG_PATH="$DEST$LIBDIR/pkgconfig" pkg-config --cflags --libs airlock) ||
    return 1
  echo "pkg-config: $flags"
  # shellcheck disable=SC2086 # word splitting of the flags is wanted
  cc -std=c17 -Wall -Wextra -Werror -o "$WORK/example-pc" "$SRC/examples/sandbox_example.c" $flags || return 1
  LD_LIBRARY_PATH="$DEST$LIBDIR" ldd "$WORK/example-pc" | grep -q "$DEST$LIBDIR/libairlock.so.0" || return 1
  LD_LIBRARY_PATH="$DEST$LIBDIR" "$WORK/example-pc" '{"limits": {"memory": "64m", "timeout": 5}}' | grep -x \
    'libairlock [0-9.]*: memory 67108864 bytes, timeout 5 s'
}
case_ "examples/sandbox_example.c built with pkg-config runs against the installed libairlock.so" t_pkgconfig

t_find_package() {
  cmake -S "$SRC/examples" -B "$WORK/examples" -DCMAKE_PREFIX_PATH="$DEST$PREFIX" -DCMAKE_BUILD_TYPE=Release \
    >"$WORK/cmake.log" 2>&1 && cmake --build "$WORK/examples" -j2 >>"$WORK/cmake.log" 2>&1 ||
    { tail -20 "$WORK/cmake.log"; return 1; }
  LD_LIBRARY_PATH="$DEST$LIBDIR" "$WORK/examples/sandbox-example" '{"limits": {"timeout": 7}}' | grep -q 'timeout 7 s' || return 1
  "$WORK/examples/sandbox-example-static" '{"limits": {"timeout": 8}}' | grep -q 'timeout 8 s' || return 1
  ! ldd "$WORK/examples/sandbox-example-static" | grep -q libairlock || { echo "static example loads libairlock"; return 1; }
  [ -x "$WORK/examples/exec-example" ]
}
case_ "examples/ built with find_package(airlock): shared, static and the client example" t_find_package

if [ "$(id -u)" = 0 ]; then
  t_run() {
    local out
    out=$(LD_LIBRARY_PATH="$DEST$LIBDIR" "$WORK/example-pc" '{"limits": {"memory": "128m"}}' --run /bin/echo hello-from-sandbox) ||
      { echo "$out"; return 1; }
    echo "$out" | grep -qx hello-from-sandbox && echo "$out" | grep -q '^exit 0, report: {'
  }
  case_ "as root: the installed library runs a real sandbox" t_run
fi
finish
