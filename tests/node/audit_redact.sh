#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# audit_redact.sh - `airlock audit redact` on a trail written by an older
# version (records appended raw through the library by audit-fill, as an
# older redactor left them): the secrets are gone from audit.db, its WAL and
# the head file, the commands are still recorded, the chain verifies, the
# records before the first change keep their hashes, an audit.redacted
# record names the old head, a second run changes nothing, and a tampered
# trail is refused and left as it is.
#
#   tests/node/audit_redact.sh PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL
#
# Prints TAP and "N passed, N failed"; exit 77 when sqlite3 or python3 is missing.
# shellcheck disable=SC2016  # checkx expressions are single-quoted on purpose: eval expands them
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

AIRLOCK=${1:?usage: $0 PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL}
FILL=${2:?usage: $0 PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL}
for tool in sqlite3 python3; do
  command -v "$tool" >/dev/null || skip_all "$tool not found"
done
TMP=$(mktemp -d /tmp/airlock-audit-redact-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
S=$TMP/state
PW=$(python3 -c 'import secrets; print("Pw" + secrets.token_hex(10))')
TOK=$(python3 -c 'import secrets; print("hvs." + secrets.token_urlsafe(24))')

# six records; 3 and 5 hold secrets the current redactor finds (a password
# piped into docker login, a token in an error message quoting argv)
records() {
  python3 - "$PW" "$TOK" <<'EOF'
import json, sys
pw, tok = sys.argv[1], sys.argv[2]
base = 1795000000000
cmds = ["make test", "ls -la", "echo %s | docker login -u ci --password-stdin reg.example" % pw,
        "git status", "vault login %s" % tok, "uptime"]
for i, c in enumerate(cmds, 1):
    r = {"kind": "exec.request", "tenant": "agent", "argv": ["sh", "-c", c], "decision": "allow",
         "ts_ms": base + i * 1000}
    if i == 5:
        r.update(kind="exec.result", exit_code=127, error="cannot execute 'vault login %s'" % tok)
    print(json.dumps(r))
EOF
}
records | { run "$FILL" "$S"; echo "$OUT" >"$TMP/head"; }
OLD_HEAD=$(cat "$TMP/head")
check "audit-fill wrote 6 records" grep -Eq '^6:[0-9a-f]{64}$' <<<"$OLD_HEAD"
holds() { grep -acF "$1" "$S/audit.db" "$S/audit.db-wal" "$S/audit.head" 2>/dev/null | awk -F: '{n += $2} END {print n + 0}'; }
checkx "before: the trail holds both secrets (the search can find them)" '[ "$(holds "$PW")" -gt 0 ] && [ "$(holds "$TOK")" -gt 0 ]'
HASH2=$(sqlite3 "$S/audit.db" "SELECT hash FROM records WHERE seq = 2")

run "$AIRLOCK" audit redact --state-dir "$S"
checkx "redact: exit 0" '[ "$RC" = 0 ]'
checkx "redact: says what it did" \
  'grep -q "^redacted 2 of 6 records; chain re-hashed from record 3; old head $OLD_HEAD kept in record 7$" <<<"$OUT"'
checkx "after: neither secret is in audit.db, its WAL or audit.head" '[ "$(holds "$PW")" = 0 ] && [ "$(holds "$TOK")" = 0 ]'
run "$AIRLOCK" audit verify --state-dir "$S"
checkx "after: the chain verifies (7 records)" '[ "$RC" = 0 ] && grep -q "7 records" <<<"$OUT"'
run "$AIRLOCK" audit --state-dir "$S" --json
checkx "the commands are still recorded, secrets hidden" \
  'grep -qF "echo [REDACTED] | docker login -u ci --password-stdin reg.example" <<<"$OUT" && grep -qF "\"error\":\"cannot execute '"'"'vault login [REDACTED]'"'"'\"" <<<"$OUT"'
checkx "the untouched records are unchanged" 'grep -qF "\"argv\":[\"sh\",\"-c\",\"make test\"]" <<<"$OUT"'
checkx "record 7 says what was redacted and keeps the old head" \
  'grep -F "\"kind\":\"audit.redacted\"" <<<"$OUT" | grep -qF "\"old_head\":\"$OLD_HEAD\"" && grep -F "\"kind\":\"audit.redacted\"" <<<"$OUT" | grep -q "\"from_seq\":3"'
check "record 2 keeps its hash (the chain is re-hashed from record 3 only)" \
  [ "$(sqlite3 "$S/audit.db" "SELECT hash FROM records WHERE seq = 2")" = "$HASH2" ]
run "$AIRLOCK" audit verify --state-dir "$S" --expect-head "2:$HASH2"
check "a head anchored before the first change still verifies" [ "$RC" = 0 ]
run "$AIRLOCK" audit redact --state-dir "$S"
checkx "a second run changes nothing" '[ "$RC" = 0 ] && grep -q "^nothing to redact: 7 records checked$" <<<"$OUT"'

# a tampered trail: refused, and nothing rewritten
T=$TMP/tampered
records | "$FILL" "$T" >/dev/null
sqlite3 "$T/audit.db" "UPDATE records SET body = replace(body, 'git status', 'git stash') WHERE seq = 4"
BEFORE=$(sqlite3 "$T/audit.db" "SELECT group_concat(hash) FROM records")
run "$AIRLOCK" audit redact --state-dir "$T"
checkx "tampered trail: refused (exit 125, as prune) with the reason" '[ "$RC" = 125 ] && grep -q "fails verification: record 4" <<<"$ERR"'
check "tampered trail: no record rewritten" [ "$(sqlite3 "$T/audit.db" "SELECT group_concat(hash) FROM records")" = "$BEFORE" ]

run "$AIRLOCK" audit redact --state-dir "$TMP/none"
checkx "no trail yet: exit 0, says so" '[ "$RC" = 0 ] && grep -q "nothing to redact: no audit trail yet" <<<"$OUT"'
run "$AIRLOCK" audit redact --state-dir "$S" --bogus
checkx "unknown flag: exit 125, named" '[ "$RC" = 125 ] && grep -q -- "--bogus" <<<"$ERR"'

finish
