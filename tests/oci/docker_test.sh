#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docker_test.sh - Debian's Docker engine (docker.io 20.10) with airlock-oci
# as a runtime: a private dockerd (tests/oci/private_dockerd.sh: its own
# directories and socket under the test's temporary directory, stopped and
# removed at the end whatever happens) with airlock-oci added as "airlock"
# and made the default runtime, and an image imported from a rootfs of
# static busybox.  Checks: output and exit codes, a missing command (127),
# the container's host uid (not 0; runc's, the control, is 0), that
# airlock-oci holds the container's state, exec, stop, kill, wait, -d and
# logs, -it (through script(1)), -m and --pids-limit (read back and shown to
# apply), airlock's default limits without them, --read-only, --cap-drop
# ALL, and that nothing is left after
# `docker rm -f` (no state, no uid lease, no process).  Needs root,
# dockerd and docker (skips otherwise).  TAP.
#
# usage: docker_test.sh PATH_TO_AIRLOCK_OCI
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
# shellcheck source=SCRIPTDIR/private_dockerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
OCI=$(readlink -f "${1:?usage: docker_test.sh PATH_TO_AIRLOCK_OCI}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v dockerd >/dev/null && command -v docker >/dev/null || skip_all "needs dockerd and docker (apt-get install -y docker.io)"
TMP=$(mktemp -d /tmp/airlock-oci-docker.XXXXXX)
chmod 755 "$TMP"
D=$TMP/d
cleanup() {
  dockerd_stop "$D"
  rm -rf "$TMP"
}
trap cleanup EXIT
"$HERE/make_rootfs.sh" "$TMP/rootfs" || skip_all "no static busybox"
dockerd_start "$D" "$OCI" --default-runtime airlock || bail "a private dockerd" "$(tail -5 "$D/log")"
IMG=airlock-oci-test:$$
docker_import "$D" "$TMP/rootfs" "$IMG" || bail "docker import" "$(tail -5 "$D/log")"
STATE=$D/exec/runtime-runc/moby # where Docker's shim keeps a runtime's state (--root)
A="--runtime airlock"
host_uid() { awk '/^Uid:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
cpid() { docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null; }

# shellcheck disable=SC2086 # $A is two words
{
run docker run --rm $A "$IMG" echo hi
checkx "run --rm: the output" '[ "$RC" = 0 ] && [ "$OUT" = hi ]'
run docker run --rm $A "$IMG" sh -c 'echo out; exit 42'
checkx "exit code 42 and the output come back" '[ "$RC" = 42 ] && [ "$OUT" = out ]'
run docker run --rm $A "$IMG" /no/such/cmd
checkx "a missing command: 127, named" '[ "$RC" = 127 ] && grep -q "/no/such/cmd" <<<"$ERR"'
run docker run --rm $A "$IMG" /etc/passwd
checkx "a command that is not executable: 126" '[ "$RC" = 126 ]'

# runc, the control: Docker's own runtime gives the container host root
run docker run -d --runtime runc "$IMG" sleep 1000
RUNC_CTR=$OUT
checkx "control: under runc the container's process is host uid 0" '[ "$RC" = 0 ] && [ "$(host_uid "$(cpid "$RUNC_CTR")")" = 0 ]'
docker rm -f "$RUNC_CTR" >/dev/null 2>&1

run docker run -d --name c1 $A "$IMG" sh -c 'echo logged-line; exec sleep 1000'
checkx "run -d" '[ "$RC" = 0 ]'
ID=$(docker inspect -f '{{.Id}}' c1 2>/dev/null)
PID=$(cpid c1)
HUID=$(host_uid "$PID")
checkx "the container's root is not host root (host uid $HUID of pid $PID)" '[ -n "$HUID" ] && [ "$HUID" -ge 65536 ]'
run "$OCI" --root "$STATE" state "$ID"
checkx "airlock-oci holds the container's state (running, same pid)" '[ "$RC" = 0 ] && grep -q "\"status\": *\"running\"" <<<"$OUT" && grep -q "\"pid\": *$PID\b" <<<"$OUT"'
checkx "the uid lease names it" 'grep -rqs "$STATE/$ID" /run/airlock/oci-ids/'
for _ in $(seq 1 20); do
  run docker logs c1
  [ "$OUT" = logged-line ] && break
  sleep 0.5
done
checkx "logs: the detached container's output" '[ "$OUT" = logged-line ]'
run docker exec c1 sh -c 'id -u; exit 3'
checkx "exec: exit code 3, uid 0 inside" '[ "$RC" = 3 ] && [ "$OUT" = 0 ]'
run docker exec c1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
checkx "exec: in the container's pid namespace (pid 1 is sleep)" 'grep -q "sleep 1000" <<<"$OUT"'
run docker exec c1 nosuch
checkx "exec of a missing command fails, named (Docker: 126, as with runc)" '[ "$RC" = 126 ] && grep -q "\"nosuch\": executable file not found" <<<"$OUT$ERR"'
run docker stop -t 1 c1
checkx "stop" '[ "$RC" = 0 ]'
run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1
checkx "stopped: exited, 137 (sleep as pid 1 ignores SIGTERM; killed after -t 1)" '[ "$OUT" = "exited 137" ]'
checkx "stop: the process is gone" '! kill -0 "$PID" 2>/dev/null'
run docker rm c1
checkx "rm" '[ "$RC" = 0 ]'
checkx "rm: airlock-oci's state is gone" '[ -n "$ID" ] && [ ! -e "$STATE/$ID" ]'

run docker run -d $A "$IMG" sh -c 'sleep 1; exit 7'
CTR=$OUT
run docker wait "$CTR"
checkx "wait: the exit code (7)" '[ "$OUT" = 7 ]'
docker rm "$CTR" >/dev/null 2>&1
run docker run -d $A "$IMG" sleep 1000
CTR=$OUT
run docker kill "$CTR"
checkx "kill" '[ "$RC" = 0 ]'
run docker wait "$CTR"
checkx "wait after kill: 137" '[ "$OUT" = 137 ]'
docker rm "$CTR" >/dev/null 2>&1

# rm -f of a running container with an exec'd process: nothing is left
run docker run -d --name c2 $A "$IMG" sleep 1000
ID=$(docker inspect -f '{{.Id}}' c2 2>/dev/null)
PID=$(cpid c2)
docker exec -d c2 sleep 999 >/dev/null 2>&1
EPID=
for _ in $(seq 1 20); do
  EPID=$(pgrep -f -x "sleep 999" | head -1)
  [ -n "$EPID" ] && break
  sleep 0.25
done
checkx "rm -f: the container and an exec'd process were running" '[ -n "$PID" ] && kill -0 "$PID" && [ -n "$EPID" ]'
run docker rm -f c2
checkx "rm -f" '[ "$RC" = 0 ]'
checkx "rm -f: no airlock-oci state, no uid lease, no process left" \
  '[ ! -e "$STATE/$ID" ] && ! grep -rqs "$STATE/$ID" /run/airlock/oci-ids/ && ! kill -0 "$PID" 2>/dev/null && ! kill -0 "$EPID" 2>/dev/null'

run docker run --rm $A --read-only "$IMG" sh -c 'touch /x 2>/dev/null && echo root-writable; echo ran'
checkx "--read-only: the root refuses writes" '[ "$OUT" = ran ]'
run docker run --rm $A --read-only --tmpfs /tmp "$IMG" sh -c 'touch /x 2>/dev/null && echo root-writable; touch /tmp/y && echo tmp-writable'
checkx "--read-only --tmpfs /tmp: the root refuses writes, /tmp takes them" '[ "$OUT" = tmp-writable ]'
run docker run --rm $A --cap-drop ALL "$IMG" grep CapEff /proc/self/status
checkx "--cap-drop ALL: no capabilities" 'grep -q "CapEff:.0000000000000000" <<<"$OUT"'
run docker run --rm $A "$IMG" grep -E "CapEff|NoNewPrivs" /proc/self/status
checkx "and none by default either (airlock drops all), no_new_privs" 'grep -q "CapEff:.0000000000000000" <<<"$OUT" && grep -q "NoNewPrivs:.1" <<<"$OUT"'
run docker run --rm $A "$IMG" cat /proc/sys/net/ipv4/ip_unprivileged_port_start
checkx "Docker's default sysctl applies in the container's network namespace" '[ "$OUT" = 0 ]'

# -m and --pids-limit: read back from the container's cgroups on the host
run docker run -d --name c3 $A -m 48m --pids-limit 12 "$IMG" sleep 1000
PID=$(cpid c3)
PIDS_CG=$(sed -n 's/^[0-9]*:pids:\(.*\)/\1/p' "/proc/$PID/cgroup" 2>/dev/null)
MEM_CG=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$PID/cgroup" 2>/dev/null)
if grep -q "^0::/" "/proc/$PID/cgroup" && [ -z "$PIDS_CG$MEM_CG" ]; then # pure cgroup v2
  V2=$(sed -n 's/^0:://p' "/proc/$PID/cgroup")
  checkx "--pids-limit 12: pids.max of the container's cgroup" '[ "$(cat "/sys/fs/cgroup$V2/pids.max")" = 12 ]'
  checkx "-m 48m: memory.max of the container's cgroup" '[ "$(cat "/sys/fs/cgroup$V2/memory.max")" = 50331648 ]'
else
  checkx "--pids-limit 12: pids.max of the container's cgroup" '[ "$(cat "/sys/fs/cgroup/pids$PIDS_CG/pids.max" 2>/dev/null)" = 12 ]'
  checkx "-m 48m: memory.limit_in_bytes of the container's cgroup" '[ "$(cat "/sys/fs/cgroup/memory$MEM_CG/memory.limit_in_bytes" 2>/dev/null)" = 50331648 ]'
fi
docker rm -f c3 >/dev/null 2>&1
# without -m and --pids-limit: airlock's default limits (512 MiB, 256 processes)
run docker run -d --name c5 $A "$IMG" sleep 1000
PID=$(cpid c5)
PIDS_CG=$(sed -n 's/^[0-9]*:pids:\(.*\)/\1/p' "/proc/$PID/cgroup" 2>/dev/null)
MEM_CG=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$PID/cgroup" 2>/dev/null)
if [ -n "$PIDS_CG" ] && [ -n "$MEM_CG" ]; then
  checkx "no -m, no --pids-limit: airlock's defaults, 512 MiB and 256 processes" \
    '[ "$(cat "/sys/fs/cgroup/pids$PIDS_CG/pids.max")" = 256 ] && [ "$(cat "/sys/fs/cgroup/memory$MEM_CG/memory.limit_in_bytes")" = 536870912 ]'
else
  V2=$(sed -n 's/^0:://p' "/proc/$PID/cgroup")
  checkx "no -m, no --pids-limit: airlock's defaults, 512 MiB and 256 processes" \
    '[ "$(cat "/sys/fs/cgroup$V2/pids.max")" = 256 ] && [ "$(cat "/sys/fs/cgroup$V2/memory.max")" = 536870912 ]'
fi
docker rm -f c5 >/dev/null 2>&1
run docker run --rm $A --pids-limit 12 "$IMG" sh -c 'for i in $(seq 1 30); do sleep 2 & done; echo all-started'
checkx "--pids-limit 12 applies: 30 background processes cannot all start" '[ "$RC" != 0 ] && ! grep -q all-started <<<"$OUT"'
run docker run --rm $A --pids-limit 100 "$IMG" sh -c 'for i in $(seq 1 30); do sleep 1 & done; echo all-started; wait'
checkx "... while --pids-limit 100 lets them" '[ "$RC" = 0 ] && grep -q all-started <<<"$OUT"'
run docker run --rm $A -m 16m "$IMG" sh -c 'x=$(head -c 64000000 /dev/zero | tr "\0" a); echo survived'
checkx "-m 16m applies: a shell holding 64 MB is killed" '[ "$RC" != 0 ] && ! grep -q survived <<<"$OUT"'
run docker run --rm $A -m 128m "$IMG" sh -c 'x=$(head -c 64000000 /dev/zero | tr "\0" a); echo survived'
checkx "... while -m 128m lets it" '[ "$RC" = 0 ] && [ "$OUT" = survived ]'

if command -v script >/dev/null; then
  run timeout 60 script -qec "docker run --rm -it $A $IMG sh -c 'tty; [ -t 0 ] && echo isatty; exit 5'" /dev/null
  checkx "-it: a terminal (through script), exit code 5" '[ "$RC" = 5 ] && grep -q "/dev/pts/" <<<"$OUT" && grep -q isatty <<<"$OUT"'
  docker run -d --name c4 $A "$IMG" sleep 1000 >/dev/null 2>&1
  run timeout 60 script -qec "docker exec -it c4 sh -c 'tty; [ -t 0 ] && echo isatty; exit 6'" /dev/null
  checkx "exec -it: a terminal, exit code 6" '[ "$RC" = 6 ] && grep -q "/dev/pts/" <<<"$OUT" && grep -q isatty <<<"$OUT"'
  docker rm -f c4 >/dev/null 2>&1
else
  ok "# SKIP -it: no script(1)"
fi

# --default-runtime airlock: a plain `docker run` uses airlock-oci
run docker run -d "$IMG" sleep 1000
CTR=$OUT
HUID=$(host_uid "$(cpid "$CTR")")
checkx "the default runtime (no --runtime): airlock-oci, host uid $HUID" '[ "$RC" = 0 ] && [ -n "$HUID" ] && [ "$HUID" -ge 65536 ] && [ -e "$STATE/$CTR/config.json" ]'
docker rm -f "$CTR" >/dev/null 2>&1
}

checkx "after every container: no airlock-oci state left" '[ -z "$(ls -A "$STATE" 2>/dev/null)" ]'
finish
