#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/workspace.sh - what bounded workspace writes cost on real work, side
# by side in one sitting (the modes interleaved round-robin after warm-up
# rounds; hyperfine times the apply):
#
#   bind      --baseline BIN: a build without overlays (plain idmapped bind)
#   live      this build, --workspace-mode live (overlay, written back at the end)
#   changes   this build, --workspace-mode changes (overlay, saved as a changeset)
#
# for three workloads:
#
#   true      airlock run --workspace WS -- /bin/true
#   untar     unpacking a tree of about 20,000 files (/usr/share/man) into the
#             workspace; live includes the write-back, changes the save
#   git       git status in a repository of that tree (when git is present)
#
# and `airlock changes apply` of the unpacked tree's changeset (the same
# fd-relative write-back a live run does at its end, timed on its own).  The
# workspace belongs to a regular uid (as root: 61000) and is reset before
# every run.  Prints medians (ms) and the ratios to bind; the target is
# /bin/true no more than 10% slower than bind.  --runs counts the /bin/true
# rounds (two warm-ups), --heavy-runs those of the tree workloads and the
# apply (one warm-up).  Snapshots and forks of persistent sandboxes are
# timed by bench/snapshot.sh.
#
# usage: bench/workspace.sh [--airlock BIN] [--baseline BIN] [--runs N] [--heavy-runs N] [--tree DIR]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AIRLOCK=$root/build/airlock
BASELINE=""
RUNS=30
HEAVY=5
TREE=/usr/share/man
while [ $# -gt 0 ]; do
  case "$1" in
    --airlock) AIRLOCK=${2:?}; shift 2 ;;
    --baseline) BASELINE=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --heavy-runs) HEAVY=${2:?}; shift 2 ;;
    --tree) TREE=${2:?}; shift 2 ;;
    *) sed -n 's/^# usage: //p' "$0" >&2; exit 2 ;;
  esac
done
command -v hyperfine >/dev/null || { echo "hyperfine not found" >&2; exit 2; }

