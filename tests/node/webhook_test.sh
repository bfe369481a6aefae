#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Webhook notification tests (src/node/node_webhook.c): starts
# tests/node/webhook_receiver.py on 127.0.0.1 (plain HTTP, and HTTPS with a
# throwaway CA when openssl is there), then runs the webhook-test driver
# against it.  The receiver verifies each signature and timestamp itself
# (hmac.compare_digest) and records every request; this script checks the
# records, the driver's counters and its stderr.  Prints TAP and
# "N passed, N failed"; exits non-zero when a case failed.
#
# usage: webhook_test.sh PATH_TO_WEBHOOK_TEST
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
DRIVER=${1:?usage: webhook_test.sh PATH_TO_WEBHOOK_TEST}
HERE=$(cd "$(dirname "$0")" && pwd)

T=$(mktemp -d /tmp/airlock-webhook-test.XXXXXX)
RECV_PID=
cleanup() {
  if [ -n "$RECV_PID" ]; then
    kill "$RECV_PID" 2>/dev/null
    wait "$RECV_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- secrets and TLS material ----------------------------------------------
umask 077
SECRET=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')   # 32 characters
printf '%s\n' "$SECRET" >"$T/secret"                            # newline: stripped by both ends
WRONG=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
printf '%s' "$WRONG" >"$T/wrong-secret"
PATH_TOKEN="pathtoken$RANDOM$RANDOM" # stands for the credential in a Slack/Discord URL

TLS=0
if command -v openssl >/dev/null 2>&1; then
  (
    cd "$T" &&
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=webhook-test-ca &&
      openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=webhook-receiver &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
        -extfile server.ext
  ) >"$T/openssl.log" 2>&1 && TLS=1
fi
TLS_ARGS=()
[ "$TLS" = 1 ] && TLS_ARGS=(--tls-cert "$T/server.pem" --tls-key "$T/server.key" --tls-port-file "$T/tls-port")

# ---- the receiver ----------------------------------------------------------
python3 "$HERE/webhook_receiver.py" --secret-file "$T/secret" --port-file "$T/port" --record "$T/record.ndjson" \
  "${TLS_ARGS[@]}" 2>"$T/receiver.err" &
RECV_PID=$!
for _ in $(seq 100); do
  [ -e "$T/port" ] && { [ "$TLS" = 0 ] || [ -e "$T/tls-port" ]; } && break
  kill -0 "$RECV_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$T/port" ] || bail "the receiver starts" "$(cat "$T/receiver.err")"
BASE="http://127.0.0.1:$(cat "$T/port")"
touch "$T/record.ndjson" "$T/all.err"

# ---- helpers ---------------------------------------------------------------
# drive ARGS...: the driver with the right secret unless ARGS give another;
# sets rc, stdout in $T/out, stderr in $T/err (and appended to $T/all.err)
drive() {
  local secret=(--secret-file "$T/secret")
  case " $* " in *" --secret-file "*) secret=() ;; esac
  "$DRIVER" "${secret[@]}" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/err" >>"$T/all.err"
}

