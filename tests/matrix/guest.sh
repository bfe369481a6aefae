#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/matrix/guest.sh stage1 LAYOUT - runs inside a VM booted by
# cgroup_matrix.sh (airlock's own --isolation vm: Debian's kernel, the
# host's /usr read-only, this directory as /workspace, root in the guest).
# It gives the guest a root that pivot_root can leave (the initramfs's
# rootfs cannot be pivoted away from), mounts the cgroup LAYOUT (v2, v1 or
# hybrid) as a host of that kind would, and checks airlock's limits there
# as root, in a delegated cgroup and rootless, then runs the root half of
# the attack suite there.  One "ok"/"not ok" line per check, then
# "# done N".
set -u
W=/workspace
if [ "${1:-}" = stage1 ]; then
  mkdir -p /nr && mount -t tmpfs -o mode=755 tmpfs /nr
  for d in usr proc sys dev tmp run workspace etc root home; do mkdir -p /nr/$d; done
  for l in bin sbin lib lib64; do ln -s usr/$l /nr/$l; done
  cp -a /etc/. /nr/etc/
  grep -q '^nobody:' /nr/etc/passwd || echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>/nr/etc/passwd
  grep -q '^nogroup:' /nr/etc/group || echo 'nogroup:x:65534:' >>/nr/etc/group
  mount --rbind /usr /nr/usr && mount --rbind /proc /nr/proc && mount --rbind /sys /nr/sys &&
    mount --rbind /dev /nr/dev && mount --rbind /workspace /nr/workspace &&
    mount -t tmpfs -o mode=1777 tmpfs /nr/tmp || { echo "not ok - stage1: the new root"; exit 1; }
  cd /nr && mount --move . / && exec chroot . /bin/sh $W/guest.sh stage2 "$2"
fi

LAYOUT=$2
A=$W/airlock
N=0
ok() { N=$((N + 1)); echo "ok $N - $LAYOUT: $1"; }
notok() { N=$((N + 1)); echo "not ok $N - $LAYOUT: $1"; }
check() { what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }
CG=/sys/fs/cgroup
ALLOC='x = bytearray(200 << 20); print("allocated")'
FORK='
import os, time
k = 0
for i in range(64):
    try:
        if os.fork() == 0:
            time.sleep(3); os._exit(0)
        k += 1
    except OSError:
        break
print(k)'
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp/nobody "$@"; }
mkdir -p /tmp/nobody && chown 65534:65534 /tmp/nobody

case $LAYOUT in
  v2)
    mount -t cgroup2 none $CG && echo "+memory +pids +cpu" >$CG/cgroup.subtree_control
    MECH=cgroup2 ;;
  v1 | hybrid)
    mount -t tmpfs -o mode=755 cgroup $CG
    for c in memory pids cpu,cpuacct; do mkdir $CG/$c && mount -t cgroup -o $c cgroup $CG/$c; done
    if [ "$LAYOUT" = hybrid ]; then mkdir $CG/unified && mount -t cgroup2 none $CG/unified; fi
    MECH=cgroup1 ;;
esac
cd /tmp

# 1. as root: every limit on this layout's cgroups, none degraded
$A run --report /tmp/r.json -- true
check "root: the report names $MECH for memory, pids and cpus, none degraded" python3 -c '
import json, sys; r = json.load(open("/tmp/r.json"))
for k in ("memory", "pids", "cpus"):
    assert r["limits"][k]["mechanism"] == sys.argv[1] and not r["limits"][k]["degraded"], r["limits"]' $MECH
out=$($A run --memory 64m -- python3 -c "$ALLOC" 2>&1); rc=$?
check "root: --memory 64m: a 200 MiB allocation is killed (137, OOM reported)" \
  sh -c '[ "$0" = 137 ] && echo "$1" | grep -q "out of memory"' "$rc" "$out"
