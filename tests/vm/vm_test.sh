#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/vm/vm_test.sh BUILD_DIR - `airlock run --isolation vm` (docs/vm.md).
# TCG boots take seconds, so this boots few VMs (seven, about 30 s on 2
# CPUs) and checks many things in each: exec, exit codes, stdin/stdout/
# stderr, the timeout killing the VM (QEMU gone), workspace read/write over
# 9p (and files owned by the workspace's owner when run as root), no host
# files beyond /usr (read-only), no NIC, none of the caller's environment or
# home, the report, the refusal of emulation without --allow-degraded,
# several execs in one warm VM (vm-exec), a node persistent sandbox kept in
# one VM across execs (vm_box_test: box.h over al_vm_box_start), --network
# proxy through the airlock.net port (one-shot and a node's sandbox),
# `airlock gc` of the VM cache, and a rootless run.
# Skips (77) without qemu-system-x86_64 or a guest kernel.
set -uo pipefail
build=$(cd "$1" && pwd)
airlock=$build/airlock
vmexec=$build/vm-exec
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: no qemu-system-x86_64 (apt-get install qemu-system-x86)"; exit 77; }
ls /boot/vmlinuz-* >/dev/null 2>&1 || [[ -n ${AIRLOCK_VM_KERNEL:-} ]] || { echo "SKIP: no guest kernel (apt-get install linux-image-amd64)"; exit 77; }

fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

