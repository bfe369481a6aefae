#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# token_cli.sh - `airlock token create|list|revoke` end to end through the
# built binary: outputs, exit codes (0 ok, 1 failed, 2 usage), file modes,
# and that no token or hash is ever printed or stored in clear.
#
#   tests/node/token_cli.sh PATH_TO_AIRLOCK
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
TMP=$(mktemp -d /tmp/airlock-token-cli-XXXXXX)
trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
S=$TMP/state

mode_of() { stat -c %a "$1"; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
TOKEN_RE='^node_tok_[A-Za-z0-9_-]{43}$'

# --- create -----------------------------------------------------------------
run "$AIRLOCK" token create --name alice --state-dir "$S" \
  --max-concurrent 4 --max-memory 512m --max-cpus 1.5 --max-timeout 30
ALICE=$OUT
check "create exits 0" [ "$RC" = 0 ]
check "create prints exactly one line" [ "$(lines "$OUT")" = 1 ]
check "create prints a node_tok_ token" grep -Eq "$TOKEN_RE" <<<"$OUT"
check "create warns once, on one stderr line" [ "$(lines "$ERR")" = 1 ]
check "the warning says the token is shown once" grep -qi "only this once" <<<"$ERR"
checkx "the warning does not repeat the token" '[ -n "$ALICE" ] && ! grep -qF -- "$ALICE" <<<"$ERR"'

run "$AIRLOCK" token create --name bob --state-dir "$S"
BOB=$OUT
check "second create exits 0" [ "$RC" = 0 ]
check "second token is well formed" grep -Eq "$TOKEN_RE" <<<"$BOB"
check "two tokens differ" [ "$ALICE" != "$BOB" ]

check "state dir is 0700" [ "$(mode_of "$S")" = 700 ]
check "tokens.db is 0600" [ "$(mode_of "$S/tokens.db")" = 600 ]
leaked=0
for f in "$S"/tokens.db*; do
  for t in "$ALICE" "$BOB"; do
    grep -qaF -- "$t" "$f" && leaked=1
    grep -qaF -- "${t#node_tok_}" "$f" && leaked=1
  done
done
check "no token text in the database files" [ "$leaked" = 0 ]
check "the hash is what is stored" grep -qaF "$(sha256 "$ALICE")" "$S/tokens.db"

# --- create: refusals --------------------------------------------------------
run "$AIRLOCK" token create --name alice --state-dir "$S"
check "duplicate name: exit 125, one line" one_line_error 125
check "duplicate name: error names it" grep -q "'alice'" <<<"$ERR"

for name in "" "a b" "a/b" "../x" "$(printf 'x%.0s' {1..65})" "café"; do
  run "$AIRLOCK" token create --name "$name" --state-dir "$S"
  check "bad name '$name': exit 125, one line" one_line_error 125
done
run "$AIRLOCK" token create --name "$(printf 'y%.0s' {1..64})" --state-dir "$S"
check "64-character name accepted" [ "$RC" = 0 ]

run "$AIRLOCK" token create --state-dir "$S"
check "missing --name: exit 125" one_line_error 125
check "missing --name: says so" grep -q -- "--name" <<<"$ERR"
run "$AIRLOCK" token create --name x --state-dir "$S" --bogus
check "unknown option: exit 125" one_line_error 125
check "unknown option: names it" grep -q -- "--bogus" <<<"$ERR"
run "$AIRLOCK" token create --name x --state-dir
check "option without value: exit 125" one_line_error 125
run "$AIRLOCK" token create --name x --state-dir "$S" extra
check "stray argument: exit 125" one_line_error 125
for bad_limit in "--max-memory 12q" "--max-memory 0" "--max-memory -1" "--max-cpus abc" "--max-cpus 0" \
  "--max-cpus -1" "--max-cpus 1e3" "--max-timeout 0" "--max-timeout x" "--max-timeout -5" \
  "--max-concurrent 0" "--max-concurrent -3" "--max-concurrent 2.5" "--max-concurrent 99999999999"; do
  # shellcheck disable=SC2086
  run "$AIRLOCK" token create --name x --state-dir "$S" $bad_limit
  check "bad limit '$bad_limit': exit 125, one line" one_line_error 125
done
run "$AIRLOCK" token list --state-dir "$S"
check "refused creates stored nothing" [ "$(lines "$OUT")" = 4 ]

# --- list --------------------------------------------------------------------
run "$AIRLOCK" token list --state-dir "$S"
check "list exits 0" [ "$RC" = 0 ]
check "list has a header" grep -q "^NAME *CREATED *REVOKED *LIMITS" <<<"$OUT"
check "list shows alice's limits" grep -Eq "^alice .*concurrent=4 memory=512m cpus=1.5 timeout=30s$" <<<"$OUT"
check "list shows bob without limits" grep -Eq "^bob +[0-9T:-]+Z +- +-$" <<<"$OUT"
checkx "list prints no token" '! grep -qF -e "$ALICE" -e "$BOB" -e node_tok_ <<<"$OUT"'
checkx "list prints no hash" '! grep -qF -e "$(sha256 "$ALICE")" -e "$(sha256 "$BOB")" <<<"$OUT"'
check "list is quiet on stderr" [ -z "$ERR" ]

run "$AIRLOCK" token list --state-dir "$S" --json
JSON=$OUT
check "list --json exits 0" [ "$RC" = 0 ]
if command -v python3 >/dev/null; then
  check "list --json is valid JSON with alice's limits" python3 -c '
import json, sys
a = {t["name"]: t for t in json.loads(sys.argv[1])}
l = a["alice"]["limits"]
assert a["alice"]["revoked"] is False and a["alice"]["revoked_at"] is None
assert l == {"max_concurrent_execs": 4, "max_memory_bytes": 536870912, "max_cpus": 1.5, "max_timeout_ms": 30000}, l
assert all(v is None for v in a["bob"]["limits"].values())
assert isinstance(a["bob"]["created_at"], int)
' "$JSON"
fi
checkx "list --json prints no token or hash" '! grep -qF -e node_tok_ -e "$(sha256 "$ALICE")" <<<"$JSON"'

run "$AIRLOCK" token list --state-dir "$S" extra
check "list with an argument: exit 125" one_line_error 125

run "$AIRLOCK" token list --state-dir "$TMP/none"
checkx "list of a missing state dir: exit 0, header only" '[ "$RC" = 0 ] && [ "$(lines "$OUT")" = 1 ]'
check "list does not create the state dir" [ ! -e "$TMP/none" ]
run "$AIRLOCK" token list --state-dir "$TMP/none" --json
checkx "list --json of a missing state dir is []" '[ "$RC" = 0 ] && [ "$OUT" = "[]" ]'

# --- revoke ------------------------------------------------------------------
run "$AIRLOCK" token revoke bob --state-dir "$S"
check "revoke exits 0" [ "$RC" = 0 ]
check "revoke says so" grep -q "'bob' revoked" <<<"$OUT"
run "$AIRLOCK" token list --state-dir "$S" --json
command -v python3 >/dev/null && check "list shows bob revoked" python3 -c '
import json, sys
a = {t["name"]: t for t in json.loads(sys.argv[1])}
assert a["bob"]["revoked"] is True and isinstance(a["bob"]["revoked_at"], int)
assert a["alice"]["revoked"] is False' "$OUT"
run "$AIRLOCK" token list --state-dir "$S"
check "table shows bob's revoke time" grep -Eq "^bob +[0-9T:-]+Z +[0-9T:-]+Z" <<<"$OUT"

run "$AIRLOCK" token revoke bob --state-dir "$S"
check "revoke twice: exit 125, one line" one_line_error 125
check "revoke twice: says already revoked" grep -q "already revoked" <<<"$ERR"
run "$AIRLOCK" token revoke nobody --state-dir "$S"
check "revoke unknown: exit 125, one line" one_line_error 125
check "revoke unknown: names it" grep -q "'nobody'" <<<"$ERR"
run "$AIRLOCK" token create --name bob --state-dir "$S"
check "a revoked name is not reused: exit 125" one_line_error 125
run "$AIRLOCK" token revoke --state-dir "$S"
check "revoke without a name: exit 125" one_line_error 125
run "$AIRLOCK" token revoke alice bob --state-dir "$S"
check "revoke two names: exit 125" one_line_error 125
run "$AIRLOCK" token revoke "a/b" --state-dir "$S"
check "revoke bad name: exit 125" one_line_error 125
run "$AIRLOCK" token revoke alice --state-dir "$TMP/none"
check "revoke in a missing state dir: exit 125" one_line_error 125
run "$AIRLOCK" token revoke "$(printf 'y%.0s' {1..64})" --state-dir "$S"
check "options may follow the name" [ "$RC" = 0 ]

# --- an unsafe state directory is refused ------------------------------------
chmod 755 "$S"
run "$AIRLOCK" token create --name carol --state-dir "$S"
check "create in a 0755 state dir: exit 125, one line" one_line_error 125
check "the error names the path and mode" grep -qF "$S has mode 0755" <<<"$ERR"
run "$AIRLOCK" token list --state-dir "$S"
check "list in a 0755 state dir: exit 125" one_line_error 125
run "$AIRLOCK" token revoke alice --state-dir "$S"
check "revoke in a 0755 state dir: exit 125" one_line_error 125
check "the mode was not changed" [ "$(mode_of "$S")" = 755 ]
chmod 700 "$S"
chmod 644 "$S/tokens.db"
run "$AIRLOCK" token list --state-dir "$S"
check "a 0644 database is refused: exit 125" one_line_error 125
check "the error names the database and mode" grep -qF "$S/tokens.db has mode 0644" <<<"$ERR"
chmod 600 "$S/tokens.db"
run "$AIRLOCK" token list --state-dir "$S"
check "after chmod 600 the list works again" [ "$RC" = 0 ]

# --- dispatch ------------------------------------------------------------------
run "$AIRLOCK" token
checkx "'airlock token' alone: exit 2 with usage" '[ "$RC" = 125 ] && grep -q "usage:" <<<"$ERR"'
run "$AIRLOCK" token frobnicate
check "unknown subcommand: exit 125, one line" one_line_error 125
run "$AIRLOCK" token --help
checkx "token --help: exit 0, usage on stdout" '[ "$RC" = 0 ] && grep -q "airlock token create" <<<"$OUT"'
run "$AIRLOCK" token create --help
checkx "token create --help: exit 0" '[ "$RC" = 0 ] && grep -q "max-memory" <<<"$OUT"'
run "$AIRLOCK" --help
check "airlock --help mentions token" grep -q "token" <<<"$OUT"

finish
