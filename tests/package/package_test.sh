#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# package_test.sh - the Debian packages, built from this tree and installed in
# a clean Debian 12 root: dpkg-buildpackage on a copy of the tree, lintian
# (errors and warnings fail; debian/*.lintian-overrides explains the rest),
# then in a minbase bookworm root (debootstrap, made once and kept as a tar
# in $AIRLOCK_ROOTFS_CACHE, /var/cache/airlock-tests by default) entered
# through a mount namespace whose root it is (pivot_root): apt installs the
# three packages and their dependencies; postinst made /var/lib/airlock
# (root's, 0700) and the "airlock" subordinate id range and enabled nothing;
# the binary, the unit (systemd-analyze verify) and the man pages are checked;
# `airlock run` works, `airlock node` serves a request made with curl over its
# unix socket and runs an exec; purge keeps the state directory unless
# AIRLOCK_PURGE_STATE=yes; after purging everything the root's files, modes,
# owners and /etc are what they were before the install, and no process is
# left in it.  Then, in a second clean root with systemd booted by
# systemd-nspawn (cgroup v2 layout): the unit starts (READY=1), runs an exec,
# logs to the journal (with journald's fields: AIRLOCK_TENANT=, ...), comes
# back after its node is killed, and stops cleanly; `airlock run` as root
# outside a delegated cgroup runs in a transient scope systemd made for it
# (listed while it runs, named in the report, gone afterwards).
#
# Root only; exits 77 when not root, when a tool is missing, or when the
# Debian archive cannot be reached (debootstrap's and apt's defaults).
# usage: package_test.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (mounts, pivot_root)"
for tool in dpkg-buildpackage dh lintian debootstrap unshare pivot_root curl systemd-analyze systemd-nspawn man; do
  command -v "$tool" >/dev/null || skip_all "$tool is missing (scripts/install-deps installs it)"
done
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
# everything below runs in a mount namespace of its own: the root's
# mounts go away with it, whatever happens
if [ -z "${AIRLOCK_PACKAGE_TEST_NS:-}" ]; then
  AIRLOCK_PACKAGE_TEST_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
WORK="$BUILD/package-test"
CACHE="${AIRLOCK_ROOTFS_CACHE:-/var/cache/airlock-tests}"
ROOTFS_TAR="$CACHE/bookworm-minbase.tar"
NODE_PID=""
unmount_root() { # everything mounted below the root, deepest first
  local m
  for m in $(awk -v r="$WORK/root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" || return 1
  done
}
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  # never remove through a mount: unmount first, and rm stays on one file system
  if unmount_root && [ "${KEEP_TMP:-}" != 1 ]; then
    rm -rf --one-file-system "$WORK/root" "$WORK/sdroot"
  fi
}
trap cleanup EXIT
unmount_root || bail "cannot unmount an earlier run's root"
rm -rf --one-file-system "$WORK" && mkdir -p "$WORK/src/airlock"
TMP="$WORK"

# --- build -----------------------------------------------------------------
if git -C "$SRC" rev-parse >/dev/null 2>&1; then
  git -C "$SRC" ls-files -co --exclude-standard -z | tar -C "$SRC" --null -T - -cf - | tar -C "$WORK/src/airlock" -xf -
else
  tar -C "$SRC" --exclude='./build*' --exclude=.git -cf - . | tar -C "$WORK/src/airlock" -xf -
fi
T0=$SECONDS
(cd "$WORK/src/airlock" && DEB_BUILD_OPTIONS="noautodbgsym nocheck" dpkg-buildpackage -us -uc -b -j2) >"$WORK/build.log" 2>&1
RC=$?
check "dpkg-buildpackage -b" [ "$RC" = 0 ]
[ "$RC" = 0 ] || { tail -20 "$WORK/build.log" | sed 's/^/#   /'; bail "no package built"; }
DEBS=("$WORK"/src/airlock_*.deb "$WORK"/src/libairlock0_*.deb "$WORK"/src/libairlock-dev_*.deb)
checkx "airlock, libairlock0 and libairlock-dev built" '[ -f "${DEBS[0]}" ] && [ -f "${DEBS[1]}" ] && [ -f "${DEBS[2]}" ]'

T_BUILD=$((SECONDS - T0))
run lintian --fail-on error,warning "$WORK"/src/airlock_*_"$(dpkg --print-architecture)".changes
check "lintian: no error or warning (overrides in debian/ explain the rest)" [ "$RC" = 0 ]
[ "$RC" = 0 ] || printf '#   %s\n' "$OUT" | head -20

