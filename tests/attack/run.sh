#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack suite: every case runs a real sandbox and tries to get out of it.
# Each case must be blocked or contained; the suite prints TAP-style lines and
# a closing "N passed, N failed" line.  As root it runs every case twice:
# once as root, once as an unprivileged user (rootless: user namespaces only,
# no delegated cgroup, so limits fall back to rlimits with --allow-degraded).
#
# With AIRLOCK_ATTACK_ISOLATION=gvisor (ctest attack_suite_gvisor) every
# `airlock run` of the suite runs with --isolation gvisor, and the cases
# about namespaces-only mechanisms (seccomp's refusals, Landlock, tmpfs
# inode caps, the report's mechanisms) are skipped: docs/isolation.md.
#
# usage: run.sh AIRLOCK_BINARY ATTACK_BIN_DIR
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
AIRLOCK_IN=${1:?usage: run.sh AIRLOCK_BINARY ATTACK_BIN_DIR}
BIN_IN=${2:?usage: run.sh AIRLOCK_BINARY ATTACK_BIN_DIR}
if [ "$(id -u)" = 0 ]; then MODE=${AIRLOCK_ATTACK_MODE:-root}; else MODE=user; fi
ISOLATION=${AIRLOCK_ATTACK_ISOLATION:-}
if [ -n "$ISOLATION" ] && [ "$ISOLATION" != namespaces ]; then
  command -v runsc >/dev/null 2>&1 || [ "$ISOLATION" != gvisor ] || { echo "1..0 # SKIP runsc is not installed"; exit 77; }
  TAP_PREFIX="[$MODE, $ISOLATION] "
else
  ISOLATION=
  TAP_PREFIX="[$MODE] "
fi
SECRET="sk-live-ATTACK-$$-$RANDOM$RANDOM"

