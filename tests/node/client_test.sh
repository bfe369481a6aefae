#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Node client tests without the node: starts tests/node/mock_node.py, runs
# `airlock exec` and the exec-example against it over the unix socket,
# loopback TCP (IPv4 and IPv6) and TLS, and checks output, exit codes and the
# JSON bodies sent; then client-api-test (library API edges) when it was
# built in the same directory as exec-example.  Prints TAP and "N passed, N
# failed"; exits non-zero when a case failed.
#
# usage: client_test.sh PATH_TO_AIRLOCK PATH_TO_EXEC_EXAMPLE
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
AIRLOCK=${1:?usage: client_test.sh PATH_TO_AIRLOCK PATH_TO_EXEC_EXAMPLE}
EXAMPLE=${2:?usage: client_test.sh PATH_TO_AIRLOCK PATH_TO_EXEC_EXAMPLE}
HERE=$(cd "$(dirname "$0")" && pwd)
TOKEN="node_tok_test_$$_$RANDOM"

T=$(mktemp -d /tmp/airlock-client-test.XXXXXX)
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then
    kill "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- TLS material (skipped when openssl is missing) ------------------------
TLS=0
if command -v openssl >/dev/null 2>&1; then
  (
    cd "$T" &&
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=mock-ca &&
      openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=mock-node &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
        -extfile server.ext &&
      openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=mock-client &&
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
  ) >"$T/openssl.log" 2>&1 && TLS=1
fi
TLS_ARGS=()
[ "$TLS" = 1 ] && TLS_ARGS=(--tls-cert "$T/server.pem" --tls-key "$T/server.key" --https-port-file "$T/https-port"
  --client-ca "$T/ca.pem" --mtls-port-file "$T/mtls-port")

# ---- the mock node ---------------------------------------------------------
SOCK="$T/node.sock"
python3 "$HERE/mock_node.py" --unix "$SOCK" --port-file "$T/port" --port6-file "$T/port6" --token "$TOKEN" \
  --record "$T/record.json" --log "$T/requests.log" --ready-file "$T/ready" --sandbox sb_fixture \
  "${TLS_ARGS[@]}" 2>"$T/mock.err" &
MOCK_PID=$!
for _ in $(seq 100); do
  [ -e "$T/ready" ] && break
  kill -0 "$MOCK_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$T/ready" ] || bail "the mock node starts" "$(cat "$T/mock.err")"
UNIX="unix:$SOCK"
TCP="http://127.0.0.1:$(cat "$T/port")"
NODES=("$UNIX" "$TCP")
[ -s "$T/port6" ] && NODES+=("http://[::1]:$(cat "$T/port6")")

# ---- helpers ---------------------------------------------------------------
# ax ARGS...: airlock exec with the token in the environment; stdin from
# $STDIN (default /dev/null); sets rc, output in $T/out and $T/err
ax() {
  rm -f "$T/record.json"
  AIRLOCK_TOKEN=$TOKEN "$AIRLOCK" exec "$@" <"${STDIN:-/dev/null}" >"$T/out" 2>"$T/err"
  rc=$?
}

