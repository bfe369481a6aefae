#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# secret_cli.sh - `airlock secret set|list|rm|get` end to end through the
# built binary: outputs, exit codes (0 ok, 1 failed, 2 usage), file modes,
# a terminal on stdin (made with script(1)), and that a value shows up in no
# file under the state directory and in no output but `get --reveal`.
#
#   tests/node/secret_cli.sh PATH_TO_AIRLOCK
#
# Every check uses its own --state-dir under a temporary directory; the
# default state directory is never touched.  Prints TAP and "N passed, N
# failed".
# shellcheck disable=SC2016  # checkx expressions are single-quoted on purpose: eval expands them
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

AIRLOCK=${1:?usage: $0 PATH_TO_AIRLOCK}
[ -x "$AIRLOCK" ] || { echo "$0: $AIRLOCK is not executable" >&2; exit 2; }
TMP=$(mktemp -d /tmp/airlock-secret-cli-XXXXXX)
trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
S=$TMP/state
unset CREDENTIALS_DIRECTORY

# every stdout and stderr of every command, to search for values at the end
ALL_OUTPUT=$TMP/all-output
: >"$ALL_OUTPUT"
RUN_LOG=$ALL_OUTPUT # run (tests/lib/testlib.sh) appends to it
mode_of() { stat -c %a "$1"; }

VALUE="sk-test-CANARY-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
VALUE2="second-CANARY-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# --- set, list, get ---------------------------------------------------------
run "$AIRLOCK" secret set openai.key --state-dir "$S" <<<"$VALUE"
check "set exits 0" [ "$RC" = 0 ]
check "set says what it stored" [ "$OUT" = "secret 'openai.key' stored" ]
check "set prints nothing on stderr" [ -z "$ERR" ]
check "the state dir is 0700" [ "$(mode_of "$S")" = 700 ]
check "secrets.db is 0600" [ "$(mode_of "$S/secrets.db")" = 600 ]
check "master.key is 0600" [ "$(mode_of "$S/master.key")" = 600 ]
check "master.key is 32 bytes" [ "$(stat -c %s "$S/master.key")" = 32 ]

printf '%s' "$VALUE2" | run "$AIRLOCK" secret set other_1 --state-dir "$S"
check "set without a trailing newline exits 0" [ "$RC" = 0 ]

run "$AIRLOCK" secret list --state-dir "$S"
check "list exits 0" [ "$RC" = 0 ]
check "list has a header and two rows" [ "$(lines "$OUT")" = 3 ]
check "list names both" grep -q '^openai.key ' <<<"$OUT"
checkx "list is sorted" '[ "$(sed -n 2p <<<"$OUT" | cut -d" " -f1)" = openai.key ]'
run "$AIRLOCK" secret list --state-dir "$S" --json
check "list --json exits 0" [ "$RC" = 0 ]
check "list --json is JSON with names and times" python3 -c '
import json, sys
items = json.loads(sys.argv[1])
assert [i["name"] for i in items] == ["openai.key", "other_1"], items
assert all(set(i) == {"name", "created_at", "updated_at"} for i in items), items
' "$OUT"

run "$AIRLOCK" secret get openai.key --state-dir "$S"
check "get without --reveal: exit 125, one line" one_line_error 125
check "get without --reveal says why" grep -q -- "without --reveal" <<<"$ERR"

OUT=$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S" 2>"$TMP/stderr" | od -An -c | tr -d ' \n')
RC=$?
ERR=$(cat "$TMP/stderr")
check "get --reveal prints the value, its trailing newline dropped" \
  [ "$OUT" = "$(printf '%s' "$VALUE" | od -An -c | tr -d ' \n')" ]
check "get --reveal prints nothing on stderr" [ -z "$ERR" ]
check "get --reveal of the second value" [ "$("$AIRLOCK" secret get other_1 --reveal --state-dir "$S")" = "$VALUE2" ]

# binary values survive byte for byte
head -c 4096 /dev/urandom >"$TMP/bin"
run "$AIRLOCK" secret set bin --state-dir "$S" <"$TMP/bin"
check "set of a binary value exits 0" [ "$RC" = 0 ]
"$AIRLOCK" secret get bin --reveal --state-dir "$S" >"$TMP/bin.out"
checkx "a binary value comes back" 'cmp -s "$TMP/bin" "$TMP/bin.out" || { [ "$(tail -c1 "$TMP/bin" | od -An -c | tr -d " ")" = "\\n" ] && cmp -s <(head -c -1 "$TMP/bin") "$TMP/bin.out"; }'

# replace
run "$AIRLOCK" secret set other_1 --state-dir "$S" <<<"replaced"
check "set replaces" [ "$("$AIRLOCK" secret get other_1 --reveal --state-dir "$S")" = replaced ]