W=$(mktemp -d /tmp/airlock-wsbench.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
OWNER=$([ "$(id -u)" = 0 ] && echo 61000 || id -u)
STATE=$W/state
mkdir -p "$STATE" "$W/bin" && chmod 700 "$STATE"
cp "$AIRLOCK" "$W/bin/airlock"
[ -z "$BASELINE" ] || cp "$BASELINE" "$W/bin/baseline"
chmod 755 "$W/bin" "$W/bin/"*
tar -C "$(dirname "$TREE")" -cf "$W/tree.tar" "$(basename "$TREE")"
chmod 644 "$W/tree.tar"
FILES=$(tar -tf "$W/tree.tar" | grep -vc '/$')
mkdir -p "$W/ws" "$W/repo"
tar -C "$W/repo" -xf "$W/tree.tar"
if command -v git >/dev/null; then
  git -C "$W/repo" init -q && git -C "$W/repo" add -A &&
    git -C "$W/repo" -c user.name=b -c user.email=b@b commit -qm tree && echo change >>"$W/repo/$(basename "$TREE")/x"
fi
chown -R "$OWNER:$OWNER" "$W/ws" "$W/repo"

Q="--workspace-quota 512m --state-dir $STATE" # options the baseline may not know
declare -A CMD=([live]="$W/bin/airlock run --workspace-mode live $Q" [changes]="$W/bin/airlock run --workspace-mode changes $Q")
modes=(live changes)
if [ -n "$BASELINE" ]; then CMD[bind]="$W/bin/baseline run"; modes=(bind live changes); fi
COMMON="--memory 1g --bind $W/tree.tar:/opt/tree.tar:ro"
RESET="rm -rf $W/ws/* $STATE/changesets"

# One Python process times every run (perf_counter_ns around posix_spawn and
# waitpid, output to /dev/null), the modes interleaved round-robin so that
# drift on a shared VM hits them alike; the reset before each run (removing
# what the last one wrote) is not timed.
timeit() { # timeit NAME RUNS WARMUP WORKSPACE COMMAND...: sets MED[NAME.MODE]
  local name=$1 runs=$2 warm=$3 ws=$4
  shift 4
  local out
  out=$(python3 - "$runs" "$warm" "$RESET" "$*" "$ws" "$COMMON" "${modes[@]}" <<'PY'
import os, shlex, statistics, subprocess, sys, time
runs, warm, reset, cmd, ws, common, modes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:]
argv = {m: shlex.split(os.environ["CMD_" + m]) + shlex.split(common) + ["--workspace", ws, "--"] + shlex.split(cmd) for m in modes}
null = os.open(os.devnull, os.O_RDWR)
samples = {m: [] for m in modes}
for r in range(runs + warm):
    for m in modes[r % len(modes):] + modes[:r % len(modes)]:
        subprocess.run(reset, shell=True, check=True)
        t = time.perf_counter_ns()
        pid = os.posix_spawn(argv[m][0], argv[m], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
        _, st = os.waitpid(pid, 0)
        dt = time.perf_counter_ns() - t
        if os.waitstatus_to_exitcode(st) != 0:
            sys.exit("%s failed: %s" % (m, " ".join(argv[m])))
        if r >= warm:
            samples[m].append(dt / 1e6)
for m in modes:
    print(m, "%.1f" % statistics.median(samples[m]))
PY
  ) || { echo "$out" >&2; return 1; }
  while read -r m v; do MED[$name.$m]=$v; done <<<"$out"
}
declare -A MED
for m in "${modes[@]}"; do export "CMD_$m=${CMD[$m]}"; done
timeit true "$RUNS" 2 "$W/ws" /bin/true
timeit untar "$HEAVY" 1 "$W/ws" tar -C /workspace -xf /opt/tree.tar
if command -v git >/dev/null; then timeit git "$HEAVY" 1 "$W/repo" git status --short; fi
# apply of the unpacked tree's changeset to an empty workspace; the
# changeset is put back before each apply (an applied one is not re-applied)
$RESET
"$W/bin/airlock" run --workspace-mode changes $Q $COMMON --workspace "$W/ws" -- tar -C /workspace -xf /opt/tree.tar 2>"$W/id"
ID=$(sed -n 's/^airlock: changeset //p' "$W/id")
[ -n "$ID" ] || { echo "no changeset id: $(cat "$W/id")" >&2; exit 1; }
cp -a "$STATE/changesets" "$W/saved"
hyperfine -N --style none --runs "$HEAVY" --warmup 1 --export-json "$W/h.json" \
  --prepare "sh -c 'rm -rf $W/ws/* $STATE/changesets && cp -a $W/saved $STATE/changesets'" \
  "$W/bin/airlock changes apply $ID --state-dir $STATE" >/dev/null
APPLY=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$W/h.json")

echo "airlock workspace bench: $(date -u +%F), $(nproc) CPUs, kernel $(uname -r), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), uid $(id -u), $RUNS runs of true, $HEAVY of the others, tree $TREE ($FILES files)"
printf '%-8s' workload
for m in "${modes[@]}"; do printf ' %10s' "$m ms"; done
[ -z "$BASELINE" ] || printf ' %12s %14s' "live/bind" "changes/bind"
echo
for w in true untar git; do
  [ -n "${MED[$w.live]:-}" ] || continue
  printf '%-8s' "$w"
  for m in "${modes[@]}"; do printf ' %10s' "${MED[$w.$m]}"; done
  if [ -n "$BASELINE" ]; then
    printf ' %12s %14s' "$(python3 -c "print('%.3f' % (${MED[$w.live]} / ${MED[$w.bind]}))")" \
      "$(python3 -c "print('%.3f' % (${MED[$w.changes]} / ${MED[$w.bind]}))")"
  fi
  echo
done
echo "apply of the untar changeset ($FILES files) to an empty workspace: $APPLY ms"
echo "snapshot, fork: see bench/snapshot.sh"
if [ -n "$BASELINE" ]; then
  python3 -c "r = ${MED[true.live]} / ${MED[true.bind]}; print('target /bin/true live <= 1.10x bind: %.3f, %s' % (r, 'met' if r <= 1.10 else 'NOT met'))"
fi
