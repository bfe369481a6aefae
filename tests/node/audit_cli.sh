#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# audit_cli.sh - `airlock audit [verify|prune|head]` end to end through the
# built binary: the table and --json output, every filter, verify's exit
# codes after tampering with the database through the sqlite3 command,
# prune, and refused flags (exit 125, one line naming the flag).
#
#   tests/node/audit_cli.sh PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL
#
# audit-fill (tests/node/audit_fill.c) appends records through the library,
# as the node does.  Every check uses its own --state-dir under a temporary
# directory.  Prints TAP and "N passed, N failed"; exit 77 when sqlite3 or
# python3 is missing.
# shellcheck disable=SC2016  # checkx expressions are single-quoted on purpose: eval expands them
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

AIRLOCK=${1:?usage: $0 PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL}
FILL=${2:?usage: $0 PATH_TO_AIRLOCK PATH_TO_AUDIT_FILL}
for tool in sqlite3 python3; do
  command -v "$tool" >/dev/null || skip_all "$tool not found"
done
TMP=$(mktemp -d /tmp/airlock-audit-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
S=$TMP/state

rows() { lines "$(printf '%s\n' "$OUT" | tail -n +2)"; } # table rows without the header

# 12 exec records an hour apart from 2026-11-18T12:06:40Z, and a file write
# whose path holds an escape sequence
python3 - >"$TMP/records.jsonl" <<'EOF'
import json
base = 1795000000000
for i in range(1, 13):
    r = {"kind": ["exec.request", "exec.result"][i % 2], "tenant": ["alice", "bob", "carol"][i % 3],
         "argv": ["sh", "-c", "make test %d" % i],
         "actions": ["code_exec"] if i % 4 else ["file_delete", "code_exec"],
         "decision": ["allow", "deny", "approval_required", "approved"][i % 4], "ts_ms": base + i * 3600000}
    if i % 2:
        r.update(exit_code=i % 3, duration_ms=i * 10)
    print(json.dumps(r))
print(json.dumps({"kind": "files.write", "tenant": "alice", "path": "/workspace/a b\x1b[31m.txt",
                  "ts_ms": base + 20 * 3600000}))
EOF
run "$FILL" "$S" <"$TMP/records.jsonl"
HEAD13=$OUT
check "audit-fill wrote 13 records" grep -Eq '^13:[0-9a-f]{64}$' <<<"$HEAD13"
check "state dir is 0700" [ "$(stat -c %a "$S")" = 700 ]
check "audit.db is 0600" [ "$(stat -c %a "$S/audit.db")" = 600 ]
check "audit.head is 0600" [ "$(stat -c %a "$S/audit.head")" = 600 ]
check "audit.head holds the head" [ "$(cat "$S/audit.head")" = "$HEAD13" ]

# --- queries -------------------------------------------------------------------
run "$AIRLOCK" audit --state-dir "$S"
check "query exits 0" [ "$RC" = 0 ]
check "query has a header" grep -Eq '^TIME +SEQ +KIND +TENANT +DECISION +EXIT +ARGV$' <<<"$OUT"
check "query lists 13 records" [ "$(rows)" = 13 ]
check "rows: ISO time, seq, kind, tenant, decision, exit, argv" \
  grep -Eq "^2026-11-18T12:06:40.000Z +1 +exec.result +bob +deny +1 +sh -c 'make test 1'$" <<<"$OUT"
check "a record without exit code shows -" grep -Eq '^2026-11-18T13:06:40.000Z +2 +exec.request +carol +approval_required +- ' <<<"$OUT"
check "a file record shows its path" grep -qF "/workspace/a b" <<<"$OUT"
# shellcheck disable=SC2034  # used inside checkx's eval
ESC=$'\x1b'
checkx "control characters are escaped, not printed" '! grep -qF "$ESC" <<<"$OUT" && grep -qF "\x1b[31m" <<<"$OUT"'
check "query is quiet on stderr" [ -z "$ERR" ]

run "$AIRLOCK" audit --state-dir "$S" --json
check "--json exits 0" [ "$RC" = 0 ]
check "--json: 13 JSON objects in seq order, no header" python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [r["seq"] for r in recs] == list(range(1, 14)), recs
assert recs[0]["argv"] == ["sh", "-c", "make test 1"] and recs[0]["exit_code"] == 1
assert recs[0]["ts_ms"] == 1795003600000
assert recs[12]["path"] == "/workspace/a b\x1b[31m.txt"
' "$OUT"

count() { # count EXPECTED DESCRIPTION FLAGS...: --json lines for FLAGS
  local want=$1 what=$2
  shift 2
  run "$AIRLOCK" audit --state-dir "$S" --json "$@"
  checkx "$what: $want records" '[ "$RC" = 0 ] && [ "$(lines "$OUT")" = "$want" ]'
}
count 5 "--tenant alice" --tenant alice
count 0 "--tenant nobody" --tenant nobody
count 6 "--kind exec.result" --kind exec.result
count 1 "--kind files.write" --kind files.write
count 3 "--decision deny" --decision deny
count 3 "--action file_delete" --action file_delete
count 12 "--action code_exec" --action code_exec
count 2 "--exit 0" --exit 0
count 2 "--exit 1" --exit 1
count 4 "--grep (case-insensitive)" --grep 'MAKE TEST 1'
count 1 "--grep with a space" --grep 'a b'
count 0 "--grep: % is not a wildcard" --grep 'make%test'
count 7 "--since RFC 3339 (inclusive)" --since 2026-11-18T18:06:40Z
count 7 "--since with an offset" --since 2026-11-18T19:06:40+01:00
count 7 "--since with a fraction" --since 2026-11-18T18:06:40.000Z
count 12 "--until a date (exclusive)" --until 2026-11-19
count 3 "--since and --until" --since 2026-11-18T14:00:00Z --until 2026-11-18T17:00:00Z
count 2 "--since epoch ms" --since 1795036000000 --until 1795043200000
count 13 "--since an age" --since 3650d
count 0 "--since a short age" --since 1m
count 2 "--tenant, --kind and --exit combined" --tenant alice --kind exec.result --exit 0
run "$AIRLOCK" audit --state-dir "$S" --json --limit 2
check "--limit keeps the newest, oldest first" python3 -c '
import json, sys
assert [json.loads(l)["seq"] for l in sys.argv[1].splitlines()] == [12, 13]' "$OUT"
run "$AIRLOCK" audit --state-dir "$S" --limit 3 --tenant bob
checkx "--limit in the table" '[ "$(rows)" = 3 ] && grep -Eq "^2026-11-18T21:06:40.000Z +10 " <<<"$OUT"'

run "$AIRLOCK" audit --state-dir "$TMP/none"
checkx "no state dir: header only, exit 0" '[ "$RC" = 0 ] && [ "$(lines "$OUT")" = 1 ]'
run "$AIRLOCK" audit --state-dir "$TMP/none" --json
checkx "no state dir, --json: nothing" '[ "$RC" = 0 ] && [ -z "$OUT" ]'
check "a query does not create the state dir" [ ! -e "$TMP/none" ]

# --- bad usage ---------------------------------------------------------------------
bad_flag() { # bad_flag DESCRIPTION TEXT_IN_ERROR ARGS...
  local what=$1 text=$2
  shift 2
  run "$AIRLOCK" audit "$@"
  check "$what: exit 125, one line" one_line_error 125
  check "$what: the error names '$text'" grep -qF -- "$text" <<<"$ERR"
}
bad_flag "--since garbage" "--since 'yesterday'" --state-dir "$S" --since yesterday
bad_flag "--since bad date" "2026-02-30" --state-dir "$S" --since 2026-02-30
bad_flag "--since a bare year" "--since '2026'" --state-dir "$S" --since 2026
bad_flag "--until bad time" "--until" --state-dir "$S" --until 2026-11-22T25:00:00Z
bad_flag "--since after --until" "--since" --state-dir "$S" --since 2026-11-20 --until 2026-11-19
bad_flag "--decision unknown" "--decision 'maybe'" --state-dir "$S" --decision maybe
bad_flag "--exit not a number" "--exit 'x'" --state-dir "$S" --exit x
bad_flag "--limit 0" "--limit '0'" --state-dir "$S" --limit 0
bad_flag "--tenant bad name" "--tenant 'a b'" --state-dir "$S" --tenant 'a b'
bad_flag "--kind bad" "--kind" --state-dir "$S" --kind 'Exec Result'
bad_flag "--grep empty" "--grep" --state-dir "$S" --grep ''
bad_flag "unknown option" "--bogus" --state-dir "$S" --bogus
bad_flag "option without value" "--since" --state-dir "$S" --since
bad_flag "stray argument" "'extra'" --state-dir "$S" extra
bad_flag "unknown subcommand" "'frobnicate'" frobnicate
bad_flag "verify: bad --expect-head" "--expect-head '13:abc'" verify --state-dir "$S" --expect-head 13:abc
bad_flag "verify: stray argument" "'x'" verify --state-dir "$S" x
bad_flag "prune: bad --older-than" "--older-than 'soon'" prune --state-dir "$S" --older-than soon
bad_flag "prune: --older-than in the future" "future" prune --state-dir "$S" --older-than 2099-01-01
bad_flag "head: unknown option" "--json" head --state-dir "$S" --json

# --- verify and head -------------------------------------------------------------------
run "$AIRLOCK" audit verify --state-dir "$S"
check "verify intact: exit 0" [ "$RC" = 0 ]
check "verify says how many and the head" grep -qF "intact: 13 records, seq 1..13; head $HEAD13" <<<"$OUT"
run "$AIRLOCK" audit head --state-dir "$S"
checkx "head prints SEQ:HASH" '[ "$RC" = 0 ] && [ "$OUT" = "$HEAD13" ]'
run "$AIRLOCK" audit verify --state-dir "$S" --expect-head "$HEAD13"
check "verify --expect-head of the current head: exit 0" [ "$RC" = 0 ]
run "$AIRLOCK" audit verify --state-dir "$TMP/none"
checkx "verify without a trail: exit 0" '[ "$RC" = 0 ] && grep -q "no audit trail" <<<"$OUT"'

HASH11=$(sqlite3 "$S/audit.db" "SELECT hash FROM records WHERE seq = 11")
tamper() { # tamper NAME SQL: a copy of the state dir with SQL applied; sets T
  T=$TMP/$1
  rm -rf "$T"
  cp -a "$S" "$T"
  [ -z "$2" ] || sqlite3 "$T/audit.db" "$2"
}
tampered() { # tampered DESCRIPTION TEXT [ARGS...]: verify exits 1 with one line containing TEXT
  local what=$1 text=$2
  shift 2
  run "$AIRLOCK" audit verify --state-dir "$T" "$@"
  check "$what: exit 1, one line" one_line_error 1
  check "$what: says '$text'" grep -qF -- "$text" <<<"$ERR"
}
tamper edit "UPDATE records SET body = replace(body, 'make test 5', 'make test 0') WHERE seq = 5"
tampered "edited body" "TAMPERED: record 5: hash mismatch"
tamper delete "DELETE FROM records WHERE seq = 5"
tampered "deleted record" "record 5: missing (deleted)"
tamper insert "INSERT INTO records (seq, ts_ms, kind, body, hash) VALUES (14, 1, 'exec.request', '{\"kind\":\"exec.request\",\"seq\":14,\"ts_ms\":1}', '$HASH11')"
tampered "inserted record" "record 14: hash mismatch"
tamper swap "UPDATE records SET seq = -3 WHERE seq = 3; UPDATE records SET seq = 3 WHERE seq = 7; UPDATE records SET seq = 7 WHERE seq = -3"
tampered "swapped records" "record 3: holds the body of record 7"
tamper column "UPDATE records SET tenant = 'nobody' WHERE seq = 8"
tampered "edited filter column" "record 8: its filter columns were changed"
tamper tail "DELETE FROM records WHERE seq > 11"
tampered "truncated tail" "record 12: missing; audit.head says the newest record is 13"
tamper tailhead "DELETE FROM records WHERE seq > 11"
printf '11:%s\n' "$HASH11" >"$T/audit.head"
run "$AIRLOCK" audit verify --state-dir "$T"
check "truncated tail with audit.head rewritten: not detectable alone (exit 0)" [ "$RC" = 0 ]
tampered "truncated tail and audit.head, with the head kept elsewhere" "record 12: missing" --expect-head "$HEAD13"
tamper nohead ""
rm "$T/audit.head"
tampered "audit.head deleted" "audit.head is missing"
tamper nodb ""
rm "$T/audit.db"
tampered "audit.db deleted" "audit.db is missing, but the trail reached record 13"

# --- prune ---------------------------------------------------------------------------------
run "$AIRLOCK" audit prune --state-dir "$S"
checkx "prune with the default 90d: nothing" '[ "$RC" = 0 ] && grep -q "nothing to prune" <<<"$OUT"'
run "$AIRLOCK" audit prune --state-dir "$S" --older-than 2026-11-18T18:00:00Z
checkx "prune: exit 0, 6 records" '[ "$RC" = 0 ] && grep -q "^pruned 6 records older than 2026-11-18T18:00:00.000Z; prune record 14" <<<"$OUT"'
run "$AIRLOCK" audit verify --state-dir "$S"
checkx "verify after prune: intact" '[ "$RC" = 0 ] && grep -qF "intact: 8 records, seq 7..14 (records up to 6 pruned)" <<<"$OUT"'
run "$AIRLOCK" audit --state-dir "$S" --kind prune
check "the prune record is in the trail" grep -Eq ' 14 +prune +- +- +- +through seq 6 \(6 removed\)$' <<<"$OUT"
run "$AIRLOCK" audit prune --state-dir "$S" --older-than 2026-11-18T18:00:00Z
checkx "prune again: nothing" '[ "$RC" = 0 ] && grep -q "nothing to prune" <<<"$OUT"'
run "$AIRLOCK" audit verify --state-dir "$S" --expect-head "$HEAD13"
check "an expected head older than the prune is still checked" [ "$RC" = 0 ]
HASH8=$(sqlite3 "$S/audit.db" "SELECT hash FROM records WHERE seq = 8")
tamper anchor "DELETE FROM records WHERE seq <= 8; UPDATE meta SET value = 8 WHERE key = 'anchor_seq'; UPDATE meta SET value = '$HASH8' WHERE key = 'anchor_hash'"
tampered "anchor moved after a prune" "record 7: missing; prune record 14 removed records up to 6"
tamper pruneedit "UPDATE records SET body = replace(body, 'make test 9', 'make test 0') WHERE seq = 9"
run "$AIRLOCK" audit prune --state-dir "$T" --older-than 2026-11-19
check "prune refuses a tampered trail: exit 125" one_line_error 125
check "prune says why" grep -qF "not pruning: the audit trail fails verification: record 9" <<<"$ERR"
run "$AIRLOCK" audit prune --state-dir "$TMP/none"
checkx "prune without a trail: exit 0" '[ "$RC" = 0 ] && grep -q "nothing to prune" <<<"$OUT"'

# --- unsafe state directory, dispatch ----------------------------------------------------------
chmod 644 "$S/audit.db"
run "$AIRLOCK" audit --state-dir "$S"
check "a 0644 audit.db is refused: exit 125, one line" one_line_error 125
check "the error names the database and mode" grep -qF "$S/audit.db has mode 0644" <<<"$ERR"
chmod 600 "$S/audit.db"
run "$AIRLOCK" audit --help
checkx "audit --help: exit 0, usage on stdout" '[ "$RC" = 0 ] && grep -q "airlock audit verify" <<<"$OUT"'
run "$AIRLOCK" --help
check "airlock --help mentions audit" grep -q "audit" <<<"$OUT"

finish