# Checks on the last ax; each appends to $problems, which `verdict NAME`
# (tests/lib/testlib.sh) reports as one test.
want_rc() { [ "$rc" = "$1" ] || problems+="exit code $rc, want $1"$'\n'; }
want_out() { # exact stdout
  local got
  got=$(cat "$T/out"; printf x)
  [ "${got%x}" = "$1" ] || problems+="stdout '$(head -c 300 "$T/out")', want '$1'"$'\n'
}
want_err() { # exact stderr
  local got
  got=$(cat "$T/err"; printf x)
  [ "${got%x}" = "$1" ] || problems+="stderr '$(head -c 300 "$T/err")', want '$1'"$'\n'
}
want_err_has() { grep -qF -- "$1" "$T/err" || problems+="stderr lacks '$1': $(head -c 300 "$T/err")"$'\n'; }
# want_body PYTHON_EXPR: true for the last request (rec) and its body (b)
want_body() {
  local out
  if ! out=$(python3 - "$T/record.json" "$1" 2>&1 <<'PY'
import base64, json, sys
try:
    rec = json.load(open(sys.argv[1]))
except OSError:
    sys.exit("no request reached the node")
b = rec.get("body") or {}
if not eval(sys.argv[2], {"b": b, "rec": rec, "base64": base64}):
    sys.exit("request %s %s body %s" % (rec["method"], rec["path"], json.dumps(b)[:400]))
PY
  ); then
    problems+="body check '$1' failed: $out"$'\n'
  fi
}
want_no_request() { [ ! -e "$T/record.json" ] || problems+="a request reached the node: $(head -c 300 "$T/record.json")"$'\n'; }
problem_context() { echo "stderr was: $(head -c 300 "$T/err")"; }

# ---- every transport -------------------------------------------------------
for node in "${NODES[@]}"; do
  ax --node "$node" -- echo hello world
  want_rc 0; want_out $'hello world\n'; want_err ''
  want_body 'b["argv"] == ["echo", "hello", "world"] and b["stream"] is True'
  want_body 'rec["authorization"] == "Bearer '"$TOKEN"'" and rec["content_type"] == "application/json"'
  want_body 'rec["expect"] is None and rec["method"] == "POST" and rec["path"] == "/v1/exec"'
  verdict "[$node] echo streams stdout, exit 0"

  ax --node "$node" -- exit 3
  want_rc 3; want_out ''; want_err $'exit 3\n'
  verdict "[$node] exit code 3 passed through"

  ax --node "$node" --timeout 2 -- timeout
  want_rc 124; want_out $'started\n'; want_err_has 'airlock: timed out after 2s; sandbox killed'
  want_body 'b["timeout_ms"] == 2000'
  verdict "[$node] timeout: 124"

  ax --node "$node" -- oom
  want_rc 137; want_err_has 'airlock: out of memory; killed'
  verdict "[$node] out of memory: 137"

  ax --node "$node" -- busy
  want_rc 125; want_out ''
  want_err $'airlock exec: node refused the request (429 over_capacity): node is at its concurrency limit (8 running); retry after 7 s\n'
  verdict "[$node] 429: 125 with one line and Retry-After"

  rm -f "$T/record.json"
  AIRLOCK_TOKEN=wrong "$AIRLOCK" exec --node "$node" -- echo hi </dev/null >"$T/out" 2>"$T/err"
  rc=$?
  want_rc 125; want_out ''
  want_err $'airlock exec: node refused the request (401 unauthorized): missing, unknown or revoked token\n'
  verdict "[$node] wrong token: 401, 125"

  ax --node "$node" --no-stream -- sh -c 'echo out; echo err >&2; exit 5'
  want_rc 5; want_out $'out\n'; want_err $'err\n'
  want_body '"stream" not in b'
  verdict "[$node] --no-stream: captured output and exit code"

  "$EXAMPLE" "$node" "$TOKEN" >"$T/out" 2>"$T/err"
  rc=$?
  want_rc 0
  for line in 'stdout=hello' 'exec_id=ex_mock' 'exit_code=0 signal=0 timed_out=0 oom_killed=0 truncated=0 success=1' \
    'wall_ms=12 cpu_user_ms=3 cpu_sys_ms=2 max_rss_kb=1460 error=null' '[stdout] out' '[stderr] err' \
    'in sandbox: exit_code=0 stdout=kept' 'destroyed'; do
    grep -qF -- "$line" "$T/out" || problems+="example output lacks '$line'"$'\n'
  done
  # all six requests of the example on one connection (keep-alive)
  if ! python3 - "$T/requests.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"method"' in l][-6:]