# Checks on the last drive; each appends to $problems, which `verdict NAME`
# (tests/lib/testlib.sh) reports as one test.
want_rc() { [ "$rc" = "$1" ] || problems+="exit code $rc, want $1"$'\n'; }
want_err_has() { grep -qF -- "$1" "$T/err" || problems+="stderr lacks '$1'"$'\n'; }
want_err_empty() { [ ! -s "$T/err" ] || problems+="stderr not empty"$'\n'; }
# want_stats PYTHON_EXPR over s (the driver's JSON line)
want_stats() {
  local out
  if ! out=$(python3 -c '
import json, sys
try:
    s = json.loads(open(sys.argv[1]).read())
except ValueError:
    sys.exit("no stats line: %r" % open(sys.argv[1]).read()[:200])
if not eval(sys.argv[2], {"s": s}):
    sys.exit("stats %s" % json.dumps(s))
' "$T/out" "$1" 2>&1); then
    problems+="stats check '$1' failed: $out"$'\n'
  fi
}
# want_records TYPE PYTHON_EXPR [ARG]: the expression over r (the receiver's
# records of events of TYPE, in arrival order), b (their parsed bodies), now
# and sys.argv[4] (ARG)
want_records() {
  local out
  if ! out=$(python3 -c '
import json, re, sys, time
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = [x for x in r if x["headers"].get("x-airlock-event") == sys.argv[2]]
def body(x):
    try:
        return json.loads(x["body"])
    except ValueError:
        return None
b = [body(x) for x in r]
if not eval(sys.argv[3], {"r": r, "b": b, "now": time.time(), "re": re, "json": json, "sys": sys}):
    sys.exit("%d record(s): %s" % (len(r), json.dumps([{k: x[k] for k in ("path", "status", "verified", "why")} for x in r])[:600]))
' "$T/record.ndjson" "$1" "$2" "${3:-}" 2>&1); then
    problems+="records check '$2' failed: $out"$'\n'
  fi
}
problem_context() { printf 'stdout: %s\nstderr: %s\n' "$(head -c 300 "$T/out")" "$(head -c 600 "$T/err")"; }

# ---- delivery ----------------------------------------------------------------
PAYLOAD='{"command":"rm -rf /workspace/build","tenant":"ci","sandbox":"sb_1","argv":["rm","-rf","build"],"note":"é ✓ \"quoted\" \\ back"}'
drive --url "$BASE/ok?k=$PATH_TOKEN" --type approval.requested --payload "$PAYLOAD"
want_rc 0
want_err_empty
want_stats 's["delivered"] == 1 and s["failed"] == 0 and s["dropped"] == 0'
want_records approval.requested 'len(r) == 1 and r[0]["verified"] and r[0]["status"] == 200 and r[0]["path"] == "/ok"'
want_records approval.requested 'b[0]["data"] == dict(json.loads(sys.argv[4]), seq=0)' "$PAYLOAD"
want_records approval.requested 'b[0]["type"] == "approval.requested" and re.fullmatch("evt_[0-9a-f]{32}", b[0]["id"])'
want_records approval.requested 'abs(b[0]["created_at_ms"] / 1000 - now) < 60 and list(b[0]) == ["type", "id", "created_at_ms", "data"]'
want_records approval.requested 'r[0]["headers"]["x-airlock-delivery"] == b[0]["id"] and r[0]["headers"]["content-type"] == "application/json"'
want_records approval.requested 'r[0]["headers"]["user-agent"].startswith("airlock/") and "expect" not in r[0]["headers"]'
want_records approval.requested 're.fullmatch(r"t=[0-9]+,v1=[0-9a-f]{64}", r[0]["headers"]["x-airlock-signature"])'
verdict "signed event delivered, signature verified by the receiver, payload intact"
# the same record's signature, checked the documented shell way (openssl)
python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in r if x["headers"].get("x-airlock-event") == "approval.requested"][0]
open(sys.argv[2], "w").write(r["body"])
open(sys.argv[3], "w").write(r["headers"]["x-airlock-signature"])
' "$T/record.ndjson" "$T/body" "$T/sighdr"
sig=$(cat "$T/sighdr")
t=${sig#t=}; t=${t%%,*}
v1=${sig##*v1=}
key=$(head -n1 "$T/secret")
calc=$( { printf '%s.' "$t"; cat "$T/body"; } | openssl dgst -sha256 -hmac "$key" | sed 's/^.*= //')
[ "$calc" = "$v1" ] || problems+="openssl gives $calc, header says $v1"$'\n'
verdict "the signature also verifies with openssl dgst -hmac (docs/node.md)"

drive --url "http://localhost:$(cat "$T/port")/ok" --type test.localhost
want_rc 0; want_stats 's["delivered"] == 1'
want_records test.localhost 'len(r) == 1 and r[0]["verified"]'
verdict "http://localhost is accepted as loopback"

drive --url "$BASE/flaky" --type test.flaky
want_rc 0; want_err_empty
want_stats 's["delivered"] == 1 and s["failed"] == 0'
want_records test.flaky '[x["status"] for x in r] == [503, 503, 200] and all(x["verified"] for x in r)'
want_records test.flaky 'len({x["headers"]["x-airlock-delivery"] for x in r}) == 1 and len({x["body"] for x in r}) == 1'
want_records test.flaky 'r[1]["time"] - r[0]["time"] >= 0.45 and r[2]["time"] - r[1]["time"] >= 0.95'
verdict "503, 503, then 200: retried after 0.5 s and 1 s, delivered once"

drive --url "$BASE/bad?k=$PATH_TOKEN" --type test.bad
want_rc 0
want_stats 's["delivered"] == 0 and s["failed"] == 1'
want_records test.bad 'len(r) == 1 and r[0]["status"] == 400 and r[0]["verified"]'
want_err_has "webhook to 127.0.0.1: event evt_"; want_err_has "not delivered after 1 attempt: HTTP 400"
[ "$(wc -l <"$T/err")" = 1 ] || problems+="more than one stderr line"$'\n'
verdict "400: failed at once, not retried, one log line naming host and reason"

drive --url "$BASE/busy" --type test.busy --attempts 3
want_rc 0; want_stats 's["failed"] == 1'
want_records test.busy '[x["status"] for x in r] == [429, 429, 429]'
want_err_has "not delivered after 3 attempts: HTTP 429"
verdict "429 retried up to max_attempts"

drive --url "$BASE/redirect" --type test.redirect
want_rc 0; want_stats 's["delivered"] == 0 and s["failed"] == 1'
want_records test.redirect 'len(r) == 1 and r[0]["path"] == "/redirect" and r[0]["status"] == 302'
grep -q '"path": "/redirected"' "$T/record.ndjson" && problems+="/redirected was requested"$'\n'
want_err_has "HTTP 302 (redirects are not followed)"
verdict "302 not followed: the target is never requested, the event fails"

drive --url "$BASE/hang" --type test.hang --timeout-ms 300 --attempts 2
want_rc 0; want_stats 's["failed"] == 1'
want_records test.hang 'len(r) == 2'
want_err_has "not delivered after 2 attempts"; want_err_has "imed out"
verdict "a receiver slower than timeout_ms: timed out, retried, failed"

closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
drive --url "http://127.0.0.1:$closed/x" --type test.refused --attempts 2
want_rc 0; want_stats 's["failed"] == 1'
want_err_has "webhook to 127.0.0.1: event"; want_err_has "not delivered after 2 attempts"
verdict "connection refused: retried, failed, logged"

drive --url "$BASE/ok" --type test.overflow --first-payload '{"sleep_ms":1500}' --pause-ms 300 --count 1500 \
  --payload '{"n":1}'
want_rc 0
want_stats 's["dropped_after_send"] == 500 and s["dropped"] == 500 and s["delivered"] == 1001 and s["failed"] == 0'
want_records test.overflow 'len(r) == 1001 and all(x["verified"] for x in r)'
want_records test.overflow 'sorted(x["data"].get("seq", -1) for x in b) == [-1] + list(range(500, 1500))'
want_err_has "1000 events queued; dropping the oldest"
[ "$(grep -c 'dropping the oldest' "$T/err")" = 1 ] || problems+="the overflow was logged more than once"$'\n'
verdict "queue overflow: 1500 events behind a slow one, the oldest 500 dropped and counted"

drive --url "$BASE/ok" --type 'bad type'
want_rc 0; want_stats 's["failed"] == 1'
want_err_has "its type is not"
verdict "an event type unfit for a header is refused and counted as failed"

# ---- the receiver's check can fail --------------------------------------------
drive --secret-file "$T/wrong-secret" --url "$BASE/ok" --type test.wrongsecret
want_rc 0; want_stats 's["delivered"] == 0 and s["failed"] == 1'
want_records test.wrongsecret 'len(r) == 1 and not r[0]["verified"] and r[0]["why"] == "signature mismatch" and r[0]["status"] == 401'
want_err_has "HTTP 401"
verdict "a wrong secret: the receiver's verification fails (401), no retry"

# sign by hand (the driver's --sign is al_webhook_sign) and post with python
post_signed() { # T BODY TYPE -> prints the HTTP status
  local sig
  sig=$("$DRIVER" --secret-file "$T/secret" --sign "$1" "$2") || return 1
  python3 -c '
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST", headers={
    "Content-Type": "application/json", "X-Airlock-Event": sys.argv[3],
    "X-Airlock-Signature": "t=%s,v1=%s" % (sys.argv[4], sys.argv[5])})
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
' "$BASE/ok" "$2" "$3" "$1" "$sig"
}
now=$(date +%s)
BODY='{"type":"test.manual","id":"evt_manual","created_at_ms":0,"data":{}}'
st_fresh=$(post_signed "$now" "$BODY" test.fresh)
st_stale=$(post_signed $((now - 400)) "$BODY" test.stale)
st_future=$(post_signed $((now + 400)) "$BODY" test.future)
[ "$st_fresh" = 200 ] || problems+="fresh timestamp answered $st_fresh"$'\n'
[ "$st_stale" = 401 ] || problems+="timestamp 400 s old answered $st_stale"$'\n'
[ "$st_future" = 401 ] || problems+="timestamp 400 s ahead answered $st_future"$'\n'
want_records test.stale 'len(r) == 1 and r[0]["why"] == "stale timestamp"'
verdict "al_webhook_sign matches python's hmac; timestamps over 5 minutes off are rejected"

printf '%s' "$SECRET" >"$T/secret-nonl"; printf '%s\r\n\n' "$SECRET" >"$T/secret-crlf"
a=$("$DRIVER" --secret-file "$T/secret-nonl" --sign 1700000000 '{}')
b=$("$DRIVER" --secret-file "$T/secret" --sign 1700000000 '{}')
c=$("$DRIVER" --secret-file "$T/secret-crlf" --sign 1700000000 '{}')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] || problems+="signatures differ: $a $b $c"$'\n'
verdict "trailing newlines of the secret file are stripped"