T_LINTIAN=$((SECONDS - T0 - T_BUILD))
# --- a clean root ------------------------------------------------------------
if [ ! -f "$ROOTFS_TAR" ]; then
  mkdir -p "$CACHE"
  tmp_root="$CACHE/bookworm-minbase.tmp.$$"
  if ! debootstrap --variant=minbase bookworm "$tmp_root" >"$WORK/debootstrap.log" 2>&1; then
    rm -rf --one-file-system "$tmp_root"
    skip_all "debootstrap cannot reach the Debian archive: $(tail -n1 "$WORK/debootstrap.log")"
  fi
  tar -C "$tmp_root" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf --one-file-system "$tmp_root"
fi
R="$WORK/root"
mkdir -p "$R" && tar -C "$R" -xf "$ROOTFS_TAR"
# debootstrap made /dev's nodes; /sys/fs/cgroup is the host's (sandboxes
# need cgroups), read-only everywhere but there
mount -t proc proc "$R/proc" && mount -t sysfs -o ro sysfs "$R/sys" &&
  mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup" && mount -t tmpfs -o mode=0755 tmpfs "$R/run" &&
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts" ||
  bail "cannot mount /proc, /sys, /run, /dev/pts in the root"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# what an install in the root must not do: start services
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d"
mkdir -p "$R/tmp/debs" && cp "${DEBS[@]}" "$R/tmp/debs/"
IN_DEBS=()
for d in "${DEBS[@]}"; do IN_DEBS+=("/tmp/debs/$(basename "$d")"); done
# in_root COMMAND...: COMMAND with the root as the root of a mount namespace
# of its own (pivot_root, not chroot: the kernel refuses user namespaces to a
# chrooted process, and sandboxes need them)
mkdir -p "$R/.oldroot"
IN_ROOT=(unshare --mount --propagation private /bin/sh -c '
  r=$1 && shift && mount --rbind "$r" "$r" && cd "$r" && pivot_root . .oldroot &&
    umount -l /.oldroot && cd / || exit 126
  exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"' sh "$R")
in_root() { "${IN_ROOT[@]}" "$@"; }
if ! in_root apt-get update >"$WORK/apt.log" 2>&1; then
  skip_all "apt in the root cannot reach the Debian archive: $(tail -n1 "$WORK/apt.log")"
fi
run in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl
[ "$RC" = 0 ] || { printf '#   %s\n' "$ERR" | tail -10; bail "curl not installed in the root"; }
# snapshot: every path with its type, mode and owner, and the contents of
# /etc, but not what apt and dpkg keep about what they did
snapshot() {
  (cd "$R" && find . -xdev \( -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
    -o -path ./var/log -o -path ./tmp -o -path ./.oldroot \) -prune -o -printf '%y %m %u:%g %p\n' | sort &&
    find ./etc -xdev -type f -exec md5sum {} + | sort -k2)
}
snapshot >"$WORK/before"
run in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${IN_DEBS[@]}"
check "apt-get install of the three packages in a clean bookworm root" [ "$RC" = 0 ]
[ "$RC" = 0 ] || { printf '#   %s\n' "$ERR" | tail -10; bail "not installed"; }

checkx "postinst: /var/lib/airlock is root's, mode 0700" '[ "$(stat -c %U:%G:%a "$R/var/lib/airlock")" = root:root:700 ]'
checkx "postinst: 'airlock' subordinate uid and gid range" \
  'grep -qx "airlock:1610612736:65536" "$R/etc/subuid" && grep -qx "airlock:1610612736:65536" "$R/etc/subgid"'
checkx "the unit is installed and not enabled" \
  '[ -f "$R/lib/systemd/system/airlock-node.service" ] && ! find "$R/etc/systemd" -name "airlock*" | grep -q .'
VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version)
run in_root airlock version
checkx "/usr/bin/airlock is the packaged version ($VERSION)" '[ "$RC" = 0 ] && [ "$OUT" = "airlock $VERSION" ]'
UNIT="$R/lib/systemd/system/airlock-node.service"
checkx "the unit starts /usr/bin/airlock node with Delegate=yes and Type=notify; its Documentation= file exists" \
  'grep -qx "ExecStart=/usr/bin/airlock node .*" "$UNIT" && grep -qx "Delegate=yes" "$UNIT" &&
   grep -qx "Type=notify" "$UNIT" && [ -x "$R/usr/bin/airlock" ] &&
   doc=$(sed -n "s|^Documentation=.* file://||p" "$UNIT") && [ -n "$doc" ] && [ -f "$R$doc" ]'
