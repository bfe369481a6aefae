#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sandbox_cli.sh - the docker-like client commands end to end against a real
# `airlock node` (a state directory, tokens, a policy and a workspace root in
# a temporary directory, the node on a unix socket): `airlock sandbox
# create|ls|inspect|rm`, `airlock exec` with -i, -t, -e, -w, -m and
# --sandbox, `airlock cp` both ways with its refusals (paths leaving the
# workspace, symbolic links on either side), `airlock logs`, `airlock shell`,
# approvals waited for and polled, bad flags, and the exit-code rule (the
# command's code; 125 for airlock's own failures, always with one line on
# stderr; 124, 137, 75).  Every check that something did not happen is next
# to one showing that the same command, or its request, really ran.
#
#   tests/cli/sandbox_cli.sh BUILD_DIR
#
# As root it runs twice: with a root node, then (copied to a world-readable
# place) as the unprivileged test user with a rootless node started with
# --allow-degraded, where the memory checks that need a cgroup are left out
# and approvals of one-shot execs are checked as well.
# Not root, it makes the rootless pass only.  AIRLOCK_SANDBOX_CLI_NO_USER=1
# skips the rootless pass.  Terminals (-t, shell) come from script(1).
# Prints TAP and "N passed, N failed"; exit 77 when script(1) or python3 is
# missing, or a rootless node cannot start here.
# shellcheck disable=SC2016,SC2034  # checkx expressions are single-quoted on purpose: eval expands them
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

if [ "${1:-}" = --inner ]; then # the rootless pass, as the test user
  BINDIR=${2:?}
  MODE=user
else
  BUILD=${1:?usage: $0 BUILD_DIR}
  MODE=$([ "$(id -u)" = 0 ] && echo root || echo user)
fi
for tool in script python3; do
  command -v "$tool" >/dev/null || skip_all "$tool not found"
