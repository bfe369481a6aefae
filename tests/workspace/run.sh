#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Workspace suite: bounded writes through a read-write workspace (disk and
# inode fills, sparse files, hard links, renames across the mount), live
# write-back, changes mode and `airlock changes`, and content a sandbox
# leaves to trick the write-back.  Every negative check is paired with proof
# that the command inside really ran.  As root it runs twice: as root and,
# through tap_merge, as an unprivileged user (rootless).  Host space is
# measured on a small ext4 file system of its own (a loop device, made as
# root, default options), so other work on the machine does not blur it.
#
# usage: run.sh AIRLOCK_BINARY
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
AIRLOCK_IN=${1:?usage: run.sh AIRLOCK_BINARY}
if [ "$(id -u)" = 0 ]; then MODE=${AIRLOCK_WS_MODE:-root}; else MODE=user; fi
TAP_PREFIX="[$MODE] "

if [ "$MODE" = root ]; then
  WORK=$(mktemp -d /tmp/airlock-ws.XXXXXX)
  chmod 755 "$WORK"
  LOOP=
  cleanup() {
    cd /
    umount "$WORK/ov/m2" "$WORK/ov/m1" 2>/dev/null
    if [ -n "$LOOP" ]; then umount "$WORK/fs" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; fi
    rm -rf "$WORK"
  }
  trap cleanup EXIT
  # a file system of its own: 256 MiB of ext4 with default options
  FS=$WORK/tmp
  if truncate -s 256M "$WORK/fs.img" && mkfs.ext4 -q -F "$WORK/fs.img" 2>/dev/null && mkdir -p "$WORK/fs" &&
    LOOP=$(losetup -f --show "$WORK/fs.img" 2>/dev/null) && mount "$LOOP" "$WORK/fs"; then
    FS=$WORK/fs
  fi
  mkdir -p "$FS" && chmod 755 "$FS"
  mkdir -p "$WORK/bin" && cp "$AIRLOCK_IN" "$WORK/bin/airlock" && chmod 755 "$WORK/bin" "$WORK/bin/airlock"
  AIRLOCK=$WORK/bin/airlock
  # a writable workspace must belong to a regular user (uid >= 1000): a
  # numeric owner with no account is enough
  OWNER=${AIRLOCK_WS_OWNER:-61000}
  have_test_user || bail "test user $TEST_USER"
  mkdir -p "$FS/user" && chown "$TEST_USER:" "$FS/user"
  # an overlay over an overlay: a third one (the workspace's) would exceed
  # the kernel's stacking depth, so no workspace below it can be bounded
  NESTED=$WORK/ov/m2
  mkdir -p "$WORK"/ov/{l/root,l/user,u1,w1,m1,u2,w2,m2} && chown "$OWNER:$OWNER" "$WORK/ov/l/root" &&
    chown "$TEST_USER:" "$WORK/ov/l/user" && chmod 755 "$WORK/ov" &&
    mount -t overlay nested1 -o "lowerdir=$WORK/ov/l,upperdir=$WORK/ov/u1,workdir=$WORK/ov/w1" "$WORK/ov/m1" &&
    mount -t overlay nested2 -o "lowerdir=$WORK/ov/m1,upperdir=$WORK/ov/u2,workdir=$WORK/ov/w2" "$NESTED" || NESTED=
else
  FS=${AIRLOCK_WS_FS:?the rootless pass runs from the root pass}
  NESTED=${AIRLOCK_WS_NESTED:-}
  AIRLOCK=${AIRLOCK_WS_BIN:?}
  OWNER=$(id -un)