# systemd-analyze verify on the host, with the binary's path pointed into the
# root (it checks that ExecStart= is executable); unknown keys are warnings
mkdir -p "$WORK/unit" && sed "s|=/usr/bin/airlock |=$R/usr/bin/airlock |" "$UNIT" >"$WORK/unit/airlock-node.service"
run systemd-analyze verify --man=no "$WORK/unit/airlock-node.service"
checkx "systemd-analyze verify: the unit is clean" '[ "$RC" = 0 ] && [ -z "$OUT$ERR" ]'
man_ok=0 man_n=0
for page in "$R"/usr/share/man/man[158]/airlock*.gz; do
  man_n=$((man_n + 1))
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  title=$(zcat "$page" | grep -m1 '^\.TH')
  if [ -z "$out" ] && [ -n "$title" ]; then man_ok=$((man_ok + 1)); else echo "#   $page: $title $out"; fi
done
man_src=$(find "$SRC/man" -name 'airlock*.[158]' | wc -l)
checkx "all $man_src man pages of man/ installed (airlock(1), a page per subcommand, airlock-node(8), airlock.json(5)) render without a warning" \
  '[ "$man_src" -ge 14 ] && [ "$man_n" = "$man_src" ] && [ "$man_ok" = "$man_src" ]'

# the completions made from the built binary's option tables: bash loads
# the packaged file and completes a subcommand
run in_root bash -c '. /usr/share/bash-completion/completions/airlock && complete -p airlock &&
  COMP_WORDS=(airlock sand) COMP_CWORD=1 && _airlock airlock sand airlock && echo "${COMPREPLY[*]}"'
checkx "bash completion installed: it loads and completes 'airlock sand' to sandbox" \
  '[ "$RC" = 0 ] && grep -q "^complete .* airlock$" <<<"$OUT" && grep -qx sandbox <<<"$OUT" && [ -f "$R/usr/share/zsh/vendor-completions/_airlock" ]'
[ "$RC" = 0 ] || printf '#   %s\n' "$OUT $ERR" | tail -5

run in_root airlock run -- sh -c 'echo sandboxed; id -u'
checkx "airlock run in the root" '[ "$RC" = 0 ] && [ "$(echo "$OUT" | head -1)" = sandboxed ]'
[ "$RC" = 0 ] || printf '#   %s\n' "$ERR" | tail -5