assert [r["path"] for r in recs][0] == "/v1/exec", recs
assert len({r["conn"] for r in recs}) == 1, [(r["conn"], r["seq"]) for r in recs]
assert "stream" not in recs[0]["body"] and "stdin_base64" not in recs[0]["body"], recs[0]
assert recs[1]["body"]["stream"] is True, recs[1]
assert recs[5]["method"] == "DELETE", recs[5]
PY
  then problems+="example requests not as expected (one connection, bodies)"$'\n'; fi
  verdict "[$node] exec-example: result fields, streamed records, sandbox, one kept-alive connection"
done

# ---- the request body ------------------------------------------------------
printf 'hello\000bin\377' >"$T/stdin.bin"
STDIN="$T/stdin.bin" ax --node "$UNIX" --env A=1 --env B=two=2 --env A=3 --cwd /work --memory 64m --cpus 0.5 \
  --pids 32 --disk 1g --timeout 2.5 -- printf x
want_rc 0; want_out 'x'
want_body 'b["argv"] == ["printf", "x"] and b["env"] == {"A": "3", "B": "two=2"} and b["cwd"] == "/work"'
want_body 'b["timeout_ms"] == 2500 and b["stream"] is True and "detach_on_disconnect" not in b'
want_body 'b["limits"] == {"memory": 67108864, "cpus": 0.5, "pids": 32, "disk": 1073741824}'
want_body 'base64.b64decode(b["stdin_base64"]) == b"hello\0bin\xff" and "stdin" not in b'
verdict "body: argv, env object (later K wins), cwd, timeout_ms, limits, stdin_base64"

ax --node "$UNIX" -- true
want_body '"limits" not in b and "env" not in b and "cwd" not in b and "timeout_ms" not in b and "max_output_bytes" not in b'
verdict "body: nothing sent that was not asked for"

ax --node "$UNIX" --pids 64 -- true
want_body 'b["limits"] == {"pids": 64}'
verdict "body: only the limits that were set"

for len in 0 1 2 3 4 5; do
  head -c "$len" /dev/urandom >"$T/stdin.bin"
  STDIN="$T/stdin.bin" ax --node "$UNIX" -- true
  want_body 'base64.b64decode(b["stdin_base64"], validate=True) == open("'"$T/stdin.bin"'", "rb").read()'
done
head -c 100000 /dev/urandom >"$T/stdin.bin"
STDIN="$T/stdin.bin" ax --node "$UNIX" -- true
want_body 'base64.b64decode(b["stdin_base64"], validate=True) == open("'"$T/stdin.bin"'", "rb").read()'
verdict "stdin: base64 of 0-5 and 100000 random bytes"

seq 1 20000 >"$T/stdin.txt"
STDIN="$T/stdin.txt" ax --node "$TCP" -- cat
want_rc 0
cmp -s "$T/out" "$T/stdin.txt" || problems+="cat did not echo stdin back"$'\n'
verdict "stdin: piped text comes back through cat"

rm -f "$T/record.json"
AIRLOCK_TOKEN=$TOKEN "$AIRLOCK" exec --node "$UNIX" -- true <&- >"$T/out" 2>"$T/err"
rc=$?
want_rc 0; want_body '"stdin_base64" not in b'
verdict "stdin: closed stdin sends none"

head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$T/stdin.big"
STDIN="$T/stdin.big" ax --node "$UNIX" -- true
want_rc 125; want_no_request; want_err_has 'stdin is larger than 16 MiB'
verdict "stdin: over 16 MiB refused before sending"

head -c $((2 * 1024 * 1024)) /dev/zero >"$T/stdin.big"
STDIN="$T/stdin.big" ax --node "$UNIX" -- true
want_rc 125; want_err_has '(413 too_large)'
verdict "stdin: a body over the node's 1 MiB limit: 413, 125"

ax --node "$UNIX" --shell -- 'echo $((6 * 7))'
want_rc 0; want_out $'42\n'
want_body 'b["command"] == "echo $((6 * 7))" and "argv" not in b'
verdict "--shell sends \"command\""

