#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `airlock run --network proxy` and `--secret`: flag and config errors, what
# a sandbox sees in proxy mode (environment, resolv.conf, only the proxy's
# two sockets, no route out), the launcher/proxy protocol and its failures,
# that the proxy never outlives a run, and secrets as files.  The proxy is
# tests/cli/proxy_stub.py (through AIRLOCK_PROXY_BIN, a test-only override),
# which speaks the protocol and logs what it saw.  As root every case runs
# twice: as root, then as an unprivileged user (rootless).
#
# usage: network_cli.sh AIRLOCK_BIN AIRLOCK_NODE_BIN PROXY_STUB
#        network_cli.sh --inner BIN_DIR          (the rootless pass)
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
if [ "${1:-}" = --inner ]; then
  BIN=${2:?}
  MODE=user
else
  AIRLOCK_IN=${1:?usage: network_cli.sh AIRLOCK_BIN AIRLOCK_NODE_BIN PROXY_STUB}
  NODE_IN=${2:?usage: network_cli.sh AIRLOCK_BIN AIRLOCK_NODE_BIN PROXY_STUB}
  STUB_IN=${3:?usage: network_cli.sh AIRLOCK_BIN AIRLOCK_NODE_BIN PROXY_STUB}
  MODE=$([ "$(id -u)" = 0 ] && echo root || echo user)