# ---- refusals ----------------------------------------------------------------
cp "$T/secret" "$T/secret-644" && chmod 0644 "$T/secret-644"
drive --secret-file "$T/secret-644" --url "$BASE/ok" --type test.refused644
want_rc 2; want_err_has "$T/secret-644"; want_err_has "mode 0644"
want_records test.refused644 'len(r) == 0'
verdict "a secret file with mode 0644 is refused (path and mode named)"

cp "$T/secret" "$T/secret-640" && chmod 0640 "$T/secret-640"
drive --secret-file "$T/secret-640" --url "$BASE/ok"
want_rc 2; want_err_has "mode 0640"
verdict "a group-readable secret file is refused"

printf '0123456789abcde\n' >"$T/secret-short"
drive --secret-file "$T/secret-short" --url "$BASE/ok"
want_rc 2; want_err_has "holds 15 bytes; at least 16"
verdict "a secret under 16 bytes is refused"

mkdir -m 700 "$T/secret-dir"
drive --secret-file "$T/secret-dir" --url "$BASE/ok"
want_rc 2; want_err_has "not a regular file"
drive --secret-file "$T/nonexistent" --url "$BASE/ok"
want_rc 2; want_err_has "$T/nonexistent"
verdict "a directory or a missing path is refused as a secret file"