ax --node "$UNIX" --shell -- echo two args
want_rc 125; want_no_request; want_err_has '--shell takes the command as one string'
verdict "--shell with several arguments: 125"

ax --node "$UNIX" --sandbox sb_fixture -- echo in-sandbox
want_rc 0; want_out $'in-sandbox\n'
want_body 'rec["path"] == "/v1/sandboxes/sb_fixture/exec"'
verdict "--sandbox: POST /v1/sandboxes/{id}/exec"

ax --node "$UNIX" --sandbox sb_nope -- true
want_rc 125; want_err_has '(404 not_found)'
verdict "--sandbox unknown: 404, 125"

ax --node "$UNIX" --sandbox 'sb x/y' -- true
want_body 'rec["path"] == "/v1/sandboxes/sb%20x%2Fy/exec"'
verdict "--sandbox id is escaped into the path"

ax --node "$UNIX" --sandbox sb_fixture --memory 64m -- true
want_rc 125; want_no_request; want_err_has 'fresh sandboxes only'
verdict "--sandbox with limits: refused locally"

# ---- streaming -------------------------------------------------------------
rm -f "$T/record.json"
AIRLOCK_TOKEN=$TOKEN "$AIRLOCK" exec --node "$UNIX" -- many 50 </dev/null >"$T/both" 2>&1
rc=$?
want_rc 0
for i in $(seq 0 49); do printf 'o%d\ne%d\n' "$i" "$i"; done >"$T/both.want"
cmp -s "$T/both" "$T/both.want" || problems+="interleaving lost: $(head -c 200 "$T/both")"$'\n'
verdict "stream: stdout and stderr records keep their order"

ax --node "$TCP" -- big 1000000
want_rc 0
python3 -c 'import sys; sys.stdout.buffer.write((b"0123456789abcdef" * 62501)[:1000000])' >"$T/big.want"
cmp -s "$T/out" "$T/big.want" || problems+="big output differs ($(wc -c <"$T/out") bytes)"$'\n'
verdict "stream: 1000000 bytes in 64 KiB records through awkward chunks"

ax --node "$UNIX" -- unicode
want_rc 0; want_out $'h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80\n'
verdict "stream: UTF-8 split across chunks"

ax --node "$UNIX" -- nul
want_rc 0
printf 'a\000b\n' | cmp -s - "$T/out" || problems+="NUL byte lost: $(od -c "$T/out" | head -2)"$'\n'
verdict "stream: NUL bytes in data"

ax --node "$UNIX" --no-stream -- nul
printf 'a\000b\n' | cmp -s - "$T/out" || problems+="NUL byte lost: $(od -c "$T/out" | head -2)"$'\n'
verdict "no stream: NUL bytes in data"

ax --node "$UNIX" --no-stream -- big 300000
want_rc 0; want_err_has 'output truncated'
[ "$(wc -c <"$T/out")" = 200000 ] || problems+="captured $(wc -c <"$T/out") bytes, want 200000"$'\n'
verdict "no stream: truncated output is reported"

ax --node "$UNIX" -- hugeline
want_rc 125; want_err_has 'stream line longer than 4194304 bytes'
verdict "stream: a record over 4 MiB is refused"

ax --node "$UNIX" -- noexit
want_rc 125; want_err_has 'without an exit record'
verdict "stream: a stream without exit record: 125"

ax --node "$UNIX" -- garbage
want_rc 125; want_err_has 'not JSON'
verdict "stream: a line that is not JSON: 125"

# ---- results and errors ----------------------------------------------------
ax --node "$UNIX" -- notfound
want_rc 127; want_err $'airlock: cannot execute \'notfound\': No such file or directory\n'
verdict "result error text shown, 127"

