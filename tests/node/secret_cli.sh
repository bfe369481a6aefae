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

# --- the values are nowhere else -----------------------------------------------
checkx "no file under the state dir holds a value" '! grep -rqaF -e "$VALUE" -e "$VALUE2" -e CANARY "$S"'
checkx "no output but get --reveal showed a value" '! grep -qaF -e "$VALUE" -e CANARY "$ALL_OUTPUT"'
checkx "the search would find a name (sanity)" 'grep -rqaF openai.key "$S"'

finish