work=$(mktemp -d /tmp/airlock-vm-test.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export AIRLOCK_STATE_DIR=$work/state # a cold cache: the first run builds the initramfs
ws=$work/ws
mkdir -p "$ws" "$work/home"
echo "from the host" >"$ws/in.txt"
echo "host-secret-file" >"$work/home/.netrc"
owner=$(id -u)
if [[ $owner == 0 ]]; then chown -R 65534:65534 "$ws"; owner=65534; fi

# 1. emulation is refused without --allow-degraded (only when this host has no KVM)
accel=tcg
if grep -qwE 'vmx|svm' /proc/cpuinfo && [[ -w /dev/kvm ]]; then accel=kvm; fi
if [[ $accel == tcg ]]; then
  out=$("$airlock" run --isolation vm -- true 2>&1); rc=$?
  check "refused without --allow-degraded (exit 125)" test "$rc" = 125
  check "the refusal says why and what to pass" grep -q "allow-degraded" <<<"$out"
fi

# 2. one VM: exec, stdio, exit code, workspace, no host files, no network, no secrets, the report
run=(run --isolation vm --allow-degraded)
script='
cat                                   # stdin from the host
echo to-stderr >&2
cat /workspace/in.txt
echo written-inside > /workspace/out.txt
echo "kernel=$(uname -r)"
echo "env:$(env | tr "\n" " ")"
ls /sys/class/net | tr "\n" " " | sed "s/^/nics=/"; echo
test -e /etc/shadow && echo HOST-SHADOW
test -e /var/lib/airlock && echo HOST-STATE
test -e '"$work/home"' && echo HOST-HOME
test -e /home && echo HOST-HOMES
touch /usr/airlock-probe 2>/dev/null && echo USR-WRITABLE
python3 -c "
import socket
try:
    socket.create_connection((\"1.1.1.1\", 80), timeout=3); print(\"NETWORK-REACHED\")
except OSError as e: print(\"no-network:\", e.errno)
"
exit 3'
out=$(echo "piped-stdin" | env SECRET_TOKEN=hunter2 HOME="$work/home" "$airlock" "${run[@]}" --workspace "$ws" \
  -e VISIBLE=yes --report "$work/report.json" -- sh -c "$script" 2>"$work/err"); rc=$?
echo "$out" | sed 's/^/  | /'
check "exit code 3 comes back" test "$rc" = 3
check "stdin reaches the command" grep -qx piped-stdin <<<"$out"
check "stderr is stderr" grep -qx to-stderr "$work/err"
check "workspace read over 9p" grep -qx "from the host" <<<"$out"
check "workspace written over 9p" grep -qx written-inside "$ws/out.txt"
check "files written belong to the workspace's owner ($owner)" test "$(stat -c %u "$ws/out.txt")" = "$owner"
check "a second kernel (not the host's $(uname -r))" bash -c "grep -q '^kernel=' <<<'$out' && ! grep -qx 'kernel=$(uname -r)' <<<'$out'"
check "-e variables are passed" grep -q "VISIBLE=yes" <<<"$out"
check "the caller's environment is not" bash -c "! grep -q hunter2 <<<'$out'"
check "no NIC but lo" grep -qx "nics=lo " <<<"$out"
check "no route out" grep -q "^no-network:" <<<"$out"
for marker in HOST-SHADOW HOST-STATE HOST-HOME HOST-HOMES USR-WRITABLE NETWORK-REACHED; do
  check "not seen: $marker" bash -c "! grep -q $marker <<<'$out'"
done
check "report: isolation kind vm" python3 -c "
import json,sys; r=json.load(open('$work/report.json')); i=r['isolation']
assert i['kind']=='vm' and i['accel']=='$accel' and i['kernel_release'] and r['exit_code']==3 and i['network']=='none', r"
if [[ $(id -u) == 0 ]]; then
  check "report: QEMU ran in a memory cgroup of its own (the guest's RAM + QEMU's)" python3 -c "
import json; c=json.load(open('$work/report.json'))['isolation']['qemu_cgroup']
assert c and 'memory' in c['controllers'] and c['memory_bytes'] > 512 << 20, c"
fi

# 3. the timeout kills the VM: exit 124, quickly, and no QEMU left behind
# (as root, in a workspace of root's: QEMU then stays root, and what the guest's
# root makes there must not become a setuid file or a device node on the host)
rootws=$work/rootws
mkdir -p "$rootws"
start=$(date +%s)
"$airlock" "${run[@]}" --workspace "$rootws" --timeout 2 -- \
  sh -c 'echo x > suid; chmod 4755 suid; mknod disk b 8 0; sleep 60' 2>"$work/err"; rc=$?
took=$(($(date +%s) - start))
check "timeout: exit 124" test "$rc" = 124
check "timeout: over in ${took}s (boot + 2 s)" test "$took" -lt 20
check "timeout: says the VM was killed" grep -q "VM killed" "$work/err"
check "timeout: no QEMU left with this workspace" bash -c "! pgrep -f 'qemu-system.*[p]ath=$rootws' >/dev/null"
if [[ $(id -u) == 0 ]]; then
  check "root's workspace: the guest's chmod u+s is not a host setuid file" test -f "$rootws/suid" -a ! -u "$rootws/suid"
  check "root's workspace: the guest's mknod is not a host device node" test -f "$rootws/disk" -a ! -b "$rootws/disk"
fi

# 3b. airlock killed (SIGKILL): its QEMU goes with it (parent-death signal, set
# again after QEMU drops to the workspace owner, since a uid change clears it)
killws=$work/killws
mkdir -p "$killws" && chown 65534:65534 "$killws" 2>/dev/null
"$airlock" "${run[@]}" --workspace "$killws" -- sleep 60 >/dev/null 2>&1 &
apid=$!
for _ in $(seq 1 100); do pgrep -f "qemu-system.*[p]ath=$killws" >/dev/null && break; sleep 0.1; done
check "kill -9 airlock: QEMU was running" bash -c "pgrep -f 'qemu-system.*[p]ath=$killws' >/dev/null"
kill -9 "$apid"; wait "$apid" 2>/dev/null
sleep 1
check "kill -9 airlock: no QEMU left" bash -c "! pgrep -f 'qemu-system.*[p]ath=$killws' >/dev/null"

# 4. one warm VM, several execs: state kept between them, exit codes, not found, signals
"$vmexec" --workspace "$ws" -- sh -c 'echo kept > /tmp/state' --then cat /tmp/state --then no-such-command \
  --then sh -c 'kill -9 $$' --then sh -c 'exit 7' >"$work/out" 2>"$work/err"; rc=$?
cat "$work/out" "$work/err" | sed 's/^/  | /'
check "warm VM: vm-exec ran" test "$rc" = 0
check "warm VM: /tmp survives between execs" grep -qx kept "$work/out"
check "warm VM: exit codes 0 0 127 137 7" grep -q '"exit_code": 0}, {.*"exit_code": 0}, {.*"exit_code": 127}, {.*"exit_code": 137}, {.*"exit_code": 7}' "$work/err"

# 4b. a node persistent sandbox in a VM, driven through box.h as the node drives one
mkdir -p "$work/boxws"
"$build/vm_box_test" "$work/boxws" >"$work/out" 2>&1; rc=$?
cat "$work/out"
check "node sandbox in a VM (vm_box_test)" test "$rc" = 0

# 4c. the real node: POST /v1/sandboxes {"isolation": "vm"} on a node that
# accepts emulation, two execs in that sandbox's VM, then one refused by a
# node that does not accept it
if command -v curl >/dev/null; then
  nd=$work/node
  mkdir -p "$nd/state" && chmod 700 "$nd/state"
  tok=$(AIRLOCK_STATE_DIR="$nd/state" "$airlock" token create --name gw 2>/dev/null | tail -n 1)
  echo '{}' >"$nd/node.json"
  AIRLOCK_STATE_DIR="$nd/state" "$airlock" node --config "$nd/node.json" --listen "unix:$nd/sock" --pool 0 \
    --allow-degraded --ready-file "$nd/ready" >"$nd/log" 2>&1 &
  npid=$!
  for _ in $(seq 100); do [[ -f $nd/ready ]] && break; sleep 0.1; done
  api() { curl -sS --max-time 120 --unix-socket "$nd/sock" -H "Authorization: Bearer $tok" "$@"; }
  sid=$(api -d '{"isolation":"vm"}' http://localhost/v1/sandboxes | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
  check "node: a sandbox with isolation vm is made" test -n "$sid"
  api -d '{"argv":["sh","-c","echo kept > /tmp/state"]}' "http://localhost/v1/sandboxes/$sid/exec" >/dev/null
  out=$(api -d '{"argv":["sh","-c","cat /tmp/state; uname -r; exit 4"]}' "http://localhost/v1/sandboxes/$sid/exec")
  echo "$out" | sed 's/^/  | /'
  check "node: the second exec ran in the same VM, under the guest's kernel, exit 4" python3 -c "
import json, sys; r = json.loads(sys.argv[1]); out = r['stdout'].split()
assert r['exit_code'] == 4 and out[0] == 'kept' and out[1] != '$(uname -r)', r" "$out"
  api -X DELETE "http://localhost/v1/sandboxes/$sid" >/dev/null
  kill "$npid"; wait "$npid" 2>/dev/null
  if [[ $accel == tcg ]]; then
    AIRLOCK_STATE_DIR="$nd/state" "$airlock" node --config "$nd/node.json" --listen "unix:$nd/sock" --pool 0 \
      --ready-file "$nd/ready2" >"$nd/log2" 2>&1 &
    npid=$!
    for _ in $(seq 100); do [[ -f $nd/ready2 ]] && break; sleep 0.1; done
    out=$(api -d '{"isolation":"vm"}' http://localhost/v1/sandboxes)
    check "node without allow-degraded: isolation vm refused (403) saying why" grep -q '"forbidden".*needs allow_degraded' <<<"$out"
    kill "$npid"; wait "$npid" 2>/dev/null
  fi
  # 4d. the warm pool of a node whose sandboxes are VMs: one-shot execs take
  # a VM booted before they arrived (its uptime exceeds the whole request)
  echo '{"sandbox": {"isolation": "vm"}}' >"$nd/pool.json"
  AIRLOCK_STATE_DIR="$nd/state" "$airlock" node --config "$nd/pool.json" --listen "unix:$nd/sock" --pool 1 \
    --allow-degraded --ready-file "$nd/ready3" >"$nd/log3" 2>&1 &
  npid=$!
  for _ in $(seq 100); do [[ -f $nd/ready3 ]] && break; sleep 0.1; done
  for _ in $(seq 600); do
    api http://localhost/v1/health | grep -q '"pool":{"ready":1' && break
    sleep 0.1
  done
  check "node: the pool holds a booted VM" bash -c "curl -sS --unix-socket '$nd/sock' http://localhost/v1/health | grep -q '\"pool\":{\"ready\":1'"
  sleep 1
  out=$(python3 - "$nd/sock" "$tok" <<'PY'
import http.client, json, socket, sys, time
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
c = C("localhost", timeout=120)
t0 = time.monotonic()
c.request("POST", "/v1/exec", json.dumps({"argv": ["cat", "/proc/uptime"]}),
          {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
r = json.loads(c.getresponse().read())
print(json.dumps({"elapsed": time.monotonic() - t0, "result": r}))
PY
)
  echo "$out" | sed 's/^/  | /'
  check "node: a one-shot exec ran in the warm VM (booted before the request)" python3 -c "
import json, sys; o = json.loads(sys.argv[1]); r = o['result']
assert r['exit_code'] == 0, r
assert float(r['stdout'].split()[0]) > o['elapsed'] + 0.5, o" "$out"
  kill "$npid"; wait "$npid" 2>/dev/null
  sleep 1
  check "node: no QEMU left after the sandbox was removed and the node stopped" bash -c "! pgrep -f 'qemu-syste[m].*$nd' >/dev/null"
fi

# 4f. --network proxy: the egress proxy through the airlock.net port (the
# stub's synthetic address, NXDOMAIN, the proxy variables, a denial by the
# proxy with its record, the command's exit code, the report), then the
# same from a node's persistent VM sandbox across two execs; tests/egress/
# sandbox_test.py runs the egress attacks and bulk transfers under vm
out=$("$airlock" "${run[@]}" --network proxy --allow example.com --egress-log "$work/egress.log" \
  --report "$work/proxy-report.json" -- sh -c '
  getent hosts example.com; getent hosts other.example || echo NXDOMAIN; echo "P=$HTTP_PROXY"
  curl -s -o /dev/null -w "code=%{http_code}\n" --max-time 20 http://denied.example/
  exit 7' 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
check "proxy: the command's exit code (7)" test "$rc" = 7
check "proxy: an allowed name resolves to the stub's address" grep -q '^198.18.0.1 .*example.com' <<<"$out"
check "proxy: another name is NXDOMAIN" grep -qx NXDOMAIN <<<"$out"
check "proxy: the proxy variables" grep -qx 'P=http://127.0.0.1:3128' <<<"$out"
check "proxy: a host no rule allows is refused by the proxy (403)" grep -qx 'code=403' <<<"$out"
check "proxy: the refusal is in the egress log" grep -q '"host":"denied.example".*"verdict":"deny"' "$work/egress.log"
check "proxy: report says proxy, with the egress rules" python3 -c "
import json; r=json.load(open('$work/proxy-report.json'))
assert r['isolation']['network']=='proxy' and r['egress']['allow']==['example.com'], r"
check "proxy: its socket directory is gone after the run" bash -c "! ls -d '$AIRLOCK_STATE_DIR'/vm/net-* 2>/dev/null"
out=$("$airlock" "${run[@]}" --network proxy --config <(echo '{"network": {"mode": "proxy", "allow": [{"host": "api.example.com", "inspect": true}]}}') -- sh -c '
  ls /run/airlock; echo "SSL_CERT_FILE=$SSL_CERT_FILE"; grep -c "BEGIN CERTIFICATE" /run/airlock/egress-ca.crt
  cmp -s /run/airlock/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt && echo SAME-BUNDLE' 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
check "proxy, inspected hosts: the proxy's CA and the bundle are in the guest, the variables point at them" \
  bash -c '[ "$1" = 0 ] && grep -qx ca-certificates.crt <<<"$2" && grep -qx egress-ca.crt <<<"$2" &&
    grep -qx SSL_CERT_FILE=/run/airlock/ca-certificates.crt <<<"$2" && grep -qx 1 <<<"$2" && grep -qx SAME-BUNDLE <<<"$2"' _ "$rc" "$out"
if command -v curl >/dev/null; then
  echo '{"sandbox": {"isolation": "vm", "network": {"mode": "proxy", "allow": ["example.com"]}}}' >"$nd/proxy.json"
  AIRLOCK_STATE_DIR="$nd/state" "$airlock" node --config "$nd/proxy.json" --listen "unix:$nd/sock" --pool 0 \
    --allow-degraded --ready-file "$nd/ready4" >"$nd/log4" 2>&1 &
  npid=$!
  for _ in $(seq 100); do [[ -f $nd/ready4 ]] && break; sleep 0.1; done
  sid=$(api -d '{}' http://localhost/v1/sandboxes | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
  api -d '{"argv":["sh","-c","getent hosts example.com"]}' "http://localhost/v1/sandboxes/$sid/exec" >"$nd/x1"
  out=$(api -d '{"argv":["sh","-c","echo P=$HTTP_PROXY; getent hosts example.com; curl -s -o /dev/null -w code=%{http_code} --max-time 20 http://denied.example/"]}' \
    "http://localhost/v1/sandboxes/$sid/exec")
  echo "$out" | sed 's/^/  | /'
  check "node proxy: both execs of a persistent VM sandbox reach the stub and the proxy" python3 -c "
import json, sys; a = json.load(open(sys.argv[1])); b = json.loads(sys.argv[2])
assert a['stdout'].startswith('198.18.0.1') and 'example.com' in a['stdout'], a
assert 'P=http://127.0.0.1:3128' in b['stdout'] and '198.18.0.1' in b['stdout'] and 'code=403' in b['stdout'], b" "$nd/x1" "$out"
  "$airlock" gc --state-dir "$nd/state" >/dev/null 2>&1
  check "node proxy: the sandbox's socket directory exists while it lives (gc keeps it)" bash -c "ls -d '$nd/state'/vm/net-* >/dev/null 2>&1"
  out=$(api -d '{"argv":["sh","-c","getent hosts example.com"]}' "http://localhost/v1/sandboxes/$sid/exec")
  check "node proxy: still reached after gc" grep -q '198.18.0.1' <<<"$out"
  api -X DELETE "http://localhost/v1/sandboxes/$sid" >/dev/null
  sleep 1
  check "node proxy: removed with the sandbox" bash -c "! ls -d '$nd/state'/vm/net-* 2>/dev/null"
  kill "$npid"; wait "$npid" 2>/dev/null
fi

# 4g. airlock gc: a socket directory whose owner is gone and cached images
# that are not the current ones are removed; the current ones stay
mkdir -p "$AIRLOCK_STATE_DIR/vm/net-Zz0123" && touch "$AIRLOCK_STATE_DIR/vm/net-Zz0123/owner.lock"
touch "$AIRLOCK_STATE_DIR/vm/initrd-0123456789abcdef.cpio" "$AIRLOCK_STATE_DIR/vm/vmlinux-0123456789abcdef"
current=$(ls "$AIRLOCK_STATE_DIR"/vm/initrd-*.cpio | grep -v 0123456789abcdef)
out=$("$airlock" gc --state-dir "$AIRLOCK_STATE_DIR" 2>&1)
echo "$out" | sed 's/^/  | /'
check "gc: a stale socket directory and old VM images are removed" bash -c "
  ! test -e '$AIRLOCK_STATE_DIR/vm/net-Zz0123' && ! test -e '$AIRLOCK_STATE_DIR/vm/initrd-0123456789abcdef.cpio' &&
  ! test -e '$AIRLOCK_STATE_DIR/vm/vmlinux-0123456789abcdef'"
check "gc: the current initramfs stays" test -n "$current" -a -f "$current"
check "gc: a VM still boots afterwards" bash -c "'$airlock' ${run[*]} -- true"

# 5. rootless: the same as an unprivileged user (as root: as nobody)
if [[ $(id -u) == 0 ]]; then
  rl=$work/rootless
  mkdir -p "$rl/ws" "$rl/home" && chown -R 65534:65534 "$rl"
  out=$(setpriv --reuid 65534 --regid 65534 --clear-groups env -u AIRLOCK_STATE_DIR HOME="$rl/home" \
    "$airlock" "${run[@]}" --workspace "$rl/ws" -- sh -c 'echo rootless > r.txt; cat r.txt' 2>&1); rc=$?
  echo "$out" | sed 's/^/  | /'
  check "rootless: runs (exit 0)" test "$rc" = 0
  check "rootless: writes the workspace as the user" test "$(stat -c %u "$rl/ws/r.txt" 2>/dev/null)" = 65534
fi

if [[ $fails -gt 0 ]]; then echo "$fails check(s) failed"; exit 1; fi
echo "all vm checks passed"