ax --node "$UNIX" -- escape
want_rc 1
if grep -q $'\x1b' "$T/err"; then problems+="terminal escape passed through"$'\n'; fi
if grep -q $'\xc2\x9b' "$T/err"; then problems+="C1 CSI passed through"$'\n'; fi
[ "$(wc -l <"$T/err")" = 1 ] || problems+="error text not on one line"$'\n'
verdict "result error text: control characters neutralized"

ax --node "$UNIX" -- crash
want_rc 125
want_err $'airlock exec: node failed the request (500 internal): sandbox setup failed: cannot mount /proc: Permission denied\n'
verdict "500: 125 with the node's message"

ax --node "$UNIX" -- crash-html
want_rc 125; want_err_has '(502)'
if grep -q $'\x1b' "$T/err"; then problems+="terminal escape passed through"$'\n'; fi
verdict "non-JSON error answer: status and sanitized start of the body"

ax --node "$UNIX" -- forbidden
want_rc 125; want_err_has '(403 forbidden): timeout_ms 9999999 is above the node maximum'
verdict "403: 125"

# ---- nodes, tokens, arguments ----------------------------------------------
ax --node "unix:$T/absent.sock" -- true
want_rc 125; want_err $'airlock exec: cannot reach node unix:'"$T"$'/absent.sock: No such file or directory\n'
verdict "unreachable unix socket: 125"

python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$T/freeport"
ax --node "http://127.0.0.1:$(cat "$T/freeport")" -- true
want_rc 125; want_err_has 'cannot reach node http://127.0.0.1:'; want_err_has 'Connection refused'
verdict "unreachable TCP port: 125"

for bad in http://10.0.0.1:7000 http://example.com:80 http://localhost:1; do
  ax --node "$bad" -- true
  want_rc 125; want_err_has 'plain http is only for loopback'
done
verdict "plain http to a non-loopback host refused"

for bad in ftp://127.0.0.1 unix: /some/path 'http://127.0.0.1:1/v1' 'https://u:p@host:1'; do
  ax --node "$bad" -- true
  want_rc 125
  [ "$(wc -l <"$T/err")" = 1 ] || problems+="$bad: not one line: $(cat "$T/err")"$'\n'
done
verdict "malformed --node values: 125, one line"

ax --node "$UNIX" --tls-ca "$T/ca.pem" -- true
want_rc 125; want_err_has 'not https://'
verdict "TLS files with a non-https node: 125"

rm -f "$T/record.json"
env -u AIRLOCK_TOKEN "$AIRLOCK" exec --node "$UNIX" -- true </dev/null >"$T/out" 2>"$T/err"
rc=$?
want_rc 125; want_no_request; want_err_has 'no token'
verdict "no token: 125 before any request"

rm -f "$T/record.json"
AIRLOCK_TOKEN=wrong "$AIRLOCK" exec --node "$UNIX" --token "$TOKEN" -- echo ok </dev/null >"$T/out" 2>"$T/err"
rc=$?
want_rc 0; want_out $'ok\n'
verdict "--token wins over AIRLOCK_TOKEN"

ax --node "$UNIX" --token $'bad\ntoken' -- true
want_rc 125; want_no_request
verdict "token with a newline refused (no header injection)"

for args in "--memory lots" "--cpus 0" "--cpus -1" "--pids 0" "--timeout 0" "--timeout 1e3" "--env NOEQUALS" \
  "--cwd relative" "--no-such-flag"; do
  # shellcheck disable=SC2086
  ax --node "$UNIX" $args -- true
  want_rc 125; want_no_request
done
ax --node "$UNIX"
want_rc 125; want_err_has 'no command given'
verdict "bad arguments: 125 before any request"

if [ "$(id -u)" != 0 ]; then
  rm -f "$T/record.json"
  XDG_RUNTIME_DIR="$T/xdg" AIRLOCK_TOKEN=$TOKEN "$AIRLOCK" exec -- true </dev/null >"$T/out" 2>"$T/err"
  rc=$?
  want_rc 125; want_err_has "unix:$T/xdg/airlock/node.sock"
  verdict "default node: \$XDG_RUNTIME_DIR/airlock/node.sock"