# Work on private copies in a world-readable temp dir: the build tree may sit
# somewhere the unprivileged user cannot read, or under a path (like /root)
# that airlock refuses to mount.
WORK=$(mktemp -d /tmp/airlock-attack.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  [ -n "${HOST_SLEEP_PID:-}" ] && kill "$HOST_SLEEP_PID" 2>/dev/null
  [ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin"
cp "$AIRLOCK_IN" "$WORK/bin/airlock"
cp "$BIN_IN"/* "$WORK/bin/"
chmod 755 "$WORK/bin" "$WORK/bin"/*
AIRLOCK="$WORK/bin/airlock"
BIN="$WORK/bin"
# gVisor always has a /sys of its own (airlock puts an empty read-only
# tmpfs there): what must not be there is the host's sysfs.  Its forks are
# slower: the fork bomb gets longer to reach its thousandth attempt.
SYS_PROBE=/sys
FORKBOMB_TIMEOUT=2
if [ -n "$ISOLATION" ]; then
  SYS_PROBE="/sys/kernel /sys/class /sys/fs /sys/devices"
  FORKBOMB_TIMEOUT=6
  # the same suite through another backend: `airlock run` gains --isolation
  # and --allow-degraded (its writable mounts have no overlay: refused
  # without it; the cgroup cases still check that cgroups were used)
  mv "$AIRLOCK" "$WORK/bin/airlock.real"
  printf '#!/bin/sh\nif [ "$1" = run ]; then shift; [ -n "$AIRLOCK_WRAP_STRICT" ] || set -- --allow-degraded "$@"
  exec "%s" run --isolation %s "$@"; fi\nexec "%s" "$@"\n' "$WORK/bin/airlock.real" "$ISOLATION" "$WORK/bin/airlock.real" >"$AIRLOCK"
  chmod 755 "$AIRLOCK"
  # cases about mechanisms of the namespaces backend only, and (rootless)
  # of a command that is gVisor's uid 0: docs/isolation.md says why
  skip_under_isolation() {
    case "$1" in
    t_attack | t_memfd | t_privileges | t_uid_root_inside | t_inode_cap | t_shm_cap | t_limits_report | \
      t_launcher_sigkill | t_image | t_openclaw_config | t_refuse_without_degraded | t_bad_input | sh)
      echo "namespaces-only mechanism"
      return 0
      ;;
    t_write_outside | t_setuid)
      if [ "$MODE" = user ]; then
        echo "rootless the command is gVisor's uid 0 (no capability): it may write gVisor's own in-memory /dev"
        return 0
      fi
      ;;
    esac
    return 1
  }
  eval "namespaces_case_() $(declare -f case_ | tail -n +2)"
  case_() {
    local why
    if why=$(skip_under_isolation "$2"); then
      echo "ok $((n += 1)) - $TAP_PREFIX$1 # SKIP $why"
      pass=$((pass + 1))
      return 0
    fi
    namespaces_case_ "$@"
  }
fi

# Without a delegated cgroup an unprivileged user cannot have cgroup limits:
# airlock refuses to run unless degraded mode is accepted.  Find out which.
DEGRADED=()
NEEDS_DEGRADED=0
# (AIRLOCK_WRAP_STRICT: the wrapper of another backend adds --allow-degraded otherwise)
if [ "$MODE" = user ] && ! AIRLOCK_WRAP_STRICT=1 "$AIRLOCK" run -- true >/dev/null 2>&1; then
  DEGRADED=(--allow-degraded)
  NEEDS_DEGRADED=1
fi
# run a sandbox with the attack programs at /opt/attack
sandbox() { "$AIRLOCK" run "${DEGRADED[@]}" --bind "$BIN:/opt/attack:ro" "$@"; }

# What a case writes to $NOTE (a measurement) is printed after its result
# line (testlib.sh's case_).
NOTE="$WORK/note"

# ---- the cases -------------------------------------------------------------

t_env_leak() {
  local out
  out=$(env FAKE_API_KEY="$SECRET" AWS_SECRET_ACCESS_KEY="$SECRET" "$AIRLOCK" run "${DEGRADED[@]}" -- \
    sh -c 'env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr "\0" "\n"') || { echo "$out"; return 1; }
  if printf '%s' "$out" | grep -q "$SECRET"; then echo "secret visible inside: $out"; return 1; fi
  printf '%s' "$out" | grep -q '^PATH=' || { echo "no PATH inside?: $out"; return 1; }
  printf '%s' "$out" | grep -q '^FAKE_API_KEY' && return 1
  return 0
}

t_env_given() {
  local out
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --env GREETING=hello -- sh -c 'echo $GREETING; echo ${HOME}')
  [ "$out" = $'hello\n/home/sandbox' ] || { echo "got: $out"; return 1; }
}

t_host_files() {
  local secret_dir="$WORK/hostsecret"
  mkdir -p "$secret_dir" && echo "$SECRET" >"$secret_dir/secret.txt" && chmod 644 "$secret_dir/secret.txt"
  local out
  out=$(cd "$secret_dir" && "$AIRLOCK" run "${DEGRADED[@]}" -- sh -c "
    cat '$secret_dir/secret.txt' 2>&1; cat secret.txt 2>&1; pwd
    for p in /root /home/$(id -un 2>/dev/null) /run /var/run/docker.sock /var/lib /etc/shadow /etc/sudoers /boot $SYS_PROBE /srv '$WORK'; do
      [ -e \"\$p\" ] && echo \"VISIBLE \$p\"
    done; ls /home; true")
  if printf '%s' "$out" | grep -q "$SECRET"; then echo "$out"; return 1; fi
  if printf '%s' "$out" | grep -q VISIBLE; then echo "$out"; return 1; fi
  return 0
}

t_write_outside() {
  local ws="$WORK/ws-ro"
  mkdir -p "$ws" && chmod 777 "$ws"
  sandbox --workspace "$ws" --workspace-access ro -- sh -c '
    bad=0
    for p in /usr/airlock-x /etc/airlock-x /airlock-x /workspace/airlock-x /opt/attack/x /proc/airlock-x /dev/airlock-x /home/airlock-x; do
      /opt/attack/attack write "$p" || bad=1
    done
    /opt/attack/attack write /tmp/ok-x >/dev/null && echo "BROKEN: /tmp not writable" && bad=1
    /opt/attack/attack write /home/sandbox/ok >/dev/null && echo "BROKEN: HOME not writable" && bad=1
    exit $bad' || return 1
  [ -z "$(ls -A "$ws")" ] || { echo "workspace was written"; return 1; }
}

t_workspace_rw() {
  local ws="$WORK/ws-rw"
  mkdir -p "$ws" && chmod 777 "$ws"
  # as root, a writable workspace must be a regular user's (never root's)
  if [ "$MODE" = root ]; then chown 1000:1000 "$ws"; fi
  "$AIRLOCK" run "${DEGRADED[@]}" --workspace "$ws" -- sh -c 'echo data > /workspace/out.txt' || return 1
  [ "$(cat "$ws/out.txt")" = data ] || { echo "workspace write did not reach the host"; return 1; }
}

t_host_processes() {
  sleep 1234567 &
  HOST_SLEEP_PID=$!
  local out
  out=$(sandbox -- sh -c "ls /proc | grep -c '^[0-9]'; /opt/attack/attack signal $HOST_SLEEP_PID; ps -e -o comm= | grep -c sleep")
  local alive=0
  kill -0 "$HOST_SLEEP_PID" 2>/dev/null && alive=1
  kill "$HOST_SLEEP_PID" 2>/dev/null
  wait "$HOST_SLEEP_PID" 2>/dev/null
  HOST_SLEEP_PID=
  [ "$alive" = 1 ] || { echo "host process was killed: $out"; return 1; }
  local nproc
  nproc=$(printf '%s\n' "$out" | head -1)
  [ "$nproc" -le 4 ] || { echo "sandbox sees $nproc processes: $out"; return 1; }
  printf '%s' "$out" | tail -1 | grep -qx 0 || { echo "host sleep visible: $out"; return 1; }
}

t_attack() { sandbox -- /opt/attack/attack "$@"; }

t_uid_root_inside() {
  local out
  out=$(sandbox --uid 0 -- sh -c 'id -u; /opt/attack/attack mount >/dev/null && echo mount-blocked; grep CapEff /proc/self/status')
  printf '%s' "$out" | head -1 | grep -qx 0 || { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q mount-blocked || { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q 'CapEff:[[:space:]]*0000000000000000' || { echo "$out"; return 1; }
}

t_privileges() {
  local out
  out=$(sandbox -- sh -c 'id -u; id -g; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status')
  [ "$(printf '%s\n' "$out" | sed -n 1p)" = 1001 ] || { echo "$out"; return 1; }
  [ "$(printf '%s\n' "$out" | grep -c ':[[:space:]]*0000000000000000')" = 5 ] || { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q 'NoNewPrivs:[[:space:]]*1' || { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q 'Seccomp:[[:space:]]*2' || { echo "$out"; return 1; }
}

t_connect_host_loopback() {
  local port=$((20000 + RANDOM % 20000))
  local log="$WORK/listener.log"
  python3 - "$port" "$log" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); s.settimeout(20)
open(sys.argv[2], "w").write("listening\n")
try:
    while True:
        c, _ = s.accept(); open(sys.argv[2], "a").write("CONNECTED\n"); c.close()
except Exception:
    pass
PY
  LISTENER_PID=$!
  for _ in $(seq 50); do [ -s "$log" ] && break; sleep 0.05; done
  local rc=0
  sandbox -- /opt/attack/attack connect 127.0.0.1 "$port" || rc=1
  sandbox -- /opt/attack/attack connect ::1 "$port" || rc=1
  local ip
  ip=$(hostname -I 2>/dev/null | awk '{print $1}')
  [ -n "$ip" ] && { sandbox -- /opt/attack/attack connect "$ip" "$port" || rc=1; }
  sandbox -- /opt/attack/attack connect 1.1.1.1 443 || rc=1
  sandbox -- /opt/attack/attack udp 8.8.8.8 53 || rc=1
  kill "$LISTENER_PID" 2>/dev/null
  wait "$LISTENER_PID" 2>/dev/null
  LISTENER_PID=
  grep -q CONNECTED "$log" && { echo "host listener was reached"; rc=1; }
  return $rc
}

t_dns() {
  local out
  out=$(sandbox -- sh -c 'getent hosts example.com && echo RESOLVED; getent hosts localhost; cat /etc/resolv.conf 2>&1; ip route 2>&1; cat /proc/net/route' 2>&1)
  printf '%s' "$out" | grep -q RESOLVED && { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q 'localhost' || { echo "localhost not resolvable: $out"; return 1; }
  # the routing table must be empty apart from its header
  [ "$(printf '%s\n' "$out" | grep -c '^lo\|^eth\|^en')" = 0 ] || { echo "$out"; return 1; }
}

t_symlink_escape() {
  local ws="$WORK/ws-link"
  mkdir -p "$ws" "$WORK/hostsecret2"
  echo "$SECRET" >"$WORK/hostsecret2/secret.txt"
  chmod 755 "$WORK/hostsecret2"; chmod 644 "$WORK/hostsecret2/secret.txt"
  ln -sfn "$WORK/hostsecret2" "$ws/escape"
  ln -sfn /etc "$ws/etc-link"
  chmod 777 "$ws"
  local out
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --workspace "$ws" -- sh -c 'cat /workspace/escape/secret.txt; ls /workspace/etc-link/ | head -50' 2>&1)
  if printf '%s' "$out" | grep -q "$SECRET"; then echo "$out"; return 1; fi
  # a bind target reached through a symlink planted in the workspace is refused
  ln -sfn "$WORK/hostsecret2" "$ws/target"
  local rc=0
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --workspace "$ws" --bind "$BIN:/workspace/target" -- true 2>&1) && rc=1
  [ -z "$(ls -A "$WORK/hostsecret2" | grep -v secret.txt)" ] || rc=1
  # a bind source that resolves to a protected path is refused
  ln -sfn /etc "$WORK/etc-alias"
  "$AIRLOCK" run "${DEGRADED[@]}" --bind "$WORK/etc-alias:/data" -- true 2>/dev/null && { echo "bind of /etc via symlink accepted"; rc=1; }
  return $rc
}

t_setuid() {
  local ws="$WORK/ws-suid"
  mkdir -p "$ws"
  cp "$BIN/euid" "$ws/euid"
  if [ "$MODE" = root ]; then chown root:root "$ws/euid"; fi
  chmod 4755 "$ws/euid"
  chmod 777 "$ws"
  if [ "$MODE" = root ]; then chown 1000:1000 "$ws"; fi
  local out
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --workspace "$ws" -- sh -c '/workspace/euid; su -c id root </dev/null 2>&1; ls -l /usr/bin/passwd; passwd -S 2>&1 | head -1; id -u')
  printf '%s' "$out" | grep -q 'euid=1001' || { echo "$out"; return 1; }
  printf '%s' "$out" | grep -q 'euid=0' && { echo "$out"; return 1; }
  [ "$(printf '%s\n' "$out" | tail -1)" = 1001 ] || { echo "$out"; return 1; }
}

t_memfd() {
  # code copied into a memfd and exec'd would run although /tmp is noexec
  local out
  out=$(sandbox -- sh -c '/opt/attack/attack memfd; rc=$?; echo ordinary-command-ran; exit $rc' 2>&1) || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -q '^ESCAPED' && { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'INFO: /bin/true ran' || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'ordinary-command-ran' || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -q '^BLOCKED: memfd_create(MFD_EXEC) (Permission denied)' || { echo "$out"; return 1; }
  # MFD_NOEXEC_SEAL exists from Linux 6.3: before (Debian 12's 6.1) the
  # kernel refuses the flag itself, after it the exec must fail
  printf '%s\n' "$out" | grep -qE '^BLOCKED: (execve\(/proc/self/fd/N\) of memfd_create\(MFD_NOEXEC_SEAL\)|memfd_create\(MFD_NOEXEC_SEAL\) \(Invalid argument\))' ||
    { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -E '^(INFO: vm.memfd|BLOCKED: memfd_create\(0\)|INFO: memfd_create\(0\))' >"$NOTE"
}

t_inode_cap() {
  # empty files take no space, only inodes (kernel memory): the root tmpfs
  # caps them at one per 4 KiB of --disk, at least 1024
  local out n rc=0
  for dir in /tmp /dev/shm; do
    out=$(sandbox --disk 2m -- /opt/attack/attack files "$dir" 150000 2>&1) || { echo "$out"; return 1; }
    n=$(printf '%s' "$out" | sed -n 's/^FILES: \([0-9]*\) of 150000 created, then No space left on device$/\1/p')
    [ -n "$n" ] && [ "$n" -ge 900 ] && [ "$n" -le 1024 ] || { echo "$dir: $out"; rc=1; }
    echo "$dir at --disk 2m: $n empty files, then ENOSPC" >>"$NOTE"
  done
  return $rc
}

t_shm_cap() {
  # memory held in /dev/shm through shared mappings (unmapped again, so no
  # address space is used) stops at --disk, before --memory
  local out bytes
  out=$(sandbox --memory 64m --disk 32m -- /opt/attack/attack shmfill 2>&1) || { echo "$out"; return 1; }
  bytes=$(printf '%s' "$out" | sed -n 's/^SHM: \([0-9]*\) bytes held in \/dev\/shm, then SIGBUS$/\1/p')
  [ -n "$bytes" ] && [ "$bytes" -le $((32 * 1024 * 1024)) ] && [ "$bytes" -ge $((24 * 1024 * 1024)) ] || { echo "$out"; return 1; }
  echo "/dev/shm at --memory 64m --disk 32m: $((bytes / 1024)) KiB held, then SIGBUS" >"$NOTE"
}

t_forkbomb() {
  local start end out rc
  start=$(date +%s%N)
  out=$(sandbox --pids 64 --timeout "$FORKBOMB_TIMEOUT" -- /opt/attack/attack forkbomb 2>&1)
  rc=$?
  end=$(date +%s%N)
  [ "$rc" = 124 ] || { echo "exit $rc: $out" | tail -5; return 1; }
  printf '%s' "$out" | grep -q 'FORKBOMB: .* [1-9][0-9]* failures' || { echo "forks never failed: $(echo "$out" | tail -3)"; return 1; }
  [ $(((end - start) / 1000000)) -lt 10000 ] || { echo "took too long"; return 1; }
  # every fork must be gone once airlock has returned; allow /proc a moment
  for _ in $(seq 20); do pgrep -u "$(id -u)" -f '/opt/attack/attack forkbomb' >/dev/null || return 0; sleep 0.05; done
  echo "forkbomb survived:"; pgrep -u "$(id -u)" -af '/opt/attack/attack forkbomb' | head -5
  return 1
}

t_membomb() {
  local report="$WORK/mem-report.json" out rc
  out=$(sandbox --memory 64m --timeout 20 --report "$report" -- /opt/attack/attack membomb 2>&1)
  rc=$?
  if [ "$NEEDS_DEGRADED" = 0 ]; then
    [ "$rc" = 137 ] || { echo "exit $rc: $out"; return 1; }
    grep -q '"oom_killed": true' "$report" || { cat "$report"; return 1; }
    grep -A3 '"memory"' "$report" | grep -q cgroup || { cat "$report"; return 1; }
  else
    # rootless fallback: RLIMIT_AS makes the allocation fail instead
    [ "$rc" = 3 ] || { echo "exit $rc: $out"; return 1; }
    grep -A3 '"memory"' "$report" | grep -q '"rlimit"' || { cat "$report"; return 1; }
    grep -q '"degraded": "memory' "$report" || { cat "$report"; return 1; }
  fi
}

t_fill_disk() {
  local before after out
  before=$(df -k --output=used /tmp | tail -1)
  out=$(sandbox --disk 32m -- sh -c '/opt/attack/attack fill /tmp; df -k /tmp | tail -1' 2>&1) || { echo "$out"; return 1; }
  after=$(df -k --output=used /tmp | tail -1)
  local bytes
  bytes=$(printf '%s' "$out" | sed -n 's/^FILL: \([0-9]*\) bytes.*/\1/p')
  [ -n "$bytes" ] && [ "$bytes" -le $((33 * 1024 * 1024)) ] && [ "$bytes" -ge $((24 * 1024 * 1024)) ] || { echo "$out"; return 1; }
  # the host's /tmp did not grow by the amount written inside
  [ $((after - before)) -lt 16384 ] || { echo "host /tmp grew by $((after - before)) KiB"; return 1; }
}

t_timeout_tree() {
  local marker=$((3000000 + RANDOM)) rc start end
  start=$(date +%s%N)
  sandbox --timeout 1 -- sh -c "sleep $marker & setsid sh -c 'sleep $((marker + 1)) & sleep $((marker + 2))' & (sleep $((marker + 3)) &) ; while :; do :; done" >/dev/null 2>&1
  rc=$?
  end=$(date +%s%N)
  [ "$rc" = 124 ] || { echo "exit $rc"; return 1; }
  [ $(((end - start) / 1000000)) -lt 5000 ] || { echo "timeout took $(((end - start) / 1000000)) ms"; return 1; }
  if pgrep -f "sleep $((marker))" >/dev/null || pgrep -f "sleep $((marker + 1))" >/dev/null || pgrep -f "sleep $((marker + 3))" >/dev/null; then
    echo "processes survived the timeout"; pgrep -af "sleep $marker"; return 1
  fi
}

t_daemon_after_exit() {
  local marker=$((4000000 + RANDOM))
  sandbox -- sh -c "setsid sh -c 'sleep $marker' </dev/null >/dev/null 2>&1 & nohup sleep $((marker + 1)) >/dev/null 2>&1 & exit 0" || return 1
  sleep 0.2
  if pgrep -f "sleep $marker" >/dev/null || pgrep -f "sleep $((marker + 1))" >/dev/null; then
    echo "daemon outlived the sandbox"; return 1
  fi
}

t_inherited_fd() {
  echo "$SECRET" >"$WORK/fdsecret"
  chmod 644 "$WORK/fdsecret"
  (exec 7<"$WORK/fdsecret" 9>"$WORK/fdsecret.w"; sandbox -- /opt/attack/attack fds)
}

t_launcher_sigkill() {
  local marker=$((5000000 + RANDOM))
  # started directly (not through a shell function) so $! is airlock itself
  "$AIRLOCK" run "${DEGRADED[@]}" --timeout 60 -- sh -c "sleep $marker & sleep $((marker + 1))" >/dev/null 2>&1 &
  local launcher=$!
  for _ in $(seq 100); do pgrep -f "sleep $((marker + 1))" >/dev/null && break; sleep 0.05; done
  pgrep -f "sleep $((marker + 1))" >/dev/null || { echo "sandbox never started"; return 1; }
  kill -9 "$launcher"
  wait "$launcher" 2>/dev/null
  for _ in $(seq 40); do pgrep -f "sleep $marker" >/dev/null || break; sleep 0.05; done
  if pgrep -f "sleep $marker" >/dev/null; then echo "sandbox outlived its SIGKILLed launcher"; return 1; fi
  "$AIRLOCK" gc >/dev/null || return 1
  if [ "$MODE" = root ]; then
    local left
    left=$(find /sys/fs/cgroup -path '*/airlock/*' -type d -name "${launcher}.*" 2>/dev/null)
    [ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
  fi
}

t_limits_report() {
  local report="$WORK/report.json"
  sandbox --report "$report" --memory 100m --cpus 0.5 --pids 50 -- true || return 1
  local limits_by=cgroup
  [ "$NEEDS_DEGRADED" = 1 ] && limits_by=rlimit
  python3 - "$report" "$limits_by" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); mode = sys.argv[2]
assert r["exit_code"] == 0 and r["timed_out"] is False and r["oom_killed"] is False, r
lim = r["limits"]
assert lim["memory"]["value"] == 100 * 2**20 and lim["pids"]["value"] == 50 and lim["cpus"]["value"] == 500, lim
for k in ("memory", "cpus", "pids", "timeout", "disk", "cpu_time", "file_size", "open_files", "core"):
    assert k in lim and lim[k]["mechanism"], k
if mode == "cgroup":
    assert all(lim[k]["mechanism"] in ("cgroup1", "cgroup2") for k in ("memory", "cpus", "pids")), lim
    # notes about Landlock or swap accounting may exist on other kernels; none about these limits
    assert not any(w in (r["degraded"] or "") for w in ("memory: no cgroup", "pids:", "cpus:")), r["degraded"]
else:
    assert lim["memory"]["mechanism"] == "rlimit" and lim["cpus"]["mechanism"] == "none", lim
    assert r["degraded"]
assert r["isolation"]["seccomp"] is True and "network" in r["isolation"]["namespaces"]
PY
}

t_refuse_without_degraded() {
  # rootless with no delegated cgroup: limits cannot be applied, so refuse
  local out rc
  out=$("$AIRLOCK" run -- true 2>&1)
  rc=$?
  [ "$rc" = 125 ] || { echo "exit $rc: $out"; return 1; }
  printf '%s' "$out" | grep -q 'allow-degraded' || { echo "$out"; return 1; }
}

t_bad_input() {
  local rc=0 out
  for args in "--memory 12x -- true" "--cpus abc -- true" "--bind /:/host -- true" "--bind /etc:/data -- true" \
    "--bind /var/run/docker.sock:/d -- true" "--bind /tmp:/usr -- true" "--bind /tmp:relative -- true" \
    "--workspace /nonexistent-dir -- true" "--no-such-flag -- true" "--timeout 0 -- true" "--uid 99999 -- true" \
    "--network host -- true" "--pids 1 -- true" ""; do
    # shellcheck disable=SC2086
    out=$("$AIRLOCK" run "${DEGRADED[@]}" $args 2>&1)
    local code=$?
    if [ "$code" != 125 ] || [ -z "$out" ]; then echo "'$args' gave exit $code: $out"; rc=1; fi
  done
  mkdir -p "$WORK/fakehome/.ssh" "$WORK/fakehome/.aws"
  "$AIRLOCK" run "${DEGRADED[@]}" --workspace "$WORK/fakehome" -- true 2>/dev/null && { echo "home with .ssh accepted"; rc=1; }
  "$AIRLOCK" run "${DEGRADED[@]}" --bind "$WORK/fakehome/.aws:/data" -- true 2>/dev/null && { echo ".aws accepted"; rc=1; }
  echo '{"sandbox":{"enabled":true,"bogus":1}}' >"$WORK/bad.json"
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --config "$WORK/bad.json" -- true 2>&1)
  [ $? = 125 ] && printf '%s' "$out" | grep -q 'sandbox.bogus' || { echo "bad config: $out"; rc=1; }
  out=$("$AIRLOCK" run "${DEGRADED[@]}" -- /no/such/command 2>&1)
  [ $? = 127 ] || { echo "missing command: $out"; rc=1; }
  return $rc
}