# --- refusals ----------------------------------------------------------------
run "$AIRLOCK" secret set 'bad/name' --state-dir "$S" <<<"x"
check "a bad name: exit 125, one line" one_line_error 125
check "a bad name is named" grep -qF "invalid name 'bad/name'" <<<"$ERR"
run "$AIRLOCK" secret set "$(printf 'a%.0s' {1..65})" --state-dir "$S" <<<"x"
check "a 65-character name: exit 125" one_line_error 125
run "$AIRLOCK" secret get 'no such' --reveal --state-dir "$S"
check "get of a bad name: exit 125" one_line_error 125
run "$AIRLOCK" secret set --state-dir "$S" <<<"x"
check "set without a name: exit 125" one_line_error 125
run "$AIRLOCK" secret set k "$VALUE" --state-dir "$S" </dev/null
check "a value as an argument: exit 125" one_line_error 125
check "a value as an argument is explained" grep -q "stdin" <<<"$ERR"
run "$AIRLOCK" secret set k --value x --state-dir "$S" </dev/null
check "there is no --value flag" one_line_error 125
check "--value is an unknown option" grep -q "unknown option '--value'" <<<"$ERR"
run "$AIRLOCK" secret set k --state-dir "$S" </dev/null
check "an empty value: exit 125" one_line_error 125
check "an empty value is named" grep -q "empty" <<<"$ERR"
run "$AIRLOCK" secret set k --state-dir "$S" <<<""
check "a lone newline is empty too" one_line_error 125
head -c 65537 /dev/zero | tr '\0' x >"$TMP/big"
run "$AIRLOCK" secret set k --state-dir "$S" <"$TMP/big"
check "65537 bytes: exit 125" one_line_error 125
check "too large is named" grep -q "64 KiB" <<<"$ERR"
head -c 65536 /dev/zero | tr '\0' y >"$TMP/max"
run "$AIRLOCK" secret set max --state-dir "$S" <"$TMP/max"
check "64 KiB exactly is stored" [ "$RC" = 0 ]
(cat "$TMP/max"; echo) | run "$AIRLOCK" secret set max --state-dir "$S"
check "64 KiB plus a newline is stored" [ "$RC" = 0 ]
checkx "64 KiB comes back" '"$AIRLOCK" secret get max --reveal --state-dir "$S" | cmp -s - "$TMP/max"'
run "$AIRLOCK" secret list --bogus --state-dir "$S"
check "an unknown option: exit 125" one_line_error 125
run "$AIRLOCK" secret frob
check "an unknown subcommand: exit 125" one_line_error 125
run "$AIRLOCK" secret rm nope --state-dir "$S"
check "rm of a missing secret: exit 125" one_line_error 125
check "rm of a missing secret names it" [ "$ERR" = "airlock secret rm: no secret named 'nope'" ]
run "$AIRLOCK" secret get nope --reveal --state-dir "$TMP/none"
check "get with no store: exit 125" one_line_error 125
run "$AIRLOCK" secret set k --state-dir "$TMP/none" </dev/null
check "an empty value creates no state" [ ! -e "$TMP/none" ]
run "$AIRLOCK" secret list --state-dir "$TMP/none"
check "list with no store: an empty table" [ "$RC" = 0 ] && [ "$OUT" = "NAME  CREATED               UPDATED" ]
check "list with no store creates nothing" [ ! -e "$TMP/none" ]

# stdin a terminal: refused without --prompt (script(1) makes the pty)
if command -v script >/dev/null 2>&1; then
  OUT=$(script -qec "'$AIRLOCK' secret set tty --state-dir '$S'; echo \"rc=\$?\"" /dev/null </dev/null 2>&1)
  RC=$?
  ERR=
  printf '%s\n' "$OUT" >>"$ALL_OUTPUT"
  check "stdin a terminal is refused with exit 125" grep -q "rc=125" <<<"$OUT"
  check "the refusal says why" grep -q "stdin is a terminal" <<<"$OUT"
  run "$AIRLOCK" secret get tty --reveal --state-dir "$S"
  check "nothing was stored from the terminal" [ "$RC" = 125 ]
  # --prompt: one line typed with echo off
  OUT=$( (sleep 1; printf '%s\n' "$VALUE2") | script -qec "'$AIRLOCK' secret set typed --prompt --state-dir '$S'" /dev/null 2>&1)
  RC=$?
  ERR=
  printf '%s\n' "$OUT" >>"$ALL_OUTPUT"
  check "--prompt asks" grep -q "value for secret 'typed'" <<<"$OUT"
  check "--prompt stores" grep -q "secret 'typed' stored" <<<"$OUT"
  checkx "--prompt does not echo the value" '! grep -qF -- "$VALUE2" <<<"$OUT"'
  check "--prompt stored the typed line" [ "$("$AIRLOCK" secret get typed --reveal --state-dir "$S")" = "$VALUE2" ]
