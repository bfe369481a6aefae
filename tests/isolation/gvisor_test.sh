#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --isolation gvisor (docs/isolation.md): the command runs under runsc with
# airlock's root, workspace, limits, timeout, exit codes and report, and
# the caller's descriptors never reach runsc.  As root it runs every case
# twice: as root and as an unprivileged user (rootless: runsc --rootless,
# no delegated cgroup, so --allow-degraded).  Skipped (77) without runsc.
#
# usage: gvisor_test.sh AIRLOCK_BINARY
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
AIRLOCK_IN=${1:?usage: gvisor_test.sh AIRLOCK_BINARY}
command -v runsc >/dev/null 2>&1 || { echo "1..0 # SKIP runsc is not installed (apt-get install runsc)"; exit 77; }
if [ "$(id -u)" = 0 ]; then MODE=${AIRLOCK_GVISOR_MODE:-root}; else MODE=user; fi
TAP_PREFIX="[$MODE] "
SECRET="sk-live-GVISOR-$$-$RANDOM$RANDOM"

WORK=$(mktemp -d /tmp/airlock-gvisor-test.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
cp "$AIRLOCK_IN" "$WORK/airlock" && chmod 755 "$WORK/airlock"
# `airlock node` is served by airlock-node beside it
[ -x "$(dirname "$AIRLOCK_IN")/airlock-node" ] && cp "$(dirname "$AIRLOCK_IN")/airlock-node" "$WORK/airlock-node"
# --network proxy starts the command behind the egress relay found beside airlock
[ -x "$(dirname "$AIRLOCK_IN")/airlock-gvisor-relay" ] &&
  cp "$(dirname "$AIRLOCK_IN")/airlock-gvisor-relay" "$WORK/airlock-gvisor-relay"
AIRLOCK="$WORK/airlock"
DEGRADED=()
if [ "$MODE" = user ] && ! "$AIRLOCK" run --isolation gvisor -- true >/dev/null 2>&1; then
  DEGRADED=(--allow-degraded)
fi
gv() { "$AIRLOCK" run "${DEGRADED[@]}" --isolation gvisor "$@"; }
# a workspace of a user of its own (as root), else of the caller
WS="$WORK/ws"
mkdir -p "$WS"
if [ "$MODE" = root ]; then chown 4242:4242 "$WS"; fi

t_exec() {
  local out
  out=$(gv -- sh -c 'echo hello; echo oops >&2; exit 7' 2>&1)
  [ $? = 7 ] || { echo "exit code not 7: $out"; return 1; }
  printf '%s' "$out" | grep -q hello && printf '%s' "$out" | grep -q oops || { echo "got: $out"; return 1; }
  [ "$(echo piped | gv -- cat)" = piped ] || { echo "stdin did not pass"; return 1; }
  gv -- sh -c 'kill -9 $$'
  [ $? = 137 ] || { echo "a command killed by SIGKILL is not 137"; return 1; }
  gv -- /nonexistent/cmd 2>/dev/null
  [ $? = 127 ] || { echo "a missing command is not 127"; return 1; }
  gv -- /etc/hostname 2>/dev/null
  [ $? = 126 ] || { echo "a file that is not executable is not 126"; return 1; }
}

t_timeout() {
  local start=$SECONDS
  gv --timeout 1 -- sh -c 'sleep 100 & (setsid sleep 100 &); while :; do :; done' 2>/dev/null
  local rc=$?
  [ $rc = 124 ] || { echo "timeout gave $rc"; return 1; }
  [ $((SECONDS - start)) -lt 10 ] || { echo "took $((SECONDS - start)) s"; return 1; }
  sleep 0.5
  if pgrep -u "$(id -u)" -f '^runsc(-gofer|-sandbox)? ' >/dev/null; then
    echo "runsc processes left behind: $(pgrep -af runsc)"
    return 1
  fi
}

t_workspace() {
  echo "from host" >"$WS/in.txt"
  [ "$MODE" = root ] && chown 4242:4242 "$WS/in.txt"
  local out
  # the gofer writes the host tree directly: refused unless accepted
  if [ "${#DEGRADED[@]}" = 0 ]; then
    out=$(gv --workspace "$WS" -- sh -c 'echo x > refused.txt' 2>&1)
    [ $? = 125 ] && grep -q 'writes to /workspace cannot be bounded.*--allow-degraded' <<<"$out" &&
      [ ! -e "$WS/refused.txt" ] || { echo "an unbounded workspace was not refused: $out"; return 1; }
  fi
  out=$(gv --allow-degraded --report "$WORK/ws-report.json" --workspace "$WS" -- sh -c 'cat in.txt; echo "from sandbox" > out.txt; pwd') ||
    { echo "$out"; return 1; }
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["workspace"]["mechanism"].startswith("bind (gVisor gofer, unbounded)"), r["workspace"]; assert "/workspace: writes go straight" in r["degraded"], r["degraded"]' "$WORK/ws-report.json" ||
    return 1
  [ "$out" = $'from host\n/workspace' ] || { echo "got: $out"; return 1; }
  [ "$(cat "$WS/out.txt")" = "from sandbox" ] || { echo "write did not reach the host"; return 1; }
  local owner
  owner=$(stat -c %u "$WS/out.txt")
  if [ "$MODE" = root ]; then [ "$owner" = 4242 ] || { echo "written as uid $owner, not the owner's 4242"; return 1; }; fi
  gv --workspace "$WS" --workspace-access ro -- sh -c 'echo x > /workspace/ro.txt' 2>/dev/null && { echo "ro workspace written"; return 1; }
  [ ! -e "$WS/ro.txt" ] || return 1
  # a workspace below a directory nobody else may search (root's home, a
  # 0700 state directory): gVisor's gofer, a leased uid, never looks the
  # path up (as root the launcher attaches the judged tree)
  if [ "$MODE" = root ]; then
    mkdir -p "$WORK/private/ws" && chmod 700 "$WORK/private" && echo deep >"$WORK/private/ws/in.txt" &&
      chown -R 4242:4242 "$WORK/private/ws"
    out=$(gv --allow-degraded --workspace "$WORK/private/ws" -- sh -c 'cat in.txt; echo back > out.txt' 2>"$WORK/private.err") ||
      { echo "workspace below a 0700 directory: $out $(cat "$WORK/private.err")"; return 1; }
    [ "$out" = deep ] && [ "$(cat "$WORK/private/ws/out.txt")" = back ] &&
      [ "$(stat -c %u "$WORK/private/ws/out.txt")" = 4242 ] || { echo "below 0700: $out"; return 1; }
  fi
}

t_host_files() {
  echo "$SECRET" >"$WORK/secret.txt"
  chmod 644 "$WORK/secret.txt"
  local out
  out=$(gv -- sh -c "cat '$WORK/secret.txt' 2>&1; for p in /root /run /var/lib /etc/shadow /boot /sys/fs/cgroup/memory /sys/fs/cgroup/unified '$WORK'; do [ -e \"\$p\" ] && echo \"VISIBLE \$p\"; done; true")
  if printf '%s' "$out" | grep -q -e "$SECRET" -e VISIBLE; then echo "$out"; return 1; fi
}

t_env_secrets() {
  local out
  out=$(env FAKE_API_KEY="$SECRET" "$AIRLOCK" run "${DEGRADED[@]}" --isolation gvisor -- sh -c 'env; cat /proc/*/environ 2>/dev/null | tr "\0" "\n"')
  if printf '%s' "$out" | grep -q "$SECRET"; then echo "secret visible: $out"; return 1; fi
  printf '%s' "$out" | grep -q '^PATH=' || { echo "no PATH: $out"; return 1; }
}

t_no_network() {
  local out
  out=$(gv -- python3 -c '
import socket
for addr in (("1.1.1.1", 53), ("127.0.0.1", 22), ("10.0.2.2", 80)):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(addr); print("CONNECTED", addr)
    except OSError as e:
        print("refused", addr, e)
try:
    socket.getaddrinfo("example.com", 80); print("RESOLVED")
except OSError:
    print("no dns")
print(open("/proc/net/dev").read())
')
  if printf '%s' "$out" | grep -q -e CONNECTED -e RESOLVED; then echo "$out"; return 1; fi
  if printf '%s' "$out" | grep -E '^ *(eth|ens|enp|wl)' >/dev/null; then echo "a host interface: $out"; return 1; fi
}

t_limits() {
  local rc
  gv --memory 100m -- python3 -c 'x = bytearray(400 << 20); print("allocated")' >"$WORK/mem.out" 2>&1
  rc=$?
  grep -q allocated "$WORK/mem.out" && { echo "400 MiB allocated under --memory 100m"; return 1; }
  if [ ${#DEGRADED[@]} = 0 ]; then [ $rc = 137 ] || { echo "memory: exit $rc, not 137"; cat "$WORK/mem.out"; return 1; }; fi
  local out
  out=$(gv --pids 20 --timeout 20 -- sh -c 'i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done; echo all-forked' 2>&1)
  printf '%s' "$out" | grep -q all-forked && { echo "100 processes under --pids 20: $out"; return 1; }
  [ "$(gv --pids 20 -- sh -c 'sleep 0.1 & wait; echo small')" = small ] || { echo "--pids 20 refused a small command"; return 1; }
}

# the caller's terminal and /dev nodes keep their owners and modes (runsc
# chowns the descriptors it is given as stdio to its sandbox user)
t_descriptor_owners() {
  local before after
  before=$(stat -c '%u:%g:%a' /dev/null /dev/zero /dev/tty 2>/dev/null)
  gv -- true </dev/null >/dev/null 2>&1
  gv -- sh -c 'echo out; echo err >&2' </dev/zero >/dev/null 2>/dev/null
  after=$(stat -c '%u:%g:%a' /dev/null /dev/zero /dev/tty 2>/dev/null)
  [ "$before" = "$after" ] || { echo "changed: $before -> $after"; return 1; }
  # a terminal of the caller's: a pty made here, given as stdin, stdout and stderr
  python3 - "$AIRLOCK" "${DEGRADED[@]}" <<'PY'
import os, pty, sys, subprocess
master, slave = pty.openpty()
name = os.ttyname(slave)
def st():
    s = os.stat(name)
    return (s.st_uid, s.st_gid, s.st_mode)
before = st()
p = subprocess.run([sys.argv[1], "run", *sys.argv[2:], "--isolation", "gvisor", "--", "sh", "-c", "echo hi"],
                   stdin=slave, stdout=slave, stderr=slave, timeout=60)
after = st()
os.close(slave)
out = b""
try:
    while True:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        out += chunk
        if b"hi" in out:
            break
except OSError:
    pass
if p.returncode != 0 or before != after or b"hi" not in out:
    print("rc", p.returncode, "before", before, "after", after, "output", out)
    sys.exit(1)
PY
}

t_second_kernel() {
  local host_release host_version out
  host_release=$(uname -r)
  host_version=$(cat /proc/version)
  out=$(gv -- sh -c 'uname -r; cat /proc/version')
  printf '%s' "$out" | grep -qF "$host_release" && { echo "host kernel release visible: $out"; return 1; }
  printf '%s' "$out" | grep -qF "$host_version" && { echo "host /proc/version visible: $out"; return 1; }
  # syscalls the host kernel has and gVisor does not implement: ENOSYS
  out=$(gv -- python3 -c '
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
for nr, name in ((434, "pidfd_open"), (444, "landlock_create_ruleset")):
    r = libc.syscall(nr, -1, 0, 0)
    print(name, r, errno.errorcode.get(ctypes.get_errno()))
')
  [ "$(printf '%s' "$out" | grep -c ENOSYS)" = 2 ] || { echo "expected ENOSYS twice: $out"; return 1; }
}

# --secret: /run/secrets/NAME, 0400, the command's; never in the environment;
# the bundle (on a tmpfs) is gone afterwards
t_secret() {
  local state="$WORK/state" out
  mkdir -p "$state" && chmod 700 "$state"
  printf '%s' "$SECRET" | "$AIRLOCK" secret set API_KEY --state-dir "$state" >/dev/null 2>&1 || { echo "secret set failed"; return 1; }
  out=$(gv --secret API_KEY --state-dir "$state" -- sh -c 'cat /run/secrets/API_KEY; echo; stat_mode=$(python3 -c "import os; print(oct(os.stat(\"/run/secrets/API_KEY\").st_mode & 0o777))"); echo "$stat_mode"; env' 2>&1)
  printf '%s' "$out" | head -1 | grep -qx "$SECRET" || { echo "secret not readable: $out"; return 1; }
  printf '%s' "$out" | grep -qx "0o400" || { echo "mode: $out"; return 1; }
  [ "$(printf '%s' "$out" | grep -c "$SECRET")" = 1 ] || { echo "secret also elsewhere: $out"; return 1; }
  if grep -rqs "$SECRET" /run/airlock /dev/shm "${XDG_RUNTIME_DIR:-/nonexistent}" /tmp/airlock-gvisor-?????? 2>/dev/null; then
    echo "the secret is left on the host"; return 1
  fi
}

# a launcher killed with SIGKILL leaves its bundle (and the secret file in
# it) behind: `airlock gc` removes it, never a live one
bundles() { ls -d /run/airlock/gvisor-* "${XDG_RUNTIME_DIR:-/nonexistent}"/airlock-gvisor-* /tmp/airlock-gvisor-* \
  /dev/shm/airlock-gvisor-* 2>/dev/null | sort; }
t_gc() {
  local state="$WORK/gcstate" before launcher dir out
  mkdir -p "$state" && chmod 700 "$state"
  printf '%s' "$SECRET" | "$AIRLOCK" secret set GC_KEY --state-dir "$state" >/dev/null 2>&1 || { echo "secret set failed"; return 1; }
  before=$(bundles)
  "$AIRLOCK" run "${DEGRADED[@]}" --isolation gvisor --secret GC_KEY --state-dir "$state" -- sleep 60 \
    </dev/null >/dev/null 2>&1 &
  launcher=$!
  for _ in $(seq 200); do
    dir=$(comm -13 <(printf '%s\n' "$before") <(bundles) | head -1)
    [ -n "$dir" ] && [ -f "$dir/rootfs/run/secrets/GC_KEY" ] && break
    sleep 0.1
  done
  [ -n "$dir" ] && [ -f "$dir/rootfs/run/secrets/GC_KEY" ] || { echo "no bundle with the secret appeared"; kill -9 $launcher; return 1; }
  "$AIRLOCK" gc >/dev/null
  [ -f "$dir/rootfs/run/secrets/GC_KEY" ] || { echo "gc removed a live bundle"; kill -9 $launcher; return 1; }
  kill -9 "$launcher"
  wait "$launcher" 2>/dev/null
  sleep 1
  [ -d "$dir" ] || { echo "the killed launcher's bundle was gone before gc (nothing to test)"; return 1; }
  out=$("$AIRLOCK" gc)
  printf '%s' "$out" | grep -Eq '^removed [1-9][0-9]* leftover' || { echo "gc: $out"; return 1; }
  [ ! -e "$dir" ] || { echo "bundle still there after gc: $(ls -la "$dir")"; return 1; }
  if grep -rqs "$SECRET" /run/airlock /dev/shm "${XDG_RUNTIME_DIR:-/nonexistent}" /tmp/airlock-gvisor-?????? 2>/dev/null; then
    echo "the secret is still on the host"; return 1
  fi
}

t_report() {
  local report="$WORK/report.json"
  rm -f "$report"
  gv --report "$report" -- true || return 1
  python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
iso = r["isolation"]
assert iso["level"] == "gvisor", iso
assert "gVisor" in iso["kernel"], iso
assert iso["network"] == "none", iso
assert r["exit_code"] == 0
for k in ("memory", "pids", "cpus", "timeout"):
    assert k in r["limits"], r["limits"]
PY
}

t_refusals() {
  local out
  # vm: the backend is there, and on a host without VMX/SVM it refuses to
  # emulate unless told to (tests/vm runs it)
  out=$("$AIRLOCK" run --isolation vm -- true 2>&1)
  rc=$?
  if grep -qE "vmx|svm" /proc/cpuinfo && [ -w /dev/kvm ]; then
    [ $rc != 125 ] || printf '%s' "$out" | grep -q "allow-degraded" && { echo "vm on a VMX/SVM host: $out"; return 1; }
  else
    [ $rc = 125 ] && printf '%s' "$out" | grep -q "pass --allow-degraded to accept emulation" || { echo "vm: $out"; return 1; }
  fi
  out=$("$AIRLOCK" run --isolation gvisor --runsc /nonexistent/runsc -- true 2>&1)
  [ $? = 125 ] || { echo "missing runsc: $out"; return 1; }
  out=$(env PATH=/nonexistent "$AIRLOCK" run --isolation gvisor -- true 2>&1)
  [ $? = 125 ] && printf '%s' "$out" | grep -q "apt-get install runsc" || { echo "no runsc on PATH: $out"; return 1; }
  out=$("$AIRLOCK" run --isolation gvisor --bind-socket /run/nonexistent.sock:/run/x.sock -- true 2>&1)
  [ $? = 125 ] || { echo "bind-socket: $out"; return 1; }
  out=$("$AIRLOCK" run --isolation other -- true 2>&1)
  [ $? = 125 ] || { echo "bad value: $out"; return 1; }
  # namespaces stays the default and is what --isolation namespaces runs
  [ "$("$AIRLOCK" run "${DEGRADED[@]}" --isolation namespaces -- uname -r)" = "$(uname -r)" ]
}

# --network proxy through the relay (tests/egress/sandbox_test.py runs the
# egress attacks under gVisor too): the stub's synthetic address for an
# allowed name, NXDOMAIN for another, the proxy variables, no direct route,
# a denial by the proxy, and the command's own exit code through the relay
t_proxy() {
  local out rc
  out=$(gv --network proxy --allow example.com --egress-log "$WORK/egress.log" -- sh -c '
    getent hosts example.com; getent hosts other.example || echo NXDOMAIN; echo "P=$HTTP_PROXY"
    python3 -c "
import socket
s = socket.socket(); s.settimeout(3)
try:
    s.connect((\"192.0.2.1\", 80)); print(\"DIRECT-OK\")
except OSError as e:
    print(\"direct\", e.errno)"
    curl -s -o /dev/null -w "code=%{http_code}\n" --max-time 10 http://denied.example/
    exit 7' 2>&1)
  rc=$?
  [ $rc = 7 ] || { echo "exit code $rc: $out"; return 1; }
  printf '%s' "$out" | grep -q '^198.18.0.1 .*example.com' || { echo "allowed name: $out"; return 1; }
  printf '%s' "$out" | grep -q '^NXDOMAIN' || { echo "other name: $out"; return 1; }
  printf '%s' "$out" | grep -q '^P=http://127.0.0.1:3128$' || { echo "variables: $out"; return 1; }
  printf '%s' "$out" | grep -q '^direct 11[03]$' || { echo "direct route: $out"; return 1; }
  printf '%s' "$out" | grep -q '^code=403$' || { echo "denied host: $out"; return 1; }
  grep -q '"host":"denied.example".*"verdict":"deny"' "$WORK/egress.log" || { echo "log: $(cat "$WORK/egress.log")"; return 1; }
  grep -q '"kind":"dns","host":"other.example".*"verdict":"deny"' "$WORK/egress.log" ||
    { echo "dns log: $(cat "$WORK/egress.log")"; return 1; }
  gv --network proxy --allow example.com --report "$WORK/proxy-report.json" -- true 2>/dev/null &&
    python3 -c '
import json, sys; r = json.load(open(sys.argv[1]))
assert r["isolation"]["network"] == "proxy" and r["isolation"]["level"] == "gvisor", r
assert r["egress"]["allow"] == ["example.com"] and r["egress"]["dns"] == "127.0.0.1:53", r' "$WORK/proxy-report.json" || { echo "report: $(cat "$WORK/proxy-report.json")"; return 1; }
}

# the node (root only): one-shot execs and persistent sandboxes under gVisor
# through the API, the isolation field, a timeout, the pty refusal
t_node() {
  command -v curl >/dev/null || { echo "no curl"; return 1; }
  local dir="$WORK/node" tok node rc=0
  mkdir -p "$dir/state" && chmod 700 "$dir/state"
  tok=$(AIRLOCK_STATE_DIR="$dir/state" "$AIRLOCK" token create --name gw 2>/dev/null | head -1)
  echo '{"sandbox": {"isolation": "gvisor", "network": {"mode": "proxy", "allow": ["example.com"]}}}' >"$dir/node.json"
  AIRLOCK_STATE_DIR="$dir/state" "$AIRLOCK" node --config "$dir/node.json" --listen "unix:$dir/sock" --pool 1 \
    --ready-file "$dir/ready" >"$dir/log" 2>&1 &
  node=$!
  for _ in $(seq 100); do [ -f "$dir/ready" ] && break; sleep 0.1; done
  api() { curl -sS --max-time 60 --unix-socket "$dir/sock" -H "Authorization: Bearer $tok" "$@"; }
  local out id
  out=$(api -d '{"argv":["sh","-c","uname -r; exit 3"]}' http://localhost/v1/exec)
  printf '%s' "$out" | python3 -c '
import json, sys; r = json.load(sys.stdin)
assert r["exit_code"] == 3 and r["stdout"] == "4.4.0\n", r' || { echo "one-shot: $out"; rc=1; }
  out=$(api -d '{"isolation":"namespaces","argv":["uname","-r"]}' http://localhost/v1/exec)
  printf '%s' "$out" | grep -qF "\"stdout\":\"$(uname -r)\n\"" || { echo "isolation namespaces: $out"; rc=1; }
  out=$(api -d '{"isolation":"vm","argv":["true"]}' http://localhost/v1/exec)
  # vm: this node does not accept emulation (no allow_degraded): refused before anything starts
  printf '%s' "$out" | grep -q '"forbidden".*isolation vm: .*needs allow_degraded' || { echo "vm: $out"; rc=1; }
  out=$(api -d '{"argv":["sleep","30"],"timeout_ms":1500}' http://localhost/v1/exec)
  printf '%s' "$out" | grep -q '"timed_out":true' || { echo "timeout: $out"; rc=1; }
  id=$(api -d '{}' http://localhost/v1/sandboxes | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["isolation"]=="gvisor", r; print(r["id"])') ||
    { echo "sandbox create failed"; rc=1; }
  if [ -n "$id" ]; then
    api -d '{"argv":["sh","-c","echo kept > ~/f; echo w > /workspace/w"]}' "http://localhost/v1/sandboxes/$id/exec" >/dev/null
    out=$(api -d '{"argv":["sh","-c","cat ~/f /workspace/w; cat /proc/version"]}' "http://localhost/v1/sandboxes/$id/exec")
    printf '%s' "$out" | grep -q 'kept\\nw\\nLinux version 4.4.0' || { echo "persistent: $out"; rc=1; }
    # the node's egress proxy per sandbox, through the relay, across execs
    out=$(api -d '{"argv":["sh","-c","getent hosts example.com; getent hosts other.example || echo NX"]}' \
      "http://localhost/v1/sandboxes/$id/exec")
    printf '%s' "$out" | grep -q '198.18.0.1 .*example.com.*NX' || { echo "persistent proxy: $out"; rc=1; }
    out=$(api -d '{"isolation":"namespaces","argv":["true"]}' "http://localhost/v1/sandboxes/$id/exec")
    printf '%s' "$out" | grep -q "isolation applies to fresh sandboxes" || { echo "isolation on a sandbox: $out"; rc=1; }
  fi
  kill "$node"
  wait "$node"
  if pgrep -f '^runsc(-gofer|-sandbox)? ' >/dev/null; then echo "runsc left after the node: $(pgrep -af runsc)"; rc=1; fi
  [ -z "$(ls -d /run/airlock/gvisor-* 2>/dev/null)" ] || { echo "bundles left: $(ls -d /run/airlock/gvisor-*)"; rc=1; }
  [ $rc = 0 ] || cat "$dir/log"
  return $rc
}

case_ "exec, output, stdin and exit codes (0-255, 137, 127, 126)" t_exec
case_ "timeout exits 124 and kills every runsc process" t_timeout
case_ "workspace read and write (as its owner), read-only workspace, below a 0700 directory" t_workspace
case_ "host files are invisible" t_host_files
case_ "the caller's environment is invisible" t_env_secrets
case_ "no network: no connection, no DNS, no host interface" t_no_network
case_ "--memory and --pids bite" t_limits
case_ "owners and modes of /dev/null, /dev/zero and the caller's pty unchanged" t_descriptor_owners
case_ "a second kernel: host release and /proc/version hidden, unimplemented syscalls ENOSYS" t_second_kernel
case_ "--secret: /run/secrets/NAME 0400, not in the environment, nothing left on the host" t_secret
case_ "report: isolation level gvisor, kernel, limits" t_report
case_ "airlock gc removes a SIGKILLed launcher's bundle and its secret, never a live one" t_gc
case_ "vm, missing runsc and bad values refused (125); namespaces default" t_refusals
case_ "--network proxy: names from the proxy's stub, the proxy's variables, no route, the command's exit code" t_proxy
if [ "$MODE" = root ] && [ -x "$WORK/airlock-node" ]; then
  case_ "node: one-shot and persistent sandboxes under gVisor, the isolation field, timeout, cleanup" t_node
fi

# as root: the same again as an unprivileged user
if [ "$MODE" = root ] && [ "$(id -u)" = 0 ]; then
  if have_test_user; then
    copy=$(copy_suite "$WORK")
    tap_merge < <(as_test_user AIRLOCK_GVISOR_MODE=user bash "$copy" "$AIRLOCK" 2>&1)
  else
    bad "create unprivileged test user $TEST_USER" "useradd failed"
  fi
fi
finish
