# SPDX-License-Identifier: Apache-2.0
# sshgate.sh - sourced by the SSH gate tests: a real airlock node and
# Debian's OpenSSH server on loopback whose authorized_keys lines force
# `airlock ssh-gate`.  Needs $T (a directory of the test's, mode 755).
# Sets S (state dir), SOCK, PORT, NODE_PID, SSHD_PID; writes $T/gate.token,
# $T/gate.json (scope key) and $T/hostkey{,.pub}.

NODE_PID= SSHD_PID=

# sshgate_node BIN NODE_CONFIG_JSON: the node, the gate's token and config
sshgate_node() {
  local bin=$1
  S=$T/state
  SOCK=$T/node.sock
  mkdir -m 700 "$S"
  printf '%s\n' "$2" >"$T/node.json"
  "$bin" node --config "$T/node.json" --state-dir "$S" --listen "unix:$SOCK" --pool 0 \
    --ready-file "$T/ready" >"$T/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 200); do [ -e "$T/ready" ] && break; kill -0 $NODE_PID 2>/dev/null || break; sleep 0.05; done
  [ -e "$T/ready" ] || bail "the node starts" "$(tail -5 "$T/node.log")"
  "$bin" token create --name ssh-gate --state-dir "$S" 2>/dev/null | tail -1 >"$T/gate.token"
  chmod 600 "$T/gate.token"
  printf '{"node": "unix:%s", "token_file": "%s", "timeout_s": 60}\n' "$SOCK" "$T/gate.token" >"$T/gate.json"
}

# sshgate_line BIN CONFIG KEYNAME KEYFILE: an authorized_keys line forcing the gate
sshgate_line() {
  printf 'restrict,pty,command="%s ssh-gate --config %s%s" %s\n' "$1" "$T/$2" "${3:+ --key $3}" "$(cat "$T/$4.pub")"
}

# sshgate_sshd AUTHORIZED_KEYS_TEXT: sshd on a free loopback port
sshgate_sshd() {
  printf '%s\n' "$1" >"$T/authorized_keys"
  ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" >/dev/null
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
LogLevel ERROR
EOF
  mkdir -p -m 755 /run/sshd
  /usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
  SSHD_PID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
}

sshgate_stop() {
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
}