fi
BASE=$FS/$MODE
rm -rf "${BASE:?}"/* && mkdir -p "$BASE" && chmod 700 "$BASE"
TMP=$BASE/tmp # testlib's run
mkdir -p "$TMP"
STATE=$BASE/state
mkdir -p "$STATE" && chmod 700 "$STATE"
SLACK=$((1024 + 64)) # KiB: the write-back's allowance over the quota (1 MiB) and ext4 metadata

DEGRADED=()
if [ "$MODE" = user ] && ! "$AIRLOCK" run -- true >/dev/null 2>&1; then DEGRADED=(--allow-degraded); fi
box() { "$AIRLOCK" run "${DEGRADED[@]}" --state-dir "$STATE" "$@"; }

# a fresh workspace NAME with a few files, owned by $OWNER
mkws() {
  local d=$BASE/$1
  rm -rf "$d" && mkdir -p "$d/olddir" "$d/keep" && cd "$d" || return 1
  echo modify-me >m && echo gone >gone && echo rename-me >ren && echo mode >ch && echo old >olddir/x
  printf 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\n' >text && echo k >keep/k && ln -s text link
  cd / && [ "$MODE" = user ] || chown -R "$OWNER:$OWNER" "$d"
  echo "$d"
}
used_kb() { df -k --output=used "$FS" | tail -1 | tr -d ' '; }
used_inodes() { df --output=iused "$FS" | tail -1 | tr -d ' '; }
# every entry: type, mode, path, link target, content hash
tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum); }
rep() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# ---- disk-fill attacks ------------------------------------------------------

t_big_file() {
  local ws before after out
  ws=$(mkws big) && before=$(used_kb)
  out=$(box --workspace "$ws" --workspace-quota 8m --report "$BASE/r.json" -- \
    sh -c 'echo RAN; dd if=/dev/zero of=big bs=1M count=64 2>&1; echo "dd=$?"' 2>&1)
  after=$(used_kb)
  echo "$out" | grep -q '^RAN' || { echo "did not run: $out"; return 1; }
  echo "$out" | grep -q 'No space left on device' && echo "$out" | grep -q '^dd=[1-9]' || { echo "no ENOSPC: $out"; return 1; }
  [ "$(rep "$BASE/r.json" 'r["workspace"]["mechanism"]')" = overlay+tmpfs ] || { rep "$BASE/r.json" 'r["workspace"]'; return 1; }
  [ $((after - before)) -le $((8 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
  [ "$(stat -c %s "$ws/big")" -le $((8 << 20)) ] || { echo "big is $(stat -c %s "$ws/big") bytes"; return 1; }
  echo "host grew by $((after - before)) KiB for a 64 MiB write at --workspace-quota 8m" >"$NOTE"
}

t_many_files() {
  local ws before bi after ai out
  ws=$(mkws inodes) && before=$(used_kb) && bi=$(used_inodes)
  out=$(box --workspace "$ws" --workspace-quota 4m -- sh -c 'echo RAN; i=0; while [ $i -lt 5000 ]; do
      true 2>/dev/null > f$i || { echo "stopped at $i"; true > x; break; }; i=$((i + 1)); done' 2>&1)
  after=$(used_kb) && ai=$(used_inodes)
  echo "$out" | grep -q '^RAN' && echo "$out" | grep -q 'stopped at' || { echo "no inode cap: $out"; return 1; }
  echo "$out" | grep -q 'No space left' || { echo "no ENOSPC: $out"; return 1; }
  [ $((ai - bi)) -le 1100 ] || { echo "host used $((ai - bi)) inodes (cap 1024)"; return 1; }
  [ $((after - before)) -le $((4 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
  echo "$out" | grep 'stopped at' >"$NOTE"
}

t_sparse() {
  local ws before after out
  ws=$(mkws sparse) && before=$(used_kb)
  out=$(box --workspace "$ws" --workspace-quota 8m -- sh -c 'echo RAN; truncate -s 7M sp && echo x >> sp &&
      dd if=/dev/zero of=sp2 bs=1M count=1 seek=100 2>&1; dd if=/dev/zero of=fill bs=1M count=20 2>&1; echo end' 2>&1)
  after=$(used_kb)
  echo "$out" | grep -q '^RAN' && echo "$out" | grep -q '^end' || { echo "$out"; return 1; }
  echo "$out" | grep -q 'No space left' || { echo "no ENOSPC: $out"; return 1; }
  [ "$(stat -c %s "$ws/sp")" = $((7 * 1048576 + 2)) ] || { echo "sp: $(stat -c %s "$ws/sp")"; return 1; }
  [ $((after - before)) -le $((8 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
}

t_hard_links() {
  local ws before after out
  ws=$(mkws links) && head -c 3M /dev/urandom >"$ws/lower" && { [ "$MODE" = user ] || chown "$OWNER:$OWNER" "$ws/lower"; }
  before=$(used_kb)
  out=$(box --workspace "$ws" --workspace-quota 8m -- sh -c 'echo RAN; head -c 4M /dev/zero > new;
      for i in $(seq 1 300); do ln new n$i 2>/dev/null || { echo "ln stopped at $i"; break; }; ln lower l$i 2>/dev/null; done; echo end' 2>&1)
  after=$(used_kb)
  echo "$out" | grep -q '^RAN' && echo "$out" | grep -q '^end' || { echo "$out"; return 1; }
  [ -f "$ws/n1" ] && [ "$(stat -c %h "$ws/n1")" -gt 1 ] || { echo "links not recreated: $(ls "$ws" | head)"; return 1; }
  [ $((after - before)) -le $((8 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
  echo "$(ls "$ws" | wc -l) names, host grew by $((after - before)) KiB" >"$NOTE"
}

t_rename_across() {
  local ws before after out
  ws=$(mkws rename) && head -c 2M /dev/urandom >"$ws/out" && { [ "$MODE" = user ] || chown "$OWNER:$OWNER" "$ws/out"; }
  before=$(used_kb)
  out=$(box --disk 64m --workspace "$ws" --workspace-quota 8m -- sh -c 'echo RAN; mv out /tmp/out && echo moved-out;
      head -c 30M /dev/zero > /tmp/in && mv /tmp/in in 2>&1; echo "mv=$?"' 2>&1)
  after=$(used_kb)
  echo "$out" | grep -q '^RAN' && echo "$out" | grep -q moved-out || { echo "$out"; return 1; }
  echo "$out" | grep -q 'No space left' && echo "$out" | grep -q '^mv=1' || { echo "no ENOSPC on mv: $out"; return 1; }
  [ ! -e "$ws/out" ] || { echo "out still on the host"; return 1; }
  [ $((after - before)) -le $((8 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
}

t_dir_storm() {
  local ws before after out
  ws=$(mkws dirs) && before=$(used_kb)
  # a directory takes no tmpfs space but a block of the host's: data up to
  # the cap plus directories up to the inode cap would cost about twice it
  out=$(box --workspace "$ws" --workspace-quota 4m --report "$BASE/r.json" -- sh -c 'echo RAN; i=0;
      head -c 3M /dev/zero > data; while [ $i -lt 3000 ]; do mkdir d$i 2>/dev/null || break; i=$((i + 1)); done; echo "made $i"' 2>&1)
  after=$(used_kb)
  echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  echo "$out" | grep -q 'kept as changeset' || { echo "not kept as a changeset: $out"; return 1; }
  [ ! -e "$ws/d1" ] && [ ! -e "$ws/data" ] || { echo "directories were written back"; return 1; }
  [ $((after - before)) -le $((4 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
  echo "$out" | grep made >"$NOTE"
}

# ---- live write-back, changes mode ------------------------------------------

SCRIPT='echo new > n; echo more >> m; rm gone; mv ren ren2; chmod 700 ch; ln -s n sl; mkdir -p nd/sub;
  echo z > nd/sub/z; rm -r olddir; mkdir olddir; echo o > olddir/o; chmod 600 m; sed -i s/l5/L5/ text; rm link;
  chmod 750 keep; echo RAN'

t_live_round_trip() {
  local ws ref out
  ws=$(mkws live) && ref=$(mkws live-ref) || return 1
  (cd "$ref" && umask 022 && sh -c "$SCRIPT" >/dev/null) || return 1
  out=$(box --workspace "$ws" -- sh -c "umask 022; $SCRIPT" 2>&1)
  echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  diff <(tree "$ref") <(tree "$ws") || return 1
  [ "$MODE" = user ] || [ "$(find "$ws" ! -user "$OWNER" | wc -l)" = 0 ] || { echo "not the owner's:"; find "$ws" ! -user "$OWNER"; return 1; }
}

changeset_of() { sed -n 's/^airlock: changeset \([0-9a-f-]*\)$/\1/p' <<<"$1"; }

t_changes_round_trip() {
  local ws ref before out id show
  ws=$(mkws changes) && ref=$(mkws changes-ref) || return 1
  (cd "$ref" && umask 022 && sh -c "$SCRIPT" >/dev/null) || return 1
  before=$(tree "$ws")
  out=$(box --workspace "$ws" --workspace-mode changes --report "$BASE/r.json" -- sh -c "umask 022; $SCRIPT" 2>&1)
  echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  id=$(changeset_of "$out")
  [ -n "$id" ] && [ "$(rep "$BASE/r.json" 'r["changeset"]')" = "$id" ] || { echo "no id: $out"; return 1; }
  [ "$before" = "$(tree "$ws")" ] || { echo "the host changed in changes mode"; return 1; }
  "$AIRLOCK" changes list --state-dir "$STATE" | grep -q "^$id " || { echo "not listed"; return 1; }
  "$AIRLOCK" changes list --state-dir "$STATE" --format json | grep -q "\"id\": \"$id\"" || return 1
  show=$("$AIRLOCK" changes show "$id" --state-dir "$STATE")
  for want in 'added  *n$' 'modified  *m' 'deleted  *gone' 'renamed  *ren2 (from ren)' 'mode  *ch 0644 -> 0700' \
    'symlink  *sl -> n' 'added-dir  *nd$' 'replaced-dir  *olddir' 'deleted  *link' 'mode  *keep 0755 -> 0750'; do
    grep -q "$want" <<<"$show" || { echo "show lacks '$want':"; echo "$show"; return 1; }
  done
  "$AIRLOCK" changes diff "$id" text --state-dir "$STATE" | grep -q '^-l5$' || return 1
  "$AIRLOCK" changes diff "$id" text --state-dir "$STATE" | grep -q '^+L5$' || return 1
  "$AIRLOCK" changes apply "$id" --state-dir "$STATE" >/dev/null || return 1
  diff <(tree "$ref") <(tree "$ws") || return 1
}

t_partial_and_conflict() {
  local ws out id before
  ws=$(mkws conflict) || return 1
  out=$(box --workspace "$ws" --workspace-mode changes -- sh -c 'echo a >> m; echo b >> text; echo c > new; echo RAN' 2>&1)
  id=$(changeset_of "$out") && echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  echo "host edit" >>"$ws/m"
  before=$(tree "$ws")
  run "$AIRLOCK" changes apply "$id" --state-dir "$STATE"
  [ "$RC" = 125 ] && grep -q 'changed since.*: m ' <<<"$ERR" || { run_detail; return 1; }
  [ "$before" = "$(tree "$ws")" ] || { echo "a refused apply changed the host"; return 1; }
  "$AIRLOCK" changes apply "$id" new --state-dir "$STATE" >/dev/null || return 1
  [ "$(cat "$ws/new")" = c ] && ! grep -q '^l9b' "$ws/text" && [ "$(tail -1 "$ws/text")" = l9 ] || { echo "partial apply wrong"; return 1; }
  "$AIRLOCK" changes apply "$id" --state-dir "$STATE" --force >/dev/null || return 1
  [ "$(tail -1 "$ws/m")" = a ] && [ "$(tail -1 "$ws/text")" = b ] || { echo "forced apply wrong"; return 1; }
}

t_discard() {
  local ws out id before
  ws=$(mkws discard) && before=$(tree "$ws")
  out=$(box --workspace "$ws" --workspace-mode changes -- sh -c 'rm -r olddir keep; echo x > m; echo RAN' 2>&1)
  id=$(changeset_of "$out") && echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  "$AIRLOCK" changes discard "$id" --state-dir "$STATE" >/dev/null || return 1
  [ "$before" = "$(tree "$ws")" ] || { echo "host changed"; return 1; }
  ! "$AIRLOCK" changes list --state-dir "$STATE" | grep -q "^$id" || { echo "still listed"; return 1; }
  run "$AIRLOCK" changes show "$id" --state-dir "$STATE"
  [ "$RC" = 125 ] && grep -q "no changeset $id" <<<"$ERR" || { run_detail; return 1; }
}

t_dangerous_flagged() {
  local ws out id show
  ws=$(mkws danger) || return 1
  out=$(box --workspace "$ws" --workspace-mode changes -- sh -c 'mkdir -p .git/hooks .github/workflows;
      echo evil > .git/hooks/pre-commit; echo ci > .github/workflows/x.yml; echo ci > .gitlab-ci.yml;
      echo "export A=1" > .envrc; echo s > suid; chmod 4755 suid; ln -s ../../../etc/shadow up; ln -s /etc abs;
      ln -s keep/k inside; echo RAN' 2>&1)
  id=$(changeset_of "$out") && echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  show=$("$AIRLOCK" changes show "$id" --state-dir "$STATE")
  for p in .git/hooks/pre-commit .github/workflows/x.yml .gitlab-ci.yml .envrc suid up abs; do
    grep -q "$p.*DANGER" <<<"$show" || { echo "$p not flagged:"; echo "$show"; return 1; }
  done
  ! grep -q 'inside.*DANGER' <<<"$show" || { echo "a link inside was flagged"; return 1; }
  "$AIRLOCK" changes diff "$id" .envrc --state-dir "$STATE" | grep -q '^# DANGER: .envrc' || return 1
  "$AIRLOCK" changes list --state-dir "$STATE" | grep "^$id" | grep -q FLAGGED || return 1
}

t_malicious_upper() {
  local ws out outside
  ws=$(mkws evil) && outside=$BASE/outside && rm -rf "$outside" && mkdir -p "$outside"
  out=$(box --workspace "$ws" --report "$BASE/r.json" -- sh -c 'ln -s '"$outside"' esc; ln -s /etc etc;
      mkfifo ff; echo s > suid; chmod 6755 suid; mknod dev c 1 3 2>/dev/null; echo RAN' 2>&1)
  echo "$out" | grep -q '^RAN' || { echo "$out"; return 1; }
  [ -L "$ws/esc" ] && [ -L "$ws/etc" ] && [ -z "$(ls -A "$outside")" ] || { echo "links not kept as links"; return 1; }
  [ ! -e "$ws/ff" ] && [ ! -e "$ws/dev" ] || { echo "fifo or device written back"; return 1; }
  [ "$(stat -c %a "$ws/suid")" = 755 ] || { echo "suid mode $(stat -c %a "$ws/suid")"; return 1; }
  [ "$(rep "$BASE/r.json" 'r["workspace"]["skipped"]')" -ge 1 ] && echo "$out" | grep -q 'refused' || { echo "$out"; return 1; }
  # a host directory swapped for a link to outside before apply: the write goes nowhere
  out=$(box --workspace "$ws" --workspace-mode changes -- sh -c 'echo pwn > keep/pwn; echo RAN' 2>&1)
  local id
  id=$(changeset_of "$out") && [ -n "$id" ] || { echo "$out"; return 1; }
  rm -rf "$ws/keep" && ln -s "$outside" "$ws/keep"
  run "$AIRLOCK" changes apply "$id" --state-dir "$STATE" --force
  [ "$RC" = 125 ] && [ -z "$(ls -A "$outside")" ] || { run_detail; ls -la "$outside"; return 1; }
  # a tampered manifest naming a path outside is refused when read
  sed -i 's| keep/pwn | ../pwn |' "$STATE/changesets/$id/manifest"
  run "$AIRLOCK" changes apply "$id" --state-dir "$STATE" --force
  [ "$RC" = 125 ] && grep -q 'bad path' <<<"$ERR" && [ ! -e "$BASE/pwn" ] || { run_detail; return 1; }
}

# a workspace no overlay can be mounted over: refused unless
# --allow-degraded, then run unbounded and reported as such (as root the
# refusal comes first from the idmapping, which overlayfs lacks; rootless
# here already needs --allow-degraded for the missing cgroups)
t_unboundable() {
  [ -n "$NESTED" ] || { echo "the nested overlays could not be mounted"; return 1; }
  local ws=$NESTED/$MODE
  if [ "${#DEGRADED[@]}" = 0 ]; then
    run "$AIRLOCK" run --state-dir "$STATE" --workspace "$ws" -- sh -c 'echo x > /workspace/a; echo RAN'
    one_line_error 125 && [ ! -e "$ws/a" ] || { run_detail; return 1; }
  fi
  run "$AIRLOCK" run --allow-degraded --state-dir "$STATE" --report "$BASE/r.json" --workspace "$ws" -- \
    sh -c 'echo x > /workspace/a; echo RAN'
  [ "$RC" = 0 ] && [ "$OUT" = RAN ] && [ "$(cat "$ws/a")" = x ] || { run_detail; return 1; }
  grep -q 'degraded:.*workspace: no overlay could be mounted' <<<"$ERR" || { run_detail; return 1; }
  [ "$(rep "$BASE/r.json" 'r["workspace"]["mechanism"]')" = "bind (degraded)" ] || { rep "$BASE/r.json" 'r["workspace"]'; return 1; }
}

# the output and a read-write bind share the workspace quota's one cap
t_output_and_binds() {
  local out_dir=$BASE/out bind=$BASE/bindsrc before bi after ai out
  rm -rf "$out_dir" "$bind" && mkdir -p "$out_dir" "$bind" && echo old >"$bind/old"
  [ "$MODE" = user ] || chown -R "$OWNER:$OWNER" "$out_dir" "$bind"
  before=$(used_kb) && bi=$(used_inodes)
  out=$(box --output "$out_dir" --bind "$bind:/data:rw" --workspace-quota 8m --report "$BASE/r.json" -- sh -c '
      echo RAN; echo kept > /output/small; mkdir /data/d && echo new > /data/d/f; rm /data/old
      dd if=/dev/zero of=/output/big bs=1M count=6 2>&1 | tail -1; echo "dd1=$?"
      dd if=/dev/zero of=/data/big bs=1M count=6 2>&1; echo "dd2=$?"
      i=0; while [ $i -lt 5000 ]; do true 2>/dev/null > /data/f$i || { echo "stopped at $i"; break; }; i=$((i + 1)); done' 2>&1)
  after=$(used_kb) && ai=$(used_inodes)
  echo "$out" | grep -q '^RAN' || { echo "did not run: $out"; return 1; }
  echo "$out" | grep -q 'No space left on device' || { echo "no ENOSPC: $out"; return 1; }
  echo "$out" | grep -q 'stopped at' || { echo "no inode cap: $out"; return 1; }
  [ "$(cat "$out_dir/small")" = kept ] && [ "$(cat "$bind/d/f")" = new ] && [ ! -e "$bind/old" ] ||
    { echo "not written back: $(ls -R "$out_dir" "$bind" | head)"; return 1; }
  [ $((after - before)) -le $((8 * 1024 + SLACK)) ] || { echo "host lost $((after - before)) KiB"; return 1; }
  [ $((ai - bi)) -le 2100 ] || { echo "host used $((ai - bi)) inodes (cap 2048)"; return 1; }
  [ "$(rep "$BASE/r.json" '[m["target"] + "=" + m["mechanism"] for m in r["writable_mounts"]]')" = \
    "['/output=overlay+tmpfs', '/data=overlay+tmpfs']" ] || { rep "$BASE/r.json" 'r.get("writable_mounts")'; return 1; }
  echo "host grew by $((after - before)) KiB and $((ai - bi)) inodes for 12 MiB and 5000 files at --workspace-quota 8m" >"$NOTE"
}

t_output_unboundable() {
  [ -n "$NESTED" ] || { echo "the nested overlays could not be mounted"; return 1; }
  local dir=$NESTED/$MODE
  if [ "${#DEGRADED[@]}" = 0 ]; then
    run "$AIRLOCK" run --state-dir "$STATE" --output "$dir" -- sh -c 'echo x > /output/o; echo RAN'
    one_line_error 125 && grep -q 'output' <<<"$ERR" && [ ! -e "$dir/o" ] || { run_detail; return 1; }
  fi
  run "$AIRLOCK" run --allow-degraded --state-dir "$STATE" --report "$BASE/r.json" --output "$dir" -- \
    sh -c 'echo x > /output/o; echo RAN'
  [ "$RC" = 0 ] && [ "$OUT" = RAN ] && [ "$(cat "$dir/o")" = x ] || { run_detail; return 1; }
  grep -q 'degraded:.*/output: no overlay could be mounted' <<<"$ERR" || { run_detail; return 1; }
  [ "$(rep "$BASE/r.json" 'r["writable_mounts"][0]["mechanism"]')" = "bind (degraded)" ] ||
    { rep "$BASE/r.json" 'r.get("writable_mounts")'; return 1; }
}