t_openclaw_config() {
  cat >"$WORK/openclaw.json" <<'JSON'
{"sandbox":{"enabled":true,"backend":"native","timeout":1500,"memoryLimit":"256m","cpuLimit":"1.0","networkMode":"none"}}
JSON
  local rc
  sandbox --config "$WORK/openclaw.json" --report "$WORK/oc.json" -- sh -c 'sleep 5'
  rc=$?
  [ "$rc" = 124 ] || { echo "exit $rc"; return 1; }
  grep -q '"value": 268435456' "$WORK/oc.json" || { cat "$WORK/oc.json"; return 1; }
  # flags override the file
  sandbox --config "$WORK/openclaw.json" --timeout 10 -- true || return 1
}

t_exit_codes() {
  sandbox -- sh -c 'exit 7'; [ $? = 7 ] || return 1
  sandbox -- sh -c 'kill -TERM $$'; [ $? = 143 ] || return 1
  echo piped | sandbox -- cat | grep -qx piped || return 1
}

t_image() {
  local img="$WORK/image"
  mkdir -p "$img/bin" "$img/etc"
  cp "$BIN/static_probe" "$img/bin/probe"
  chmod 755 "$img" "$img/bin" "$img/bin/probe" "$img/etc"
  local out
  out=$("$AIRLOCK" run "${DEGRADED[@]}" --image "$img" -- /bin/probe 2>&1) || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'host-usr=absent' || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'host-etc-shadow=absent' || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'image-write=Read-only file system' || { echo "$out"; return 1; }
  printf '%s\n' "$out" | grep -qx 'tmp-write=allowed' || { echo "$out"; return 1; }
  [ ! -e "$img/bin/written-by-sandbox" ] || { echo "image was written"; return 1; }
  # the host root itself is never an image
  "$AIRLOCK" run "${DEGRADED[@]}" --image / -- true 2>/dev/null && { echo "--image / accepted"; return 1; }
  return 0
}