else
  echo "# script(1) missing: terminal checks skipped"
fi

# a master.key others can read is refused, naming path and mode
chmod 644 "$S/master.key"
run "$AIRLOCK" secret get openai.key --reveal --state-dir "$S"
check "master.key 0644: exit 125" one_line_error 125
check "master.key 0644: path and mode named" grep -qF "$S/master.key has mode 0644" <<<"$ERR"
chmod 600 "$S/master.key"

# --- rm ------------------------------------------------------------------------
run "$AIRLOCK" secret rm other_1 --state-dir "$S"
check "rm exits 0" [ "$RC" = 0 ]
check "rm says so" [ "$OUT" = "secret 'other_1' removed" ]
run "$AIRLOCK" secret get other_1 --reveal --state-dir "$S"
check "a removed secret is gone" one_line_error 125

# --- rotate-key ------------------------------------------------------------------
# the ciphertexts of the store, to tell re-sealed rows from untouched ones
rows() { python3 -c 'import hashlib, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "/secrets.db?mode=ro", uri=True)
rows = db.execute("SELECT name, ciphertext FROM secrets ORDER BY name")
print(" ".join(n + ":" + hashlib.sha256(c).hexdigest() for n, c in rows))' "$1"; }
printf '%s' "$VALUE2" | "$AIRLOCK" secret set other_2 --state-dir "$S" >/dev/null
cp "$S/master.key" "$TMP/key-before"
ROWS_BEFORE=$(rows "$S")
run "$AIRLOCK" secret rotate-key --state-dir "$S"
check "rotate-key exits 0" [ "$RC" = 0 ]
checkx "rotate-key says how many secrets it sealed again" '[ "$OUT" = "master key rotated: $(lines "$(rows "$S" | tr " " "\n")") secrets sealed again under the new key" ]'
checkx "rotate-key: master.key changed" '! cmp -s "$TMP/key-before" "$S/master.key"'
check "rotate-key: master.key is still 0600 and 32 bytes" [ "$(stat -c %a:%s "$S/master.key")" = 600:32 ]
checkx "rotate-key: every ciphertext changed" 'python3 -c "import sys; a, b = (dict(p.split(\":\") for p in x.split()) for x in sys.argv[1:]); sys.exit(not (a.keys() == b.keys() and all(a[k] != b[k] for k in a)))" "$ROWS_BEFORE" "$(rows "$S")"'
checkx "rotate-key leaves no master.key.old or .new" '[ ! -e "$S/master.key.old" ] && [ ! -e "$S/master.key.new" ]'
check "rotate-key: values readable after (1)" [ "$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S")" = "$VALUE" ]
check "rotate-key: values readable after (2)" [ "$("$AIRLOCK" secret get other_2 --reveal --state-dir "$S")" = "$VALUE2" ]
printf '%s' "$VALUE" | run "$AIRLOCK" secret set after_rotation --state-dir "$S"
check "rotate-key: a set afterwards uses the new key" [ "$("$AIRLOCK" secret get after_rotation --reveal --state-dir "$S")" = "$VALUE" ]
# the old key no longer opens what the store holds
cp "$S/master.key" "$TMP/key-after"
cp "$TMP/key-before" "$S/master.key"
run "$AIRLOCK" secret get openai.key --reveal --state-dir "$S"
check "rotate-key: the old key no longer opens the re-sealed secrets" one_line_error 125
check "rotate-key: ... and the error names the key file" grep -qF "$S/master.key is not the one it was sealed with" <<<"$ERR"
cp "$TMP/key-after" "$S/master.key"
check "rotate-key: with the new key back, it opens again" [ "$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S")" = "$VALUE" ]

# a rotation that fails half-way (a real failure: master.key.new cannot be
# written, here because a directory has its name) changes nothing
cp "$S/master.key" "$TMP/key-before"
ROWS_BEFORE=$(rows "$S")
mkdir "$S/master.key.new" && touch "$S/master.key.new/x"
run "$AIRLOCK" secret rotate-key --state-dir "$S"
rm -rf "$S/master.key.new"
check "rotate-key, new key unwritable: exit 125, one line" one_line_error 125
check "rotate-key, new key unwritable: the error names the file" grep -qF "$S/master.key.new" <<<"$ERR"
checkx "rotate-key, new key unwritable: master.key and every ciphertext as before" 'cmp -s "$TMP/key-before" "$S/master.key" && [ "$(rows "$S")" = "$ROWS_BEFORE" ] && [ ! -e "$S/master.key.old" ]'
check "rotate-key, new key unwritable: values readable" [ "$("$AIRLOCK" secret get other_2 --reveal --state-dir "$S")" = "$VALUE2" ]
# a read-only state directory (a read-only bind mount as root, no write bit otherwise)
ro_rotate() {
  if [ "$(id -u)" = 0 ]; then
    unshare --mount --propagation private sh -c 'mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" && exec "$1" secret rotate-key --state-dir "$2"' sh "$AIRLOCK" "$S"
  else
    chmod 500 "$S"
    "$AIRLOCK" secret rotate-key --state-dir "$S"
    local rc=$?
    chmod 700 "$S"
    return $rc
  fi
}
run ro_rotate
check "rotate-key, read-only state dir: exit 125" [ "$RC" = 125 ]
checkx "rotate-key, read-only state dir: master.key and every ciphertext as before" 'cmp -s "$TMP/key-before" "$S/master.key" && [ "$(rows "$S")" = "$ROWS_BEFORE" ]'
check "rotate-key, read-only state dir: values readable" [ "$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S")" = "$VALUE" ]

# what a crash leaves, made by hand (the files a rotation writes, in its
# order): after the new key was renamed into place but before the commit,
# master.key is a new key and master.key.old the one the rows are sealed
# with.  The next use opens with master.key.old and puts it back.
cp "$S/master.key" "$S/master.key.old"
head -c 32 /dev/urandom >"$S/master.key"
check "crash before the commit: the values open (1)" [ "$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S")" = "$VALUE" ]
checkx "crash before the commit: master.key is the old key again, master.key.old gone" 'cmp -s "$TMP/key-before" "$S/master.key" && [ ! -e "$S/master.key.old" ]'
check "crash before the commit: master.key still 0600" [ "$(mode_of "$S/master.key")" = 600 ]
# after the link but before the rename: master.key.old is master.key; it goes
cp "$S/master.key" "$S/master.key.old"
check "crash before the rename: the values open" [ "$("$AIRLOCK" secret get openai.key --reveal --state-dir "$S")" = "$VALUE" ]
checkx "crash before the rename: master.key unchanged, master.key.old gone" 'cmp -s "$TMP/key-before" "$S/master.key" && [ ! -e "$S/master.key.old" ]'
# after the commit but before master.key.old was removed: the new key opens, the old one is removed
run "$AIRLOCK" secret rotate-key --state-dir "$S"
check "a second rotate-key exits 0" [ "$RC" = 0 ]
cp "$S/master.key" "$TMP/key-after"
cp "$TMP/key-before" "$S/master.key.old"
check "crash after the commit: the values open" [ "$("$AIRLOCK" secret get other_2 --reveal --state-dir "$S")" = "$VALUE2" ]
checkx "crash after the commit: master.key is the new key, master.key.old gone" 'cmp -s "$TMP/key-after" "$S/master.key" && [ ! -e "$S/master.key.old" ]'
# a key from systemd's credentials is not airlock's to replace
mkdir -p "$TMP/creds" && cp "$S/master.key" "$TMP/creds/airlock-master-key" && chmod 600 "$TMP/creds/airlock-master-key"
CREDENTIALS_DIRECTORY=$TMP/creds run "$AIRLOCK" secret rotate-key --state-dir "$S"
check "rotate-key with CREDENTIALS_DIRECTORY: refused, exit 125, one line" one_line_error 125
check "rotate-key with CREDENTIALS_DIRECTORY: says where the key comes from" grep -qF "$TMP/creds/airlock-master-key" <<<"$ERR"
check "rotate-key with CREDENTIALS_DIRECTORY: master.key untouched" cmp -s "$TMP/key-after" "$S/master.key"
run "$AIRLOCK" secret rotate-key --state-dir "$TMP/no-store"
check "rotate-key without a store: exit 125, one line" one_line_error 125
run "$AIRLOCK" secret rotate-key extra --state-dir "$S"
check "rotate-key with an argument: refused, exit 125, one line" one_line_error 125
check "rotate-key with an argument: names it" grep -qF "unexpected argument 'extra'" <<<"$ERR"

# --- the values are nowhere else -----------------------------------------------
checkx "no file under the state dir holds a value" '! grep -rqaF -e "$VALUE" -e "$VALUE2" -e CANARY "$S"'
checkx "no output but get --reveal showed a value" '! grep -qaF -e "$VALUE" -e CANARY "$ALL_OUTPUT"'
checkx "the search would find a name (sanity)" 'grep -rqaF openai.key "$S"'

finish
