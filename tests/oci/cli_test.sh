#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_test.sh - airlock-oci driven directly through runc's command line:
# the create/start/state/kill/delete cycle, run and exec exit codes, bad
# config.json fields refused naming the field, nothing left behind after a
# failed create (state directory, cgroups, uid lease), the container's root
# never host uid 0, crun's spellings.  Needs root (skips otherwise).  TAP.
#
# usage: cli_test.sh PATH_TO_AIRLOCK_OCI
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
OCI=$(readlink -f "${1:?usage: cli_test.sh PATH_TO_AIRLOCK_OCI}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v python3 >/dev/null || skip_all "needs python3"
TMP=$(mktemp -d /tmp/airlock-oci-cli.XXXXXX)
STATE=$TMP/state
cleanup() {
  for d in "$STATE"/*/; do [ -d "$d" ] && "$OCI" --root "$STATE" delete --force "$(basename "$d")" >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT
"$HERE/make_rootfs.sh" "$TMP/bundle/rootfs" || skip_all "no static busybox"
B=$TMP/bundle

# config ARGS_JSON [PYTHON_EDIT]: write B/config.json
config() {
  python3 - "$B/config.json" "$1" "${2:-}" <<'PY'
import json, sys
path, args, edit = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
c = {"ociVersion": "1.0.2",
     "process": {"user": {"uid": 0, "gid": 0}, "args": args, "env": ["PATH=/bin"], "cwd": "/",
                 "noNewPrivileges": True, "terminal": False},
     "root": {"path": "rootfs", "readonly": True}, "hostname": "oci-test",
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}],
     "linux": {"namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount"]],
               "resources": {"pids": {"limit": 64}},
               "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}}
if edit:
    exec(edit)
json.dump(c, open(path, "w"))
PY
}
oci() { "$OCI" --root "$STATE" "$@"; }
leases() { ls /run/airlock/oci-ids 2>/dev/null | wc -l; }
cgroup_dirs() { find /sys/fs/cgroup -maxdepth 6 -type d -path '*airlock/*' 2>/dev/null | sort; }

config '["/bin/sh","-c","echo hello; exit 7"]'
check "run: the process's output and exit code" run oci run --bundle "$B" c-run
checkx "run exits 7 and printed hello" '[ "$RC" = 7 ] && [ "$OUT" = hello ]'
checkx "run: the container is deleted afterwards" '[ ! -e "$STATE/c-run" ]'

config '["/bin/sleep","100"]'
# the container keeps create's stdout and stderr: files, not the pipe of run
oci create --bundle "$B" --pid-file "$TMP/pid" c1 >"$TMP/c1.log" 2>&1 </dev/null
RC=$?
checkx "create: exit 0" '[ "$RC" = 0 ]'
PID=$(cat "$TMP/pid" 2>/dev/null)
run oci state c1
checkx "state: created, with the pid of the pid file" \
  "python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s[\"status\"]==\"created\" and s[\"pid\"]==$PID and s[\"id\"]==\"c1\" and s[\"bundle\"]==\"$B\" and s[\"ociVersion\"] and \"created\" in s and \"annotations\" in s' \"\$OUT\""
checkx "created: the process waits, not yet exec'd" '! grep -q sleep /proc/$PID/cmdline'
HOST_UID=$(awk '/^Uid:/ {print $2}' /proc/"$PID"/status)
checkx "the container's root is not host root (host uid $HOST_UID)" '[ "$HOST_UID" -ge 65536 ]'
checkx "... and its uid map sends container root to that uid" "grep -qE '^ *0 +$HOST_UID +1\$' /proc/$PID/uid_map"
check "start" run oci start c1
checkx "start: exit 0, now running sleep" '[ "$RC" = 0 ] && grep -q sleep /proc/$PID/cmdline'
run oci state c1
checkx "state: running" 'grep -q "\"running\"" <<<"$OUT"'
run oci start c1
checkx "start twice is refused" '[ "$RC" != 0 ] && grep -q "not created" <<<"$ERR"'
run oci exec c1 /bin/sh -c 'id -u; hostname; exit 3'
checkx "exec: exit code 3, uid 0 inside, the container's hostname" '[ "$RC" = 3 ] && [ "$OUT" = "0
oci-test" ]'
run oci exec c1 /bin/sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
checkx "exec: no capabilities, no_new_privs, seccomp" 'grep -q "CapEff:.0000000000000000" <<<"$OUT" && grep -q "NoNewPrivs:.1" <<<"$OUT" && grep -q "Seccomp:.2" <<<"$OUT"'
run oci exec c1 /bin/sh -c 'touch /x'
checkx "readonly root: writes fail" '[ "$RC" != 0 ]'
run oci exec c1 /bin/sh -c 'touch /tmp/x && echo ok'
checkx "the /tmp tmpfs is writable" '[ "$OUT" = ok ]'
run oci exec c1 /no/such
checkx "exec of a missing binary fails naming it" '[ "$RC" != 0 ] && grep -q "/no/such" <<<"$ERR"'
run oci delete c1
checkx "delete of a running container is refused" '[ "$RC" != 0 ] && grep -q "not stopped" <<<"$ERR"'
run oci kill c1 SIGKILL
checkx "kill SIGKILL" '[ "$RC" = 0 ]'
for _ in $(seq 50); do oci state c1 | grep -q stopped && break; sleep 0.05; done
run oci state c1
checkx "state: stopped" 'grep -q "\"stopped\"" <<<"$OUT"'
check "delete" run oci delete c1
checkx "delete: nothing left (state, lease)" '[ "$RC" = 0 ] && [ ! -e "$STATE/c1" ]'
run oci state c1
checkx "state of a deleted container fails" '[ "$RC" != 0 ] && grep -q "does not exist" <<<"$ERR"'

# kill by number, --all, delete --force
check "create c2" oci create --bundle "$B" c2 </dev/null >/dev/null 2>&1
check "start c2" oci start c2
check "kill 15 (a signal number)" oci kill c2 15
check "kill --all KILL" oci kill --all c2 KILL
check "delete --force" oci delete --force c2
checkx "delete --force of a missing container succeeds" 'oci delete --force no-such-container'

# refusals name the field, and a failed create leaves nothing behind
before_leases=$(leases)
refused() { # refused NAME EDIT FIELD
  local want=$3
  config '["/bin/true"]' "$2"
  run oci create --bundle "$B" bad
  checkx "refused: $1 (names $3)" '[ "$RC" != 0 ] && grep -qF -- "$want" <<<"$ERR" && [ ! -e "$STATE/bad" ]'
}
refused "an unknown linux field" 'c["linux"]["intelRdt"] = {"closID": "x"}' "config.json: linux.intelRdt is not supported"
refused "a sysctl outside the network namespace" 'c["linux"]["sysctl"] = {"vm.swappiness": "1"}' 'linux.sysctl "vm.swappiness"'
refused "a net sysctl without a network namespace" 'c["linux"]["namespaces"] = [{"type": t} for t in ["pid", "mount"]]; c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}' 'linux.sysctl "net.ipv4.ip_forward"'
refused "a sysctl name with a path in it" 'c["linux"]["sysctl"] = {"net.ipv4/../../kernel.x": "1"}' 'linux.sysctl "net.ipv4/'
refused "a blkio weight" 'c["linux"]["resources"]["blockIO"] = {"weight": 500}' "linux.resources.blockIO.weight"
refused "a host uid 0 mapping" 'c["linux"]["namespaces"].append({"type":"user"}); c["linux"]["uidMappings"]=[{"containerID":0,"hostID":0,"size":1}]; c["linux"]["gidMappings"]=[{"containerID":0,"hostID":100000,"size":1}]' "linux.uidMappings[0].hostID"
refused "createContainer hooks" 'c["hooks"] = {"createContainer": [{"path": "/bin/true"}]}' "hooks.createContainer"
refused "a time namespace" 'c["linux"]["namespaces"].append({"type":"time"})' "linux.namespaces[5].type"
refused "an unknown mount type" 'c["mounts"].append({"destination":"/x","type":"nfs","source":"h:/x"})' 'mounts[4].type "nfs"'
refused "a seccomp notify action" 'c["linux"]["seccomp"] = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}' "linux.seccomp.syscalls[0].action"
refused "cpu shares" 'c["linux"]["resources"]["cpu"] = {"shares": 512}' "linux.resources.cpu.shares"
refused "an unknown process field" 'c["process"]["execCPUAffinity"] = {"initial": "0"}' "process.execCPUAffinity"
refused "a real-time scheduler" 'c["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10}' "process.scheduler.policy"
refused "a missing rootfs" 'c["root"]["path"] = "nowhere"' "root.path"
config '["/no/such/binary"]'
# the create's own pid names its cgroups (PID.N): exec keeps it
run bash -c 'echo $$ >"$0"; exec "$1" --root "$2" create --bundle "$3" bad' "$TMP/create.pid" "$OCI" "$STATE" "$B"
checkx "refused at create: a missing executable, named" '[ "$RC" != 0 ] && grep -q "/no/such/binary" <<<"$ERR" && [ ! -e "$STATE/bad" ]'
checkx "after the failed creates: no uid lease left" '[ "$(leases)" = "$before_leases" ]'
CPID=$(cat "$TMP/create.pid")
checkx "after a create that failed in the container's process: no cgroup left" '! cgroup_dirs | grep -q "/$CPID\."'

# the bundle's seccomp profile applies, with airlock's deny list on top
config '["/bin/sh","-c","mkdir /tmp/d 2>/dev/null && echo mkdir-ok; hostname x 2>/dev/null || echo sethostname-denied"]' \
  'c["linux"]["seccomp"] = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
run oci run --bundle "$B" sc
checkx "seccomp: the bundle's rule (mkdir) and airlock's (sethostname) both apply" '[ "$OUT" = sethostname-denied ]'

# net.* sysctls apply in the container's own network namespace (Docker
# sends two by default), and an empty blockIO is accepted; the host's value
# stays as it was
host_ping=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
config '["/bin/cat","/proc/sys/net/ipv4/ip_unprivileged_port_start"]' \
  'c["linux"]["sysctl"] = {"net.ipv4.ip_unprivileged_port_start": "'$((host_ping == 99 ? 98 : 99))'"}; c["linux"]["resources"]["blockIO"] = {"weight": 0}'
run oci run --bundle "$B" sysctl
checkx "sysctl net.ipv4.ip_unprivileged_port_start: set inside, the host's unchanged" '[ "$RC" = 0 ] && [ "$OUT" = $((host_ping == 99 ? 98 : 99)) ] && [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = "$host_ping" ]'

# the device cgroup: a bundle that binds the host's /dev still cannot open
# a node its rules deny (v1 devices hierarchy; /dev/fuse is 0666 on the host)
if [ -c /dev/fuse ] && grep -q devices /proc/self/cgroup; then
  devcfg='c["mounts"].append({"destination":"/dev/hostdev","type":"bind","source":"/dev","options":["rbind"]})'
  config '["/bin/sh","-c",": </dev/null && echo null-ok; : </dev/hostdev/fuse && echo fuse-opened"]' "$devcfg"
  run oci run --bundle "$B" devallow
  checkx "device cgroup: without rules the host's /dev/fuse (0666) opens" 'grep -q fuse-opened <<<"$OUT"'
  config '["/bin/sh","-c",": </dev/null && echo null-ok; : </dev/hostdev/fuse && echo fuse-opened"]' \
    "$devcfg"'; c["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"}]'
  run oci run --bundle "$B" devdeny
  checkx "device cgroup: a deny-all rule keeps it closed, the default nodes open" 'grep -q null-ok <<<"$OUT" && ! grep -q fuse-opened <<<"$OUT"'
else
  ok "# SKIP device cgroup: no /dev/fuse or no v1 devices hierarchy"
fi

# limits: the pids limit really applies
config '["/bin/sh","-c","for i in $(seq 1 30); do sleep 3 & done; echo all-started"]' 'c["linux"]["resources"]["pids"]["limit"] = 10'
run oci run --bundle "$B" pl
checkx "pids limit 10: the 30th process cannot be started" '[ "$RC" != 0 ] && ! grep -q all-started <<<"$OUT"'
config '["/bin/sh","-c","cat /proc/self/cgroup"]' 'c["linux"]["resources"]["memory"] = {"limit": 33554432}'
run oci run --bundle "$B" ml
MEMCG=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' <<<"$OUT")
checkx "memory limit: the container's process is in a memory cgroup" '[ -n "$MEMCG" ] || grep -q "^0::" <<<"$OUT"'

# crun's spellings
config '["/bin/true"]'
run bash -c "cd '$B' && '$OCI' --cgroup-manager cgroupfs --root '$STATE' run --config config.json crunstyle"
checkx "crun's --cgroup-manager cgroupfs and run --config" '[ "$RC" = 0 ]'
run oci --systemd-cgroup run --bundle "$B" sd
checkx "--systemd-cgroup is refused clearly" '[ "$RC" != 0 ] && grep -q "systemd-cgroup" <<<"$ERR"'
run oci create --no-pivot --bundle "$B" np
checkx "--no-pivot is refused" '[ "$RC" != 0 ] && grep -q "no-pivot" <<<"$ERR"'
run oci features
checkx "features: JSON with ociVersionMax and the seccomp actions" "python3 -c 'import json,sys; f=json.loads(sys.argv[1]); assert f[\"ociVersionMax\"] and f[\"linux\"][\"seccomp\"][\"enabled\"]' \"\$OUT\""
config '["/bin/true"]'
oci create --bundle "$B" l1 >/dev/null 2>&1
run oci list --format json
checkx "list --format json" "python3 -c 'import json,sys; l=json.loads(sys.argv[1]); assert [c[\"id\"] for c in l]==[\"l1\"]' \"\$OUT\""
oci delete l1 >/dev/null 2>&1
run oci --log "$TMP/log.json" --log-format json state no-such
checkx "--log-format json: the error as a JSON line" "python3 -c 'import json; j=json.loads(open(\"$TMP/log.json\").readline()); assert j[\"level\"]==\"error\" and \"does not exist\" in j[\"msg\"]'"
finish