k=$($A run --pids 16 -- python3 -c "$FORK" 2>/dev/null | tail -n 1)
check "root: --pids 16: forks stop below 16 (got $k)" sh -c '[ -n "$0" ] && [ "$0" -lt 16 ] && [ "$0" -gt 2 ]' "$k"
$A run --cpus 0.5 -- sleep 4 &
bg=$!
sleep 3
if [ $MECH = cgroup2 ]; then cpu=$(cat $CG/airlock/*/cpu.max 2>/dev/null); want="50000 100000"
else cpu=$(cat $CG/cpu,cpuacct/airlock/*/cpu.cfs_quota_us 2>/dev/null); want=50000; fi
check "root: --cpus 0.5: the sandbox's cgroup has the CPU quota ($cpu)" [ "$cpu" = "$want" ]
wait $bg
left=$(find $CG -path '*/airlock/*' -type d 2>/dev/null | wc -l)
check "root: no sandbox cgroup left after the runs ($left)" [ "$left" = 0 ]

# 2. rootless without a delegated cgroup: refused, saying how to get one
out=$(as_nobody $A run -- true 2>&1); rc=$?
check "rootless, nothing delegated: refused (125) with the systemd-run hint" \
  sh -c '[ "$0" = 125 ] && echo "$1" | grep -q "systemd-run --user --scope -p Delegate=yes"' "$rc" "$out"
out=$(as_nobody $A run --allow-degraded -- echo degraded-ran 2>&1)
check "rootless, nothing delegated, --allow-degraded: runs" sh -c 'echo "$0" | grep -q degraded-ran' "$out"