# --- the node ----------------------------------------------------------------
mkdir -p "$R/run/airlock"
"${IN_ROOT[@]}" airlock node --state-dir /var/lib/airlock \
  --listen unix:/run/airlock/node.sock --ready-file /run/airlock/ready >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 300); do
  [ -f "$R/run/airlock/ready" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || break
  sleep 0.1
done
checkx "airlock node starts in the root" '[ -f "$R/run/airlock/ready" ]'
[ -f "$R/run/airlock/ready" ] || sed 's/^/#   /' "$WORK/node.log" | tail -5
run in_root curl -s --unix-socket /run/airlock/node.sock http://localhost/v1/health
checkx "curl over the node's unix socket: /v1/health is ok" 'echo "$OUT" | grep -q "\"status\": *\"ok\""'
TOKEN=$(in_root airlock token create --name pkgtest --state-dir /var/lib/airlock 2>/dev/null)
run in_root env AIRLOCK_TOKEN="$TOKEN" AIRLOCK_NODE=unix:/run/airlock/node.sock airlock exec -- sh -c 'echo via-node'
checkx "airlock exec through the node (libcurl from the root)" '[ "$RC" = 0 ] && [ "$OUT" = via-node ]'
[ "$RC" = 0 ] || printf '#   %s\n' "$ERR" | tail -5
kill "$NODE_PID" && wait "$NODE_PID"
RC=$?
NODE_PID=""
check "the node stops on SIGTERM with status 0" [ "$RC" = 0 ]

# --- purge -------------------------------------------------------------------
run in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y airlock
checkx "purge: state kept (not asked), id range removed, a note says how to remove it" \
  '[ "$RC" = 0 ] && [ -f "$R/var/lib/airlock/tokens.db" ] && ! grep -q "^airlock:" "$R/etc/subuid" &&
   ! grep -q "^airlock:" "$R/etc/subgid" && printf "%s\n" "$OUT" "$ERR" | grep -q AIRLOCK_PURGE_STATE=yes'
run in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${IN_DEBS[0]}"
run in_root env DEBIAN_FRONTEND=noninteractive AIRLOCK_PURGE_STATE=yes apt-get purge -y airlock
checkx "purge with AIRLOCK_PURGE_STATE=yes removes /var/lib/airlock" '[ "$RC" = 0 ] && [ ! -e "$R/var/lib/airlock" ]'
run in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y --autoremove libairlock0 libairlock-dev
check "purge of libairlock0 and libairlock-dev and what they brought" [ "$RC" = 0 ]
run in_root dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n'
checkx "dpkg knows no airlock package any more" '! echo "$OUT" | grep -q airlock'
snapshot >"$WORK/after"
run diff "$WORK/before" "$WORK/after"
check "no trace: the root's files, modes, owners and /etc are as before the install" [ "$RC" = 0 ]
[ "$RC" = 0 ] || printf '#   %s\n' "$OUT" | head -20
left=""
for p in /proc/[0-9]*; do
  [ -d "$p/root/.oldroot" ] && left="$left ${p#/proc/}" # only the root has /.oldroot
done
checkx "no process left running in the root" '[ -z "$left" ]' || echo "#   pids:$left"
T_ROOT=$((SECONDS - T0 - T_BUILD - T_LINTIAN))
# --- the unit under a real systemd -------------------------------------------
# A second copy of the clean root, with systemd, booted by systemd-nspawn
# with the unified (cgroup v2) layout: systemd is its PID 1, and a oneshot
# unit there drives airlock-node.service and writes what it saw to
# /var/tmp/unit-test.out.  This host's cgroup v2 hierarchy has none of the
# memory, pids and cpu controllers (they are on v1), so a drop-in adds
# --allow-degraded: this stage tests the unit (readiness through sd_notify,
# Delegate=, the hardening options against real sandboxes, the journal,
# STATUS=, the watchdog, Restart=on-failure, stop), not cgroup limits.
S="$WORK/sdroot"
rm -rf --one-file-system "$S" && mkdir -p "$S" && tar -C "$S" -xf "$ROOTFS_TAR"
cp /etc/resolv.conf "$S/etc/resolv.conf"
mkdir -p "$S/root/debs" && cp "${DEBS[0]}" "${DEBS[1]}" "$S/root/debs/"
had_nspawn_run=no
[ -e /run/systemd/nspawn ] && had_nspawn_run=yes
nspawn() {
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout 120 systemd-nspawn -q -D "$S" -M "airlock-pkgtest-$$" \
    --register=no --keep-unit "$@"
}
run nspawn --pipe sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends systemd systemd-sysv curl /root/debs/*.deb'
check "systemd and the packages installed in a second clean root" [ "$RC" = 0 ]
mkdir -p "$S/etc/systemd/system/airlock-node.service.d"
printf '[Service]\nExecStart=\nExecStart=/usr/bin/airlock node --state-dir /var/lib/airlock --listen unix:/run/airlock/node.sock --allow-degraded\nTimeoutStartSec=30s\nWatchdogSec=3s\nRestartSec=0.5s\nLimitCORE=0\n' \
  >"$S/etc/systemd/system/airlock-node.service.d/test.conf"
cat >"$S/usr/local/sbin/airlock-unit-test" <<'EOS'
#!/bin/sh
# key=value lines for tests/package/package_test.sh
exec >/var/tmp/unit-test.out 2>&1
show() { systemctl show -p "$1" --value airlock-node.service; }
echo "enabled=$(systemctl is-enabled airlock-node.service)"
systemctl start airlock-node.service
echo "start=$?"
echo "active=$(show ActiveState)"
pid=$(show MainPID)
echo "cgroup=$(show ControlGroup)"
echo "delegate=$(show Delegate)"
echo "pid_cgroup=$(sed -n 's/^0:://p' /proc/"$pid"/cgroup)"
t=$(airlock token create --name unit-test)
run() { AIRLOCK_TOKEN=$t AIRLOCK_NODE=unix:/run/airlock/node.sock airlock exec -- sh -c 'echo "$0"' "$1"; }
echo "exec=$(run first)"
echo "journal_serving=$(journalctl -b -u airlock-node.service -o cat | grep -c '^serving on unix:/run/airlock/node.sock')"
# under the unit stderr is the journal: the node sends journald's own fields
echo "journal_fields=$(journalctl -b -u airlock-node.service SYSLOG_IDENTIFIER=airlock-node AIRLOCK_TENANT=unit-test \
  AIRLOCK_DECISION=allow AIRLOCK_EXIT=0 PRIORITY=6 -o cat | grep -c '^exec end tenant=unit-test exec=ex_')"
sleep 4 # longer than WatchdogSec=3s: a node that feeds it is not restarted
echo "watchdog_fed=$(show ActiveState):$(show NRestarts):$(show MainPID | grep -cx "$pid")"
echo "status=$(show StatusText)"
# killed under load: a streamed exec is running (a sandbox and its command
# in the unit's cgroup) when the node gets SIGKILL
curl -sN --unix-socket /run/airlock/node.sock -H "Authorization: Bearer $t" \
  -d '{"argv":["sleep","300"],"stream":true}' http://node/v1/exec >/var/tmp/load.ndjson 2>/dev/null &
for _ in $(seq 1 100); do grep -q '"exec_id"' /var/tmp/load.ndjson 2>/dev/null && break; sleep 0.1; done
lid=$(sed -n 's/.*"exec_id":"\([^"]*\)".*/\1/p' /var/tmp/load.ndjson | head -n 1)
sleeping() { cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep; }
echo "load_running=$(sleeping)"
kill -9 "$pid"
for _ in $(seq 1 100); do
  [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" != "$pid" ] && [ "$(show MainPID)" != 0 ] && break
  sleep 0.1
done
echo "restarts=$(show NRestarts)"
echo "active_after_kill=$(show ActiveState)"
echo "exec_after_restart=$(run second)"
echo "load_left=$(sleeping)"
echo "load_state=$(curl -s --unix-socket /run/airlock/node.sock -H "Authorization: Bearer $t" http://node/v1/execs/"$lid" |
  sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')"
# a node that stops answering (SIGSTOP) misses the watchdog and is restarted
pid=$(show MainPID)
kill -STOP "$pid"
for _ in $(seq 1 100); do
  [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" != "$pid" ] && [ "$(show MainPID)" != 0 ] && break
  sleep 0.1
done
echo "restarts_watchdog=$(show NRestarts)"
echo "journal_watchdog=$(journalctl -b -u airlock-node.service -o cat | grep -c 'Watchdog timeout')"
echo "exec_after_watchdog=$(run third)"
systemctl stop airlock-node.service
echo "stop=$?"
echo "after_stop=$(show ActiveState):$(show Result)"
echo "journal_stopping=$(journalctl -b -u airlock-node.service -o cat | grep -c '^Terminated: stopping')"
echo "left=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx airlock)"
# airlock run as root from a unit without Delegate= (this oneshot service;
# a login shell's session scope is the same case): it asks systemd for a
# transient scope with Delegate=yes and runs in it.  The command waits on a
# FIFO, so the scope is looked at while the run is alive.
mkfifo /var/tmp/run-in
airlock run --allow-degraded --report /var/tmp/run-report.json -- sh -c 'echo started; read x; echo "read $x"' \
  </var/tmp/run-in >/var/tmp/run-out 2>/var/tmp/run-err &
rpid=$!
exec 3>/var/tmp/run-in
for _ in $(seq 1 300); do grep -q started /var/tmp/run-out && break; sleep 0.1; done
echo "run_pid=$rpid"
echo "run_cgroup=$(sed -n 's/^0:://p' /proc/"$rpid"/cgroup)"
echo "run_units=$(systemctl list-units --no-legend --plain 'airlock-run-*' | awk '{print $1 ":" $3 ":" $4}' | tr '\n' ' ')"
echo go >&3
exec 3>&-
wait "$rpid"
echo "run_rc=$?"
echo "run_out=$(tr '\n' ' ' </var/tmp/run-out)"
echo "run_placement=$(sed -n 's/^ *"cgroup_placement": "\(.*\)",*$/\1/p' /var/tmp/run-report.json)"
for _ in $(seq 1 100); do
  [ -z "$(systemctl list-units --all --no-legend 'airlock-run-*')" ] && break
  sleep 0.1
done
echo "run_units_after=$(systemctl list-units --all --no-legend --plain 'airlock-run-*' | wc -l)"
echo "run_cgroups_after=$(find /sys/fs/cgroup -name 'airlock-run-*' | wc -l)"
echo done=1
systemctl poweroff
EOS
chmod 755 "$S/usr/local/sbin/airlock-unit-test"
printf '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/airlock-unit-test\n' \
  >"$S/etc/systemd/system/airlock-unit-test.service"
ln -s /etc/systemd/system/airlock-unit-test.service "$S/etc/systemd/system/multi-user.target.wants/"
run nspawn -b
check "systemd boots in the root, runs the unit test and powers off" [ "$RC" = 0 ]
want() { grep -qx "$1" "$S/var/tmp/unit-test.out"; }
sd_detail() { sed 's/^/#   /' "$S/var/tmp/unit-test.out" 2>/dev/null | head -20; }
checkx "systemd: the package enabled nothing" 'want enabled=disabled' || sd_detail
checkx "systemd: start waits for READY=1 (Type=notify) and the unit is active" 'want start=0 && want active=active' || sd_detail
checkx "systemd: the node runs in its own unit's cgroup, with Delegate=yes" \
  'want cgroup=/system.slice/airlock-node.service && want pid_cgroup=/system.slice/airlock-node.service && want delegate=yes' || sd_detail
checkx "systemd: an exec through the service runs in a sandbox under the unit's hardening" 'want exec=first' || sd_detail
checkx "systemd: the node's lines are in the journal" 'want journal_serving=1' || sd_detail
checkx "systemd: an exec's end is in the journal with AIRLOCK_TENANT, AIRLOCK_DECISION, AIRLOCK_EXIT and PRIORITY" \
  'want journal_fields=1' || sd_detail
checkx "systemd: Restart=on-failure brings a killed node back, and it serves" \
  'want restarts=1 && want active_after_kill=active && want exec_after_restart=second' || sd_detail
checkx "systemd: killed under load, nothing of its sandbox is left and the running exec is marked interrupted" \
  'want load_running=1 && want load_left=0 && want load_state=interrupted'
checkx "systemd: the node feeds the watchdog (WatchdogSec=3s, 4 s later: same pid, no restart)" \
  'want watchdog_fed=active:0:1' || sd_detail
checkx "systemd: STATUS= says what the node holds" 'grep -Eqx "status=[0-9]+ sandbox\(es\), 0 exec\(s\) running" "$S/var/tmp/unit-test.out"' || sd_detail
checkx "systemd: a stopped (SIGSTOP) node misses the watchdog and is restarted, and serves" \
  'want restarts_watchdog=2 && want journal_watchdog=1 && want exec_after_watchdog=third' || sd_detail
checkx "systemd: stop is clean (SIGTERM, exit 0) and leaves no airlock process" \
  'want stop=0 && want after_stop=inactive:success && want journal_stopping=1 && want left=0 && want done=1' || sd_detail
RUN_PID=$(sed -n 's/^run_pid=//p' "$S/var/tmp/unit-test.out")
grep '^run_' "$S/var/tmp/unit-test.out" | sed 's/^/# /' # what the checks below read
checkx "systemd: airlock run as root outside a delegated cgroup ran in a transient scope airlock-run-PID.scope with Delegate=yes, which systemd listed while it ran" \
  'want run_rc=0 && want "run_out=started read go " && [ -n "$RUN_PID" ] &&
   grep -Eqx "run_cgroup=/(.*/)?airlock-run-$RUN_PID\.scope(/.*)?" "$S/var/tmp/unit-test.out" &&
   want "run_units=airlock-run-$RUN_PID.scope:active:running "'
checkx "systemd: the report names the scope (cgroup_placement)" \
  'grep -Eqx "run_placement=systemd transient scope airlock-run-$RUN_PID\.scope \(/sys/fs/cgroup/(.*/)?airlock-run-$RUN_PID\.scope\)" "$S/var/tmp/unit-test.out"'
checkx "systemd: the scope and its cgroups are gone after the run" 'want run_units_after=0 && want run_cgroups_after=0'
rm -rf --one-file-system "$S"
# what systemd-nspawn made on the host, when nothing else uses it
[ "$had_nspawn_run" = yes ] || rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null
echo "# seconds: build $T_BUILD, lintian $T_LINTIAN, clean root $T_ROOT, systemd $((SECONDS - T0 - T_BUILD - T_LINTIAN - T_ROOT))"
finish
