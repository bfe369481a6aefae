#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ssh_gate_test.sh - `airlock ssh-gate` as the forced command of
# authorized_keys lines, behind Debian's OpenSSH server on loopback and a real
# airlock node: commands over plain `ssh HOST CMD` run in the key's sandbox
# (uid, no host files), persist per key and not across keys, a fresh sandbox
# per connection in scope "connection", stdin and the exit code come through,
# the file operations OpenClaw's SSH backend makes work (stdin to a file,
# python3, GNU stat and readlink), a terminal with ssh -tt, the node's policy
# refuses what it blocks, concurrent first connections of a key share one
# sandbox, the audit trail records the commands, and bad set-ups are refused.
# Usage: ssh_gate_test.sh BUILD_DIR.  Exit 77 when not root or without sshd
# (scripts/install-deps installs openssh-server).  KEEP=1 keeps its directory.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN=$(cd "$1" && pwd)/airlock
[ "$(id -u)" = 0 ] || skip_all "needs root (the node's sandboxes get cgroup limits; sshd)"
[ -x /usr/sbin/sshd ] || skip_all "no /usr/sbin/sshd (openssh-server)"
command -v ssh >/dev/null || skip_all "no ssh client (openssh-client)"

T=$(mktemp -d /tmp/al-sshgate.XXXXXX)
chmod 755 "$T" # node-made workspaces sit beside the state directory
. "$(dirname "${BASH_SOURCE[0]}")/../lib/sshgate.sh"
cleanup() {
  sshgate_stop
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

sshgate_node "$BIN" '{"autonomy": {"level": "full", "blockedActions": ["file_delete"]}, "approvalGating": {"enabled": false}}'
printf '{"node": "unix:%s", "token_file": "%s", "scope": "connection"}\n' "$SOCK" "$T/gate.token" >"$T/gate-conn.json"
printf '{"node": "unix:%s"}\n' "$SOCK" >"$T/gate-bad.json"

for k in alice bob carol conn bad; do ssh-keygen -q -t ed25519 -N '' -f "$T/$k" >/dev/null; done
sshgate_sshd "$(
  sshgate_line "$BIN" gate.json alice alice
  sshgate_line "$BIN" gate.json bob bob
  sshgate_line "$BIN" gate.json carol carol
  sshgate_line "$BIN" gate-conn.json "" conn
  sshgate_line "$BIN" gate-bad.json "" bad
)"
on() { # on KEY [ssh args...]: ssh as root with KEY's identity
  local k=$1
  shift
  ssh -q -i "$T/$k" -p "$PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o IdentitiesOnly=yes root@127.0.0.1 "$@"
}

SECRET_FILE=$T/host-secret.txt
echo "host-only-$$" >"$SECRET_FILE"
chmod 644 "$SECRET_FILE"
R=$(on alice "echo ran-\$((6*7)); id -u; cat $SECRET_FILE; ls /root | wc -l" 2>&1)
checkx "ssh alice CMD runs in a sandbox: not uid 0, no host file" \
  'grep -q "^ran-42$" <<<"$R" && [ "$(sed -n 2p <<<"$R")" -gt 0 ] && ! grep -q "host-only-$$" <<<"$R"'
on alice 'exit 7'
rc=$?
checkx "the command's exit code comes back through ssh" '[ $rc = 7 ]'

on alice 'echo from-alice > note.txt; pwd' >"$T/a1" 2>&1
R=$(on alice 'cat note.txt')
checkx "the key's sandbox persists: its next connection sees the file" 'grep -q /workspace "$T/a1" && [ "$R" = from-alice ]'
R=$(on bob 'cat note.txt 2>&1; echo bob-ran')
checkx "another key's sandbox does not" 'grep -q bob-ran <<<"$R" && ! grep -q from-alice <<<"$R"'
on conn 'echo c1 > c.txt; echo wrote' >"$T/c1" 2>&1
R=$(on conn 'cat c.txt 2>&1; echo conn-ran')
checkx "scope connection: a fresh sandbox per connection" \
  'grep -q wrote "$T/c1" && grep -q conn-ran <<<"$R" && ! grep -q "^c1$" <<<"$R"'

head -c 300000 /dev/urandom >"$T/blob"
want=$(sha256sum <"$T/blob" | cut -d" " -f1)
R=$(on alice 'cat > blob.bin && sha256sum blob.bin && stat -c %s blob.bin && readlink -f blob.bin' <"$T/blob" 2>&1)
checkx "stdin to a file, GNU stat and readlink (OpenClaw's SSH backend's file writes)" \
  'grep -q "^$want " <<<"$R" && grep -qx 300000 <<<"$R" && grep -qx /workspace/blob.bin <<<"$R"'
R=$(printf 'py-data' | on alice "python3 -c 'import sys; open(\"py.txt\", \"w\").write(sys.stdin.read()); print(open(\"py.txt\").read())'" 2>&1)
checkx "python3 reading stdin, as the backend's helper scripts do" 'grep -qx py-data <<<"$R"'

R=$(on alice -tt 'tty; echo pty-ok' 2>&1 </dev/null)
checkx "ssh -tt: the command gets a terminal in the sandbox" 'grep -q "^/dev/pts/" <<<"$R" && grep -q pty-ok <<<"$R"'

on alice 'rm -f note.txt' >"$T/rm.out" 2>&1
rc=$?
R=$(on alice 'cat note.txt')
checkx "the node's policy refuses a blocked action (125) and nothing was removed" \
  '[ $rc = 125 ] && grep -q "denied by policy" "$T/rm.out" && [ "$R" = from-alice ]'

for i in 1 2 3 4; do on carol "echo $i > f$i.txt; echo done-$i" >"$T/carol$i" 2>&1 & done
wait $(jobs -p | grep -v -e "^$NODE_PID$" -e "^$SSHD_PID$") 2>/dev/null
R=$(on carol 'cat f1.txt f2.txt f3.txt f4.txt | tr -d "\n"')
n_carol=$(curl -s --unix-socket "$SOCK" -H "Authorization: Bearer $(cat "$T/gate.token")" http://n/v1/sandboxes |
  python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sandboxes"] if s["labels"].get("ssh-gate") == "carol"))')
checkx "4 concurrent first connections of a key share one sandbox" \
  'cat "$T"/carol? | grep -c "^done-" | grep -qx 4 && [ "$R" = 1234 ] && [ "$n_carol" = 1 ]'

on alice </dev/null >"$T/nocmd.out" 2>&1
rc=$?
checkx "no command and no terminal: refused (125), saying why" '[ $rc = 125 ] && grep -q "no command" "$T/nocmd.out"'
on bad 'echo should-not-run' >"$T/bad.out" 2>&1
rc=$?
checkx "a config without token_file is refused, naming the key" \
  '[ $rc = 125 ] && grep -q "token_file is missing" "$T/bad.out" && ! grep -q should-not-run "$T/bad.out"'
chmod 644 "$T/gate.token"
on alice 'echo should-not-run' >"$T/perm.out" 2>&1
rc=$?
chmod 600 "$T/gate.token"
checkx "a token file readable by others is refused" \
  '[ $rc = 125 ] && grep -q "readable by others" "$T/perm.out" && ! grep -q should-not-run "$T/perm.out"'

A=$("$BIN" audit --state-dir "$S" --json --limit 10000 2>&1)
checkx "the audit trail has the SSH commands under the gate's tenant" \
  'grep "\"tenant\":\"ssh-gate\"" <<<"$A" | grep -q "from-alice > note.txt"'
finish