if [ $MECH = cgroup2 ]; then
  # 3. root in a cgroup systemd delegated (Delegate=yes marks it with
  # trusted.delegate): the sandboxes nest below it, airlock itself moves
  # into a leaf beside them, nothing is made at the top
  # (a fresh unit per start, as systemd removes a stopped unit's sub-tree:
  # a cgroup that has handed out controllers takes no new processes)
  delegate() { mkdir $CG/$1 && python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.delegate", b"1")' $CG/$1; }
  delegate unit.service
  sh -c 'echo $$ > /sys/fs/cgroup/unit.service/cgroup.procs; exec '"$A"' run --cpus 0.5 --memory 64m -- sleep 4' &
  bg=$!
  sleep 3
  check "delegated unit (root): the sandbox's cgroup is below the unit" \
    sh -c 'cat /sys/fs/cgroup/unit.service/airlock/*/cpu.max | grep -qx "50000 100000"'
  check "delegated unit (root): airlock moved into the unit's supervisor leaf" \
    grep -qx "$bg" $CG/unit.service/supervisor/cgroup.procs
  top=$(find $CG/airlock -mindepth 1 -type d 2>/dev/null)
  check "delegated unit (root): nothing made at the top ($top)" [ -z "$top" ]
  wait $bg
  delegate unit2.service
  out=$(sh -c 'echo $$ > /sys/fs/cgroup/unit2.service/cgroup.procs; exec '"$A"' run --memory 64m -- python3 -c "$0"' "$ALLOC" 2>&1)
  check "delegated unit (root): --memory bites (137)" sh -c 'echo "$0" | grep -q "out of memory"' "$out"
  # the node in the delegated unit: its sandboxes below the unit as well
  mkdir -p /tmp/node && chmod 700 /tmp/node
  tok=$(AIRLOCK_STATE_DIR=/tmp/node $A token create --name t 2>/dev/null | tail -n 1)
  delegate node.service
  sh -c 'echo $$ > /sys/fs/cgroup/node.service/cgroup.procs; exec env AIRLOCK_STATE_DIR=/tmp/node '"$A"' node --listen unix:/tmp/node.sock --pool 0 --ready-file /tmp/node.ready' >/tmp/node.log 2>&1 &
  node=$!
  for i in $(seq 300); do [ -f /tmp/node.ready ] && break; sleep 0.1; done
  out=$(curl -sS --max-time 120 --unix-socket /tmp/node.sock -H "Authorization: Bearer $tok" \
    -d '{"argv":["python3","-c","x = bytearray(200 << 20)"],"limits":{"memory":67108864}}' http://localhost/v1/exec)
  check "delegated unit: a node exec over its memory limit is OOM-killed" sh -c 'echo "$0" | grep -q "\"oom_killed\":true"' "$out"
  curl -sS --max-time 120 --unix-socket /tmp/node.sock -H "Authorization: Bearer $tok" \
    -d '{"argv":["sleep","4"],"limits":{"cpus":0.5}}' http://localhost/v1/exec >/dev/null &
  req=$!
  sleep 3
  check "delegated unit: the node's sandbox has its cgroup below the unit" \
    sh -c 'cat /sys/fs/cgroup/node.service/airlock/*/cpu.max | grep -qx "50000 100000"'
  wait $req
  check "delegated unit: the node itself is in the supervisor leaf" grep -qx "$node" $CG/node.service/supervisor/cgroup.procs
  top=$(find $CG/airlock -mindepth 1 -type d 2>/dev/null)
  check "delegated unit: the node made nothing at the top ($top)" [ -z "$top" ]
  kill $node; wait $node

  # 4. rootless in a cgroup delegated to the user (what `systemd-run --user
  # --scope -p Delegate=yes` makes): nested below it, limits applied
  mkdir $CG/user-scope
  chown 65534:65534 $CG/user-scope $CG/user-scope/cgroup.procs $CG/user-scope/cgroup.subtree_control \
    $CG/user-scope/cgroup.threads
  out=$(sh -c 'echo $$ > /sys/fs/cgroup/user-scope/cgroup.procs; exec setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp/nobody '"$A"' run --report /tmp/nobody/r.json --memory 64m -- python3 -c "$0"' "$ALLOC" 2>&1); rc=$?
  check "rootless, delegated scope: --memory bites (137)" sh -c '[ "$0" = 137 ]' "$rc"
  check "rootless, delegated scope: the report says cgroup2, not degraded" python3 -c '
import json; r = json.load(open("/tmp/nobody/r.json"))
assert r["limits"]["memory"]["mechanism"] == "cgroup2" and not r["limits"]["memory"]["degraded"], r["limits"]'
fi

# 5. the attack suite (tests/attack/run.sh, its root half: the guest has no
# second user account for the rootless half) on this layout's cgroups, its
# TAP lines relabelled so that they count here
if [ -x $W/tests/attack/run.sh ]; then
  # its work directory on ext4, as /tmp is on a Debian 12 host: the guest's
  # tmpfs (Linux 6.1) cannot be idmapped, which airlock's read-write
  # workspace needs (a refusal, rightly, without --allow-degraded)
  modprobe loop && modprobe ext4 && truncate -s 384M /run/attack.img && mkfs.ext4 -q /run/attack.img &&
    mkdir -p /tmp/attack-fs && mount -o loop /run/attack.img /tmp/attack-fs && chmod 1777 /tmp/attack-fs &&
    mount --bind /tmp/attack-fs /tmp || notok "the attack suite's ext4 /tmp"
  mkdir -p /tmp/attack && cd /tmp/attack
  AIRLOCK_ATTACK_NO_USER=1 bash $W/tests/attack/run.sh $A $W/attack-bin >/run/attack.log 2>&1
  grep -E '^(not )?ok ' /run/attack.log | sed -E 's/^(not )?ok [0-9]+ - (.*)$/\1\2/' | while IFS= read -r line; do
    case $line in
      "not "*) echo "not ok - $LAYOUT: attack: ${line#not }" ;;
      *) echo "ok - $LAYOUT: attack: $line" ;;
    esac
  done
  grep -A12 '^not ok' /run/attack.log | grep '^#' | sed 's/^/# /'
  n=$(grep -cE '^ok ' /run/attack.log)
  N=$((N + n))
  check "the attack suite ran here ($n cases passed, $(tail -n 1 /run/attack.log))" [ "$n" -gt 20 ]
  cd /tmp
fi
echo "# done $N"
