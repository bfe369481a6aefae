#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# conformance.sh - crun's own runtime tests (a peer's suite, GPL-2.0+, kept
# unchanged in ../shared/peers/crun-tests) run against airlock-oci: the
# folder is copied to a temporary directory, its static init helper built
# there, and every test_*.py run with OCI_RUNTIME pointing at airlock-oci,
# each file under a timeout.  Prints one line per file (ok / not ok / skip
# counts) and the totals; fails when fewer tests pass than the floor
# (docs/oci.md lists which pass, which fail and why).
#
# usage: conformance.sh PATH_TO_AIRLOCK_OCI [CRUN_TESTS_DIR] [MIN_PASS]
#   CRUN_TESTS_DIR: default ../shared/peers/crun-tests beside the source tree
#                   (or $CRUN_TESTS); exits 77 (skip) when absent
#   MIN_PASS:       the floor of passing tests (default $OCI_CONFORMANCE_FLOOR, else 0)
# Skips (77) when not root, or without python3 or a static libc.
set -u
RUNTIME=${1:?usage: conformance.sh PATH_TO_AIRLOCK_OCI [CRUN_TESTS_DIR] [MIN_PASS]}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${2:-${CRUN_TESTS:-$HERE/../../../shared/peers/crun-tests}}
FLOOR=${3:-${OCI_CONFORMANCE_FLOOR:-0}}
PER_FILE=${OCI_CONFORMANCE_TIMEOUT:-25}

skip() { echo "1..0 # SKIP $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -d "$SRC" ] || skip "no crun tests at $SRC"
command -v python3 >/dev/null || skip "needs python3"
command -v gcc >/dev/null || skip "needs gcc"
RUNTIME=$(readlink -f "$RUNTIME")

WORK=$(mktemp -d /tmp/airlock-oci-conf.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC"/. "$WORK"/
(cd "$WORK" && gcc -static -O2 -I. -o init init.c) >/dev/null 2>&1 || skip "cannot build crun's static init (libc6-dev)"

export OCI_RUNTIME="$RUNTIME" INIT="$WORK/init"
total_ok=0 total_fail=0 total_skip=0
cd "$WORK" || exit 1
for t in test_*.py; do
  out=$(timeout -k 5 "$PER_FILE" python3 "$t" 2>/dev/null)
  rc=$?
  ok=$(grep -E '^ok ' <<<"$out" | grep -vc '# *SKIP')
  sk=$(grep -E '^ok ' <<<"$out" | grep -c '# *SKIP')
  bad=$(grep -cE '^not ok ' <<<"$out")
  planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' <<<"$out" | head -1)
  note=""
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    note=" (timed out after ${PER_FILE}s)"
    # tests planned but never reported count as failures
    [ -n "$planned" ] && bad=$((planned - ok - sk))
  fi
  printf '%-28s ok %3d  not ok %3d  skip %3d%s\n' "$t" "$ok" "$bad" "$sk" "$note"
  if [ -n "${VERBOSE:-}" ]; then grep -E '^not ok ' <<<"$out" | sed 's/^/    /'; fi
  total_ok=$((total_ok + ok)) total_fail=$((total_fail + bad)) total_skip=$((total_skip + sk))
done
echo "total: ok $total_ok  not ok $total_fail  skip $total_skip  (floor $FLOOR)"
# Some of crun's tests remove their state directory without deleting the
# container: its process would live on.  The uid lease markers name each
# container's process, start time and state directory: kill those that were
# this run's.
reaped=0
for m in /run/airlock/oci-ids/*; do
  [ -f "$m" ] || continue
  read -r pid start dir <"$m" || continue
  case $dir in "$WORK"/*) ;; *) continue ;; esac
  now=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$pid/stat" 2>/dev/null)
  if [ -n "$now" ] && [ "$now" = "$start" ]; then kill -9 "$pid" 2>/dev/null && reaped=$((reaped + 1)); fi
  rm -f "$m"
done
[ "$reaped" = 0 ] || echo "note: killed $reaped container processes the suite left running"
# what a failed test left behind is the runtime's business: nothing may stay
leftover=$(ls "$WORK"/.testsuite-run-* 2>/dev/null | wc -l)
[ "$leftover" = 0 ] || echo "note: $leftover test roots left behind"
[ "$total_ok" -ge "$FLOOR" ] || { echo "FAIL: $total_ok passing is below the floor of $FLOOR"; exit 1; }
exit 0