t_bad_input() {
  run "$AIRLOCK" run --workspace-quota 10k --workspace "$BASE" -- true
  one_line_error 125 && grep -q 'workspace quota' <<<"$ERR" || { run_detail; return 1; }
  run "$AIRLOCK" run --workspace-mode later -- true
  one_line_error 125 && grep -q '"live" or "changes"' <<<"$ERR" || { run_detail; return 1; }
  run "$AIRLOCK" changes show ../x --state-dir "$STATE"
  one_line_error 125 || { run_detail; return 1; }
  run "$AIRLOCK" changes apply --state-dir "$STATE"
  one_line_error 125 || { run_detail; return 1; }
}

NOTE=$BASE/note
echo "# airlock workspace suite ($MODE, uid $(id -u), host file system $(df --output=fstype "$FS" | tail -1))"
case_ "one large file stops at --workspace-quota; host loses at most the cap" t_big_file
case_ "many small files stop at the inode cap" t_many_files
case_ "sparse files cost the host no more than their data" t_sparse
case_ "hard links are written once and linked; host loses at most the cap" t_hard_links
case_ "a rename into the workspace stops at the cap" t_rename_across
case_ "a tree of directories costing more than the cap is kept as a changeset" t_dir_storm
case_ "live: create, modify, delete, rename, chmod, symlink land on the host as made" t_live_round_trip
case_ "changes: host byte-identical; list, show, diff, apply round trip" t_changes_round_trip
case_ "apply after a host edit is refused naming it; partial apply; --force" t_partial_and_conflict
case_ "discard leaves the host identical" t_discard
case_ "hooks, CI files, .envrc, setuid and escaping links are flagged" t_dangerous_flagged
case_ "links stay links, fifos and devices are refused, setuid stripped, swapped dirs not followed" t_malicious_upper
case_ "a workspace no overlay can bound: refused, or with --allow-degraded run and reported" t_unboundable
case_ "output and a rw bind share one cap in bytes and inodes; written back at the end" t_output_and_binds
case_ "an output no overlay can bound: refused, or with --allow-degraded run and reported" t_output_unboundable
case_ "bad workspace flags and changeset ids exit 125 naming the problem" t_bad_input

if [ "$MODE" = root ] && [ -z "${AIRLOCK_WS_NO_USER:-}" ]; then
  chmod 755 "$WORK" "$FS"
  copy=$(copy_suite "$WORK")
  tap_merge < <(as_test_user AIRLOCK_WS_FS="$FS" AIRLOCK_WS_BIN="$AIRLOCK" AIRLOCK_WS_NESTED="$NESTED" bash "$copy" "$AIRLOCK" 2>&1)
  [ "$TAP_MERGED_SUMMARY" = 1 ] || bad "the rootless pass finished" "it stopped half way"
fi
finish