done
TAP_PREFIX="[$MODE] "
TMP=$(mktemp -d /tmp/airlock-sandbox-cli-XXXXXX)
chmod 755 "$TMP"
NODE_PID=
DPID=
cleanup() {
  if [ -n "$DPID" ]; then
    kill "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
  fi
  if [ -n "$NODE_PID" ]; then
    kill "$NODE_PID" 2>/dev/null
    wait "$NODE_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
if [ -z "${BINDIR:-}" ]; then
  # private copies the test user can reach (the build tree may not be)
  BINDIR=$TMP/bin
  mkdir "$BINDIR"
  cp "$BUILD/airlock" "$BUILD/airlock-node" "$BINDIR/"
  chmod 755 "$BINDIR" "$BINDIR"/*
fi
BIN=$BINDIR/airlock
# without root there is no cgroup to limit the node's sandboxes with
DEGRADED=()
[ "$MODE" = user ] && DEGRADED=(--allow-degraded)

# ---- the node ------------------------------------------------------------------
S=$TMP/state
WSROOT=$TMP/ws
mkdir -p "$WSROOT/agent/proj"
chmod 755 "$WSROOT" "$WSROOT/agent"
echo "from the host" >"$WSROOT/agent/proj/hello.txt"
[ "$MODE" = user ] || chown -R 4242:4242 "$WSROOT/agent/proj" # a host workspace may not be root's
cat >"$TMP/node.json" <<EOF
{"workspace_root": "$WSROOT",
 "autonomy": {"level": "full", "blockedActions": ["ssh_exec"]},
 "approvalGating": {"approvers": ["alice"], "timeout": 60000, "defaultAction": "reject",
                    "rules": [{"action": "file_delete", "approval": "required"}]}}
EOF
AGENT=$("$BIN" token create --name agent --state-dir "$S" 2>/dev/null)
ALICE=$("$BIN" token create --name alice --state-dir "$S" 2>/dev/null)
if [ -z "$AGENT" ] || [ -z "$ALICE" ]; then bail "tokens made"; fi
"$BIN" node --config "$TMP/node.json" --state-dir "$S" --listen "unix:$TMP/node.sock" \
  --ready-file "$TMP/ready" --pool 1 "${DEGRADED[@]}" </dev/null >"$TMP/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 300); do
  [ -e "$TMP/ready" ] || ! kill -0 "$NODE_PID" 2>/dev/null && break
  sleep 0.1
done
if [ ! -e "$TMP/ready" ] && [ "$MODE" = user ] && [ "${1:-}" != --inner ]; then
  skip_all "a rootless node cannot start here: $(cat "$TMP/node.log")"
fi
[ -e "$TMP/ready" ] || bail "the node started" "$(cat "$TMP/node.log")"
export AIRLOCK_NODE=unix:$TMP/node.sock AIRLOCK_TOKEN=$AGENT

# one line on stderr naming the command, nothing on stdout, exit 125
own_failure() { # own_failure TEXT_IN_ERROR
  one_line_error 125 && [[ $ERR == "airlock "* ]] && grep -qF -- "$1" <<<"$ERR"
}
SBID='^sb_[0-9a-f]{16}$'

# ---- sandbox create, ls, inspect ------------------------------------------------
run "$BIN" sandbox create -m 256m --cpus 0.5 -l task=demo -l who=test
SB=$OUT
checkx "create -m -l: exit 0, the id alone on stdout" '[ "$RC" = 0 ] && [[ $OUT =~ $SBID ]] && [ -z "$ERR" ]'
[[ $SB =~ $SBID ]] || bail "a sandbox to work in"
run "$BIN" sandbox ls
checkx "ls: a table with a header and the sandbox's row (memory, cpus, labels)" \
  '[ "$RC" = 0 ] && grep -Eq "^ID +STATE +CREATED +MEMORY +CPUS +EXECS +LABELS$" <<<"$OUT" &&
   grep -Eq "^$SB +ready +20[0-9-]{8}T[0-9:]{8}Z +256m +0.50 +0 +(task=demo,who=test|who=test,task=demo)$" <<<"$OUT"'
run "$BIN" sandbox ps -q
checkx "ps -q (alias of ls): ids only" '[ "$RC" = 0 ] && grep -qx "$SB" <<<"$OUT" && ! grep -q ID <<<"$OUT"'
run "$BIN" ps --format table
checkx "airlock ps (docker's): the same table" '[ "$RC" = 0 ] && grep -Eq "^$SB +ready " <<<"$OUT" && grep -q "^ID " <<<"$OUT"'
run "$BIN" sandbox ls --format json
check "ls --format json: the node's array" python3 -c '
import json, sys
arr = json.loads(sys.argv[1])
sb = [s for s in arr if s["id"] == sys.argv[2]][0]
assert sb["labels"] == {"task": "demo", "who": "test"}, sb
assert sb["limits"]["memory"] == 256 << 20 and sb["limits"]["cpus"] == 0.5, sb' "$OUT" "$SB"
run "$BIN" sandbox inspect "$SB"
check "inspect ID: one JSON object" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert d["id"] == sys.argv[2] and d["state"] == "ready", d' "$OUT" "$SB"
run "$BIN" sandbox create
SB2=$OUT
run "$BIN" sandbox inspect "$SB" "$SB2"
check "inspect two ids: an array of both" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert [s["id"] for s in d] == sys.argv[2:], d' "$OUT" "$SB" "$SB2"
run "$BIN" sandbox inspect sb_0000000000000000
checkx "inspect of an unknown id: 125 with the node's 404" 'own_failure "404"'

run "$BIN" sandbox create --isolation other
checkx "create --isolation other: 125 naming the values" 'own_failure "namespaces\", \"gvisor\" or \"vm"'
if command -v runsc >/dev/null; then
  run "$BIN" sandbox create --isolation gvisor
  SBG=$OUT
  run "$BIN" sandbox inspect "$SBG"
  check "create --isolation gvisor: the node made a gVisor sandbox" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert d["isolation"] == "gvisor", d' "$OUT"
  run "$BIN" exec --sandbox "$SBG" -- cat /proc/version
  checkx "... and an exec in it runs under gVisor's kernel" '[ "$RC" = 0 ] && grep -q "Linux version 4.4.0" <<<"$OUT"'
  "$BIN" sandbox rm "$SBG" >/dev/null
fi

# ---- sandbox rm ---------------------------------------------------------------------
run "$BIN" sandbox rm "$SB2"
checkx "rm: exit 0, the id printed" '[ "$RC" = 0 ] && [ "$OUT" = "$SB2" ]'
run "$BIN" sandbox ls -q
checkx "rm: gone from ls, the other one still there" '! grep -qx "$SB2" <<<"$OUT" && grep -qx "$SB" <<<"$OUT"'
run "$BIN" sandbox rm "$SB2"
checkx "rm again: 125, one line naming the sandbox" 'own_failure "$SB2"'
run "$BIN" sandbox create
SB3=$OUT
run "$BIN" rm "$SB2" "$SB3"
checkx "airlock rm (docker's) of a missing and an existing one: 125, the existing one removed" \
  '[ "$RC" = 125 ] && [ "$OUT" = "$SB3" ] && [ "$(lines "$ERR")" = 1 ] && grep -qF "$SB2" <<<"$ERR"'
run "$BIN" sandbox inspect "$SB3"
checkx "... and really gone" 'own_failure "$SB3"'

# ---- host workspaces: -v ------------------------------------------------------------------
run "$BIN" sandbox create -v "$WSROOT/agent/proj:/workspace:ro"
SBV=$OUT
checkx "create -v DIR:/workspace:ro: exit 0" '[ "$RC" = 0 ] && [[ $OUT =~ $SBID ]]'
run "$BIN" exec --sandbox "$SBV" -- cat /workspace/hello.txt
checkx "-v: the host's file is in /workspace" '[ "$RC" = 0 ] && [ "$OUT" = "from the host" ]'
run "$BIN" exec --sandbox "$SBV" -- sh -c 'echo ran; echo x >/workspace/new'
checkx ":ro: the command ran and could not write (its own exit code, not 125)" \
  '[ "$RC" = 2 ] && [ "$OUT" = ran ] && grep -qi "read-only" <<<"$ERR" && [ ! -e "$WSROOT/agent/proj/new" ]'
"$BIN" sandbox rm "$SBV" >/dev/null
check "rm of a -v sandbox keeps the host directory" [ -f "$WSROOT/agent/proj/hello.txt" ]
run "$BIN" sandbox ls -q
COUNT=$(lines "$OUT")
run "$BIN" sandbox create -v /etc:/workspace
checkx "-v outside the tenant's directory: 125 with the node's reason" 'own_failure "workspace"'
run "$BIN" sandbox ls -q
checkx "... and no sandbox was made" '[ "$(lines "$OUT")" = "$COUNT" ]'
run "$BIN" sandbox create -v "$WSROOT/agent/proj:/data"
checkx "-v to another target than /workspace: 125 naming it" 'own_failure "/data"'
run "$BIN" sandbox create -v "$WSROOT/agent/proj:/workspace:rx"
checkx "-v with a mode other than ro|rw: 125" 'own_failure "rx"'

# ---- exec: -e, -w, -i, -t, limits, persistence ------------------------------------------
run "$BIN" exec -e A=1 -e B='two words' -w /tmp -- sh -c 'echo "$A $B"; pwd'
checkx "exec -e -w: the variables and the directory" '[ "$RC" = 0 ] && [ "$OUT" = "1 two words
/tmp" ]'
run "$BIN" exec --env A=1 --cwd /tmp -- sh -c 'echo "$A"; pwd'
checkx "the long spellings --env and --cwd still work" '[ "$RC" = 0 ] && [ "$OUT" = "1
/tmp" ]'
run "$BIN" exec --sandbox "$SB" -w /workspace -- sh -c 'echo kept >state; echo wrote'
run "$BIN" exec --sandbox "$SB" -- cat /workspace/state
checkx "--sandbox: a file stays between execs" '[ "$RC" = 0 ] && [ "$OUT" = kept ]'
OUT=$(printf 'line1\nline2\nline3\n' | "$BIN" exec -i --sandbox "$SB" -- sh -c 'tee /workspace/piped | wc -l' 2>"$TMP/err")
RC=$?
checkx "exec -i: stdin reaches the command" '[ "$RC" = 0 ] && [ "$OUT" = 3 ]'
run "$BIN" exec --sandbox "$SB" -- tail -n 1 /workspace/piped
checkx "... and what it wrote from stdin is in the sandbox" '[ "$OUT" = line3 ]'
# -i relays stdin as it comes: each line is answered before the next is sent
OUT=$( (echo a; sleep 1; echo b) | "$BIN" exec -i -- sh -c 'while read l; do echo "$l $(date +%s%N)"; done' 2>"$TMP/err")
RC=$?
checkx "exec -i: stdin relayed as it comes (two lines a second apart arrive a second apart)" \
  '[ "$RC" = 0 ] && [ "$(lines "$OUT")" = 2 ] && [ $(( ($(sed -n 2p <<<"$OUT" | cut -d" " -f2) - $(sed -n 1p <<<"$OUT" | cut -d" " -f2)) / 1000000 )) -ge 800 ]'
# a client that keeps stdin open does not hold a command that does not read it
OUT=$(sleep 60 | timeout 30 "$BIN" exec -i -- echo no-stdin-needed 2>"$TMP/err")
RC=$?
checkx "exec -i: a command that does not read stdin ends while stdin stays open" '[ "$RC" = 0 ] && [ "$OUT" = no-stdin-needed ]'
head -c 3000000 /dev/urandom >"$TMP/blob"
OUT=$("$BIN" exec -i -- sha256sum <"$TMP/blob" 2>"$TMP/err")
checkx "exec -i: 3 MB of binary stdin arrive whole" '[ "${OUT%% *}" = "$(sha256sum <"$TMP/blob" | cut -d" " -f1)" ]'
export BIN
OUT=$(script -qec "$BIN exec -it -e X=on-a-pty -- sh -c 'tty; echo \$X; exit 5'" /dev/null </dev/null 2>&1)
RC=$?
checkx "exec -it: a terminal of its own, the command's exit code through it" \
  '[ "$RC" = 5 ] && grep -q "/dev/pts/[0-9]" <<<"$OUT" && grep -q "on-a-pty" <<<"$OUT"'
OUT=$(script -qec "$BIN exec -- sh -c '[ -t 1 ] && echo tty || echo no-tty'" /dev/null </dev/null 2>&1)
checkx "without -t the command has no terminal, even on ours" 'grep -q "no-tty" <<<"$OUT"'
run "$BIN" exec --sandbox "$SB" -m 64m -- true
checkx "-m with --sandbox: 125 (the sandbox keeps its own limits)" 'own_failure "fresh sandboxes only"'

# ---- exit codes -----------------------------------------------------------------------
run "$BIN" exec -- sh -c 'echo ran; exit 7'
checkx "the command's own exit code (7), its output, nothing from airlock" '[ "$RC" = 7 ] && [ "$OUT" = ran ] && [ -z "$ERR" ]'
run "$BIN" exec -- sh -c 'echo ran; exit 125'
checkx "a command's own 125: output, and no airlock line on stderr" '[ "$RC" = 125 ] && [ "$OUT" = ran ] && [ -z "$ERR" ]'
run "$BIN" exec -- /no/such/program
checkx "a program that does not exist: 127" '[ "$RC" = 127 ] && grep -q "no/such/program" <<<"$ERR"'
run "$BIN" exec --timeout 1 -- sh -c 'echo started; sleep 30'
checkx "timeout: 124 after the command started" '[ "$RC" = 124 ] && [ "$OUT" = started ] && grep -q "timed out" <<<"$ERR"'
if [ "$MODE" = root ]; then # rootless, memory is an address-space rlimit: no OOM kill to report
  BIG='echo started; a=$(head -c 64000000 /dev/zero | tr "\\0" a); echo ${#a}'
  run "$BIN" exec -m 256m --pids 32 -- sh -c "$BIG"
  checkx "exec -m 256m: 64 MB in a shell variable fit" '[ "$RC" = 0 ] && [ "$OUT" = "started
64000000" ]'
  run "$BIN" exec -m 16m -- sh -c "$BIG"
  checkx "exec -m 16m, the same command: out of memory, 137 after it started" \
    '[ "$RC" = 137 ] && [ "$OUT" = started ] && grep -q "out of memory" <<<"$ERR"'
fi
run "$BIN" exec --sandbox "$SB" -- sh -c 'ssh nowhere true; touch /workspace/after-ssh'
checkx "refused by the policy: 125 naming the rule" 'own_failure "ssh_exec"'
run "$BIN" exec --sandbox "$SB" -- sh -c 'ls /workspace; true'
checkx "... and none of the refused command ran (the sandbox answers)" \
  '[ "$RC" = 0 ] && grep -qx state <<<"$OUT" && ! grep -q after-ssh <<<"$OUT"'
run "$BIN" exec --node "unix:$TMP/nothing.sock" -- true
checkx "node unreachable: 125 naming the socket" 'own_failure "nothing.sock"'
run env AIRLOCK_TOKEN= "$BIN" exec -- true
checkx "no token: 125" 'own_failure "AIRLOCK_TOKEN"'
run env AIRLOCK_TOKEN=node_tok_wrong "$BIN" exec -- true
checkx "a wrong token: 125 with the node's 401" 'own_failure "401"'
run "$BIN" exec --sandbox sb_0000000000000000 -- true
checkx "exec in an unknown sandbox: 125" 'own_failure "404"'

# ---- a token's maxima: defaults brought down to them, explicit requests checked ------------
SMALL=$("$BIN" token create --name small --state-dir "$S" --max-timeout 5 --max-memory 128m --max-cpus 0.5 2>/dev/null)
run env AIRLOCK_TOKEN="$SMALL" "$BIN" exec -- sh -c 'echo ran'
checkx "a token whose maxima are below the defaults: an exec asking for nothing runs" '[ "$RC" = 0 ] && [ "$OUT" = ran ]'
run env AIRLOCK_TOKEN="$SMALL" "$BIN" exec -- sh -c 'echo started; sleep 30'
checkx "... its timeout is the token's 5 s (124)" '[ "$RC" = 124 ] && [ "$OUT" = started ]'
run env AIRLOCK_TOKEN="$SMALL" "$BIN" exec --timeout 10 -- true
checkx "... an explicit --timeout above the maximum: 125 naming it" 'own_failure "maximum"'
run env AIRLOCK_TOKEN="$SMALL" "$BIN" exec -m 1g -- true
checkx "... an explicit -m above the maximum: 125 naming it" 'own_failure "maximum"'
run env AIRLOCK_TOKEN="$SMALL" "$BIN" sandbox create
SMALL_SB=$OUT
run env AIRLOCK_TOKEN="$SMALL" "$BIN" sandbox inspect "$SMALL_SB"
check "... sandbox create without limits: the token's maxima" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); assert d["limits"]["memory"] == 128 << 20 and d["limits"]["cpus"] == 0.5, d' "$OUT"
env AIRLOCK_TOKEN="$SMALL" "$BIN" sandbox rm "$SMALL_SB" >/dev/null

run "$BIN" token list --state-dir "$S" --format json
check "token list --format json: the tokens as JSON" python3 -c '
import json, sys
names = [t["name"] for t in json.loads(sys.argv[1])]; assert "agent" in names and "small" in names, names' "$OUT"
run "$BIN" token list --state-dir "$S" --format table
checkx "token list --format table: the table" '[ "$RC" = 0 ] && grep -q "^NAME" <<<"$OUT" && grep -q "^small " <<<"$OUT"'

# ---- bad flags: one line, 125, and the same command without the mistake runs -------------
bad_flag() { # bad_flag DESCRIPTION TEXT_IN_ERROR ARGS...
  local what=$1 text=$2
  shift 2
  run "$BIN" "$@"
  checkx "$what: 125, one line naming it" 'own_failure "$text"'
}
bad_flag "exec --bogus" "'--bogus'" exec --bogus -- true
bad_flag "exec -e without a value" "'-e'" exec -e
bad_flag "exec -e with a bad name" "1BAD" exec -e 1BAD=x -- true
bad_flag "exec -w relative" "absolute" exec -w tmp -- true
bad_flag "exec -m 0" "memory" exec -m 0 -- true
bad_flag "exec --approval maybe" "maybe" exec --approval maybe -- true
bad_flag "exec --approval-id not-an-id" "not-an-id" exec --approval-id not-an-id -- true
bad_flag "exec without a command" "no command" exec
bad_flag "sandbox without a subcommand" "missing subcommand" sandbox
bad_flag "sandbox frob" "frob" sandbox frob
bad_flag "sandbox create --bogus" "'--bogus'" sandbox create --bogus
bad_flag "sandbox create -m x" "x" sandbox create -m x
bad_flag "sandbox create -l without =" "KEY=VALUE" sandbox create -l novalue
bad_flag "sandbox ls with an argument" "extra" sandbox ls extra
bad_flag "sandbox ls --format yaml" "yaml" sandbox ls --format yaml
bad_flag "sandbox rm without an id" "which sandbox" sandbox rm
bad_flag "sandbox rm of a path" "not a sandbox id" sandbox rm ../x
bad_flag "sandbox inspect -m (a create flag)" "create" sandbox inspect -m 1g "$SB"
bad_flag "cp with one argument" "source and a destination" cp "$TMP/x"
bad_flag "cp between two host paths" "neither" cp "$TMP/a" "$TMP/b"
bad_flag "cp --bogus" "'--bogus'" cp --bogus a "$SB:x"
bad_flag "logs without an id" "which sandbox" logs
bad_flag "logs --limit 0" "--limit" logs --limit 0 "$SB"
bad_flag "shell with two ids" "one sandbox" shell "$SB" "$SB"
bad_flag "shell --keep with an id" "--keep" shell --keep "$SB"
bad_flag "shell --bogus" "'--bogus'" shell --bogus
run "$BIN" frob
checkx "an unknown command: 125" '[ "$RC" = 125 ] && grep -q "unknown command" <<<"$ERR"'
run "$BIN" exec -e GOOD=x -w /tmp -m 64m --approval wait -- sh -c 'echo "$GOOD $(pwd)"'
checkx "... the same flags, well formed, run the command" '[ "$RC" = 0 ] && [ "$OUT" = "x /tmp" ]'
for cmd in "sandbox" "exec" "cp" "logs" "shell"; do
  run "$BIN" $cmd --help
  checkx "$cmd --help: usage on stdout, exit 0" '[ "$RC" = 0 ] && grep -q "^usage: airlock $cmd" <<<"$OUT" && [ -z "$ERR" ]'
done

# ---- cp: host to sandbox ----------------------------------------------------------------
printf 'payload\n' >"$TMP/in.txt"
run "$BIN" cp "$TMP/in.txt" "$SB:/workspace/in.txt"
checkx "cp HOST ID:/workspace/F: exit 0, quiet" '[ "$RC" = 0 ] && [ -z "$OUT$ERR" ]'
run "$BIN" exec --sandbox "$SB" -- cat /workspace/in.txt
checkx "... the file is in the sandbox" '[ "$OUT" = payload ]'
"$BIN" exec --sandbox "$SB" -- mkdir -p /workspace/sub
run "$BIN" cp "$TMP/in.txt" "$SB:sub"
run "$BIN" exec --sandbox "$SB" -- cat /workspace/sub/in.txt
checkx "cp HOST ID:DIR (relative): under the file's own name" '[ "$RC" = 0 ] && [ "$OUT" = payload ]'
mkdir -p "$TMP/hostdir/a/b"
echo x >"$TMP/hostdir/x.txt"
echo y >"$TMP/hostdir/a/b/y.txt"
ln -s /etc/passwd "$TMP/hostdir/link"
run "$BIN" cp "$TMP/hostdir" "$SB:sub"
checkx "cp HOST_DIR ID:DIR: exit 0, the host link skipped with a line" '[ "$RC" = 0 ] && grep -q "skipped.*hostdir/link" <<<"$ERR"'
run "$BIN" exec --sandbox "$SB" -- sh -c 'cd /workspace/sub/hostdir && cat x.txt a/b/y.txt && ls -A'
checkx "... the tree is in the sandbox under its own name, without the link" '[ "$RC" = 0 ] && [ "$OUT" = "x
y
a
x.txt" ]'
run "$BIN" cp "$TMP/hostdir/" "$SB:newtree"
run "$BIN" exec --sandbox "$SB" -- cat /workspace/newtree/a/b/y.txt
checkx "cp HOST_DIR ID:NEW: the tree under the new name" '[ "$RC" = 0 ] && [ "$OUT" = y ]'
run "$BIN" cp "$TMP/hostdir" "$SB:in.txt"
checkx "cp HOST_DIR onto a sandbox file: 125" 'own_failure "not a directory"'
run "$BIN" exec --sandbox "$SB" -- cat /workspace/in.txt
checkx "... the file is untouched" '[ "$OUT" = payload ]'
run "$BIN" cp "$TMP/in.txt" "$SB:../escape"
checkx "cp to ID:../F: 125" 'own_failure ".."'
run "$BIN" cp "$TMP/in.txt" "$SB:/etc/escape"
checkx "cp to a path outside /workspace: 125" 'own_failure "/workspace"'
run "$BIN" cp "$TMP/in.txt" "$SB:sub/../../escape"
checkx "cp to a path with .. inside: 125" 'own_failure ".."'
run "$BIN" exec --sandbox "$SB" -- sh -c 'ln -s /etc/passwd /workspace/link; ln -s .. /workspace/up; readlink /workspace/link /workspace/up'
checkx "symbolic links made inside the sandbox" '[ "$RC" = 0 ] && [ "$OUT" = "/etc/passwd
.." ]'
run "$BIN" cp "$TMP/in.txt" "$SB:link"
checkx "cp onto a symbolic link in the sandbox: 125 with the node's refusal" 'own_failure "symlink"'
run "$BIN" cp "$TMP/in.txt" "$SB:up/escape"
checkx "cp through a symbolic link to ..: 125" 'own_failure "symlink"'
run "$BIN" exec --sandbox "$SB" -- sh -c 'readlink /workspace/link; ls /; ls /workspace'
checkx "... the link is untouched and nothing was written beside or above the workspace" \
  '[ "$RC" = 0 ] && [ "$(head -n 1 <<<"$OUT")" = /etc/passwd ] && ! grep -q escape <<<"$OUT"'
check "... nor on the host" [ ! -e "$TMP/escape" ]
run "$BIN" cp "$TMP/no-such-file" "$SB:x"
checkx "cp of a missing host file: 125" 'own_failure "no-such-file"'
run "$BIN" cp "$TMP/in.txt" "sb_0000000000000000:x"
checkx "cp into an unknown sandbox: 125 with the node's 404" 'own_failure "404"'

# ---- cp: sandbox to host -------------------------------------------------------------------
"$BIN" exec --sandbox "$SB" -- sh -c 'cd /workspace && mkdir -p d/e && echo a >d/a && echo b >d/e/b &&
  chmod 750 d/a && ln -s /etc/passwd d/link && echo mode >m && chmod 640 m'
run "$BIN" cp "$SB:/workspace/m" "$TMP/m.txt"
checkx "cp ID:F HOST: content and mode" '[ "$RC" = 0 ] && [ "$(cat "$TMP/m.txt")" = mode ] && [ "$(stat -c %a "$TMP/m.txt")" = 640 ]'
mkdir "$TMP/into"
run "$BIN" cp "$SB:m" "$TMP/into"
check "cp ID:F HOST_DIR: under the file's own name" [ "$(cat "$TMP/into/m" 2>/dev/null)" = mode ]
run "$BIN" cp "$SB:d" "$TMP/tree"
checkx "cp ID:DIR HOST: the tree, recursively" \
  '[ "$RC" = 0 ] && [ "$(cat "$TMP/tree/a")" = a ] && [ "$(cat "$TMP/tree/e/b")" = b ] && [ "$(stat -c %a "$TMP/tree/a")" = 750 ]'
checkx "... a symbolic link in it is skipped, saying so" '[ ! -e "$TMP/tree/link" ] && [ ! -L "$TMP/tree/link" ] && grep -q "skipped.*link" <<<"$ERR"'
run "$BIN" cp "$SB:d" "$TMP/into"
check "cp ID:DIR HOST_DIR: under the directory's own name" [ "$(cat "$TMP/into/d/e/b" 2>/dev/null)" = b ]
run "$BIN" cp "$SB:d" "$TMP/into"
checkx "cp of a directory onto one that exists: 125, nothing replaced" 'own_failure "already exists" && [ -f "$TMP/into/d/a" ]'
run "$BIN" cp "$SB:link" "$TMP/fromlink"
checkx "cp of a symbolic link out of the sandbox: 125, nothing on the host" 'own_failure "symlink" && [ ! -e "$TMP/fromlink" ]'
run "$BIN" cp "$SB:up/etc/passwd" "$TMP/fromup"
checkx "cp through a link to ..: 125, nothing on the host" 'own_failure "symlink" && [ ! -e "$TMP/fromup" ]'
run "$BIN" cp "$SB:../../etc/passwd" "$TMP/dotdot"
checkx "cp from ID:../..: 125, nothing on the host" 'own_failure ".." && [ ! -e "$TMP/dotdot" ]'
run "$BIN" cp "$SB:/etc/passwd" "$TMP/abs"
checkx "cp from outside /workspace: 125, nothing on the host" 'own_failure "/workspace" && [ ! -e "$TMP/abs" ]'
ln -s "$TMP/outside-target" "$TMP/hostlink"
run "$BIN" cp "$SB:m" "$TMP/hostlink"
checkx "cp onto a dangling symbolic link on the host: 125, its target not made" \
  'own_failure "already exists" && [ ! -e "$TMP/outside-target" ]'
run "$BIN" cp "$SB:no-such" "$TMP/none"
checkx "cp of a missing sandbox file: 125 with the node's 404" 'own_failure "404" && [ ! -e "$TMP/none" ]'
checkx "no temporary directory left behind by any copy" '! ls -a "$TMP" "$TMP/into" | grep -q airlock-cp'

# ---- approvals ---------------------------------------------------------------------------
# wait_for_approval FILE: the approval id once FILE names one
wait_for_approval() {
  local id
  for _ in $(seq 200); do
    id=$(grep -o 'ap_[0-9a-f]\{16\}' "$1" 2>/dev/null | head -n 1)
    [ -n "$id" ] && echo "$id" && return 0
    sleep 0.1
  done
  return 1
}
if [ "$MODE" = user ]; then
  # one-shot execs: their root is the host's (the rootless pass also
  # does the persistent sandbox's approvals below, like the root pass)
  DEL='rm -f /tmp/nothing; echo removed'
  run "$BIN" exec --approval poll -- sh -c "$DEL"
  AP=$(grep -o 'ap_[0-9a-f]\{16\}' <<<"$ERR" | head -n 1)
  checkx "one-shot exec: --approval poll: 75 at once, naming the approval, its rule and how to answer" \
    '[ "$RC" = 75 ] && [ -z "$OUT" ] && [ -n "$AP" ] && grep -q "file_delete requires approval" <<<"$ERR" &&
     grep -q "airlock approvals approve $AP" <<<"$ERR" && grep -q -- "--approval-id $AP" <<<"$ERR"'
  run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals approve "$AP"
  checkx "one-shot exec: an approver approves it from the CLI" '[ "$RC" = 0 ]'
  run "$BIN" exec --approval-id "$AP" -- sh -c "$DEL"
  checkx "one-shot exec: run again with --approval-id: it runs, exit 0" '[ "$RC" = 0 ] && [ "$OUT" = removed ]'
  "$BIN" exec -- sh -c "$DEL" >"$TMP/wait.out" 2>"$TMP/wait.err" &
  WAITER=$!
  AP=$(wait_for_approval "$TMP/wait.err")
  run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals approve "$AP"
  wait "$WAITER"
  RC=$?
  checkx "one-shot exec: --approval wait: said at once, run once approved" \
    '[ -n "$AP" ] && [ "$RC" = 0 ] && [ "$(cat "$TMP/wait.out")" = removed ] && grep -q "approved by alice" "$TMP/wait.err"'
  "$BIN" exec -- sh -c "$DEL" >"$TMP/rej.out" 2>"$TMP/rej.err" &
  WAITER=$!
  AP=$(wait_for_approval "$TMP/rej.err")
  run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals reject "$AP" --reason "not today"
  wait "$WAITER"
  RC=$?
  checkx "one-shot exec: rejected: 125 with who and why, and the command did not run" \
    '[ -n "$AP" ] && [ "$RC" = 125 ] && [ ! -s "$TMP/rej.out" ] && grep -q "rejected by alice: not today" "$TMP/rej.err"'
fi
"$BIN" exec --sandbox "$SB" -- sh -c 'cd /workspace && touch victim1 victim2 victim3'
run "$BIN" exec --sandbox "$SB" --approval poll -- rm -f /workspace/victim1
AP=$(grep -o 'ap_[0-9a-f]\{16\}' <<<"$ERR" | head -n 1)
checkx "--approval poll: 75 at once, naming the approval, its rule, how to answer and the time left" \
  '[ "$RC" = 75 ] && [ -n "$AP" ] && grep -q "file_delete requires approval" <<<"$ERR" &&
   grep -q "airlock approvals approve $AP" <<<"$ERR" && grep -Eq "[0-9]+s left" <<<"$ERR" && grep -q -- "--approval-id $AP" <<<"$ERR"'
run "$BIN" exec --sandbox "$SB" -- ls /workspace
checkx "... the command has not run yet" 'grep -qx victim1 <<<"$OUT"'
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals list --format json
checkx "approvals list --format json: the pending approval, as JSON" \
  '[ "$RC" = 0 ] && python3 -c "import json,sys; assert any(json.loads(l)[\"approval_id\"] == sys.argv[1] for l in sys.stdin)" "$AP" <<<"$OUT"'
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals list --format yaml
checkx "approvals list --format yaml: 125" 'own_failure "yaml"'
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals approve "$AP"
checkx "an approver approves it from the CLI" '[ "$RC" = 0 ]'
run "$BIN" exec --sandbox "$SB" --approval-id "$AP" -- rm -f /workspace/victim1
checkx "run again with --approval-id: exit 0" '[ "$RC" = 0 ]'
run "$BIN" exec --sandbox "$SB" -- ls /workspace
checkx "... and it ran" '! grep -qx victim1 <<<"$OUT" && grep -qx victim2 <<<"$OUT"'

# wait mode: say so at once, then run once approved (or not once rejected)
"$BIN" exec --sandbox "$SB" -- sh -c 'rm -f /workspace/victim2; echo removed' >"$TMP/wait.out" 2>"$TMP/wait.err" &
WAITER=$!
AP=$(wait_for_approval "$TMP/wait.err")
checkx "--approval wait (the default): the approval said on stderr at once" \
  '[ -n "$AP" ] && grep -q "waiting for approval $AP" "$TMP/wait.err" && grep -q "rule: approvalGating.rules\[0\]" "$TMP/wait.err"'
run "$BIN" approvals approve "$AP"
checkx "the agent's own token may not approve: 125" '[ "$RC" = 125 ] && grep -q "approvals" <<<"$ERR"'
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals approve "$AP"
wait "$WAITER"
RC=$?
checkx "approved: the waiting exec runs the command and exits 0" \
  '[ "$RC" = 0 ] && [ "$(cat "$TMP/wait.out")" = removed ] && grep -q "approved by alice" "$TMP/wait.err"'
"$BIN" exec --sandbox "$SB" --approval wait -- rm -f /workspace/victim3 >"$TMP/rej.out" 2>"$TMP/rej.err" &
WAITER=$!
AP=$(wait_for_approval "$TMP/rej.err")
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals reject "$AP" --reason "not today"
wait "$WAITER"
RC=$?
checkx "rejected: 125 with who and why, the command did not run" \
  '[ -n "$AP" ] && [ "$RC" = 125 ] && grep -q "rejected by alice: not today; the command did not run" "$TMP/rej.err"'
# on a terminal: a countdown rewritten in place
"$BIN" exec --sandbox "$SB" -- touch /workspace/victim4
script -qfec "$BIN exec --sandbox $SB -- rm -f /workspace/victim4" "$TMP/tty.out" </dev/null >/dev/null 2>&1 &
WAITER=$!
AP=$(wait_for_approval "$TMP/tty.out")
sleep 2.5
run env AIRLOCK_TOKEN="$ALICE" "$BIN" approvals approve "$AP"
wait "$WAITER"
RC=$?
ESC=$'\033'
COUNTS=$(grep -ao "$ESC\[Kairlock exec: waiting for approval $AP: [0-9]*s left" "$TMP/tty.out" | sort -u | wc -l)
checkx "--approval wait on a terminal: a countdown in place (several values), then the command runs" \
  '[ -n "$AP" ] && [ "$RC" = 0 ] && [ "$COUNTS" -ge 2 ] && grep -q "approved by alice; running" "$TMP/tty.out"'
run "$BIN" exec --sandbox "$SB" -- ls /workspace
checkx "... victim4 is gone, victim3 is still there, victim2 is not" '! grep -qx victim4 <<<"$OUT" && grep -qx victim3 <<<"$OUT"'
run "$BIN" exec --sandbox "$SB" -- ls /workspace
checkx "... victim3 is still there, victim2 is not" '[ "$RC" = 0 ] && grep -qx victim3 <<<"$OUT" && ! grep -qx victim2 <<<"$OUT"'

# ---- logs ---------------------------------------------------------------------------------
run env AIRLOCK_TOKEN="$ALICE" "$BIN" logs "$SB"
checkx "logs ID: a table of the sandbox's execs, oldest first" \
  '[ "$RC" = 0 ] && grep -Eq "^TIME +RECORD +EXEC +OUTCOME +COMMAND$" <<<"$OUT" &&
   grep -Eq "exec.result +ex_[0-9a-f]+ +exit 0, [0-9]+ ms +cat /workspace/state$" <<<"$OUT" &&
   grep -Eq "exec.request .* allow +tail -n 1 /workspace/piped$" <<<"$OUT" &&
   [ "$(grep -n "cat /workspace/state" <<<"$OUT" | head -n 1 | cut -d: -f1)" -lt "$(grep -n "tail -n 1" <<<"$OUT" | head -n 1 | cut -d: -f1)" ]'
checkx "... only this sandbox's" '! grep -q "two words" <<<"$OUT"'
run env AIRLOCK_TOKEN="$ALICE" "$BIN" logs --format json --limit 1000 "$SB"
check "logs --format json: one audit record a line, all of this sandbox" python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(recs) >= 10 and all(r["sandbox"] == sys.argv[2] for r in recs), recs
assert any(r.get("argv") == ["cat", "/workspace/state"] and r["kind"] == "exec.result" for r in recs)' "$OUT" "$SB"
run "$BIN" logs --format json --limit 1000 "$SB"
check "logs with the sandbox owner's token (not an approver): its own tenant's records of the sandbox" python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert recs and all(r["sandbox"] == sys.argv[2] and r["tenant"] == "agent" for r in recs), recs' "$OUT" "$SB"
run env AIRLOCK_TOKEN="$SMALL" "$BIN" logs --format json "$SB"
checkx "logs with another tenant's token: none of this sandbox's records" '[ "$RC" = 0 ] && [ -z "$OUT" ]'

# ---- shell --------------------------------------------------------------------------------
OUT=$(printf 'echo shell-$((40+2)) >/workspace/from-shell; echo shell-$((6*7))-$(cat /workspace/state)\nexit 3\n' |
  script -qec "$BIN shell $SB" /dev/null 2>&1)
RC=$?
checkx "shell ID: an interactive shell in the sandbox, its exit code" '[ "$RC" = 3 ] && grep -q "shell-42-kept" <<<"$OUT"'
run "$BIN" exec --sandbox "$SB" -- cat /workspace/from-shell
checkx "... what it did stays in the sandbox" '[ "$OUT" = shell-42 ]'
run "$BIN" sandbox ls -q
COUNT=$(lines "$OUT")
OUT=$(printf 'echo in-a-new-$((1+1)) $WHO; exit 0\n' | script -qec "$BIN shell -e WHO=me" /dev/null 2>&1)
RC=$?
NEW=$(grep -o 'sb_[0-9a-f]\{16\}' <<<"$OUT" | head -n 1)
checkx "shell without ID: a new sandbox, said on stderr" '[ "$RC" = 0 ] && [ -n "$NEW" ] && grep -q "removed after the shell" <<<"$OUT" && grep -q "in-a-new-2 me" <<<"$OUT"'
run "$BIN" sandbox inspect "$NEW"
checkx "... removed when the shell ended" 'own_failure "$NEW"'
run "$BIN" sandbox ls -q
checkx "... as many sandboxes as before" '[ "$(lines "$OUT")" = "$COUNT" ]'
OUT=$(printf 'exit 0\n' | script -qec "$BIN shell --keep" /dev/null 2>&1)
NEW=$(grep -o 'sb_[0-9a-f]\{16\}' <<<"$OUT" | head -n 1)
run "$BIN" sandbox inspect "$NEW"
checkx "shell --keep: the new sandbox stays" '[ -n "$NEW" ] && [ "$RC" = 0 ]'
"$BIN" sandbox rm "$NEW" >/dev/null

# ---- airlock run takes the same short flags ---------------------------------------------------
RUNF=()
[ "$MODE" = user ] && RUNF=(--allow-degraded)
mkdir "$TMP/runvol"
echo vol >"$TMP/runvol/f"
chmod 755 "$TMP/runvol"
[ "$MODE" = user ] || chown -R 4242:4242 "$TMP/runvol" # writable binds: a regular user's directory
run "$BIN" run "${RUNF[@]}" -i -e A=1 -w /data -v "$TMP/runvol:/data" -m 64m -- sh -c 'echo "$A $(pwd) $(cat f)"; touch x'
checkx "run -i -e -w -v -m: the variable, the directory, the mount; -v read-only by default" \
  '[ "$RC" = 1 ] && [ "$OUT" = "1 /data vol" ] && grep -qi "read-only" <<<"$ERR" && [ ! -e "$TMP/runvol/x" ]'
run "$BIN" run "${RUNF[@]}" -v "$TMP/runvol:/data:rw" -- sh -c 'echo w >/data/y && echo wrote'
checkx "run -v SRC:DST:rw: written through to the host" '[ "$RC" = 0 ] && [ "$OUT" = wrote ] && [ "$(cat "$TMP/runvol/y")" = w ]'
OUT=$(script -qec "$BIN run ${RUNF[*]} -it -- sh -c 'tty; exit 4'" /dev/null </dev/null 2>&1)
RC=$?
checkx "run -it: a terminal, the exit code" '[ "$RC" = 4 ] && grep -q "/dev/pts/[0-9]" <<<"$OUT"'
run "$BIN" run "${RUNF[@]}" -v -- true
checkx "run -v without SRC:DST: 125, one line" '[ "$RC" = 125 ] && [ "$(lines "$ERR")" = 1 ] && [ -z "$OUT" ]'
run "$BIN" run --bogus -- true
checkx "run --bogus: 125, one line naming it" 'own_failure "--bogus"'

# ---- the defaults: no --state-dir, --config, --listen or --node ------------------------------
# (rootless only: as root they are /var/lib/airlock and /etc/airlock, the host's own)
if [ "$MODE" = user ]; then
  D=$TMP/defaults
  mkdir -p "$D/config/airlock" "$D/run"
  chmod 700 "$D/run"
  echo '{"sandbox": {"env": {"FROM_CONFIG": "yes"}}}' >"$D/config/airlock/node.json"
  DENV=(env -u AIRLOCK_NODE -u AIRLOCK_TOKEN AIRLOCK_STATE_DIR="$D/state" XDG_CONFIG_HOME="$D/config" XDG_RUNTIME_DIR="$D/run")
  DTOK=$("${DENV[@]}" "$BIN" token create --name defaults 2>/dev/null)
  "${DENV[@]}" "$BIN" node --ready-file "$D/ready" --pool 0 --allow-degraded </dev/null >"$D/node.log" 2>&1 &
  DPID=$!
  for _ in $(seq 300); do
    [ -e "$D/ready" ] || ! kill -0 "$DPID" 2>/dev/null && break
    sleep 0.1
  done
  checkx "a node with no flags: its state in AIRLOCK_STATE_DIR, its socket in XDG_RUNTIME_DIR" \
    '[ -e "$D/ready" ] && [ -e "$D/state/tokens.db" ] && [ -S "$D/run/airlock/node.sock" ]'
  run "${DENV[@]}" AIRLOCK_TOKEN="$DTOK" "$BIN" exec -- sh -c 'echo "from config: $FROM_CONFIG"'
  checkx "exec without --node finds it, and the node read XDG_CONFIG_HOME/airlock/node.json" \
    '[ "$RC" = 0 ] && [ "$OUT" = "from config: yes" ]'
  run "${DENV[@]}" AIRLOCK_TOKEN="$DTOK" "$BIN" exec --node "unix:$D/state/node.sock" -- true
  checkx "... and not at the socket it would use without XDG_RUNTIME_DIR (125)" 'own_failure "node.sock"'
  kill "$DPID"
  wait "$DPID"
  DPID=
fi

# ---- the end ------------------------------------------------------------------------------
run "$BIN" sandbox rm "$SB"
checkx "the last sandbox removed" '[ "$RC" = 0 ]'
kill "$NODE_PID"
wait "$NODE_PID"
RC=$?
NODE_PID=
checkx "the node stopped cleanly (no sanitizer report)" \
  '[ "$RC" = 0 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error:" "$TMP/node.log"'

# ---- the rootless pass ----------------------------------------------------------------------
if [ "$MODE" = root ] && [ -z "${AIRLOCK_SANDBOX_CLI_NO_USER:-}" ]; then
  if have_test_user; then
    copy=$(copy_suite "$TMP")
    tap_merge < <(as_test_user bash "$copy" --inner "$BINDIR" 2>&1)
    [ "$TAP_MERGED_SUMMARY" = 1 ] || bad "the rootless pass ran to its end"
  else
    bad "create the unprivileged test user $TEST_USER"
  fi
fi
finish