t_second_signal() {
  local marker=$((6000000 + RANDOM)) rc
  "$AIRLOCK" run "${DEGRADED[@]}" -- sh -c "trap '' TERM INT; sleep $marker" >/dev/null 2>&1 &
  local launcher=$!
  for _ in $(seq 100); do pgrep -f "^sleep $marker" >/dev/null && break; sleep 0.05; done
  kill -TERM "$launcher"
  sleep 0.2
  kill -0 "$launcher" 2>/dev/null || { echo "first signal should be forwarded, not fatal"; return 1; }
  kill -TERM "$launcher"
  wait "$launcher"
  rc=$?
  [ "$rc" = 137 ] || { echo "exit $rc"; return 1; }
  pgrep -f "sleep $marker" >/dev/null && { echo "sandbox survived"; return 1; }
  return 0
}

run_all() {
  case_ "caller environment and /proc/*/environ hide a fake API key" t_env_leak
  case_ "--env values reach the command" t_env_given
  case_ "host files, home, /root, /run, docker.sock, cwd are invisible" t_host_files
  case_ "writes outside writable mounts fail (mounts + Landlock)" t_write_outside
  case_ "rw workspace is writable" t_workspace_rw
  case_ "host processes cannot be listed or signalled" t_host_processes
  case_ "ptrace and process_vm_* are refused" t_attack ptrace
  case_ "mount, umount, pivot_root, chroot, new mount API, listmount, statmount are refused" t_attack mount
  case_ "unshare, setns, clone with namespace flags are refused" t_attack namespaces
  case_ "kernel modules, bpf, perf, io_uring, keyrings, userfaultfd refused" t_attack kernel
  case_ "socket families other than unix/inet/inet6 are refused" t_attack sockets
  case_ "socketpair reaches no family but unix" t_attack socketpair
  case_ "TIOCSTI/TIOCLINUX/TIOCSETD/TIOCCONS are refused, on stdin and on a pty" t_attack tiocsti
  case_ "code in a memfd cannot be executed; an ordinary command runs" t_memfd
  case_ "x32 syscall ABI kills the process" sh -c "\"$AIRLOCK\" run ${DEGRADED[*]} --bind '$BIN:/opt/attack:ro' -- /opt/attack/attack x32; [ \$? = 159 ]"
  case_ "i386 int 0x80 ABI kills the process" sh -c "\"$AIRLOCK\" run ${DEGRADED[*]} --bind '$BIN:/opt/attack:ro' -- /opt/attack/attack i386; [ \$? = 159 ]"
  case_ "no capabilities, no_new_privs, seccomp on, uid 1001" t_privileges
  case_ "--uid 0 is root only inside its namespace" t_uid_root_inside
  case_ "tcp/udp to host loopback, host address and internet fail" t_connect_host_loopback
  case_ "no DNS and no routes" t_dns
  case_ "workspace symlinks and bind targets cannot reach the host" t_symlink_escape
  case_ "setuid binaries give no privileges" t_setuid
  case_ "fork bomb is bounded by pids and killed at timeout" t_forkbomb
  case_ "memory bomb is contained and reported" t_membomb
  case_ "filling the disk stops at the cap; host disk untouched" t_fill_disk
  case_ "150000 empty files stop at the inode cap of --disk 2m" t_inode_cap
  case_ "/dev/shm held through mmap stops at --disk, below --memory" t_shm_cap
  case_ "timeout kills the whole tree (background, setsid, double fork)" t_timeout_tree
  case_ "daemons do not outlive the command" t_daemon_after_exit
  case_ "inherited file descriptors are closed" t_inherited_fd
  case_ "SIGKILL of the launcher kills the sandbox; gc cleans up" t_launcher_sigkill
  case_ "report lists every limit and its mechanism" t_limits_report
  case_ "bad flags, binds and configs exit 125 naming the problem" t_bad_input
  case_ "OpenClaw sandbox config block is accepted and flags override it" t_openclaw_config
  case_ "exit codes and stdin pass through" t_exit_codes
  case_ "--image is the read-only root; nothing of the host is visible" t_image
  case_ "a signal is forwarded; a second one kills the whole sandbox" t_second_signal
  if [ "$NEEDS_DEGRADED" = 1 ]; then
    case_ "without a usable cgroup and without --allow-degraded airlock refuses to run" t_refuse_without_degraded
  fi
}

echo "# airlock attack suite ($MODE, uid $(id -u)$([ "$NEEDS_DEGRADED" = 1 ] && echo ', no usable cgroup: --allow-degraded'))"
run_all

if [ "$MODE" = root ] && [ "$(id -u)" = 0 ] && [ -z "${AIRLOCK_ATTACK_NO_USER:-}" ]; then
  if have_test_user; then
    copy=$(copy_suite "$WORK")
    tap_merge < <(as_test_user AIRLOCK_ATTACK_MODE=user AIRLOCK_ATTACK_ISOLATION="$ISOLATION" bash "$copy" \
      "$WORK/bin/airlock${ISOLATION:+.real}" "$BIN" 2>&1)
  else
    bad "create unprivileged test user $TEST_USER" "useradd failed"
  fi
fi

finish