if [ "$(id -u)" = 0 ]; then
  cp "$T/secret" "$T/secret-nobody" && chown 65534 "$T/secret-nobody"
  drive --secret-file "$T/secret-nobody" --url "$BASE/ok"
  want_rc 2; want_err_has "owned by uid 65534"
  verdict "a secret file owned by another user is refused"
else
  echo "# not root: the ownership check is not exercised"
fi

for url in "http://example.com/hook" "http://10.0.0.1:8080/hook" "http://[::2]/hook" "http://127.0.0.1.nip.io/x"; do
  drive --url "$url" --type test.nonloopback
  want_rc 2; want_err_has "plain http:// is only for loopback"
done
drive --url "ftp://127.0.0.1/x"
want_rc 2; want_err_has "must be https://"
drive --url "not a url"
want_rc 2
drive --url "https://webhook.invalid/$PATH_TOKEN" --count 0
want_rc 0
verdict "http:// to a non-loopback host, other schemes and junk are refused; https:// is accepted"

# ---- TLS -------------------------------------------------------------------------
if [ "$TLS" = 1 ]; then
  TLS_BASE="https://127.0.0.1:$(cat "$T/tls-port")"
  drive --url "$TLS_BASE/ok" --ca-file "$T/ca.pem" --type test.tls
  want_rc 0; want_err_empty; want_stats 's["delivered"] == 1'
  want_records test.tls 'len(r) == 1 and r[0]["scheme"] == "https" and r[0]["verified"]'
  verdict "https with ca_file: delivered, verified"

  drive --url "$TLS_BASE/ok" --type test.tls-untrusted --attempts 3
  want_rc 0; want_stats 's["delivered"] == 0 and s["failed"] == 1'
  want_records test.tls-untrusted 'len(r) == 0'
  want_err_has "not delivered after 1 attempt"; want_err_has "certificate"
  verdict "https to a certificate outside the trust store: refused, not retried"

  drive --url "$BASE/ok" --ca-file "$T/ca.pem"
  want_rc 2; want_err_has "not https://"
  verdict "a CA file with an http:// URL is refused"
else
  echo "# openssl missing: TLS cases skipped"
fi

# ---- stop ------------------------------------------------------------------------
drive --url "$BASE/hang" --type test.stop --count 5 --no-wait
want_rc 0
want_stats '1500 <= s["stop_ms"] <= 2700'
want_err_has "abandoned: the node is stopping"; want_err_has "4 queued event(s) dropped: the node is stopping"
verdict "stop gives queued events 2 s, then gives up and returns"

# ---- what stderr never shows -------------------------------------------------
for s in "$SECRET" "$WRONG" "$PATH_TOKEN"; do
  if grep -qF -- "$s" "$T/all.err"; then
    problems+="stderr shows '${s:0:4}...'"$'\n'
  fi
done
[ -s "$T/all.err" ] || problems+="no stderr was collected at all"$'\n'
: >"$T/err"
verdict "neither secret nor the URL's path token appears in any stderr"

finish