fi
# private copies in a world-readable place: the build tree may not be
# readable by the unprivileged user, and airlock refuses to mount from /root
T=$(mktemp -d /tmp/airlock-network-cli.XXXXXX)
chmod 755 "$T"
cleanup() {
  [ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
if [ "${1:-}" != --inner ]; then
  BIN=$T/bin
  mkdir "$BIN"
  cp "$AIRLOCK_IN" "$BIN/airlock"
  cp "$NODE_IN" "$BIN/airlock-node"
  cp "$STUB_IN" "$BIN/proxy_stub.py"
  chmod 755 "$BIN" "$BIN"/*
fi
AIRLOCK=$BIN/airlock
export AIRLOCK_PROXY_BIN=$BIN/proxy_stub.py
TAP_PREFIX="[$MODE] "

RUN=("$AIRLOCK" run)
if [ "$MODE" = user ] && ! "$AIRLOCK" run -- true >/dev/null 2>&1; then
  RUN+=(--allow-degraded) # no delegated cgroup: rlimit fallbacks
fi
# a proxy-mode run whose stub writes its records to $T/LOGNAME
proxied() { local log=$1; shift; "${RUN[@]}" --network proxy --egress-log "$T/$log" "$@"; }

# the stub's records: field FIELD of the first record with event EVENT
record() { # LOG EVENT FIELD
  python3 - "$T/$1" "$2" "$3" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"] == sys.argv[2]:
        v = r.get(sys.argv[3])
        print(json.dumps(v) if not isinstance(v, str) else v)
        break
PY
}
# the stub process of LOG is gone (checked for up to a second)
stub_gone() {
  local pid
  pid=$(record "$1" start pid)
  [ -n "$pid" ] || { echo "no start record in $1"; cat "$T/$1"; return 1; }
  for _ in $(seq 20); do
    # dead, or a zombie left to whatever reaps orphans here (it runs nothing)
    kill -0 "$pid" 2>/dev/null || return 0
    [ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.05
  done
  echo "proxy $pid is still running after the run"; ps -o pid,ppid,stat,args -p "$pid"
  return 1
}
# expect_fail NAME WANT_RC NEEDLE ARGS...: airlock run ARGS exits WANT_RC saying NEEDLE
expect_fail() {
  local name=$1 want=$2 needle=$3 out rc
  shift 3
  out=$("${RUN[@]}" "$@" 2>&1)
  rc=$?
  if [ "$rc" = "$want" ] && grep -qF -- "$needle" <<<"$out" && ! grep -q RAN <<<"$out"; then
    ok "$name"
  else
    bad "$name" "rc $rc (want $want, message with '$needle'): $out"
  fi
}

# ---- flags and config ------------------------------------------------------

cfg() { printf '%s\n' "$2" >"$T/$1.json"; }
cfg badkey '{"network": {"mode": "proxy", "allow": ["a.example"], "allowList": []}}'
cfg badrule '{"network": {"mode": "proxy", "allow": ["a.example", 443]}}'
cfg rulestring '{"network": {"mode": "proxy", "deny": "a.example"}}'
cfg nomode '{"network": {"allow": ["a.example"]}}'
cfg noneallow '{"network": {"mode": "none", "allow": ["a.example"]}}'
cfg hostmode '{"sandbox": {"networkMode": "host"}}'
cfg badsecrets '{"secrets": ["OK", 1]}'
cfg proxycfg '{"network": {"mode": "proxy", "allow": ["a.example"]}}'
expect_fail "--allow without proxy mode" 125 "apply only with --network proxy" --allow a.example -- echo RAN
expect_fail "--deny with --network none" 125 "apply only with --network proxy" --network none --deny a.example -- echo RAN
expect_fail "--network none drops a config's proxy settings; --allow then refused" 125 \
  "apply only with --network proxy" --config "$T/proxycfg.json" --network none --allow b.example -- echo RAN
expect_fail "--egress-log without proxy mode" 125 "--egress-log applies only with --network proxy" \
  --egress-log "$T/x.jsonl" -- echo RAN
expect_fail "--network host refused" 125 "always refused" --network host -- echo RAN
expect_fail "--network bridge is not a flag value" 125 "must be 'none' or 'proxy'" --network bridge -- echo RAN
expect_fail "config: unknown network key named" 125 "unknown config key 'network.allowList'" \
  --config "$T/badkey.json" -- echo RAN
expect_fail "config: non-string rule named" 125 "'network.allow[1]' must be a string" --config "$T/badrule.json" -- echo RAN
expect_fail "config: rules not an array" 125 "'network.deny' must be an array of strings" \
  --config "$T/rulestring.json" -- echo RAN
expect_fail "config: network object without mode" 125 "'network.mode' is missing" --config "$T/nomode.json" -- echo RAN
expect_fail "config: allow with mode none" 125 "'network.allow' applies only with mode \"proxy\"" \
  --config "$T/noneallow.json" -- echo RAN
expect_fail "config: networkMode host refused" 125 "always refused" --config "$T/hostmode.json" -- echo RAN
expect_fail "config: non-string secret name" 125 "'secrets[1]' must be a string" --config "$T/badsecrets.json" -- echo RAN
expect_fail "--secret with a name that is not a file name" 125 "invalid secret name '..'" --secret .. -- echo RAN
expect_fail "--secret twice" 125 "secret 'A' is given twice" --secret A --secret A -- echo RAN

# ---- inside a proxy-mode sandbox ------------------------------------------

t_env() {
  local out want
  out=$(proxied env.log -- env) || { echo "$out"; return 1; }
  for want in HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy; do
    grep -qx "$want=http://127.0.0.1:3128" <<<"$out" || { echo "no $want: $out"; return 1; }
  done
  grep -qx 'NO_PROXY=localhost,127.0.0.1,::1' <<<"$out" || { echo "no NO_PROXY: $out"; return 1; }
  grep -qx 'no_proxy=localhost,127.0.0.1,::1' <<<"$out" || { echo "no no_proxy: $out"; return 1; }
  # a --env of the same name wins
  out=$(proxied env2.log --env HTTPS_PROXY=http://127.0.0.1:9 -- env) || return 1
  grep -qx 'HTTPS_PROXY=http://127.0.0.1:9' <<<"$out" || { echo "--env did not win: $out"; return 1; }
  grep -qx 'HTTP_PROXY=http://127.0.0.1:3128' <<<"$out" || { echo "$out"; return 1; }
  # none of them without the proxy
  out=$("${RUN[@]}" -- env) || return 1
  if grep -qi '_proxy=' <<<"$out"; then echo "proxy variables in mode none: $out"; return 1; fi
}
case_ "proxy mode sets HTTP_PROXY & co (lower case too) and NO_PROXY; --env wins; none sets none" t_env

t_resolv() {
  local out
  out=$(proxied resolv.log -- sh -c 'cat /etc/resolv.conf; grep ^hosts: /etc/nsswitch.conf') || { echo "$out"; return 1; }
  [ "$out" = $'nameserver 127.0.0.1\nhosts: files dns' ] || { echo "got: $out"; return 1; }
  out=$("${RUN[@]}" -- sh -c 'test -e /etc/resolv.conf && echo RESOLV; grep ^hosts: /etc/nsswitch.conf') || return 1
  [ "$out" = 'hosts: files' ] || { echo "mode none got: $out"; return 1; }
}
case_ "resolv.conf is nameserver 127.0.0.1 and nsswitch asks dns (mode none: neither)" t_resolv

t_only_proxy_sockets() {
  local out
  out=$(proxied sockets.log -- sh -c '
    echo TCP; tail -n +2 /proc/net/tcp; echo UDP; tail -n +2 /proc/net/udp
    echo TCP6; tail -n +2 /proc/net/tcp6; echo UDP6; tail -n +2 /proc/net/udp6
    echo DEV; tail -n +3 /proc/net/dev; echo ROUTE; tail -n +2 /proc/net/route; echo END') || { echo "$out"; return 1; }
  # sections: exactly one TCP listener (state 0A) on 127.0.0.1:3128, one UDP socket on 127.0.0.1:53
  awk '/^(TCP|UDP|TCP6|UDP6|DEV|ROUTE|END)$/ { s = $0; next } { print s ": " $0 }' <<<"$out" >"$T/sockets.txt"
  [ "$(grep -c '^TCP: ' "$T/sockets.txt")" = 1 ] && grep -q '^TCP: *[0-9]*: 0100007F:0C38 00000000:0000 0A ' "$T/sockets.txt" \
    || { echo "tcp: $out"; return 1; }
  [ "$(grep -c '^UDP: ' "$T/sockets.txt")" = 1 ] && grep -q '^UDP: *[0-9]*: 0100007F:0035 00000000:0000 07 ' "$T/sockets.txt" \
    || { echo "udp: $out"; return 1; }
  if grep -q '^\(TCP6\|UDP6\|ROUTE\): ' "$T/sockets.txt"; then echo "ipv6 sockets or routes: $out"; return 1; fi
  [ "$(grep -c '^DEV: ' "$T/sockets.txt")" = 1 ] && grep -q '^DEV: *lo:' "$T/sockets.txt" || { echo "interfaces: $out"; return 1; }
  # the stub holds them, as a TCP listener and a UDP socket
  [ "$(record sockets.log fds http)" = '["127.0.0.1", 3128]' ] || { cat "$T/sockets.log"; return 1; }
  [ "$(record sockets.log fds http_type)" = 1 ] && [ "$(record sockets.log fds dns_type)" = 2 ] || { cat "$T/sockets.log"; return 1; }
  [ "$(record sockets.log fds dns)" = '["127.0.0.1", 53]' ] || { cat "$T/sockets.log"; return 1; }
}
case_ "only 127.0.0.1:3128 (tcp, listening) and 127.0.0.1:53 (udp) exist inside; only lo; no route" t_only_proxy_sockets

t_through_proxy() {
  local out
  out=$(proxied through.log -- sh -c 'curl -sS --max-time 5 http://example.com/; getent hosts example.com; echo "getent $?"') \
    || { echo "$out"; return 1; }
  grep -qx 'stub-proxy' <<<"$out" || { echo "curl did not go through the proxy: $out"; return 1; }
  grep -qx 'getent 2' <<<"$out" || { echo "getent should get NXDOMAIN from the stub: $out"; return 1; }
  [ "$(record through.log http request)" = 'GET http://example.com/ HTTP/1.1' ] || { cat "$T/through.log"; return 1; }
  [ "$(record through.log dns peer)" != null ] || { echo "no DNS query reached the proxy"; cat "$T/through.log"; return 1; }
}
case_ "HTTP goes to the proxy (curl via http_proxy) and DNS to its UDP socket (getent)" t_through_proxy

# probe.py: tcp HOST PORT | udp HOST PORT, each printing the outcome
cat >"$T/probe.py" <<'PY'
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
try:
    if kind == "tcp":
        socket.create_connection((host, port), timeout=3).close()
        print("tcp", host, port, "CONNECTED")
    else:
        socket.socket(family, socket.SOCK_DGRAM).sendto(b"x", (host, port))
        print("udp", host, port, "SENT")
except OSError as e:
    print(kind, host, port, e.strerror)
PY
chmod 644 "$T/probe.py"

t_no_direct_route() {
  local port=$((20000 + RANDOM % 20000)) ip out rc=0 want=2
  python3 - "$port" "$T/listener" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(5); s.settimeout(20)
open(sys.argv[2], "w").write("listening\n")
try:
    while True:
        c, _ = s.accept(); open(sys.argv[2], "a").write("CONNECTED\n"); c.close()
except Exception:
    pass
PY
  LISTENER_PID=$!
  for _ in $(seq 50); do [ -s "$T/listener" ] && break; sleep 0.05; done
  ip=$(hostname -I 2>/dev/null | awk '{print $1}')
  [ -n "$ip" ] && want=3
  out=$(proxied direct.log --bind "$T/probe.py:/opt/probe.py:ro" -- sh -c "
    p='python3 /opt/probe.py'
    \$p tcp 1.1.1.1 443; \$p tcp 2606:4700:4700::1111 443; ${ip:+\$p tcp $ip $port;}
    \$p tcp 127.0.0.1 $port
    \$p udp 8.8.8.8 53; \$p udp 2001:4860:4860::8888 53; ${ip:+\$p udp $ip 53;}" 2>&1)
  kill "$LISTENER_PID" 2>/dev/null
  wait "$LISTENER_PID" 2>/dev/null
  LISTENER_PID=
  [ "$(grep -c '^tcp .* Network is unreachable$' <<<"$out")" = $want ] || { echo "tcp out: $out"; rc=1; }
  grep -q "^tcp 127.0.0.1 $port Connection refused$" <<<"$out" || { echo "host port on the sandbox's loopback: $out"; rc=1; }
  [ "$(grep -c '^udp .* Network is unreachable$' <<<"$out")" = $want ] || { echo "udp out: $out"; rc=1; }
  if grep -q 'CONNECTED\|SENT' <<<"$out"; then echo "got out: $out"; rc=1; fi
  if grep -q CONNECTED "$T/listener"; then echo "the host listener was reached"; rc=1; fi
  return $rc
}
case_ "direct tcp (internet, host address, IPv6) and udp out fail: Network is unreachable" t_no_direct_route

t_report() {
  proxied report.log --report "$T/report.json" --allow a.example --deny b.example -- true || return 1
  python3 - "$T/report.json" "$T/report.log" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["isolation"]["network"] == "proxy", r["isolation"]
e = r["egress"]
assert e == {"proxy": "127.0.0.1:3128", "dns": "127.0.0.1:53", "allow": ["a.example"], "deny": ["b.example"],
             "log": sys.argv[2]}, e
PY
  "${RUN[@]}" --report "$T/report-none.json" -- true || return 1
  python3 - "$T/report-none.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["isolation"]["network"] == "none" and "egress" not in r, r
PY
}
case_ "report: network proxy with its egress object; none as before" t_report

# ---- the launcher/proxy protocol ------------------------------------------

t_proxy_start() {
  cfg settings '{"network": {"mode": "proxy", "allow": ["a.example"], "deny": ["c.example"], "rateLimit": {"rps": 3}}}'
  mkdir -p "$T/state" && chmod 700 "$T/state"
  proxied start.log --config "$T/settings.json" --allow b.example --hostname box-7 --state-dir "$T/state" -- true \
    || { cat "$T/start.log"; return 1; }
  python3 - "$T/start.log" "$T/state" <<'PY' || return 1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
start = recs[0]
log = sys.argv[1]
assert start["event"] == "start", recs
# --ca-validity: the run's timeout (30 s by default) and an hour
assert start["argv"] == ["proxy", "--control-fd", "3", "--config-fd", "4", "--sandbox", "box-7",
                         "--state-dir", sys.argv[2], "--ca-validity", "3631", "--log", log], start["argv"]
assert start["config"] == {"mode": "proxy", "allow": ["a.example", "b.example"], "deny": ["c.example"],
                           "rateLimit": {"rps": 3}}, start["config"]
assert start["fds"] == [0, 1, 2, 3, 4], start["fds"]
assert start["stdin"] == "/dev/null" and start["stdout"] == "/dev/null", start
assert start["session_leader"] is True, start
events = [r["event"] for r in recs]
assert events == ["start", "fds", "stop"], events
assert recs[-1]["reason"] == "eof", recs[-1]
PY
  stub_gone start.log
}
case_ "proxy gets argv, settings (config + flags, extra keys kept), fds 0-4 only, own session" t_proxy_start

t_refused() {
  local out rc
  out=$(STUB_FAIL="rule 'a b' is not a host" proxied refused.log -- sh -c 'echo RAN' 2>&1)
  rc=$?
  [ "$rc" = 125 ] || { echo "rc $rc: $out"; return 1; }
  grep -qF "egress proxy: rule 'a b' is not a host" <<<"$out" || { echo "$out"; return 1; }
  if grep -q RAN <<<"$out"; then echo "the command ran: $out"; return 1; fi
  stub_gone refused.log
}
case_ "proxy answering error: refused with exit 125 and its message; nothing ran; proxy gone" t_refused

t_ca_answer() {
  local out rc bad
  local cert=$'-----BEGIN CERTIFICATE-----\nTUlJQkZha2VDZXJ0\n-----END CERTIFICATE-----\n'
  local key=$'-----BEGIN PRIVATE KEY-----\nTUlJQkZha2VLZXk=\n-----END PRIVATE KEY-----\n'
  out=$(STUB_ANSWER=$'ok\n'"$cert" proxied ca.log -- sh -c 'cat /run/airlock/egress-ca.crt;
    tail -n 3 /run/airlock/ca-certificates.crt; echo "SSL_CERT_FILE=$SSL_CERT_FILE"' 2>&1)
  rc=$?
  [ "$rc" = 0 ] && [ "$(grep -c TUlJQkZha2VDZXJ0 <<<"$out")" = 2 ] &&
    grep -qF "SSL_CERT_FILE=/run/airlock/ca-certificates.crt" <<<"$out" || { echo "rc $rc: $out"; return 1; }
  for bad in $'ok\n'"$key" $'ok\n'"$cert$cert" $'ok\n'"$cert$key" $'ok\n'"$cert"x $'ok\nhello'; do
    out=$(STUB_ANSWER="$bad" proxied ca-bad.log -- sh -c 'echo RAN' 2>&1)
    rc=$?
    [ "$rc" = 125 ] && grep -qF "egress proxy: its answer holds something other than one CA certificate" <<<"$out" &&
      ! grep -q RAN <<<"$out" || { echo "answer $bad: rc $rc: $out"; return 1; }
  done
}
case_ "proxy answering ok and a CA certificate: it reaches the trust store; a key or anything more refused" t_ca_answer

t_silent_exit() {
  local out rc
  out=$(STUB_SILENT_EXIT=1 proxied silent.log -- sh -c 'echo RAN' 2>&1)
  rc=$?
  [ "$rc" = 125 ] && grep -qF "egress proxy: exited without answering (exit status 3)" <<<"$out" \
    && ! grep -q RAN <<<"$out" || { echo "rc $rc: $out"; return 1; }
  out=$(AIRLOCK_PROXY_BIN=$T/no-such-proxy "${RUN[@]}" --network proxy -- sh -c 'echo RAN' 2>&1)
  rc=$?
  [ "$rc" = 125 ] && grep -qF "egress proxy: cannot start $T/no-such-proxy" <<<"$out" || { echo "rc $rc: $out"; return 1; }
}
case_ "proxy exiting without an answer, or missing: refused with exit 125" t_silent_exit

t_hang() {
  local out rc start end
  start=$(date +%s)
  out=$(STUB_HANG=1 proxied hang.log -- sh -c 'echo RAN' 2>&1)
  rc=$?
  end=$(date +%s)
  [ "$rc" = 125 ] && grep -qF "egress proxy: no answer within 10 s" <<<"$out" || { echo "rc $rc: $out"; return 1; }
  [ $((end - start)) -le 13 ] || { echo "took $((end - start)) s"; return 1; }
  stub_gone hang.log
}
case_ "proxy that never answers: refused after 10 s, killed" t_hang

t_hang_interrupted() {
  local launcher rc start end
  start=$(date +%s%N)
  STUB_HANG=1 "${RUN[@]}" --network proxy --egress-log "$T/hang-term.log" -- sh -c 'echo RAN' >"$T/hang-term.out" 2>&1 &
  launcher=$!
  for _ in $(seq 100); do [ -n "$(record hang-term.log start pid 2>/dev/null)" ] && break; sleep 0.05; done
  kill -TERM "$launcher"
  wait "$launcher"
  rc=$?
  end=$(date +%s%N)
  [ "$rc" = 143 ] || { echo "rc $rc: $(cat "$T/hang-term.out")"; return 1; }
  if grep -q RAN "$T/hang-term.out"; then echo "the command ran"; return 1; fi
  [ $(((end - start) / 1000000)) -lt 5000 ] || { echo "took $(((end - start) / 1000000)) ms"; return 1; }
  stub_gone hang-term.log
}
case_ "SIGTERM while the proxy has not answered ends the launcher at once; proxy gone" t_hang_interrupted

t_gone_after_timeout() {
  local rc
  proxied timeout.log --timeout 1 -- sleep 30 2>/dev/null
  rc=$?
  [ "$rc" = 124 ] || { echo "rc $rc"; return 1; }
  [ "$(record timeout.log stop reason)" = eof ] || { cat "$T/timeout.log"; return 1; }
  stub_gone timeout.log
}
case_ "a run that times out stops its proxy (end of file, then it exits)" t_gone_after_timeout

t_gone_after_setup_error() {
  local out rc
  out=$(proxied setup.log --cwd /no/such/dir -- sh -c 'echo RAN' 2>&1)
  rc=$?
  [ "$rc" = 125 ] && grep -q "working directory /no/such/dir" <<<"$out" || { echo "rc $rc: $out"; return 1; }
  stub_gone setup.log
}
case_ "a sandbox that fails to set up stops its proxy" t_gone_after_setup_error

t_lingering_proxy_killed() {
  local out rc start end
  start=$(date +%s%N)
  out=$(STUB_LINGER=1 proxied linger.log -- sh -c 'echo RAN' 2>&1)
  rc=$?
  end=$(date +%s%N)
  [ "$rc" = 0 ] && grep -qx RAN <<<"$out" || { echo "rc $rc: $out"; return 1; }
  grep -qF "egress proxy did not exit within 2 s" <<<"$out" || { echo "$out"; return 1; }
  [ $(((end - start) / 1000000)) -lt 4000 ] || { echo "took $(((end - start) / 1000000)) ms"; return 1; }
  stub_gone linger.log
}
case_ "a proxy that ignores the end of the run is killed after 2 s" t_lingering_proxy_killed

t_launcher_killed() {
  local marker=$((7000000 + RANDOM)) launcher
  # the stub ignores the end of the control socket: only the parent-death signal can end it
  STUB_LINGER=1 "${RUN[@]}" --network proxy --egress-log "$T/kill9.log" --timeout 60 -- sleep "$marker" >/dev/null 2>&1 &
  launcher=$!
  for _ in $(seq 100); do [ -n "$(record kill9.log fds http 2>/dev/null)" ] && break; sleep 0.05; done
  for _ in $(seq 100); do pgrep -f "^sleep $marker" >/dev/null && break; sleep 0.05; done
  kill -9 "$launcher"
  wait "$launcher" 2>/dev/null
  stub_gone kill9.log || return 1
  for _ in $(seq 40); do pgrep -f "^sleep $marker" >/dev/null || return 0; sleep 0.05; done
  echo "the sandbox outlived its launcher"
  return 1
}
case_ "SIGKILL of the launcher kills the proxy too (parent-death signal)" t_launcher_killed

t_signalled() {
  local marker=$((8000000 + RANDOM)) launcher rc
  "${RUN[@]}" --network proxy --egress-log "$T/term.log" -- sleep "$marker" >/dev/null 2>&1 &
  launcher=$!
  for _ in $(seq 100); do pgrep -f "^sleep $marker" >/dev/null && break; sleep 0.05; done
  kill -TERM "$launcher"
  wait "$launcher"
  rc=$?
  [ "$rc" = 143 ] || { echo "rc $rc"; return 1; }
  [ "$(record term.log stop reason)" = eof ] || { cat "$T/term.log"; return 1; }
  stub_gone term.log
}
case_ "SIGTERM to the launcher ends the command, then the proxy" t_signalled

# ---- secrets as files ------------------------------------------------------

SD=$T/secrets-state
mkdir -p "$SD" && chmod 700 "$SD"
VALUE="sk-test-$$-$RANDOM$RANDOM"
printf '%s\n' "$VALUE" | "$AIRLOCK" secret set API_KEY --state-dir "$SD" >/dev/null || bad "secret set API_KEY"
printf 'first line\nsecond line' | "$AIRLOCK" secret set MULTI.line --state-dir "$SD" >/dev/null || bad "secret set MULTI.line"

t_secret_file() {
  local out
  out=$("${RUN[@]}" --secret API_KEY --secret MULTI.line --state-dir "$SD" -- sh -c '
    cat /run/secrets/API_KEY; echo
    stat -c "%n %a %u" /run/secrets /run/secrets/API_KEY /run/secrets/MULTI.line
    sha256sum </run/secrets/MULTI.line
    chmod 644 /run/secrets/API_KEY 2>&1; chmod 755 /run/secrets 2>&1
    stat -c "after %a" /run/secrets/API_KEY; { echo x >/run/secrets/API_KEY; } 2>&1; ls /run/secrets
    env; cat /proc/self/environ /proc/1/cmdline 2>/dev/null | tr "\0" "\n"') || { echo "$out"; return 1; }
  [ "$(sed -n 1p <<<"$out")" = "$VALUE" ] || { echo "content: $out"; return 1; }
  grep -qx '/run/secrets 500 1001' <<<"$out" && grep -qx '/run/secrets/API_KEY 400 1001' <<<"$out" \
    && grep -qx '/run/secrets/MULTI.line 400 1001' <<<"$out" || { echo "modes: $out"; return 1; }
  grep -q "^$(printf 'first line\nsecond line' | sha256sum | cut -d' ' -f1) " <<<"$out" || { echo "bytes: $out"; return 1; }
  [ "$(grep -c 'Read-only file system' <<<"$out")" = 3 ] && grep -qx 'after 400' <<<"$out" || { echo "chmod: $out"; return 1; }
  # only the line cat printed holds the value: not the environment, not argv
  [ "$(grep -c -- "$VALUE" <<<"$out")" = 1 ] || { echo "value elsewhere: $out"; return 1; }
  # owner follows --uid
  out=$("${RUN[@]}" --uid 0 --secret API_KEY --state-dir "$SD" -- stat -c '%a %u' /run/secrets/API_KEY) || return 1
  [ "$out" = '400 0' ] || { echo "--uid 0: $out"; return 1; }
  # no --secret, no /run
  out=$("${RUN[@]}" -- sh -c 'test -e /run && echo RUN-EXISTS; true') || return 1
  [ -z "$out" ] || { echo "$out"; return 1; }
}
case_ "--secret: /run/secrets/NAME with the value, 0400 in 0500, sandbox uid, read-only, not in env" t_secret_file

t_secret_config_and_proxy() {
  local out
  cfg withsecrets '{"secrets": ["API_KEY"], "network": "proxy"}'
  out=$("${RUN[@]}" --config "$T/withsecrets.json" --egress-log "$T/secrets.log" --secret MULTI.line --state-dir "$SD" -- \
    sh -c 'ls /run/secrets; cat /run/secrets/API_KEY; echo; echo "$HTTP_PROXY"') || { echo "$out"; return 1; }
  [ "$out" = $'API_KEY\nMULTI.line\n'"$VALUE"$'\nhttp://127.0.0.1:3128' ] || { echo "got: $out"; return 1; }
  # the proxy never sees a --secret value
  if grep -q -- "$VALUE" "$T/secrets.log"; then echo "value in the proxy's records"; return 1; fi
  stub_gone secrets.log
}
case_ "config secrets and --secret together, with the proxy" t_secret_config_and_proxy

expect_fail "--secret of a missing secret refuses naming it" 125 "secret 'NOPE': no secret named 'NOPE'" \
  --secret NOPE --state-dir "$SD" -- echo RAN
expect_fail "--secret without a secret store refuses" 125 "secret 'API_KEY':" \
  --secret API_KEY --state-dir "$T/no-store" -- echo RAN

# ---- the rootless pass -----------------------------------------------------

if [ "$MODE" = root ] && [ -z "${AIRLOCK_NETWORK_NO_USER:-}" ]; then
  if have_test_user; then
    copy=$(copy_suite "$T")
    tap_merge < <(as_test_user bash "$copy" --inner "$BIN" 2>&1)
  else
    bad "create the unprivileged test user $TEST_USER"
  fi
fi

finish