else
  AIRLOCK_TOKEN=$TOKEN "$AIRLOCK" exec -- true </dev/null >"$T/out" 2>"$T/err"
  rc=$?
  if [ ! -S /run/airlock/node.sock ]; then
    want_rc 125; want_err_has 'unix:/run/airlock/node.sock'
  fi
  verdict "default node as root: /run/airlock/node.sock"
fi

# libcurl is loaded by `airlock exec` only: `airlock run` must not pay for it
if command -v ldd >/dev/null 2>&1; then
  if ldd "$AIRLOCK" | grep -q libcurl; then problems+="airlock links libcurl: $(ldd "$AIRLOCK" | grep libcurl)"$'\n'; fi
  verdict "airlock does not link libcurl (loaded on first use)"
fi

"$AIRLOCK" exec --help >"$T/out" 2>&1
rc=$?
want_rc 0; grep -q -- '--no-stream' "$T/out" || problems+="help lacks --no-stream"$'\n'
verdict "--help"

# ---- TLS ---------------------------------------------------------------------
if [ "$TLS" = 1 ]; then
  HTTPS="https://127.0.0.1:$(cat "$T/https-port")"
  MTLS="https://127.0.0.1:$(cat "$T/mtls-port")"
  ax --node "$HTTPS" --tls-ca "$T/ca.pem" -- echo over tls
  want_rc 0; want_out $'over tls\n'
  verdict "https with --tls-ca"

  ax --node "https://localhost:$(cat "$T/https-port")" --tls-ca "$T/ca.pem" -- echo by name
  want_rc 0; want_out $'by name\n'
  verdict "https by host name"

  ax --node "$HTTPS" -- true
  want_rc 125; want_no_request; want_err_has 'cannot reach node https://'
  verdict "https with an untrusted certificate refused"

  ax --node "$MTLS" --tls-ca "$T/ca.pem" -- true
  want_rc 125; want_no_request
  verdict "mutual TLS without a client certificate refused"

  ax --node "$MTLS" --tls-ca "$T/ca.pem" --tls-cert "$T/client.pem" --tls-key "$T/client.key" -- echo mutual
  want_rc 0; want_out $'mutual\n'
  verdict "mutual TLS with --tls-cert/--tls-key"

  ax --node "$MTLS" --tls-ca "$T/ca.pem" --tls-key "$T/client.key" -- true
  want_rc 125; want_err_has 'needs its certificate'
  verdict "--tls-key without --tls-cert: 125"

  "$EXAMPLE" "$HTTPS" "$TOKEN" "$T/ca.pem" >"$T/out" 2>"$T/err"
  rc=$?
  want_rc 0; grep -qF '[stderr] err' "$T/out" || problems+="example over TLS: $(cat "$T/out" "$T/err")"$'\n'
  verdict "exec-example over https"
else
  echo "# openssl not usable: TLS cases skipped ($(head -c 200 "$T/openssl.log"))"
fi

# ---- API edges (client-api-test, when built next to exec-example) ----------
API_TEST="$(dirname "$EXAMPLE")/client-api-test"
if [ -x "$API_TEST" ]; then
  for node in "$UNIX" "$TCP"; do
    "$API_TEST" "$node" "$TOKEN" "$T/record.json" >"$T/api.out" 2>&1
    api_rc=$?
    while IFS= read -r line; do
      case $line in
      "ok - "*) result "[$node] api: ${line#ok - }" 0 "" ;;
      "not ok - "*) result "[$node] api: ${line#not ok - }" 1 "" ;;
      esac
    done <"$T/api.out"
    if [ "$api_rc" != 0 ] && ! grep -q '^not ok' "$T/api.out"; then
      result "[$node] client-api-test ran" 1 "exit $api_rc: $(tail -5 "$T/api.out")"
    fi
  done
else
  echo "# $API_TEST not built: API edge cases skipped"
fi

finish
